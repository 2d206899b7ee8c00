"""Treatment sessions (reception's appointments) and the clinician's session records.

The appointment and the clinical record are different objects so that permissions follow the
data: reception books TreatmentSession rows and never reads SessionRecord ones (DESIGN.md, 2).
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMED = "confirmed", "Confirmed"  # the patient confirmed (link, phone or desk)
    CHECKED_IN = "checked_in", "Checked in"  # the patient is in the clinic
    COMPLETED = "completed", "Completed"  # only with a signed session record
    CANCELLED_BY_PATIENT = "cancelled_patient", "Cancelled by patient"
    CANCELLED_BY_CLINIC = "cancelled_clinic", "Cancelled by clinic"
    NO_SHOW = "no_show", "No-show"  # only after the start time


class TreatmentSession(models.Model):
    """An appointment: who, with whom, where and when. No clinical content lives here."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="treatment_sessions"
    )
    clinician = models.ForeignKey(
        "clinic.StaffProfile", on_delete=models.PROTECT, related_name="treatment_sessions"
    )
    room = models.ForeignKey("clinic.Room", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="session_ends_after_start",
                violation_error_message="A session must end after it starts.",
            ),
        ]

    def __str__(self):
        return f"Session {self.pk} at {self.starts_at.isoformat()}"


class SessionRecord(models.Model):
    """The clinician's record of what was injected. Once signed it never changes (addenda only)."""

    session = models.OneToOneField(
        TreatmentSession, on_delete=models.PROTECT, related_name="record"
    )
    clinician = models.ForeignKey(
        "clinic.StaffProfile", on_delete=models.PROTECT, related_name="session_records"
    )
    formulation_version = models.ForeignKey(
        "formulations.FormulationVersion", on_delete=models.PROTECT, related_name="session_records"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    def __str__(self):
        return f"Record of session {self.session_id}"


class RecordLot(models.Model):
    """A lot used in a session record, with the volume injected from it."""

    record = models.ForeignKey(SessionRecord, on_delete=models.PROTECT, related_name="lots_used")
    lot = models.ForeignKey("formulations.Lot", on_delete=models.PROTECT, related_name="usages")
    volume_ml = models.DecimalField(
        "volume injected (mL)",
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record", "lot"], name="lot_once_per_record"),
            models.CheckConstraint(condition=Q(volume_ml__gt=0), name="record_lot_volume_positive"),
        ]

    def __str__(self):
        return f"{self.volume_ml} mL from lot {self.lot_id}"
