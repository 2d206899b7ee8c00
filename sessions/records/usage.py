"""The usage and safety reports' running totals (sessions/models/usage.py): counted as each
record is signed, in the signing transaction, and recounted from the records on demand.

usage_record_signed is called by record_sign (and by whatever else makes a signed record: the
scale generator and the test fixtures recount or call it). usage_recount rebuilds every total
from the signed records and says which had drifted; `manage.py usage_recount` runs it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, F, Max, Min, Value
from django.db.models.functions import Coalesce, Greatest, Least, TruncDate
from django.utils import timezone

from clinic.models import Clinic
from sessions.models import (
    SessionRecord,
    TreatmentSession,
    VersionDay,
    VersionPatient,
    VersionUsage,
)


def _clinic_zone() -> ZoneInfo:
    """The zone whose calendar days the per-day totals count in (the safety report's)."""
    clinic = Clinic.current()
    return clinic.zone if clinic else timezone.get_default_timezone()


def usage_record_signed(*, record: SessionRecord, session: TreatmentSession) -> None:
    """One more signed record: of its version, for the session's patient, at its start, on
    the session's day at the clinic.

    Inside the signing transaction: the patient is locked by the clearance, so a patient's two
    signatures never race for the "new patient" row; the totals row is updated in place (F()),
    so two patients' signatures add up."""
    version_id, starts_at = record.formulation_version_id, session.starts_at
    with transaction.atomic():
        _, new_patient = VersionPatient.objects.get_or_create(
            version_id=version_id, patient_id=session.patient_id
        )
        VersionUsage.objects.get_or_create(version_id=version_id)
        at = Value(starts_at)
        VersionUsage.objects.filter(version_id=version_id).update(
            sessions=F("sessions") + 1,
            patients=F("patients") + (1 if new_patient else 0),
            first_use=Least(Coalesce("first_use", at), at),
            last_use=Greatest(Coalesce("last_use", at), at),
        )
        day = starts_at.astimezone(_clinic_zone()).date()
        VersionDay.objects.get_or_create(version_id=version_id, day=day)
        VersionDay.objects.filter(version_id=version_id, day=day).update(sessions=F("sessions") + 1)


def _counted() -> dict[int, tuple]:
    rows = (
        SessionRecord.objects.filter(signed_at__isnull=False)
        .values("formulation_version")
        .annotate(
            sessions=Count("pk"),
            patients=Count("session__patient", distinct=True),
            first_use=Min("session__starts_at"),
            last_use=Max("session__starts_at"),
        )
        .order_by()
    )
    return {
        r["formulation_version"]: (r["sessions"], r["patients"], r["first_use"], r["last_use"])
        for r in rows
    }


def _counted_days() -> dict[tuple[int, object], int]:
    """(version, day at the clinic) -> signed records."""
    rows = (
        SessionRecord.objects.filter(signed_at__isnull=False)
        .annotate(day=TruncDate("session__starts_at", tzinfo=_clinic_zone()))
        .values("formulation_version", "day")
        .annotate(sessions=Count("pk"))
        .order_by()
    )
    return {(r["formulation_version"], r["day"]): r["sessions"] for r in rows}


def usage_drift() -> list[int]:
    """The versions whose totals differ from a full recount of the signed records."""
    counted = _counted()
    stored = {
        u.version_id: (u.sessions, u.patients, u.first_use, u.last_use)
        for u in VersionUsage.objects.all()
    }
    empty = (0, 0, None, None)
    drifted = {
        pk
        for pk in counted.keys() | stored.keys()
        if counted.get(pk, empty) != stored.get(pk, empty)
    }
    days = _counted_days()
    stored_days = {
        (d.version_id, d.day): d.sessions for d in VersionDay.objects.exclude(sessions=0)
    }
    drifted |= {
        key[0] for key in days.keys() | stored_days.keys() if days.get(key) != stored_days.get(key)
    }
    return sorted(drifted)


@transaction.atomic
def usage_recount() -> list[int]:
    """Rebuild every total from the signed records; returns the versions that had drifted."""
    drifted = usage_drift()
    VersionPatient.objects.all().delete()
    VersionUsage.objects.all().delete()
    VersionDay.objects.all().delete()
    pairs = (
        SessionRecord.objects.filter(signed_at__isnull=False)
        .values_list("formulation_version", "session__patient")
        .distinct()
        .order_by()
    )
    VersionPatient.objects.bulk_create(
        (VersionPatient(version_id=v, patient_id=p) for v, p in pairs.iterator()), batch_size=2000
    )
    VersionUsage.objects.bulk_create(
        VersionUsage(version_id=pk, sessions=s, patients=n, first_use=first, last_use=last)
        for pk, (s, n, first, last) in _counted().items()
    )
    VersionDay.objects.bulk_create(
        (VersionDay(version_id=v, day=day, sessions=n) for (v, day), n in _counted_days().items()),
        batch_size=2000,
    )
    return drifted
