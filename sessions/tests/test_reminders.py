"""The reminder outbox: rows follow the booking, the sweep sends each one once.

The failure modes of other clinic systems are the test plan (issue 7): reminders that never
fire, fire every hour, crash when nothing is due, keep texting people who replied STOP.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import Clinic
from patients.tests.factories import PatientFactory, ScreenedPatientFactory
from sessions.booking.plans import course_book
from sessions.booking.scheduling import (
    BookingRefused,
    session_book,
    session_cancel,
    session_move,
    session_no_show,
)
from sessions.models import (
    PlanStatus,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionStatus,
    TreatmentSession,
)
from sessions.outreach import preferences, sweep
from sessions.outreach.claim import claim_due_reminders
from sessions.outreach.links import patient_link_issue
from sessions.outreach.messaging import DeliveryFailed
from sessions.outreach.rows import reminders_backfill, reminders_on_session_completed
from sessions.outreach.sweep import (
    SweepResult,
    dispatch_due_reminders,
    group_begin,
)
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import (
    ReminderFactory,
    TreatmentSessionFactory,
)

CONSENTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def sms_to_files(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    return tmp_path / "sms"


@pytest.fixture
def patient(db):
    """Agreed to email reminders; prefers email."""
    return ScreenedPatientFactory(
        given_name="Priya", family_name="Patel", email_consent_at=CONSENTED
    )


@pytest.fixture
def texter(db):
    """Agreed to text reminders; prefers SMS."""
    return ScreenedPatientFactory(
        given_name="Tom",
        family_name="Texter",
        preferred_channel="sms",
        sms_consent_at=CONSENTED,
        mobile="+447700900555",
    )


def _book(clinic, patient, clinician, room, starts_at, desk_user, now=MONDAY):
    return session_book(
        clinic=clinic,
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=starts_at,
        by=desk_user,
        now=now,
    )


def _rows(session, **filters):
    return list(Reminder.objects.filter(session=session, **filters).order_by("due_at", "kind"))


def _sms_files(folder):
    return sorted(folder.glob("*.txt")) if folder.exists() else []


# Booking creates, moves and cancels rows in its own transaction --------------------------------


def test_booking_creates_a_confirmation_now_and_reminders_48_and_24_hours_before(
    open_clinic, clinician, room, patient, desk_user
):
    # when: booked on Monday 08:00 for Friday 10:00
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user
    )

    # then
    rows = _rows(session)
    assert [(r.kind, r.channel, r.status) for r in rows] == [
        (ReminderKind.BOOKING_CONFIRMATION, "email", ReminderStatus.PENDING),
        (ReminderKind.APPOINTMENT, "email", ReminderStatus.PENDING),
        (ReminderKind.APPOINTMENT, "email", ReminderStatus.PENDING),
    ]
    assert [r.due_at for r in rows] == [
        MONDAY,
        at(open_clinic, 2026, 11, 25, 10),
        at(open_clinic, 2026, 11, 26, 10),
    ]


def test_booking_a_course_sends_one_confirmation_listing_every_date(
    open_clinic, clinician, room, plan, desk_user
):
    # given three course dates two weeks apart
    starts = [at(open_clinic, 2026, 11, 27, 10), at(open_clinic, 2026, 12, 11, 10)]
    starts.append(at(open_clinic, 2026, 12, 24, 10))

    # when reception books the course in one step and the sweep runs
    booked = course_book(
        clinic=open_clinic,
        plan=plan,
        starts=starts,
        clinician=clinician,
        room=room,
        by=desk_user,
        now=MONDAY,
    )
    result = dispatch_due_reminders(now=MONDAY + timedelta(minutes=1))

    # then the patient gets one message naming all three dates, not three messages
    confirmations = Reminder.objects.filter(kind=ReminderKind.BOOKING_CONFIRMATION)
    assert [r.session_id for r in confirmations] == [booked[0].pk]
    assert result.sent == 1 and len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "3 sessions" in message.subject
    for day in ("Fri 27 Nov", "Fri 11 Dec", "Thu 24 Dec"):
        assert day in message.body
    ics = next(a for a in message.attachments if a[0].endswith(".ics"))[1]
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert ics.count("BEGIN:VEVENT") == 3
    # and each session still gets its own reminders before it
    for session in booked:
        assert len(_rows(session, kind=ReminderKind.APPOINTMENT)) == 2


def test_booking_for_tomorrow_skips_the_reminder_whose_time_has_passed(
    open_clinic, clinician, room, patient, desk_user
):
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 24, 14), desk_user
    )

    appointment = _rows(session, kind=ReminderKind.APPOINTMENT)
    assert [r.due_at for r in appointment] == [at(open_clinic, 2026, 11, 23, 14)]


def test_a_refused_booking_leaves_no_reminder(open_clinic, clinician, room, patient, desk_user):
    _book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)
    other = ScreenedPatientFactory(email_consent_at=CONSENTED)

    with pytest.raises(BookingRefused):
        _book(open_clinic, other, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)

    assert not Reminder.objects.filter(patient=other).exists()


def test_a_patient_who_agreed_to_no_channel_gets_no_reminder_rows(
    open_clinic, clinician, room, desk_user
):
    silent = ScreenedPatientFactory()

    session = _book(
        open_clinic, silent, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user
    )

    assert _rows(session) == []


def test_moving_a_session_moves_its_reminders_and_sends_one_reschedule_notice(
    open_clinic, clinician, room, patient, desk_user
):
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user
    )
    later = MONDAY + timedelta(hours=1)

    # when: moved to the next Wednesday 15:00, twice (there and back a day later)
    session_move(
        clinic=open_clinic,
        session=session,
        starts_at=at(open_clinic, 2026, 12, 2, 15),
        by=desk_user,
        now=later,
    )

    # then: still exactly two appointment reminders, at the new times; one notice
    pending = _rows(session, status=ReminderStatus.PENDING)
    assert [(r.kind, r.due_at) for r in pending] == [
        (ReminderKind.RESCHEDULE, later),
        (ReminderKind.APPOINTMENT, at(open_clinic, 2026, 11, 30, 15)),
        (ReminderKind.APPOINTMENT, at(open_clinic, 2026, 12, 1, 15)),
    ]
    # the unsent booking confirmation is replaced by the notice, not sent as well
    confirmation = Reminder.objects.get(session=session, kind=ReminderKind.BOOKING_CONFIRMATION)
    assert confirmation.status == ReminderStatus.CANCELLED


def test_moving_after_a_reminder_went_out_creates_the_one_for_the_new_time(
    open_clinic, clinician, room, patient, desk_user
):
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user
    )
    wednesday = at(open_clinic, 2026, 11, 25, 11)
    dispatch_due_reminders(now=wednesday)  # confirmation and the 48 h reminder go out
    assert len(mail.outbox) == 2

    session_move(
        clinic=open_clinic,
        session=session,
        starts_at=at(open_clinic, 2026, 12, 4, 10),
        by=desk_user,
        now=wednesday,
    )

    appointment = _rows(session, kind=ReminderKind.APPOINTMENT, status=ReminderStatus.PENDING)
    assert [r.due_at for r in appointment] == [
        at(open_clinic, 2026, 12, 2, 10),
        at(open_clinic, 2026, 12, 3, 10),
    ]


def test_a_refused_move_leaves_the_reminders_where_they_were(
    open_clinic, clinician, room, patient, desk_user
):
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user
    )
    before = [(r.kind, r.due_at, r.status) for r in _rows(session)]

    with pytest.raises(BookingRefused):
        session_move(
            clinic=open_clinic,
            session=session,
            starts_at=at(open_clinic, 2026, 11, 29, 10),  # Sunday: closed
            by=desk_user,
            now=MONDAY,
        )

    assert [(r.kind, r.due_at, r.status) for r in _rows(session)] == before


def test_cancelling_cancels_pending_reminders_and_sends_a_cancellation_notice(
    open_clinic, clinician, room, patient, desk_user
):
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user
    )
    # the patient was told of the booking (a cancellation of an appointment never announced
    # is dropped: test_patient_side.py)
    assert dispatch_due_reminders(now=MONDAY).sent == 1

    session_cancel(
        clinic=open_clinic,
        session=session,
        by_patient=True,
        reason="Patient is travelling",
        by=desk_user,
        now=MONDAY,
    )

    live = _rows(session, status=ReminderStatus.PENDING)
    assert [r.kind for r in live] == [ReminderKind.CANCELLATION]
    assert _rows(session, status=ReminderStatus.CANCELLED)
    assert all(
        r.last_error == "The appointment was cancelled."
        for r in _rows(session, status=ReminderStatus.CANCELLED)
    )
    result = dispatch_due_reminders(now=MONDAY)
    assert result.sent == 1
    assert "is cancelled" in mail.outbox[1].subject


def test_a_no_show_gets_a_follow_up_at_ten_the_next_local_day(
    open_clinic, clinician, room, patient, desk_user
):
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 24, 16), desk_user
    )

    session_no_show(
        clinic=open_clinic, session=session, by=desk_user, now=at(open_clinic, 2026, 11, 24, 17)
    )

    (follow_up,) = _rows(session, kind=ReminderKind.MISSED_SESSION)
    assert follow_up.due_at == at(open_clinic, 2026, 11, 25, 10)
    assert dispatch_due_reminders(now=at(open_clinic, 2026, 11, 25, 9, 59)).sent == 0
    assert dispatch_due_reminders(now=at(open_clinic, 2026, 11, 25, 10)).sent == 1
    assert "We missed you" in mail.outbox[-1].subject


def test_a_completed_session_sends_the_aftercare_advice(open_clinic, patient):
    session = TreatmentSessionFactory(
        patient=patient, starts_at=MONDAY + timedelta(hours=2), status=SessionStatus.COMPLETED
    )

    reminders_on_session_completed(session=session, now=MONDAY + timedelta(hours=3))
    dispatch_due_reminders(now=MONDAY + timedelta(hours=3))

    (message,) = mail.outbox
    assert "aftercare" in message.subject.lower()
    assert "Do not wash your hair" in message.body


def test_a_record_signed_days_after_its_session_sends_no_aftercare(open_clinic, patient):
    session = TreatmentSessionFactory(
        patient=patient, starts_at=MONDAY - timedelta(days=5), status=SessionStatus.COMPLETED
    )

    reminders_on_session_completed(session=session, now=MONDAY)

    assert _rows(session) == []


def test_aftercare_that_could_not_go_out_within_48_hours_expires(open_clinic, patient):
    session = TreatmentSessionFactory(
        patient=patient, starts_at=MONDAY, status=SessionStatus.COMPLETED
    )
    reminders_on_session_completed(session=session, now=MONDAY + timedelta(hours=1))

    result = dispatch_due_reminders(now=MONDAY + timedelta(days=3))

    assert (result.sent, result.expired) == (0, 1)
    assert mail.outbox == []


# The sweep -------------------------------------------------------------------------------------


def test_a_due_reminder_is_sent_by_one_sweep(open_clinic, clinician, room, patient, desk_user):
    """Failure mode: reminders that never fire."""
    _book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)

    result = dispatch_due_reminders(now=MONDAY)

    assert result.sent == 1
    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert "Friday 27 November 2026 at 10:00" in message.body
    assert "/r/" in message.body  # the patient's confirm / cancel link
    sent = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION)
    assert (sent.status, sent.sent_at, sent.attempts) == (ReminderStatus.SENT, MONDAY, 1)


def test_a_second_sweep_sends_nothing_again(open_clinic, clinician, room, patient, desk_user):
    """Failure mode: reminders that fire every hour."""
    _book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)
    dispatch_due_reminders(now=MONDAY)

    again = dispatch_due_reminders(now=MONDAY + timedelta(minutes=1))
    an_hour_later = dispatch_due_reminders(now=MONDAY + timedelta(hours=1))

    assert again.sent == an_hour_later.sent == 0
    assert len(mail.outbox) == 1


def test_every_reminder_of_a_booking_goes_out_once_over_the_week(
    open_clinic, clinician, room, patient, desk_user
):
    _book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)

    sent = 0
    for minute in range(0, 5 * 24 * 60, 30):  # a sweep every half hour until Friday
        sent += dispatch_due_reminders(now=MONDAY + timedelta(minutes=minute)).sent

    assert sent == 3
    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        "Your appointment at Test Hair Clinic",
        "Reminder",
        "Reminder",
    ]


def test_a_sweep_of_an_empty_outbox_returns_zeros(clinic):
    """Failure mode: crash when nothing is due."""
    result = dispatch_due_reminders(now=MONDAY)

    assert result.as_dict() == {
        "sent": 0,
        "deferred": 0,
        "expired": 0,
        "failed": 0,
        "unknown": 0,
        "cancelled": 0,
        "quiet": 0,
    }


def test_a_sweep_without_any_clinic_leaves_due_reminders_waiting(db, monkeypatch):
    # given: a due reminder, but no clinic set up yet (no zone or quiet hours to judge it by)
    reminder = ReminderFactory(due_at=MONDAY, send_after=MONDAY)
    monkeypatch.setattr(Clinic, "current", classmethod(lambda cls: None))

    # when
    result = dispatch_due_reminders(now=MONDAY)

    # then: nothing is claimed, sent or cancelled; the row waits for the clinic
    assert result.as_dict() == SweepResult().as_dict()
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.PENDING


def test_a_patient_who_replied_stop_gets_no_more_texts(
    open_clinic, clinician, room, texter, desk_user, sms_to_files
):
    """Failure mode: keep texting people who replied STOP."""
    _book(open_clinic, texter, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)
    dispatch_due_reminders(now=MONDAY)
    assert len(_sms_files(sms_to_files)) == 1
    # the patient replies STOP (recorded on the patient however it arrives)
    texter.sms_opt_out_at = MONDAY + timedelta(hours=1)
    texter.save(update_fields=["sms_opt_out_at"])

    result = dispatch_due_reminders(now=at(open_clinic, 2026, 11, 27, 9))

    assert result.sent == 0
    assert result.cancelled == 2
    assert len(_sms_files(sms_to_files)) == 1
    stopped = Reminder.objects.filter(kind=ReminderKind.APPOINTMENT)
    assert {(r.status, r.last_error) for r in stopped} == {
        (ReminderStatus.CANCELLED, "The patient opted out of text messages.")
    }


def test_a_reminder_whose_appointment_has_started_expires_instead_of_going_out(
    open_clinic, clinician, room, patient, desk_user
):
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 24, 10), desk_user
    )

    # the sweeps stopped (worker down) until after the appointment began
    result = dispatch_due_reminders(now=at(open_clinic, 2026, 11, 24, 10, 5))

    assert result.expired == 2
    assert result.sent == 0
    assert mail.outbox == []
    assert {r.status for r in _rows(session)} == {ReminderStatus.EXPIRED}


def test_a_reminder_left_sending_past_its_lease_becomes_unknown_and_is_never_resent(
    open_clinic, clinician, room, patient, desk_user
):
    _book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)
    # a worker claims the confirmation, begins its send and dies before marking it sent
    (claimed,) = claim_due_reminders(now=MONDAY, limit=10)
    assert group_begin(reminders=[claimed], now=MONDAY, clinic=open_clinic).sending == [claimed]

    within_lease = dispatch_due_reminders(now=MONDAY + timedelta(minutes=9))
    after_lease = dispatch_due_reminders(now=MONDAY + timedelta(minutes=11))
    dispatch_due_reminders(now=MONDAY + timedelta(hours=2))

    assert (within_lease.unknown, after_lease.unknown) == (0, 1)
    claimed.refresh_from_db()
    assert claimed.status == ReminderStatus.UNKNOWN
    assert "Check before sending it again" in claimed.last_error
    assert mail.outbox == []


def test_a_claimed_reminder_whose_send_never_began_goes_out_once_its_claim_lapses(
    open_clinic, clinician, room, patient, desk_user
):
    _book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)
    # a worker claims the confirmation and dies before trying it
    (claimed,) = claim_due_reminders(now=MONDAY, limit=10)
    claimed.refresh_from_db()
    assert claimed.status == ReminderStatus.PENDING

    # another sweep within the claim leaves it alone; the first after the claim lapses sends it
    assert dispatch_due_reminders(now=MONDAY + timedelta(minutes=1)).sent == 0
    assert dispatch_due_reminders(now=MONDAY + timedelta(minutes=3)).sent == 1
    claimed.refresh_from_db()
    assert claimed.status == ReminderStatus.SENT
    assert len(mail.outbox) == 1


def test_a_send_whose_claim_was_lost_is_not_made(open_clinic, clinician, room, patient, desk_user):
    _book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)
    (stale,) = claim_due_reminders(now=MONDAY, limit=10)
    # the claim lapsed and a later sweep took the row
    (fresh,) = claim_due_reminders(now=MONDAY + timedelta(minutes=3), limit=10)

    later = MONDAY + timedelta(minutes=3)
    assert group_begin(reminders=[stale], now=later, clinic=open_clinic).sending == []
    assert group_begin(reminders=[fresh], now=later, clinic=open_clinic).sending == [fresh]


def test_a_reminder_cancelled_by_a_booking_change_after_the_claim_is_not_sent(
    open_clinic, clinician, room, patient, desk_user
):
    # given: a sweep has claimed the confirmation of a booked appointment (its copy of the
    # session still reads "scheduled")
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user
    )
    (claimed,) = claim_due_reminders(now=MONDAY, limit=10)

    # when: reception cancels the appointment before the sweep's group begins
    session_cancel(
        clinic=open_clinic,
        session=session,
        by_patient=True,
        reason="Patient is travelling",
        by=desk_user,
        now=MONDAY,
    )
    start = group_begin(reminders=[claimed], now=MONDAY, clinic=open_clinic)

    # then: the begin does not take it, so it is not sent, and it stays cancelled
    assert start.sending == []
    claimed.refresh_from_db()
    assert claimed.status == ReminderStatus.CANCELLED
    assert claimed.last_error == "The appointment was cancelled."


def test_a_booking_cancelled_while_the_sweep_sends_an_earlier_group_gets_no_reminder(
    open_clinic, clinician, room, desk_user, monkeypatch
):
    # given: two patients' confirmations due in one claim, sent one to a group
    sessions = []
    for day in (26, 27):
        other = ScreenedPatientFactory(email_consent_at=CONSENTED)
        sessions.append(
            _book(
                open_clinic, other, clinician, room, at(open_clinic, 2026, 11, day, 10), desk_user
            )
        )
    first, second = (_rows(s, kind=ReminderKind.BOOKING_CONFIRMATION)[0] for s in sessions)
    delivered = []

    def cancelling_provider(*, reminder, message, clinic):
        # while the first goes out, reception cancels the second appointment
        if reminder.pk == first.pk:
            session_cancel(
                clinic=open_clinic,
                session=sessions[1],
                by_patient=True,
                reason="Patient is travelling",
                by=desk_user,
                now=MONDAY,
            )
        delivered.append(reminder.pk)
        return f"fake-{reminder.pk}"

    monkeypatch.setattr(sweep, "deliver_message", cancelling_provider)

    # when
    result = dispatch_due_reminders(now=MONDAY, mark_every=1)

    # then: only the first went out; the second ends cancelled with the booking's reason
    assert delivered == [first.pk]
    assert result.sent == 1
    second.refresh_from_db()
    assert (second.status, second.last_error) == (
        ReminderStatus.CANCELLED,
        "The appointment was cancelled.",
    )


def test_a_failing_provider_is_retried_with_backoff_then_the_reminder_fails(
    open_clinic, clinician, room, patient, desk_user, monkeypatch
):
    calls = []

    def refusing(*, reminder, message, clinic):
        calls.append(reminder.pk)
        raise DeliveryFailed("The mail server refused the message (SMTPDataError, SMTP 451).")

    monkeypatch.setattr(sweep, "deliver_message", refusing)
    _book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)
    confirmation = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION)

    # when: a sweep every minute for a quarter of an hour
    outcomes = []
    for minute in range(16):
        result = dispatch_due_reminders(now=MONDAY + timedelta(minutes=minute))
        outcomes.append((minute, result.deferred, result.failed))

    # then: attempts at 0, 1, 3, 7 and 15 minutes (1, 2, 4, 8 minutes apart), then failed
    assert [m for m, deferred, failed in outcomes if deferred or failed] == [0, 1, 3, 7, 15]
    assert outcomes[-1] == (15, 0, 1)
    confirmation.refresh_from_db()
    assert confirmation.status == ReminderStatus.FAILED
    assert confirmation.attempts == open_clinic.reminder_max_attempts == 5
    assert "SMTP 451" in confirmation.last_error
    assert patient.email not in confirmation.last_error
    assert len(calls) == 5


def test_an_unexpected_provider_error_keeps_patient_data_out_of_the_reason_and_the_log(
    open_clinic, clinician, room, patient, desk_user, monkeypatch, caplog
):
    def crashing(*, reminder, message, clinic):
        raise RuntimeError(f"cannot deliver to {reminder.patient.email}")

    monkeypatch.setattr(sweep, "deliver_message", crashing)
    _book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user)

    with caplog.at_level("DEBUG"):
        assert dispatch_due_reminders(now=MONDAY).deferred == 1

    assert "RuntimeError" in caplog.text
    assert patient.email not in caplog.text

    row = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION)
    assert row.last_error == "Sending failed (RuntimeError)."
    assert row.status == ReminderStatus.PENDING
    assert row.send_after == MONDAY + timedelta(minutes=1)


def test_a_sweep_cut_off_mid_batch_hands_untried_rows_back(
    open_clinic, clinician, room, patient, desk_user, monkeypatch
):
    from celery.exceptions import SoftTimeLimitExceeded

    for day in (24, 25, 26):
        other = ScreenedPatientFactory(email_consent_at=CONSENTED)
        _book(open_clinic, other, clinician, room, at(open_clinic, 2026, 11, day, 10), desk_user)

    def cut_off(*, reminder, message, clinic):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(sweep, "deliver_message", cut_off)
    with pytest.raises(SoftTimeLimitExceeded):
        dispatch_due_reminders(now=MONDAY)

    statuses = sorted(
        Reminder.objects.filter(kind=ReminderKind.BOOKING_CONFIRMATION).values_list(
            "status", flat=True
        )
    )
    # the one being sent may have reached the provider: it is left to become unknown
    assert statuses == ["pending", "pending", "sending"]


# Quiet hours ------------------------------------------------------------------------------------


def test_a_booking_made_late_in_the_evening_is_confirmed_when_quiet_hours_end(
    open_clinic, clinician, room, patient, desk_user
):
    evening = at(open_clinic, 2026, 11, 23, 21, 30)
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user, evening
    )

    confirmation = _rows(session, kind=ReminderKind.BOOKING_CONFIRMATION)[0]
    assert confirmation.due_at == evening
    assert confirmation.send_after == at(open_clinic, 2026, 11, 24, 8)
    assert dispatch_due_reminders(now=evening + timedelta(minutes=1)).sent == 0
    assert dispatch_due_reminders(now=at(open_clinic, 2026, 11, 24, 8)).sent == 1


def test_quiet_hours_follow_the_patients_own_time_zone(open_clinic, clinician, room, desk_user):
    # 10:00 London is 05:00 in New York: inside the patient's night.
    abroad = ScreenedPatientFactory(email_consent_at=CONSENTED, time_zone="America/New_York")
    session = _book(
        open_clinic, abroad, clinician, room, at(open_clinic, 2026, 11, 27, 15), desk_user
    )

    reminder_24h = _rows(session, kind=ReminderKind.APPOINTMENT)[-1]
    assert reminder_24h.due_at == at(open_clinic, 2026, 11, 26, 15)  # 10:00 New York: not quiet
    assert reminder_24h.send_after == reminder_24h.due_at
    booked_at = _rows(session, kind=ReminderKind.BOOKING_CONFIRMATION)[0]
    new_york_8am = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("America/New_York"))
    assert booked_at.send_after == new_york_8am  # MONDAY is 03:00 in New York


def test_quiet_hours_end_at_eight_on_the_wall_clock_across_the_spring_change(clinic):
    patient = ScreenedPatientFactory(email_consent_at=CONSENTED)
    # Saturday 28 March 2026, 23:00 GMT; the clocks go forward that night.
    late = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)

    send_after = preferences.send_after_for(
        patient=patient, clinic=clinic, due_at=late, appointment_at=None
    )

    assert send_after == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 08:00 BST
    assert send_after.astimezone(clinic.zone).time() == time(8, 0)


def test_a_reminder_that_would_wait_past_its_appointment_goes_at_its_due_time(clinic):
    patient = ScreenedPatientFactory(email_consent_at=CONSENTED)
    late = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)

    send_after = preferences.send_after_for(
        patient=patient, clinic=clinic, due_at=late, appointment_at=late + timedelta(hours=9)
    )

    assert send_after == late


# Periodic prompts -------------------------------------------------------------------------------


def _completed_plan(plan, *, last_session_at, due_on):
    TreatmentSessionFactory(
        patient=plan.patient,
        plan=plan,
        starts_at=last_session_at,
        status=SessionStatus.COMPLETED,
    )
    plan.status = PlanStatus.COMPLETED
    plan.maintenance_due_on = plan.maintenance_prompt_on = due_on
    plan.save(update_fields=["status", "maintenance_due_on", "maintenance_prompt_on"])
    return plan


def test_maintenance_is_prompted_when_due_and_again_each_interval(open_clinic, plan):
    plan.patient.email_consent_at = CONSENTED
    plan.patient.save(update_fields=["email_consent_at"])
    _completed_plan(
        plan, last_session_at=datetime(2026, 7, 20, 10, tzinfo=UTC), due_on=date(2026, 11, 20)
    )

    first = dispatch_due_reminders(now=MONDAY)
    again = dispatch_due_reminders(now=MONDAY + timedelta(hours=3))
    # four months later (the clinic's interval), still on maintenance
    next_round = dispatch_due_reminders(now=datetime(2027, 3, 20, 10, 30, tzinfo=UTC))

    assert (first.sent, again.sent, next_round.sent) == (1, 0, 1)
    prompts = Reminder.objects.filter(plan=plan, kind=ReminderKind.MAINTENANCE).order_by("due_at")
    assert [r.due_at.date() for r in prompts] == [date(2026, 11, 20), date(2027, 3, 20)]
    assert "next visit" in mail.outbox[0].subject


def test_maintenance_prompts_stop_once_the_patient_has_lapsed(open_clinic, plan):
    # given: maintenance due 20 November 2026, never booked; the clinic recalls for 12 months
    plan.patient.email_consent_at = CONSENTED
    plan.patient.save(update_fields=["email_consent_at"])
    _completed_plan(
        plan, last_session_at=datetime(2026, 7, 20, 10, tzinfo=UTC), due_on=date(2026, 11, 20)
    )

    # when: the sweep runs at each prompt date, due, +4, +8, +12 and +16 months
    sent = [
        dispatch_due_reminders(now=datetime(*day, 10, 30, tzinfo=UTC)).sent
        for day in ((2026, 11, 20), (2027, 3, 20), (2027, 7, 20), (2027, 11, 20), (2028, 3, 20))
    ]

    # then: prompted while overdue up to 12 months (the 20 November 2027 one is 12 months on,
    # the last day still recalled); none once lapsed
    assert sent == [1, 1, 1, 1, 0]
    assert Reminder.objects.filter(plan=plan, kind=ReminderKind.MAINTENANCE).count() == 4


def test_an_overdue_prompt_found_at_night_waits_for_the_end_of_quiet_hours(open_clinic, plan):
    # given a maintenance prompt due days ago, first noticed by the 06:00 sweep
    plan.patient.email_consent_at = CONSENTED
    plan.patient.save(update_fields=["email_consent_at"])
    _completed_plan(
        plan, last_session_at=datetime(2026, 7, 20, 10, tzinfo=UTC), due_on=date(2026, 11, 20)
    )
    early = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 06:00 in London: inside 20:00–08:00

    # when
    night = dispatch_due_reminders(now=early)
    morning = dispatch_due_reminders(now=datetime(2026, 11, 23, 8, 1, tzinfo=UTC))

    # then it goes when the patient's quiet hours end, not at 06:00
    assert (night.sent, morning.sent) == (0, 1)
    prompt = Reminder.objects.get(plan=plan, kind=ReminderKind.MAINTENANCE)
    assert prompt.send_after == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_maintenance_is_not_prompted_when_a_visit_is_already_booked_or_the_plan_stopped(
    open_clinic, plan, clinician, room, desk_user
):
    plan.patient.email_consent_at = CONSENTED
    plan.patient.save(update_fields=["email_consent_at"])
    _completed_plan(
        plan, last_session_at=datetime(2026, 7, 20, 10, tzinfo=UTC), due_on=date(2026, 11, 20)
    )
    booked = _book(
        open_clinic, plan.patient, clinician, room, at(open_clinic, 2026, 12, 1, 10), desk_user
    )

    dispatch_due_reminders(now=MONDAY)

    assert not Reminder.objects.filter(kind=ReminderKind.MAINTENANCE).exists()
    assert booked.pk


def test_a_screening_that_lapses_before_the_next_session_prompts_a_rescreen_once(
    open_clinic, clinician, room, desk_user
):
    from patients.tests.factories import ScreeningFactory

    patient = PatientFactory(email_consent_at=CONSENTED)
    # screened 85 days before the session: it lapses (90 days) before the one after
    ScreeningFactory(patient=patient, screened_on=date(2026, 9, 1))
    session = TreatmentSession.objects.create(
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=at(open_clinic, 2026, 12, 2, 10),
        ends_at=at(open_clinic, 2026, 12, 2, 10, 45),
    )

    first = dispatch_due_reminders(now=MONDAY)
    again = dispatch_due_reminders(now=MONDAY + timedelta(hours=1))

    prompts = Reminder.objects.filter(kind=ReminderKind.RESCREENING)
    assert [r.session_id for r in prompts] == [session.pk]
    assert (first.sent, again.sent) == (1, 0)
    assert "health questionnaire" in mail.outbox[0].body


# The demo backfill ------------------------------------------------------------------------------


def test_backfill_gives_sessions_written_directly_their_reminders_once(
    open_clinic, clinician, room, patient
):
    session = TreatmentSession.objects.create(
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=at(open_clinic, 2026, 11, 27, 10),
        ends_at=at(open_clinic, 2026, 11, 27, 10, 45),
    )

    reminders_backfill(now=MONDAY)
    reminders_backfill(now=MONDAY + timedelta(minutes=5))

    assert sorted(r.kind for r in _rows(session)) == [
        ReminderKind.APPOINTMENT,
        ReminderKind.APPOINTMENT,
        ReminderKind.BOOKING_CONFIRMATION,
    ]


def test_backfill_confirms_a_course_written_directly_once_not_per_session(
    open_clinic, clinician, room, plan
):
    sessions = [
        TreatmentSession.objects.create(
            patient=plan.patient,
            plan=plan,
            sequence=n,
            clinician=clinician,
            room=room,
            starts_at=at(open_clinic, 2026, month, day, 10),
            ends_at=at(open_clinic, 2026, month, day, 10, 45),
        )
        for n, (month, day) in ((1, (11, 26)), (2, (12, 3)))
    ]

    reminders_backfill(now=MONDAY)

    confirmations = Reminder.objects.filter(kind=ReminderKind.BOOKING_CONFIRMATION)
    assert [r.session_id for r in confirmations] == [sessions[0].pk]


# Bounded queries --------------------------------------------------------------------------------


def _due_reminders(n: int, *, clinician, room, open_clinic):
    patients = ScreenedPatientFactory.create_batch(n, email_consent_at=CONSENTED)
    start = at(open_clinic, 2026, 12, 1, 9)
    sessions = TreatmentSession.objects.bulk_create(
        TreatmentSession(
            patient=p,
            clinician=clinician,
            room=room,
            starts_at=start + timedelta(minutes=i),
            ends_at=start + timedelta(minutes=i + 1),
        )
        for i, p in enumerate(patients)
    )
    # Their booking confirmations went out earlier, so each session has its patient link.
    for session in sessions:
        patient_link_issue(session=session, now=MONDAY - timedelta(days=2))
    Reminder.objects.bulk_create(
        Reminder(
            kind=ReminderKind.APPOINTMENT,
            channel="email",
            patient=s.patient,
            session=s,
            due_at=MONDAY,
            send_after=MONDAY,
        )
        for s in sessions
    )


def test_a_sweep_of_a_thousand_due_reminders_keeps_its_queries_per_batch_bounded(
    open_clinic, clinician, room
):
    _due_reminders(1000, clinician=clinician, room=room, open_clinic=open_clinic)
    batch = 50

    with CaptureQueriesContext(connection) as queries:
        result = dispatch_due_reminders(now=MONDAY, batch_size=batch, budget_seconds=600)

    assert result.sent == 1000
    assert len(mail.outbox) == 1000
    batches = 1000 // batch + 1  # the last claim finds nothing
    groups = 1000 // sweep.MARK_EVERY + 1  # the sweep's first group is FIRST_GROUP rows
    # Per batch: the claim (savepoints, select, update, fetch, links prefetch). Per group: the
    # conditional mark-sending as its sends begin and the conditional mark-sent, one UPDATE
    # each. Nothing per reminder. Plus a constant for leases and the periodic prompts.
    per_batch, per_group = 7, 2
    assert len(queries) <= 20 + per_batch * batches + per_group * groups
