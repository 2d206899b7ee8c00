from datetime import UTC, date, datetime

import pytest

from patients.models import Patient
from patients.registration import patient_register, patient_update_contact

NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
DETAILS = {
    "given_name": "Ann",
    "family_name": "Smith",
    "date_of_birth": date(1980, 2, 3),
    "sex_at_birth": "female",
    "email": "ann@patients.example",
    "mobile": "+447700900555",
    "preferred_channel": "email",
}


@pytest.mark.django_db
def test_registration_gives_each_patient_its_own_record_number():
    first = patient_register(details=DETAILS, email_consent=False, sms_consent=False, now=NOW)
    second = patient_register(details=DETAILS, email_consent=False, sms_consent=False, now=NOW)

    assert first.record_number == f"MT{first.pk:06d}"
    assert second.record_number == f"MT{second.pk:06d}"
    assert first.record_number != second.record_number
    assert Patient.objects.get(pk=first.pk).record_number == first.record_number


@pytest.mark.django_db
def test_consent_is_stamped_when_given_and_kept_until_withdrawn():
    patient = patient_register(details=DETAILS, email_consent=True, sms_consent=False, now=NOW)
    assert (patient.email_consent_at, patient.sms_consent_at) == (NOW, None)

    patient_update_contact(
        patient=patient, details={}, email_consent=True, sms_consent=True, now=LATER
    )
    patient.refresh_from_db()
    assert (patient.email_consent_at, patient.sms_consent_at) == (NOW, LATER)

    patient_update_contact(
        patient=patient, details={}, email_consent=False, sms_consent=True, now=LATER
    )
    patient.refresh_from_db()
    assert (patient.email_consent_at, patient.sms_consent_at) == (None, LATER)


@pytest.mark.django_db
def test_contact_changes_keep_the_old_values_in_history():
    patient = patient_register(details=DETAILS, email_consent=False, sms_consent=False, now=NOW)

    patient_update_contact(
        patient=patient,
        details={**DETAILS, "mobile": "+447700900999"},
        email_consent=False,
        sms_consent=False,
        now=LATER,
    )

    mobiles = [str(h.mobile) for h in patient.history.order_by("history_date")]
    assert mobiles[0] == "+447700900555" and mobiles[-1] == "+447700900999"
