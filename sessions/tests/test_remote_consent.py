"""Consent signed at home through the intake link, where the clinic allows it: the exact text is
stored as signed, with no witness but the link and channel it came through; the clinician sees
"signed remotely", and a withdrawal works as for a witnessed one. Where the clinic does not
allow it, the intake shows the text to read and says it is signed at the visit."""

import logging
import re

import pytest
import time_machine
from django.urls import reverse

from patients.consent import consent_missing, consent_withdraw
from patients.models import ConsentSignature, PatientReport, SignatureMethod
from sessions.models import OnlineBooking, PatientLink
from sessions.tests.conftest import MONDAY
from sessions.tests.test_self_service_views import _booked_link

NAME = "Nina Newcomer"


@pytest.fixture
def now():
    with time_machine.travel(MONDAY, tick=False):
        yield MONDAY


@pytest.fixture
def remote_clinic(open_clinic):
    open_clinic.remote_consent_allowed = True
    open_clinic.save(update_fields=["remote_consent_allowed"])
    return open_clinic


def _intake(client, clinic, now):
    link_url, booking = _booked_link(client, clinic, now)
    url = link_url + "intake/"
    page = client.get(url).content.decode()
    answers = {f"q_{k}": "no" for k in re.findall(r'name="q_([a-z_0-9]+)"', page)}
    digest = re.search(r'name="text_digest" value="([0-9a-f]+)"', page)
    return url, page, answers, (digest.group(1) if digest else ""), booking


def test_where_the_clinic_does_not_allow_it_the_text_is_only_to_read(
    client, open_clinic, clinician, room, now
):
    url, page, answers, digest, booking = _intake(client, open_clinic, now)

    assert 'data-testid="consent-text"' in page and "Consent to scalp mesotherapy" in page
    assert "You sign the consent with your clinician at the visit" in page
    assert 'name="sign_name"' not in page and digest == ""
    # A forged signing post is ignored: nothing to sign here.
    done = client.post(url, answers | {"sign_name": NAME, "sign_agree": "on"})
    assert done.status_code == 200
    assert not ConsentSignature.objects.filter(patient=booking.patient).exists()
    assert PatientReport.objects.filter(patient=booking.patient).count() == 1


def test_the_patient_signs_at_home_and_the_clinician_sees_it_signed_remotely(
    client, remote_clinic, clinician, room, now, caplog
):
    url, page, answers, digest, booking = _intake(client, remote_clinic, now)
    assert 'data-testid="remote-consent"' in page and 'name="sign_name"' in page

    with caplog.at_level(logging.INFO):
        done = client.post(
            url, answers | {"sign_name": NAME, "sign_agree": "on", "text_digest": digest}
        )

    assert done.status_code == 200
    assert 'data-testid="consent-signed"' in done.content.decode()
    signature = ConsentSignature.objects.get(patient=booking.patient)
    link = PatientLink.objects.get(session=booking.session)
    assert (signature.method, signature.witness, signature.typed_name) == (
        SignatureMethod.REMOTE,
        None,
        NAME,
    )
    assert (signature.remote_link_id, signature.remote_channel) == (link.pk, "sms")
    assert signature.text_signed.startswith("Consent to scalp mesotherapy (version 1)")
    assert signature.signed_at == now
    assert consent_missing(patient=booking.patient) == []
    # No patient data in the logs: ids only.
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert NAME not in logged and "Nina" not in logged and "nina@example.org" not in logged

    client.force_login(clinician.user)
    clinical = client.get(reverse("patients:clinical", args=[booking.patient_id])).content
    assert b'data-testid="signed-remotely"' in clinical
    detail = client.get(reverse("patients:consent", args=[booking.patient_id, signature.pk]))
    assert "signed remotely" in detail.content.decode()

    # The intake no longer asks for it.
    client.logout()
    again = client.get(url).content.decode()
    assert 'name="sign_name"' not in again


def test_a_remote_signature_is_withdrawn_like_any_other(
    client, remote_clinic, clinician, room, now
):
    url, _, answers, digest, booking = _intake(client, remote_clinic, now)
    client.post(url, answers | {"sign_name": NAME, "sign_agree": "on", "text_digest": digest})
    signature = ConsentSignature.objects.get(patient=booking.patient)

    consent_withdraw(signature=signature, by=clinician.user, reason="By phone", now=now)

    assert consent_missing(patient=booking.patient) == ["the treatment consent"]


def test_a_name_without_the_agreement_signs_nothing_and_keeps_nothing(
    client, remote_clinic, clinician, room, now
):
    url, _, answers, digest, booking = _intake(client, remote_clinic, now)

    response = client.post(url, answers | {"sign_name": NAME, "text_digest": digest})

    assert response.status_code == 400
    assert "tick that you agree" in response.content.decode()
    assert not ConsentSignature.objects.exists() and not PatientReport.objects.exists()


def test_a_text_changed_while_reading_is_not_signed(client, remote_clinic, clinician, room, now):
    url, _, answers, _, booking = _intake(client, remote_clinic, now)

    response = client.post(
        url, answers | {"sign_name": NAME, "sign_agree": "on", "text_digest": "0" * 64}
    )

    assert response.status_code == 400
    assert "The consent text changed while the form was open" in response.content.decode()
    assert not ConsentSignature.objects.exists() and not PatientReport.objects.exists()


def test_remote_signing_is_refused_once_the_clinic_turns_it_off(
    client, remote_clinic, clinician, room, now
):
    url, _, answers, digest, booking = _intake(client, remote_clinic, now)
    remote_clinic.remote_consent_allowed = False
    remote_clinic.save(update_fields=["remote_consent_allowed"])

    client.post(url, answers | {"sign_name": NAME, "sign_agree": "on", "text_digest": digest})

    assert not ConsentSignature.objects.exists()
    assert OnlineBooking.objects.get().patient_id == booking.patient_id
