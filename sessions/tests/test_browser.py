"""Reception books a session in a real browser: free slot, booking, confirmation."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.roles import Role
from clinic.tests.accounts import log_in
from clinic.tests.factories import UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reception_books_a_suggested_slot_and_confirms_it(page, staff, patient, clinician, room):
    staff(Role.RECEPTION, user=UserFactory(username="rosa"), display_name="Rosa Reception")
    # A weekday at least two days ahead, so the suggested slots are in the future.
    day = timezone.localdate() + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)

    log_in(page, "rosa")
    page.goto(
        f"/sessions/new/?patient={patient.pk}&clinician={clinician.pk}&room={room.pk}"
        f"&date={day:%Y-%m-%d}"
    )
    page.get_by_test_id("suggestions").get_by_role("link").first.click()
    page.get_by_role("button", name="Book session").click()

    expect(page.get_by_text("Session booked.")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Scheduled")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("status")).to_have_text("Confirmed")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reception_books_from_a_free_time_on_the_grid(page, staff, patient, clinician, room):
    staff(Role.RECEPTION, user=UserFactory(username="rosa"), display_name="Rosa Reception")
    day = timezone.localdate() + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    log_in(page, "rosa")

    page.goto(f"/calendar/?date={day:%Y-%m-%d}")
    page.get_by_role(
        "link", name=f"Book Dr Nadia Noor, Treatment room 1, {day:%a %-d %b} 10:00"
    ).click()
    expect(page.get_by_label("Time")).to_have_value("10:00")
    page.get_by_label("Patient").select_option(str(patient.pk))
    page.get_by_role("button", name="Book session").click()
    expect(page.get_by_text("Session booked.")).to_be_visible()

    page.goto(f"/calendar/?date={day:%Y-%m-%d}")
    block = page.get_by_test_id("grid-session")
    expect(block).to_contain_text("Priya Patel")
    expect(block).to_contain_text("10:00–10:45")
    expect(
        page.get_by_role(
            "link", name=f"Book Dr Nadia Noor, Treatment room 1, {day:%a %-d %b} 10:00"
        )
    ).to_have_count(0)

    # "When is my next appointment?": the patient page answers at the top.
    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_test_id("next-appointment")).to_contain_text(
        f"{day:%A} {day.day} {day:%B %Y}, 10:00"
    )
    expect(page.get_by_test_id("appointment")).to_have_count(1)
