"""Correcting clinical records without deleting them: a wrong or obsolete row is voided with a
reason, and its history stays."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied

from clinic.refusals import PatientRefused

from .models import Allergy, Assessment, Medication, Screening

# URL segment -> model; the segment is what a clinician sees in the address bar.
VOIDABLE = {
    "allergies": Allergy,
    "medications": Medication,
    "assessments": Assessment,
    "screenings": Screening,
}


def clinical_record_void(*, record, user, reason: str, now: datetime):
    """Mark a clinical row as entered in error or no longer true; it stays in the history."""
    perm = f"patients.change_{record._meta.model_name}"
    if not user.has_perm(perm):
        raise PermissionDenied("Only a clinician can void a clinical record.")
    if record.voided_at is not None:
        raise PatientRefused("clinical_record_void", "This record is already voided.")
    if not reason.strip():
        raise PatientRefused("clinical_record_void", "Write why the record is voided.")
    record.voided_at = now
    record.void_reason = reason.strip()
    record.save(update_fields=["voided_at", "void_reason"])
    return record


def medication_stop(*, medication: Medication, user, stopped_on: date) -> Medication:
    """Record that the patient stopped a medicine; the bleeding and steroid rules stop firing
    from the day after."""
    if not user.has_perm("patients.change_medication"):
        raise PermissionDenied("Only a clinician can change the medication list.")
    if medication.stopped_on is not None:
        raise PatientRefused("medication_stop", "This medicine is already recorded as stopped.")
    if medication.started_on and stopped_on < medication.started_on:
        raise PatientRefused("medication_stop", "A medicine cannot stop before it started.")
    medication.stopped_on = stopped_on
    medication.save(update_fields=["stopped_on"])
    return medication
