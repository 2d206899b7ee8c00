"""Intake at home: what the patient reports before a visit through their link.

DOMAIN.md: patient-reported screening answers are information for the clinician, never a
clearance. A report is its own row (PatientReport), never a Screening, so nothing here can clear
a block; the clinician screens at the visit. The rule table judges the reported answers only to
warn the clinician before the visit of an absolute contraindication or a red flag; the patient
is asked to contact the clinic and never shown the rule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction

from clinic.models import Clinic
from clinic.refusals import PatientRefused

from .consent import consent_sign_remote
from .models import ConsentSignature, ConsentText, Patient, PatientReport, RuleOutcome
from .screening import evaluate_screening, questions_for

logger = logging.getLogger(__name__)

ATTENTION = (RuleOutcome.ABSOLUTE, RuleOutcome.REFERRAL)
CONTACT_KEYS = ("email", "mobile", "pronouns")


@dataclass(frozen=True)
class RemoteSigning:
    """The patient signs the consent with their intake (where the clinic allows it): what they
    typed and ticked, the digest of the text they read, and how they reached the page."""

    clinic: Clinic
    link_id: int
    channel: str
    typed_name: str
    confirmed: bool
    text_digest: str
    formulation_version: object = None


def intake_questions(*, patient: Patient) -> list[tuple[str, str]]:
    """The screening questions of the rule table, asked of this patient, each once."""
    return questions_for(patient=patient)


def intake_submit(
    *,
    patient: Patient,
    answers: dict[str, bool],
    medical_history: str,
    allergies: str,
    medications: str,
    contact: dict,
    consents_read: list[int],
    on_date: date,
    now: datetime,
    signing: RemoteSigning | None = None,
) -> PatientReport:
    """Store what the patient reported, and the consent they signed with it if they did (both
    or neither). Every question must be answered yes or no."""
    asked = [key for key, _ in intake_questions(patient=patient)]
    missing = [key for key in asked if key not in answers]
    if missing:
        raise PatientRefused("intake", "Please answer every question with yes or no.")
    answers = {key: bool(answers[key]) for key in asked}
    findings = [
        f
        for f in evaluate_screening(patient=patient, answers=answers, on_date=on_date)
        if f.outcome in ATTENTION
    ]
    known = set(ConsentText.objects.filter(pk__in=consents_read).values_list("pk", flat=True))
    with transaction.atomic():
        signature = _sign(patient=patient, signing=signing, now=now) if signing else None
        if signature is not None:
            known |= set(signature.texts.values_list("pk", flat=True))
        report = PatientReport.objects.create(
            patient=patient,
            submitted_at=now,
            answers=answers,
            medical_history=medical_history.strip(),
            allergies=allergies.strip(),
            medications=medications.strip(),
            contact={k: str(v).strip() for k, v in contact.items() if k in CONTACT_KEYS and v},
            consents_read=sorted(known),
            findings=[f.as_dict() for f in findings],
            needs_attention=bool(findings),
        )
    logger.info(
        "Patient report %s submitted (patient %s, attention=%s)",
        report.pk,
        patient.pk,
        report.needs_attention,
    )
    return report


def _sign(*, patient: Patient, signing: RemoteSigning, now: datetime) -> ConsentSignature:
    return consent_sign_remote(
        patient=patient,
        clinic=signing.clinic,
        link_id=signing.link_id,
        channel=signing.channel,
        typed_name=signing.typed_name,
        confirmed=signing.confirmed,
        text_digest=signing.text_digest,
        formulation_version=signing.formulation_version,
        now=now,
    )


def intake_latest(*, patient: Patient) -> PatientReport | None:
    return patient.reports.order_by("-submitted_at", "-pk").first()


def intake_attention(*, patient: Patient) -> PatientReport | None:
    """The latest report the clinician has not reviewed, when it reported something that must be
    seen before the visit (an absolute contraindication or a red flag)."""
    return (
        patient.reports.filter(needs_attention=True, reviewed_at__isnull=True)
        .order_by("-submitted_at", "-pk")
        .first()
    )


def intake_review(*, report: PatientReport, by, now: datetime) -> PatientReport:
    """The clinician has read the report (they still screen the patient themselves)."""
    if not by.has_perm("patients.view_clinical"):
        raise PatientRefused("intake_review", "Only a clinician can review a patient's report.")
    if report.reviewed_at is None:
        PatientReport.objects.filter(pk=report.pk).update(reviewed_at=now, reviewed_by=by)
        report.reviewed_at, report.reviewed_by = now, by
    return report
