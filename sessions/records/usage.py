"""The usage report's running totals (sessions/models/usage.py): counted as each record is
signed, in the signing transaction, and recounted from the records on demand.

usage_record_signed is called by record_sign (and by whatever else makes a signed record: the
scale generator and the test fixtures recount or call it). usage_recount rebuilds every total
from the signed records and says which had drifted; `manage.py usage_recount` runs it.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, F, Max, Min, Value
from django.db.models.functions import Coalesce, Greatest, Least

from sessions.models import SessionRecord, TreatmentSession, VersionPatient, VersionUsage


def usage_record_signed(*, record: SessionRecord, session: TreatmentSession) -> None:
    """One more signed record: of its version, for the session's patient, at its start.

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


def usage_drift() -> list[int]:
    """The versions whose totals differ from a full recount of the signed records."""
    counted = _counted()
    stored = {
        u.version_id: (u.sessions, u.patients, u.first_use, u.last_use)
        for u in VersionUsage.objects.all()
    }
    empty = (0, 0, None, None)
    return sorted(
        pk
        for pk in counted.keys() | stored.keys()
        if counted.get(pk, empty) != stored.get(pk, empty)
    )


@transaction.atomic
def usage_recount() -> list[int]:
    """Rebuild every total from the signed records; returns the versions that had drifted."""
    drifted = usage_drift()
    VersionPatient.objects.all().delete()
    VersionUsage.objects.all().delete()
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
    return drifted
