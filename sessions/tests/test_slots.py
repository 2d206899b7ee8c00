"""Free start times (booking/slots.py)."""

import pytest
import time_machine

from patients.tests.factories import PatientFactory
from sessions.booking import scheduling, slots
from sessions.tests.conftest import MONDAY, at


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY, tick=False):
        yield


def book(clinic, patient, clinician, room, when, by, **kw):
    return scheduling.session_book(
        clinic=clinic,
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=when,
        by=by,
        now=MONDAY,
        **kw,
    )


def test_suggested_slots_skip_busy_times(open_clinic, patient, clinician, room, desk_user):
    book(
        open_clinic, PatientFactory(), clinician, room, at(open_clinic, 2026, 11, 23, 9), desk_user
    )

    found = slots.free_slots(
        clinic=open_clinic, clinician=clinician, room=room, patient=patient, after=MONDAY, limit=3
    )

    assert found == [
        at(open_clinic, 2026, 11, 23, 9, 45),
        at(open_clinic, 2026, 11, 23, 10),
        at(open_clinic, 2026, 11, 23, 10, 15),
    ]
