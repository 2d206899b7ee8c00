"""The patient's own copy: what it contains, the PDF, its expiring link, and the log of the
request and of every delivery."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from clinic.roles import Role
from patients.models import CopyChannel, PatientCopy, PatientCopyDelivery
from sessions.exchange import patient_copy
from sessions.exchange.patient_copy import (
    patient_copies_remove_expired,
    patient_copy_context,
    patient_copy_make,
    patient_copy_render,
    patient_copy_url,
)
from sessions.exchange.tests.conftest import NOW


@pytest.fixture
def copy(treated, clinic, clinician_user):
    return patient_copy_make(
        patient=treated,
        clinic=clinic,
        by=clinician_user,
        how_requested="Asked at reception",
        base_url="http://clinic.test/fhir",
        now=NOW,
    )


def test_the_copy_names_every_ingredient_strength_lot_dose_event_and_signed_consent(
    treated, clinic
):
    html, pdf = patient_copy_render(
        context=patient_copy_context(patient=treated, clinic=clinic, now=NOW)
    )

    consent = treated.consents.get()
    for expected in [
        "Priya Patel",
        "DHT-block record cocktail v",
        "Dutasteride",
        "0.1 mg in every 1 mL (0.01 %)",
        "0.5 mg in every 5 mL (0.01 %)",
        "DHT-7001",
        # 1.75 mL of 0.1 mg/mL dutasteride and of 0.1 mg/mL biotin.
        "Dutasteride: 0.175 mg",
        "Biotin: 0.175 mg",
        "Pain",
        "Tender for a day",
        "120.5",
        consent.text_signed.splitlines()[0],
    ]:
        assert expected in html, expected
    assert pdf.startswith(b"%PDF-")
    # Nothing outside the clinic is loaded: no stylesheet, font or image by URL.
    assert "http" not in html.split("<body>")[0]


def test_the_patients_link_delivers_each_file_and_logs_it(client, copy):
    url = patient_copy_url(copy=copy).removeprefix(settings.SITE_URL.rstrip("/"))

    with time_machine.travel(NOW + timedelta(days=1)):
        page = client.get(url)
        pdf = client.get(url + "pdf/")
        fhir = client.get(url + "fhir/")

    assert page.status_code == 200 and "Download the PDF" in page.content.decode()
    assert pdf["Content-Type"] == "application/pdf"
    bundle = json.loads(b"".join(fhir.streaming_content))
    assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
    deliveries = PatientCopyDelivery.objects.filter(patient_copy=copy)
    assert sorted(deliveries.values_list("file_format", "channel")) == [
        ("fhir", CopyChannel.LINK),
        ("pdf", CopyChannel.LINK),
    ]


def test_the_link_expires_and_then_the_files_go(client, copy):
    url = patient_copy_url(copy=copy).removeprefix(settings.SITE_URL.rstrip("/"))
    later = copy.expires_at + timedelta(minutes=1)

    with time_machine.travel(later):
        expired = client.get(url)
    removed = patient_copies_remove_expired(now=later)

    assert expired.status_code == 410
    assert "expired" in expired.content.decode()
    assert "Patel" not in expired.content.decode()
    assert removed == 1
    copy.refresh_from_db()
    assert copy.files_removed_at == later
    assert PatientCopy.objects.filter(pk=copy.pk).exists()  # the request log stays


def test_a_forged_link_is_not_found(client, copy):
    response = client.get("/c/not-a-token~x/")

    assert response.status_code == 404


def test_staff_make_and_download_a_copy_and_both_are_logged(client_as, treated):
    client = client_as(Role.CLINICIAN)

    made = client.post(
        f"/patients/{treated.pk}/copies/", {"copy-how": "Letter of 20 November"}, follow=True
    )
    copy = PatientCopy.objects.get(patient=treated)
    download = client.get(f"/patients/{treated.pk}/copies/{copy.pk}/pdf/")

    assert "The copy is ready" in made.content.decode()
    assert copy.how_requested == "Letter of 20 November"
    assert download["Content-Type"] == "application/pdf"
    delivery = PatientCopyDelivery.objects.get(patient_copy=copy)
    assert delivery.channel == CopyChannel.STAFF_DOWNLOAD and delivery.by is not None


def test_a_copy_request_without_saying_how_is_refused_on_the_form(client_as, treated):
    response = client_as(Role.CLINICIAN).post(f"/patients/{treated.pk}/copies/", {"copy-how": ""})

    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not PatientCopy.objects.exists()


def test_without_a_pdf_renderer_the_request_says_what_is_missing(client_as, treated, monkeypatch):
    # given: a server without Pango (WeasyPrint could not load), which must still serve pages
    monkeypatch.setattr(patient_copy, "HTML", None)

    # when
    response = client_as(Role.CLINICIAN).post(
        f"/patients/{treated.pk}/copies/", {"copy-how": "In person"}, follow=True
    )

    # then: the clinician reads why, and no half-made copy is on record
    assert response.status_code == 200
    assert "cannot make PDFs yet" in response.content.decode()
    assert not PatientCopy.objects.exists()
