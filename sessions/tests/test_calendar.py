"""The calendar page: what each entry shows, filters, time zones and a fixed query count."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.roles import Role
from sessions.models import SessionStatus
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import TreatmentPlanFactory, TreatmentSessionFactory


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY, tick=False):
        yield


def sessions_in_week(clinic, count, **kw):
    for n in range(count):
        TreatmentSessionFactory(
            starts_at=at(clinic, 2026, 11, 23 + n % 5, 9) + timedelta(minutes=15 * (n // 5)), **kw
        )


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_calendar_query_count_is_the_same_for_5_and_100_sessions(open_clinic, client_as):
    client = client_as(Role.RECEPTION)
    url = "/calendar/?layout=list&date=2026-11-23&view=week"
    sessions_in_week(open_clinic, 5)
    few = queries_for(client, url)

    sessions_in_week(open_clinic, 95)
    many = queries_for(client, url)

    assert few == many
    assert client.get(url).content.decode().count('data-testid="calendar-entry"') == 100


def test_an_entry_shows_patient_course_position_status_and_flags(
    open_clinic, client_as, patient, clinician, room
):
    plan = TreatmentPlanFactory(patient=patient, number_of_sessions=6)
    TreatmentSessionFactory(
        plan=plan,
        sequence=2,
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=at(open_clinic, 2026, 11, 23, 10),
        needs_screening=True,
        is_protocol_deviation=True,
    )

    page = client_as(Role.RECEPTION).get("/calendar/?layout=list&date=2026-11-23").content.decode()

    assert "Priya Patel" in page
    assert "session 2 of 6" in page
    assert "Scheduled" in page
    assert "Screen before treatment" in page
    assert "Protocol deviation" in page
    assert "Unconfirmed" in page


def test_the_day_view_shows_only_that_day(open_clinic, client_as):
    TreatmentSessionFactory(starts_at=at(open_clinic, 2026, 11, 23, 10))
    TreatmentSessionFactory(starts_at=at(open_clinic, 2026, 11, 24, 10))

    page = client_as(Role.RECEPTION).get("/calendar/?layout=list&date=2026-11-24&view=day")
    page = page.content.decode()

    assert page.count('data-testid="calendar-entry"') == 1


def test_filtering_by_room_shows_that_rooms_sessions(open_clinic, client_as, room):
    TreatmentSessionFactory(room=room, starts_at=at(open_clinic, 2026, 11, 23, 10))
    TreatmentSessionFactory(starts_at=at(open_clinic, 2026, 11, 23, 11))

    page = (
        client_as(Role.RECEPTION)
        .get(f"/calendar/?layout=list&layout=list&date=2026-11-23&room={room.pk}")
        .content.decode()
    )

    assert page.count('data-testid="calendar-entry"') == 1


def test_a_clinicians_calendar_opens_on_their_own_sessions(open_clinic, client, clinician):
    TreatmentSessionFactory(clinician=clinician, starts_at=at(open_clinic, 2026, 11, 23, 10))
    TreatmentSessionFactory(starts_at=at(open_clinic, 2026, 11, 23, 11))
    client.force_login(clinician.user)

    own = client.get("/calendar/?layout=list&date=2026-11-23").content.decode()
    everyone = client.get("/calendar/?layout=list&date=2026-11-23&clinician=all").content.decode()

    assert own.count('data-testid="calendar-entry"') == 1
    assert everyone.count('data-testid="calendar-entry"') == 2


def test_times_show_in_the_clinic_zone_across_the_spring_change(open_clinic, client_as):
    # 10:00 GMT on Monday 22 March and 10:00 BST on Monday 29 March 2027 (09:00 UTC).
    TreatmentSessionFactory(starts_at=at(open_clinic, 2027, 3, 22, 10))
    TreatmentSessionFactory(starts_at=at(open_clinic, 2027, 3, 29, 10))
    client = client_as(Role.RECEPTION)

    before = client.get("/calendar/?layout=list&date=2027-03-22").content.decode()
    after = client.get("/calendar/?layout=list&date=2027-03-29").content.decode()

    assert "10:00–10:45" in before
    assert "10:00–10:45" in after


def test_a_session_near_midnight_utc_falls_on_its_local_day_in_autumn(open_clinic, client_as):
    # 24 Oct 2026 is still BST: 09:30 local is 08:30 UTC; the week of 19 Oct holds it.
    TreatmentSessionFactory(starts_at=at(open_clinic, 2026, 10, 24, 9, 30))

    page = client_as(Role.RECEPTION).get("/calendar/?layout=list&date=2026-10-19&view=week")
    page = page.content.decode()

    assert "09:30–10:15" in page


def test_a_bad_date_falls_back_to_today(open_clinic, client_as):
    response = client_as(Role.RECEPTION).get("/calendar/?layout=list&date=not-a-date&view=year")

    assert response.status_code == 200
    assert "Monday 23 November 2026" in response.content.decode()


def test_cancelled_sessions_stay_visible_with_their_status(open_clinic, client_as):
    TreatmentSessionFactory(
        starts_at=at(open_clinic, 2026, 11, 23, 10),
        status=SessionStatus.CANCELLED_BY_PATIENT,
        status_reason="Ill",
    )

    page = client_as(Role.RECEPTION).get("/calendar/?layout=list&date=2026-11-23").content.decode()

    assert "Cancelled by patient" in page


@pytest.mark.parametrize("rows", [1, 50])
def test_the_week_view_stays_within_the_same_query_bound(
    open_clinic, client_as, rows, django_assert_max_num_queries
):
    sessions_in_week(open_clinic, rows)
    client = client_as(Role.RECEPTION)

    with django_assert_max_num_queries(11):
        response = client.get("/calendar/?layout=list&date=2026-11-23&view=week")

    assert response.content.decode().count('data-testid="calendar-entry"') == rows


# The patient's appointments (patient page)


def test_the_patient_page_shows_the_next_appointment_and_both_lists(
    open_clinic, client_as, patient, clinician, room
):
    plan = TreatmentPlanFactory(patient=patient, number_of_sessions=6)
    TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        plan=plan,
        sequence=1,
        starts_at=at(open_clinic, 2026, 11, 9, 10),
        status=SessionStatus.COMPLETED,
    )
    TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=at(open_clinic, 2026, 11, 24, 9),
        status=SessionStatus.CANCELLED_BY_PATIENT,
        status_reason="Away that week",
        cancelled_at=MONDAY,
    )
    soonest = TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        plan=plan,
        sequence=2,
        starts_at=at(open_clinic, 2026, 11, 25, 14, 30),
        status=SessionStatus.CONFIRMED,
    )
    TreatmentSessionFactory(starts_at=at(open_clinic, 2026, 11, 24, 11))  # someone else's

    text = client_as(Role.RECEPTION).get(f"/patients/{patient.pk}/").content.decode()

    next_line = text.split('data-testid="next-appointment"')[1].split("</p>")[0]
    assert "Wednesday 25 November 2026, 14:30" in next_line
    assert f"/sessions/{soonest.pk}/" in next_line and "Confirmed" in next_line
    rows = text.split('data-testid="appointments"')[1]
    upcoming, past = rows.split(">Past<")
    assert upcoming.count('data-testid="appointment"') == 2
    assert "Cancelled by patient" in upcoming and "session 2 of 6" in upcoming
    assert past.count('data-testid="appointment"') == 1 and "Completed" in past
    assert f"/plans/{plan.pk}/" in past


def test_the_maintenance_due_date_shows_on_the_patient_and_plan_pages(
    open_clinic, client_as, patient
):
    plan = TreatmentPlanFactory(
        patient=patient, status="completed", maintenance_due_on=MONDAY.date() + timedelta(days=60)
    )
    client = client_as(Role.RECEPTION)

    assert "Maintenance due 22 Jan 2027" in client.get(f"/patients/{patient.pk}/").content.decode()
    assert "22 January 2027" in client.get(f"/plans/{plan.pk}/").content.decode()


def test_the_patient_page_query_count_does_not_grow_with_history(
    open_clinic, client_as, patient, clinician, room
):
    client = client_as(Role.RECEPTION)

    def book(count, first_day):
        for n in range(count):
            TreatmentSessionFactory(
                patient=patient,
                clinician=clinician,
                room=room,
                plan=TreatmentPlanFactory(patient=patient),
                starts_at=at(open_clinic, 2026, 11, 1, 9) + timedelta(days=first_day + n),
            )

    book(2, 0)
    few = queries_for(client, f"/patients/{patient.pk}/")
    book(40, 2)
    assert queries_for(client, f"/patients/{patient.pk}/") == few
