"""Erasure that respects medical-record retention (DOMAIN.md "Keeping and giving back records").

A patient's erasure request never deletes the record. Inside the clinic's retention period (default
8 years after the last treatment) GDPR Art. 17(3)(c) lets the clinic keep health records needed
for care and public health: processing is restricted instead (no reminders, no marketing, contact
details cut to what a safety recall needs) and the request records why the record is kept. After
the period, two clinic admins anonymise the patient: identity and contact go, a study id stays,
and the signed clinical content stays, so the safety statistics still count it.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from clinic.models import Clinic
from clinic.refusals import ExchangeRefused
from patients.models import (
    Channel,
    ErasureRequest,
    ErasureStatus,
    Patient,
    PatientCopy,
    PatientReport,
)
from sessions.booking.maintenance import add_months
from sessions.models import (
    OnlineBooking,
    PatientLink,
    Reminder,
    ReminderStatus,
    SessionRecord,
    SessionStatus,
    TreatmentSession,
)
from sessions.outreach.sweep import RESTRICTED_REASON

OPEN = (ErasureStatus.RESTRICTED, ErasureStatus.AWAITING_CONFIRMATION)
CANCELLED = (SessionStatus.CANCELLED_BY_PATIENT, SessionStatus.CANCELLED_BY_CLINIC)


def last_treatment_on(*, patient: Patient, clinic: Clinic, now: datetime) -> date:
    """The date retention counts from: the last signed treatment, else the last appointment
    that took place, else the day the patient was registered."""
    signed = SessionRecord.objects.filter(
        session__patient=patient, signed_at__isnull=False
    ).aggregate(last=Max("session__starts_at"))["last"]
    if signed is None:
        signed = (
            TreatmentSession.objects.filter(patient=patient, starts_at__lte=now)
            .exclude(status__in=CANCELLED)
            .aggregate(last=Max("starts_at"))["last"]
        )
    return (signed or patient.created_at).astimezone(clinic.zone).date()


def retention_ends_on(*, patient: Patient, clinic: Clinic, now: datetime) -> date:
    last = last_treatment_on(patient=patient, clinic=clinic, now=now)
    return add_months(last, clinic.retention_years * 12)


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _why_kept(*, ends_on: date, clinic: Clinic, today: date) -> str:
    if today < ends_on:
        return (
            f"Your medical record is kept until {_day(ends_on)}: {clinic.retention_years} "
            "years after your last treatment, the retention period for medical records. The law "
            "allows a clinic to keep health records it needs for your care and for public health "
            "(GDPR Art. 17(3)(c)). Until then it is used for nothing else: no reminders, no "
            "marketing, and only the contact detail we would need to warn you about a product "
            "recall. After that date the record is anonymised, not deleted."
        )
    return (
        f"The retention period ended on {_day(ends_on)}. Your identity and contact details "
        "will be removed (anonymised); the signed clinical content is kept without your name "
        "for safety statistics. Until then your record is used for nothing else."
    )


def erasure_request_record(
    *, patient: Patient, clinic: Clinic, by, how_received: str, now: datetime
) -> ErasureRequest:
    """Record the request and restrict processing at once, whatever the retention says."""
    with transaction.atomic(durable=True):
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        if patient.anonymised_at is not None:
            raise ExchangeRefused("already_anonymised", "This patient is already anonymised.")
        if ErasureRequest.objects.filter(patient=patient, status__in=OPEN).exists():
            raise ExchangeRefused(
                "erasure_open", "An erasure request for this patient is already open."
            )
        if not how_received.strip():
            raise ExchangeRefused("how_received", "Say how the request reached the clinic.")
        ends_on = retention_ends_on(patient=patient, clinic=clinic, now=now)
        today = timezone.localdate(now, timezone=clinic.zone)
        request = ErasureRequest.objects.create(
            patient=patient,
            received_at=now,
            received_by=by,
            how_received=how_received.strip(),
            retention_ends_on=ends_on,
            why_kept=_why_kept(ends_on=ends_on, clinic=clinic, today=today),
        )
        patient_restrict(patient=patient, now=now)
    return request


def patient_restrict(*, patient: Patient, now: datetime) -> Patient:
    """Restrict processing: no consent to messages, pending reminders cancelled, and only the
    preferred contact kept (a safety recall must still reach the patient)."""
    patient.processing_restricted_at = now
    patient.email_consent_at = None
    patient.sms_consent_at = None
    if patient.preferred_channel == Channel.EMAIL and patient.email:
        patient.mobile = ""
    elif patient.preferred_channel == Channel.SMS and patient.mobile:
        patient.email = ""
    patient._change_reason = "Erasure request: processing restricted"
    patient.save(
        update_fields=[
            "processing_restricted_at",
            "email_consent_at",
            "sms_consent_at",
            "email",
            "mobile",
        ]
    )
    Reminder.objects.filter(patient=patient, status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED, last_error=RESTRICTED_REASON, updated_at=now
    )
    return patient


def anonymisation_propose(
    *, request: ErasureRequest, clinic: Clinic, by, now: datetime
) -> ErasureRequest:
    """The first clinic admin proposes anonymisation; only after retention has ended."""
    with transaction.atomic(durable=True):
        request = ErasureRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != ErasureStatus.RESTRICTED:
            raise ExchangeRefused(
                "not_restricted", "Anonymisation is already proposed or done for this request."
            )
        ends_on = retention_ends_on(patient=request.patient, clinic=clinic, now=now)
        today = timezone.localdate(now, timezone=clinic.zone)
        if today < ends_on:
            raise ExchangeRefused(
                "inside_retention",
                f"The record must be kept until {_day(ends_on)} (the clinic keeps medical "
                f"records {clinic.retention_years} years after the last treatment). Processing "
                "stays restricted until then.",
            )
        request.status = ErasureStatus.AWAITING_CONFIRMATION
        request.anonymise_requested_by = by
        request.anonymise_requested_at = now
        request._change_reason = "Anonymisation proposed"
        request.save(update_fields=["status", "anonymise_requested_by", "anonymise_requested_at"])
    return request


def anonymisation_confirm(*, request: ErasureRequest, by, now: datetime) -> ErasureRequest:
    """A second clinic admin confirms: the patient is anonymised in the same transaction."""
    with transaction.atomic(durable=True):
        request = ErasureRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != ErasureStatus.AWAITING_CONFIRMATION:
            raise ExchangeRefused(
                "not_proposed", "Anonymisation must first be proposed by a clinic admin."
            )
        if request.anonymise_requested_by_id == by.pk:
            raise ExchangeRefused(
                "two_person",
                "A second clinic admin must confirm: you proposed this anonymisation.",
            )
        patient_anonymise(patient=request.patient, now=now)
        request.status = ErasureStatus.ANONYMISED
        request.anonymise_confirmed_by = by
        request.anonymised_at = now
        request._change_reason = "Anonymisation confirmed; patient anonymised"
        request.save(update_fields=["status", "anonymise_confirmed_by", "anonymised_at"])
    return request


def _new_study_id() -> str:
    while True:
        study_id = f"S-{secrets.token_hex(5).upper()}"
        if not Patient.objects.filter(study_id=study_id).exists():
            return study_id


ANONYMISED_FIELDS = {
    "given_name": "",
    "family_name": "",
    "pronouns": "",
    "email": "",
    "mobile": "",
    "time_zone": "",
    "address_line1": "",
    "address_line2": "",
    "town": "",
    "postcode": "",
    "gp_name": "",
    "gp_practice": "",
    "gp_phone": "",
    "emergency_contact_name": "",
    "emergency_contact_relationship": "",
    "emergency_contact_phone": "",
}


def _self_reported_anonymise(*, patient: Patient) -> None:
    """Called before the patient row loses its contact: an online booking never verified has no
    patient yet, and is found by the birth date and the contact it was made with."""
    unverified = Q()
    if patient.email:
        unverified |= Q(email__iexact=patient.email)
    if patient.mobile:
        unverified |= Q(mobile=patient.mobile)
    bookings = Q(patient=patient)
    if unverified:
        bookings |= Q(patient__isnull=True, date_of_birth=patient.date_of_birth) & unverified
    OnlineBooking.objects.filter(bookings).update(
        given_name="",
        family_name="",
        email="",
        mobile="",
        date_of_birth=date(patient.date_of_birth.year, 1, 1),
    )
    PatientReport.objects.filter(patient=patient).update(
        medical_history="", allergies="", medications="", contact={}
    )


def patient_anonymise(*, patient: Patient, now: datetime) -> Patient:
    """Identity and contact removed, in the row and in its change history; the year of birth
    and sex stay (age bands in statistics), a random study id replaces the record number.
    Links die and copies lose their files. What the patient typed themselves goes too: their
    online bookings' name, contact and birth date, and the free text and contact details of
    their intake reports (the yes/no answers stay, as screening data without a name). Signed
    clinical rows are untouched."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    _self_reported_anonymise(patient=patient)
    study_id = _new_study_id()
    values = {
        **ANONYMISED_FIELDS,
        "record_number": study_id,
        "date_of_birth": date(patient.date_of_birth.year, 1, 1),
    }
    for field, value in values.items():
        setattr(patient, field, value)
    patient.study_id = study_id
    patient.anonymised_at = now
    patient.processing_restricted_at = patient.processing_restricted_at or now
    patient._change_reason = "Anonymised after the retention period (two clinic admins)"
    patient.save()
    # The change history holds every earlier name and number: it is anonymised too.
    Patient.history.model.objects.filter(id=patient.pk).update(**values, study_id=study_id)
    PatientLink.objects.filter(patient=patient, revoked_at__isnull=True).update(revoked_at=now)
    copies = PatientCopy.objects.filter(patient=patient, files_removed_at__isnull=True)
    copies.update(revoked_at=now, expires_at=now)
    Reminder.objects.filter(patient=patient, status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED, last_error=RESTRICTED_REASON, updated_at=now
    )
    return patient
