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


def _worded(time: AppointmentTime, *, day: str, yours: str) -> str:
    """The clinic's time with `day` as its date format, then the patient's own in brackets.
    `{d}` in `day` is the day of the month without a leading zero (strftime's %-d is not
    portable); the patient's own date drops the year."""
    local = time.clinic_local
    text = f"{local.strftime(day).replace('{d}', str(local.day))} at {local:%H:%M}"
    if time.patient_local is None:
        return text
    own = time.patient_local
    own_day = own.strftime(day.replace(" %Y", "")).replace("{d}", str(own.day))
    own_day = "" if own.date() == local.date() else f"{own_day} "
    return f"{text} {time.clinic_zone} time ({own_day}{own:%H:%M} {time.patient_zone} time{yours})"


def when_long(time: AppointmentTime) -> str:
    """ "Wednesday 25 November 2026 at 10:00", and when the patient is elsewhere
    "… at 10:00 Europe/London time (05:00 America/New_York time, yours)"."""
    return _worded(time, day="%A {d} %B %Y", yours=", yours")


def when_short(time: AppointmentTime) -> str:
    """The SMS wording: "Wed 25 Nov at 10:00", or "… 10:00 Europe/London time
    (05:00 America/New_York time)"."""
    return _worded(time, day="%a {d} %b", yours="")
