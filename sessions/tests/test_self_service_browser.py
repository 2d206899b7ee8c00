"""Patients helping themselves on a phone (390 px wide, real Chromium): a new patient books a
consultation and completes intake, signing the consent at home where the clinic allows it, and
the clinician sees what they reported before the visit; a freed slot offered to two waitlisted
patients is taken by exactly one."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.models import Clinic
from clinic.tests.accounts import log_in
from patients.models import ConsentSignature, PatientReport, SignatureMethod
from patients.tests.factories import PatientFactory
from sessions.booking.scheduling import session_cancel
from sessions.models import OnlineBooking, SessionKind, TreatmentSession, WaitlistOffer
from sessions.outreach.links import patient_link_issue
from sessions.outreach.online_booking_code import booking_code
from sessions.outreach.waitlist import offer_token, waitlist_join
from sessions.tests.factories import TreatmentSessionFactory

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("SELF_SERVICE_SHOTS", "")


def fits_the_phone(page, name: str) -> None:
    """No sideways scrolling at 390 px; a full-page screenshot when SELF_SERVICE_SHOTS is set."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_new_patient_books_a_consultation_and_completes_intake_on_a_phone(page, clinician, room):
    Clinic.objects.update(remote_consent_allowed=True)
    page.set_viewport_size(PHONE)
    page.goto("/book/")
    expect(page.get_by_role("heading", name="Book a consultation")).to_be_visible()
    expect(page.get_by_test_id("clinic-contact")).to_contain_text("1 Test Street")
    expect(page.get_by_test_id("clinic-contact")).to_contain_text("Europe/London")
    fits_the_phone(page, "01-book")

    page.get_by_test_id("slot").first.click()
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("Newcomer")
    page.get_by_label("Date of birth").fill("1990-04-02")
    page.get_by_label("Email address").fill("nina@example.org")
    page.get_by_label("Mobile phone").fill("07911 123456")
    page.get_by_label("Text message").check()
    page.get_by_label("Send me messages about this booking").check()
    page.get_by_role("button", name="Send my code").click()

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    fits_the_phone(page, "02-code")
    booking = OnlineBooking.objects.get()
    assert not TreatmentSession.objects.exists()  # nothing is held before the code
    page.get_by_label("Code").fill(booking_code(booking=booking))
    page.get_by_role("button", name="Hold my time").click()

    expect(page.get_by_role("heading", name="Hello Nina")).to_be_visible()
    expect(page.get_by_test_id("awaiting-approval")).to_be_visible()
    fits_the_phone(page, "03-link")
    booking.refresh_from_db()
    assert booking.session.kind == SessionKind.ASSESSMENT and booking.patient.is_provisional

    page.get_by_test_id("intake-link").click()
    expect(page.get_by_role("heading", name="Before your visit")).to_be_visible()
    expect(page.get_by_test_id("consent-text")).to_contain_text("Consent to scalp mesotherapy")
    for radio in page.locator("input[type=radio][value=no]").all():
        radio.check()
    # A red flag: sudden patchy loss. The patient is asked to call; the clinician is warned.
    page.locator("input[name=q_patchy_loss][value=yes]").check()
    page.get_by_label("Medicines you take now").fill("Vitamin D")
    page.get_by_label("Type your full name to sign").fill("Nina Newcomer")
    page.get_by_label("I have read this consent, I understand it and I agree to it").check()
    fits_the_phone(page, "04-intake")
    if SHOTS:
        page.get_by_test_id("remote-consent").screenshot(path=f"{SHOTS}/04b-remote-consent.png")
    page.get_by_role("button", name="Send my answers").click()

    expect(page.get_by_test_id("contact-clinic")).to_be_visible()
    expect(page.get_by_test_id("consent-signed")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("patchy")  # never the rule
    fits_the_phone(page, "05-intake-done")
    report = PatientReport.objects.get(patient=booking.patient)
    assert report.medications == "Vitamin D" and report.needs_attention
    signature = ConsentSignature.objects.get(patient=booking.patient)
    assert signature.method == SignatureMethod.REMOTE and signature.witness is None

    # The clinician, before the visit, sees the reported red flag and the remote signature.
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, clinician.user.username)
    page.goto(f"/sessions/{booking.session_id}/")
    expect(page.get_by_test_id("patient-report")).to_be_visible()
    expect(page.get_by_test_id("report-attention")).to_be_visible()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/05b-clinician-session.png", full_page=True)
    page.goto(f"/patients/{booking.patient_id}/clinical/")
    expect(page.get_by_test_id("signed-remotely")).to_be_visible()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/05c-clinical-tab.png", full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_freed_slot_offered_to_two_waitlisted_patients_is_taken_by_exactly_one(
    page, patient, clinician, room
):
    now = timezone.now()
    patient.sms_consent_at = now
    patient.save()
    later = (now + timedelta(days=12)).replace(hour=11, minute=0, second=0, microsecond=0)
    own = TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        kind=SessionKind.ASSESSMENT,
        starts_at=later,
        ends_at=later + timedelta(minutes=45),
    )
    page.set_viewport_size(PHONE)
    page.goto(path_of(patient_link_issue(session=own, now=now)))
    page.get_by_test_id("waitlist-link").click()
    page.get_by_label("Any clinician is fine").check()
    fits_the_phone(page, "06-waitlist")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_test_id("waitlist-joined")).to_be_visible()
    # A second patient joins after her (reception for them).
    second = PatientFactory(sms_consent_at=now)
    waitlist_join(
        patient=second,
        kind=SessionKind.ASSESSMENT,
        earliest_day=now.date(),
        latest_day=now.date() + timedelta(days=14),
        by=None,
        now=now + timedelta(minutes=1),
        clinic=clinician.clinic,
    )

    # Another patient's appointment in three days is cancelled: the slot goes to the waitlist.
    soon = (now + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    while soon.astimezone(clinician.clinic.zone).weekday() >= 5:
        soon += timedelta(days=1)
    other = TreatmentSessionFactory(
        clinician=clinician,
        room=room,
        kind=SessionKind.ASSESSMENT,
        starts_at=soon,
        ends_at=soon + timedelta(minutes=45),
    )
    session_cancel(
        clinic=clinician.clinic, session=other, by_patient=True, reason="ill", by=None, now=now
    )
    offer = WaitlistOffer.objects.get(entry__patient=patient)
    rival_offer = WaitlistOffer.objects.get(entry__patient=second)

    # Both have the offer open on their phones.
    rival = page.context.new_page()
    rival.set_viewport_size(PHONE)
    rival.goto(f"/offer/{offer_token(offer=rival_offer)}/")
    page.goto(f"/offer/{offer_token(offer=offer)}/")
    expect(page.get_by_test_id("offer-time")).to_be_visible()
    fits_the_phone(page, "07-offer")
    page.get_by_role("button", name="Take this time").click()
    expect(page.get_by_test_id("offer-booked")).to_be_visible()
    fits_the_phone(page, "08-offer-taken")

    # The second, a moment later, is told it is gone.
    rival.get_by_role("button", name="Take this time").click()
    expect(rival.get_by_test_id("refusal")).to_contain_text("taken by someone else")
    fits_the_phone(rival, "09-offer-gone")
    booked = TreatmentSession.objects.filter(starts_at=soon, status="scheduled")
    assert list(booked.values_list("patient_id", flat=True)) == [patient.pk]
