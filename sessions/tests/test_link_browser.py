"""A patient opens the link from their reminder in a real browser and confirms the appointment."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sessions.models import SessionStatus
from sessions.outreach.links import patient_link_issue
from sessions.tests.factories import TreatmentSessionFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_patient_opens_their_link_confirms_and_sees_it_confirmed(page, patient, clinician, room):
    now = timezone.now()
    starts = (now + timedelta(days=3)).replace(microsecond=0)
    session = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, starts_at=starts
    )
    url = patient_link_issue(session=session, now=now)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]

    page.goto(path)
    expect(page.get_by_role("heading", name="Hello Priya")).to_be_visible()
    expect(page.get_by_test_id("appointment-status")).to_have_text("Scheduled")
    expect(page.get_by_test_id("main-nav")).to_have_count(0)
    page.get_by_role("button", name="Confirm I will come").click()

    expect(page.get_by_test_id("appointment-status")).to_have_text("Confirmed")
    expect(page.get_by_test_id("confirmed")).to_contain_text("your appointment is confirmed")
    session.refresh_from_db()
    assert session.status == SessionStatus.CONFIRMED
