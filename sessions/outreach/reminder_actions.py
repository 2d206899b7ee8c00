"""What staff do with reminders: list them for the reminders page and a patient's page, and
retry one that failed or whose fate is unknown. The outbox rules themselves (creation, sweep,
quiet hours) are in reminders.py."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import QuerySet

from clinic.refusals import OutreachRefused
from patients.models import Channel, Patient
from patients.search import patient_search
from sessions.models import Reminder, ReminderStatus

# The tabs of the reminders page and the statuses each one shows.
REMINDER_TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "upcoming": ("Upcoming", (ReminderStatus.PENDING, ReminderStatus.SENDING)),
    "sent": ("Sent", (ReminderStatus.SENT,)),
    "failed": ("Failed", (ReminderStatus.FAILED,)),
    "unknown": ("Unknown", (ReminderStatus.UNKNOWN,)),
    "closed": ("Cancelled or expired", (ReminderStatus.CANCELLED, ReminderStatus.EXPIRED)),
}
RETRYABLE = (ReminderStatus.FAILED, ReminderStatus.UNKNOWN)


@dataclass(frozen=True)
class ReminderFilter:
    tab: str = "upcoming"
    patient_query: str = ""
    date_from: date | None = None
    date_to: date | None = None


def reminders_filtered(*, filters: ReminderFilter, zone) -> QuerySet[Reminder]:
    """Reminders for the staff page: one tab, optionally one patient's and a range of due days
    (local days in `zone`). Upcoming ones soonest first, the rest most recent first."""
    _label, statuses = REMINDER_TABS.get(filters.tab, REMINDER_TABS["upcoming"])
    reminders = Reminder.objects.filter(status__in=statuses).select_related("patient", "session")
    if filters.patient_query.strip():
        matches = patient_search(query=filters.patient_query)
        reminders = reminders.filter(patient__in=matches.values("pk"))
    if filters.date_from:
        start = datetime.combine(filters.date_from, time.min, tzinfo=zone)
        reminders = reminders.filter(due_at__gte=start)
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=zone)
        reminders = reminders.filter(due_at__lt=end)
    if filters.tab == "upcoming":
        return reminders.order_by("send_after", "pk")
    return reminders.order_by("-due_at", "-pk")


def patient_communication_log(*, patient: Patient, limit: int = 50) -> list[Reminder]:
    """The patient's most recent reminders for their page: kind, channel, times, status only."""
    return list(
        Reminder.objects.filter(patient=patient)
        .only("kind", "channel", "due_at", "send_after", "sent_at", "status", "patient_id")
        .order_by("-due_at", "-pk")[:limit]
    )


def reminder_retry(
    *, reminder: Reminder, by, now: datetime, duplicate_risk_accepted: bool = False
) -> Reminder:
    """Put a failed (or, after staff checked, an unknown) reminder back in the queue for the next
    sweep. An unknown one may already have reached the patient, so staff must accept that the
    retry can send it twice."""
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(of=("self",))
            .select_related("patient", "session")
            .get(pk=reminder.pk)
        )
        if reminder.status not in RETRYABLE:
            raise OutreachRefused(
                "reminder_retry",
                f"Only failed or unknown reminders can be retried; this one is "
                f"{reminder.get_status_display().lower()}.",
            )
        if reminder.status == ReminderStatus.UNKNOWN and not duplicate_risk_accepted:
            raise OutreachRefused(
                "reminder_retry",
                "This reminder may already have reached the patient. Check with them first, then "
                "tick the box to accept that retrying may send it twice.",
            )
        if reminder.session is not None and reminder.session.starts_at <= now:
            raise OutreachRefused(
                "reminder_retry", "Its appointment has already started, so it is too late to send."
            )
        if reminder.patient_id is None:
            raise OutreachRefused(
                "reminder_retry",
                "A one-time booking code is not resent: it expires after minutes. The person can "
                "start their booking again.",
            )
        opted_out = {
            Channel.SMS: reminder.patient.sms_opt_out_at,
            Channel.EMAIL: reminder.patient.email_opt_out_at,
        }.get(reminder.channel)
        if opted_out is not None:
            raise OutreachRefused(
                "reminder_retry",
                f"The patient has opted out of {reminder.get_channel_display()} reminders.",
            )
        previous = reminder.last_error
        reminder.status = ReminderStatus.PENDING
        reminder.send_after = now
        reminder.claimed_at = None
        # A fresh set of attempts: the provider may have been down, not the message at fault.
        reminder.attempts = 0
        note = f"Retried by {by.get_username()} at {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC."
        reminder.last_error = f"{note} Before: {previous}" if previous else note
        reminder.save(
            update_fields=[
                "status",
                "send_after",
                "claimed_at",
                "attempts",
                "last_error",
                "updated_at",
            ]
        )
    return reminder
