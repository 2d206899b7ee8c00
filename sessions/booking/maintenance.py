"""When maintenance is due: the one rule the recall list, the maintenance prompts and signing use.

DOMAIN.md: maintenance falls due a set interval after the last visit (Clinic.
maintenance_after_months, practice default 4 months): after the course's last session, then
after each maintenance visit. The due date is stored on the completed plan when a visit is
signed (`maintenance_reschedule`), with the date of the next prompt beside it, so neither the
recall list nor the sweep ever reads a patient's history to find out (DESIGN.md decision 10).

A patient is due while nothing is booked for them: a booked visit means the recall worked.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet

from clinic.models import Clinic
from sessions.models import (
    ContactAttempt,
    PlanStatus,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)

DUE_WITHIN_DAYS = 30
PAGE_SIZE = 50
# Statuses of a visit still to come (or under way): the patient is coming back.
COMING = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED, SessionStatus.CHECKED_IN)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def maintenance_due_after(*, clinic: Clinic, visit_on: date) -> date:
    """The day maintenance falls due after a visit on `visit_on`."""
    return add_months(visit_on, clinic.maintenance_after_months)


def maintenance_reschedule(*, clinic: Clinic, patient_id: int, visit_on: date) -> int:
    """A visit on `visit_on` was signed (the course's last session or a maintenance visit): the
    patient's completed courses fall due again from it, and their next prompt with them. A
    record of an older visit signed late never moves a due date back."""
    due_on = maintenance_due_after(clinic=clinic, visit_on=visit_on)
    return (
        TreatmentPlan.objects.filter(patient_id=patient_id, status=PlanStatus.COMPLETED)
        .filter(Q(maintenance_due_on__isnull=True) | Q(maintenance_due_on__lt=due_on))
        .update(maintenance_due_on=due_on, maintenance_prompt_on=due_on)
    )


def maintenance_due_plans(*, due_by: date, now: datetime) -> QuerySet[TreatmentPlan]:
    """Completed courses whose maintenance falls due by `due_by`, of patients still with the
    clinic who have no visit booked from `now` on. The recall list and the prompts both ask it.

    A patient whose processing is restricted (an erasure request) is left off too: a recall
    call or a "time for your next visit" message is marketing, not care."""
    coming = TreatmentSession.objects.filter(
        patient_id=OuterRef("patient_id"), status__in=COMING, starts_at__gt=now
    )
    return TreatmentPlan.objects.filter(
        status=PlanStatus.COMPLETED,
        maintenance_due_on__lte=due_by,
        patient__archived_at__isnull=True,
        patient__processing_restricted_at__isnull=True,
    ).exclude(Exists(coming))


@dataclass
class MaintenanceDue:
    plan: TreatmentPlan
    last_visit_on: date | None
    due_on: date
    attempts: list[ContactAttempt]
    overdue: bool


@dataclass
class MaintenanceList:
    """The recall list: due within 30 days or overdue, oldest due first. `plans` is a queryset
    for a paginator; `rows` turns one page of it into what the page shows."""

    plans: QuerySet[TreatmentPlan]
    total: int
    overdue: int
    today: date
    zone: object

    def page(self, number, *, per_page: int = PAGE_SIZE) -> Page:
        """One page of the list; its rows are in `page.rows`."""
        paginator = Paginator(self.plans, per_page)
        # Counted with the overdue count in one aggregate: the paginator need not count again.
        paginator.count = self.total
        page = paginator.get_page(number)
        page.rows = self.rows(page.object_list)
        return page

    def rows(self, plans) -> list[MaintenanceDue]:
        plans = list(plans)
        last_visits = dict(
            TreatmentSession.objects.filter(
                patient_id__in={p.patient_id for p in plans}, status=SessionStatus.COMPLETED
            )
            .values("patient_id")
            .annotate(last=Max("starts_at"))
            .values_list("patient_id", "last")
        )
        return [
            MaintenanceDue(
                plan=plan,
                last_visit_on=last_visits[plan.patient_id].astimezone(self.zone).date()
                if plan.patient_id in last_visits
                else None,
                due_on=plan.maintenance_due_on,
                attempts=list(plan.contact_attempts.all()),
                overdue=plan.maintenance_due_on < self.today,
            )
            for plan in plans
        ]


def maintenance_list(*, clinic: Clinic, today: date, now: datetime) -> MaintenanceList:
    due = maintenance_due_plans(due_by=today + timedelta(days=DUE_WITHIN_DAYS), now=now)
    counts = due.aggregate(
        total=Count("pk"), overdue=Count("pk", filter=Q(maintenance_due_on__lt=today))
    )
    plans = (
        due.select_related("patient")
        .prefetch_related(
            Prefetch("contact_attempts", queryset=ContactAttempt.objects.select_related("by"))
        )
        .order_by("maintenance_due_on", "pk")
    )
    return MaintenanceList(
        plans=plans,
        total=counts["total"],
        overdue=counts["overdue"],
        today=today,
        zone=clinic.zone,
    )


def maintenance_due(*, clinic: Clinic, today: date, now: datetime) -> list[MaintenanceDue]:
    """Every row of the recall list (for code that needs them all; pages paginate)."""
    recall = maintenance_list(clinic=clinic, today=today, now=now)
    return recall.rows(recall.plans)


def maintenance_overdue_count(*, clinic: Clinic, today: date, now: datetime) -> int:
    return maintenance_list(clinic=clinic, today=today, now=now).overdue


def maintenance_prompts_due(*, today: date, now: datetime) -> QuerySet[TreatmentPlan]:
    """Due courses whose next prompt date has come (the sweep's step): an index range on the
    prompt date, however long the clinic's history."""
    return maintenance_due_plans(due_by=today, now=now).filter(maintenance_prompt_on__lte=today)


def maintenance_prompt_on(*, clinic: Clinic, plan: TreatmentPlan, today: date) -> date:
    """The latest prompt date on or before `today`: the due date, then every interval after it
    for a patient who has not come back."""
    months, anchor = clinic.maintenance_after_months, plan.maintenance_due_on
    step = 0
    while add_months(anchor, (step + 1) * months) <= today:
        step += 1
    return add_months(anchor, step * months)


def contact_attempt_log(
    *, plan: TreatmentPlan, channel: str, outcome: str, note: str, by, now: datetime
) -> ContactAttempt:
    attempt = ContactAttempt(
        plan=plan, attempted_at=now, channel=channel, outcome=outcome, note=note.strip(), by=by
    )
    attempt.full_clean()
    attempt.save()
    return attempt
