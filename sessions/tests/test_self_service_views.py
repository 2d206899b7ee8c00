"""The public self-service pages (sessions/outreach/self_service_views.py): the honeypot, the
rate limits, pages that never tell whether someone is a patient, and what the clinician and
reception see."""

import re
from datetime import date

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from patients.tests.factories import PatientFactory
from sessions.models import OnlineBooking, PatientLink
from sessions.outreach.online_booking import online_slots
from sessions.outreach.online_booking_code import booking_code
from sessions.tests.conftest import MONDAY


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def now():
    with time_machine.travel(MONDAY, tick=False):
        yield MONDAY


def form(clinic, now, **overrides):
    data = {
        "slot": online_slots(clinic=clinic, now=now)[0].key,
        "given_name": "Nina",
        "family_name": "New",
        "date_of_birth": "1990-04-02",
        "email": "nina@example.org",
        "mobile": "07911 123456",
        "code_channel": "sms",
        "agree": "on",
        "website": "",
    }
    data.update(overrides)
    return data


def test_the_booking_page_shows_the_clinic_and_its_zone(client, open_clinic, clinician, room, now):
    page = client.get(reverse("online_booking")).content.decode()
    assert "1 Test Street" in page and "Europe/London" in page
    assert "<script" not in page and "style=" not in page  # CSP: nothing inline
    assert 'for="id_given_name"' in page  # a real label for every field


def test_the_honeypot_books_nothing_and_looks_the_same(client, open_clinic, clinician, room, now):
    response = client.post(reverse("online_booking"), form(open_clinic, now, website="x"))
    assert response.status_code == 200
    assert "code is on its way" in response.content.decode()
    assert not OnlineBooking.objects.exists()


def _code_page(client, clinic, now):
    response = client.post(reverse("online_booking"), form(clinic, now), follow=True)
    assert response.status_code == 200
    # Only the opaque id in the URL differs between two people.
    page = re.sub(r"/book/[^/]+/", "/book/ID/", response.content.decode())
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_a_known_and_a_new_person_see_the_same_pages(client, open_clinic, clinician, room, now):
    new_person = _code_page(client, open_clinic, now)
    cache.clear()
    PatientFactory(date_of_birth=date(1990, 4, 2), mobile="+447911123456")
    known_person = _code_page(client, open_clinic, now)
    assert new_person == known_person


def test_too_many_tries_from_one_contact_are_refused(client, open_clinic, clinician, room, now):
    for _ in range(3):
        assert client.post(reverse("online_booking"), form(open_clinic, now)).status_code == 302
    response = client.post(reverse("online_booking"), form(open_clinic, now))
    assert response.status_code == 429
    assert "Too many tries" in response.content.decode()
    assert OnlineBooking.objects.count() == 3


def test_too_many_tries_from_one_ip_are_refused(client, open_clinic, clinician, room, now):
    for n in range(10):
        client.post(
            reverse("online_booking"),
            form(open_clinic, now, email=f"p{n}@example.org", mobile=f"07911 12345{n}"),
        )
    response = client.post(
        reverse("online_booking"), form(open_clinic, now, email="late@example.org")
    )
    assert response.status_code == 429


def test_a_wrong_code_says_so_on_the_form(client, open_clinic, clinician, room, now):
    client.post(reverse("online_booking"), form(open_clinic, now))
    booking = OnlineBooking.objects.get()
    wrong = f"{(int(booking_code(booking=booking)) + 1) % 1_000_000:06d}"
    response = client.post(
        reverse("online_booking_code", args=[booking.public_id]), {"code": wrong}
    )
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()


def _booked_link(client, clinic, now):
    client.post(reverse("online_booking"), form(clinic, now))
    booking = OnlineBooking.objects.get()
    response = client.post(
        reverse("online_booking_code", args=[booking.public_id]),
        {"code": booking_code(booking=booking)},
    )
    assert response.status_code == 302 and response.url.startswith("/r/")
    return response.url, OnlineBooking.objects.get()


def test_a_reported_red_flag_asks_the_patient_to_call_and_reaches_the_clinician(
    client, open_clinic, clinician, room, reception_user, now
):
    link_url, booking = _booked_link(client, open_clinic, now)
    intake_url = link_url + "intake/"
    page = client.get(intake_url)
    keys = re.findall(r'name="q_([a-z_0-9]+)"', page.content.decode())
    answers = {f"q_{k}": "no" for k in keys} | {"q_patchy_loss": "yes"}
    done = client.post(intake_url, answers).content.decode()
    assert "Please contact the clinic before your visit" in done
    assert "patchy_loss" not in done and "referral" not in done.lower()  # never the rule
    session_url = reverse("treatment_sessions:session_detail", args=[booking.session_id])
    client.force_login(clinician.user)
    seen = client.get(session_url).content.decode()
    assert 'data-testid="report-attention"' in seen and "Patchy hair loss" in seen
    assert "patchy_loss" not in seen.replace('name="q_patchy_loss"', "")  # the name, not the code
    assert 'data-testid="booked-online"' in seen
    client.force_login(reception_user)
    desk = client.get(session_url).content.decode()
    assert 'data-testid="patient-report"' not in desk  # clinical data: clinical roles only
    assert PatientLink.objects.filter(session=booking.session).exists()


def test_reception_sees_the_booking_flagged_and_approves_it(
    client, open_clinic, clinician, room, reception_user, now
):
    _, booking = _booked_link(client, open_clinic, now)
    client.force_login(reception_user)
    listing = client.get(reverse("treatment_sessions:online_bookings")).content.decode()
    assert "Booked online" in listing and "New, provisional" in listing
    client.post(reverse("treatment_sessions:online_booking_approve", args=[booking.pk]))
    booking.refresh_from_db()
    assert booking.status == "approved"
