"""The clinical file: allergies, medications and assessments (diagnosis and severity scale).

Clinical data: clinicians and clinic admins only (permission patients.view_clinical). Nothing
clinical is hard-deleted: rows are voided with a reason (voided_at, void_reason)."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from formulations.models import IngredientCategory

from .patient import Patient

# Clinical data below: clinicians and clinic admins only (permission patients.view_clinical).
# Nothing clinical is hard-deleted: rows are voided with a reason (voided_at, void_reason).


class ClinicalQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ClinicalQuerySet":
        """Rows of clinical data that `user` may read: none at all without the clinical permission.

        Views check the permission too; this makes a forgotten check fail closed.
        """
        if user is None or not user.has_perm("patients.view_clinical"):
            return self.none()
        return self

    def current(self) -> "ClinicalQuerySet":
        return self.filter(voided_at__isnull=True)


class Voidable(models.Model):
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    objects = ClinicalQuerySet.as_manager()

    class Meta:
        abstract = True


class Severity(models.TextChoices):
    # As FHIR AllergyIntolerance.reaction.severity.
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"
    UNKNOWN = "unknown", "Not known"


class Allergy(Voidable):
    """An allergy or hypersensitivity: to one ingredient, a whole ingredient category, or free text
    (matched against every ingredient's name and synonyms)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    ingredient = models.ForeignKey(
        "formulations.Ingredient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    category = models.CharField(
        "ingredient category",
        max_length=20,
        choices=IngredientCategory.choices,
        blank=True,
    )
    substance = models.CharField(
        max_length=200,
        blank=True,
        help_text="Free text when the substance is not in the catalogue.",
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.UNKNOWN)
    reaction = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "allergies"
        constraints = [
            models.CheckConstraint(
                condition=Q(ingredient__isnull=False) | ~Q(category="") | ~Q(substance=""),
                name="allergy_names_a_substance",
                violation_error_message=(
                    "Name the ingredient, the ingredient category or the substance."
                ),
            ),
        ]

    def __str__(self):
        return f"Allergy {self.pk}"

    @property
    def label(self) -> str:
        if self.ingredient_id:
            return self.ingredient.name
        if self.category:
            return f"any {self.get_category_display().lower()}"
        return self.substance


class MedicationClass(models.TextChoices):
    ANTICOAGULANT = "anticoagulant", "Anticoagulant"
    ANTIPLATELET = "antiplatelet", "Antiplatelet"
    FIVE_ARI = "5ari", "5-alpha-reductase inhibitor"
    SYSTEMIC_STEROID = "systemic_steroid", "Systemic steroid"
    ISOTRETINOIN = "isotretinoin", "Isotretinoin"
    OTHER = "other", "Other"


class Medication(Voidable):
    """A medicine the patient takes; current while stopped_on is empty."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    name = models.CharField(max_length=200)
    medication_class = models.CharField(
        "class", max_length=20, choices=MedicationClass.choices, default=MedicationClass.OTHER
    )
    dose = models.CharField(max_length=100, blank=True)
    started_on = models.DateField(null=True, blank=True)
    stopped_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stopped_on__isnull=True)
                | Q(started_on__isnull=True)
                | Q(stopped_on__gte=F("started_on")),
                name="medication_stops_after_start",
                violation_error_message="A medicine cannot stop before it started.",
            ),
        ]

    def __str__(self):
        return f"Medication {self.pk}"

    def is_taken_on(self, day: date) -> bool:
        started = self.started_on is None or self.started_on <= day
        return started and (self.stopped_on is None or self.stopped_on >= day)


class Diagnosis(models.TextChoices):
    # ICD-10, DOMAIN.md "Diagnoses".
    L64_0 = "L64.0", "L64.0 Drug-induced androgenic alopecia"
    L64_8 = "L64.8", "L64.8 Other androgenic alopecia"
    L64_9 = "L64.9", "L64.9 Androgenic alopecia, unspecified"
    L65_0 = "L65.0", "L65.0 Telogen effluvium (incl. postpartum)"
    L65_1 = "L65.1", "L65.1 Anagen effluvium"
    L65_8 = "L65.8", "L65.8 Other non-scarring hair loss"
    L65_9 = "L65.9", "L65.9 Non-scarring hair loss, unspecified (diffuse thinning)"
    L63_0 = "L63.0", "L63.0 Alopecia (capitis) totalis"
    L63_1 = "L63.1", "L63.1 Alopecia universalis"
    L63_2 = "L63.2", "L63.2 Ophiasis"
    L63_8 = "L63.8", "L63.8 Other alopecia areata"
    L63_9 = "L63.9", "L63.9 Alopecia areata, unspecified"
    L66_0 = "L66.0", "L66.0 Pseudopelade"
    L66_1 = "L66.1", "L66.1 Lichen planopilaris"
    L66_2 = "L66.2", "L66.2 Folliculitis decalvans"
    L66_3 = "L66.3", "L66.3 Perifolliculitis capitis abscedens"
    L66_4 = "L66.4", "L66.4 Folliculitis ulerythematosa reticulata"
    L66_8 = "L66.8", "L66.8 Other cicatricial alopecia"
    L66_9 = "L66.9", "L66.9 Cicatricial alopecia, unspecified"


class Scale(models.TextChoices):
    NORWOOD = "norwood", "Norwood–Hamilton"
    LUDWIG = "ludwig", "Ludwig"
    SINCLAIR = "sinclair", "Sinclair"
    SAVIN = "savin", "Savin"
    SALT = "salt", "SALT (% loss)"


# DOMAIN.md "Severity scales". SALT is a number 0–100 and is checked separately.
SCALE_VALUES: dict[str, list[str]] = {
    Scale.NORWOOD: [
        "I",
        "II",
        "IIa",
        "III",
        "IIIa",
        "III-vertex",
        "IV",
        "IVa",
        "V",
        "Va",
        "VI",
        "VII",
    ],
    Scale.LUDWIG: ["I", "II", "III"],
    Scale.SINCLAIR: ["1", "2", "3", "4", "5"],
    Scale.SAVIN: ["I-1", "I-2", "I-3", "I-4", "II-1", "II-2", "III", "advanced", "frontal"],
}


class ScalpZone(models.TextChoices):
    FRONTAL_HAIRLINE = "frontal_hairline", "Frontal hairline"
    FRONTAL = "frontal", "Frontal"
    MID_SCALP = "mid_scalp", "Mid-scalp"
    VERTEX = "vertex", "Vertex"
    TEMPORAL_LEFT = "temporal_left", "Temporal left"
    TEMPORAL_RIGHT = "temporal_right", "Temporal right"
    PARIETAL_LEFT = "parietal_left", "Parietal left"
    PARIETAL_RIGHT = "parietal_right", "Parietal right"
    OCCIPITAL = "occipital", "Occipital"


def scale_value_error(*, scale: str, value: str) -> str | None:
    """Why `value` is not a reading of `scale`, or None when it is."""
    if scale == Scale.SALT:
        try:
            number = Decimal(value)
        except (InvalidOperation, ValueError):
            return "A SALT score is a number from 0 to 100 (% of scalp hair lost)."
        if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
            return "A SALT score is a number from 0 to 100 (% of scalp hair lost)."
        return None
    allowed = SCALE_VALUES.get(scale)
    if allowed is None:
        return "Choose a scale."
    if value not in allowed:
        label = Scale(scale).label
        return f"{label} values are: {', '.join(allowed)}."
    return None


class Assessment(Voidable):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessments")
    assessed_on = models.DateField()
    diagnosis = models.CharField("ICD-10 diagnosis", max_length=6, choices=Diagnosis.choices)
    scale = models.CharField(max_length=10, choices=Scale.choices)
    scale_value = models.CharField(max_length=20)
    zones = models.JSONField("affected zones", default=list, blank=True)
    notes = models.TextField(blank=True)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-assessed_on", "-pk"]

    def __str__(self):
        return f"Assessment {self.pk}"

    def clean(self):
        error = scale_value_error(scale=self.scale, value=self.scale_value)
        if error:
            raise ValidationError({"scale_value": error})
        unknown = set(self.zones or []) - set(ScalpZone.values)
        if unknown:
            raise ValidationError({"zones": "Unknown scalp zone."})

    @property
    def zone_labels(self) -> list[str]:
        return [ScalpZone(z).label for z in self.zones if z in ScalpZone.values]
