"""Ten receptionists booking the same clinician slot at once: one booking, nine clear refusals.

Only PostgreSQL runs bookings truly in parallel (SQLite serialises writers with its IMMEDIATE
transactions), and only there do the exclusion constraints of migration 0003 exist.
"""

import threading
from datetime import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections

from clinic.models import Clinic, OpeningHours, Room, StaffProfile, WorkingHours
from clinic.roles import Role
from patients.tests.factories import ScreenedPatientFactory
from sessions.booking.scheduling import BookingRefused, session_book
from sessions.models import TreatmentSession
from sessions.tests.conftest import MONDAY, at

THREADS = 10


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ten_threads_booking_one_clinician_slot_give_one_booking_and_nine_conflicts():
    if connection.vendor != "postgresql":
        pytest.skip("parallel booking needs PostgreSQL (SQLite serialises writers)")
    # given: one clinician, and ten patients in ten rooms, so only the clinician can clash
    clinic = Clinic.objects.create(name="Race Clinic", time_zone="Europe/London")
    OpeningHours.objects.create(clinic=clinic, weekday=0, opens=time(9), closes=time(18))
    user = get_user_model().objects.create(username="race-clinician")
    clinician = StaffProfile.objects.create(
        user=user, clinic=clinic, display_name="Dr Race", role=Role.CLINICIAN
    )
    WorkingHours.objects.create(staff=clinician, weekday=0, starts=time(9), ends=time(17))
    rooms = [Room.objects.create(clinic=clinic, name=f"Room {n}") for n in range(THREADS)]
    patients = [ScreenedPatientFactory() for _ in range(THREADS)]
    slot = at(clinic, 2026, 11, 23, 10)
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def reception_desk(n: int):
        try:
            start.wait()
            session_book(
                clinic=clinic,
                patient=patients[n],
                clinician=clinician,
                room=rooms[n],
                starts_at=slot,
                by=user,
                now=MONDAY,
            )
            outcomes.append("booked")
        except BookingRefused as refusal:
            outcomes.append(f"{refusal.rule}: {refusal.message}")
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=reception_desk, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert outcomes.count("booked") == 1
    refusals = [o for o in outcomes if o != "booked"]
    assert len(refusals) == THREADS - 1
    assert all(o.startswith("overlap: ") and "Choose another time" in o for o in refusals)
    assert TreatmentSession.objects.filter(clinician=clinician).count() == 1


@pytest.mark.django_db
def test_postgresql_refuses_an_overlap_that_skips_the_python_check(open_clinic, clinician, room):
    if connection.vendor != "postgresql":
        pytest.skip("exclusion constraints exist on PostgreSQL only")
    from django.db import IntegrityError, transaction

    from sessions.tests.factories import TreatmentSessionFactory

    TreatmentSessionFactory(clinician=clinician, starts_at=at(open_clinic, 2026, 11, 23, 10))

    with (
        pytest.raises(IntegrityError, match="session_no_clinician_overlap"),
        transaction.atomic(),
    ):
        TreatmentSessionFactory(
            clinician=clinician, starts_at=at(open_clinic, 2026, 11, 23, 10, 30)
        )
