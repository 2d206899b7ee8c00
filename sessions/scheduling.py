"""Booking rules: when a treatment session may be booked, moved, confirmed, checked in, cancelled.

Every state change of a TreatmentSession passes through one function here. A rule that refuses
raises SchedulingRefused with the rule's name and a sentence reception can read out.

Times are stored as aware UTC datetimes; every rule about hours and days works in the clinic's
own zone, so a session booked for 10:00 stays at 10:00 on the wall clock across a daylight-saving
change (days are counted on the local calendar, then the local time is localised again).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from clinic.models import Clinic, Room, StaffProfile

from .links import patient_links_revoke_for_session
from .models import (
    ACTIVE_STATUSES,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)
from .reminders import (
    reminders_on_booked,
    reminders_on_cancelled,
    reminders_on_course_booked,
    reminders_on_moved,
    reminders_on_no_show,
)

SLOT_STEP = timedelta(minutes=15)
OVERRIDE_PERMISSION = "treatment_sessions.override_interval"
CANCELLED = (SessionStatus.CANCELLED_BY_PATIENT, SessionStatus.CANCELLED_BY_CLINIC)


class SchedulingRefused(Exception):
    """A booking rule said no. `rule` names the rule, `message` says why in plain words."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message


# Clearance gate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    blocked: bool
    needs_screening: bool
    message: str = ""


def session_clearance(*, patient, formulation_version, on_date: date) -> Gate:
    """The screening gate for a treatment session, in words reception may read.

    An absolute finding or an uncleared referral blocks the booking; a lapsed or missing
    screening only flags the session "screen before treatment" (it can be done on the day).
    """
    try:
        from patients.clearance import treatment_clearance
    except ImportError:
        # The screening module (patients app) is not in this tree yet: nothing to gate on.
        return Gate(blocked=False, needs_screening=False)
    clearance = treatment_clearance(
        patient=patient, formulation_version=formulation_version, on_date=on_date
    )
    if clearance.cleared:
        return Gate(blocked=False, needs_screening=False)
    blocking = getattr(clearance, "blocking", None) or clearance.findings
    if any(getattr(f, "outcome", "") in ("absolute", "referral") for f in blocking):
        # An absolute contraindication, or a red flag no dermatologist has cleared yet.
        return Gate(
            blocked=True,
            needs_screening=False,
            message="Treatment cannot be booked: "
            + (
                clearance.reception_message
                or "a clinician must review this patient's screening first."
            )
            + " An assessment appointment can still be booked.",
        )
    if clearance.next_step in ("screen", "re-check"):
        return Gate(
            blocked=False,
            needs_screening=True,
            message=clearance.reception_message or "Screen before treatment.",
        )
    # A relative finding: the clinician decides at the session, with a recorded override.
    return Gate(blocked=False, needs_screening=False, message=clearance.reception_message)


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
        raise SchedulingRefused("opening_hours", "A session must start and end on the same day.")
    weekday = f"{day:%A}s"
    opening = clinic.opening_hours_on(day)
    if not any(h.covers(start.time(), end.time()) for h in opening):
        hours = ", ".join(f"{h.opens:%H:%M}–{h.closes:%H:%M}" for h in opening)
        raise SchedulingRefused(
            "opening_hours",
            f"The clinic is not open for the whole session ({start:%H:%M}–{end:%H:%M}). "
            + (f"Opening hours on {weekday}: {hours}." if hours else f"It is closed on {weekday}."),
        )
    working = clinician.working_hours_on(day)
    if not any(h.starts <= start.time() and end.time() <= h.ends for h in working):
        hours = ", ".join(f"{h.starts:%H:%M}–{h.ends:%H:%M}" for h in working)
        raise SchedulingRefused(
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
    raise SchedulingRefused("overlap", message + " Choose another time.")


# Which of PostgreSQL's exclusion constraints fired, in reception's words.
OVERLAP_GUARDS = {
    "session_no_clinician_overlap": "The clinician was booked for this time a moment ago.",
    "session_no_room_overlap": "The room was booked for this time a moment ago.",
    "session_no_patient_overlap": "This patient was booked for this time a moment ago.",
}


def _overlap_refusal(exc: IntegrityError) -> SchedulingRefused | None:
    text = str(exc)
    for name, message in OVERLAP_GUARDS.items():
        if name in text:
            return SchedulingRefused("overlap", message + " Choose another time.")
    return None


def _gap_days(*, clinic: Clinic, earlier: datetime, later: datetime) -> int:
    return (
        local_date(clinic=clinic, moment=later) - local_date(clinic=clinic, moment=earlier)
    ).days


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
    others = plan.sessions.filter(status__in=ACTIVE_STATUSES).exclude(pk=exclude_pk)
    before = others.filter(starts_at__lte=starts_at).order_by("-starts_at").first()
    after = others.filter(starts_at__gt=starts_at).order_by("starts_at").first()
    shortest = clinic.course_min_interval_days
    too_close = []
    if before is not None:
        gap = _gap_days(clinic=clinic, earlier=before.starts_at, later=starts_at)
        if gap < shortest:
            too_close.append((before, gap))
    if after is not None:
        gap = _gap_days(clinic=clinic, earlier=starts_at, later=after.starts_at)
        if gap < shortest:
            too_close.append((after, gap))
    if too_close:
        neighbour, gap = too_close[0]
        day = neighbour.starts_at.astimezone(clinic.zone)
        why = (
            f"Another session of this plan is on {day:%a %d %b %Y}, {gap} day"
            f"{'' if gap == 1 else 's'} away: course sessions must be at least {shortest} days "
            f"apart (risk of over-injection)."
        )
        if not override_reason.strip():
            raise SchedulingRefused(
                "interval", why + " A clinician may override this with a reason."
            )
        if not _can_override(by):
            raise SchedulingRefused("interval", why + " Only a clinician can record the override.")
    deviation = False
    if before is not None:
        longest = max(clinic.course_max_interval_days, plan.interval_days)
        deviation = _gap_days(clinic=clinic, earlier=before.starts_at, later=starts_at) > longest
    return bool(too_close), deviation


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
            _gap_days(clinic=clinic, earlier=previous.starts_at, later=session.starts_at) > longest
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
        raise SchedulingRefused("past", "This time has already passed. Choose a future time.")
    if not room.is_active:
        raise SchedulingRefused("room", f"{room.name} is not in use any more.")
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
            raise SchedulingRefused("clearance", gate.message)
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


def book_session(
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
) -> TreatmentSession:
    """Book one session after every rule agreed; raises SchedulingRefused otherwise.

    `confirm=False` leaves out the booking confirmation (book_course sends one for the course).
    """
    if plan is not None and plan.patient_id != patient.pk:
        raise SchedulingRefused("plan", "This plan belongs to another patient.")
    ends_at = starts_at + timedelta(minutes=minutes or clinic.session_minutes)
    try:
        # On SQLite this transaction is IMMEDIATE: it holds the write lock from the first check
        # to the insert, so two bookings cannot both pass the overlap check. On PostgreSQL the
        # exclusion constraints (migration 0003) catch the race the check cannot see.
        with transaction.atomic():
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
            reminders_on_booked(session=session, now=now, clinic=clinic, confirm=confirm)
    except IntegrityError as exc:
        refusal = _overlap_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc
    return session


def book_course(
    *,
    clinic: Clinic,
    plan: TreatmentPlan,
    starts: list[datetime],
    clinician: StaffProfile,
    room: Room,
    by,
    now: datetime,
) -> list[TreatmentSession]:
    """Book the reviewed dates of a plan in one step: all of them, or none."""
    from .plans import plan_activate

    if not starts:
        raise SchedulingRefused("plan", "There are no dates to book.")
    booked = []
    with transaction.atomic():
        for number, starts_at in enumerate(sorted(starts), start=1):
            try:
                booked.append(
                    book_session(
                        clinic=clinic,
                        patient=plan.patient,
                        clinician=clinician,
                        room=room,
                        starts_at=starts_at,
                        by=by,
                        now=now,
                        plan=plan,
                        confirm=False,
                    )
                )
            except SchedulingRefused as refusal:
                day = starts_at.astimezone(clinic.zone)
                raise SchedulingRefused(
                    refusal.rule, f"Date {number} ({day:%a %d %b %Y %H:%M}): {refusal.message}"
                ) from refusal
        plan_activate(plan=plan)
        # One confirmation listing every date, not one message per session of the course.
        reminders_on_course_booked(sessions=booked, now=now, clinic=clinic)
    return booked


def _locked(session: TreatmentSession) -> TreatmentSession:
    # No select_related: PostgreSQL cannot lock the nullable side of an outer join (plan).
    return TreatmentSession.objects.select_for_update().get(pk=session.pk)


def move_session(
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
            session = _locked(session)
            if session.status not in (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED):
                raise SchedulingRefused(
                    "status",
                    f"A session that is {session.get_status_display().lower()} cannot be moved.",
                )
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


@dataclass
class Shift:
    session: TreatmentSession
    starts_at: datetime  # proposed


def propose_reflow(
    *, clinic: Clinic, session: TreatmentSession, new_starts_at: datetime
) -> list[Shift]:
    """Proposed new times for the later sessions of the plan, shifted by the same number of days
    at the same local time, so the spacing of the course still holds; reception may edit them."""
    if session.plan_id is None:
        return []
    days = _gap_days(clinic=clinic, earlier=session.starts_at, later=new_starts_at)
    later = (
        session.plan.sessions.filter(
            status__in=(SessionStatus.SCHEDULED, SessionStatus.CONFIRMED),
            starts_at__gt=session.starts_at,
        )
        .exclude(pk=session.pk)
        .select_related("clinician", "room")
        .order_by("starts_at")
    )
    shifts = []
    for other in later:
        wall = other.starts_at.astimezone(clinic.zone)
        shifts.append(
            Shift(
                session=other,
                starts_at=localise(
                    clinic=clinic, day=wall.date() + timedelta(days=days), at=wall.time()
                ),
            )
        )
    return shifts


def move_with_reflow(
    *,
    clinic: Clinic,
    session: TreatmentSession,
    starts_at: datetime,
    later: list[tuple[TreatmentSession, datetime]],
    by,
    now: datetime,
    clinician: StaffProfile | None = None,
    room: Room | None = None,
    override_reason: str = "",
) -> TreatmentSession:
    """Move a session and the later sessions reception accepted, all together or not at all."""
    moves = [(session, starts_at, clinician, room)] + [(s, t, None, None) for s, t in later]
    # Move the latest first when shifting later (and the earliest first when shifting earlier),
    # so no session is ever checked against a neighbour that is about to move out of its way.
    moves.sort(key=lambda m: m[0].starts_at, reverse=starts_at > session.starts_at)
    with transaction.atomic():
        for target, when, who, where in moves:
            if target.starts_at == when and who is None and where is None:
                continue
            try:
                moved = move_session(
                    clinic=clinic,
                    session=target,
                    starts_at=when,
                    by=by,
                    now=now,
                    clinician=who,
                    room=where,
                    override_reason=override_reason,
                )
            except SchedulingRefused as refusal:
                if target.pk == session.pk:
                    raise
                day = when.astimezone(clinic.zone)
                raise SchedulingRefused(
                    refusal.rule,
                    f"Later session on {day:%a %d %b %Y %H:%M}: {refusal.message}",
                ) from refusal
            if target.pk == session.pk:
                session = moved
    session.refresh_from_db()
    return session


# Session life ---------------------------------------------------------------------------------


def _refuse_unless(session: TreatmentSession, allowed: tuple, action: str):
    if session.status not in allowed:
        raise SchedulingRefused(
            "status",
            f"A session that is {session.get_status_display().lower()} cannot be {action}.",
        )


def confirm_session(
    *, session: TreatmentSession, by, now: datetime, change_reason: str = ""
) -> TreatmentSession:
    """`change_reason` goes into the session's history: who acted when no staff member did."""
    with transaction.atomic():
        session = _locked(session)
        _refuse_unless(session, (SessionStatus.SCHEDULED,), "confirmed")
        session.status, session.confirmed_at, session.status_changed_by = (
            SessionStatus.CONFIRMED,
            now,
            by,
        )
        session._change_reason = change_reason or None
        session.save(update_fields=["status", "confirmed_at", "status_changed_by"])
    return session


def check_in_session(
    *, clinic: Clinic, session: TreatmentSession, by, now: datetime
) -> TreatmentSession:
    with transaction.atomic():
        session = _locked(session)
        _refuse_unless(session, (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED), "checked in")
        if local_date(clinic=clinic, moment=session.starts_at) != local_date(
            clinic=clinic, moment=now
        ):
            raise SchedulingRefused(
                "check_in", "A patient can only be checked in on the day of their session."
            )
        session.status, session.checked_in_at, session.status_changed_by = (
            SessionStatus.CHECKED_IN,
            now,
            by,
        )
        session.save(update_fields=["status", "checked_in_at", "status_changed_by"])
    return session


def cancel_session(
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
        raise SchedulingRefused("cancel", "Say why the session is cancelled.")
    with transaction.atomic():
        session = _locked(session)
        _refuse_unless(session, (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED), "cancelled")
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


def no_show_session(*, clinic: Clinic, session: TreatmentSession, by, now: datetime):
    with transaction.atomic():
        session = _locked(session)
        _refuse_unless(
            session, (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED), "marked as a no-show"
        )
        if now < session.starts_at:
            raise SchedulingRefused(
                "no_show", "A no-show can only be recorded after the session's start time."
            )
        session.status, session.status_changed_by = SessionStatus.NO_SHOW, by
        session.save(update_fields=["status", "status_changed_by"])
        reminders_on_no_show(session=session, now=now, clinic=clinic)
        if session.plan is not None:
            plan_reflag(clinic=clinic, plan=session.plan)
    return session


# Free slots -----------------------------------------------------------------------------------


def suggest_slots(
    *,
    clinic: Clinic,
    clinician: StaffProfile,
    room: Room,
    patient,
    after: datetime,
    minutes: int | None = None,
    days: int = 14,
    limit: int = 6,
    exclude_pk: int | None = None,
    preferred: time | None = None,
) -> list[datetime]:
    """Free start times for this clinician, room and patient, from `after` on (a few queries)."""
    length = timedelta(minutes=minutes or clinic.session_minutes)
    first_day = local_date(clinic=clinic, moment=after)
    until = localise(clinic=clinic, day=first_day + timedelta(days=days + 1), at=time(0))
    busy = list(
        TreatmentSession.objects.filter(
            status__in=ACTIVE_STATUSES, starts_at__lt=until, ends_at__gt=after
        )
        .filter(Q(clinician=clinician) | Q(room=room) | Q(patient=patient))
        .exclude(pk=exclude_pk)
        .values_list("starts_at", "ends_at")
    )
    opening = list(clinic.opening_hours.all())
    working = list(clinician.working_hours.all())
    found = []
    for offset in range(days + 1):
        day = first_day + timedelta(days=offset)
        day_slots = []
        for o in (h for h in opening if h.weekday == day.weekday()):
            for w in (h for h in working if h.weekday == day.weekday()):
                start = localise(clinic=clinic, day=day, at=max(o.opens, w.starts))
                stop = localise(clinic=clinic, day=day, at=min(o.closes, w.ends))
                while start + length <= stop:
                    end = start + length
                    if start >= after and not any(b[0] < end and b[1] > start for b in busy):
                        day_slots.append(start)
                    start += SLOT_STEP
        if preferred is not None:
            wanted = localise(clinic=clinic, day=day, at=preferred)
            day_slots.sort(key=lambda s: abs((s - wanted).total_seconds()))
        for slot in day_slots:
            if slot not in found:
                found.append(slot)
                if len(found) >= limit:
                    return found
    return found
