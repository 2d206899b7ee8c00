"""Ingredients, formulations and their versions with exact strengths, and lots.

What was injected must be answerable for any patient on any day, so a version is a fixed list of
ingredient lines; a change makes a new version (versioning.py), never an edit of a used one.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords


class IngredientCategory(models.TextChoices):
    # DOMAIN.md, "Formulations and ingredients".
    VITAMIN = "vitamin", "Vitamin"
    MINERAL = "mineral", "Mineral"
    AMINO_ACID = "amino_acid", "Amino acid"
    COENZYME = "coenzyme", "Coenzyme"
    PEPTIDE = "peptide", "Peptide"
    GROWTH_FACTOR = "growth_factor", "Growth factor"
    HYALURONIC_ACID = "hyaluronic_acid", "Hyaluronic acid"
    ANTIOXIDANT = "antioxidant", "Antioxidant"
    STIMULANT = "stimulant", "Stimulant"
    FIVE_ALPHA_REDUCTASE_INHIBITOR = "5ari", "5-alpha-reductase inhibitor"
    EXOSOME = "exosome", "Exosome / stem-cell derived"
    VEHICLE = "vehicle", "Vehicle / other"


class Ingredient(models.Model):
    name = models.CharField(max_length=200, unique=True)
    category = models.CharField(max_length=20, choices=IngredientCategory.choices)
    is_prescription_drug = models.BooleanField(
        "prescription drug",
        default=False,
        help_text="Prescription-only medicine (e.g. dutasteride).",
    )
    synonyms = models.TextField(
        blank=True,
        help_text="Other names, one per line (brand names, INN, chemical names). "
        "Used to match patients' recorded allergies.",
    )
    known_side_effects = models.TextField(blank=True)
    evidence_notes = models.TextField(blank=True)
    references = models.TextField(blank=True, help_text="Sources for the evidence notes.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def synonym_list(self) -> list[str]:
        return [s.strip() for s in self.synonyms.splitlines() if s.strip()]

    def all_names(self) -> set[str]:
        """The name and every synonym, case-folded, for matching free-text allergies."""
        return {n.casefold() for n in [self.name, *self.synonym_list]}


class Formulation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    purpose = models.TextField(blank=True)
    technique_notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"  # editable; cannot be used in a session
    PUBLISHED = "published", "Published"  # frozen; the only status a session may use
    RETIRED = "retired", "Retired"  # frozen; kept for the record, not offered for new sessions


class FormulationVersion(models.Model):
    formulation = models.ForeignKey(Formulation, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    unit_volume_ml = models.DecimalField(
        "unit volume (mL)",
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Volume of one vial or ampoule.",
    )
    vehicle = models.CharField(
        max_length=200, blank=True, help_text="e.g. sterile water for injection, saline 0.9 %."
    )
    instructions = models.TextField(blank=True, help_text="Preparation and administration.")
    change_note = models.TextField(blank=True, help_text="What changed from the previous version.")
    based_on = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["formulation__name", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["formulation", "number"],
                name="formulation_version_number_unique",
                violation_error_message="This formulation already has a version with that number.",
            ),
        ]

    def __str__(self):
        return f"{self.formulation.name} v{self.number}"


class StrengthUnit(models.TextChoices):
    # Amount units of an ingredient line; PERCENT_WV is grams per 100 mL (1 % w/v = 10 mg/mL).
    MG = "mg", "mg"
    MICROGRAM = "ug", "µg"
    G = "g", "g"
    IU = "IU", "IU"
    PERCENT_WV = "%w/v", "% w/v"


class ConcentrationUnit(models.TextChoices):
    MG_PER_ML = "mg/mL", "mg/mL"
    MICROGRAM_PER_ML = "ug/mL", "µg/mL"
    IU_PER_ML = "IU/mL", "IU/mL"


class IngredientLine(models.Model):
    """One ingredient of a version, at a strength entered as amount per volume or as % w/v."""

    version = models.ForeignKey(FormulationVersion, on_delete=models.PROTECT, related_name="lines")
    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="lines")
    amount = models.DecimalField(
        max_digits=14, decimal_places=6, validators=[MinValueValidator(Decimal("0"))]
    )
    unit = models.CharField(max_length=5, choices=StrengthUnit.choices)
    per_volume_ml = models.DecimalField(
        "per volume (mL)",
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Leave empty for % w/v.",
    )
    # The strength in a canonical unit, for comparison and dose arithmetic (see units.py).
    concentration = models.DecimalField(max_digits=20, decimal_places=10, editable=False)
    concentration_unit = models.CharField(
        max_length=6, choices=ConcentrationUnit.choices, editable=False
    )
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "ingredient"],
                name="ingredient_once_per_version",
                violation_error_message="This ingredient is already listed in the version.",
            ),
            models.CheckConstraint(
                condition=(Q(unit="%w/v") & Q(per_volume_ml__isnull=True))
                | (~Q(unit="%w/v") & Q(per_volume_ml__gt=0)),
                name="ingredient_line_strength_is_a_ratio",
                violation_error_message=(
                    "Give the strength as an amount per volume (e.g. 0.1 mg per 1 mL) or as % w/v."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.ingredient.name} {self.amount} {self.unit}"


class LotStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    QUARANTINED = "quarantined", "Quarantined"  # held for checks; cannot be used until released
    RECALLED = "recalled", "Recalled"  # withdrawn for good; patients who received it are listed


class Lot(models.Model):
    """A batch of one formulation version. "Expired" is not stored: it follows from the date."""

    version = models.ForeignKey(FormulationVersion, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=100)
    supplier = models.CharField(max_length=200)
    received_on = models.DateField()
    expires_on = models.DateField()
    quantity_received = models.PositiveIntegerField(help_text="Vials or ampoules received.")
    quantity_remaining = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=LotStatus.choices, default=LotStatus.AVAILABLE)
    status_reason = models.TextField(blank=True)
    recalled_on = models.DateField(null=True, blank=True)
    recalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["expires_on", "lot_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "lot_number"],
                name="lot_number_unique_per_supplier",
                violation_error_message="This supplier already has a lot with that number.",
            ),
            models.CheckConstraint(
                condition=Q(quantity_remaining__lte=F("quantity_received")),
                name="lot_remaining_not_above_received",
                violation_error_message="Remaining quantity cannot exceed the quantity received.",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__gt=F("received_on")),
                name="lot_expires_after_received",
                violation_error_message="The expiry date must be after the date received.",
            ),
        ]

    def __str__(self):
        return f"Lot {self.lot_number} ({self.version})"
