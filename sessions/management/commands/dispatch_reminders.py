"""`manage.py dispatch_reminders`: one sweep of due reminders, printing how many were sent."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from sessions.outreach.sweep import dispatch_due_reminders


class Command(BaseCommand):
    help = (
        "Run one sweep of the reminder outbox: send what is due and print how many were sent, "
        "deferred, expired, failed and found unknown. Beat does this every minute."
    )

    def handle(self, *args, **options):
        result = dispatch_due_reminders(now=timezone.now())
        line = (
            f"Reminders: {result.sent} sent, {result.deferred} deferred, {result.expired} "
            f"expired, {result.failed} failed, {result.unknown} unknown"
        )
        if result.cancelled:
            line += f" ({result.cancelled} cancelled: opted out or no longer booked)"
        self.stdout.write(line)
