"""Periodic prompts: maintenance recalls and re-screening notices that fall due with time, not
with a booking change. A step of every sweep; the unique constraints and existence checks make a
second run in the same minute create nothing."""

from datetime import datetime, timedelta

from django.db import transaction

from clinic.models import Clinic
from patients.clearance import screening_lapses_on
from patients.models import Patient, Screening

from ..booking.maintenance import add_months, maintenance_prompt_on, maintenance_prompts_due
from ..models import (
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionKind,
    TreatmentPlan,
    TreatmentSession,
)
from .rows import BOOKED, clinic_or_current, follow_up_at, reminder_row, reminders_insert

# Re-screening prompts go out this many days before the screening lapses (practice default), and
# only for a treatment session booked within this horizon.
RESCREENING_NOTICE_DAYS = 14


def _maintenance_plans(*, clinic: Clinic, now: datetime) -> list[Reminder | None]:
    """A prompt for each course whose maintenance is due (booking/maintenance.py decides) and
    whose next prompt date has come; the next prompt then moves one interval on."""
    today = now.astimezone(clinic.zone).date()
    plans = list(
        maintenance_prompts_due(clinic=clinic, today=today, now=now)
        .select_related("patient")
        .select_for_update(of=("self",))
    )
    if not plans:
        return []
    existing = set(
        Reminder.objects.filter(kind=ReminderKind.MAINTENANCE, plan__in=plans)
        .exclude(status=ReminderStatus.CANCELLED)
        .values_list("plan_id", "due_at")
    )
    rows = []
    for plan in plans:
        prompt_on = maintenance_prompt_on(clinic=clinic, plan=plan, today=today)
        plan.maintenance_prompt_on = add_months(prompt_on, clinic.maintenance_after_months)
        due_at = follow_up_at(clinic=clinic, day=prompt_on)
        if (plan.pk, due_at) in existing:
            continue
        rows.append(
            reminder_row(
                clinic=clinic,
                kind=ReminderKind.MAINTENANCE,
                patient=plan.patient,
                plan=plan,
                due_at=due_at,
                now=now,
            )
        )
    TreatmentPlan.objects.bulk_update(plans, ["maintenance_prompt_on"])
    return rows


def _rescreening_rows(*, clinic: Clinic, now: datetime) -> list[Reminder | None]:
    today = now.astimezone(clinic.zone).date()
    horizon = now + timedelta(days=RESCREENING_NOTICE_DAYS)
    upcoming = (
        TreatmentSession.objects.filter(
            kind=SessionKind.TREATMENT,
            status__in=BOOKED,
            starts_at__gt=now,
            starts_at__lte=horizon,
        )
        # Only what the check needs: the patients are read below for the few prompts made.
        .only("id", "patient_id", "starts_at")
        .order_by("patient_id", "starts_at")
    )
    next_session: dict[int, TreatmentSession] = {}
    for session in upcoming:
        next_session.setdefault(session.patient_id, session)
    if not next_session:
        return []
    # latest_screening's rule (newest screened_on, then newest row), for all patients at once.
    latest: dict[int, Screening] = {}
    for screening in (
        Screening.objects.filter(
            patient_id__in=next_session, voided_at__isnull=True, screened_on__lte=today
        )
        .only("id", "patient_id", "screened_on")
        .order_by("patient_id", "screened_on", "pk")
    ):
        latest[screening.patient_id] = screening
    if not latest:
        return []
    # screening_lapses_on adds the clinic's validity to the screening date: ask it once.
    sample = next(iter(latest.values()))
    validity = screening_lapses_on(screening=sample) - sample.screened_on
    candidates = {}
    for patient_id, session in next_session.items():
        screening = latest.get(patient_id)
        if screening is None:
            continue  # never screened: the session is flagged "screen before treatment" instead
        lapses_on = screening.screened_on + validity
        if lapses_on > session.starts_at.astimezone(clinic.zone).date():
            continue
        # Once per lapse date: the prompt's time is fixed by the date the screening lapses.
        due_at = follow_up_at(
            clinic=clinic, day=lapses_on - timedelta(days=RESCREENING_NOTICE_DAYS)
        )
        if due_at <= now:
            candidates[patient_id] = (session, due_at)
    if not candidates:
        return []
    # Only these patients' prompts at these times (reminder_rescreening_idx): an index lookup
    # per candidate, not every reminder the patients ever had.
    existing = set(
        Reminder.objects.filter(
            kind=ReminderKind.RESCREENING,
            patient_id__in=candidates,
            due_at__in={due_at for _, due_at in candidates.values()},
        )
        .exclude(status=ReminderStatus.CANCELLED)
        .values_list("patient_id", "due_at")
    )
    new = {pk: c for pk, c in candidates.items() if (pk, c[1]) not in existing}
    patients = Patient.objects.in_bulk(new)
    rows = []
    for patient_id, (session, due_at) in new.items():
        rows.append(
            reminder_row(
                clinic=clinic,
                kind=ReminderKind.RESCREENING,
                patient=patients[patient_id],
                session=session,
                due_at=due_at,
                now=now,
            )
        )
    return rows


def reminders_generate_periodic(*, now: datetime, clinic: Clinic | None = None) -> int:
    """Maintenance and re-screening prompts that have fallen due. Safe to run every minute: the
    unique constraints and the existence checks make a second run create nothing."""
    clinic = clinic_or_current(clinic)
    with transaction.atomic():
        return reminders_insert(
            _maintenance_plans(clinic=clinic, now=now) + _rescreening_rows(clinic=clinic, now=now)
        )
