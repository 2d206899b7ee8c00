"""A serious adverse event in a real browser: recorded from the session page by the clinician,
seen and acknowledged by a clinic admin on the dashboard."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.roles import Role
from clinic.tests.accounts import log_in
from sessions.models import AdverseEvent, SessionStatus
from sessions.tests.factories import TreatmentSessionFactory


@pytest.fixture(autouse=True)
def eager_tasks():
    """The admins' email goes out in the server's thread instead of being queued under var/."""
    from clinic.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_serious_event_recorded_at_the_session_is_acknowledged_by_an_admin(
    page, patient, clinician, room, staff
):
    # given a session completed an hour ago and a clinic admin
    now = timezone.now()
    session = TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=now - timedelta(hours=1),
        status=SessionStatus.COMPLETED,
    )
    admin = staff(Role.CLINIC_ADMIN, display_name="Ada Admin")

    # when the clinician records a serious event from the session page
    log_in(page, clinician.user.username)
    page.goto(f"/sessions/{session.pk}/")
    expect(page.get_by_test_id("session-adverse-events")).to_contain_text(
        "No adverse event recorded."
    )
    page.get_by_role("link", name="Record an adverse event").click()
    page.get_by_label("Type").select_option("hypersensitivity")
    page.get_by_label("Severity").select_option("severe")
    page.get_by_label("CTCAE grade").select_option("4")
    page.get_by_label("Serious").check()
    page.get_by_label("Causality").select_option("probable")
    page.get_by_label("Outcome").select_option("resolving")
    page.get_by_role("button", name="Record").click()
    expect(
        page.get_by_text("Adverse event recorded. The clinic admins are notified.")
    ).to_be_visible()
    page.goto(f"/sessions/{session.pk}/")
    expect(page.get_by_test_id("session-adverse-events")).to_contain_text(
        "Hypersensitivity / anaphylaxis"
    )
    page.get_by_role("button", name="Log out").click()

    # then an admin sees it on the dashboard and acknowledges it
    log_in(page, admin.user.username)
    page.goto("/")
    panel = page.get_by_test_id("serious-adverse-events")
    expect(panel).to_contain_text(patient.record_number)
    expect(panel).to_contain_text("Hypersensitivity / anaphylaxis")
    panel.get_by_role("button", name="Acknowledge").click()

    expect(page.get_by_text("Serious adverse event acknowledged.")).to_be_visible()
    expect(page.get_by_test_id("serious-adverse-events")).to_contain_text("None waiting.")
    expect(page.get_by_test_id("serious-adverse-events")).not_to_contain_text(patient.record_number)
    event = AdverseEvent.objects.get()
    assert (event.serious, event.acknowledged_by) == (True, admin.user)
