"""Outcome measurements (baseline per zone, ranges, change from baseline) and clinical photos
(photography consent required, EXIF stripped, non-images and oversized files refused)."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from clinic.refusals import PatientRefused
from clinic.roles import Role
from patients.models import OutcomeMeasurement
from patients.outcomes import (
    outcome_record,
    outcome_void,
    photo_add,
    progress_by_zone,
    pull_test_positive,
)
from patients.progress_chart import density_chart
from patients.tests.factories import PatientFactory, PhotographyConsentFactory

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def doctor(staff):
    return staff(Role.CLINICIAN).user


@pytest.fixture
def patient(db):
    return PatientFactory(given_name="Priya", family_name="Patel")


def _record(patient, doctor, on, zone="vertex", **measures):
    return outcome_record(
        patient=patient, by=doctor, zone=zone, measured_on=on, now=NOW, **measures
    )


def test_the_first_measurement_of_a_zone_is_its_baseline(patient, doctor):
    first = _record(patient, doctor, date(2026, 9, 1), density_per_cm2=Decimal(120))
    later = _record(patient, doctor, date(2026, 10, 1), density_per_cm2=Decimal(130))
    other_zone = _record(patient, doctor, date(2026, 10, 1), zone="frontal", pull_test_hairs=3)

    assert first.is_baseline and not later.is_baseline
    assert other_zone.is_baseline


def test_an_earlier_dated_measurement_entered_later_becomes_the_baseline(patient, doctor):
    _record(patient, doctor, date(2026, 10, 1), density_per_cm2=Decimal(130))
    earlier = _record(patient, doctor, date(2026, 9, 1), density_per_cm2=Decimal(120))

    assert earlier.is_baseline
    assert OutcomeMeasurement.objects.filter(is_baseline=True).count() == 1


def test_voiding_the_baseline_makes_the_next_measurement_the_baseline(patient, doctor):
    first = _record(patient, doctor, date(2026, 9, 1), density_per_cm2=Decimal(120))
    second = _record(patient, doctor, date(2026, 10, 1), density_per_cm2=Decimal(130))

    outcome_void(measurement=first, by=doctor, reason="Wrong patient", now=NOW)

    second.refresh_from_db()
    first.refresh_from_db()
    assert second.is_baseline
    assert not first.is_baseline and first.void_reason == "Wrong patient"


def test_a_void_needs_a_reason(patient, doctor):
    first = _record(patient, doctor, date(2026, 9, 1), density_per_cm2=Decimal(120))
    with pytest.raises(PatientRefused, match="why"):
        outcome_void(measurement=first, by=doctor, reason=" ", now=NOW)


def test_a_measurement_with_nothing_measured_is_refused(patient, doctor):
    with pytest.raises(PatientRefused, match="at least one"):
        _record(patient, doctor, date(2026, 9, 1))


@pytest.mark.parametrize(
    ("measure", "value"),
    [
        ("global_assessment", 4),
        ("global_assessment", -4),
        ("self_assessment", 4),
        ("pull_test_hairs", 61),
        ("anagen_percent", Decimal(101)),
        ("density_per_cm2", Decimal(-1)),
    ],
)
def test_out_of_range_values_are_refused(patient, doctor, measure, value):
    with pytest.raises(PatientRefused):
        _record(patient, doctor, date(2026, 9, 1), **{measure: value})


def test_a_future_date_is_refused(patient, doctor):
    with pytest.raises(PatientRefused, match="future"):
        _record(patient, doctor, date(2026, 12, 2), density_per_cm2=Decimal(120))


def test_reception_cannot_record_outcomes(patient, staff):
    with pytest.raises(PermissionDenied):
        _record(patient, staff(Role.RECEPTION).user, date(2026, 9, 1), pull_test_hairs=3)


def test_a_pull_test_is_positive_above_five_hairs_of_fifty():
    assert pull_test_positive(5) is False
    assert pull_test_positive(6) is True


def test_progress_is_the_change_from_the_zones_baseline(patient, doctor):
    _record(patient, doctor, date(2026, 9, 1), density_per_cm2=Decimal(120), shaft_diameter_um=60)
    _record(patient, doctor, date(2026, 10, 1), density_per_cm2=Decimal("131.5"))
    _record(patient, doctor, date(2026, 11, 1), density_per_cm2=Decimal(140), shaft_diameter_um=66)
    _record(patient, doctor, date(2026, 9, 1), zone="occipital", density_per_cm2=Decimal(200))
    _record(patient, doctor, date(2026, 11, 1), zone="occipital", density_per_cm2=Decimal(198))

    zones = {zone.zone: zone for zone in progress_by_zone(patient=patient)}

    assert zones["vertex"].density == [
        (date(2026, 9, 1), Decimal(0)),
        (date(2026, 10, 1), Decimal("11.5")),
        (date(2026, 11, 1), Decimal(20)),
    ]
    assert zones["vertex"].shaft_diameter == [
        (date(2026, 9, 1), Decimal(0)),
        (date(2026, 11, 1), Decimal(6)),
    ]
    assert zones["occipital"].density[-1] == (date(2026, 11, 1), Decimal(-2))


def test_the_chart_plots_each_zone_with_its_change_values(patient, doctor):
    _record(patient, doctor, date(2026, 9, 1), density_per_cm2=Decimal(120))
    _record(patient, doctor, date(2026, 11, 1), density_per_cm2=Decimal(140))

    chart = density_chart(progress=progress_by_zone(patient=patient))

    (series,) = chart.series
    assert series.label == "Vertex"
    assert [p.label for p in series.points] == ["0", "+20"]
    # Higher change is drawn higher up (smaller y).
    assert series.points[1].y < series.points[0].y


def test_every_date_label_of_the_chart_fits_inside_the_picture(patient, doctor):
    # The last label used to be cut off at the right edge ("17 Jul 2").
    for on in (date(2026, 5, 28), date(2026, 6, 17), date(2026, 7, 17)):
        _record(patient, doctor, on, density_per_cm2=Decimal(120))

    chart = density_chart(progress=progress_by_zone(patient=patient))

    assert [t.text for t in chart.x_ticks][-1] == "17 Jul 26"
    # Centred labels; 0.62 em is wider than any digit or letter of a sans-serif font.
    for tick in chart.x_ticks:
        half = len(tick.text) * 0.62 * chart.font_px / 2
        assert tick.position - half >= 0, tick.text
        assert tick.position + half <= chart.width, tick.text


# Photos ---------------------------------------------------------------------------------------


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model X"  # Model
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    assert b"SecretCam" in out.getvalue()
    return out.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _upload(content: bytes, name="scalp.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_a_photo_is_stored_without_its_exif_data(patient, doctor, media):
    PhotographyConsentFactory(patient=patient)

    photo = photo_add(
        patient=patient,
        zone="vertex",
        taken_on=date(2026, 11, 30),
        upload=_upload(_jpeg_with_exif()),
        by=doctor,
        now=NOW,
    )

    stored = photo.image.read()
    assert b"SecretCam" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (64, 48)
        assert len(image.getexif()) == 0
    assert str(media) in photo.image.path
    assert "Priya" not in photo.image.name and "scalp" not in photo.image.name


def test_a_photo_without_photography_consent_is_refused(patient, doctor, media):
    with pytest.raises(PatientRefused, match="photography consent"):
        photo_add(
            patient=patient,
            zone="vertex",
            taken_on=date(2026, 11, 30),
            upload=_upload(_jpeg_with_exif()),
            by=doctor,
            now=NOW,
        )


def test_after_the_patient_withdraws_photography_consent_no_new_photo_is_taken(
    patient, doctor, media
):
    from patients.consent import consent_withdraw

    signature = PhotographyConsentFactory(patient=patient)
    consent_withdraw(signature=signature, by=doctor, reason="Asked by email", now=NOW)

    with pytest.raises(PatientRefused, match="photography consent"):
        photo_add(
            patient=patient,
            zone="vertex",
            taken_on=date(2026, 12, 1),
            upload=_upload(_jpeg_with_exif()),
            by=doctor,
            now=NOW,
        )


def test_a_file_that_is_not_a_picture_is_refused_with_a_clear_message(patient, doctor, media):
    PhotographyConsentFactory(patient=patient)
    with pytest.raises(PatientRefused, match="not a picture"):
        photo_add(
            patient=patient,
            zone="vertex",
            taken_on=date(2026, 11, 30),
            upload=_upload(b"%PDF-1.4 not an image", name="notes.pdf"),
            by=doctor,
            now=NOW,
        )


def test_a_photo_over_10_mb_is_refused(patient, doctor, media):
    PhotographyConsentFactory(patient=patient)
    big = _upload(_jpeg_with_exif() + b"\0" * (10 * 1024 * 1024))
    with pytest.raises(PatientRefused, match="10 MB"):
        photo_add(
            patient=patient,
            zone="vertex",
            taken_on=date(2026, 11, 30),
            upload=big,
            by=doctor,
            now=NOW,
        )
