"""Registering patients and keeping their contact data and reminder consent up to date."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet

from .models import Patient

RECORD_NUMBER_PREFIX = "MT"

CONTACT_FIELDS = [
    "given_name",
    "family_name",
    "date_of_birth",
    "sex_at_birth",
    "pronouns",
    "email",
    "mobile",
    "preferred_channel",
    "time_zone",
    # No reminder goes out between these local times (sessions/reminders.py).
    "quiet_hours_start",
    "quiet_hours_end",
    # Address, GP and emergency contact: reception's, none required.
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "gp_name",
    "gp_practice",
    "gp_phone",
    "emergency_contact_name",
    "emergency_contact_relationship",
    "emergency_contact_phone",
]


def patient_possible_duplicates(*, details: dict, exclude_pk: int | None = None) -> QuerySet:
    """Patients already registered who may be the same person: same name (any case) and date of
    birth, or the same mobile. Reception decides: open the existing record or register anyway."""
    same = Q(
        given_name__iexact=details["given_name"].strip(),
        family_name__iexact=details["family_name"].strip(),
        date_of_birth=details["date_of_birth"],
    )
    if details.get("mobile"):
        same |= Q(mobile=details["mobile"])
    return Patient.objects.filter(same).exclude(pk=exclude_pk).order_by("record_number")


def record_number_for(pk: int) -> str:
    return f"{RECORD_NUMBER_PREFIX}{pk:06d}"


@transaction.atomic
def patient_register(
    *, details: dict, email_consent: bool, sms_consent: bool, now: datetime
) -> Patient:
    """Create a patient with the next record number (MT000123).

    The number comes from the row's own primary key, so two receptionists registering at the
    same moment can never get the same number (no read-then-write race on a counter).
    """
    patient = Patient(**{name: details[name] for name in CONTACT_FIELDS if name in details})
    patient.record_number = f"T{uuid.uuid4().hex[:19]}"  # placeholder, unique until replaced
    _apply_consent(patient, email_consent=email_consent, sms_consent=sms_consent, now=now)
    patient.save()
    patient.record_number = record_number_for(patient.pk)
    patient.save(update_fields=["record_number"])
    return patient


def patient_update_contact(
    *, patient: Patient, details: dict, email_consent: bool, sms_consent: bool, now: datetime
) -> Patient:
    """Change demographics, contact data and reminder consent (history keeps the old values)."""
    changed = [name for name in CONTACT_FIELDS if name in details]
    for name in changed:
        setattr(patient, name, details[name])
    changed += _apply_consent(
        patient, email_consent=email_consent, sms_consent=sms_consent, now=now
    )
    patient.save(update_fields=changed)
    return patient


def _apply_consent(patient: Patient, *, email_consent: bool, sms_consent: bool, now) -> list[str]:
    """Stamp consent when given, clear it when withdrawn; otherwise keep the original stamp."""
    changed = []
    for field, given in (("email_consent_at", email_consent), ("sms_consent_at", sms_consent)):
        current = getattr(patient, field)
        if given and current is None:
            setattr(patient, field, now)
            changed.append(field)
        elif not given and current is not None:
            setattr(patient, field, None)
            changed.append(field)
    return changed
