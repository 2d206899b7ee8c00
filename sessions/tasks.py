"""Celery tasks of the sessions app. Beat runs each of them (clinic/settings.py); none takes an
argument, so nothing about a patient ever travels through the broker: each reads the database
and calls its rule function, so a broker outage delays the work and never loses it."""

from celery import shared_task
from django.utils import timezone

from clinic.health import SWEEP, heartbeat_record
from clinic.models import Clinic
from sessions.exchange.bulk_export import export_jobs_sweep
from sessions.exchange.patient_copy import patient_copies_remove_expired
from sessions.outreach.sweep import dispatch_due_reminders as reminders_sweep
from sessions.outreach.waitlist_actions import waitlist_offers_pass_on
from sessions.records.adverse_events import serious_events_notify_admins
from sessions.records.research_export import research_exports_build_queued


@shared_task(name="sessions.tasks.dispatch_due_reminders")
def dispatch_due_reminders() -> dict:
    """The reminder outbox sweep, every minute; /healthz reports when it last finished."""
    result = reminders_sweep(now=timezone.now()).as_dict()
    heartbeat_record(name=SWEEP, now=timezone.now())
    return result


@shared_task(name="sessions.tasks.notify_serious_adverse_events")
def notify_serious_adverse_events() -> int:
    """Serious adverse events not yet emailed to the clinic admins."""
    return serious_events_notify_admins(now=timezone.now())


# An export reads the whole clinic: it may run far longer than the default task limits.
@shared_task(name="sessions.tasks.run_fhir_exports", soft_time_limit=3600, time_limit=3660)
def run_fhir_exports() -> int:
    """Queued FHIR bulk exports, claimed one at a time."""
    return export_jobs_sweep(clock=timezone.now)


@shared_task(name="sessions.tasks.remove_expired_patient_copies")
def remove_expired_patient_copies() -> int:
    """Files of patient copies whose link has expired."""
    return patient_copies_remove_expired(now=timezone.now())


@shared_task(
    name="sessions.tasks.build_research_exports",
    # A large clinic's export takes longer than the default minute.
    soft_time_limit=15 * 60,
    time_limit=16 * 60,
)
def build_research_exports() -> int:
    """Queued research exports; beat runs it every minute and the export page fires it at once."""
    return research_exports_build_queued(now=timezone.now())


@shared_task(name="sessions.tasks.pass_on_unanswered_waitlist_offers")
def pass_on_unanswered_waitlist_offers() -> int:
    """Freed slots whose offers all expired go to the next patients on the waitlist."""
    clinic = Clinic.current()
    if clinic is None:
        return 0
    return waitlist_offers_pass_on(clinic=clinic, now=timezone.now())
