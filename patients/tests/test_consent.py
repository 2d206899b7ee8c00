"""What a patient still has to sign before a formulation version is injected."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from patients.consent import (
    consent_digest,
    consent_document,
    consent_missing,
    consent_sign_remote,
    consent_texts_for,
    consent_withdraw,
)
from patients.models import ConsentSignature, SignatureMethod, SignedConsentError
from patients.tests.factories import (
    PatientFactory,
    PhotographyConsentFactory,
    TreatmentConsentFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_a_patient_who_signed_nothing_misses_both_texts_for_a_drug(dht_version):
    assert consent_missing(patient=PatientFactory(), formulation_version=dht_version) == [
        "the treatment consent",
        f"the off-label statement for {dht_version}",
    ]


def test_the_consent_signed_for_the_version_covers_it(dht_version):
    patient = TreatmentConsentFactory(formulation_version=dht_version).patient
    assert consent_missing(patient=patient, formulation_version=dht_version) == []


def test_a_drug_free_version_needs_no_off_label_statement(vitamin_version):
    patient = TreatmentConsentFactory(formulation_version=None).patient
    assert consent_missing(patient=patient, formulation_version=vitamin_version) == []


def test_photography_consent_is_not_treatment_consent(vitamin_version):
    patient = PhotographyConsentFactory().patient
    assert consent_missing(patient=patient, formulation_version=vitamin_version) == [
        "the treatment consent"
    ]


def test_another_patients_consent_does_not_count(dht_version):
    TreatmentConsentFactory(formulation_version=dht_version)
    assert len(consent_missing(patient=PatientFactory(), formulation_version=dht_version)) == 2


# A signed consent is part of the record: no path changes or deletes it ------------------------


def test_a_signed_consent_cannot_be_edited_and_saved():
    signature = TreatmentConsentFactory(formulation_version=None)
    signature.typed_name = "Someone Else"

    with pytest.raises(SignedConsentError):
        signature.save()

    signature.refresh_from_db()
    assert signature.typed_name != "Someone Else"


def test_a_signed_consent_cannot_be_deleted_by_any_path():
    signature = TreatmentConsentFactory(formulation_version=None)

    with pytest.raises(SignedConsentError):
        signature.delete()
    with pytest.raises(SignedConsentError):
        ConsentSignature.objects.filter(pk=signature.pk).delete()
    with pytest.raises(SignedConsentError):
        ConsentSignature.objects.filter(pk=signature.pk).update(typed_name="x")

    assert ConsentSignature.objects.filter(pk=signature.pk).exists()


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger is PostgreSQL-only (SQLite has none)"
)
def test_the_database_trigger_refuses_raw_sql_on_a_signed_consent():
    signature = TreatmentConsentFactory(formulation_version=None)
    statements = [
        "UPDATE patients_consentsignature SET typed_name = 'x' WHERE id = %s",
        "DELETE FROM patients_consentsignature WHERE id = %s",
    ]
    for sql in statements:
        with (
            pytest.raises(IntegrityError, match="cannot change"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [signature.pk])

    signature.refresh_from_db()
    assert signature.typed_name != "x"


# Withdrawal: the signature stays, it stops counting ------------------------------------------


def test_a_withdrawn_treatment_consent_no_longer_counts(dht_version, clinician_user):
    signature = TreatmentConsentFactory(formulation_version=dht_version)
    patient = signature.patient

    consent_withdraw(signature=signature, by=clinician_user, reason="By phone", now=NOW)

    assert len(consent_missing(patient=patient, formulation_version=dht_version)) == 2
    signature.refresh_from_db()
    assert signature.text_signed  # the signed text itself is untouched


def test_a_withdrawal_needs_a_reason_and_happens_once(clinician_user):
    signature = TreatmentConsentFactory(formulation_version=None)

    with pytest.raises(ValidationError, match="how the patient withdrew"):
        consent_withdraw(signature=signature, by=clinician_user, reason=" ", now=NOW)
    consent_withdraw(signature=signature, by=clinician_user, reason="In writing", now=NOW)
    with pytest.raises(ValidationError, match="already withdrawn"):
        consent_withdraw(signature=signature, by=clinician_user, reason="Again", now=NOW)


def test_reception_cannot_record_a_withdrawal(reception_user):
    signature = TreatmentConsentFactory(formulation_version=None)

    with pytest.raises(ValidationError, match="clinician or a clinic admin"):
        consent_withdraw(signature=signature, by=reception_user, reason="By phone", now=NOW)


def test_the_consent_page_records_a_withdrawal_and_shows_it(client, clinician_user):
    signature = TreatmentConsentFactory(formulation_version=None)
    client.force_login(clinician_user)
    url = f"/patients/{signature.patient_id}/consent/{signature.pk}/"

    response = client.post(f"{url}withdraw/", {"reason": "Phoned the clinic"}, follow=True)

    page = response.content.decode()
    assert 'data-testid="consent-withdrawn"' in page
    assert "Phoned the clinic" in page
    assert "The patient withdraws this consent" not in page


def test_the_clinical_tab_marks_a_withdrawn_consent(client, clinician_user):
    signature = TreatmentConsentFactory(formulation_version=None)
    consent_withdraw(signature=signature, by=clinician_user, reason="By phone", now=NOW)
    client.force_login(clinician_user)

    page = client.get(f"/patients/{signature.patient_id}/clinical/").content.decode()

    assert "withdrawn 01 Dec 2026" in page


# Remote signing (the patient's intake link) ---------------------------------------------------


def _remote(patient, clinic, **overrides):
    texts = consent_texts_for()
    kwargs = {
        "patient": patient,
        "clinic": clinic,
        "link_id": 41,
        "channel": "email",
        "typed_name": "Rita Remote",
        "confirmed": True,
        "text_digest": consent_digest(document=consent_document(texts=texts)),
        "now": NOW,
    } | overrides
    return consent_sign_remote(**kwargs)


def test_a_clinic_that_does_not_allow_remote_consent_refuses_it(clinic):
    with pytest.raises(ValidationError, match="signs consent at the visit"):
        _remote(PatientFactory(), clinic)
    assert not ConsentSignature.objects.exists()


def test_a_remote_signature_keeps_the_text_and_names_its_link_not_a_witness(clinic):
    clinic.remote_consent_allowed = True
    patient = PatientFactory()

    signature = _remote(patient, clinic)

    assert signature.method == SignatureMethod.REMOTE and signature.witness is None
    assert (signature.remote_link_id, signature.remote_channel) == (41, "email")
    assert signature.text_signed == consent_document(texts=consent_texts_for())
    assert consent_missing(patient=patient) == []


def test_a_remote_signature_needs_the_agreement_and_the_link(clinic):
    clinic.remote_consent_allowed = True
    with pytest.raises(ValidationError, match="confirm that they have read and agree"):
        _remote(PatientFactory(), clinic, confirmed=False)
    with pytest.raises(ValidationError, match="through the link"):
        _remote(PatientFactory(), clinic, channel="")
    assert not ConsentSignature.objects.exists()


def test_the_database_refuses_an_in_clinic_signature_without_a_witness():
    signature = TreatmentConsentFactory.build(patient=PatientFactory(), witness=None)

    with pytest.raises(IntegrityError, match="consent_witnessed_or_remote"), transaction.atomic():
        signature.save()

    assert not ConsentSignature.objects.exists()
