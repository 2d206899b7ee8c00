"""Who received a lot, and how much each version was used: reads over the session records."""

import csv
import io
from collections.abc import Iterator

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce

from clinic.spreadsheet import csv_cell
from formulations.models import FormulationVersion, Lot
from sessions.models import RecordLot

RECALL_CSV_HEADER = [
    "record number",
    "patient",
    "session date",
    "clinician",
    "volume (mL)",
    "record",
]


def lot_recipients(*, lot: Lot) -> QuerySet[RecordLot]:
    """Every use of `lot` in a session record, with patient, date, clinician and volume.

    Unsigned records stay on the list: a lot named on a record still being written was most
    likely injected, and a recall that misses a patient is worse than one that calls too many.
    The page and the CSV mark them "unsigned"."""
    return (
        RecordLot.objects.filter(lot=lot)
        .select_related("record__session__patient", "record__clinician")
        .order_by("record__session__starts_at", "pk")
    )


def lot_recipients_csv(*, lot: Lot, zone) -> Iterator[str]:
    """The recall list as CSV lines (streamed): only what is needed to contact and follow up
    the patients, every use of the lot, read from the database in chunks."""
    out = io.StringIO()
    writer = csv.writer(out)

    def line(row) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow(row)
        return out.getvalue()

    yield line(RECALL_CSV_HEADER)
    for use in lot_recipients(lot=lot).iterator(chunk_size=500):
        session = use.record.session
        patient = session.patient
        yield line(
            [
                csv_cell(patient.record_number),
                csv_cell(f"{patient.given_name} {patient.family_name}"),
                session.starts_at.astimezone(zone).date().isoformat(),
                csv_cell(use.record.clinician.display_name),
                str(use.volume_ml),
                "signed" if use.record.signed_at else "unsigned",
            ]
        )


def version_usage() -> QuerySet[FormulationVersion]:
    """Every non-draft version with its number of sessions and patients and first and last use.

    Only signed records count: a record still being written (or abandoned) is not yet a use.
    The totals are kept per version as records are signed (sessions/records/usage.py), so the
    report reads one row per version, however many records the clinic has signed."""
    return (
        FormulationVersion.objects.exclude(status="draft")
        .select_related("formulation")
        .annotate(
            session_count=Coalesce("usage__sessions", 0),
            patient_count=Coalesce("usage__patients", 0),
            first_use=F("usage__first_use"),
            last_use=F("usage__last_use"),
        )
        .order_by("formulation__name", "-number")
    )
