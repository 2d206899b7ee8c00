"""Online booking of a consultation at /book/: the slots offered, the one-time code, holding the
slot, matching the person to a patient, and reception approving or declining.

DOMAIN.md: a new patient books a consultation (assessment), never treatment. Nothing is held
until the code sent through the outbox comes back; then the slot is a real session booked by
session_book, so hours, no-overlap and PostgreSQL's exclusion constraints hold as for staff.
No step tells the person whether they were already a patient."""

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare

from clinic.models import Clinic, Room, StaffProfile
from clinic.refusals import BookingRefused, OutreachRefused
from clinic.roles import Role
from patients.models import Channel, Patient
from patients.registration import patient_register

from ..booking.scheduling import session_book, session_cancel
from ..booking.slots import free_slots
from ..models import (
    OnlineBooking,
    OnlineBookingStatus,
    PatientLink,
    Reminder,
    ReminderKind,
    SessionKind,
    TreatmentSession,
    WaitlistEntry,
)
from .online_booking_code import booking_code
from .rows import reminder_row, reminders_insert, reminders_on_booked

logger = logging.getLogger(__name__)

CODE_MINUTES = 15
CODE_ATTEMPTS = 5
DECIDE_PERMISSION = "treatment_sessions.decide_onlinebooking"
# The change reason in the session's history.
BY_ONLINE_BOOKING = "Booked by the patient online"


@dataclass(frozen=True)
class OnlineSlot:
    clinician: StaffProfile
    room: Room
    starts_at: datetime

    @property
    def key(self) -> str:
        return f"{self.clinician.pk}:{int(self.starts_at.timestamp())}"


def online_booking_clinicians(*, clinic: Clinic):
    return StaffProfile.objects.filter(
        clinic=clinic,
        role=Role.CLINICIAN,
        offers_online_consultations=True,
        user__is_active=True,
    ).prefetch_related("working_hours")


def online_booking_window(*, clinic: Clinic, now: datetime) -> tuple[datetime, datetime]:
    """The first and last start a patient may book online (minimum notice, days ahead)."""
    return (
        now + timedelta(hours=clinic.online_booking_min_notice_hours),
        now + timedelta(days=clinic.online_booking_days_ahead),
    )


# Online starts fall on the half hour: a page of choices a patient can scan on a phone.
ONLINE_GRID_MINUTES = 30


def online_slots(*, clinic: Clinic, now: datetime, per_clinician: int = 2000) -> list[OnlineSlot]:
    """Free consultation starts of every clinician who takes online bookings, in time order;
    each start with the first room free then (free_slots does the reading)."""
    if SessionKind.ASSESSMENT not in clinic.online_booking_kinds.split(","):
        return []
    first, last = online_booking_window(clinic=clinic, now=now)
    days = (last.astimezone(clinic.zone).date() - first.astimezone(clinic.zone).date()).days
    rooms = list(Room.objects.filter(clinic=clinic, is_active=True))
    found: dict[tuple[int, datetime], OnlineSlot] = {}
    for clinician in online_booking_clinicians(clinic=clinic):
        for room in rooms:
            for start in free_slots(
                clinic=clinic,
                clinician=clinician,
                room=room,
                patient=None,
                after=first,
                days=days,
                limit=per_clinician,
            ):
                local = start.astimezone(clinic.zone)
                if start <= last and local.minute % ONLINE_GRID_MINUTES == 0:
                    found.setdefault((clinician.pk, start), OnlineSlot(clinician, room, start))
    return sorted(found.values(), key=lambda s: (s.starts_at, s.clinician.display_name))


def online_booking_start(
    *,
    clinic: Clinic,
    slot_key: str,
    given_name: str,
    family_name: str,
    date_of_birth: date,
    email: str,
    mobile,
    code_channel: str,
    now: datetime,
) -> OnlineBooking:
    """Remember what was asked for and send the code; nothing is held yet."""
    slot = next((s for s in online_slots(clinic=clinic, now=now) if s.key == slot_key), None)
    if slot is None:
        raise BookingRefused(
            "online_slot", "This time is no longer free. Choose another time.", field="slot"
        )
    if code_channel not in (Channel.EMAIL, Channel.SMS):
        raise OutreachRefused("online_code", "Choose where the code goes.", field="code_channel")
    with transaction.atomic():
        booking = OnlineBooking.objects.create(
            public_id=secrets.token_urlsafe(12),
            code_nonce=secrets.token_urlsafe(12),
            code_expires_at=now + timedelta(minutes=CODE_MINUTES),
            given_name=given_name.strip(),
            family_name=family_name.strip(),
            date_of_birth=date_of_birth,
            email=email.strip(),
            mobile=mobile,
            code_channel=code_channel,
            clinician=slot.clinician,
            room=slot.room,
            starts_at=slot.starts_at,
        )
        # Sent at once, quiet hours or not: the person is waiting for it on the page.
        Reminder.objects.create(
            kind=ReminderKind.VERIFICATION_CODE,
            channel=code_channel,
            online_booking=booking,
            due_at=now,
            send_after=now,
        )
    logger.info("Online booking %s started; code sent by %s", booking.pk, code_channel)
    return booking


def online_booking_match(*, booking: OnlineBooking) -> Patient | None:
    """The one unarchived patient with this date of birth and the contact the code proved."""
    patients = Patient.objects.filter(date_of_birth=booking.date_of_birth, archived_at__isnull=True)
    if booking.code_channel == Channel.EMAIL:
        patients = patients.filter(email__iexact=booking.email)
    else:
        patients = patients.filter(mobile=booking.mobile)
    found = list(patients[:2])
    return found[0] if len(found) == 1 else None


def _patient_for(*, booking: OnlineBooking, now: datetime) -> tuple[Patient, bool]:
    patient = online_booking_match(booking=booking)
    channel_consent = f"{booking.code_channel}_consent_at"
    if patient is not None:
        # The person proved this contact and asked for messages about the booking.
        if getattr(patient, channel_consent) is None:
            setattr(patient, channel_consent, now)
            patient.save(update_fields=[channel_consent])
        return patient, True
    patient = patient_register(
        details={
            "given_name": booking.given_name,
            "family_name": booking.family_name,
            "date_of_birth": booking.date_of_birth,
            "sex_at_birth": "unknown",
            "email": booking.email,
            "mobile": booking.mobile,
            "preferred_channel": booking.code_channel,
        },
        email_consent=booking.code_channel == Channel.EMAIL,
        sms_consent=booking.code_channel == Channel.SMS,
        now=now,
    )
    patient.is_provisional = True
    patient.save(update_fields=["is_provisional"])
    return patient, False


def online_booking_verify(
    *, booking: OnlineBooking, code: str, clinic: Clinic, now: datetime
) -> OnlineBooking:
    """Check the code; on success hold the slot as a real booking for the matched or new patient."""
    with transaction.atomic():
        booking = OnlineBooking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != OnlineBookingStatus.AWAITING_CODE:
            return booking
        if now >= booking.code_expires_at or booking.code_attempts >= CODE_ATTEMPTS:
            booking.status = OnlineBookingStatus.ABANDONED
            booking.save(update_fields=["status"])
            refusal = OutreachRefused(
                "online_code", "This code has expired. Start again to get a new one.", field="code"
            )
        elif not constant_time_compare(code.strip(), booking_code(booking=booking)):
            booking.code_attempts += 1
            booking.save(update_fields=["code_attempts"])
            left = CODE_ATTEMPTS - booking.code_attempts
            refusal = OutreachRefused(
                "online_code",
                f"That code is not right. {left} tr{'y' if left == 1 else 'ies'} left."
                if left
                else "That code is not right, and no tries are left. Start again.",
                field="code",
            )
        else:
            refusal = None
    if refusal is not None:
        logger.info("Online booking %s: wrong or expired code", booking.pk)
        raise refusal
    return _hold(booking=booking, clinic=clinic, now=now)


def _hold(*, booking: OnlineBooking, clinic: Clinic, now: datetime) -> OnlineBooking:
    needs_approval = clinic.online_booking_needs_approval
    with transaction.atomic():
        booking = OnlineBooking.objects.select_for_update().get(pk=booking.pk)
        patient, matched = _patient_for(booking=booking, now=now)
        session = session_book(
            clinic=clinic,
            patient=patient,
            clinician=booking.clinician,
            room=booking.room,
            starts_at=booking.starts_at,
            kind=SessionKind.ASSESSMENT,
            by=None,
            now=now,
            remind=not needs_approval,
        )
        booking.patient, booking.matched_existing, booking.session = patient, matched, session
        booking.verified_at = now
        booking.status = (
            OnlineBookingStatus.PENDING if needs_approval else OnlineBookingStatus.APPROVED
        )
        booking.save()
        if needs_approval:
            reminders_insert(
                [
                    reminder_row(
                        clinic=clinic,
                        kind=ReminderKind.ONLINE_BOOKING_RECEIVED,
                        patient=patient,
                        session=session,
                        due_at=now,
                        now=now,
                    )
                ]
            )
    logger.info(
        "Online booking %s verified: session %s, patient %s (%s)",
        booking.pk,
        session.pk,
        patient.pk,
        "matched" if matched else "provisional",
    )
    return booking


def _decidable(booking: OnlineBooking, by) -> OnlineBooking:
    if not by.has_perm(DECIDE_PERMISSION):
        raise BookingRefused("online_decide", "Only reception or an admin decides online bookings.")
    booking = OnlineBooking.objects.select_for_update().get(pk=booking.pk)
    if booking.status != OnlineBookingStatus.PENDING:
        raise BookingRefused(
            "online_decide", f"This booking is already {booking.get_status_display().lower()}."
        )
    return booking


def online_booking_approve(
    *, booking: OnlineBooking, by, clinic: Clinic, now: datetime
) -> OnlineBooking:
    """Reception accepts the booking; the patient gets the usual booking confirmation, and the
    appointment reminders are created (none were while the booking awaited approval)."""
    with transaction.atomic():
        booking = _decidable(booking, by)
        booking.status, booking.decided_at, booking.decided_by = (
            OnlineBookingStatus.APPROVED,
            now,
            by,
        )
        booking.save(update_fields=["status", "decided_at", "decided_by"])
        # Nothing was sent while it waited but the "request received" note: the confirmation
        # and the appointment reminders start now.
        reminders_on_booked(session=booking.session, now=now, clinic=clinic)
    logger.info("Online booking %s approved by user %s", booking.pk, by.pk)
    return booking


def online_booking_decline(
    *, booking: OnlineBooking, by, reason: str, clinic: Clinic, now: datetime
) -> OnlineBooking:
    """Reception declines: the session is cancelled by the clinic, which tells the patient
    (cancellation notice; the unsent "request received" note is cancelled) and frees the slot
    for the waitlist. No reminder was ever created for it, so nothing else goes out."""
    if not reason.strip():
        raise BookingRefused("online_decide", "Say why the booking is declined.", field="reason")
    with transaction.atomic():
        booking = _decidable(booking, by)
        session_cancel(
            clinic=clinic,
            session=booking.session,
            by_patient=False,
            reason=f"Online booking declined: {reason.strip()}",
            by=by,
            now=now,
        )
        booking.status, booking.decided_at, booking.decided_by = (
            OnlineBookingStatus.DECLINED,
            now,
            by,
        )
        booking.save(update_fields=["status", "decided_at", "decided_by"])
    logger.info("Online booking %s declined by user %s", booking.pk, by.pk)
    return booking


def provisional_confirm(*, patient: Patient, by) -> Patient:
    """Reception checked the details: the record is a patient like any other."""
    if not by.has_perm(DECIDE_PERMISSION):
        raise BookingRefused("provisional", "Only reception or an admin confirms a new patient.")
    Patient.objects.filter(pk=patient.pk).update(is_provisional=False)
    patient.is_provisional = False
    logger.info("Provisional patient %s confirmed by user %s", patient.pk, by.pk)
    return patient


def provisional_merge(*, patient: Patient, into: Patient, by, now: datetime) -> Patient:
    """The provisional record turned out to be `into`: move its bookings, links, messages,
    reports and waitlist places there and archive it (never deleted)."""
    if not by.has_perm(DECIDE_PERMISSION):
        raise BookingRefused("provisional", "Only reception or an admin merges patients.")
    if not patient.is_provisional:
        raise BookingRefused("provisional", "Only a provisional record can be merged.")
    if into.pk == patient.pk or into.archived_at is not None:
        raise BookingRefused("provisional", "Choose another, current patient to merge into.")
    try:
        with transaction.atomic():
            for model in (TreatmentSession, OnlineBooking, Reminder, PatientLink, WaitlistEntry):
                model.objects.filter(patient=patient).update(patient=into)
            patient.reports.update(patient=into)
            Patient.objects.filter(pk=patient.pk).update(is_provisional=False, archived_at=now)
    except IntegrityError as exc:
        raise BookingRefused(
            "provisional", "Both records have an appointment at the same time: move one first."
        ) from exc
    logger.info("Provisional patient %s merged into %s by user %s", patient.pk, into.pk, by.pk)
    return into
