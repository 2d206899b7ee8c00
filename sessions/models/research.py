"""De-identified research exports (DOMAIN.md "Keeping and giving back records"): each export a
clinic admin asks for, with the reason, is kept as the audit trail; each patient who ever went
into one has a stable random study id and a secret date shift."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

# Study ids avoid letters that read alike (0/O, 1/I/L) so a researcher can quote one safely.
STUDY_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# Practice default: up to half a year either way, never zero, keeps seasons plausible while a
# date alone no longer points to a visit.
DATE_SHIFT_MAX_DAYS = 182


def new_study_id() -> str:
    return "S-" + "".join(secrets.choice(STUDY_ID_ALPHABET) for _ in range(10))


def new_date_shift() -> int:
    shift = secrets.randbelow(DATE_SHIFT_MAX_DAYS) + 1
    return shift if secrets.randbelow(2) else -shift


class StudyPseudonym(models.Model):
    """A patient's study id and date shift: the same in every export, so exports can be joined,
    and never shown on any page (the shift is the key that would undo the dates)."""

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.PROTECT, related_name="study_pseudonym"
    )
    study_id = models.CharField(max_length=20, unique=True, default=new_study_id)
    date_shift_days = models.SmallIntegerField(default=new_date_shift)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(date_shift_days=0)
                & Q(date_shift_days__gte=-DATE_SHIFT_MAX_DAYS)
                & Q(date_shift_days__lte=DATE_SHIFT_MAX_DAYS),
                name="study_pseudonym_shift_nonzero_bounded",
            ),
        ]

    def __str__(self):
        return self.study_id


class ResearchExportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for the worker"  # asked for; a sweep will claim it
    RUNNING = "running", "Being built"  # claimed by a worker
    READY = "ready", "Ready to download"
    FAILED = "failed", "Failed"  # the error type is kept; ask for a new export


def research_export_path(instance, filename: str) -> str:
    return f"research-exports/{instance.pk}-{secrets.token_hex(8)}.zip"


class ResearchExport(models.Model):
    """One de-identified export: who asked, why and when, and its file (stored privately, served
    only to those who may export). Never deleted: it is the audit trail of what left the clinic."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(help_text="Who the data is for and why, e.g. the study protocol.")
    requested_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ResearchExportStatus.choices, default=ResearchExportStatus.QUEUED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_percent = models.PositiveSmallIntegerField(default=0)
    patient_count = models.PositiveIntegerField(null=True, blank=True)
    file = models.FileField(upload_to=research_export_path, blank=True)
    # The exception's type only: a message could quote patient data.
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="research_export_has_reason",
                violation_error_message="Say who the export is for and why.",
            ),
            models.CheckConstraint(
                condition=Q(progress_percent__lte=100), name="research_export_progress_0_100"
            ),
        ]

    def __str__(self):
        return f"Research export {self.pk}"
