"""Outcome measures and standard clinical photos (DOMAIN.md "Outcome measures", "Standard
photos")."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .clinical import ScalpZone, Voidable
from .consent import ConsentSignature
from .patient import Patient

# Outcomes (DOMAIN.md "Outcome measures"): progress is the change from the baseline measured at
# the same zone. Clinical data: clinicians and clinic admins only.


class OutcomeMeasurement(Voidable):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outcomes")
    measured_on = models.DateField()
    zone = models.CharField(max_length=20, choices=ScalpZone.choices)
    session = models.ForeignKey(
        "treatment_sessions.TreatmentSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outcomes",
    )
    density_per_cm2 = models.DecimalField(
        "density (hairs/cm²)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    shaft_diameter_um = models.DecimalField(
        "shaft diameter (µm)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    terminal_vellus_ratio = models.DecimalField(
        "terminal:vellus ratio", max_digits=5, decimal_places=2, null=True, blank=True
    )
    anagen_percent = models.DecimalField(
        "anagen (%)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    # Hairs out of about 50 pulled; positive above 10 % (DOMAIN.md).
    pull_test_hairs = models.PositiveSmallIntegerField(
        "pull test (hairs out of ~50)", null=True, blank=True
    )
    # −3 very much worse … +3 very much better.
    global_assessment = models.SmallIntegerField(
        "global photographic assessment (−3..+3)", null=True, blank=True
    )
    self_assessment = models.SmallIntegerField(
        "patient self-assessment (−3..+3)", null=True, blank=True
    )
    is_baseline = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["measured_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(global_assessment__isnull=True)
                | (Q(global_assessment__gte=-3) & Q(global_assessment__lte=3)),
                name="outcome_global_assessment_range",
                violation_error_message="The global assessment runs from −3 to +3.",
            ),
            models.CheckConstraint(
                condition=Q(self_assessment__isnull=True)
                | (Q(self_assessment__gte=-3) & Q(self_assessment__lte=3)),
                name="outcome_self_assessment_range",
                violation_error_message="The self-assessment runs from −3 to +3.",
            ),
            models.CheckConstraint(
                condition=Q(anagen_percent__isnull=True)
                | (Q(anagen_percent__gte=0) & Q(anagen_percent__lte=100)),
                name="outcome_anagen_percent_range",
                violation_error_message="Anagen is a percentage from 0 to 100.",
            ),
            models.UniqueConstraint(
                fields=["patient", "zone"],
                condition=Q(is_baseline=True, voided_at__isnull=True),
                name="outcome_one_baseline_per_zone",
                violation_error_message="This zone already has a baseline measurement.",
            ),
        ]

    def __str__(self):
        return f"Outcome {self.pk}"


class PhotoView(models.TextChoices):
    # DOMAIN.md "Standard photos": the practice default protocol takes the first five.
    VERTEX = "vertex", "Vertex"
    FRONTAL_HAIRLINE = "frontal_hairline", "Frontal hairline"
    TEMPLE_LEFT = "temple_left", "Left temple"
    TEMPLE_RIGHT = "temple_right", "Right temple"
    MIDLINE_PART = "midline_part", "Midline part"
    OCCIPITAL = "occipital", "Occipital (reference)"


# The scalp zone each standard view shows, so a photo sits beside the measurements of its zone.
VIEW_ZONES: dict[str, str] = {
    PhotoView.VERTEX: ScalpZone.VERTEX,
    PhotoView.FRONTAL_HAIRLINE: ScalpZone.FRONTAL_HAIRLINE,
    PhotoView.TEMPLE_LEFT: ScalpZone.TEMPORAL_LEFT,
    PhotoView.TEMPLE_RIGHT: ScalpZone.TEMPORAL_RIGHT,
    PhotoView.MIDLINE_PART: ScalpZone.MID_SCALP,
    PhotoView.OCCIPITAL: ScalpZone.OCCIPITAL,
}


class PhotoProtocolView(models.Model):
    """One view of the clinic's photo protocol: taken at every visit while it is required, at
    the same distance, lighting and hair preparation (written in `instructions`). Loaded with
    the practice default by a data migration; the clinic edits it in its settings."""

    view = models.CharField(max_length=20, choices=PhotoView.choices, unique=True)
    required = models.BooleanField(default=True, help_text="Shown as missing when not taken.")
    instructions = models.CharField(
        max_length=300, blank=True, help_text="Distance, lighting, hair preparation."
    )
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "view"]
        verbose_name = "photo protocol view"

    def __str__(self):
        return self.get_view_display()


def clinical_photo_path(instance, filename: str) -> str:
    # Opaque names: no patient name or original file name reaches the disk or a URL.
    import uuid

    return f"clinical-photos/{instance.patient_id}/{uuid.uuid4().hex}.jpg"


class ClinicalPhoto(Voidable):
    """A standardised photo of one zone, stored privately (never under a public URL), served only
    to clinical roles, with EXIF stripped on upload. Needs the patient's photography consent."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="photos")
    zone = models.CharField(max_length=20, choices=ScalpZone.choices)
    # The standard view; empty only on photos stored before the protocol existed.
    view = models.CharField(max_length=20, choices=PhotoView.choices, blank=True)
    taken_on = models.DateField()
    session = models.ForeignKey(
        "treatment_sessions.TreatmentSession",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="photos",
    )
    image = models.ImageField(upload_to=clinical_photo_path)
    consent = models.ForeignKey(
        ConsentSignature,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The photography consent in force when the photo was taken.",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["taken_on", "zone", "pk"]
        indexes = [models.Index(fields=["patient", "view", "taken_on"], name="photo_view_idx")]

    def __str__(self):
        return f"Photo {self.pk}"
