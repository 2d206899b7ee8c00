"""Celery tasks of the safety work (adverse events). Ids only in arguments: never names or
clinical data. Kept apart from tasks.py (the reminder outbox) and imported by the app config so
the worker registers them (autodiscover_tasks() only imports each app's tasks.py)."""

from celery import shared_task

from .adverse_events import serious_event_notify_admins
from .models import AdverseEvent


@shared_task
def notify_serious_adverse_event(event_id: int) -> int:
    event = AdverseEvent.objects.select_related("patient").filter(pk=event_id).first()
    if event is None:
        return 0
    return serious_event_notify_admins(event=event)
