"""Adverse events: harm after a session, recorded at the session or later (a patient calls back),
updated as it evolves, voided with a reason but never deleted. A serious event reaches the clinic
admins on their dashboard and by email until one of them acknowledges it (DOMAIN.md "Adverse
events"; issue 6)."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse

from clinic.refusals import RecordRefused
from clinic.roles import Role
from formulations.models import Lot
from sessions.models import (
    AdverseEvent,
    AdverseEventOutcome,
    SessionRecord,
    SessionStatus,
    TreatmentSession,
)
from sessions.records.records import session_local_date

logger = logging.getLogger(__name__)

ADD = "treatment_sessions.add_adverseevent"
CHANGE = "treatment_sessions.change_adverseevent"
VIEW = "treatment_sessions.view_adverseevent"
ACKNOWLEDGE = "treatment_sessions.acknowledge_adverseevent"

# What a clinician may set when recording or updating an event; the rest is bookkeeping.
EVENT_FIELDS = (
    "event_type",
    "onset_on",
    "severity",
    "ctcae_grade",
    "serious",
    "causality",
    "outcome",
    "lot",
    "treatment_stopped",
    "notes",
)

# Only a session the patient attended can be followed by harm from it.
ATTENDED = (SessionStatus.CHECKED_IN, SessionStatus.COMPLETED)


def _require_clinician(user) -> None:
    # Admins hold change_adverseevent to acknowledge; recording and updating is the treating
    # clinician's job, so it needs the add permission that only clinicians have.
    if not (user.has_perm(ADD) and user.has_perm(CHANGE)):
        raise PermissionDenied("Only a clinician can record or change an adverse event.")


def adverse_event_lots(*, session: TreatmentSession) -> QuerySet[Lot]:
    """The lots an event after `session` may name: those its record used, or, before any record
    exists, any lot of the plan's formulation version."""
    record = SessionRecord.objects.filter(session=session).first()
    if record is not None:
        return Lot.objects.filter(usages__record=record).distinct()
    if session.plan_id is not None:
        return Lot.objects.filter(version_id=session.plan.formulation_version_id)
    return Lot.objects.none()


def _check(*, event: AdverseEvent, now: datetime) -> None:
    session = event.session
    zone = session.room.clinic.zone
    if event.onset_on is not None:
        session_day = session_local_date(session=session)
        if event.onset_on < session_day:
            raise RecordRefused(
                "check",
                f"The onset cannot be before the session "
                f"({session_day:%d %b %Y}): harm that began earlier is not from it.",
                field="onset_on",
            )
        if event.onset_on > now.astimezone(zone).date():
            raise RecordRefused(
                "check", "The onset date cannot be in the future.", field="onset_on"
            )
    if event.ctcae_grade is not None and event.ctcae_grade >= 4 and not event.serious:
        raise RecordRefused(
            "check",
            "A CTCAE grade 4 (life-threatening) or 5 (death) event is serious by "
            "definition: tick Serious.",
            field="serious",
        )
    if (
        event.lot_id is not None
        and not adverse_event_lots(session=session).filter(pk=event.lot_id).exists()
    ):
        raise RecordRefused(
            "check",
            "Choose a lot used in this session (or leave the lot empty if unknown).",
            field="lot",
        )
    event.full_clean()


@transaction.atomic
def adverse_event_record(*, session: TreatmentSession, by, now: datetime, **fields) -> AdverseEvent:
    """Record an adverse event after `session`; a serious one notifies the clinic admins."""
    _require_clinician(by)
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown adverse event fields: {sorted(unknown)}")
    session = (
        TreatmentSession.objects.select_related("room__clinic", "plan")
        .select_for_update(of=("self",))
        .get(pk=session.pk)
    )
    if session.status not in ATTENDED:
        raise RecordRefused(
            "adverse_event_record",
            "Adverse events are recorded against a session the patient attended (checked in or "
            f"completed); this session is {session.get_status_display().lower()}.",
        )
    fields.setdefault("notes", "")
    fields.setdefault("outcome", AdverseEventOutcome.ONGOING)
    event = AdverseEvent(
        session=session,
        patient_id=session.patient_id,
        reported_at=now,
        reported_by=by,
        **fields,
    )
    _check(event=event, now=now)
    # A serious event is emailed to the admins by the next beat sweep
    # (serious_events_notify_admins), not from here: the clinician's form never waits on the
    # broker or the mail server.
    event.save()
    return event


@transaction.atomic
def adverse_event_update(*, event: AdverseEvent, by, now: datetime, **fields) -> AdverseEvent:
    """Change an event as it evolves (ongoing → resolving → resolved); history keeps each step.
    An event that becomes serious reaches the admins as a new serious event would."""
    _require_clinician(by)
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown adverse event fields: {sorted(unknown)}")
    event = (
        AdverseEvent.objects.select_for_update(of=("self",))
        .select_related("session__room__clinic", "session__plan")
        .get(pk=event.pk)
    )
    if event.voided_at is not None:
        raise RecordRefused(
            "adverse_event_update", "This adverse event was voided, so it can no longer change."
        )
    was_serious = event.serious
    changed = [name for name, value in fields.items() if getattr(event, name) != value]
    if not changed:
        return event
    for name in changed:
        setattr(event, name, fields[name])
    update_fields = list(changed)
    if event.serious and not was_serious:
        # A newly serious event waits for an admin again, whoever saw it before, and the next
        # sweep emails the admins about it.
        event.acknowledged_at = None
        event.acknowledged_by = None
        event.admins_notified_at = None
        update_fields += ["acknowledged_at", "acknowledged_by", "admins_notified_at"]
    _check(event=event, now=now)
    event._change_reason = f"Updated by {by.get_username()}"
    event.save(update_fields=update_fields)
    return event


@transaction.atomic
def adverse_event_void(*, event: AdverseEvent, by, reason: str, now: datetime) -> AdverseEvent:
    """Mark an event as entered in error; it stays in the record and its history."""
    _require_clinician(by)
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    if event.voided_at is not None:
        raise RecordRefused("adverse_event_void", "This adverse event is already voided.")
    if not reason.strip():
        raise RecordRefused(
            "adverse_event_void", "Write why the adverse event is voided.", field="reason"
        )
    event.voided_at = now
    event.void_reason = reason.strip()
    event.save(update_fields=["voided_at", "void_reason"])
    return event


@transaction.atomic
def adverse_event_acknowledge(*, event: AdverseEvent, by, now: datetime) -> AdverseEvent:
    """A clinic admin has seen a serious event: it leaves the admins' dashboard panel."""
    if not by.has_perm(ACKNOWLEDGE):
        raise PermissionDenied("Only a clinic admin can acknowledge a serious adverse event.")
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    if not event.serious:
        raise RecordRefused(
            "adverse_event_acknowledge",
            "Only serious adverse events wait for an admin's acknowledgement.",
        )
    if event.acknowledged_at is not None:
        raise RecordRefused(
            "adverse_event_acknowledge", "This serious adverse event is already acknowledged."
        )
    event.acknowledged_at = now
    event.acknowledged_by = by
    event.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return event


def serious_events_unacknowledged(*, clinic) -> QuerySet[AdverseEvent]:
    """Serious, live events at `clinic` that no admin has acknowledged yet, oldest onset first."""
    return (
        AdverseEvent.objects.filter(
            serious=True,
            acknowledged_at__isnull=True,
            voided_at__isnull=True,
            session__room__clinic=clinic,
        )
        .select_related("patient")
        .order_by("onset_on", "pk")
    )


def adverse_events_after(*, session: TreatmentSession) -> QuerySet[AdverseEvent]:
    """The events recorded after `session`, voided ones included (marked), newest onset first."""
    return AdverseEvent.objects.filter(session=session).select_related("lot")


def may_read_adverse_events(*, user) -> bool:
    """Clinicians and clinic admins (who audit harm); never reception (clinical data)."""
    return user.has_perms([VIEW, "patients.view_clinical"])


def may_record_adverse_event(*, user, session: TreatmentSession) -> bool:
    """A clinician, after a session the patient attended (adverse_event_record's own rules)."""
    return user.has_perms([ADD, CHANGE, "patients.view_clinical"]) and session.status in ATTENDED


def adverse_events_of(*, patient) -> QuerySet[AdverseEvent]:
    """Every event of a patient, voided ones included (marked), newest onset first."""
    return AdverseEvent.objects.filter(patient=patient).select_related("lot", "session")


def clinic_admin_emails() -> list[str]:
    """The addresses of every active clinic admin who has one."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.CLINIC_ADMIN.value)
        .exclude(email="")
        .distinct()
    )
    return sorted({user.email for user in users})


def adverse_event_url(*, event: AdverseEvent) -> str:
    path = reverse("treatment_sessions:adverse_event_detail", kwargs={"event_id": event.pk})
    return urljoin(settings.SITE_URL, path)


def serious_events_notify_admins(*, now: datetime) -> int:
    """Email the clinic admins about every serious event not announced yet; returns how many
    events were announced. Beat runs it every minute (DESIGN.md decision 1, as the reminder
    outbox): each event is claimed with a conditional update before its email goes, so two
    sweeps never send it twice; a mail server error releases the claim for the next sweep."""
    pending = AdverseEvent.objects.filter(
        serious=True,
        voided_at__isnull=True,
        acknowledged_at__isnull=True,
        admins_notified_at__isnull=True,
    ).select_related("patient")
    announced = 0
    for event in pending:
        claimed = AdverseEvent.objects.filter(pk=event.pk, admins_notified_at__isnull=True)
        if claimed.update(admins_notified_at=now) != 1:
            continue  # another sweep has it
        try:
            serious_event_notify_admins(event=event)
        except Exception as exc:  # noqa: BLE001 — any mail error: try again next minute
            AdverseEvent.objects.filter(pk=event.pk).update(admins_notified_at=None)
            logger.error(
                "Serious adverse event %s: the admins' email failed (%s)",
                event.pk,
                type(exc).__name__,
            )
            continue
        announced += 1
    return announced


def serious_event_notify_admins(*, event: AdverseEvent) -> int:
    """Email each clinic admin about a serious event; returns how many messages went out.

    The message names the record number and links to the event, never the patient's name or
    the clinical notes: email leaves the clinic's systems.
    """
    if not event.serious or event.voided_at is not None or event.acknowledged_at is not None:
        return 0
    recipients = clinic_admin_emails()
    subject = f"Serious adverse event reported for patient record {event.patient.record_number}"
    body = "\n".join(
        [
            "A clinician recorded a serious adverse event.",
            "",
            f"Patient record number: {event.patient.record_number}",
            f"Type: {event.get_event_type_display()}",
            f"Onset: {event.onset_on:%d %b %Y}",
            f"CTCAE grade: {event.ctcae_grade}",
            "",
            f"Open it to review and acknowledge: {adverse_event_url(event=event)}",
        ]
    )
    messages = [(subject, body, None, [address]) for address in recipients]
    return send_mass_mail(messages, fail_silently=False) if messages else 0
