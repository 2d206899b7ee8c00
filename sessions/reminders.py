"""Reminders: the outbox rows a booking change creates, and the sweep that sends them.

DESIGN.md decision 1. A Reminder row is created, moved or cancelled inside the transaction of
the booking change it belongs to (the scheduling functions call the `reminders_on_*` functions
below), so a refused booking leaves no row and a committed one always has its rows. Beat runs
`dispatch_due_reminders` every minute: it claims due rows (SKIP LOCKED on PostgreSQL, the
IMMEDIATE transaction on SQLite), marks them `sending`, commits, sends each one, then marks it
`sent` with a conditional update. A row still `sending` after the lease becomes `unknown` and is
never resent automatically: the provider may have delivered it, and a patient texted twice is
the failure mode this design exists to avoid. Never Celery eta/countdown.

Channel, consent and quiet hours are decided when a row is created and checked again when it is
sent: an opt-out (an SMS "STOP") between the two cancels the row instead of sending it.
"""

import logging
import time as monotonic_clock
import traceback
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Prefetch
from django.template.loader import render_to_string

from clinic.models import Clinic
from patients.models import Channel, Patient

from . import messaging
from .maintenance import add_months
from .models import (
    PatientLink,
    PlanStatus,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)

logger = logging.getLogger(__name__)

# Rows claimed per transaction; small enough that a worker killed mid-batch strands few rows.
BATCH_SIZE = 50
# A sweep stops claiming after this many seconds so it ends well inside Celery's soft time
# limit (60 s): rows it did not reach wait for the next minute instead of being cut off mid-send.
SWEEP_BUDGET_SECONDS = 40
# Retry after 1, 2, 4, 8… minutes, never more than an hour apart.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# Follow-ups that are not tied to an appointment time go out at this local hour (practice default).
FOLLOW_UP_AT = time(10, 0)
# Re-screening prompts go out this many days before the screening lapses (practice default), and
# only for a treatment session booked within this horizon.
RESCREENING_NOTICE_DAYS = 14

# Aftercare advice covers the first 48 hours after a session (clinic's default template).
AFTERCARE_WITHIN = timedelta(hours=48)
# Kinds about an appointment still to come: pointless once it has started.
APPOINTMENT_KINDS = (
    ReminderKind.BOOKING_CONFIRMATION,
    ReminderKind.APPOINTMENT,
    ReminderKind.RESCHEDULE,
    ReminderKind.RESCREENING,
)
EXPIRING_KINDS = (*APPOINTMENT_KINDS, ReminderKind.CANCELLATION)
BOOKED = (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED)
# Emails about an appointment carry an .ics so the patient's calendar follows the booking.
ICS_KINDS = (
    ReminderKind.BOOKING_CONFIRMATION,
    ReminderKind.APPOINTMENT,
    ReminderKind.RESCHEDULE,
    ReminderKind.CANCELLATION,
)


# Channels, consent and quiet hours ------------------------------------------------------------


def channel_refusal(*, patient: Patient, channel: str) -> str:
    """Why the patient may not be messaged on `channel` now, or "" when they may."""
    label = "email" if channel == Channel.EMAIL else "text messages"
    if channel == Channel.EMAIL:
        consent, opt_out, address = (
            patient.email_consent_at,
            patient.email_opt_out_at,
            patient.email,
        )
    else:
        consent, opt_out, address = patient.sms_consent_at, patient.sms_opt_out_at, patient.mobile
    if opt_out is not None:
        return f"The patient opted out of {label}."
    if consent is None:
        return f"The patient has not agreed to reminders by {label}."
    if not address:
        return f"The patient has no {'email address' if channel == Channel.EMAIL else 'mobile'}."
    return ""


def reminder_channel(*, patient: Patient) -> str | None:
    """The preferred channel if it may be used, else the other one if it may, else None."""
    preferred = patient.preferred_channel or Channel.EMAIL
    other = Channel.SMS if preferred == Channel.EMAIL else Channel.EMAIL
    for channel in (preferred, other):
        if not channel_refusal(patient=patient, channel=channel):
            return str(channel)
    return None


def patient_zone(*, patient: Patient, clinic: Clinic) -> ZoneInfo:
    return ZoneInfo(patient.time_zone) if patient.time_zone else clinic.zone


def quiet_hours_end_after(*, patient: Patient, clinic: Clinic, moment: datetime) -> datetime | None:
    """When the patient's quiet hours around `moment` end, or None if `moment` is outside them.

    Worked on the patient's own wall clock, so 08:00 stays 08:00 across a daylight-saving change.
    """
    start, end = patient.quiet_hours_start, patient.quiet_hours_end
    if start == end:
        return None
    local = moment.astimezone(patient_zone(patient=patient, clinic=clinic))
    clock = local.time()
    if start < end:  # a window inside one day, e.g. 13:00–14:00
        inside, end_day = start <= clock < end, local.date()
    else:  # a window across midnight, e.g. 20:00–08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=local.tzinfo)


def send_after_for(
    *, patient: Patient, clinic: Clinic, due_at: datetime, appointment_at: datetime | None
) -> datetime:
    """`due_at`, or the end of the patient's quiet hours when it falls inside them. A reminder
    that would then arrive after its appointment has started goes at its due time instead."""
    ends = quiet_hours_end_after(patient=patient, clinic=clinic, moment=due_at)
    if ends is None:
        return due_at
    if appointment_at is not None and ends >= appointment_at:
        return due_at
    return ends


# Creating rows (called inside the booking change's transaction) -------------------------------


def _clinic(clinic: Clinic | None) -> Clinic:
    return clinic or Clinic.current()


def reminder_hours(*, clinic: Clinic) -> list[int]:
    """The clinic's appointment reminder offsets, largest first (practice default 48, 24)."""
    hours = {int(h) for h in clinic.reminder_hours_before.split(",") if h.strip().isdigit()}
    return sorted((h for h in hours if h > 0), reverse=True)


def _row(
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


def _insert(rows: list[Reminder | None]) -> int:
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
                _row(
                    clinic=clinic,
                    kind=ReminderKind.APPOINTMENT,
                    patient=session.patient,
                    session=session,
                    due_at=due_at,
                    channel=channel,
                )
            )
    return rows


def _cancel_pending(queryset, *, reason: str, now: datetime) -> int:
    return queryset.filter(status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED, last_error=reason, updated_at=now
    )


def reminders_on_booked(
    *, session: TreatmentSession, now: datetime, clinic: Clinic | None = None, confirm: bool = True
) -> int:
    """A booking confirmation now (unless `confirm` is off: a course sends one for all its
    sessions) and a reminder at each of the clinic's hours before."""
    clinic = _clinic(clinic)
    channel = reminder_channel(patient=session.patient)
    if channel is None or session.starts_at <= now:
        return 0
    rows = _appointment_rows(clinic=clinic, session=session, now=now, channel=channel)
    if confirm:
        rows.append(
            _row(
                clinic=clinic,
                kind=ReminderKind.BOOKING_CONFIRMATION,
                patient=session.patient,
                session=session,
                due_at=now,
                channel=channel,
            )
        )
    return _insert(rows)


def reminders_on_course_booked(
    *, sessions: list[TreatmentSession], now: datetime, clinic: Clinic | None = None
) -> int:
    """One confirmation for a whole course booked at once, on its first session; the message
    lists every booked date of the plan (read when it is sent, so it is current)."""
    upcoming = sorted((s for s in sessions if s.starts_at > now), key=lambda s: s.starts_at)
    if not upcoming:
        return 0
    first = upcoming[0]
    return _insert(
        [
            _row(
                clinic=_clinic(clinic),
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
    clinic = _clinic(clinic)
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
    channel = reminder_channel(patient=session.patient)
    if channel is None or session.starts_at <= now:
        return _insert(missing)
    notice = _row(
        clinic=clinic,
        kind=ReminderKind.RESCHEDULE,
        patient=session.patient,
        session=session,
        due_at=now,
        channel=channel,
    )
    return _insert([notice, *missing])


def reminders_on_cancelled(
    *, session: TreatmentSession, now: datetime, clinic: Clinic | None = None
) -> int:
    """Cancel the session's pending reminders; tell the patient, unless the session is past."""
    clinic = _clinic(clinic)
    _cancel_pending(
        Reminder.objects.filter(session=session), reason="The appointment was cancelled.", now=now
    )
    if session.starts_at <= now:
        return 0
    return _insert(
        [
            _row(
                clinic=clinic,
                kind=ReminderKind.CANCELLATION,
                patient=session.patient,
                session=session,
                due_at=now,
            )
        ]
    )


def follow_up_at(*, clinic: Clinic, day: date) -> datetime:
    return datetime.combine(day, FOLLOW_UP_AT, tzinfo=clinic.zone)


def reminders_on_no_show(
    *, session: TreatmentSession, now: datetime, clinic: Clinic | None = None
) -> int:
    """A missed-session follow-up at 10:00 clinic time on the next local day."""
    clinic = _clinic(clinic)
    _cancel_pending(
        Reminder.objects.filter(session=session, kind__in=EXPIRING_KINDS),
        reason="The patient did not come to the appointment.",
        now=now,
    )
    next_day = session.starts_at.astimezone(clinic.zone).date() + timedelta(days=1)
    return _insert(
        [
            _row(
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
    clinic = _clinic(clinic)
    if now - session.starts_at > AFTERCARE_WITHIN:
        return 0
    return _insert(
        [
            _row(
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

    For sessions written without book_session (the demo calendar, an import): the appointment
    reminders still to come, and a confirmation for a session with no reminder at all yet."""
    clinic = _clinic(clinic)
    sessions = (
        TreatmentSession.objects.filter(status__in=BOOKED, starts_at__gt=now)
        .select_related("patient")
        .order_by("starts_at")
    )
    with_rows = set(
        Reminder.objects.filter(session__in=sessions).values_list("session_id", flat=True)
    )
    # A plan with any reminder already had its confirmation; otherwise its first upcoming
    # session carries one confirmation for the course, as book_course sends it.
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
                _row(
                    clinic=clinic,
                    kind=ReminderKind.BOOKING_CONFIRMATION,
                    patient=session.patient,
                    session=session,
                    due_at=now,
                )
            )
    return _insert(rows)


# Periodic prompts (a step of every sweep) -----------------------------------------------------


def maintenance_prompt_on(
    *, clinic: Clinic, plan: TreatmentPlan, last_visit_on: date | None, today: date
) -> date | None:
    """The latest maintenance prompt date on or before `today`, or None if none is due.

    Due on plan.maintenance_due_on, then every maintenance interval; a visit after the course
    (a maintenance session) starts the interval again from that visit.
    """
    months = clinic.maintenance_after_months
    anchor = plan.maintenance_due_on
    if anchor is None:
        return None
    if last_visit_on is not None and add_months(last_visit_on, months) > anchor:
        anchor = add_months(last_visit_on, months)
    if anchor > today:
        return None
    due, step = anchor, 0
    while add_months(anchor, (step + 1) * months) <= today:
        step += 1
        due = add_months(anchor, step * months)
    return due


def _maintenance_plans(*, clinic: Clinic, now: datetime) -> list[Reminder | None]:
    today = now.astimezone(clinic.zone).date()
    plans = list(
        TreatmentPlan.objects.filter(status=PlanStatus.COMPLETED).select_related("patient")
    )
    if not plans:
        return []
    patient_ids = {p.patient_id for p in plans}
    # A later booked session means the patient is coming back: no prompt.
    booked = set(
        TreatmentSession.objects.filter(
            patient_id__in=patient_ids, status__in=BOOKED, starts_at__gt=now
        ).values_list("patient_id", flat=True)
    )
    last_visits: dict[int, date] = {}
    completed = TreatmentSession.objects.filter(
        patient_id__in=patient_ids, status=SessionStatus.COMPLETED
    ).values_list("patient_id", "plan_id", "starts_at")
    last_course: dict[int, datetime] = {}
    for patient_id, plan_id, starts_at in completed:
        day = starts_at.astimezone(clinic.zone).date()
        last_visits[patient_id] = max(last_visits.get(patient_id, day), day)
        if plan_id is not None:
            last_course[plan_id] = max(last_course.get(plan_id, starts_at), starts_at)
    existing = set(
        Reminder.objects.filter(kind=ReminderKind.MAINTENANCE, plan__in=plans)
        .exclude(status=ReminderStatus.CANCELLED)
        .values_list("plan_id", "due_at")
    )
    rows = []
    for plan in plans:
        if plan.patient_id in booked or plan.patient.archived_at is not None:
            continue
        if plan.maintenance_due_on is None and plan.pk in last_course:
            # Older plans completed before maintenance_due_on was stored: the recall list's rule.
            last_on = last_course[plan.pk].astimezone(clinic.zone).date()
            plan.maintenance_due_on = add_months(last_on, clinic.maintenance_after_months)
        visit = last_visits.get(plan.patient_id)
        course_end = last_course.get(plan.pk)
        # Only a visit after the course counts as maintenance.
        if (
            visit is not None
            and course_end is not None
            and visit <= course_end.astimezone(clinic.zone).date()
        ):
            visit = None
        prompt_on = maintenance_prompt_on(
            clinic=clinic, plan=plan, last_visit_on=visit, today=today
        )
        if prompt_on is None:
            continue
        due_at = follow_up_at(clinic=clinic, day=prompt_on)
        if (plan.pk, due_at) in existing:
            continue
        rows.append(
            _row(
                clinic=clinic,
                kind=ReminderKind.MAINTENANCE,
                patient=plan.patient,
                plan=plan,
                due_at=due_at,
                now=now,
            )
        )
    return rows


def _rescreening_rows(*, clinic: Clinic, now: datetime) -> list[Reminder | None]:
    from patients.clearance import screening_lapses_on
    from patients.models import Screening

    today = now.astimezone(clinic.zone).date()
    horizon = now + timedelta(days=RESCREENING_NOTICE_DAYS)
    upcoming = (
        TreatmentSession.objects.filter(
            kind=SessionKind.TREATMENT,
            status__in=BOOKED,
            starts_at__gt=now,
            starts_at__lte=horizon,
        )
        .select_related("patient")
        .order_by("patient_id", "starts_at")
    )
    next_session: dict[int, TreatmentSession] = {}
    for session in upcoming:
        next_session.setdefault(session.patient_id, session)
    if not next_session:
        return []
    # latest_screening's rule (newest screened_on, then newest row), for all patients at once.
    latest: dict[int, Screening] = {}
    for screening in Screening.objects.filter(
        patient_id__in=next_session, voided_at__isnull=True, screened_on__lte=today
    ).order_by("patient_id", "screened_on", "pk"):
        latest[screening.patient_id] = screening
    if not latest:
        return []
    # screening_lapses_on adds the clinic's validity to the screening date: ask it once.
    sample = next(iter(latest.values()))
    validity = screening_lapses_on(screening=sample) - sample.screened_on
    existing = set(
        Reminder.objects.filter(kind=ReminderKind.RESCREENING, patient_id__in=next_session)
        .exclude(status=ReminderStatus.CANCELLED)
        .values_list("patient_id", "due_at")
    )
    rows = []
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
        if (patient_id, due_at) in existing or due_at > now:
            continue
        rows.append(
            _row(
                clinic=clinic,
                kind=ReminderKind.RESCREENING,
                patient=session.patient,
                session=session,
                due_at=due_at,
                now=now,
            )
        )
    return rows


def reminders_generate_periodic(*, now: datetime, clinic: Clinic | None = None) -> int:
    """Maintenance and re-screening prompts that have fallen due. Safe to run every minute: the
    unique constraints and the existence checks make a second run create nothing."""
    clinic = _clinic(clinic)
    with transaction.atomic():
        return _insert(
            _maintenance_plans(clinic=clinic, now=now) + _rescreening_rows(clinic=clinic, now=now)
        )


# Rendering ------------------------------------------------------------------------------------


@dataclass
class Message:
    subject: str
    text: str
    html: str
    sms: str
    ics: bytes | None


def _aftercare_text(*, clinic: Clinic, session: TreatmentSession | None) -> str:
    record = getattr(session, "record", None) if session is not None else None
    if record is not None and record.signed_at is not None and record.aftercare_given.strip():
        return record.aftercare_given
    return clinic.aftercare_template


def _when_short(session: TreatmentSession, *, zone: ZoneInfo, clinic: Clinic) -> str:
    local = session.starts_at.astimezone(zone)
    own_zone = "" if str(zone) == str(clinic.zone) else f" ({zone} time)"
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M}{own_zone}"


def _course_sessions(*, session: TreatmentSession, now: datetime) -> list[TreatmentSession]:
    """The booked sessions of the session's plan from this one on: what a course confirmation
    lists. Just the session itself when it has no plan."""
    if session.plan_id is None:
        return [session]
    return list(
        TreatmentSession.objects.filter(
            plan_id=session.plan_id, status__in=BOOKED, starts_at__gte=session.starts_at
        ).order_by("starts_at")
    )


def reminder_context(*, reminder: Reminder, clinic: Clinic, now: datetime) -> dict:
    """What the templates may use. Deliberately no formulation, diagnosis or plan detail: SMS
    travel in clear text and land on lock screens."""
    from .links import patient_link_issue, patient_link_url

    patient = reminder.patient
    zone = patient_zone(patient=patient, clinic=clinic)
    session = reminder.session
    context = {
        "clinic": clinic,
        "clinic_phone": clinic.phone.as_national if clinic.phone else "",
        "given_name": patient.given_name,
        "kind": reminder.kind,
        # Preformatted in the patient's zone: the template `date` filter would convert back to
        # the server's zone.
        "when": "",
        "when_short": "",
        "link": "",
        "aftercare": "",
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    if session is not None:
        local = session.starts_at.astimezone(zone)
        own_zone = "" if str(zone) == str(clinic.zone) else f" ({zone} time)"
        context["when"] = f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}{own_zone}"
        context["when_short"] = _when_short(session, zone=zone, clinic=clinic)
    if (
        session is not None
        and reminder.kind in APPOINTMENT_KINDS
        and session.status in BOOKED
        and session.starts_at > now
    ):
        # The claim prefetched the session's live links; issuing queries only when none fits.
        live = [
            link
            for link in getattr(session, "live_links", [])
            if link.expires_at == session.starts_at and link.expires_at > now
        ]
        context["link"] = (
            patient_link_url(link=live[0]) if live else patient_link_issue(session=session, now=now)
        )
    context["course"], context["course_dates"] = [], []
    if reminder.kind == ReminderKind.BOOKING_CONFIRMATION and session is not None:
        course = _course_sessions(session=session, now=now)
        if len(course) > 1:
            context["course"] = course
            context["course_dates"] = [_when_short(s, zone=zone, clinic=clinic) for s in course]
    if reminder.kind == ReminderKind.AFTERCARE:
        context["aftercare"] = _aftercare_text(clinic=clinic, session=session)
        context["aftercare_sms"] = " ".join(clinic.aftercare_template.split())
    return context


def appointment_ics(
    *,
    session: TreatmentSession,
    clinic: Clinic,
    cancel: bool,
    now: datetime,
    also: list[TreatmentSession] = (),
):
    """An iCalendar invitation for the appointment (and `also` the other sessions of a course
    confirmed together); the UID is stable per session, so a moved or cancelled appointment
    updates the entry the patient already has."""
    from urllib.parse import urlsplit
    from zoneinfo import ZoneInfo as _Zone

    from icalendar import Calendar, Event

    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", "-//Mesotrack//Reminders//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    for each in [session, *(s for s in also if s.pk != session.pk)]:
        event = Event()
        event.add("uid", f"session-{each.pk}@{host}")
        event.add("dtstamp", now.astimezone(_Zone("UTC")))
        event.add("dtstart", each.starts_at.astimezone(_Zone("UTC")))
        event.add("dtend", each.ends_at.astimezone(_Zone("UTC")))
        # The sequence grows with each change so calendars apply the latest version.
        event.add("sequence", int(now.timestamp() // 60))
        event.add("summary", f"Appointment at {clinic.name}")
        if clinic.address:
            event.add("location", clinic.address.replace("\n", ", "))
        event.add("status", "CANCELLED" if cancel else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()


def render_reminder(*, reminder: Reminder, clinic: Clinic, now: datetime) -> Message:
    context = reminder_context(reminder=reminder, clinic=clinic, now=now)
    base = f"reminders/{reminder.kind}"
    ics = None
    if reminder.session is not None and reminder.kind in ICS_KINDS:
        ics = appointment_ics(
            session=reminder.session,
            clinic=clinic,
            cancel=reminder.kind == ReminderKind.CANCELLATION,
            now=now,
            also=context["course"],
        )
    return Message(
        subject=" ".join(render_to_string(f"{base}.subject.txt", context).split()),
        text=render_to_string(f"{base}.txt", context),
        html=render_to_string(f"{base}.html", context),
        sms=render_to_string(f"{base}.sms.txt", context).strip(),
        ics=ics,
    )


def deliver_message(*, reminder: Reminder, message: Message, clinic: Clinic) -> str:
    """The one place a reminder leaves the system; returns the provider's id.

    The reminder id is the provider idempotency key. Tests replace this function to make the
    provider slow or failing."""
    key = str(reminder.pk)
    if reminder.channel == Channel.SMS:
        return messaging.send_sms(
            to=str(reminder.patient.mobile), body=message.sms, idempotency_key=key
        )
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        to=[reminder.patient.email],
        reply_to=[clinic.email] if clinic.email else None,
        headers={"X-Mesotrack-Reminder": key},
    )
    email.attach_alternative(message.html, "text/html")
    if message.ics is not None:
        method = "CANCEL" if reminder.kind == ReminderKind.CANCELLATION else "REQUEST"
        email.attach("appointment.ics", message.ics, f"text/calendar; method={method}")
    return messaging.send_email(message=email, idempotency_key=key)


# The sweep --------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    sent: int = 0
    deferred: int = 0  # the provider failed; another attempt is scheduled
    expired: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def mark_stale_leases_unknown(*, now: datetime, clinic: Clinic | None = None) -> int:
    """Rows left `sending` past the lease (a worker killed mid-send) become `unknown`: the
    provider may have delivered them, so staff check before anything is resent."""
    clinic = _clinic(clinic)
    cutoff = now - timedelta(minutes=clinic.reminder_lease_minutes)
    return Reminder.objects.filter(status=ReminderStatus.SENDING, claimed_at__lt=cutoff).update(
        status=ReminderStatus.UNKNOWN,
        last_error=(
            f"Still sending after {clinic.reminder_lease_minutes} minutes: it may or may not "
            "have reached the patient. Check before sending it again."
        ),
        updated_at=now,
    )


def claim_due_reminders(*, now: datetime, limit: int) -> list[Reminder]:
    """Claim up to `limit` due rows: mark them `sending` and commit, so no other sweep takes them.

    PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED lets two sweeps claim disjoint rows at once.
    SQLite: the settings make every transaction IMMEDIATE, so the whole claim holds the write
    lock and two sweeps claim one after the other. Either way the rows read here are this
    sweep's alone until the commit, so the ones returned are exactly the ones it marked."""
    live_links = PatientLink.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
    with transaction.atomic():
        due = (
            Reminder.objects.filter(status=ReminderStatus.PENDING, send_after__lte=now)
            .select_related("patient", "session", "session__record", "plan")
            .prefetch_related(
                Prefetch("session__patient_links", queryset=live_links, to_attr="live_links")
            )
            .order_by("send_after", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            # of=("self",): lock the reminder rows only; the joined rows (the session, the
            # nullable plan) are read, not claimed.
            due = due.select_for_update(skip_locked=True, of=("self",))
        claimed = list(due[:limit])
        if not claimed:
            return []
        Reminder.objects.filter(pk__in=[r.pk for r in claimed]).update(
            status=ReminderStatus.SENDING, claimed_at=now, updated_at=now
        )
    for reminder in claimed:
        reminder.status, reminder.claimed_at = ReminderStatus.SENDING, now
    return claimed


def _finish(reminder: Reminder, *, now: datetime, **changes) -> bool:
    """Conditional update: only a row still `sending` (not marked unknown meanwhile) changes."""
    changed = Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING).update(
        updated_at=now, **changes
    )
    for name, value in changes.items():
        setattr(reminder, name, value)
    return changed == 1


def _skip_reason(*, reminder: Reminder, now: datetime) -> tuple[str, str] | None:
    """(outcome, reason) when the row must not be sent, checked at send time."""
    session = reminder.session
    if session is not None and reminder.kind in EXPIRING_KINDS and session.starts_at <= now:
        return ReminderStatus.EXPIRED, "The appointment had started before this could be sent."
    if (
        session is not None
        and reminder.kind == ReminderKind.AFTERCARE
        and now - session.starts_at > AFTERCARE_WITHIN
    ):
        return ReminderStatus.EXPIRED, "The aftercare period had passed before this could be sent."
    if session is not None and reminder.kind in APPOINTMENT_KINDS and session.status not in BOOKED:
        return ReminderStatus.CANCELLED, "The appointment is no longer booked."
    if reminder.plan is not None and reminder.plan.status == PlanStatus.STOPPED:
        return ReminderStatus.CANCELLED, "The treatment plan was stopped."
    refusal = channel_refusal(patient=reminder.patient, channel=reminder.channel)
    if refusal:
        return ReminderStatus.CANCELLED, refusal
    return None


def backoff(*, attempts: int) -> timedelta:
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def send_reminder(*, reminder: Reminder, now: datetime, clinic: Clinic | None = None) -> str:
    """Send one claimed row; returns the SweepResult field it counts under."""
    clinic = _clinic(clinic)
    skip = _skip_reason(reminder=reminder, now=now)
    if skip is not None:
        status, reason = skip
        _finish(reminder, now=now, status=status, last_error=reason)
        return str(status)
    try:
        message = render_reminder(reminder=reminder, clinic=clinic, now=now)
        provider_id = deliver_message(reminder=reminder, message=message, clinic=clinic)
    except messaging.DeliveryFailed as exc:
        return _failed(reminder, clinic=clinic, now=now, reason=exc.reason)
    except SoftTimeLimitExceeded:
        # Cut off mid-call: the provider may have the message. The row stays `sending` and its
        # lease turns it `unknown`; retrying here could text the patient twice.
        raise
    except Exception as exc:  # noqa: BLE001 — any provider error is a failed attempt
        # The exception text may quote an address or a phone number: log its type and where it
        # was raised (the frames), never its message.
        logger.error(
            "Reminder %s could not be sent (%s)\n%s",
            reminder.pk,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return _failed(
            reminder, clinic=clinic, now=now, reason=f"Sending failed ({type(exc).__name__})."
        )
    if not _finish(
        reminder,
        now=now,
        status=ReminderStatus.SENT,
        sent_at=now,
        provider_id=str(provider_id)[:100],
        attempts=reminder.attempts + 1,
        last_error="",
    ):
        # Marked unknown while we were sending (the lease ran out): leave it for staff.
        logger.warning("Reminder %s was sent after its lease ran out", reminder.pk)
        return "unknown"
    return "sent"


def _failed(reminder: Reminder, *, clinic: Clinic, now: datetime, reason: str) -> str:
    attempts = reminder.attempts + 1
    if attempts >= clinic.reminder_max_attempts:
        _finish(
            reminder,
            now=now,
            status=ReminderStatus.FAILED,
            attempts=attempts,
            last_error=f"{reason} Gave up after {attempts} attempts.",
        )
        return "failed"
    retry_at = now + backoff(attempts=attempts)
    session = reminder.session
    appointment_at = session.starts_at if session and reminder.kind in EXPIRING_KINDS else None
    _finish(
        reminder,
        now=now,
        status=ReminderStatus.PENDING,
        attempts=attempts,
        last_error=reason,
        claimed_at=None,
        send_after=send_after_for(
            patient=reminder.patient, clinic=clinic, due_at=retry_at, appointment_at=appointment_at
        ),
    )
    return "deferred"


def _release(ids: list[int], *, now: datetime) -> None:
    """Hand claimed rows that were never attempted back to the queue (the sweep was stopped)."""
    if ids:
        Reminder.objects.filter(pk__in=ids, status=ReminderStatus.SENDING).update(
            status=ReminderStatus.PENDING, claimed_at=None, updated_at=now
        )


def dispatch_due_reminders(
    *, now: datetime, batch_size: int = BATCH_SIZE, budget_seconds: float = SWEEP_BUDGET_SECONDS
) -> SweepResult:
    """One sweep: stale leases → unknown, periodic prompts, then claim and send in batches."""
    result = SweepResult()
    clinic = Clinic.current()
    if clinic is None:
        return result
    result.unknown += mark_stale_leases_unknown(now=now, clinic=clinic)
    reminders_generate_periodic(now=now, clinic=clinic)
    started = monotonic_clock.monotonic()
    while monotonic_clock.monotonic() - started < budget_seconds:
        batch = claim_due_reminders(now=now, limit=batch_size)
        if not batch:
            break
        waiting = [r.pk for r in batch]
        try:
            for reminder in batch:
                waiting.remove(reminder.pk)
                result.add(send_reminder(reminder=reminder, now=now, clinic=clinic))
        finally:
            # A soft time limit or a crash mid-batch: the row being sent stays `sending` (its
            # fate is unknown), the ones not yet tried go back to pending.
            _release(waiting, now=now)
        if len(batch) < batch_size:
            break
    return result
