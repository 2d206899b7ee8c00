"""Outcome measurements and clinical photos (DOMAIN.md "Outcome measures"): the first live
measurement of a zone is its baseline, and progress is the change from that baseline at the
same zone. Photos need the patient's photography consent, lose their EXIF data on upload and
are stored where no public URL reaches them."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from clinic.refusals import PatientRefused

from .models import (
    VIEW_ZONES,
    ClinicalPhoto,
    ConsentKind,
    ConsentSignature,
    OutcomeMeasurement,
    Patient,
    PhotoView,
    ScalpZone,
)

MEASURES = (
    "density_per_cm2",
    "shaft_diameter_um",
    "terminal_vellus_ratio",
    "anagen_percent",
    "pull_test_hairs",
    "global_assessment",
    "self_assessment",
)

# (lowest, highest, why) for each measure. The scales' ends come from DOMAIN.md; the upper
# bounds of density and diameter are plausibility checks against typing errors (practice
# default: scalp density rarely exceeds 300 hairs/cm², terminal hair is under 150 µm thick).
RANGES = {
    "density_per_cm2": (Decimal(0), Decimal(1000), "Density is in hairs/cm², from 0 to 1000."),
    "shaft_diameter_um": (Decimal(1), Decimal(300), "Shaft diameter is in µm, from 1 to 300."),
    "terminal_vellus_ratio": (
        Decimal(0),
        Decimal(999),
        "The terminal:vellus ratio is a number from 0 to 999.",
    ),
    "anagen_percent": (Decimal(0), Decimal(100), "Anagen is a percentage from 0 to 100."),
    # A pull test takes about 50 hairs between the fingers; more than 60 out is a typing error.
    "pull_test_hairs": (0, 60, "A pull test counts the hairs out of about 50 pulled: 0 to 60."),
    "global_assessment": (-3, 3, "The global photographic assessment runs from −3 to +3."),
    "self_assessment": (-3, 3, "The patient's self-assessment runs from −3 to +3."),
}

# DOMAIN.md: a pull test is positive when more than 10 % of about 50 hairs come out.
PULL_TEST_POSITIVE_ABOVE = 5

# Photos: a phone's full-resolution JPEG is 3–8 MB; 10 MB leaves room (practice default).
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_JPEG_QUALITY = 90
# A 150-megapixel PNG of a few hundred KB decodes to gigabytes: refuse pictures over 40
# megapixels (the largest phone sensors give about 50 only in a special mode; practice default)
# before decoding, and store at most 2560 pixels on the long side, which keeps hair-density
# detail and a photo near 1 MB (practice default).
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_MAX_SIDE = 2560


def pull_test_positive(hairs: int | None) -> bool | None:
    return None if hairs is None else hairs > PULL_TEST_POSITIVE_ABOVE


def _rebaseline(*, patient: Patient, zone: str) -> None:
    """Make the earliest live measurement of the zone its baseline, and only that one."""
    live = list(
        OutcomeMeasurement.objects.select_for_update()
        .filter(patient=patient, zone=zone, voided_at__isnull=True)
        .order_by("measured_on", "pk")
    )
    first = live[0] if live else None
    # Clear before set: the database allows one live baseline per zone at any moment.
    for row in live:
        if row.is_baseline and row is not first:
            row.is_baseline = False
            row.save(update_fields=["is_baseline"])
    if first is not None and not first.is_baseline:
        first.is_baseline = True
        first.save(update_fields=["is_baseline"])


@transaction.atomic
def outcome_record(
    *,
    patient: Patient,
    by,
    zone: str,
    measured_on: date,
    now: datetime,
    session=None,
    notes: str = "",
    **measures,
) -> OutcomeMeasurement:
    """Record one zone's measurements on one day; the zone's first live one is its baseline."""
    if not by.has_perm("patients.add_outcomemeasurement"):
        raise PermissionDenied("Only a clinician can record outcome measurements.")
    unknown = set(measures) - set(MEASURES)
    if unknown:
        raise TypeError(f"Unknown measures: {sorted(unknown)}")
    values = {name: measures.get(name) for name in MEASURES}
    if all(value is None for value in values.values()):
        raise PatientRefused("outcome_record", "Fill in at least one measurement.")
    errors = {}
    for name, value in values.items():
        low, high, message = RANGES[name]
        if value is not None and not low <= value <= high:
            errors[name] = message
    if zone not in ScalpZone.values:
        errors["zone"] = "Choose a scalp zone."
    if measured_on > timezone.localdate(now):
        errors["measured_on"] = "A measurement cannot be dated in the future."
    if session is not None and session.patient_id != patient.pk:
        errors["session"] = "That session belongs to another patient."
    if errors:
        raise PatientRefused("outcome_record", errors)
    measurement = OutcomeMeasurement(
        patient=patient,
        zone=zone,
        measured_on=measured_on,
        session=session,
        notes=notes.strip(),
        recorded_by=by,
        **values,
    )
    measurement.full_clean()
    measurement.save()
    _rebaseline(patient=patient, zone=zone)
    measurement.refresh_from_db(fields=["is_baseline"])
    return measurement


@transaction.atomic
def outcome_void(
    *, measurement: OutcomeMeasurement, by, reason: str, now: datetime
) -> OutcomeMeasurement:
    """Void a measurement entered in error; if it was the baseline, the next one takes over."""
    if not by.has_perm("patients.change_outcomemeasurement"):
        raise PermissionDenied("Only a clinician can void an outcome measurement.")
    measurement = OutcomeMeasurement.objects.select_for_update().get(pk=measurement.pk)
    if measurement.voided_at is not None:
        raise PatientRefused("outcome_void", "This measurement is already voided.")
    if not reason.strip():
        raise PatientRefused("outcome_void", "Write why the measurement is voided.", field="reason")
    measurement.voided_at = now
    measurement.void_reason = reason.strip()
    measurement.is_baseline = False
    measurement.save(update_fields=["voided_at", "void_reason", "is_baseline"])
    _rebaseline(patient=measurement.patient, zone=measurement.zone)
    return measurement


@dataclass
class ZoneProgress:
    zone: str
    label: str
    baseline: OutcomeMeasurement | None
    measurements: list[OutcomeMeasurement] = field(default_factory=list)
    # (date, change from baseline) per measure that the zone has.
    density: list[tuple[date, Decimal]] = field(default_factory=list)
    shaft_diameter: list[tuple[date, Decimal]] = field(default_factory=list)


def _changes(rows: list[OutcomeMeasurement], attr: str, baseline) -> list[tuple[date, Decimal]]:
    """(date, change) for every row measuring `attr`; each row also gets `<attr>_change`."""
    with_value = [row for row in rows if getattr(row, attr) is not None]
    for row in rows:
        setattr(row, f"{attr}_change", None)
    if not with_value:
        return []
    # Change from the baseline row when it measured this; otherwise from the zone's first
    # measurement that did (a baseline visit may have recorded only a photo assessment).
    start = baseline if baseline and getattr(baseline, attr) is not None else with_value[0]
    reference = getattr(start, attr)
    changes = []
    for row in with_value:
        if (row.measured_on, row.pk) < (start.measured_on, start.pk):
            continue
        change = getattr(row, attr) - reference
        setattr(row, f"{attr}_change", change)
        changes.append((row.measured_on, change))
    return changes


def progress_by_zone(*, patient: Patient) -> list[ZoneProgress]:
    """Each measured zone (in scalp order) with its live measurements and change from baseline.
    One query."""
    rows = list(
        OutcomeMeasurement.objects.current().filter(patient=patient).order_by("measured_on", "pk")
    )
    by_zone: dict[str, list[OutcomeMeasurement]] = {}
    for row in rows:
        by_zone.setdefault(row.zone, []).append(row)
    result = []
    for zone in ScalpZone:
        zone_rows = by_zone.get(zone.value)
        if not zone_rows:
            continue
        baseline = next((row for row in zone_rows if row.is_baseline), None)
        result.append(
            ZoneProgress(
                zone=zone.value,
                label=zone.label,
                baseline=baseline,
                measurements=zone_rows,
                density=_changes(zone_rows, "density_per_cm2", baseline),
                shaft_diameter=_changes(zone_rows, "shaft_diameter_um", baseline),
            )
        )
    return result


# Photos --------------------------------------------------------------------------------------


def photography_consent(*, patient: Patient, at: datetime) -> ConsentSignature | None:
    """The patient's latest signed consent that includes the clinical photography text and was
    not withdrawn."""
    return (
        ConsentSignature.objects.filter(
            patient=patient,
            texts__kind=ConsentKind.PHOTOGRAPHY,
            signed_at__lte=at,
            withdrawal__isnull=True,
        )
        .order_by("-signed_at", "-pk")
        .first()
    )


def _reencoded_jpeg(upload) -> bytes:
    """The picture re-encoded as a plain JPEG: pixels only, no EXIF (camera, GPS, time)."""
    not_a_picture = PatientRefused(
        "photo_add",
        "This file is not a picture Mesotrack can read: upload a JPEG or PNG photo.",
        field="upload",
    )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            # The header gives the size without decoding a single pixel.
            width, height = probe.size
            if width * height > PHOTO_MAX_PIXELS:
                raise PatientRefused(
                    "photo_pixels",
                    f"This picture is {width} × {height} pixels "
                    f"({width * height / 1e6:.0f} megapixels); Mesotrack accepts up to "
                    f"{PHOTO_MAX_PIXELS // 1_000_000}. Send a smaller photo.",
                    field="upload",
                )
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            # A JPEG can be decoded at a fraction of its size straight away.
            image.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            # Turn the pixels the way the camera's orientation tag says before the tag goes.
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
            rgb.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE), Image.Resampling.LANCZOS)
    except Image.DecompressionBombError:
        # Pillow's own guard, for pictures far beyond PHOTO_MAX_PIXELS.
        raise PatientRefused(
            "photo_pixels",
            "This picture has far too many pixels to be a photo: send a smaller one.",
            field="upload",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise not_a_picture from None
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=PHOTO_JPEG_QUALITY, optimize=True)
    return out.getvalue()


@transaction.atomic
def photo_add(
    *,
    patient: Patient,
    taken_on: date,
    upload,
    by,
    now: datetime,
    view: str = "",
    zone: str = "",
    session=None,
) -> ClinicalPhoto:
    """Store a standardised photo, EXIF stripped, under the photography consent. A photo of a
    protocol view (vertex, a temple, ...) is filed under the zone that view shows."""
    if not by.has_perm("patients.add_clinicalphoto"):
        raise PermissionDenied("Only a clinician can add clinical photos.")
    consent = photography_consent(patient=patient, at=now)
    if consent is None:
        raise PatientRefused(
            "photo_add",
            "The patient has not signed the clinical photography consent, so no photo can be "
            "stored. Have them sign it on the consent page first.",
        )
    if view:
        if view not in PhotoView.values:
            raise PatientRefused(
                "photo_add", "Choose one of the standard photo views.", field="view"
            )
        if zone and zone != VIEW_ZONES[view]:
            raise PatientRefused(
                "photo_add",
                f"A {PhotoView(view).label.lower()} photo shows another zone.",
                field="view",
            )
        zone = VIEW_ZONES[view]
    if zone not in ScalpZone.values:
        raise PatientRefused("photo_add", "Choose a scalp zone.", field="zone")
    if taken_on > timezone.localdate(now):
        raise PatientRefused(
            "photo_add", "A photo cannot be dated in the future.", field="taken_on"
        )
    if session is not None and session.patient_id != patient.pk:
        raise PatientRefused(
            "photo_add", "That session belongs to another patient.", field="session"
        )
    if upload.size > PHOTO_MAX_BYTES:
        raise PatientRefused(
            "photo_add", "The photo is larger than 10 MB: send a smaller one.", field="upload"
        )
    content = _reencoded_jpeg(upload)
    photo = ClinicalPhoto(
        patient=patient,
        zone=zone,
        view=view,
        taken_on=taken_on,
        session=session,
        consent=consent,
        uploaded_by=by,
    )
    photo.image.save("photo.jpg", ContentFile(content), save=False)
    photo.save()
    return photo


@transaction.atomic
def photo_void(*, photo: ClinicalPhoto, by, reason: str, now: datetime) -> ClinicalPhoto:
    """Withdraw a photo from the record (wrong zone, wrong patient); the file is kept."""
    if not by.has_perm("patients.change_clinicalphoto"):
        raise PermissionDenied("Only a clinician can void a clinical photo.")
    photo = ClinicalPhoto.objects.select_for_update().get(pk=photo.pk)
    if photo.voided_at is not None:
        raise PatientRefused("photo_void", "This photo is already voided.")
    if not reason.strip():
        raise PatientRefused("photo_void", "Write why the photo is voided.", field="reason")
    photo.voided_at = now
    photo.void_reason = reason.strip()
    photo.save(update_fields=["voided_at", "void_reason"])
    return photo
