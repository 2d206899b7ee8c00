from datetime import UTC, datetime, time

import pytest

from clinic.roles import Role
from clinic.tests.factories import OpeningHoursFactory, RoomFactory, WorkingHoursFactory

MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def monday(time_machine):
    time_machine.move_to(MONDAY_MORNING, tick=False)


def test_dashboard_shows_todays_hours_rooms_and_clinicians(client_as, clinic, staff):
    OpeningHoursFactory(clinic=clinic, weekday=0, opens=time(8, 30), closes=time(17))
    OpeningHoursFactory(clinic=clinic, weekday=1, opens=time(12), closes=time(20))
    RoomFactory(clinic=clinic, name="Room Azure")
    RoomFactory(clinic=clinic, name="Old store", is_active=False)
    on_duty = staff(Role.CLINICIAN, display_name="Dr Monday")
    WorkingHoursFactory(staff=on_duty, weekday=0, starts=time(9), ends=time(13))
    off_duty = staff(Role.CLINICIAN, display_name="Dr Tuesday")
    WorkingHoursFactory(staff=off_duty, weekday=1)

    page = client_as(Role.RECEPTION).get("/").content.decode()

    assert "08:30–17:00" in page
    assert "12:00–20:00" not in page
    assert "Room Azure" in page and "Old store" not in page
    assert "Dr Monday" in page and "09:00–13:00" in page
    assert "Dr Tuesday" not in page


def test_dashboard_says_when_the_clinic_is_closed_today(client_as, clinic):
    OpeningHoursFactory(clinic=clinic, weekday=1)
    page = client_as(Role.CLINICIAN).get("/").content.decode()
    assert "The clinic is closed today." in page


def test_every_page_footer_shows_the_clinic_contact(client_as, clinic):
    page = client_as(Role.RECEPTION).get("/").content.decode()
    assert "Test Hair Clinic" in page
    assert "+44 20 7946 0000" in page


def test_navigation_shows_clinic_settings_to_admins_only(client_as):
    assert "Clinic settings" in client_as(Role.CLINIC_ADMIN).get("/").content.decode()
    assert "Clinic settings" not in client_as(Role.RECEPTION).get("/").content.decode()
    assert "Clinic settings" not in client_as(Role.CLINICIAN).get("/").content.decode()


def test_pages_render_times_in_the_clinic_zone(client_as, clinic, time_machine):
    # 23:30 UTC on Sunday is already Monday in Sydney.
    clinic.time_zone = "Australia/Sydney"
    clinic.save()
    OpeningHoursFactory(clinic=clinic, weekday=0, opens=time(7), closes=time(15))
    time_machine.move_to(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), tick=False)

    page = client_as(Role.RECEPTION).get("/").content.decode()

    assert "Monday 23 November 2026" in page
    assert "07:00–15:00" in page
