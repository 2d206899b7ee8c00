"""Data rights: erasure requests and the patient's own copy (GDPR Art. 15, 17, 18).

The rules live in sessions/exchange/ (they read every app); these rows are what was asked,
decided and done."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from .patient import Patient

# Data rights: erasure requests and the patient's own copy (GDPR Art. 15, 17, 18). The rules live
# in sessions/exchange/ (they read every app); these rows are what was asked, decided and done.


class ErasureStatus(models.TextChoices):
    RESTRICTED = "restricted", "Processing restricted"  # inside retention: record kept, no use
    AWAITING_CONFIRMATION = "awaiting", "Anonymisation awaiting a second admin"
    ANONYMISED = "anonymised", "Anonymised"  # identity and contact removed; clinical record kept


class ErasureRequest(models.Model):
    """A patient asked for their data to be erased. The medical record is kept for the clinic's
    retention period (GDPR Art. 17(3)(c)); processing is restricted at once, and after the period
    two clinic admins anonymise the patient."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="erasure_requests")
    received_at = models.DateTimeField()
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    how_received = models.CharField(max_length=200, help_text="e.g. letter of 3 March, email.")
    retention_ends_on = models.DateField(help_text="As computed when the request was recorded.")
    why_kept = models.TextField(help_text="Why the record is kept, as told to the patient.")
    status = models.CharField(
        max_length=10, choices=ErasureStatus.choices, default=ErasureStatus.RESTRICTED
    )
    anonymise_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    anonymise_requested_at = models.DateTimeField(null=True, blank=True)
    anonymise_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    anonymised_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            # Two-person rule: whoever confirms the anonymisation is not who proposed it.
            models.CheckConstraint(
                condition=Q(anonymise_confirmed_by__isnull=True)
                | ~Q(anonymise_confirmed_by=F("anonymise_requested_by")),
                name="erasure_two_person_confirmation",
                violation_error_message="A second clinic admin must confirm the anonymisation.",
            ),
            models.CheckConstraint(condition=~Q(why_kept=""), name="erasure_says_why_kept"),
        ]

    def __str__(self):
        return f"Erasure request {self.pk}"


class CopyChannel(models.TextChoices):
    LINK = "link", "Patient's link"
    STAFF_DOWNLOAD = "staff", "Staff download"


class PatientCopy(models.Model):
    """A patient's own copy of their record (subject access), produced on request: the readable
    record as HTML and PDF and the FHIR Bundle, frozen when made. The files live in private
    storage and go when the link expires; the row stays as the log of the request."""

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    nonce = models.CharField(max_length=64, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="copies")
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    how_requested = models.CharField(max_length=200)
    html_file = models.CharField(max_length=200, blank=True)
    pdf_file = models.CharField(max_length=200, blank=True)
    fhir_file = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    files_removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name_plural = "patient copies"

    def __str__(self):
        return f"Patient copy {self.pk}"


class PatientCopyDelivery(models.Model):
    """One delivery of a copy: which file, how (the patient's link or a staff download), when."""

    patient_copy = models.ForeignKey(
        PatientCopy, on_delete=models.PROTECT, related_name="deliveries"
    )
    channel = models.CharField(max_length=5, choices=CopyChannel.choices)
    file_format = models.CharField(max_length=5)  # html, pdf or fhir
    delivered_at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-delivered_at", "-pk"]
        verbose_name_plural = "patient copy deliveries"

    def __str__(self):
        return f"Delivery {self.pk} of copy {self.patient_copy_id}"
