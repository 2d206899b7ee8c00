"""Celery tasks of the reminder outbox. Beat runs the sweep every minute (clinic/settings.py);
it takes no arguments, so nothing about a patient ever travels through the broker."""

from celery import shared_task
from django.utils import timezone

from . import reminders


@shared_task(name="sessions.tasks.dispatch_due_reminders")
def dispatch_due_reminders() -> dict:
    return reminders.dispatch_due_reminders(now=timezone.now()).as_dict()
