"""When maintenance is due: the one rule the recall list, the maintenance prompts and signing use.

DOMAIN.md: maintenance falls due a set interval after the last visit (Clinic.
maintenance_after_months, practice default 4 months): after the course's last session, then
after each maintenance visit. The due date is stored on the completed plan when a visit is
signed (`maintenance_reschedule`), with the date of the next prompt beside it, so neither the
recall list nor the sweep ever reads a patient's history to find out (DESIGN.md decision 10).

A patient is due while nothing is booked for them: a booked visit means the recall worked.
One overdue for more than Clinic.recall_lapse_months (default 12) is lapsed: results typically
last 6–12 months without maintenance, so a return after that is a new assessment, not
maintenance. A lapsed patient is off the recall windows and gets no more prompts; reception
finds them under Lapsed. That also keeps the list and its counts the size of the last year's
work, not of every patient the clinic ever treated.
"""

import calendar
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet, TextChoices

from clinic.models import Clinic
from clinic.spreadsheet import csv_cell
from sessions.models import (
    ContactAttempt,
    PlanStatus,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)

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


def recall_lapsed_before(*, clinic: Clinic, today: date) -> date:
    """The earliest due date still recalled: a course due before it has lapsed."""
    return add_months(today, -clinic.recall_lapse_months)


def maintenance_due_plans(
    *, due_by: date, now: datetime, due_from: date | None = None
) -> QuerySet[TreatmentPlan]:
    """Completed courses whose maintenance falls due by `due_by` (and from `due_from`, when
    given), of patients still with the clinic who have no visit booked from `now` on. The
    recall list and the prompts both ask it.

    A patient whose processing is restricted (an erasure request) is left off too: a recall
    call or a "time for your next visit" message is marketing, not care."""
    coming = TreatmentSession.objects.filter(
        patient_id=OuterRef("patient_id"), status__in=COMING, starts_at__gt=now
    )
    plans = TreatmentPlan.objects.filter(
        status=PlanStatus.COMPLETED,
        maintenance_due_on__lte=due_by,
        patient__archived_at__isnull=True,
        patient__processing_restricted_at__isnull=True,
    )
    if due_from is not None:
        plans = plans.filter(maintenance_due_on__gte=due_from)
    return plans.exclude(Exists(coming))


class RecallWindow(TextChoices):
    """How far ahead reception works the recall list. Overdue patients are on every window:
    they are still to be called, and come first. Lapsed is the patients overdue for longer
    than the clinic recalls, most recently lapsed first: on no other window."""

    OVERDUE = "overdue", "Overdue"
    MONTH = "month", "This month"
    QUARTER = "3months", "Next 3 months"
    LAPSED = "lapsed", "Lapsed"


# The windows counted together on every page of the list (LAPSED is counted only when shown:
# it holds every patient who ever stopped coming back).
RECALLED = (RecallWindow.OVERDUE, RecallWindow.MONTH, RecallWindow.QUARTER)


DEFAULT_WINDOW = RecallWindow.MONTH


def recall_window_due_by(*, window: str, today: date) -> date:
    """The last due date in `window`: yesterday (overdue), the month's last day, or the same day
    three months on."""
    if window == RecallWindow.OVERDUE:
        return today - timedelta(days=1)
    if window == RecallWindow.MONTH:
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return add_months(today, 3)


@dataclass
class MaintenanceDue:
    plan: TreatmentPlan
    last_visit_on: date | None
    due_on: date
    attempts: list[ContactAttempt]
    overdue: bool
    lapsed: bool

    @property
    def last_contact(self) -> ContactAttempt | None:
        return self.attempts[0] if self.attempts else None


def contact_by_name(attempt: ContactAttempt) -> str:
    """Who made the attempt, as colleagues know them (the staff name, else the username)."""
    profile = getattr(attempt.by, "staff_profile", None)
    return profile.display_name if profile is not None else attempt.by.get_username()


@dataclass
class MaintenanceList:
    """The recall list for one window, oldest due first (lapsed: latest first). `plans` is a
    queryset for a paginator; `rows` turns one page of it into what the page shows. `counts`
    holds the size of every recalled window (one aggregate query) and of Lapsed when it is the
    one shown, `total` the chosen one's."""

    plans: QuerySet[TreatmentPlan]
    window: str
    counts: dict[str, int]
    today: date
    zone: object
    lapsed_before: date

    @property
    def total(self) -> int:
        return self.counts[self.window]

    @property
    def overdue(self) -> int:
        return self.counts[RecallWindow.OVERDUE]

    @property
    def shows_lapsed(self) -> bool:
        return self.window == RecallWindow.LAPSED

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
                lapsed=plan.maintenance_due_on < self.lapsed_before,
            )
            for plan in plans
        ]


def maintenance_list(
    *, clinic: Clinic, today: date, now: datetime, window: str = DEFAULT_WINDOW
) -> MaintenanceList:
    """The recall list for `window`, with the size of every recalled window counted in one
    query (the windows nest: overdue within this month within the next 3 months)."""
    if window not in RecallWindow.values:
        window = DEFAULT_WINDOW
    lapsed_before = recall_lapsed_before(clinic=clinic, today=today)
    widest = maintenance_due_plans(
        due_by=recall_window_due_by(window=RecallWindow.QUARTER, today=today),
        due_from=lapsed_before,
        now=now,
    )
    counts = widest.aggregate(
        **{
            choice: Count(
                "pk",
                filter=Q(maintenance_due_on__lte=recall_window_due_by(window=choice, today=today)),
            )
            for choice in RECALLED
        }
    )
    if window == RecallWindow.LAPSED:
        chosen = maintenance_due_plans(due_by=lapsed_before - timedelta(days=1), now=now)
        counts[window] = chosen.count()
        order = ("-maintenance_due_on", "pk")
    else:
        chosen = widest.filter(
            maintenance_due_on__lte=recall_window_due_by(window=window, today=today)
        )
        order = ("maintenance_due_on", "pk")
    attempts = ContactAttempt.objects.select_related("by__staff_profile")
    plans = (
        chosen.select_related("patient")
        .prefetch_related(Prefetch("contact_attempts", queryset=attempts))
        .order_by(*order)
    )
    return MaintenanceList(
        plans=plans,
        window=window,
        counts=counts,
        today=today,
        zone=clinic.zone,
        lapsed_before=lapsed_before,
    )


def maintenance_due(
    *, clinic: Clinic, today: date, now: datetime, window: str = RecallWindow.QUARTER
) -> list[MaintenanceDue]:
    """Every row of the recall list in `window` (for code that needs them all; pages paginate)."""
    recall = maintenance_list(clinic=clinic, today=today, now=now, window=window)
    return recall.rows(recall.plans)


def maintenance_overdue_count(*, clinic: Clinic, today: date, now: datetime) -> int:
    return maintenance_list(clinic=clinic, today=today, now=now).overdue


def maintenance_prompts_due(
    *, clinic: Clinic, today: date, now: datetime
) -> QuerySet[TreatmentPlan]:
    """Due courses, not lapsed, whose next prompt date has come (the sweep's step): an index
    range on the prompt date, however long the clinic's history."""
    return maintenance_due_plans(
        due_by=today, due_from=recall_lapsed_before(clinic=clinic, today=today), now=now
    ).filter(maintenance_prompt_on__lte=today)


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


MAINTENANCE_CSV_HEADER = [
    "record number",
    "patient",
    "mobile",
    "email",
    "preferred channel",
    "last visit",
    "maintenance due",
    "overdue",
    "last contact",
    "last outcome",
    "last contact by",
    "contact attempts",
]


def maintenance_csv(recall: MaintenanceList) -> str:
    """The chosen window as CSV for calling down the list: contact columns only, no clinical
    content; every text cell made safe for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MAINTENANCE_CSV_HEADER)
    for row in recall.rows(recall.plans):
        patient, last = row.plan.patient, row.last_contact
        writer.writerow(
            [
                csv_cell(patient.record_number),
                csv_cell(patient.full_name),
                csv_cell(patient.mobile.as_national if patient.mobile else ""),
                csv_cell(patient.email),
                csv_cell(patient.get_preferred_channel_display()),
                row.last_visit_on.isoformat() if row.last_visit_on else "",
                row.due_on.isoformat(),
                "yes" if row.overdue else "no",
                last.attempted_at.astimezone(recall.zone).strftime("%Y-%m-%d %H:%M")
                if last
                else "",
                csv_cell(last.get_outcome_display()) if last else "",
                csv_cell(contact_by_name(last)) if last else "",
                len(row.attempts),
            ]
        )
    return out.getvalue()
