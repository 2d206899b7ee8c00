"""Per-channel opt-out: a patient who replied STOP gets no more texts, whatever they consented
to before, until they reply START (or tell reception they want texts again).

The opt-out is a timestamp on the Patient, whose history (django-simple-history) keeps every
change with its reason. Pending reminders on that channel are cancelled at once, in the same
transaction, so a sweep that runs a second later cannot text them.
"""

from datetime import datetime

import phonenumbers
from django.db import transaction

from patients.models import Channel, Patient
from sessions.models import Reminder, ReminderStatus

# The keywords Twilio itself honours (Advanced Opt-Out defaults), matched on the whole message.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})

_OPT_OUT_FIELD = {Channel.SMS: "sms_opt_out_at", Channel.EMAIL: "email_opt_out_at"}


def inbound_keyword(*, body: str) -> str | None:
    """'stop', 'start' or None for any other reply (which changes nothing)."""
    word = body.strip().strip(".!").upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def _normalised(mobile: str) -> str | None:
    try:
        number = phonenumbers.parse(mobile, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _patients_with_mobile(mobile: str) -> list[Patient]:
    number = _normalised(mobile)
    if number is None:
        return []
    # A family may share one mobile: the STOP speaks for that phone, so for all of them.
    return list(Patient.objects.select_for_update().filter(mobile=number))


def patient_channel_opt_out(*, patient: Patient, channel: str, now: datetime, reason: str) -> int:
    """Opt the patient out of one channel and cancel their pending reminders on it; returns how
    many reminders were cancelled. Opting out twice keeps the first time."""
    field = _OPT_OUT_FIELD[Channel(channel)]
    with transaction.atomic():
        if getattr(patient, field) is None:
            setattr(patient, field, now)
            patient._change_reason = reason
            patient.save(update_fields=[field])
        return Reminder.objects.filter(
            patient=patient, channel=channel, status=ReminderStatus.PENDING
        ).update(
            status=ReminderStatus.CANCELLED,
            last_error=f"Not sent: the patient opted out of {Channel(channel).label}.",
            updated_at=now,
        )


def patient_channel_opt_in(*, patient: Patient, channel: str, reason: str) -> None:
    """Clear the opt-out. Reminders cancelled by it stay cancelled; new ones go out again."""
    field = _OPT_OUT_FIELD[Channel(channel)]
    with transaction.atomic():
        if getattr(patient, field) is not None:
            setattr(patient, field, None)
            patient._change_reason = reason
            patient.save(update_fields=[field])


def patient_sms_opt_out(*, mobile: str, now: datetime) -> int:
    """A STOP from this mobile: every patient with it is opted out of SMS. Returns how many."""
    with transaction.atomic():
        patients = _patients_with_mobile(mobile)
        for patient in patients:
            patient_channel_opt_out(
                patient=patient, channel=Channel.SMS, now=now, reason="Replied STOP by SMS"
            )
    return len(patients)


def patient_sms_opt_in(*, mobile: str, now: datetime) -> int:
    """A START from this mobile: SMS reminders resume for every patient with it."""
    with transaction.atomic():
        patients = _patients_with_mobile(mobile)
        for patient in patients:
            patient_channel_opt_in(
                patient=patient, channel=Channel.SMS, reason="Replied START by SMS"
            )
    return len(patients)


def inbound_sms_apply(*, mobile: str, body: str, now: datetime) -> tuple[str | None, int]:
    """Act on an inbound text: (keyword acted on or None, number of patients changed)."""
    keyword = inbound_keyword(body=body)
    if keyword == "stop":
        return keyword, patient_sms_opt_out(mobile=mobile, now=now)
    if keyword == "start":
        return keyword, patient_sms_opt_in(mobile=mobile, now=now)
    return None, 0
