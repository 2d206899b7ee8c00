"""Celery tasks of the safety work (adverse events). No arguments: beat runs them and they read
the database, so a broker outage delays them and never loses what they send. Kept apart from
tasks.py (the reminder outbox) and imported by the app config so the worker registers them
(autodiscover_tasks() only imports each app's tasks.py)."""

from celery import shared_task
from django.utils import timezone

from .adverse_events import serious_events_notify_admins


@shared_task
def notify_serious_adverse_events() -> int:
    return serious_events_notify_admins(now=timezone.now())
