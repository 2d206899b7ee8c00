"""The photo checklist and comparison pages: clinical roles, logged, the same view only."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from clinic.models import AccessLog
from clinic.roles import Role
from patients.tests.factories import (
    PatientFactory,
    PhotographyConsentFactory,
    jpeg_upload,
    standard_photo,
)
from sessions.tests.factories import TreatmentSessionFactory

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def doctor(staff):
    return staff(Role.CLINICIAN).user


@pytest.fixture
def patient(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    patient = PatientFactory()
    PhotographyConsentFactory(patient=patient)
    return patient


def _photo(patient, doctor, view, on, session=None):
    return standard_photo(patient=patient, by=doctor, view=view, on=on, session=session, now=NOW)


def test_the_comparison_shows_baseline_and_later_side_by_side(client, patient, doctor):
    baseline = _photo(patient, doctor, "vertex", date(2026, 6, 1))
    later = _photo(patient, doctor, "vertex", date(2026, 11, 30))
    _photo(patient, doctor, "temple_left", date(2026, 11, 30))
    client.force_login(doctor)

    page = client.get(reverse("patients:photo_compare", args=[patient.pk, "vertex"]))

    html = page.content.decode()
    assert reverse("patients:photo_file", args=[patient.pk, baseline.pk]) in html
    assert reverse("patients:photo_file", args=[patient.pk, later.pk]) in html
    assert "01 Jun 2026" in html and "30 Nov 2026" in html
    # The slider is first-party JavaScript from static/, never an inline script.
    assert "js/photo-compare.js" in html
    assert "<script>" not in html
    assert AccessLog.objects.filter(page="patients:photo_compare", patient=patient).exists()


def test_an_unknown_view_is_not_found(client, patient, doctor):
    client.force_login(doctor)
    response = client.get(reverse("patients:photo_compare", args=[patient.pk, "elbow"]))
    assert response.status_code == 404


def test_the_checklist_page_lists_each_visit_with_its_missing_views(client, patient, doctor):
    session = TreatmentSessionFactory(patient=patient, status="completed")
    _photo(patient, doctor, "vertex", date(2026, 11, 23), session=session)
    client.force_login(doctor)

    page = client.get(reverse("patients:photo_checklist", args=[patient.pk])).content.decode()

    assert "Frontal hairline, Left temple, Right temple, Midline part" in page
    assert AccessLog.objects.filter(page="patients:photo_checklist").exists()


def test_a_photo_is_filed_under_the_session_chosen_on_the_form(client, patient, doctor):
    session = TreatmentSessionFactory(patient=patient, status="completed")
    client.force_login(doctor)

    response = client.post(
        reverse("patients:photo_new", args=[patient.pk]),
        {
            "view": "midline_part",
            "taken_on": "2026-11-23",
            "session": session.pk,
            "upload": jpeg_upload(),
        },
    )

    assert response.status_code == 302
    photo = patient.photos.get()
    assert (photo.view, photo.zone, photo.session) == ("midline_part", "mid_scalp", session)


def test_a_session_of_another_patient_cannot_be_chosen(client, patient, doctor):
    other = TreatmentSessionFactory(patient=PatientFactory(), status="completed")
    client.force_login(doctor)

    response = client.post(
        reverse("patients:photo_new", args=[patient.pk]),
        {"view": "vertex", "taken_on": "2026-11-23", "session": other.pk},
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize("photos", [1, 20])
def test_the_photo_pages_have_a_bounded_query_count(
    client, patient, doctor, django_assert_max_num_queries, photos
):
    for n in range(photos):
        starts_at = datetime(2026, 1, 1 + n, 10, 0, tzinfo=UTC)
        session = TreatmentSessionFactory(patient=patient, status="completed", starts_at=starts_at)
        _photo(patient, doctor, "vertex", date(2026, 1, 1 + n), session=session)
    client.force_login(doctor)

    with django_assert_max_num_queries(14):
        client.get(reverse("patients:photo_checklist", args=[patient.pk]))
    with django_assert_max_num_queries(14):
        client.get(reverse("patients:photo_compare", args=[patient.pk, "vertex"]))
