"""How an appointment time is worded for the patient: in the clinic's zone, where the visit
happens, and in the patient's own zone as well when its clock reads differently, both labelled.
The link page and every message word it the same way."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from clinic.models import Clinic


@dataclass(frozen=True)
class AppointmentTime:
    clinic_local: datetime
    clinic_zone: str
    # None when the patient's clock reads the same as the clinic's (same zone or same offset).
    patient_local: datetime | None
    patient_zone: str


def appointment_time(*, at: datetime, clinic: Clinic, zone: ZoneInfo) -> AppointmentTime:
    clinic_local = at.astimezone(clinic.zone)
    patient_local = at.astimezone(zone)
    same = patient_local.replace(tzinfo=None) == clinic_local.replace(tzinfo=None)
    return AppointmentTime(
        clinic_local=clinic_local,
        clinic_zone=str(clinic.zone),
        patient_local=None if same else patient_local,
        patient_zone=str(zone),
    )


def when_long(time: AppointmentTime) -> str:
    """ "Wednesday 25 November 2026 at 10:00", and when the patient is elsewhere
    "… at 10:00 Europe/London time (05:00 America/New_York time, yours)"."""
    local = time.clinic_local
    text = f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"
    if time.patient_local is None:
        return text
    own = time.patient_local
    day = "" if own.date() == local.date() else f"{own:%A} {own.day} {own:%B} "
    return f"{text} {time.clinic_zone} time ({day}{own:%H:%M} {time.patient_zone} time, yours)"


def when_short(time: AppointmentTime) -> str:
    """The SMS wording: "Wed 25 Nov at 10:00", or "… 10:00 Europe/London time
    (05:00 America/New_York time)"."""
    local = time.clinic_local
    text = f"{local:%a} {local.day} {local:%b} at {local:%H:%M}"
    if time.patient_local is None:
        return text
    own = time.patient_local
    day = "" if own.date() == local.date() else f"{own:%a} {own.day} {own:%b} "
    return f"{text} {time.clinic_zone} time ({day}{own:%H:%M} {time.patient_zone} time)"
