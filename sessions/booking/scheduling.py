"""Booking rules: when a treatment session may be booked, moved, confirmed, checked in, cancelled.

Every state change of a TreatmentSession passes through one function here. A rule that refuses
raises BookingRefused with the rule's name and a sentence reception can read out.

Times are stored as aware UTC datetimes; every rule about hours and days works in the clinic's
own zone, so a session booked for 10:00 stays at 10:00 on the wall clock across a daylight-saving
change (days are counted on the local calendar, then the local time is localised again).
"""

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import psycopg.errors
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q

from clinic.models import Clinic, Room, StaffProfile
from clinic.refusals import BookingRefused
from patients.clearance import RECEPTION_SCREEN
from sessions.clearance import Step, treatment_clearance
from sessions.models import (
    ACTIVE_STATUSES,
    SIGNED_SESSION_MESSAGE,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
    gap_days,
    plan_spacing,
)
from sessions.outreach.links import patient_links_revoke_for_session
from sessions.outreach.rows import (
    reminders_on_booked,
    reminders_on_cancelled,
    reminders_on_moved,
    reminders_on_no_show,
)

OVERRIDE_PERMISSION = "treatment_sessions.override_interval"
CANCELLED = (SessionStatus.CANCELLED_BY_PATIENT, SessionStatus.CANCELLED_BY_CLINIC)


# Clearance gate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    blocked: bool
    needs_screening: bool
    message: str = ""
    rule: str = "clearance"


def session_clearance(*, patient, formulation_version, on_date: date) -> Gate:
    """The clearance of a treatment booking (sessions/clearance.py, step BOOKING), in words
    reception may read: they name the rule, not the patient's clinical detail.

    Never screened, an absolute finding (an allergy to the version is one) or an uncleared red
    flag refuses the booking; a lapsed screening only flags the session "screen before
    treatment" (it can be done on the day)."""
    clearance = treatment_clearance(
        patient=patient,
        formulation_version=formulation_version,
        on_date=on_date,
        step=Step.BOOKING,
    )
    if not clearance.cleared:
        first = clearance.first
        return Gate(
            blocked=True,
            needs_screening=first.rule == "screening",
            message="Treatment cannot be booked: "
            + " ".join(u.reception for u in clearance.unmet)
            + " An assessment appointment can still be booked.",
            rule=first.rule,
        )
    if clearance.notes:
        return Gate(blocked=False, needs_screening=True, message=RECEPTION_SCREEN)
    return Gate(blocked=False, needs_screening=False)


# Concurrency ----------------------------------------------------------------------------------

# Two bookings at once may deadlock on the rows the exclusion constraints check, or (under a
# stricter isolation level) fail to serialise; psycopg's errors arrive wrapped in Django's
# OperationalError. Either way the other booking won: try once more, then say so plainly.
RETRYABLE = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
CONFLICT_MESSAGE = (
    "Another booking for this patient, clinician, room or plan was being saved at the same "
    "moment, so nothing was booked or moved. Look at the calendar again and choose a time."
)


def conflict_retried(action):
    """Run a booking action in its own transaction; a deadlock or serialization failure is
    retried once and then refused with a clear conflict (rule "conflict"), never a server
    error. Inside someone else's transaction there is nothing to retry: it is refused at once."""

    @functools.wraps(action)
    def run(**kwargs):
        attempts = 1 if transaction.get_connection().in_atomic_block else 2
        for attempt in range(1, attempts + 1):
            try:
                return action(**kwargs)
            except OperationalError as exc:
                if not isinstance(exc.__cause__, RETRYABLE):
                    raise
                if attempt == attempts:
                    raise BookingRefused("conflict", CONFLICT_MESSAGE) from exc
        raise AssertionError("unreachable")

    return run


def _lock_plan(plan_id: int | None) -> None:
    # Bookings and moves of one plan's sessions queue here, so two of them cannot both pass the
    # spacing check; the plan is always locked before its sessions (signing does the same).
    if plan_id is not None:
        TreatmentPlan.objects.select_for_update().filter(pk=plan_id).first()


# Helpers --------------------------------------------------------------------------------------


def local_date(*, clinic: Clinic, moment: datetime) -> date:
    return moment.astimezone(clinic.zone).date()


def localise(*, clinic: Clinic, day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=clinic.zone)


def _hhmm(*, clinic: Clinic, moment: datetime) -> str:
    return moment.astimezone(clinic.zone).strftime("%H:%M")


def _can_override(user) -> bool:
    return bool(user and user.has_perm(OVERRIDE_PERMISSION) and hasattr(user, "staff_profile"))


def _check_hours(
    *, clinic: Clinic, clinician: StaffProfile, starts_at: datetime, ends_at: datetime
):
    start = starts_at.astimezone(clinic.zone)
    end = ends_at.astimezone(clinic.zone)
    day = start.date()
    if end.date() != day:
        raise BookingRefused("opening_hours", "A session must start and end on the same day.")
    weekday = f"{day:%A}s"
    opening = clinic.opening_hours_on(day)
    if not any(h.covers(start.time(), end.time()) for h in opening):
        hours = ", ".join(f"{h.opens:%H:%M}–{h.closes:%H:%M}" for h in opening)
        raise BookingRefused(
            "opening_hours",
            f"The clinic is not open for the whole session ({start:%H:%M}–{end:%H:%M}). "
            + (f"Opening hours on {weekday}: {hours}." if hours else f"It is closed on {weekday}."),
        )
    working = clinician.working_hours_on(day)
    if not any(h.starts <= start.time() and end.time() <= h.ends for h in working):
        hours = ", ".join(f"{h.starts:%H:%M}–{h.ends:%H:%M}" for h in working)
        raise BookingRefused(
            "working_hours",
            f"{clinician.display_name} is not working for the whole session "
            f"({start:%H:%M}–{end:%H:%M}). "
            + (
                f"Working hours on {weekday}: {hours}."
                if hours
                else f"They do not work on {weekday}."
            ),
        )


def _check_overlap(
    *,
    clinic: Clinic,
    patient,
    clinician: StaffProfile,
    room: Room,
    starts_at: datetime,
    ends_at: datetime,
    exclude_pk: int | None,
):
    clash = (
        TreatmentSession.objects.filter(
            status__in=ACTIVE_STATUSES, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .filter(Q(clinician=clinician) | Q(room=room) | Q(patient=patient))
        .exclude(pk=exclude_pk)
        .order_by("starts_at")
        .first()
    )
    if clash is None:
        return
    start = _hhmm(clinic=clinic, moment=clash.starts_at)
    when = f"from {start} to {_hhmm(clinic=clinic, moment=clash.ends_at)}"
    if clash.clinician_id == clinician.pk:
        message = f"{clinician.display_name} already has a session {when}."
    elif clash.patient_id == patient.pk:
        message = f"This patient already has a session {when}."
    else:
        message = f"{room.name} is already booked {when}."
    raise BookingRefused("overlap", message + " Choose another time.")


# Which of PostgreSQL's exclusion constraints fired, in reception's words.
OVERLAP_GUARDS = {
    "session_no_clinician_overlap": "The clinician was booked for this time a moment ago.",
    "session_no_room_overlap": "The room was booked for this time a moment ago.",
    "session_no_patient_overlap": "This patient was booked for this time a moment ago.",
}


def _overlap_refusal(exc: IntegrityError) -> BookingRefused | None:
    """The database's own guards (migrations 0003 and 0009), in reception's words."""
    text = str(exc)
    for name, message in OVERLAP_GUARDS.items():
        if name in text:
            return BookingRefused("overlap", message + " Choose another time.")
    if "must be at least" in text:
        return BookingRefused(
            "interval",
            "Another session of this plan was booked a moment ago, closer than the shortest gap "
            "between course sessions (risk of over-injection). Choose another date, or a "
            "clinician may override the gap with a reason.",
        )
    return None


def _check_interval(
    *,
    clinic: Clinic,
    plan: TreatmentPlan,
    starts_at: datetime,
    exclude_pk: int | None,
    override_reason: str,
    by,
) -> tuple[bool, bool]:
    """(needs the override, is a protocol deviation) for a session of `plan` at `starts_at`."""
    spacing = plan_spacing(clinic=clinic, plan=plan, starts_at=starts_at, exclude_pk=exclude_pk)
    if spacing.too_close:
        why = spacing.refusal(clinic=clinic)
        if not override_reason.strip():
            raise BookingRefused("interval", why + " A clinician may override this with a reason.")
        if not _can_override(by):
            raise BookingRefused("interval", why + " Only a clinician can record the override.")
    return bool(spacing.too_close), spacing.deviation


def plan_reflag(*, clinic: Clinic, plan: TreatmentPlan) -> None:
    """Renumber the plan's sessions (session n of N) and flag gaps longer than the longest gap."""
    longest = max(clinic.course_max_interval_days, plan.interval_days)
    previous = None
    sequence = 0
    for session in plan.sessions.order_by("starts_at", "pk"):
        if session.status not in ACTIVE_STATUSES:
            if session.sequence is not None or session.is_protocol_deviation:
                session.sequence, session.is_protocol_deviation = None, False
                session.save(update_fields=["sequence", "is_protocol_deviation"])
            continue
        sequence += 1
        deviation = previous is not None and (
            gap_days(clinic=clinic, earlier=previous.starts_at, later=session.starts_at) > longest
        )
        if session.sequence != sequence or session.is_protocol_deviation != deviation:
            session.sequence, session.is_protocol_deviation = sequence, deviation
            session.save(update_fields=["sequence", "is_protocol_deviation"])
        previous = session


def _check_slot(
    *,
    clinic: Clinic,
    patient,
    clinician: StaffProfile,
    room: Room,
    starts_at: datetime,
    ends_at: datetime,
    plan: TreatmentPlan | None,
    kind: str,
    exclude_pk: int | None,
    override_reason: str,
    by,
    now: datetime,
) -> dict:
    """Every booking rule for one slot; returns the flags to store on the session."""
    if starts_at < now:
        raise BookingRefused("past", "This time has already passed. Choose a future time.")
    if not room.is_active:
        raise BookingRefused("room", f"{room.name} is not in use any more.")
    _check_hours(clinic=clinic, clinician=clinician, starts_at=starts_at, ends_at=ends_at)
    _check_overlap(
        clinic=clinic,
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_pk=exclude_pk,
    )
    overridden = False
    if plan is not None:
        overridden, _ = _check_interval(
            clinic=clinic,
            plan=plan,
            starts_at=starts_at,
            exclude_pk=exclude_pk,
            override_reason=override_reason,
            by=by,
        )
    needs_screening = False
    if kind == SessionKind.TREATMENT:
        gate = session_clearance(
            patient=patient,
            formulation_version=plan.formulation_version if plan else None,
            on_date=local_date(clinic=clinic, moment=starts_at),
        )
        if gate.blocked:
            raise BookingRefused(gate.rule, gate.message)
        needs_screening = gate.needs_screening
    flags = {"needs_screening": needs_screening}
    if overridden:
        flags["interval_override_reason"] = override_reason.strip()
        flags["interval_override_by"] = by.staff_profile
    else:
        flags["interval_override_reason"] = ""
        flags["interval_override_by"] = None
    return flags


# Booking ------------------------------------------------------------------------------------


@conflict_retried
def session_book(
    *,
    clinic: Clinic,
    patient,
    clinician: StaffProfile,
    room: Room,
    starts_at: datetime,
    by,
    now: datetime,
    plan: TreatmentPlan | None = None,
    kind: str = SessionKind.TREATMENT,
    minutes: int | None = None,
    override_reason: str = "",
    confirm: bool = True,
    remind: bool = True,
) -> TreatmentSession:
    """Book one session after every rule agreed; raises BookingRefused otherwise.

    `confirm=False` leaves out the booking confirmation (course_book sends one for the course).
    `remind=False` creates no reminder at all: an online booking awaiting reception's approval
    sends nothing until it is approved (online_booking_approve creates them then).
    """
    if plan is not None and plan.patient_id != patient.pk:
        raise BookingRefused("plan", "This plan belongs to another patient.")
    ends_at = starts_at + timedelta(minutes=minutes or clinic.session_minutes)
    try:
        # On SQLite this transaction is IMMEDIATE: it holds the write lock from the first check
        # to the insert, so two bookings cannot both pass the overlap check. On PostgreSQL the
        # exclusion constraints (migration 0003) catch the race the check cannot see.
        with transaction.atomic():
            _lock_plan(plan.pk if plan else None)
            flags = _check_slot(
                clinic=clinic,
                patient=patient,
                clinician=clinician,
                room=room,
                starts_at=starts_at,
                ends_at=ends_at,
                plan=plan,
                kind=kind,
                exclude_pk=None,
                override_reason=override_reason,
                by=by,
                now=now,
            )
            session = TreatmentSession.objects.create(
                patient=patient,
                clinician=clinician,
                room=room,
                starts_at=starts_at,
                ends_at=ends_at,
                plan=plan,
                kind=kind,
                status_changed_by=by,
                **flags,
            )
            if plan is not None:
                plan_reflag(clinic=clinic, plan=plan)
                session.refresh_from_db()
            # The reminders commit with the booking or not at all (DESIGN.md decision 1).
            if remind:
                reminders_on_booked(session=session, now=now, clinic=clinic, confirm=confirm)
    except IntegrityError as exc:
        refusal = _overlap_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return session


def _locked(session: TreatmentSession) -> TreatmentSession:
    # No select_related: PostgreSQL cannot lock the nullable side of an outer join (plan).
    return TreatmentSession.objects.select_for_update().get(pk=session.pk)


@conflict_retried
def session_move(
    *,
    clinic: Clinic,
    session: TreatmentSession,
    starts_at: datetime,
    by,
    now: datetime,
    clinician: StaffProfile | None = None,
    room: Room | None = None,
    override_reason: str = "",
) -> TreatmentSession:
    """Move a session to a new time (and optionally clinician or room) under the same rules.

    A moved session needs confirming again.
    """
    try:
        with transaction.atomic():
            _lock_plan(
                TreatmentSession.objects.values_list("plan_id", flat=True).get(pk=session.pk)
            )
            session = _locked(session)
            _refuse_unless(session, "move")
            previous_starts_at = session.starts_at
            clinician = clinician or session.clinician
            room = room or session.room
            ends_at = starts_at + (session.ends_at - session.starts_at)
            flags = _check_slot(
                clinic=clinic,
                patient=session.patient,
                clinician=clinician,
                room=room,
                starts_at=starts_at,
                ends_at=ends_at,
                plan=session.plan,
                kind=session.kind,
                exclude_pk=session.pk,
                override_reason=override_reason,
                by=by,
                now=now,
            )
            for field, value in flags.items():
                setattr(session, field, value)
            session.starts_at, session.ends_at = starts_at, ends_at
            session.clinician, session.room = clinician, room
            session.status, session.confirmed_at = SessionStatus.SCHEDULED, None
            session.status_changed_by = by
            session.save()
            # A link sent for the old time must not confirm the new one.
            patient_links_revoke_for_session(session=session, now=now)
            reminders_on_moved(
                session=session, previous_starts_at=previous_starts_at, now=now, clinic=clinic
            )
            if session.plan is not None:
                plan_reflag(clinic=clinic, plan=session.plan)
                session.refresh_from_db()
    except IntegrityError as exc:
        refusal = _overlap_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return session


# Session life ---------------------------------------------------------------------------------


# What each state change needs the session's status to be: the one table the rule functions
# check and session_allowed_actions reads, so a page never offers what the rule would refuse.
BOOKED_STATUSES = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED)
SESSION_ACTIONS = {
    "confirm": ((SessionStatus.SCHEDULED,), "confirmed"),
    "check_in": (BOOKED_STATUSES, "checked in"),
    "move": (BOOKED_STATUSES, "moved"),
    "cancel": (BOOKED_STATUSES, "cancelled"),
    "no_show": (BOOKED_STATUSES, "marked as a no-show"),
}


def session_allowed_actions(*, session: TreatmentSession, now: datetime) -> frozenset[str]:
    """The state changes the session's status allows now; templates show exactly these."""
    allowed = {
        action for action, (statuses, _) in SESSION_ACTIONS.items() if session.status in statuses
    }
    if now < session.starts_at:
        allowed.discard("no_show")  # a no-show is recorded only once the start time has passed
    return frozenset(allowed)


def _refuse_unless(session: TreatmentSession, action: str) -> None:
    statuses, done = SESSION_ACTIONS[action]
    if session.status not in statuses and session.has_signed_record():
        raise BookingRefused("signed", SIGNED_SESSION_MESSAGE.format(session=session.pk))
    if session.status not in statuses:
        raise BookingRefused(
            "status",
            f"A session that is {session.get_status_display().lower()} cannot be {done}.",
        )


def session_confirm(
    *, session: TreatmentSession, by, now: datetime, change_reason: str = ""
) -> TreatmentSession:
    """`change_reason` goes into the session's history: who acted when no staff member did."""
    with transaction.atomic():
        session = _locked(session)
        _refuse_unless(session, "confirm")
        session.status, session.confirmed_at, session.status_changed_by = (
            SessionStatus.CONFIRMED,
            now,
            by,
        )
        session._change_reason = change_reason or None
        session.save(update_fields=["status", "confirmed_at", "status_changed_by"])
    return session


def session_check_in(
    *, clinic: Clinic, session: TreatmentSession, by, now: datetime
) -> TreatmentSession:
    with transaction.atomic():
        session = _locked(session)
        _refuse_unless(session, "check_in")
        if local_date(clinic=clinic, moment=session.starts_at) != local_date(
            clinic=clinic, moment=now
        ):
            raise BookingRefused(
                "check_in", "A patient can only be checked in on the day of their session."
            )
        session.status, session.checked_in_at, session.status_changed_by = (
            SessionStatus.CHECKED_IN,
            now,
            by,
        )
        session.save(update_fields=["status", "checked_in_at", "status_changed_by"])
    return session


def session_cancel(
    *,
    clinic: Clinic,
    session: TreatmentSession,
    by_patient: bool,
    reason: str,
    by,
    now: datetime,
    change_reason: str = "",
) -> TreatmentSession:
    if not reason.strip():
        raise BookingRefused("cancel", "Say why the session is cancelled.")
    with transaction.atomic():
        session = _locked(session)
        _refuse_unless(session, "cancel")
        session.status = (
            SessionStatus.CANCELLED_BY_PATIENT if by_patient else SessionStatus.CANCELLED_BY_CLINIC
        )
        session.status_reason = reason.strip()
        session.cancelled_at, session.status_changed_by = now, by
        session._change_reason = change_reason or None
        session.save(update_fields=["status", "status_reason", "cancelled_at", "status_changed_by"])
        patient_links_revoke_for_session(session=session, now=now)
        reminders_on_cancelled(session=session, now=now, clinic=clinic)
        if session.plan is not None:
            plan_reflag(clinic=clinic, plan=session.plan)
    return session


def session_no_show(*, clinic: Clinic, session: TreatmentSession, by, now: datetime):
    with transaction.atomic():
        session = _locked(session)
        _refuse_unless(session, "no_show")
        if now < session.starts_at:
            raise BookingRefused(
                "no_show", "A no-show can only be recorded after the session's start time."
            )
        session.status, session.status_changed_by = SessionStatus.NO_SHOW, by
        session.save(update_fields=["status", "status_changed_by"])
        reminders_on_no_show(session=session, now=now, clinic=clinic)
        if session.plan is not None:
            plan_reflag(clinic=clinic, plan=session.plan)
    return session
