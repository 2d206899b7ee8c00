"""End to end in Chromium: what reception and a clinician see while registering and screening."""

import pytest
from playwright.sync_api import expect

from clinic.roles import Role
from clinic.tests.accounts import log_in
from clinic.tests.factories import UserFactory
from patients.models import Patient
from patients.tests.factories import AllergyFactory, PatientFactory

# serialized_rollback: the screening rules and role permissions come from data migrations,
# which a transactional test's flush would otherwise remove.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_reception_registers_a_patient_and_finds_them_by_mobile(page, clinic, staff):
    staff(Role.RECEPTION, user=UserFactory(username="rita"))
    log_in(page, "rita")

    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Given name").fill("Nora")
    page.get_by_label("Family name").fill("Quinn")
    page.get_by_label("Date of birth").fill("1979-04-12")
    page.get_by_label("Sex at birth").select_option("female")
    page.get_by_label("Mobile").fill("07911 123456")
    page.get_by_label("Email", exact=True).fill("nora@patients.example")
    page.get_by_label("Agrees to reminders by email").check()
    page.get_by_role("button", name="Save").click()

    record_number = Patient.objects.get().record_number
    expect(page.get_by_role("alert")).to_contain_text(f"record number {record_number}")
    expect(page.get_by_test_id("treatment-status")).to_have_text(
        "Screen before treatment: a clinician must screen this patient first."
    )
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("searchbox").fill("07911 123456")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("patient-list")).to_contain_text("Quinn, Nora")


def test_a_clinician_screening_an_allergic_patient_sees_which_rule_blocks(
    page, clinic, staff, dht_version
):
    staff(Role.CLINICIAN, user=UserFactory(username="cleo"))
    patient = PatientFactory(given_name="Alan", family_name="Allergic")
    AllergyFactory(patient=patient, substance="Avodart")
    log_in(page, "cleo")

    page.goto(f"/patients/{patient.pk}/clinical/")
    page.get_by_role("link", name="New screening").click()
    for group in page.locator("fieldset, div[id^='div_id_q_']").all():
        no = group.get_by_label("No", exact=True)
        if no.count():
            no.first.check()
    page.get_by_label("Formulation planned").select_option(str(dht_version.pk))
    page.get_by_role("button", name="Record screening").click()

    expect(page.get_by_test_id("clearance")).to_contain_text(
        "Blocked by screening rule “Allergy to an ingredient” (absolute)"
    )
    expect(page.get_by_test_id("clearance")).to_contain_text("cannot be overridden")
    expect(page.get_by_test_id("finding-allergy_ingredient")).not_to_contain_text("Override")


def test_a_patient_signs_the_consent_with_the_off_label_statement(page, clinic, staff, dht_version):
    staff(Role.CLINICIAN, user=UserFactory(username="cleo"))
    patient = PatientFactory(given_name="Sara", family_name="Signer")
    log_in(page, "cleo")

    page.goto(f"/patients/{patient.pk}/consent/new/")
    page.get_by_label("Formulation").select_option(str(dht_version.pk))
    page.get_by_role("button", name="Show text").click()
    expect(page.get_by_test_id("consent-text")).to_contain_text("used off-label")
    page.get_by_label("Patient's full name").fill("Sara Signer")
    page.get_by_label("I have read this text").check()
    page.get_by_role("button", name="Sign").click()

    expect(page.get_by_role("alert")).to_contain_text("Consent signed and stored.")
    signature = patient.consents.get()
    assert "used off-label" in signature.text_signed
    assert signature.typed_name == "Sara Signer"


def test_reception_opens_a_patient_edit_form_and_saves_it_unchanged(page, clinic, staff):
    staff(Role.RECEPTION, user=UserFactory(username="rene"))
    patient = PatientFactory(given_name="Ines", mobile="+447700900123", time_zone="Europe/Paris")
    log_in(page, "rene")

    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_label("Date of birth")).to_have_value("1985-05-17")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Contact details saved.")).to_be_visible()
    patient.refresh_from_db()
    assert str(patient.mobile) == "+447700900123" and patient.time_zone == "Europe/Paris"
    assert str(patient.date_of_birth) == "1985-05-17"
