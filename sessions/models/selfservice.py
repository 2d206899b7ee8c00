"""Patients helping themselves: online bookings waiting for a code or for reception, and the
waitlist with the offers a freed slot makes (DOMAIN.md "Patients booking and reporting
themselves")."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField

from .booking import SessionKind, TreatmentPlan, TreatmentSession


class OnlineBookingStatus(models.TextChoices):
    AWAITING_CODE = "awaiting_code", "Waiting for the code"
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    ABANDONED = "abandoned", "Never verified"


class OnlineBooking(models.Model):
    """A consultation asked for at /book/. Until the one-time code is entered nothing is held;
    after it the slot is a real TreatmentSession (`session`) booked by session_book."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    code_nonce = models.CharField(max_length=32, editable=False)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    code_expires_at = models.DateTimeField()
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    email = models.EmailField()
    mobile = PhoneNumberField()
    code_channel = models.CharField(max_length=5, choices=[("email", "Email"), ("sms", "SMS")])
    clinician = models.ForeignKey("clinic.StaffProfile", on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey("clinic.Room", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    status = models.CharField(
        max_length=15,
        choices=OnlineBookingStatus.choices,
        default=OnlineBookingStatus.AWAITING_CODE,
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="online_bookings",
    )
    matched_existing = models.BooleanField(default=False)
    session = models.OneToOneField(
        TreatmentSession,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="online_booking",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("decide_onlinebooking", "Can approve or decline an online booking")]

    def __str__(self):
        return f"Online booking {self.pk}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    BOOKED = "booked", "Booked from an offer"
    WITHDRAWN = "withdrawn", "Withdrawn"


class WaitlistEntry(models.Model):
    """A patient who wants an earlier or any slot: with a clinician (or anyone), between two days,
    of one kind. Offers are made in the order patients joined."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    clinician = models.ForeignKey(
        "clinic.StaffProfile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(
        max_length=20, choices=SessionKind.choices, default=SessionKind.ASSESSMENT
    )
    plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    earliest_day = models.DateField()
    latest_day = models.DateField()
    status = models.CharField(
        max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    joined_at = models.DateTimeField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["joined_at", "pk"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(latest_day__gte=models.F("earliest_day")),
                name="waitlist_day_range",
                violation_error_message="The last day cannot be before the first day.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="treatment") | Q(plan__isnull=False),
                name="waitlist_treatment_has_plan",
                violation_error_message="A treatment waitlist entry belongs to a plan.",
            ),
        ]

    def __str__(self):
        return f"Waitlist entry {self.pk}"


class OfferStatus(models.TextChoices):
    OPEN = "open", "Offered"
    ACCEPTED = "accepted", "Accepted"
    GONE = "gone", "Taken by someone else"
    EXPIRED = "expired", "Expired"


class WaitlistOffer(models.Model):
    """A freed slot offered to one waitlisted patient. The first accept of a slot wins: accepting
    locks the freed session's row, so two accepts of one slot run one after the other."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    freed_session = models.ForeignKey(
        TreatmentSession, on_delete=models.PROTECT, related_name="waitlist_offers"
    )
    clinician = models.ForeignKey("clinic.StaffProfile", on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey("clinic.Room", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    offered_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    booked_session = models.OneToOneField(
        TreatmentSession, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["offered_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "freed_session"], name="waitlist_one_offer_per_slot"
            ),
            # The database itself refuses a second winner for one freed slot.
            models.UniqueConstraint(
                fields=["freed_session"],
                condition=Q(status="accepted"),
                name="waitlist_one_accept_per_slot",
            ),
        ]

    def __str__(self):
        return f"Waitlist offer {self.pk}"
