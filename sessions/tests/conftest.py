"""A clinic ready for booking: opening hours, a room, a clinician with working hours, a plan."""

from datetime import UTC, datetime, time

import pytest
import time_machine

from clinic.roles import Role
from clinic.tests.factories import OpeningHoursFactory, RoomFactory, WorkingHoursFactory
from patients.tests.factories import PatientFactory, ScreenedPatientFactory
from sessions.booking import scheduling
from sessions.tests.factories import TreatmentPlanFactory

# Monday 23 November 2026, 08:00 in London (GMT, so UTC too): the clock of most tests.
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def open_clinic(clinic):
    """Open Monday to Saturday 09:00–18:00 (Europe/London)."""
    for weekday in range(6):
        OpeningHoursFactory(clinic=clinic, weekday=weekday, opens=time(9), closes=time(18))
    return clinic


@pytest.fixture
def clinician(open_clinic, staff):
    """Works Monday to Friday 09:00–17:00."""
    profile = staff(Role.CLINICIAN, display_name="Dr Nadia Noor")
    for weekday in range(5):
        WorkingHoursFactory(staff=profile, weekday=weekday, starts=time(9), ends=time(17))
    return profile


@pytest.fixture
def room(open_clinic):
    return RoomFactory(clinic=open_clinic, name="Treatment room 1")


@pytest.fixture
def patient(db):
    """Screened with nothing found (ScreenedPatientFactory), so treatment may be booked for her
    (a patient never screened may not be: sessions/clearance.py)."""
    return ScreenedPatientFactory(given_name="Priya", family_name="Patel")


@pytest.fixture
def unscreened_patient(db):
    return PatientFactory(given_name="Una", family_name="Unscreened")


@pytest.fixture
def plan(patient, clinician):
    return TreatmentPlanFactory(patient=patient, created_by=clinician)


@pytest.fixture
def desk_user(staff):
    return staff(Role.RECEPTION, display_name="Rosa Reception").user


def at(clinic, year, month, day, hour, minute=0) -> datetime:
    """A wall-clock time in the clinic's zone."""
    return datetime(year, month, day, hour, minute, tzinfo=clinic.zone)


@pytest.fixture
def frozen_monday():
    """The clock stands at MONDAY 08:00 for the whole test."""
    with time_machine.travel(MONDAY, tick=False):
        yield


def book(clinic, patient, clinician, room, when, by, **kw):
    """session_book with the test's usual arguments, booked at MONDAY."""
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


# The session-record fixtures (a checked-in session of a patient cleared today, a dutasteride
# version and its lot) live beside the record tests; imported here so pytest finds them.
from sessions.tests.records_fixtures import *  # noqa: E402, F403
