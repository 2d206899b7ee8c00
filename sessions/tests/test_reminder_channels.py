"""Which channel a reminder takes, what it says, and the SMS and email paths to real (local)
servers: a fake of Twilio's API over HTTP, and an SMTP server (aiosmtpd), both on 127.0.0.1."""

import base64
import email
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from patients.tests.factories import PatientFactory
from sessions.models import Reminder, ReminderKind, ReminderStatus
from sessions.outreach.messages import render_reminder
from sessions.outreach.messaging import DeliveryFailed, sms_backend
from sessions.outreach.preferences import reminder_channel
from sessions.outreach.rows import reminders_on_booked, reminders_on_cancelled
from sessions.outreach.sweep import dispatch_due_reminders
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import TreatmentPlanFactory, TreatmentSessionFactory

CONSENTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# Channel choice -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "preferred, consent, opted_out, expected",
    [
        ("sms", {"sms", "email"}, set(), "sms"),
        ("email", {"sms", "email"}, set(), "email"),
        ("sms", {"email"}, set(), "email"),  # preferred channel without consent
        ("sms", {"sms", "email"}, {"sms"}, "email"),  # replied STOP: email still agreed
        ("email", {"email"}, {"email"}, None),
        ("email", set(), set(), None),
    ],
)
def test_a_reminder_takes_the_preferred_agreed_channel_else_the_other_else_none(
    preferred, consent, opted_out, expected
):
    patient = PatientFactory(
        preferred_channel=preferred,
        email_consent_at=CONSENTED if "email" in consent else None,
        sms_consent_at=CONSENTED if "sms" in consent else None,
        email_opt_out_at=CONSENTED if "email" in opted_out else None,
        sms_opt_out_at=CONSENTED if "sms" in opted_out else None,
    )

    assert reminder_channel(patient=patient) == expected


@pytest.mark.django_db
def test_a_patient_without_a_mobile_is_emailed_even_when_they_prefer_texts():
    patient = PatientFactory(
        preferred_channel="sms", sms_consent_at=CONSENTED, email_consent_at=CONSENTED, mobile=""
    )

    assert reminder_channel(patient=patient) == "email"


# What the texts say ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ReminderKind.values)
def test_no_text_message_names_the_formulation_or_the_diagnosis(clinic, kind):
    plan = TreatmentPlanFactory(
        indication="L64 androgenic alopecia, Norwood III",
        patient=PatientFactory(
            preferred_channel="sms", sms_consent_at=CONSENTED, mobile="+447700900555"
        ),
    )
    session = TreatmentSessionFactory(
        patient=plan.patient, plan=plan, starts_at=MONDAY + timedelta(days=4)
    )
    reminder = Reminder.objects.create(
        kind=kind,
        channel="sms",
        patient=plan.patient,
        session=session,
        plan=plan,
        due_at=MONDAY,
        send_after=MONDAY,
    )
    formulation = plan.formulation_version.formulation.name

    message = render_reminder(reminder=reminder, clinic=clinic, now=MONDAY)

    assert message.sms.startswith("Test Hair Clinic")
    for clinical in (formulation, "alopecia", "L64", "Norwood", "dutasteride", "minoxidil"):
        assert clinical.lower() not in message.sms.lower()
    assert "{" not in message.sms and "}" not in message.sms  # every variable was filled


def test_an_sms_gives_the_clinic_time_and_the_patients_own_and_their_link(clinic):
    patient = PatientFactory(
        preferred_channel="sms",
        sms_consent_at=CONSENTED,
        time_zone="Europe/Paris",
        mobile="+33612345678",
    )
    session = TreatmentSessionFactory(patient=patient, starts_at=at(clinic, 2026, 11, 27, 10))
    reminders_on_booked(session=session, now=MONDAY)
    reminder = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION)

    message = render_reminder(reminder=reminder, clinic=clinic, now=MONDAY)

    assert "Fri 27 Nov at 10:00 Europe/London time (11:00 Europe/Paris time)" in message.sms
    assert "http://127.0.0.1:8000/r/" in message.sms


# SMS backends -------------------------------------------------------------------------------------


def test_the_file_backend_writes_one_file_per_message(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = tmp_path

    first = sms_backend().send_sms(to="+447700900555", body="One", idempotency_key="1")
    second = sms_backend().send_sms(to="+447700900555", body="Two", idempotency_key="2")

    files = sorted(tmp_path.iterdir())
    assert len(files) == 2
    assert first != second
    assert {f.read_text().split("\n\n", 1)[1].strip() for f in files} == {"One", "Two"}


def test_the_console_and_file_backend_prints_and_keeps_a_copy(settings, tmp_path, capsys):
    settings.SMS_BACKEND = "console+file"
    settings.SMS_FILE_PATH = tmp_path

    sms_backend().send_sms(to="+447700900555", body="Hello", idempotency_key="7")

    assert "Hello" in capsys.readouterr().out
    assert len(list(tmp_path.iterdir())) == 1


class FakeTwilio(BaseHTTPRequestHandler):
    requests: list = []
    reply = (201, {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"})

    def do_POST(self):  # noqa: N802 — http.server's naming
        length = int(self.headers["Content-Length"])
        type(self).requests.append(
            {
                "path": self.path,
                "headers": dict(self.headers),
                "form": parse_qs(self.rfile.read(length).decode()),
            }
        )
        status, payload = type(self).reply
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_twilio(settings):
    FakeTwilio.requests = []
    FakeTwilio.reply = (201, {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    settings.TWILIO_FROM_NUMBER = "+447700900000"
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield FakeTwilio
    server.shutdown()
    server.server_close()


def test_the_twilio_backend_posts_the_message_with_its_credentials(fake_twilio):
    provider_id = sms_backend().send_sms(
        to="+447700900555", body="Test Hair Clinic: reminder", idempotency_key="42"
    )

    assert provider_id == "SM0123456789abcdef0123456789abcdef"
    (request,) = fake_twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/AC{'1' * 32}/Messages.json"
    assert request["form"] == {
        "To": ["+447700900555"],
        "From": ["+447700900000"],
        "Body": ["Test Hair Clinic: reminder"],
    }
    scheme, credentials = request["headers"]["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"AC{'1' * 32}:test-auth-token"
    assert request["headers"]["Idempotency-Key"] == "42"


def test_a_twilio_refusal_fails_without_quoting_the_phone_number(fake_twilio):
    fake_twilio.reply = (
        400,
        {
            "code": 21211,
            "message": "The 'To' number +447700900555 is not a valid phone number.",
            "status": 400,
        },
    )

    with pytest.raises(DeliveryFailed) as refused:
        sms_backend().send_sms(to="+447700900555", body="Hi", idempotency_key="43")

    assert refused.value.reason == "Twilio refused the message (HTTP 400, error 21211)."


def test_an_unreachable_twilio_is_a_failed_attempt(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+447700900000"
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{port}"  # nothing listens

    with pytest.raises(DeliveryFailed, match="Twilio could not be reached"):
        sms_backend().send_sms(to="+447700900555", body="Hi", idempotency_key="44")


def test_a_sweep_texts_through_twilio_and_stores_its_message_id(clinic, fake_twilio):
    patient = PatientFactory(
        preferred_channel="sms", sms_consent_at=CONSENTED, mobile="+447700900555"
    )
    session = TreatmentSessionFactory(patient=patient, starts_at=at(clinic, 2026, 11, 27, 10))
    reminders_on_booked(session=session, now=MONDAY)

    assert dispatch_due_reminders(now=MONDAY).sent == 1

    sent = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION)
    assert sent.provider_id == "SM0123456789abcdef0123456789abcdef"
    (request,) = fake_twilio.requests
    assert request["headers"]["Idempotency-Key"] == str(sent.pk)
    assert request["form"]["To"] == ["+447700900555"]


def test_the_twilio_backend_refuses_to_start_without_its_settings(settings):
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_FROM_NUMBER = ""

    with pytest.raises(SystemCheckError, match="TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER"):
        call_command("check")


def test_an_unknown_sms_backend_is_refused_at_start(settings):
    settings.SMS_BACKEND = "carrier-pigeon"

    with pytest.raises(SystemCheckError, match="not a known SMS backend"):
        call_command("check")


# Email end to end through Django's SMTP backend -------------------------------------------------


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's name
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield handler
    controller.stop()


def _parts(envelope):
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    return message, {part.get_content_type(): part for part in message.walk()}


def test_a_booking_confirmation_email_arrives_with_text_html_and_a_calendar_invitation(
    clinic, smtp_server
):
    patient = PatientFactory(email_consent_at=CONSENTED, email="priya@patients.example")
    session = TreatmentSessionFactory(patient=patient, starts_at=at(clinic, 2026, 11, 27, 10))
    reminders_on_booked(session=session, now=MONDAY)

    assert dispatch_due_reminders(now=MONDAY).sent == 1

    (envelope,) = smtp_server.messages
    assert envelope.rcpt_tos == ["priya@patients.example"]
    message, parts = _parts(envelope)
    assert "Friday 27 November 2026 at 10:00" in message["Subject"]
    assert "Friday 27 November 2026 at 10:00" in parts["text/plain"].get_content()
    assert "<p>" in parts["text/html"].get_content()
    ics = parts["text/calendar"].get_content()
    assert "METHOD:REQUEST" in ics
    assert f"UID:session-{session.pk}@127.0.0.1" in ics
    assert "DTSTART:20261127T100000Z" in ics
    sent = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION)
    assert message["Message-ID"] == sent.provider_id == f"<reminder-{sent.pk}@127.0.0.1>"


def test_a_cancellation_email_cancels_the_calendar_entry(clinic, smtp_server):
    patient = PatientFactory(email_consent_at=CONSENTED)
    session = TreatmentSessionFactory(patient=patient, starts_at=at(clinic, 2026, 11, 27, 10))
    session.status, session.status_reason = "cancelled_clinic", "Clinician unwell"
    session.save()
    reminders_on_cancelled(session=session, now=MONDAY)

    assert dispatch_due_reminders(now=MONDAY).sent == 1

    _, parts = _parts(smtp_server.messages[0])
    ics = parts["text/calendar"].get_content()
    assert "METHOD:CANCEL" in ics
    assert f"UID:session-{session.pk}@127.0.0.1" in ics


def test_an_unreachable_mail_server_defers_the_reminder(clinic, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    patient = PatientFactory(email_consent_at=CONSENTED)
    session = TreatmentSessionFactory(patient=patient, starts_at=at(clinic, 2026, 11, 27, 10))
    reminders_on_booked(session=session, now=MONDAY)

    assert dispatch_due_reminders(now=MONDAY).deferred == 1

    row = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION)
    assert row.status == ReminderStatus.PENDING
    assert row.last_error == "The mail server could not be reached (ConnectionRefusedError)."
