"""The patient's link page in real Chromium, on a desktop and a 390 px phone: the clinic's time
and the patient's own, where the clinic is, and the calendar file it downloads."""

import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from icalendar import Calendar
from playwright.sync_api import expect

from sessions.outreach.links import patient_link_issue
from sessions.tests.factories import TreatmentSessionFactory

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("PATIENT_LINK_SHOTS", "")


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_link_page_shows_both_times_the_clinic_and_downloads_the_appointment(
    page, plan, clinician, room
):
    # given: a patient living in Singapore with a visit to the London clinic in nine days
    now = timezone.now()
    plan.patient.time_zone = "Asia/Singapore"
    plan.patient.save()
    starts = (now + timedelta(days=9)).replace(hour=10, minute=0, second=0, microsecond=0)
    session = TreatmentSessionFactory(
        patient=plan.patient,
        plan=plan,
        clinician=clinician,
        room=room,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=45),
    )
    link = path_of(patient_link_issue(session=session, now=now))
    london = starts.astimezone(clinician.clinic.zone)
    singapore = starts.astimezone(ZoneInfo("Asia/Singapore"))

    for name, size in (("desktop", {"width": 1280, "height": 900}), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(link)
        expect(page.get_by_role("heading", name="Hello Priya")).to_be_visible()
        expect(page.get_by_test_id("appointment-time")).to_contain_text(f"{london:%H:%M}")
        expect(page.get_by_test_id("appointment-zone")).to_contain_text("Europe/London")
        expect(page.get_by_test_id("appointment-time-own")).to_contain_text(
            f"{singapore:%H:%M} where you are (Asia/Singapore time)"
        )
        expect(page.get_by_test_id("clinic-address")).to_contain_text("1 Test Street")
        expect(page.get_by_test_id("clinic-phone")).to_contain_text("020 7946 0000")
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/patient-link-{name}.png", full_page=True)

    # when: the patient adds it to their calendar
    with page.expect_download() as download:
        page.get_by_test_id("add-to-calendar").click()

    # then: the file is the appointment, at its time, at the clinic's address
    calendar = Calendar.from_ical(Path(download.value.path()).read_bytes())
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == starts
    assert "1 Test Street" in str(event["location"])
