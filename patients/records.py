"""The rows of a patient's clinical file — allergies, medications, assessments — recorded by a
clinician, and corrected without deleting them: a wrong or obsolete row is voided with a reason,
and its history stays. Screening has its own module (screening.py)."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction

from clinic.refusals import PatientRefused

from .models import Allergy, Assessment, Medication, Patient, Screening

# URL segment -> model; the segment is what a clinician sees in the address bar.
VOIDABLE = {
    "allergies": Allergy,
    "medications": Medication,
    "assessments": Assessment,
    "screenings": Screening,
}


@transaction.atomic
def _clinical_row_record(row, *, patient, by, author_field: str):
    if not by.has_perm(f"patients.add_{row._meta.model_name}"):
        raise PermissionDenied(f"Only a clinician can record {row._meta.verbose_name_plural}.")
    # A signature checks the clearance with the patient locked: an allergy recorded meanwhile
    # waits for it, or is seen by it.
    Patient.objects.select_for_update().get(pk=patient.pk)
    row.patient = patient
    setattr(row, author_field, by)
    row.full_clean()
    row.save()
    return row


def allergy_record(*, patient, allergy: Allergy, by) -> Allergy:
    """A known allergy or hypersensitivity; from now on the clearance checks every version's
    ingredients and categories against it."""
    return _clinical_row_record(allergy, patient=patient, by=by, author_field="recorded_by")


def medication_record(*, patient, medication: Medication, by) -> Medication:
    """A medicine the patient takes; the bleeding and steroid rules read it."""
    return _clinical_row_record(medication, patient=patient, by=by, author_field="recorded_by")


def assessment_record(*, patient, assessment: Assessment, by) -> Assessment:
    """A consultation's diagnosis and severity scale, by the clinician who made it."""
    return _clinical_row_record(assessment, patient=patient, by=by, author_field="clinician")


def clinical_record_void(*, record, by, reason: str, now: datetime):
    """Mark a clinical row as entered in error or no longer true; it stays in the history."""
    perm = f"patients.change_{record._meta.model_name}"
    if not by.has_perm(perm):
        raise PermissionDenied("Only a clinician can void a clinical record.")
    if record.voided_at is not None:
        raise PatientRefused("clinical_record_void", "This record is already voided.")
    if not reason.strip():
        raise PatientRefused("clinical_record_void", "Write why the record is voided.")
    record.voided_at = now
    record.void_reason = reason.strip()
    record.save(update_fields=["voided_at", "void_reason"])
    return record


def medication_stop(*, medication: Medication, by, stopped_on: date) -> Medication:
    """Record that the patient stopped a medicine; the bleeding and steroid rules stop firing
    from the day after."""
    if not by.has_perm("patients.change_medication"):
        raise PermissionDenied("Only a clinician can change the medication list.")
    if medication.stopped_on is not None:
        raise PatientRefused("medication_stop", "This medicine is already recorded as stopped.")
    if medication.started_on and stopped_on < medication.started_on:
        raise PatientRefused("medication_stop", "A medicine cannot stop before it started.")
    medication.stopped_on = stopped_on
    medication.save(update_fields=["stopped_on"])
    return medication
