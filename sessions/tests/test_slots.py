"""Free start times (booking/slots.py)."""

import pytest

from patients.tests.factories import ScreenedPatientFactory
from sessions.booking import slots
from sessions.tests.conftest import MONDAY, at, book

pytestmark = pytest.mark.usefixtures("frozen_monday")


def test_suggested_slots_skip_busy_times(open_clinic, patient, clinician, room, desk_user):
    book(
        open_clinic,
        ScreenedPatientFactory(),
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 9),
        desk_user,
    )

    found = slots.free_slots(
        clinic=open_clinic, clinician=clinician, room=room, patient=patient, after=MONDAY, limit=3
    )

    assert found == [
        at(open_clinic, 2026, 11, 23, 9, 45),
        at(open_clinic, 2026, 11, 23, 10),
        at(open_clinic, 2026, 11, 23, 10, 15),
    ]
