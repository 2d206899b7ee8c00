"""Patients: demographics and contact data (reception) and, in later models, clinical data."""

from django.db import models
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from clinic.models import TIME_ZONE_CHOICES


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Not recorded"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class Patient(models.Model):
    """A patient. Never deleted: a patient who leaves is archived (archived_at)."""

    record_number = models.CharField(max_length=20, unique=True, editable=False)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices)
    pronouns = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    mobile = PhoneNumberField(blank=True)
    preferred_channel = models.CharField(
        max_length=5, choices=Channel.choices, default=Channel.EMAIL
    )
    # When the patient agreed to reminders on each channel; empty means no consent.
    email_consent_at = models.DateTimeField(null=True, blank=True)
    sms_consent_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(
        max_length=64,
        choices=TIME_ZONE_CHOICES,
        blank=True,
        help_text="Leave empty to use the clinic's time zone.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        indexes = [
            models.Index(fields=["family_name", "given_name"], name="patient_name_idx"),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.record_number})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"
