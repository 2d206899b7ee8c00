"""Treatment plans: writing a plan from a template, proposing the dates of its course, booking
the reviewed dates in one step, and stopping or completing it. Each session of the course is
booked through scheduling.py's rules."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from clinic.models import Clinic, Room, StaffProfile
from sessions.booking.maintenance import maintenance_reschedule
from sessions.booking.scheduling import (
    BookingRefused,
    conflict_retried,
    local_date,
    localise,
    session_book,
    session_cancel,
)
from sessions.booking.slots import free_slots
from sessions.clearance import Step, treatment_clearance
from sessions.models import (
    ACTIVE_STATUSES,
    PlanStatus,
    PlanTemplate,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)
from sessions.outreach.rows import reminders_on_course_booked


def plan_template_defaults(*, template: PlanTemplate) -> dict:
    """The numbers a new plan starts from; the clinician may change each of them."""
    return {
        "number_of_sessions": template.number_of_sessions,
        "interval_days": template.interval_days,
    }


def plan_create(
    *, clinic: Clinic, patient, by, on_date: date | None = None, **fields
) -> TreatmentPlan:
    """Write a draft plan; unset numbers come from its template, the price currency from the
    clinic. `by` is the acting user; the plan names their staff profile as its author.

    A plan is treatment: the patient must be cleared for its formulation version
    (sessions/clearance.py, step PLAN) — screened, with no absolute finding, no allergy to the
    version and no red flag a dermatologist has not cleared."""
    author = getattr(by, "staff_profile", None)
    if author is None:
        raise BookingRefused("plan", "Only a member of staff with a profile can write a plan.")
    clearance = treatment_clearance(
        patient=patient,
        formulation_version=fields.get("formulation_version"),
        on_date=on_date or local_date(clinic=clinic, moment=timezone.now()),
        step=Step.PLAN,
    )
    if not clearance.cleared:
        raise BookingRefused(
            clearance.first.rule, "No treatment plan can be written yet. " + clearance.message
        )
    template = fields.get("template")
    if template is not None:
        for name, value in plan_template_defaults(template=template).items():
            if fields.get(name) in (None, ""):
                fields[name] = value
    if fields.get("interval_days") and fields["interval_days"] < clinic.course_min_interval_days:
        raise BookingRefused(
            "interval",
            f"Course sessions must be at least {clinic.course_min_interval_days} days apart.",
        )
    assessment = fields.get("assessment")
    if assessment is not None and assessment.patient_id != patient.pk:
        raise BookingRefused("plan", "The assessment belongs to another patient.")
    plan = TreatmentPlan(patient=patient, created_by=author, currency=clinic.currency, **fields)
    plan.full_clean()
    plan.save()
    return plan


@dataclass(frozen=True)
class PlanProgress:
    booked: int
    done: int
    remaining: int


def plan_progress(*, plan: TreatmentPlan) -> PlanProgress:
    sessions = [s for s in plan.sessions.all() if s.status in ACTIVE_STATUSES]
    done = sum(1 for s in sessions if s.status == SessionStatus.COMPLETED)
    return PlanProgress(
        booked=len(sessions), done=done, remaining=max(plan.number_of_sessions - done, 0)
    )


def plan_allowed_actions(*, plan: TreatmentPlan, progress: PlanProgress) -> frozenset[str]:
    """What the plan's status allows now: the rule functions below refuse exactly the rest."""
    allowed = set()
    if plan.status in (PlanStatus.DRAFT, PlanStatus.ACTIVE):
        allowed.add("stop")
        if progress.booked < plan.number_of_sessions:
            allowed.add("book")
    if plan.status == PlanStatus.ACTIVE and progress.done:
        allowed.add("complete")
    return frozenset(allowed)


def plan_course(
    *,
    clinic: Clinic,
    plan: TreatmentPlan,
    first_starts_at: datetime,
    clinician: StaffProfile,
    room: Room,
    now: datetime,
) -> list[datetime]:
    """Propose start times for every session of the plan not yet booked.

    The first is the free slot nearest `first_starts_at` on its day; each next one is
    `interval_days` later on the local calendar, at the same wall-clock time when it is free
    (so a daylight-saving change does not move it), else the nearest free time that day, else
    the next days. Nothing is booked: reception reviews the dates, then course_book books them.
    """
    booked = plan.sessions.filter(status__in=ACTIVE_STATUSES).count()
    wanted = plan.number_of_sessions - booked
    if wanted <= 0:
        return []
    preferred = first_starts_at.astimezone(clinic.zone).time()
    proposals: list[datetime] = []
    day = local_date(clinic=clinic, moment=first_starts_at)
    earliest = max(first_starts_at, now)
    while len(proposals) < wanted:
        slot = _nearest_free(
            clinic=clinic,
            plan=plan,
            clinician=clinician,
            room=room,
            day=day,
            preferred=preferred,
            earliest=earliest if not proposals else now,
        )
        if slot is None:
            break
        proposals.append(slot)
        day = local_date(clinic=clinic, moment=slot) + timedelta(days=plan.interval_days)
    return proposals


def plan_course_shifts(
    *, clinic: Clinic, plan: TreatmentPlan, first_starts_at: datetime, proposals: list[datetime]
) -> list[datetime | None]:
    """For each proposal, the time it was meant to be when plan_course had to move it (the
    clinician or room busy, outside hours), else None: reception must see that a date moved.

    Meant: the first at `first_starts_at`; each next `interval_days` after the previous proposal,
    at the first session's wall-clock time.
    """
    preferred = first_starts_at.astimezone(clinic.zone).time()
    shifts: list[datetime | None] = []
    meant = first_starts_at
    for proposal in proposals:
        shifts.append(meant.astimezone(clinic.zone) if proposal != meant else None)
        day = local_date(clinic=clinic, moment=proposal) + timedelta(days=plan.interval_days)
        meant = localise(clinic=clinic, day=day, at=preferred)
    return shifts


def _nearest_free(
    *,
    clinic: Clinic,
    plan: TreatmentPlan,
    clinician: StaffProfile,
    room: Room,
    day: date,
    preferred,
    earliest: datetime,
) -> datetime | None:
    start_of_day = localise(clinic=clinic, day=day, at=preferred.replace(hour=0, minute=0))
    slots = free_slots(
        clinic=clinic,
        clinician=clinician,
        room=room,
        patient=plan.patient,
        after=max(start_of_day, earliest),
        days=28,
        limit=1,
        preferred=preferred,
    )
    return slots[0] if slots else None


def plan_activate(*, plan: TreatmentPlan) -> TreatmentPlan:
    if plan.status == PlanStatus.DRAFT:
        plan.status = PlanStatus.ACTIVE
        plan.save(update_fields=["status"])
    return plan


def plan_complete(*, clinic: Clinic, plan: TreatmentPlan) -> TreatmentPlan:
    """Close the course; maintenance is then due from its last completed session."""
    if plan.status != PlanStatus.ACTIVE:
        raise BookingRefused("plan", "Only an active plan can be completed.")
    if not plan.sessions.filter(status=SessionStatus.COMPLETED).exists():
        raise BookingRefused(
            "plan", "A course can only be completed after at least one completed session."
        )
    with transaction.atomic():
        plan.status = PlanStatus.COMPLETED
        plan.save(update_fields=["status"])
        last = (
            plan.sessions.filter(status=SessionStatus.COMPLETED)
            .order_by("-starts_at")
            .values_list("starts_at", flat=True)
            .first()
        )
        maintenance_reschedule(
            clinic=clinic, patient_id=plan.patient_id, visit_on=last.astimezone(clinic.zone).date()
        )
    return plan


def plan_stop(*, clinic: Clinic, plan: TreatmentPlan, reason: str, by, now: datetime):
    """Stop a plan early; its sessions still to come are cancelled by the clinic with the reason."""
    if not reason.strip():
        raise BookingRefused("plan", "Say why the plan is stopped.")
    if plan.status in (PlanStatus.COMPLETED, PlanStatus.STOPPED):
        raise BookingRefused("plan", f"The plan is already {plan.get_status_display().lower()}.")
    with transaction.atomic():
        for session in plan.sessions.filter(
            status__in=(SessionStatus.SCHEDULED, SessionStatus.CONFIRMED)
        ):
            session_cancel(
                clinic=clinic,
                session=session,
                by_patient=False,
                reason=f"Plan stopped: {reason.strip()}",
                by=by,
                now=now,
            )
        plan.status, plan.stopped_reason = PlanStatus.STOPPED, reason.strip()
        plan.save(update_fields=["status", "stopped_reason"])
    return plan


@conflict_retried
def course_book(
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
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.ACTIVE):
        raise BookingRefused(
            "plan", f"The plan is {plan.get_status_display().lower()}: nothing can be booked."
        )
    if not starts:
        raise BookingRefused("plan", "There are no dates to book.")
    booked = []
    with transaction.atomic():
        for number, starts_at in enumerate(sorted(starts), start=1):
            try:
                booked.append(
                    session_book(
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
            except BookingRefused as refusal:
                day = starts_at.astimezone(clinic.zone)
                raise BookingRefused(
                    refusal.rule, f"Date {number} ({day:%a %d %b %Y %H:%M}): {refusal.message}"
                ) from refusal
        plan_activate(plan=plan)
        # One confirmation listing every date, not one message per session of the course.
        reminders_on_course_booked(sessions=booked, now=now, clinic=clinic)
    return booked
