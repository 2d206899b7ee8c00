"""A patient's messaging preferences: which channel may carry a reminder (consent, opt-out,
an address to send to), their time zone and their quiet hours. Read when a reminder row is made
and again when it is sent, so an opt-out in between cancels the row instead of sending it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.models import Clinic
from patients.models import Channel, Patient


def channel_refusal(*, patient: Patient, channel: str, mobile: str | None = None) -> str:
    """Why the patient may not be messaged on `channel` now, or "" when they may. `mobile`: the
    patient's mobile as the text it is stored as, when the caller read it so (the sweep's claim
    loads no phone number); else the patient's own field is read."""
    label = "email" if channel == Channel.EMAIL else "text messages"
    if channel == Channel.EMAIL:
        consent, opt_out, address = (
            patient.email_consent_at,
            patient.email_opt_out_at,
            patient.email,
        )
    else:
        consent, opt_out = patient.sms_consent_at, patient.sms_opt_out_at
        address = patient.mobile if mobile is None else mobile
    if opt_out is not None:
        return f"The patient opted out of {label}."
    if consent is None:
        return f"The patient has not agreed to reminders by {label}."
    # Blank is None or "": a stored mobile is a PhoneNumber, whose truth value would format
    # (and validate) the number just to learn that it is there.
    if address is None or address == "":
        return f"The patient has no {'email address' if channel == Channel.EMAIL else 'mobile'}."
    return ""


def reminder_channel(*, patient: Patient) -> str | None:
    """The preferred channel if it may be used, else the other one if it may, else None."""
    preferred = patient.preferred_channel or Channel.EMAIL
    other = Channel.SMS if preferred == Channel.EMAIL else Channel.EMAIL
    for channel in (preferred, other):
        if not channel_refusal(patient=patient, channel=channel):
            return str(channel)
    return None


def patient_zone(*, patient: Patient, clinic: Clinic) -> ZoneInfo:
    return ZoneInfo(patient.time_zone) if patient.time_zone else clinic.zone


def quiet_hours_end_after(*, patient: Patient, clinic: Clinic, moment: datetime) -> datetime | None:
    """When the patient's quiet hours around `moment` end, or None if `moment` is outside them.

    Worked on the patient's own wall clock, so 08:00 stays 08:00 across a daylight-saving change.
    """
    start, end = patient.quiet_hours_start, patient.quiet_hours_end
    if start == end:
        return None
    local = moment.astimezone(patient_zone(patient=patient, clinic=clinic))
    clock = local.time()
    if start < end:  # a window inside one day, e.g. 13:00–14:00
        inside, end_day = start <= clock < end, local.date()
    else:  # a window across midnight, e.g. 20:00–08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=local.tzinfo)


def send_after_for(
    *, patient: Patient, clinic: Clinic, due_at: datetime, appointment_at: datetime | None
) -> datetime:
    """`due_at`, or the end of the patient's quiet hours when it falls inside them. A reminder
    that would then arrive after its appointment has started goes at its due time instead."""
    ends = quiet_hours_end_after(patient=patient, clinic=clinic, moment=due_at)
    if ends is None:
        return due_at
    if appointment_at is not None and ends >= appointment_at:
        return due_at
    return ends
