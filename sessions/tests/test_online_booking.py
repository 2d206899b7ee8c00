"""Online booking of a consultation (sessions/outreach/online_booking.py): the slots offered,
the one-time code through the outbox, holding the slot with session_book, matching the person
to a patient, and reception approving or declining."""

from datetime import date, timedelta

import pytest
import time_machine

from clinic.refusals import BookingRefused, OutreachRefused
from clinic.roles import Role
from patients.models import Patient
from patients.tests.factories import PatientFactory
from sessions.booking.scheduling import session_book, session_move
from sessions.models import (
    OnlineBooking,
    OnlineBookingStatus,
    Reminder,
    ReminderKind,
    SessionKind,
    SessionStatus,
    TreatmentSession,
)
from sessions.outreach.messages import render_reminder
from sessions.outreach.online_booking import (
    booking_code,
    online_booking_approve,
    online_booking_decline,
    online_booking_start,
    online_booking_verify,
    online_slots,
    provisional_merge,
)
from sessions.outreach.rows import reminders_backfill
from sessions.tests.conftest import MONDAY, at


@pytest.fixture
def now():
    with time_machine.travel(MONDAY, tick=False):
        yield MONDAY


def start(clinic, slot, now, **overrides):
    details = {
        "given_name": "Nina",
        "family_name": "New",
        "date_of_birth": date(1990, 4, 2),
        "email": "nina@example.org",
        "mobile": "+447700900555",
        "code_channel": "sms",
    }
    details.update(overrides)
    return online_booking_start(clinic=clinic, slot_key=slot.key, now=now, **details)


def verified(clinic, room, clinician, now, **overrides):
    slot = online_slots(clinic=clinic, now=now)[0]
    booking = start(clinic, slot, now, **overrides)
    return online_booking_verify(
        booking=booking, code=booking_code(booking=booking), clinic=clinic, now=now
    )


def test_slots_respect_notice_window_and_who_takes_online_bookings(
    open_clinic, clinician, room, staff, now
):
    other = staff(Role.CLINICIAN, display_name="Dr Offline", offers_online_consultations=False)
    slots = online_slots(clinic=open_clinic, now=now)
    assert slots, "the clinician's free times are offered"
    # Minimum notice 24 h from Monday 08:00: the first is Tuesday 09:00, the clinic's opening.
    assert slots[0].starts_at == at(open_clinic, 2026, 11, 24, 9)
    assert all(s.clinician == clinician for s in slots)
    assert other not in {s.clinician for s in slots}
    assert max(s.starts_at for s in slots) <= now + timedelta(days=28)


def test_no_slots_when_the_clinic_turned_online_booking_off(open_clinic, clinician, room, now):
    open_clinic.online_booking_kinds = ""
    open_clinic.save()
    assert online_slots(clinic=open_clinic, now=now) == []


def test_a_booked_time_is_not_offered(open_clinic, clinician, room, patient, now):
    first = online_slots(clinic=open_clinic, now=now)[0]
    session_book(
        clinic=open_clinic,
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=first.starts_at,
        by=None,
        now=now,
        kind=SessionKind.ASSESSMENT,
    )
    assert first.starts_at not in [s.starts_at for s in online_slots(clinic=open_clinic, now=now)]


def test_starting_holds_nothing_and_queues_the_code_in_the_outbox(
    open_clinic, clinician, room, now
):
    slot = online_slots(clinic=open_clinic, now=now)[0]
    booking = start(open_clinic, slot, now)
    assert not TreatmentSession.objects.exists()
    assert not Patient.objects.exists()
    row = Reminder.objects.get(online_booking=booking)
    assert row.kind == ReminderKind.VERIFICATION_CODE and row.patient is None
    assert row.send_after == now  # the person is waiting: no quiet hours
    message = render_reminder(reminder=row, clinic=open_clinic, now=now)
    assert booking_code(booking=booking) in message.sms
    assert "Test Hair Clinic" in message.sms
    assert "consult" not in message.sms.lower() and "hair" not in message.sms.lower().replace(
        "test hair clinic", ""
    )


def test_a_wrong_code_counts_and_five_end_the_request(open_clinic, clinician, room, now):
    slot = online_slots(clinic=open_clinic, now=now)[0]
    booking = start(open_clinic, slot, now)
    right = booking_code(booking=booking)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for tries_left in (4, 3, 2, 1):
        with pytest.raises(OutreachRefused, match=f"{tries_left} tr"):
            online_booking_verify(booking=booking, code=wrong, clinic=open_clinic, now=now)
    with pytest.raises(OutreachRefused, match="no tries are left"):
        online_booking_verify(booking=booking, code=wrong, clinic=open_clinic, now=now)
    with pytest.raises(OutreachRefused, match="expired"):
        online_booking_verify(booking=booking, code=right, clinic=open_clinic, now=now)
    assert not TreatmentSession.objects.exists()


def test_an_expired_code_holds_nothing(open_clinic, clinician, room, now):
    slot = online_slots(clinic=open_clinic, now=now)[0]
    booking = start(open_clinic, slot, now)
    later = now + timedelta(minutes=16)
    with pytest.raises(OutreachRefused, match="expired"):
        online_booking_verify(
            booking=booking, code=booking_code(booking=booking), clinic=open_clinic, now=later
        )
    assert not TreatmentSession.objects.exists()


def test_the_right_code_books_a_consultation_for_a_provisional_patient(
    open_clinic, clinician, room, now
):
    booking = verified(open_clinic, room, clinician, now)
    session = booking.session
    assert session.kind == SessionKind.ASSESSMENT
    assert session.status == SessionStatus.SCHEDULED
    assert booking.status == OnlineBookingStatus.PENDING
    patient = booking.patient
    assert patient.is_provisional and not booking.matched_existing
    assert patient.record_number.startswith("MT")
    assert patient.sms_consent_at == now and patient.email_consent_at is None
    kinds = set(Reminder.objects.filter(session=session).values_list("kind", flat=True))
    assert ReminderKind.ONLINE_BOOKING_RECEIVED in kinds
    assert ReminderKind.BOOKING_CONFIRMATION not in kinds  # reception has not approved yet


def test_verified_contact_and_date_of_birth_match_the_existing_patient(
    open_clinic, clinician, room, now
):
    known = PatientFactory(date_of_birth=date(1990, 4, 2), mobile="+447700900555", email="x@y.org")
    booking = verified(open_clinic, room, clinician, now)
    assert booking.patient == known and booking.matched_existing
    assert Patient.objects.count() == 1


def test_an_unverified_contact_never_matches(open_clinic, clinician, room, now):
    # The email matches, but the code went by SMS to another mobile: not proof of the email.
    PatientFactory(date_of_birth=date(1990, 4, 2), email="nina@example.org", mobile="+447700900999")
    booking = verified(open_clinic, room, clinician, now)
    assert booking.patient.is_provisional
    assert Patient.objects.count() == 2


def test_another_date_of_birth_does_not_match(open_clinic, clinician, room, now):
    PatientFactory(date_of_birth=date(1991, 4, 2), mobile="+447700900555")
    booking = verified(open_clinic, room, clinician, now)
    assert booking.patient.is_provisional


def test_a_time_taken_between_code_and_verification_is_refused(
    open_clinic, clinician, room, patient, now
):
    slot = online_slots(clinic=open_clinic, now=now)[0]
    booking = start(open_clinic, slot, now)
    session_book(
        clinic=open_clinic,
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=slot.starts_at,
        by=None,
        now=now,
        kind=SessionKind.ASSESSMENT,
    )
    with pytest.raises(BookingRefused) as refusal:
        online_booking_verify(
            booking=booking, code=booking_code(booking=booking), clinic=open_clinic, now=now
        )
    assert refusal.value.rule == "overlap"
    assert TreatmentSession.objects.count() == 1
    assert not Patient.objects.filter(is_provisional=True).exists()


def test_a_slot_no_longer_offered_cannot_be_started(open_clinic, clinician, room, now):
    slot = online_slots(clinic=open_clinic, now=now)[0]
    with (
        time_machine.travel(slot.starts_at, tick=False),
        pytest.raises(BookingRefused, match="no longer free"),
    ):
        start(open_clinic, slot, slot.starts_at)


def test_without_approval_the_booking_is_confirmed_at_once(open_clinic, clinician, room, now):
    open_clinic.online_booking_needs_approval = False
    open_clinic.save()
    booking = verified(open_clinic, room, clinician, now)
    assert booking.status == OnlineBookingStatus.APPROVED
    assert Reminder.objects.filter(
        session=booking.session, kind=ReminderKind.BOOKING_CONFIRMATION
    ).exists()


def test_reception_approves_and_the_patient_gets_the_confirmation(
    open_clinic, clinician, room, reception_user, now
):
    booking = verified(open_clinic, room, clinician, now)
    online_booking_approve(booking=booking, by=reception_user, clinic=open_clinic, now=now)
    booking.refresh_from_db()
    assert booking.status == OnlineBookingStatus.APPROVED and booking.decided_by == reception_user
    assert Reminder.objects.filter(
        session=booking.session, kind=ReminderKind.BOOKING_CONFIRMATION
    ).exists()
    with pytest.raises(BookingRefused, match="already approved"):
        online_booking_approve(booking=booking, by=reception_user, clinic=open_clinic, now=now)


def test_reception_declines_the_session_is_cancelled_and_the_patient_told(
    open_clinic, clinician, room, reception_user, now
):
    booking = verified(open_clinic, room, clinician, now)
    with pytest.raises(BookingRefused, match="Say why"):
        online_booking_decline(
            booking=booking, by=reception_user, reason=" ", clinic=open_clinic, now=now
        )
    online_booking_decline(
        booking=booking,
        by=reception_user,
        reason="Not taking new patients",
        clinic=open_clinic,
        now=now,
    )
    booking.refresh_from_db()
    assert booking.status == OnlineBookingStatus.DECLINED
    assert booking.session.status == SessionStatus.CANCELLED_BY_CLINIC
    assert Reminder.objects.filter(session=booking.session, kind=ReminderKind.CANCELLATION).exists()


def test_a_clinician_cannot_decide_online_bookings(open_clinic, clinician, room, now):
    booking = verified(open_clinic, room, clinician, now)
    with pytest.raises(BookingRefused, match="Only reception"):
        online_booking_approve(booking=booking, by=clinician.user, clinic=open_clinic, now=now)


def test_merging_moves_the_booking_to_the_real_record_and_archives_the_provisional(
    open_clinic, clinician, room, reception_user, now
):
    booking = verified(open_clinic, room, clinician, now)
    provisional = booking.patient
    real = PatientFactory(date_of_birth=date(1990, 4, 2))
    provisional_merge(patient=provisional, into=real, by=reception_user, now=now)
    booking.refresh_from_db()
    provisional.refresh_from_db()
    assert booking.patient == real and booking.session.patient == real
    assert provisional.archived_at == now and not provisional.is_provisional
    assert Patient.objects.filter(pk=provisional.pk).exists()  # archived, never deleted
    assert OnlineBooking.objects.count() == 1


def _kinds(session, *, status=None):
    rows = Reminder.objects.filter(session=session)
    if status:
        rows = rows.filter(status=status)
    return sorted(rows.values_list("kind", flat=True))


def test_nothing_but_the_request_note_is_queued_while_reception_has_not_approved(
    open_clinic, clinician, room, now
):
    # given a booking for Tuesday 09:00 awaiting approval (the 24 h reminder would be due Monday)
    booking = verified(open_clinic, room, clinician, now)

    # when the backfill of missing booking reminders runs, and reception moves the time
    reminders_backfill(now=now, clinic=open_clinic)
    session_move(
        clinic=open_clinic,
        session=booking.session,
        starts_at=booking.session.starts_at + timedelta(hours=2),
        by=None,
        now=now,
    )

    # then no confirmation and no appointment reminder exists for it
    kinds = _kinds(booking.session)
    assert ReminderKind.APPOINTMENT not in kinds
    assert ReminderKind.BOOKING_CONFIRMATION not in kinds
    assert ReminderKind.ONLINE_BOOKING_RECEIVED in kinds


def test_approval_creates_the_confirmation_and_the_appointment_reminders(
    open_clinic, clinician, room, reception_user, now
):
    booking = verified(open_clinic, room, clinician, now)
    assert ReminderKind.APPOINTMENT not in _kinds(booking.session)

    online_booking_approve(booking=booking, by=reception_user, clinic=open_clinic, now=now)

    pending = _kinds(booking.session, status="pending")
    assert ReminderKind.BOOKING_CONFIRMATION in pending
    assert ReminderKind.APPOINTMENT in pending  # 24 h before Tuesday 09:00


def test_a_declined_booking_tells_the_patient_and_sends_nothing_else(
    open_clinic, clinician, room, reception_user, now
):
    booking = verified(open_clinic, room, clinician, now)

    online_booking_decline(
        booking=booking,
        by=reception_user,
        reason="Not taking new patients",
        clinic=open_clinic,
        now=now,
    )

    assert _kinds(booking.session, status="pending") == [ReminderKind.CANCELLATION]
    assert ReminderKind.APPOINTMENT not in _kinds(booking.session)
    assert ReminderKind.BOOKING_CONFIRMATION not in _kinds(booking.session)
