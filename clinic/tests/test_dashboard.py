from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.roles import Role
from clinic.tests.factories import OpeningHoursFactory, RoomFactory, WorkingHoursFactory
from sessions.models import SessionStatus
from sessions.tests.factories import TreatmentSessionFactory

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


def book(clinic, hour, day=23, **kw):
    start = datetime(2026, 11, day, hour, 0, tzinfo=clinic.zone)
    return TreatmentSessionFactory(
        room=RoomFactory(clinic=clinic),
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        **kw,
    )


def test_reception_sees_todays_sessions_and_checks_a_patient_in_from_the_dashboard(
    client_as, clinic
):
    arriving = book(clinic, 11, patient__given_name="Arun", status=SessionStatus.CONFIRMED)
    book(clinic, 14, patient__given_name="Bea")
    book(clinic, 11, day=24, patient__given_name="Tomorrow")
    client = client_as(Role.RECEPTION)

    page = client.get("/").content.decode()
    today = page.split('data-testid="today-sessions"')[1].split("</section>")[0]
    assert today.count('data-testid="today-session"') == 2
    assert "Arun" in today and "Bea" in today and "Tomorrow" not in today
    assert today.count(">Check in</button>") == 2  # confirmed or not, both may check in today

    response = client.post(f"/sessions/{arriving.pk}/check-in/", {"next": "/"})

    assert response["Location"] == "/"
    arriving.refresh_from_db()
    assert arriving.status == SessionStatus.CHECKED_IN
    today = client.get("/").content.decode().split('data-testid="today-sessions"')[1]
    assert today.split("Arun")[1].split("</tr>")[0].count("Check in") == 0


def test_a_foreign_next_address_is_ignored_after_check_in(client_as, clinic):
    session = book(clinic, 11)
    response = client_as(Role.RECEPTION).post(
        f"/sessions/{session.pk}/check-in/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/sessions/{session.pk}/"


def test_tomorrows_unconfirmed_list_gives_the_number_to_call(client_as, clinic):
    book(clinic, 9, day=24, patient__mobile="+447911654321")
    book(clinic, 10, day=24, status=SessionStatus.CONFIRMED, patient__mobile="+447700900999")

    page = client_as(Role.RECEPTION).get("/").content.decode()
    panel = page.split('data-testid="unconfirmed-tomorrow"')[1].split("</section>")[0]

    assert 'href="tel:+447911654321"' in panel and "07911 654321" in panel
    assert "900999" not in panel


def test_the_dashboard_query_count_does_not_grow_with_the_day(client_as, clinic):
    client = client_as(Role.RECEPTION)
    book(clinic, 9)
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for hour in range(10, 18):
        book(clinic, hour)
        book(clinic, hour, day=24)
    with CaptureQueriesContext(connection) as many:
        client.get("/")
    assert len(many) == len(few)


def test_the_overdue_maintenance_card_opens_the_recall_list_on_its_overdue_window(client_as):
    page = client_as(Role.RECEPTION).get("/").content.decode()

    assert 'href="/maintenance/?window=overdue">Maintenance overdue' in page
