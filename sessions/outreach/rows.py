"""Reminder rows in the outbox: what a booking change creates, moves or cancels.

DESIGN.md decision 1. The booking functions (booking/scheduling.py, records/records.py at
signing) call the `reminders_on_*` functions inside their own transaction, so a refused booking
leaves no row and a committed one always has its rows. Sending is sweep.py's job.
"""

from datetime import date, datetime, time, timedelta

from django.db.models import Q

from clinic.models import Clinic
from patients.models import Patient

from ..models import (
    OnlineBooking,
    OnlineBookingStatus,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)
from .preferences import reminder_channel, send_after_for
from .waitlist import waitlist_offers_make

# Follow-ups that are not tied to an appointment time go out at this local hour (practice default).
FOLLOW_UP_AT = time(10, 0)

# Aftercare advice covers the first 48 hours after a session (clinic's default template).
AFTERCARE_WITHIN = timedelta(hours=48)
# Kinds about an appointment still to come: pointless once it has started.
APPOINTMENT_KINDS = (
    ReminderKind.BOOKING_CONFIRMATION,
    ReminderKind.APPOINTMENT,
    ReminderKind.RESCHEDULE,
    ReminderKind.RESCREENING,
    ReminderKind.ONLINE_BOOKING_RECEIVED,
)
EXPIRING_KINDS = (*APPOINTMENT_KINDS, ReminderKind.CANCELLATION)
BOOKED = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED)
# Emails that put an appointment in the patient's calendar, move it or cancel it carry an .ics
# (one UID per session, so each updates the same entry). A plain reminder before the visit does
# not: the confirmation already added the entry, and the patient's link page offers it again.
ICS_KINDS = (
    ReminderKind.BOOKING_CONFIRMATION,
    ReminderKind.RESCHEDULE,
    ReminderKind.CANCELLATION,
)


def clinic_or_current(clinic: Clinic | None) -> Clinic:
    return clinic or Clinic.current()


def reminder_hours(*, clinic: Clinic) -> list[int]:
    """The clinic's appointment reminder offsets, largest first (practice default 48, 24)."""
    hours = {int(h) for h in clinic.reminder_hours_before.split(",") if h.strip().isdigit()}
    return sorted((h for h in hours if h > 0), reverse=True)


def reminder_row(
    *,
    clinic: Clinic,
    kind: str,
    patient: Patient,
    due_at: datetime,
    session: TreatmentSession | None = None,
    plan: TreatmentPlan | None = None,
    channel: str | None = None,
    now: datetime | None = None,
) -> Reminder | None:
    channel = channel or reminder_channel(patient=patient)
    if channel is None:
        return None
    appointment_at = session.starts_at if session is not None and kind in EXPIRING_KINDS else None
    # A prompt generated after its due time goes out now, so quiet hours are judged at now.
    goes_at = max(due_at, now) if now is not None else due_at
    return Reminder(
        kind=kind,
        channel=channel,
        patient=patient,
        session=session,
        plan=plan,
        due_at=due_at,
        send_after=send_after_for(
            patient=patient, clinic=clinic, due_at=goes_at, appointment_at=appointment_at
        ),
    )


def reminders_insert(rows: list[Reminder | None]) -> int:
    """Insert the rows, skipping any the unique constraints already hold (ON CONFLICT DO
    NOTHING / INSERT OR IGNORE), so a repeated call never duplicates a reminder."""
    rows = [r for r in rows if r is not None]
    if rows:
        Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _appointment_rows(*, clinic: Clinic, session: TreatmentSession, now: datetime, channel=None):
    rows = []
    for hours in reminder_hours(clinic=clinic):
        due_at = session.starts_at - timedelta(hours=hours)
        if due_at > now:  # a reminder whose time has already passed at booking is skipped
            rows.append(
                reminder_row(
                    clinic=clinic,
                    kind=ReminderKind.APPOINTMENT,
                    patient=session.patient,
                    session=session,
                    due_at=due_at,
                    channel=channel,
                )
            )
    return rows


def _awaiting_approval(session: TreatmentSession) -> bool:
    """An online booking reception has not approved yet: no reminder goes out for it."""
    return OnlineBooking.objects.filter(
        session_id=session.pk, status=OnlineBookingStatus.PENDING
    ).exists()


def _cancel_pending(queryset, *, reason: str, now: datetime) -> int:
    return queryset.filter(status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED, last_error=reason, updated_at=now
    )


def reminders_on_booked(
    *, session: TreatmentSession, now: datetime, clinic: Clinic | None = None, confirm: bool = True
) -> int:
    """A booking confirmation now (unless `confirm` is off: a course sends one for all its
    sessions) and a reminder at each of the clinic's hours before."""
    clinic = clinic_or_current(clinic)
    channel = reminder_channel(patient=session.patient)
    if channel is None or session.starts_at <= now or _awaiting_approval(session):
        return 0
    rows = _appointment_rows(clinic=clinic, session=session, now=now, channel=channel)
    if confirm:
        rows.append(
            reminder_row(
                clinic=clinic,
                kind=ReminderKind.BOOKING_CONFIRMATION,
                patient=session.patient,
                session=session,
                due_at=now,
                channel=channel,
            )
        )
    return reminders_insert(rows)


def reminders_on_course_booked(
    *, sessions: list[TreatmentSession], now: datetime, clinic: Clinic | None = None
) -> int:
    """One confirmation for a whole course booked at once, on its first session; the message
    lists every booked date of the plan (read when it is sent, so it is current)."""
    upcoming = sorted((s for s in sessions if s.starts_at > now), key=lambda s: s.starts_at)
    if not upcoming:
        return 0
    first = upcoming[0]
    return reminders_insert(
        [
            reminder_row(
                clinic=clinic_or_current(clinic),
                kind=ReminderKind.BOOKING_CONFIRMATION,
                patient=first.patient,
                session=first,
                due_at=now,
            )
        ]
    )


def reminders_on_moved(
    *,
    session: TreatmentSession,
    previous_starts_at: datetime,
    now: datetime,
    clinic: Clinic | None = None,
) -> int:
    """Move the pending appointment reminders with the appointment and send a reschedule notice.

    A pending reminder keeps its offset (48 h before stays 48 h before); one whose new time has
    already passed is cancelled, and an offset with no pending row (sent already, or skipped at
    booking) gets a new one. A confirmation or earlier notice not yet sent is replaced by the
    reschedule notice, which names the new time.
    """
    clinic = clinic_or_current(clinic)
    if session.starts_at == previous_starts_at:
        return 0
    pending = Reminder.objects.filter(session=session, status=ReminderStatus.PENDING)
    _cancel_pending(
        pending.filter(
            kind__in=(
                ReminderKind.BOOKING_CONFIRMATION,
                ReminderKind.RESCHEDULE,
                ReminderKind.RESCREENING,  # re-judged by the next sweep against the new date
            )
        ),
        reason="Replaced: the appointment was moved.",
        now=now,
    )
    kept = set()
    for reminder in pending.filter(kind=ReminderKind.APPOINTMENT).select_related("patient"):
        offset = previous_starts_at - reminder.due_at
        due_at = session.starts_at - offset
        if due_at <= now or offset in kept:
            reminder.status = ReminderStatus.CANCELLED
            reminder.last_error = "The appointment was moved and this reminder's time has passed."
            reminder.save(update_fields=["status", "last_error", "updated_at"])
            continue
        kept.add(offset)
        reminder.due_at = due_at
        reminder.send_after = send_after_for(
            patient=session.patient, clinic=clinic, due_at=due_at, appointment_at=session.starts_at
        )
        reminder.save(update_fields=["due_at", "send_after", "updated_at"])
    missing = [
        row
        for row in _appointment_rows(clinic=clinic, session=session, now=now)
        if row is not None and session.starts_at - row.due_at not in kept
    ]
    if _awaiting_approval(session):
        missing = []  # approval creates them, at the time the session then has
    channel = reminder_channel(patient=session.patient)
    if channel is None or session.starts_at <= now:
        return reminders_insert(missing)
    notice = reminder_row(
        clinic=clinic,
        kind=ReminderKind.RESCHEDULE,
        patient=session.patient,
        session=session,
        due_at=now,
        channel=channel,
    )
    return reminders_insert([notice, *missing])


# Rows that may have told the patient of an appointment: sent, or possibly sent.
MAY_HAVE_REACHED = (ReminderStatus.SENT, ReminderStatus.SENDING, ReminderStatus.UNKNOWN)
NEVER_TOLD = (
    "Not sent: the booking confirmation had not gone out either (quiet hours), so the patient "
    "never heard of this appointment."
)


def _never_told(*, session: TreatmentSession) -> bool:
    """The session's booking confirmation (its own, or its course's on an earlier session) or
    the reschedule notice that replaced it is still waiting, and nothing about the appointment
    has reached the patient: a cancellation notice would be about an appointment they never
    heard of. A session with no confirmation
    row at all (booked before reminders, or imported) is not assumed unknown to them."""
    about = Q(session=session)
    if session.plan_id is not None:
        about |= Q(
            kind=ReminderKind.BOOKING_CONFIRMATION,
            session__plan_id=session.plan_id,
            session__starts_at__lte=session.starts_at,
        )
    rows = Reminder.objects.filter(about, kind__in=APPOINTMENT_KINDS)
    return (
        rows.filter(
            kind__in=(ReminderKind.BOOKING_CONFIRMATION, ReminderKind.RESCHEDULE),
            status=ReminderStatus.PENDING,
        ).exists()
        and not rows.filter(status__in=MAY_HAVE_REACHED).exists()
    )


def reminders_on_cancelled(
    *, session: TreatmentSession, now: datetime, clinic: Clinic | None = None
) -> int:
    """Cancel the session's pending reminders; tell the patient, unless the session is past or
    they were never told of it (its confirmation was still waiting): then the notice is kept
    for the record, cancelled, beside the cancelled confirmation."""
    clinic = clinic_or_current(clinic)
    never_told = _never_told(session=session)
    _cancel_pending(
        Reminder.objects.filter(session=session), reason="The appointment was cancelled.", now=now
    )
    if session.starts_at <= now:
        return 0
    notice = reminder_row(
        clinic=clinic,
        kind=ReminderKind.CANCELLATION,
        patient=session.patient,
        session=session,
        due_at=now,
    )
    if notice is not None and never_told:
        notice.status, notice.last_error = ReminderStatus.CANCELLED, NEVER_TOLD
    return reminders_insert([notice]) + reminders_on_slot_freed(
        session=session, now=now, clinic=clinic
    )


def reminders_on_slot_freed(*, session: TreatmentSession, now: datetime, clinic: Clinic) -> int:
    """Offer the slot a cancellation or no-show freed to the waitlist, one message per offer,
    in the order the patients joined (a minute apart, so the first in line hears first)."""
    rows = []
    for place, offer in enumerate(waitlist_offers_make(session=session, now=now, clinic=clinic)):
        row = reminder_row(
            clinic=clinic,
            kind=ReminderKind.WAITLIST_OFFER,
            patient=offer.entry.patient,
            due_at=now + timedelta(minutes=place),
            now=now,
        )
        if row is not None:
            row.waitlist_offer = offer
            rows.append(row)
    return reminders_insert(rows)


def follow_up_at(*, clinic: Clinic, day: date) -> datetime:
    return datetime.combine(day, FOLLOW_UP_AT, tzinfo=clinic.zone)


def reminders_on_no_show(
    *, session: TreatmentSession, now: datetime, clinic: Clinic | None = None
) -> int:
    """A missed-session follow-up at 10:00 clinic time on the next local day."""
    clinic = clinic_or_current(clinic)
    _cancel_pending(
        Reminder.objects.filter(session=session, kind__in=EXPIRING_KINDS),
        reason="The patient did not come to the appointment.",
        now=now,
    )
    next_day = session.starts_at.astimezone(clinic.zone).date() + timedelta(days=1)
    reminders_on_slot_freed(session=session, now=now, clinic=clinic)
    return reminders_insert(
        [
            reminder_row(
                clinic=clinic,
                kind=ReminderKind.MISSED_SESSION,
                patient=session.patient,
                session=session,
                due_at=follow_up_at(clinic=clinic, day=next_day),
            )
        ]
    )


def reminders_on_session_completed(
    *, session: TreatmentSession, now: datetime, clinic: Clinic | None = None
) -> int:
    """The aftercare message, due at once (called when the session record is signed).

    Not for a record signed days after its session (a late write-up, an import): the advice
    covers the first 48 hours, and a message about a visit long past would only confuse."""
    clinic = clinic_or_current(clinic)
    if now - session.starts_at > AFTERCARE_WITHIN:
        return 0
    return reminders_insert(
        [
            reminder_row(
                clinic=clinic,
                kind=ReminderKind.AFTERCARE,
                patient=session.patient,
                session=session,
                due_at=now,
            )
        ]
    )


def reminders_backfill(*, now: datetime, clinic: Clinic | None = None) -> int:
    """Create the missing booking reminders of every upcoming booked session (idempotent).

    For sessions written without session_book (the demo calendar, an import): the appointment
    reminders still to come, and a confirmation for a session with no reminder at all yet."""
    clinic = clinic_or_current(clinic)
    sessions = (
        TreatmentSession.objects.filter(status__in=BOOKED, starts_at__gt=now)
        .exclude(online_booking__status=OnlineBookingStatus.PENDING)
        .select_related("patient")
        .order_by("starts_at")
    )
    with_rows = set(
        Reminder.objects.filter(session__in=sessions).values_list("session_id", flat=True)
    )
    # A plan with any reminder already had its confirmation; otherwise its first upcoming
    # session carries one confirmation for the course, as course_book sends it.
    confirmed_plans = set(
        Reminder.objects.filter(session__in=sessions, session__plan__isnull=False).values_list(
            "session__plan_id", flat=True
        )
    )
    rows = []
    for session in sessions:
        rows.extend(_appointment_rows(clinic=clinic, session=session, now=now))
        if session.plan_id is not None:
            if session.plan_id in confirmed_plans:
                continue
            confirmed_plans.add(session.plan_id)
        if session.pk not in with_rows:
            rows.append(
                reminder_row(
                    clinic=clinic,
                    kind=ReminderKind.BOOKING_CONFIRMATION,
                    patient=session.patient,
                    session=session,
                    due_at=now,
                )
            )
    return reminders_insert(rows)
