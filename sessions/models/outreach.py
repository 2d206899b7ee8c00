"""The reminder outbox and the signed patient links (DESIGN.md decision 1)."""

from django.db import models
from django.db.models import Q

from .booking import TreatmentPlan, TreatmentSession
from .selfservice import OnlineBooking, WaitlistOffer


class ReminderKind(models.TextChoices):
    BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
    APPOINTMENT = "appointment", "Appointment reminder"
    RESCHEDULE = "reschedule", "Reschedule notice"
    CANCELLATION = "cancellation", "Cancellation notice"
    AFTERCARE = "aftercare", "Aftercare message"
    MAINTENANCE = "maintenance", "Maintenance prompt"
    RESCREENING = "rescreening", "Re-screening prompt"
    MISSED_SESSION = "missed_session", "Missed-session follow-up"
    VERIFICATION_CODE = "verification_code", "Online booking code"
    ONLINE_BOOKING_RECEIVED = "online_booking_received", "Online booking received"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offer"
    WAITLIST_GONE = "waitlist_gone", "Waitlist slot taken"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its time (or its next attempt)
    SENDING = "sending", "Sending"  # claimed by a sweep; the provider is being called
    SENT = "sent", "Sent"  # the provider accepted it
    FAILED = "failed", "Failed"  # the provider refused it every time; staff may retry
    CANCELLED = "cancelled", "Cancelled"  # the booking change made it pointless
    EXPIRED = "expired", "Expired"  # its appointment started before it could go
    UNKNOWN = "unknown", "Unknown"  # left in sending past its lease: check, never resent blindly


class Reminder(models.Model):
    """One message to one patient on one channel, due at one time. The outbox row is the truth;
    the Celery task that sends it takes only the row's id."""

    kind = models.CharField(max_length=25, choices=ReminderKind.choices)
    channel = models.CharField(max_length=5, choices=[("email", "Email"), ("sms", "SMS")])
    # Empty only for an online booking's one-time code: it goes to the address typed at /book/,
    # before anyone knows whether that person is a patient.
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
    )
    online_booking = models.ForeignKey(
        OnlineBooking, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders"
    )
    waitlist_offer = models.ForeignKey(
        WaitlistOffer, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders"
    )
    session = models.ForeignKey(
        TreatmentSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
    )
    plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders"
    )
    # When it is due by its rule (part of its identity); send_after moves on for quiet hours and
    # retries, due_at never does except when the appointment itself moves.
    due_at = models.DateTimeField()
    send_after = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["send_after", "pk"]
        permissions = [("retry_reminder", "Can retry a failed reminder")]
        indexes = [
            models.Index(fields=["status", "send_after"], name="reminder_due_idx"),
            # The sweep's re-screening step looks up a few patients' prompts at given times;
            # partial, so the far more numerous other rows never maintain it.
            models.Index(
                fields=["patient", "due_at"],
                condition=Q(kind="rescreening"),
                name="reminder_rescreening_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(session__isnull=False)
                | Q(plan__isnull=False)
                | Q(online_booking__isnull=False)
                | Q(waitlist_offer__isnull=False),
                name="reminder_has_target",
            ),
            models.CheckConstraint(
                condition=Q(patient__isnull=False) | Q(online_booking__isnull=False),
                name="reminder_has_recipient",
            ),
            models.UniqueConstraint(
                fields=["kind", "session", "channel", "due_at"],
                condition=Q(session__isnull=False) & ~Q(status="cancelled"),
                name="reminder_unique_per_session",
            ),
            models.UniqueConstraint(
                fields=["kind", "plan", "channel", "due_at"],
                condition=Q(session__isnull=True) & ~Q(status="cancelled"),
                name="reminder_unique_per_plan",
            ),
        ]

    def __str__(self):
        return f"Reminder {self.pk} ({self.kind}, {self.channel})"


class PatientLink(models.Model):
    """A signed link sent to a patient for one appointment: confirm, cancel, read the ingredient
    sheet. The URL carries a signed opaque id and nonce; revoking clears the row, so a link can
    die before its time (a new link, a cancelled session)."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    nonce = models.CharField(max_length=64, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="links")
    session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="patient_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Link {self.public_id}"
