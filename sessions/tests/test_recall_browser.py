"""In Chromium as reception: the recall work list, the grid by keyboard, the patient's
appointments (issue 15 point 9)."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.roles import Role
from clinic.tests.accounts import log_in
from clinic.tests.factories import UserFactory, WorkingHoursFactory
from sessions.models import ContactAttempt, PlanStatus, SessionStatus
from sessions.tests.factories import TreatmentPlanFactory, TreatmentSessionFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def next_weekday(days_ahead: int):
    day = timezone.localdate() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def test_reception_works_the_recall_list_for_the_next_three_months(page, staff, patient):
    staff(Role.RECEPTION, user=UserFactory(username="rosa"), display_name="Rosa Reception")
    # due in 40 days: always after this month's end, within the next 3 months
    due_on = timezone.localdate() + timedelta(days=40)
    plan = TreatmentPlanFactory(
        patient=patient, status=PlanStatus.COMPLETED, maintenance_due_on=due_on
    )
    log_in(page, "rosa")

    page.goto("/maintenance/")
    expect(page.get_by_test_id("maintenance-row")).to_have_count(0)
    page.get_by_test_id("maintenance-windows").get_by_role("link", name="Next 3 months").click()
    row = page.get_by_test_id("maintenance-row")
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name="Priya Patel")).to_be_visible()
    expect(row).to_contain_text("07700 900123")
    expect(row.get_by_test_id("last-contact")).to_have_text("Not contacted yet")

    row.get_by_label("Outcome for Priya Patel").select_option(label="Reached: will call back")
    row.get_by_label("Note for Priya Patel").fill("Call after 5pm")
    row.get_by_role("button", name="Contacted").click()

    expect(page.get_by_text("Contact attempt logged for Priya Patel")).to_be_visible()
    expect(page).to_have_url("/maintenance/?window=3months&page=1")
    last = page.get_by_test_id("maintenance-row").get_by_test_id("last-contact")
    expect(last).to_contain_text("Reached: will call back")
    expect(last).to_contain_text("Rosa Reception")
    expect(last).to_contain_text("Call after 5pm")
    attempt = ContactAttempt.objects.get()
    assert (attempt.plan, attempt.outcome) == (plan, "call_back")

    page.get_by_test_id("maintenance-row").get_by_role("link", name="Priya Patel").click()
    expect(page.get_by_test_id("next-appointment")).to_contain_text(
        f"Maintenance due {due_on.day} {due_on:%b %Y}"
    )


def test_the_calendar_grid_is_worked_with_the_arrow_keys(page, staff, clinician, room):
    staff(Role.RECEPTION, user=UserFactory(username="rosa"))
    other = staff(Role.CLINICIAN, display_name="Dr Omar Okafor")
    for weekday in range(5):
        WorkingHoursFactory(staff=other, weekday=weekday, starts=time(9), ends=time(17))
    day = next_weekday(2)
    log_in(page, "rosa")

    page.goto(f"/calendar/?date={day:%Y-%m-%d}")
    grid = page.get_by_test_id("calendar-grid")
    slots = grid.get_by_test_id("free-slot")
    expect(grid.locator("a[tabindex='0']")).to_have_count(1)  # one Tab stop for the grid
    slots.first.focus()
    first = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert first.startswith("Book Dr Nadia Noor") and first.endswith("09:00"), first

    page.keyboard.press("ArrowDown")
    below = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert below.startswith("Book Dr Nadia Noor") and not below.endswith("09:00"), below
    page.keyboard.press("ArrowRight")
    right = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert right.startswith("Book Dr Omar Okafor") and right[-5:] == below[-5:], right
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == first
    expect(grid.locator("a[tabindex='0']")).to_have_count(1)

    page.keyboard.press("Enter")
    expect(page.get_by_label("Time")).to_have_value("09:00")


def test_the_patient_page_lists_upcoming_and_past_appointments(
    page, staff, patient, clinician, room
):
    staff(Role.RECEPTION, user=UserFactory(username="rosa"))
    zone = timezone.get_current_timezone()
    coming, past = next_weekday(3), timezone.localdate() - timedelta(days=14)
    for day, status in ((coming, SessionStatus.CONFIRMED), (past, SessionStatus.COMPLETED)):
        TreatmentSessionFactory(
            patient=patient,
            clinician=clinician,
            room=room,
            status=status,
            starts_at=datetime.combine(day, time(11), tzinfo=zone),
        )
    log_in(page, "rosa")

    page.goto(f"/patients/{patient.pk}/")

    expect(page.get_by_test_id("next-appointment")).to_contain_text(
        f"{coming:%A} {coming.day} {coming:%B %Y}, 11:00"
    )
    appointments = page.get_by_test_id("appointments")
    expect(appointments.get_by_test_id("appointment")).to_have_count(2)
    expect(appointments).to_contain_text("Confirmed")
    expect(appointments).to_contain_text("Completed")
