"""An SMS reply of STOP (or a synonym) opts the patient out and cancels their pending texts; a
START opts them back in; a request without Twilio's signature changes nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from patients.tests.factories import PatientFactory
from sessions.models import ReminderStatus
from sessions.outreach.optout import (
    inbound_keyword,
    patient_channel_opt_in,
    patient_channel_opt_out,
    patient_sms_opt_out,
)
from sessions.tests.conftest import MONDAY
from sessions.tests.factories import ReminderFactory, TreatmentSessionFactory

pytestmark = pytest.mark.django_db

AUTH_TOKEN = "test-twilio-auth-token"
WEBHOOK = "/webhooks/sms/twilio/"
MOBILE = "+447700900123"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    # Behind a proxy the app sees http://internal; Twilio signs the public URL.
    settings.SITE_URL = "https://clinic.example"


def inbound(body: str, *, sender: str = MOBILE, token: str = AUTH_TOKEN):
    params = {"From": sender, "To": "+447700900999", "Body": body, "MessageSid": "SM123"}
    signature = RequestValidator(token).compute_signature(
        "https://clinic.example" + WEBHOOK, params
    )
    return Client(enforce_csrf_checks=True).post(
        WEBHOOK, params, headers={"X-Twilio-Signature": signature}
    )


@pytest.fixture
def patient_with_texts(db):
    patient = PatientFactory(mobile=MOBILE)
    session = TreatmentSessionFactory(patient=patient)
    sms = ReminderFactory(session=session, channel="sms")
    email = ReminderFactory(session=session, channel="email")
    sent = ReminderFactory(
        session=session,
        channel="sms",
        due_at=sms.due_at - timedelta(hours=24),
        status=ReminderStatus.SENT,
    )
    return patient, sms, email, sent


def test_a_signed_stop_opts_the_patient_out_and_cancels_pending_texts(patient_with_texts):
    patient, sms, email, sent = patient_with_texts
    response = inbound("Stop")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response></Response>" in response.content
    patient.refresh_from_db()
    assert patient.sms_opt_out_at is not None
    assert patient.email_opt_out_at is None
    for reminder in (sms, email, sent):
        reminder.refresh_from_db()
    assert sms.status == ReminderStatus.CANCELLED
    assert "opted out" in sms.last_error
    # Email is another channel, and what was already sent stays on record as sent.
    assert email.status == ReminderStatus.PENDING
    assert sent.status == ReminderStatus.SENT


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "CANCEL", "end", " QUIT "])
def test_twilios_stop_synonyms_opt_out_too(patient_with_texts, word):
    patient, *_ = patient_with_texts
    inbound(word)
    patient.refresh_from_db()
    assert patient.sms_opt_out_at is not None


def test_a_stop_without_a_valid_signature_is_refused_and_changes_nothing(patient_with_texts):
    patient, sms, *_ = patient_with_texts
    response = inbound("STOP", token="not-the-real-token")
    assert response.status_code == 403
    patient.refresh_from_db()
    sms.refresh_from_db()
    assert patient.sms_opt_out_at is None
    assert sms.status == ReminderStatus.PENDING


def test_a_stop_with_no_signature_header_is_refused(patient_with_texts):
    response = Client().post(WEBHOOK, {"From": MOBILE, "Body": "STOP"})
    assert response.status_code == 403


def test_without_an_auth_token_configured_every_request_is_refused(patient_with_texts, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert inbound("STOP", token="").status_code == 403


def test_a_start_opts_the_patient_back_in(patient_with_texts):
    patient, *_ = patient_with_texts
    inbound("STOP")
    inbound("start")
    patient.refresh_from_db()
    assert patient.sms_opt_out_at is None
    # History keeps both changes with their reasons.
    reasons = list(patient.history.values_list("history_change_reason", flat=True)[:2])
    assert reasons == ["Replied START by SMS", "Replied STOP by SMS"]


def test_unstop_opts_in_and_other_replies_change_nothing(patient_with_texts):
    patient, *_ = patient_with_texts
    inbound("STOP")
    inbound("Thanks, see you then")
    patient.refresh_from_db()
    assert patient.sms_opt_out_at is not None
    inbound("UNSTOP")
    patient.refresh_from_db()
    assert patient.sms_opt_out_at is None


def test_a_stop_from_an_unknown_number_answers_and_changes_nothing(patient_with_texts):
    patient, *_ = patient_with_texts
    response = inbound("STOP", sender="+447700900555")
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.sms_opt_out_at is None


def test_the_webhook_logs_no_phone_number(patient_with_texts, caplog):
    caplog.set_level("DEBUG")
    inbound("STOP")
    inbound("STOP", token="wrong")
    assert caplog.records
    assert "7700900123" not in caplog.text


def test_a_family_sharing_a_mobile_is_opted_out_together(db):
    parent, child = PatientFactory(mobile=MOBILE), PatientFactory(mobile=MOBILE)
    assert patient_sms_opt_out(mobile="+44 7700 900123", now=MONDAY) == 2
    parent.refresh_from_db()
    child.refresh_from_db()
    assert parent.sms_opt_out_at == child.sms_opt_out_at == MONDAY


def test_a_second_stop_keeps_the_first_opt_out_time(db):
    patient = PatientFactory(mobile=MOBILE)
    patient_sms_opt_out(mobile=MOBILE, now=MONDAY)
    patient_sms_opt_out(mobile=MOBILE, now=MONDAY + timedelta(days=1))
    patient.refresh_from_db()
    assert patient.sms_opt_out_at == MONDAY


def test_reception_records_a_verbal_email_opt_out_and_opt_in(patient_with_texts):
    patient, sms, email, _sent = patient_with_texts
    cancelled = patient_channel_opt_out(
        patient=patient, channel="email", now=MONDAY, reason="Told reception: no emails"
    )
    email.refresh_from_db()
    sms.refresh_from_db()
    assert cancelled == 1
    assert email.status == ReminderStatus.CANCELLED
    assert sms.status == ReminderStatus.PENDING
    patient_channel_opt_in(patient=patient, channel="email", reason="Asked for emails again")
    patient.refresh_from_db()
    assert patient.email_opt_out_at is None


@pytest.mark.parametrize(
    ("body", "keyword"),
    [("STOP", "stop"), ("stop.", "stop"), ("Start", "start"), ("stop texting me", None)],
)
def test_only_a_whole_message_keyword_counts(body, keyword):
    assert inbound_keyword(body=body) == keyword
