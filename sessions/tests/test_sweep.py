"""The sweep's cost per reminder: what it renders, how it marks, how it issues links."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext, override_settings

from patients.models import Patient
from patients.tests.factories import PatientFactory
from sessions.booking.scheduling import session_book, session_cancel
from sessions.models import (
    PatientLink,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionKind,
    TreatmentSession,
)
from sessions.outreach import sweep
from sessions.outreach.claim import claim_due_reminders
from sessions.outreach.messages import render_reminder
from sessions.outreach.messaging import SmsBackend
from sessions.outreach.online_booking import online_booking_start, online_slots
from sessions.outreach.waitlist import waitlist_join
from sessions.tests.conftest import MONDAY
from sessions.tests.factories import (
    SessionRecordFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)

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
def test_a_sweeps_queries_do_not_grow_with_its_reminders(
    open_clinic, clinician, room, count, django_assert_max_num_queries
):
    _due(clinician, room, count)

    # Rows cost nothing each: the "sending" and "sent" marks are one statement per group, and
    # rendering and links nothing per row. 40 rows are two groups (a sweep's first group, before
    # it has timed a send, is FIRST_GROUP rows), so two statements more than one row.
    groups = 1 if count <= sweep.FIRST_GROUP else 2
    with django_assert_max_num_queries(14 + 2 * groups):
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
    claimed = claim_due_reminders(now=MONDAY, limit=10)
    marks = sweep.SentMarks()
    assert sweep.group_begin(reminders=claimed, now=MONDAY, clinic=open_clinic).sending == claimed
    for reminder in claimed:
        marks.add(reminder, f"provider-{reminder.pk}")
    # the lease ran out on the second one while the batch was still being sent
    Reminder.objects.filter(pk=second.pk).update(status=ReminderStatus.UNKNOWN)

    lapsed = marks.flush(now=MONDAY)

    first.refresh_from_db()
    second.refresh_from_db()
    assert lapsed == [second.pk]
    assert (first.status, first.provider_id, first.attempts) == ("sent", f"provider-{first.pk}", 1)
    assert (second.status, second.provider_id) == ("unknown", "")


BEGIN = re.compile(r"""SET "?status"? = 'sending'""")
MARK_SENT = re.compile(r"""SET "?status"? = 'sent'""")


@pytest.mark.parametrize("count", [10, 40])
def test_a_sweep_begins_and_marks_its_rows_a_group_at_a_time(open_clinic, clinician, room, count):
    # given: `count` due emails, claimed 10 to a batch and sent in groups of 5
    _due(clinician, room, count)

    with CaptureQueriesContext(connection) as captured:
        result = sweep.dispatch_due_reminders(now=MONDAY, batch_size=10, mark_every=5)

    # then: one "sending" and one "sent" statement per group of 5, never one per reminder, and
    # everything else (claim, links, rendering) a fixed few per batch of 10, whatever the
    # patients, sessions or links behind them
    statements = [q["sql"] for q in captured.captured_queries]
    groups, batches = count // 5, count // 10
    assert result.sent == count
    assert len([s for s in statements if BEGIN.search(s)]) == groups
    assert len([s for s in statements if MARK_SENT.search(s)]) == groups
    assert len(statements) <= 11 + 6 * batches + 2 * groups


def test_a_worker_killed_mid_group_leaves_only_that_group_to_the_lease(
    open_clinic, clinician, room
):
    # given: five due reminders claimed by a worker that began a group of two and was killed
    reminders = _due(clinician, room, 5)
    claimed = claim_due_reminders(now=MONDAY, limit=10)
    begun = sweep.group_begin(reminders=claimed[:2], now=MONDAY, clinic=open_clinic).sending
    assert begun == reminders[:2]

    # when: the next sweeps run once the claim has lapsed, then once the lease has run out
    after_claim = sweep.dispatch_due_reminders(now=MONDAY + timedelta(minutes=3))
    after_lease = sweep.dispatch_due_reminders(now=MONDAY + timedelta(minutes=11))
    sweep.dispatch_due_reminders(now=MONDAY + timedelta(hours=2))

    # then: the three never begun went out once; the begun group is unknown and never sent
    assert (after_claim.sent, after_claim.unknown) == (3, 0)
    assert (after_lease.sent, after_lease.unknown) == (0, 2)
    statuses = [Reminder.objects.get(pk=r.pk).status for r in reminders]
    assert statuses == [ReminderStatus.UNKNOWN] * 2 + [ReminderStatus.SENT] * 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.patient.email for r in reminders[2:])


class SteppedClock:
    """The sweep's monotonic clock, moved on by the test."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def test_a_sweep_out_of_time_mid_group_hands_back_the_rows_it_began_but_never_tried(
    open_clinic, clinician, room, monkeypatch
):
    # given: three due emails in one group, and a provider so slow the first uses the budget
    reminders = _due(clinician, room, 3)
    clock = SteppedClock()
    monkeypatch.setattr(sweep, "monotonic_clock", clock)
    real_deliver = sweep.deliver_message

    def slow(**kwargs):
        clock.now += 60
        return real_deliver(**kwargs)

    monkeypatch.setattr(sweep, "deliver_message", slow)

    # when
    result = sweep.dispatch_due_reminders(now=MONDAY, budget_seconds=40)

    # then: the first went out; the two begun with it are pending again, claim released, so the
    # very next sweep sends them instead of the lease turning them unknown
    assert result.sent == 1
    rows = [Reminder.objects.get(pk=r.pk) for r in reminders]
    assert [(r.status, r.claimed_at) for r in rows[1:]] == [(ReminderStatus.PENDING, None)] * 2
    monkeypatch.setattr(sweep, "deliver_message", real_deliver)
    assert sweep.dispatch_due_reminders(now=MONDAY + timedelta(minutes=1)).sent == 2
    assert len(mail.outbox) == 3


def test_a_group_judges_each_of_its_rows_before_any_is_sent(
    open_clinic, clinician, room, monkeypatch
):
    # given: four due emails in one group: a patient in quiet hours until 09:00, an appointment
    # that has started, a patient who opted out of email, and one that may go
    quiet, started, opted_out, sendable = _due(clinician, room, 4)
    Patient.objects.filter(pk=quiet.patient_id).update(
        quiet_hours_start=time(7), quiet_hours_end=time(9)
    )
    TreatmentSession.objects.filter(pk=started.session_id).update(
        starts_at=MONDAY - timedelta(minutes=5), ends_at=MONDAY + timedelta(minutes=40)
    )
    Patient.objects.filter(pk=opted_out.patient_id).update(email_opt_out_at=CONSENTED)
    delivered = []

    def provider(*, reminder, message, clinic):
        delivered.append(reminder.pk)
        return f"fake-{reminder.pk}"

    monkeypatch.setattr(sweep, "deliver_message", provider)

    # when
    result = sweep.dispatch_due_reminders(now=MONDAY)

    # then: only the one that may go reached the provider; each other ended as its own rule says
    assert delivered == [sendable.pk]
    assert (result.sent, result.quiet, result.expired, result.cancelled) == (1, 1, 1, 1)
    rows = Reminder.objects.in_bulk()
    assert (rows[quiet.pk].status, rows[quiet.pk].send_after, rows[quiet.pk].claimed_at) == (
        ReminderStatus.PENDING,
        MONDAY + timedelta(hours=1),
        None,
    )
    assert (rows[started.pk].status, rows[started.pk].last_error) == (
        ReminderStatus.EXPIRED,
        "The appointment had started before this could be sent.",
    )
    assert (rows[opted_out.pk].status, rows[opted_out.pk].last_error) == (
        ReminderStatus.CANCELLED,
        "The patient opted out of email.",
    )
    assert (rows[sendable.pk].status, rows[sendable.pk].provider_id) == (
        ReminderStatus.SENT,
        f"fake-{sendable.pk}",
    )


@pytest.mark.parametrize("returning", [True, False], ids=["update-returning", "read-then-write"])
def test_a_group_begins_and_is_marked_only_where_the_rows_are_still_its_own(
    open_clinic, clinician, room, monkeypatch, returning
):
    # given: three claimed rows, on a database with or without UPDATE … RETURNING (SQLite
    # before 3.35 has none)
    first, cancelled, lapsed = _due(clinician, room, 3)
    claimed = claim_due_reminders(now=MONDAY, limit=10)
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", returning)
    Reminder.objects.filter(pk=cancelled.pk).update(status=ReminderStatus.CANCELLED)

    # when: the group begins, is sent, and one row's lease runs out before it is marked
    began = sweep.group_begin(reminders=claimed, now=MONDAY, clinic=open_clinic).sending
    marks = sweep.SentMarks()
    for reminder in began:
        marks.add(reminder, f"provider-{reminder.pk}")
    Reminder.objects.filter(pk=lapsed.pk).update(status=ReminderStatus.UNKNOWN)
    unmarked = marks.flush(now=MONDAY)

    # then: the cancelled row was not begun, the lapsed one was not marked
    assert began == [first, lapsed]
    assert unmarked == [lapsed.pk]
    rows = Reminder.objects.in_bulk()
    assert [(rows[r.pk].status, rows[r.pk].provider_id) for r in (first, cancelled, lapsed)] == [
        (ReminderStatus.SENT, f"provider-{first.pk}"),
        (ReminderStatus.CANCELLED, ""),
        (ReminderStatus.UNKNOWN, ""),
    ]


class SlowProvider:
    """A provider that takes `seconds` a message, on a clock the sweep reads (no real waiting)."""

    def __init__(self, seconds: float):
        self.now, self.seconds = 0.0, seconds

    def monotonic(self) -> float:
        return self.now

    def deliver(self, **kwargs) -> str:
        self.now += self.seconds
        return "provider-id"


def test_a_slow_provider_gets_small_groups_so_a_booking_change_is_never_long_behind(
    open_clinic, clinician, room, monkeypatch
):
    # given: twenty due emails and a provider that takes 0.4 s each
    _due(clinician, room, 20)
    provider = SlowProvider(seconds=0.4)
    monkeypatch.setattr(sweep, "monotonic_clock", provider)
    monkeypatch.setattr(sweep, "deliver_message", provider.deliver)
    begun = []
    group_begin = sweep.group_begin
    monkeypatch.setattr(
        sweep,
        "group_begin",
        lambda *, reminders, **kw: (
            begun.append(len(reminders)) or group_begin(reminders=reminders, **kw)
        ),
    )

    # when: one sweep sends them
    result = sweep.dispatch_due_reminders(now=MONDAY)

    # then: after the first group, each group holds about a second of sends (two texts), not
    # MARK_EVERY: a row turns `sending`, which a booking change can no longer stop, at most
    # about a second before its own send
    assert result.sent == 20
    assert begun == [sweep.FIRST_GROUP] + [2] * 7 + [1]


@pytest.mark.parametrize(
    ("sends", "seconds", "size"),
    [(0, 0.0, sweep.FIRST_GROUP), (100, 0.05, sweep.MARK_EVERY), (5, 2.5, 2), (3, 6.0, 1)],
)
def test_a_group_holds_about_a_second_of_sends_at_the_pace_measured(sends, seconds, size):
    assert sweep.group_size(sends=sends, send_seconds=seconds, most=sweep.MARK_EVERY) == size


@pytest.fixture
def deferred_loads(monkeypatch):
    """The fields the sweep fetched one row at a time because the claim had left them out."""
    loads = []
    original = Model.refresh_from_db

    def refresh_from_db(self, *args, fields=None, **kwargs):
        loads.append((type(self).__name__, tuple(fields or ())))
        return original(self, *args, fields=fields, **kwargs)

    monkeypatch.setattr(Model, "refresh_from_db", refresh_from_db)
    return loads


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_the_claim_reads_all_that_any_kind_of_message_needs(
    open_clinic, clinician, room, channel, deferred_loads
):
    # given: a due row of every kind, each with the rows its message is made of: the patient,
    # the session and its plan, a signed record's aftercare, an online booking's code, a
    # waitlist offer's time and link
    with time_machine.travel(MONDAY, tick=False):
        plan = TreatmentPlanFactory(
            patient=PatientFactory(
                email_consent_at=CONSENTED, sms_consent_at=CONSENTED, mobile="+447700900555"
            )
        )
        patient = plan.patient
        session = TreatmentSessionFactory(
            patient=patient, plan=plan, clinician=clinician, room=room,
            starts_at=MONDAY + timedelta(days=7, hours=2),
            ends_at=MONDAY + timedelta(days=7, hours=2, minutes=45),
        )  # fmt: skip
        treated = TreatmentSessionFactory(
            patient=patient, plan=plan, clinician=clinician, room=room, status="completed",
            starts_at=MONDAY - timedelta(hours=3), ends_at=MONDAY - timedelta(hours=2),
        )  # fmt: skip
        SessionRecordFactory(
            session=treated, aftercare_given="No hair wash for 12 hours.", signed_at=MONDAY
        )
        for kind in ReminderKind.values:
            if kind in (ReminderKind.VERIFICATION_CODE, ReminderKind.WAITLIST_OFFER):
                continue  # made below by their own flows, with their booking and offer
            Reminder.objects.create(
                kind=kind,
                channel=channel,
                patient=patient,
                session=treated if kind == ReminderKind.AFTERCARE else session,
                plan=plan,
                due_at=MONDAY,
                send_after=MONDAY,
            )
        slot = online_slots(clinic=open_clinic, now=MONDAY)[0]
        online_booking_start(
            clinic=open_clinic, slot_key=slot.key, now=MONDAY, given_name="Nina",
            family_name="New", date_of_birth=date(1990, 4, 2), email="nina@example.org",
            mobile="+447700900556", code_channel=channel,
        )  # fmt: skip
        waitlist_join(
            patient=patient, kind=SessionKind.ASSESSMENT, earliest_day=date(2026, 11, 23),
            latest_day=date(2026, 11, 30), by=None, now=MONDAY, clinic=open_clinic,
        )  # fmt: skip
        freed = session_book(
            clinic=open_clinic, patient=PatientFactory(), clinician=clinician, room=room,
            starts_at=MONDAY + timedelta(days=2, hours=2), by=None, now=MONDAY,
            kind=SessionKind.ASSESSMENT,
        )  # fmt: skip
        session_cancel(
            clinic=open_clinic, session=freed, by_patient=True, reason="ill", by=None, now=MONDAY
        )
    Reminder.objects.exclude(patient=patient).exclude(patient=None).delete()
    Reminder.objects.update(channel=channel, due_at=MONDAY, send_after=MONDAY)
    kinds = set(Reminder.objects.values_list("kind", flat=True))
    assert kinds == set(ReminderKind.values)

    # when: one sweep sends them all
    deferred_loads.clear()  # the fixtures' own reads
    KeptSms.texts.clear()
    with override_settings(SMS_BACKEND="sessions.tests.test_sweep.KeptSms"):
        result = sweep.dispatch_due_reminders(now=MONDAY)

    # then: every message went out, and none had to read a field of its row one at a time
    assert result.sent == Reminder.objects.count(), result.as_dict()
    assert deferred_loads == []
    if channel == "email":  # the signed record's own aftercare (a text gives the clinic's)
        assert any("No hair wash for 12 hours." in m.body for m in mail.outbox)
    else:  # each to its own recipient's mobile: the code to the person who asked at /book/
        code = Reminder.objects.get(kind=ReminderKind.VERIFICATION_CODE).pk
        assert len(KeptSms.texts) == result.sent
        assert {to for key, to in KeptSms.texts if key != str(code)} == {"+447700900555"}
        assert [to for key, to in KeptSms.texts if key == str(code)] == ["+447700900556"]


class KeptSms(SmsBackend):
    """Keeps the texts it is given (idempotency key, number), for a test to read."""

    texts: list[tuple[str, str]] = []

    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        KeptSms.texts.append((idempotency_key, to))
        return f"kept-{idempotency_key}"
