"""The sweep's cost per reminder: what it renders, how it marks, how it issues links."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.tests.factories import PatientFactory
from sessions.models import PatientLink, Reminder, ReminderKind, ReminderStatus, TreatmentSession
from sessions.outreach import sweep
from sessions.outreach.messages import render_reminder
from sessions.tests.conftest import MONDAY

CONSENTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _due(clinician, room, count: int, *, channel: str = "email") -> list[Reminder]:
    rows = []
    for n in range(count):
        patient = PatientFactory(
            email_consent_at=CONSENTED, sms_consent_at=CONSENTED, mobile=f"+4477009{n:05d}"
        )
        session = TreatmentSession.objects.create(
            patient=patient,
            clinician=clinician,
            room=room,
            starts_at=MONDAY + timedelta(days=3, hours=n),
            ends_at=MONDAY + timedelta(days=3, hours=n, minutes=45),
        )
        rows.append(
            Reminder.objects.create(
                kind=ReminderKind.APPOINTMENT,
                channel=channel,
                patient=patient,
                session=session,
                due_at=MONDAY,
                send_after=MONDAY,
            )
        )
    return rows


def test_an_sms_reminder_renders_only_its_text(open_clinic, clinician, room):
    (reminder,) = _due(clinician, room, 1, channel="sms")

    message = render_reminder(reminder=reminder, clinic=open_clinic, now=MONDAY)

    assert "/r/" in message.sms
    assert (message.subject, message.text, message.html, message.ics) == ("", "", "", None)


def test_an_email_reminder_has_its_parts_and_no_invitation(open_clinic, clinician, room):
    # The booking confirmation put the appointment in the patient's calendar (same UID), and the
    # link page offers it again: a reminder the day before changes nothing there.
    (reminder,) = _due(clinician, room, 1)

    message = render_reminder(reminder=reminder, clinic=open_clinic, now=MONDAY)

    assert message.subject and "/r/" in message.text and "<" in message.html
    assert message.ics is None


@pytest.mark.parametrize(
    "kind",
    [ReminderKind.BOOKING_CONFIRMATION, ReminderKind.RESCHEDULE, ReminderKind.CANCELLATION],
)
def test_an_email_that_books_moves_or_cancels_an_appointment_carries_the_invitation(
    open_clinic, clinician, room, kind
):
    (reminder,) = _due(clinician, room, 1)
    reminder.kind = kind

    message = render_reminder(reminder=reminder, clinic=open_clinic, now=MONDAY)

    assert b"BEGIN:VEVENT" in message.ics
    assert f"UID:session-{reminder.session_id}@".encode() in message.ics


@pytest.mark.parametrize("count", [1, 40])
def test_a_sweep_costs_one_query_per_reminder_beyond_a_fixed_few(
    open_clinic, clinician, room, count, django_assert_max_num_queries
):
    _due(clinician, room, count)

    # The one per reminder is its own "sending" mark when its send begins; rendering, links and
    # the "sent" marks cost nothing per row.
    with django_assert_max_num_queries(19 + count):
        result = sweep.dispatch_due_reminders(now=MONDAY)

    assert result.sent == count == len(mail.outbox)
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == count
    # one link per appointment, each in the message its patient got
    links = PatientLink.objects.all()
    assert links.count() == count
    assert all(any(link.public_id in m.body for link in links) for m in mail.outbox)


def test_a_row_that_became_unknown_before_the_batch_was_marked_stays_unknown(
    open_clinic, clinician, room
):
    first, second = _due(clinician, room, 2)
    claimed = sweep.claim_due_reminders(now=MONDAY, limit=10)
    marks = sweep.SentMarks()
    for reminder in claimed:
        assert sweep.send_begin(reminder=reminder, now=MONDAY)
        marks.add(reminder, f"provider-{reminder.pk}")
    # the lease ran out on the second one while the batch was still being sent
    Reminder.objects.filter(pk=second.pk).update(status=ReminderStatus.UNKNOWN)

    lapsed = marks.flush(now=MONDAY)

    first.refresh_from_db()
    second.refresh_from_db()
    assert lapsed == [second.pk]
    assert (first.status, first.provider_id, first.attempts) == ("sent", f"provider-{first.pk}", 1)
    assert (second.status, second.provider_id) == ("unknown", "")


def _sweep_queries(*, batch_size: int) -> tuple[int, int]:
    """(the per-row "sending" marks, every other query) of one sweep."""
    with CaptureQueriesContext(connection) as captured:
        result = sweep.dispatch_due_reminders(now=MONDAY, batch_size=batch_size, mark_every=10)
    begins = [q for q in captured.captured_queries if "SET status = %s" in q["sql"]]
    begins += [q for q in captured.captured_queries if "SET status = 'sending'" in q["sql"]]
    assert result.sent == len(begins)
    return len(begins), len(captured.captured_queries) - len(begins)


@pytest.mark.parametrize("count", [10, 40])
def test_beyond_its_sending_marks_a_sweep_costs_a_constant_per_batch(
    open_clinic, clinician, room, count
):
    # given: `count` due emails, claimed 10 to a batch and marked sent 10 at a time
    _due(clinician, room, count)

    begins, others = _sweep_queries(batch_size=10)

    # then: one "sending" mark per reminder (its own commit, so a killed worker never leaves an
    # untried row `sending`), and everything else (claim, links, rendering, "sent" marks) a
    # fixed few per batch of 10, whatever the patients, sessions or links behind them
    batches = count // 10
    assert begins == count
    assert others <= 11 + 10 * batches
