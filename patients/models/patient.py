"""The patient: identity, contact details and communication consent (every role reads these)."""

from datetime import time

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from clinic.fields import MobileNumberField, PhoneNumberAnyField, TimeZoneField


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
    mobile = MobileNumberField(blank=True)
    preferred_channel = models.CharField(
        max_length=5, choices=Channel.choices, default=Channel.EMAIL
    )
    # When the patient agreed to reminders on each channel; empty means no consent.
    email_consent_at = models.DateTimeField(null=True, blank=True)
    sms_consent_at = models.DateTimeField(null=True, blank=True)
    # Address, GP and emergency contact (issue 15): reception reads them; none is required.
    address_line1 = models.CharField("address line 1", max_length=100, blank=True)
    address_line2 = models.CharField("address line 2", max_length=100, blank=True)
    town = models.CharField("town or city", max_length=60, blank=True)
    postcode = models.CharField(max_length=12, blank=True)
    gp_name = models.CharField("GP's name", max_length=100, blank=True)
    gp_practice = models.CharField("GP practice", max_length=120, blank=True)
    gp_phone = PhoneNumberAnyField("GP practice phone", blank=True)
    emergency_contact_name = models.CharField(
        "emergency contact's name", max_length=100, blank=True
    )
    emergency_contact_relationship = models.CharField(
        "relationship to the patient", max_length=40, blank=True
    )
    emergency_contact_phone = PhoneNumberAnyField("emergency contact's phone", blank=True)
    time_zone = TimeZoneField(
        blank=True,
        help_text="Leave empty to use the clinic's time zone.",
    )
    # An opt-out (an SMS "STOP", an unsubscribe) beats consent until the patient consents again.
    email_opt_out_at = models.DateTimeField(null=True, blank=True)
    sms_opt_out_at = models.DateTimeField(null=True, blank=True)
    # No reminder goes out between these local times (practice default 20:00–08:00).
    quiet_hours_start = models.TimeField(default=time(20, 0))
    quiet_hours_end = models.TimeField(default=time(8, 0))
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Data rights (GDPR Art. 17/18; sessions/exchange/data_rights.py): an erasure request restricts
    # processing at once (no reminders, no marketing); after the retention period the patient is
    # anonymised: identity and contact gone, signed clinical content kept under a study id.
    processing_restricted_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    study_id = models.CharField(max_length=20, blank=True, editable=False)
    # Created by an online booking from what the person typed: reception confirms the record or
    # merges it into the patient it turns out to be (patients/intake.py).
    is_provisional = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        permissions = [
            ("view_clinical", "Can view a patient's clinical data"),
            ("manage_data_rights", "Can record erasure requests and anonymise patients"),
        ]
        indexes = [
            models.Index(fields=["family_name", "given_name"], name="patient_name_idx"),
            # The sweep cancels restricted patients' reminders every minute: an index of the
            # few restricted rows keeps that step from reading every patient.
            models.Index(
                fields=["processing_restricted_at"],
                condition=Q(processing_restricted_at__isnull=False),
                name="patient_restricted_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["study_id"], condition=~Q(study_id=""), name="patient_study_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(anonymised_at__isnull=True) | ~Q(study_id=""),
                name="patient_anonymised_has_study_id",
            ),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.record_number})"

    @property
    def full_name(self) -> str:
        if self.anonymised_at is not None:
            return f"Anonymised patient {self.study_id}"
        return f"{self.given_name} {self.family_name}"

    @property
    def sort_name(self) -> str:
        """ "Family, Given" for lists; an anonymised patient shows only the study id."""
        if self.anonymised_at is not None:
            return self.full_name
        return f"{self.family_name}, {self.given_name}"

    @property
    def address_lines(self) -> list[str]:
        """The address as lines for a page or a letter, empty parts left out."""
        parts = (self.address_line1, self.address_line2, self.town, self.postcode)
        return [part for part in parts if part]

    @property
    def is_restricted(self) -> bool:
        return self.processing_restricted_at is not None
