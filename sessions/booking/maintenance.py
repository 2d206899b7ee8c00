"""The maintenance (recall) list: completed courses whose maintenance session is due.

DOMAIN.md: prompt maintenance at +4 months after the last course session by default
(Clinic.maintenance_after_months, a practice default).
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Max, Prefetch, Q

from clinic.models import Clinic
from sessions.models import (
    ACTIVE_STATUSES,
    ContactAttempt,
    PlanStatus,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)

DUE_WITHIN_DAYS = 30


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class MaintenanceDue:
    plan: TreatmentPlan
    last_session_on: date
    due_on: date
    attempts: list[ContactAttempt]

    @property
    def overdue(self) -> bool:
        return self.due_on < self.today

    today: date = date.min


def maintenance_due(*, clinic: Clinic, today: date) -> list[MaintenanceDue]:
    """Completed courses due for maintenance within 30 days or overdue, oldest due first.

    A patient who already has a session booked after the course is left off: the recall worked.
    So is a patient whose processing is restricted (an erasure request): a recall call is
    marketing, not care.
    """
    plans = (
        TreatmentPlan.objects.filter(
            status=PlanStatus.COMPLETED, patient__processing_restricted_at__isnull=True
        )
        .annotate(
            last_session=Max(
                "sessions__starts_at", filter=Q(sessions__status=SessionStatus.COMPLETED)
            )
        )
        .filter(last_session__isnull=False)
        .select_related("patient")
        .prefetch_related(
            Prefetch("contact_attempts", queryset=ContactAttempt.objects.select_related("by"))
        )
    )
    horizon = today + timedelta(days=DUE_WITHIN_DAYS)
    rows = []
    for plan in plans:
        last_on = plan.last_session.astimezone(clinic.zone).date()
        # Signing the last session of a course stores the due date (records.py); plans
        # completed before that, or by hand, fall back to the clinic's interval.
        due_on = plan.maintenance_due_on or add_months(last_on, clinic.maintenance_after_months)
        if due_on <= horizon:
            rows.append(
                MaintenanceDue(
                    plan=plan,
                    last_session_on=last_on,
                    due_on=due_on,
                    attempts=list(plan.contact_attempts.all()),
                    today=today,
                )
            )
    booked_after = _patients_booked_after(rows)
    rows = [r for r in rows if (r.plan.patient_id, r.plan.last_session) not in booked_after]
    return sorted(rows, key=lambda r: (r.due_on, r.plan.pk))


def _patients_booked_after(rows: list[MaintenanceDue]) -> set:
    if not rows:
        return set()

    earliest = min(r.plan.last_session for r in rows)
    later = list(
        TreatmentSession.objects.filter(
            patient_id__in={r.plan.patient_id for r in rows},
            status__in=ACTIVE_STATUSES,
            starts_at__gt=earliest,
        ).values_list("patient_id", "starts_at")
    )
    found = set()
    for row in rows:
        if any(p == row.plan.patient_id and s > row.plan.last_session for p, s in later):
            found.add((row.plan.patient_id, row.plan.last_session))
    return found


def maintenance_overdue_count(*, clinic: Clinic, today: date) -> int:
    return sum(1 for row in maintenance_due(clinic=clinic, today=today) if row.due_on < today)


def contact_attempt_log(
    *, plan: TreatmentPlan, channel: str, outcome: str, note: str, by, now: datetime
) -> ContactAttempt:
    attempt = ContactAttempt(
        plan=plan, attempted_at=now, channel=channel, outcome=outcome, note=note.strip(), by=by
    )
    attempt.full_clean()
    attempt.save()
    return attempt
