"""The outcomes page, the progress chart on the clinical tab, photo upload and the private photo
files: clinical roles only, every view logged."""

import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from clinic.models import AccessLog
from clinic.roles import Role
from clinic.tests.factories import RoomFactory
from formulations.tests.factories import (
    FormulationVersionFactory,
    IngredientFactory,
    IngredientLineFactory,
)
from patients.consent import consent_digest, consent_document, consent_texts_for
from patients.models import ClinicalPhoto, ConsentKind
from patients.outcomes import outcome_record, photo_add
from patients.tests.factories import (
    OutcomeMeasurementFactory,
    PatientFactory,
    PhotographyConsentFactory,
)
from sessions.models import SessionStatus
from sessions.tests.factories import (
    AdverseEventFactory,
    InjectionFactory,
    SessionRecordFactory,
    TreatmentSessionFactory,
    signed_as_fixture,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
# Session, user, permissions, access log, and one query per panel: the same at 1 and 50 rows.
OUTCOMES_PAGE_QUERIES = 14
CLINICAL_TAB_QUERIES = 20


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def doctor(staff):
    return staff(Role.CLINICIAN).user


@pytest.fixture
def patient(db):
    return PatientFactory(given_name="Priya", family_name="Patel")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _measure(patient, doctor, on, density, zone="vertex"):
    return outcome_record(
        patient=patient,
        by=doctor,
        zone=zone,
        measured_on=on,
        now=NOW,
        density_per_cm2=Decimal(density),
    )


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(out, format="JPEG")
    return out.getvalue()


def _photo(patient, doctor):
    PhotographyConsentFactory(patient=patient)
    return photo_add(
        patient=patient,
        zone="vertex",
        taken_on=date(2026, 11, 30),
        upload=SimpleUploadedFile("a.jpg", _jpeg(), content_type="image/jpeg"),
        by=doctor,
        now=NOW,
    )


def test_the_outcomes_page_marks_the_baseline_and_shows_the_change(client, patient, doctor):
    _measure(patient, doctor, date(2026, 9, 1), 120)
    _measure(patient, doctor, date(2026, 11, 1), 135)
    client.force_login(doctor)

    page = client.get(reverse("patients:outcomes", args=[patient.pk])).content.decode()

    assert page.count('data-testid="baseline"') == 1
    assert "+15" in page
    assert 'data-testid="progress-chart"' in page
    assert "<svg" in page and "<polyline" in page


def test_every_label_on_the_outcomes_page_points_at_one_field(client, patient, doctor):
    client.force_login(doctor)
    page = client.get(reverse("patients:outcomes", args=[patient.pk])).content.decode()

    ids = re.findall(r' id="(id_[^"]+)"', page)
    assert len(ids) == len(set(ids)), "two fields share an id"
    assert 'for="id_photo_view"' in page and 'id="id_photo_view"' in page
    assert 'for="id_zone"' in page and 'id="id_zone"' in page


def test_the_clinical_tab_shows_the_chart_dose_and_adverse_events(client, patient, doctor, clinic):
    _measure(patient, doctor, date(2026, 9, 1), 120)
    _measure(patient, doctor, date(2026, 11, 1), 128)
    session = TreatmentSessionFactory(
        patient=patient, room=RoomFactory(clinic=clinic), status=SessionStatus.COMPLETED
    )
    # 0.01 % w/v = 0.1 mg/mL; 2 mL injected = 0.2 mg.
    line = IngredientLineFactory(
        ingredient=IngredientFactory(name="Dutasteride"),
        amount=Decimal("0.01"),
        unit="%w/v",
        per_volume_ml=None,
    )
    record = SessionRecordFactory(session=session, formulation_version=line.version)
    InjectionFactory(record=record, volume_ml=Decimal("2.00"))
    signed_as_fixture(record, at=session.ends_at)
    AdverseEventFactory(session=session, event_type="erythema", serious=True, ctcae_grade=2)
    client.force_login(doctor)

    page = client.get(reverse("patients:clinical", args=[patient.pk])).content.decode()

    assert 'data-testid="progress-chart"' in page and "+8" in page
    assert "Dutasteride: 0.2 mg" in page
    assert "Erythema (redness)" in page and "table-danger" in page


def test_the_overview_reception_sees_shows_no_outcomes(client, patient, doctor, staff):
    _measure(patient, doctor, date(2026, 9, 1), 120)
    client.force_login(staff(Role.RECEPTION).user)

    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()

    assert "progress-chart" not in page
    assert reverse("patients:outcomes", args=[patient.pk]) not in page


def test_reception_cannot_open_outcomes_photos_or_photo_files(
    client, patient, doctor, staff, media
):
    measurement = _measure(patient, doctor, date(2026, 9, 1), 120)
    photo = _photo(patient, doctor)
    client.force_login(staff(Role.RECEPTION).user)
    urls = [
        reverse("patients:outcomes", args=[patient.pk]),
        reverse("patients:outcome_new", args=[patient.pk]),
        reverse("patients:outcome_void", args=[patient.pk, measurement.pk]),
        reverse("patients:photo_new", args=[patient.pk]),
        reverse("patients:photo_file", args=[patient.pk, photo.pk]),
        reverse("patients:photo_void", args=[patient.pk, photo.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url).status_code == 403, url


def test_a_photo_file_is_served_privately_and_logged(client, patient, doctor, media):
    photo = _photo(patient, doctor)
    client.force_login(doctor)
    url = reverse("patients:photo_file", args=[patient.pk, photo.pk])

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    log = AccessLog.objects.get(page="patients:photo_file")
    assert log.user == doctor and log.patient == patient and log.path == url


def test_a_photo_of_another_patient_is_not_found_under_this_patient(client, patient, doctor, media):
    photo = _photo(patient, doctor)
    client.force_login(doctor)

    response = client.get(reverse("patients:photo_file", args=[PatientFactory().pk, photo.pk]))

    assert response.status_code == 404


def test_media_files_have_no_public_url(client, patient, doctor, media):
    photo = _photo(patient, doctor)
    client.force_login(doctor)

    assert client.get("/media/" + photo.image.name).status_code == 404
    assert client.get("/" + photo.image.name).status_code == 404


def test_a_clinician_uploads_a_photo_after_signing_the_photography_consent(
    client, patient, doctor, media
):
    client.force_login(doctor)
    upload_url = reverse("patients:photo_new", args=[patient.pk])
    form = {"view": "vertex", "taken_on": "2026-11-30"}

    refused = client.post(upload_url, {**form, "upload": SimpleUploadedFile("a.jpg", _jpeg())})
    assert refused.status_code == 400
    assert "photography consent" in refused.content.decode()

    texts = consent_texts_for(kind=ConsentKind.PHOTOGRAPHY)
    signed = client.post(
        reverse("patients:consent_new", args=[patient.pk]) + "?kind=photography",
        {
            "typed_name": "Priya Patel",
            "confirmed": "on",
            "text_digest": consent_digest(document=consent_document(texts=texts)),
        },
    )
    assert signed.status_code == 302

    stored = client.post(upload_url, {**form, "upload": SimpleUploadedFile("a.jpg", _jpeg())})
    assert stored.status_code == 302
    assert ClinicalPhoto.objects.filter(patient=patient).count() == 1


def test_an_upload_that_is_not_an_image_is_refused_on_the_form(client, patient, doctor, media):
    PhotographyConsentFactory(patient=patient)
    client.force_login(doctor)

    response = client.post(
        reverse("patients:photo_new", args=[patient.pk]),
        {
            "view": "vertex",
            "taken_on": "2026-11-30",
            "upload": SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain"),
        },
    )

    assert response.status_code == 400
    assert "not a picture" in response.content.decode()


def test_a_clinician_records_a_measurement_and_sees_a_range_error(client, patient, doctor):
    client.force_login(doctor)
    url = reverse("patients:outcome_new", args=[patient.pk])

    bad = client.post(url, {"zone": "vertex", "measured_on": "2026-11-01", "global_assessment": 5})
    assert bad.status_code == 400
    assert "−3 to +3" in bad.content.decode()

    good = client.post(url, {"zone": "vertex", "measured_on": "2026-11-01", "pull_test_hairs": 7})
    assert good.status_code == 302


def test_an_admin_reads_outcomes_without_the_forms(client, patient, doctor, staff):
    _measure(patient, doctor, date(2026, 9, 1), 120)
    client.force_login(staff(Role.CLINIC_ADMIN).user)

    page = client.get(reverse("patients:outcomes", args=[patient.pk]))

    assert page.status_code == 200
    assert 'data-testid="outcome-form"' not in page.content.decode()


@pytest.mark.parametrize("rows", [1, 50])
def test_the_outcomes_page_has_a_bounded_query_count(
    client, patient, doctor, media, rows, django_assert_max_num_queries
):
    for n in range(rows):
        OutcomeMeasurementFactory(
            patient=patient,
            measured_on=date(2026, 1, 1) + timedelta(days=n),
            zone=["vertex", "frontal", "occipital"][n % 3],
            density_per_cm2=100 + n,
            is_baseline=n < 3,
            recorded_by=doctor,
        )
    client.force_login(doctor)

    with django_assert_max_num_queries(OUTCOMES_PAGE_QUERIES):
        response = client.get(reverse("patients:outcomes", args=[patient.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_the_clinical_tab_has_a_bounded_query_count(
    client, patient, doctor, clinic, rows, django_assert_max_num_queries
):
    room = RoomFactory(clinic=clinic)
    version = FormulationVersionFactory()
    for n in range(rows):
        session = TreatmentSessionFactory(
            patient=patient,
            room=room,
            status=SessionStatus.COMPLETED,
            starts_at=datetime(2026, 1, 1, 10, tzinfo=UTC) + timedelta(days=n),
        )
        record = SessionRecordFactory(session=session, formulation_version=version)
        InjectionFactory(record=record)
        signed_as_fixture(record, at=session.ends_at)
        AdverseEventFactory(session=session)
        OutcomeMeasurementFactory(
            patient=patient,
            measured_on=date(2026, 1, 1) + timedelta(days=n),
            is_baseline=n == 0,
            recorded_by=doctor,
        )
    client.force_login(doctor)

    with django_assert_max_num_queries(CLINICAL_TAB_QUERIES):
        response = client.get(reverse("patients:clinical", args=[patient.pk]))
    assert response.status_code == 200


def _png(width, height) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _upload(client, patient, content, name="big.png"):
    return client.post(
        reverse("patients:photo_new", args=[patient.pk]),
        {
            "view": "vertex",
            "taken_on": "2026-11-30",
            "upload": SimpleUploadedFile(name, content, content_type="image/png"),
        },
    )


def test_a_picture_over_40_megapixels_is_refused_before_decoding(client, patient, doctor, media):
    PhotographyConsentFactory(patient=patient)
    client.force_login(doctor)
    # 8000 × 6000 = 48 MP, a few hundred KB as a one-bit PNG.
    response = _upload(client, patient, _png(8000, 6000))
    assert response.status_code == 400
    assert "8000 × 6000 pixels (48 megapixels); Mesotrack accepts up to 40" in (
        response.content.decode()
    )
    assert not ClinicalPhoto.objects.exists()


def test_a_large_photo_is_stored_at_2560_pixels_on_its_long_side(client, patient, doctor, media):
    PhotographyConsentFactory(patient=patient)
    client.force_login(doctor)
    assert _upload(client, patient, _png(6000, 4000)).status_code == 302
    with Image.open(ClinicalPhoto.objects.get().image.path) as stored:
        assert stored.size == (2560, 1707)


@pytest.mark.parametrize("reason", ["Wrong\x00zone", "x" * 1001])
def test_a_void_reason_with_a_nul_byte_or_too_long_is_refused_with_a_message(
    client, patient, doctor, media, reason
):
    photo = _photo(patient, doctor)
    client.force_login(doctor)
    response = client.post(
        reverse("patients:photo_void", args=[patient.pk, photo.pk]), {"reason": reason}, follow=True
    )
    assert response.status_code == 200
    assert "Not voided: the reason:" in response.content.decode()
    photo.refresh_from_db()
    assert photo.voided_at is None
