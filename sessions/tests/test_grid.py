"""The calendar grid: columns per clinician or room, free time that books, a patient filter and a
fixed query count."""

import re
from datetime import time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.roles import Role
from clinic.tests.factories import RoomFactory, WorkingHoursFactory
from patients.tests.factories import PatientFactory, UserFactory
from sessions.booking import grid
from sessions.models import SessionKind, SessionStatus
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import TreatmentPlanFactory, TreatmentSessionFactory


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY, tick=False):  # Monday 23 Nov 2026, 08:00
        yield


@pytest.fixture
def second(open_clinic, staff):
    """Works Mondays 13:00–17:00 only."""
    profile = staff(Role.CLINICIAN, display_name="Dr Omar Okafor")
    WorkingHoursFactory(staff=profile, weekday=0, starts=time(13), ends=time(17))
    return profile


def grid_of(client, query="") -> str:
    response = client.get(f"/calendar/?date=2026-11-23&{query}")
    assert response.status_code == 200
    return response.content.decode().split('data-testid="calendar-grid"')[1].split("</table>")[0]


def free_links(html) -> list[str]:
    return re.findall(r'href="/sessions/new/\?([^"]+)"[^>]*data-testid="free-slot"', html)


def test_the_day_has_one_column_per_clinician_at_work_and_rows_inside_opening_hours(
    client_as, open_clinic, clinician, second, room, patient
):
    TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=at(open_clinic, 2026, 11, 23, 10),
        status=SessionStatus.CONFIRMED,
    )

    html = grid_of(client_as(Role.RECEPTION))

    assert re.findall(r'<th scope="col">([^<]+)</th>', html) == ["Dr Nadia Noor", "Dr Omar Okafor"]
    assert (
        ">09:00<" in html and ">17:30<" in html and ">18:00<" not in html and ">08:45<" not in html
    )
    block = html.split('data-testid="grid-session"')[0].rsplit("<td", 1)[1]
    assert 'rowspan="3"' in block  # 45 minutes in 15-minute rows
    assert "status-confirmed kind-treatment" in html and "Priya Patel" in html
    links = free_links(html)
    assert (
        f"clinician={clinician.pk}&amp;room={room.pk}&amp;date=2026-11-23&amp;time=09:00" in links
    )
    assert not any("time=10:00" in link and f"clinician={clinician.pk}" in link for link in links)
    # Dr Okafor works from 13:00: nothing earlier in his column is bookable.
    second_times = [link.split("time=")[1] for link in links if f"clinician={second.pk}" in link]
    assert min(second_times) == "13:00" and max(second_times) == "16:15"


def test_a_free_slot_books_with_clinician_room_and_time_filled_in(
    client_as, open_clinic, clinician, room
):
    client = client_as(Role.RECEPTION)
    query = free_links(grid_of(client))[0].replace("&amp;", "&")

    form = client.get(f"/sessions/new/?{query}").context["form"]

    assert form["clinician"].value() == str(clinician.pk)
    assert form["room"].value() == str(room.pk)
    assert (form["date"].value(), form["time"].value()) == ("2026-11-23", "09:00")


def test_by_room_each_room_is_a_column_and_a_busy_room_offers_the_other(
    client_as, open_clinic, clinician, second, room
):
    other = RoomFactory(clinic=open_clinic, name="Treatment room 2")
    TreatmentSessionFactory(
        clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 11, 23, 14)
    )

    html = grid_of(client_as(Role.RECEPTION), "by=room")

    assert re.findall(r'<th scope="col">([^<]+)</th>', html) == [
        "Treatment room 1",
        "Treatment room 2",
    ]
    at_two = [link for link in free_links(html) if "time=14:00" in link]
    # Room 2 at 14:00: Dr Noor is busy in room 1, so the booking goes to Dr Okafor.
    assert at_two == [
        f"clinician={second.pk}&amp;room={other.pk}&amp;date=2026-11-23&amp;time=14:00"
    ]


def test_the_week_shows_one_clinician_a_column_a_day(client_as, open_clinic, clinician, room):
    TreatmentSessionFactory(
        clinician=clinician,
        room=room,
        starts_at=at(open_clinic, 2026, 11, 26, 11),
        kind=SessionKind.ASSESSMENT,
    )

    html = grid_of(client_as(Role.RECEPTION), f"view=week&clinician={clinician.pk}")

    assert re.findall(r'<th scope="col">([^<]+)</th>', html) == [
        "Mon 23 Nov",
        "Tue 24 Nov",
        "Wed 25 Nov",
        "Thu 26 Nov",
        "Fri 27 Nov",
        "Sat 28 Nov",
        "Sun 29 Nov",
    ]
    assert "kind-assessment" in html
    assert not any("date=2026-11-28" in link for link in free_links(html))  # works Mon–Fri


def test_cancelled_sessions_free_their_time_and_past_time_is_not_bookable(
    client_as, open_clinic, clinician, room, time_machine
):
    TreatmentSessionFactory(
        clinician=clinician,
        room=room,
        starts_at=at(open_clinic, 2026, 11, 23, 15),
        status=SessionStatus.CANCELLED_BY_CLINIC,
        status_reason="Clinician ill",
    )
    time_machine.move_to(at(open_clinic, 2026, 11, 23, 12), tick=False)

    links = free_links(grid_of(client_as(Role.RECEPTION)))

    assert any("time=15:00" in link for link in links)
    assert min(link.split("time=")[1] for link in links) == "12:00"


def test_the_patient_filter_counts_matches_and_greys_the_others(
    client_as, open_clinic, clinician, room, patient
):
    TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 11, 23, 9)
    )
    TreatmentSessionFactory(
        clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 11, 23, 11)
    )

    page = (
        client_as(Role.RECEPTION).get("/calendar/?date=2026-11-23&patient=patel").content.decode()
    )

    assert "1 session for “patel” on this day" in page
    assert page.count("cg-other") == 1


def test_a_clinician_comes_once_whatever_their_working_hours(client_as, open_clinic, staff, room):
    split = staff(Role.CLINICIAN, display_name="Dr Lunch Break")
    WorkingHoursFactory(staff=split, weekday=0, starts=time(9), ends=time(12))
    WorkingHoursFactory(staff=split, weekday=0, starts=time(13), ends=time(17))
    staff(Role.CLINICIAN, display_name="Dr No Hours")

    page = client_as(Role.RECEPTION).get("/calendar/?date=2026-11-23").content.decode()
    html = page.split('data-testid="calendar-grid"')[1].split("</table>")[0]

    assert re.findall(r'<th scope="col">([^<]+)</th>', html) == ["Dr Lunch Break"]
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', page)
    assert options == ["Dr Lunch Break", "Dr No Hours"]
    times = [link.split("time=")[1] for link in free_links(html)]
    # 45-minute sessions: the last before lunch starts 11:15, the first after it 13:00.
    assert "11:15" in times and "11:30" not in times and "12:45" not in times and "13:00" in times


def blocks(html) -> list[str]:
    """Each session block's markup, from its <a> to its </a>."""
    return re.findall(r'<a class="cg-block[^>]*data-testid="grid-session">.*?</a>', html, re.S)


def test_a_block_shows_patient_time_status_course_room_and_flags_and_opens_the_session(
    client_as, open_clinic, clinician, room, patient
):
    plan = TreatmentPlanFactory(patient=patient, number_of_sessions=6)
    session = TreatmentSessionFactory(
        plan=plan,
        sequence=2,
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=at(open_clinic, 2026, 11, 24, 10),
        needs_screening=True,
    )

    html = grid_of(client_as(Role.RECEPTION), f"view=week&clinician={clinician.pk}")

    [block] = blocks(html)
    assert f'href="/sessions/{session.pk}/"' in block
    assert "status-scheduled kind-treatment" in block
    assert "10:00–10:45" in block and "<strong>Priya Patel</strong>" in block
    assert "Scheduled · session 2 of 6 · Treatment room 1" in block
    assert '<span class="cg-flag">Screen before treatment</span>' in block
    assert "Unconfirmed" not in block  # the status says so already


def test_the_day_by_room_names_the_clinician_and_a_session_outside_a_course_its_kind(
    client_as, open_clinic, clinician, room
):
    TreatmentSessionFactory(
        clinician=clinician,
        room=room,
        starts_at=at(open_clinic, 2026, 11, 23, 10),
        kind=SessionKind.ASSESSMENT,
        status=SessionStatus.CONFIRMED,
    )

    [block] = blocks(grid_of(client_as(Role.RECEPTION), "by=room"))

    assert "Confirmed · Assessment · Dr Nadia Noor" in block


def test_an_anonymised_patient_shows_only_by_study_id(client_as, open_clinic, clinician, room):
    patient = PatientFactory(
        given_name="Hidden", anonymised_at=MONDAY - timedelta(days=1), study_id="S-0042"
    )
    TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 11, 23, 10)
    )

    [block] = blocks(grid_of(client_as(Role.RECEPTION)))

    assert "Anonymised patient S-0042" in block and "Hidden" not in block


def test_names_on_the_grid_are_escaped(client_as, open_clinic, staff, room):
    doctor = staff(Role.CLINICIAN, display_name="Dr <b>Bold</b> & Co")
    WorkingHoursFactory(staff=doctor, weekday=0, starts=time(9), ends=time(17))
    patient = PatientFactory(given_name="<script>alert(1)</script>", family_name="O'Neil")
    TreatmentSessionFactory(
        patient=patient, clinician=doctor, room=room, starts_at=at(open_clinic, 2026, 11, 23, 10)
    )

    html = grid_of(client_as(Role.RECEPTION))

    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Neil" in html
    assert 'aria-label="Book Dr &lt;b&gt;Bold&lt;/b&gt; &amp; Co, Treatment room 1' in html


def test_without_the_booking_permission_free_times_are_not_links(
    client, open_clinic, clinician, room
):
    viewer = UserFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_treatmentsession"))
    client.force_login(viewer)

    html = grid_of(client)

    assert html.count('class="cg-free"') > 0 and "free-slot" not in html


def test_the_grid_query_count_is_the_same_for_5_and_100_sessions(
    client_as, open_clinic, clinician, room
):
    client = client_as(Role.RECEPTION)
    url = "/calendar/?date=2026-11-23&view=week"

    def book(count, offset):
        for n in range(offset, offset + count):
            TreatmentSessionFactory(
                clinician=clinician,
                room=room,
                starts_at=at(open_clinic, 2026, 11, 23 + n % 5, 9)
                + timedelta(minutes=45 * (n // 5)),
            )

    book(5, 0)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    book(45, 5)
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert len(few) == len(many)
    assert html.count('data-testid="grid-session"') == 50


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the written-out query is PostgreSQL's"
)
def test_postgresql_reads_the_same_rows_as_the_orm(open_clinic, clinician, room):
    """The calendar reads its sessions with a query written out for PostgreSQL (grid.py); the
    ORM's query, which SQLite runs, must give the same rows: the same columns in the same
    order, the same sessions in the same order."""
    plan = TreatmentPlanFactory(number_of_sessions=6)
    hidden = PatientFactory(anonymised_at=MONDAY - timedelta(days=1), study_id="S-0042")
    week_start, next_week = at(open_clinic, 2026, 11, 23, 0), at(open_clinic, 2026, 11, 30, 0)
    for starts_at, extra in [
        (week_start, {}),  # the first moment of the week
        (at(open_clinic, 2026, 11, 24, 10), {"plan": plan, "patient": plan.patient, "sequence": 2}),
        (at(open_clinic, 2026, 11, 24, 11), {"patient": hidden, "needs_screening": True}),
        (
            at(open_clinic, 2026, 11, 25, 9),
            {"status": SessionStatus.CANCELLED_BY_PATIENT, "status_reason": "Away"},
        ),
        (at(open_clinic, 2026, 11, 26, 11), {"kind": SessionKind.ASSESSMENT}),
        (at(open_clinic, 2026, 11, 29, 23), {"status": SessionStatus.CONFIRMED}),
        (next_week, {}),  # the next week's first moment: outside
        (week_start - timedelta(hours=1), {}),  # the week before: outside
    ]:
        TreatmentSessionFactory(clinician=clinician, room=room, starts_at=starts_at, **extra)
    bounds = [week_start, next_week]

    with connection.cursor() as cursor:
        cursor.execute(grid._grid_rows_sql(), [*bounds, *grid.OFF_GRID])
        written_out = cursor.fetchall()

    assert written_out == grid._grid_rows_orm(starts_from=bounds[0], starts_before=bounds[1])
    assert len(written_out) == 5
    assert len(written_out[0]) == len(grid._ROW_COLUMNS)
