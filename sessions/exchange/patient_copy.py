"""A patient's own copy of their record (GDPR Art. 15; DOMAIN.md "Keeping and giving back records"):
every formulation version, ingredient and strength injected, the lots, the doses, outcomes,
adverse events and consents as signed, as a readable HTML page and a PDF, plus the FHIR Bundle.

Staff produce a copy on request; it is frozen when made (files in private storage). The patient
reaches it through a signed link that expires (practice default 7 days); staff may download it.
Every request and every delivery is a row, so the clinic can show when and how it answered.
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from clinic.models import Clinic
from clinic.refusals import ExchangeRefused
from formulations.models import FormulationVersion, Lot
from formulations.units import IngredientDose, strength_in_words
from patients.models import CopyChannel, Medication, Patient, PatientCopy, PatientCopyDelivery
from sessions.records.doses import patient_cumulative_doses
from sessions.records.records import record_doses, record_total_volume

from .bundle import PatientRecord, patient_everything, patient_record

try:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher
except OSError:  # WeasyPrint loads the system's Pango at import; without it the rest still runs
    HTML = URLFetcher = None

PDF_RENDERER_MISSING = (
    "This server cannot make PDFs yet: WeasyPrint needs the system's Pango library "
    "(apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core). Ask whoever runs the "
    "server; nothing was recorded."
)

COPY_DIR = "patient-copies"
FORMATS = {
    "html": ("html_file", "text/html; charset=utf-8", "record.html"),
    "pdf": ("pdf_file", "application/pdf", "record.pdf"),
    "fhir": ("fhir_file", "application/fhir+json", "record.fhir.json"),
}
_SEP = "~"


class PatientCopyInvalid(Exception):
    """A copy link that cannot be used; the message never names the patient."""

    def __init__(self, message: str, *, gone: bool):
        super().__init__(message)
        self.message = message
        self.gone = gone  # we issued it and it ended (410), as opposed to never issued (404)


@dataclass
class VersionInjected:
    version: FormulationVersion
    strengths: list[tuple[str, str]]  # (ingredient, strength in words)
    lots: list[Lot]


@dataclass
class SessionDose:
    record: object  # SessionRecord
    volume_ml: Decimal
    doses: list[IngredientDose]
    lots: list


def _versions_injected(record: PatientRecord) -> list[VersionInjected]:
    versions: dict[int, VersionInjected] = {}
    for signed in record.records:
        version = signed.formulation_version
        entry = versions.get(version.pk)
        if entry is None:
            entry = versions[version.pk] = VersionInjected(
                version=version,
                strengths=[
                    (
                        line.ingredient.name,
                        strength_in_words(
                            amount=line.amount, unit=line.unit, per_volume_ml=line.per_volume_ml
                        ),
                    )
                    for line in version.lines.select_related("ingredient")
                ],
                lots=[],
            )
        for use in signed.lots_used.all():
            if use.lot not in entry.lots:
                entry.lots.append(use.lot)
    return list(versions.values())


def patient_copy_context(*, patient: Patient, clinic: Clinic | None, now: datetime) -> dict:
    """Everything the readable copy shows."""
    record = patient_record(patient=patient, clinic=clinic)
    sessions = [
        SessionDose(
            record=signed,
            volume_ml=record_total_volume(record=signed),
            doses=record_doses(record=signed),
            lots=list(signed.lots_used.all()),
        )
        for signed in record.records
    ]
    return {
        "patient": record.patient,
        "clinic": clinic,
        "made_at": now,
        "record": record,
        "versions": _versions_injected(record),
        "session_doses": sessions,
        "cumulative_doses": patient_cumulative_doses(patient=patient),
        "medicines": Medication.objects.filter(patient=patient).current().order_by("pk"),
    }


def patient_copy_render(*, context: dict) -> tuple[str, bytes]:
    html = render_to_string("exchange/patient_copy.html", context)
    if HTML is None:
        raise ExchangeRefused("pdf_renderer", PDF_RENDERER_MISSING)
    # Nothing is fetched: no web fonts, no remote images (the copy must not depend on, or leak
    # to, anything outside the clinic). Fonts are the system's, through fontconfig.
    pdf = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()
    return html, pdf


def _directory(copy: PatientCopy) -> Path:
    return Path(settings.MEDIA_ROOT) / COPY_DIR / copy.public_id


def patient_copy_make(
    *, patient: Patient, clinic: Clinic | None, by, how_requested: str, base_url: str, now
) -> PatientCopy:
    """Record the request and write the three files. The files are written before the row
    commits; a failure leaves no row pointing at missing files."""
    lifetime = timedelta(days=clinic.patient_copy_link_days if clinic else 7)
    html, pdf = patient_copy_render(
        context=patient_copy_context(patient=patient, clinic=clinic, now=now)
    )
    bundle = patient_everything(patient=patient, clinic=clinic, base_url=base_url, now=now)
    with transaction.atomic(durable=True):
        copy = PatientCopy(
            public_id=secrets.token_urlsafe(9),
            nonce=secrets.token_urlsafe(9),
            patient=patient,
            requested_at=now,
            requested_by=by,
            how_requested=how_requested.strip(),
            expires_at=now + lifetime,
        )
        directory = _directory(copy)
        directory.mkdir(parents=True, exist_ok=True)
        contents = {
            "html": html.encode("utf-8"),
            "pdf": pdf,
            "fhir": json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8"),
        }
        for fmt, (field, _, name) in FORMATS.items():
            (directory / name).write_bytes(contents[fmt])
            setattr(copy, field, f"{COPY_DIR}/{copy.public_id}/{name}")
        copy.save()
    return copy


def _signer() -> signing.Signer:
    return signing.Signer(salt="mesotrack.patient-copy", sep=_SEP)


def patient_copy_url(*, copy: PatientCopy) -> str:
    token = _signer().sign(f"{copy.public_id}.{copy.nonce}")
    return settings.SITE_URL.rstrip("/") + reverse("patient_copy", kwargs={"token": token})


def patient_copy_resolve(*, token: str, now: datetime) -> PatientCopy:
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        raise PatientCopyInvalid("This link is not one the clinic sent.", gone=False) from None
    public_id, _, nonce = value.partition(".")
    copy = PatientCopy.objects.select_related("patient").filter(public_id=public_id).first()
    if copy is None or not secrets.compare_digest(copy.nonce, nonce):
        raise PatientCopyInvalid("This link is not one the clinic sent.", gone=False)
    if copy.revoked_at is not None or copy.files_removed_at is not None or now >= copy.expires_at:
        raise PatientCopyInvalid(
            "This link has expired. Please ask the clinic for a new copy of your record.",
            gone=True,
        )
    return copy


def patient_copy_file(
    *, copy: PatientCopy, fmt: str, channel: str, by, now: datetime
) -> tuple[Path, str, str]:
    """The file of one format, logging its delivery: (path, content type, download name)."""
    field, content_type, name = FORMATS[fmt]
    path = Path(settings.MEDIA_ROOT) / getattr(copy, field)
    if copy.files_removed_at is not None or not path.is_file():
        raise PatientCopyInvalid(
            "The files of this copy were removed when its link expired. Make a new copy.",
            gone=True,
        )
    PatientCopyDelivery.objects.create(
        patient_copy=copy,
        channel=channel,
        file_format=fmt,
        delivered_at=now,
        by=by if channel == CopyChannel.STAFF_DOWNLOAD else None,
    )
    return path, content_type, f"{copy.patient.study_id or copy.patient.record_number}-{name}"


def patient_copies_remove_expired(*, now: datetime) -> int:
    """Delete the files of copies whose link has expired; the rows stay as the request log."""
    removed = 0
    for copy in PatientCopy.objects.filter(expires_at__lte=now, files_removed_at__isnull=True):
        shutil.rmtree(_directory(copy), ignore_errors=True)
        PatientCopy.objects.filter(pk=copy.pk).update(files_removed_at=now)
        removed += 1
    return removed
