"""Ingredients, formulations and their versions with exact strengths, and lots.

What was injected must be answerable for any patient on any day, so a version is a fixed list of
ingredient lines; a change makes a new version (versioning.py), never an edit of a used one.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from .units import ConcentrationUnit, StrengthUnit, normalise_strength  # noqa: F401 (re-exported)


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


class FrozenIngredientError(ValidationError):
    """A change to what an ingredient is (name, category, prescription flag) was refused."""


# What an ingredient *is*: the record, the patient's sheet and the allergy-by-category check read
# these, so once a published or used version lists the ingredient they never change.
INGREDIENT_IDENTITY_FIELDS = ("name", "category", "is_prescription_drug")


def _frozen_ingredient_message(name: str) -> str:
    return (
        f"{name} is listed in a published or used formulation version, so its name, category "
        "and prescription flag can never change: signed records and ingredient sheets read "
        "them. Add a new ingredient instead."
    )


class IngredientQuerySet(models.QuerySet):
    def in_use(self):
        """Ingredients a published, retired or used version lists."""
        return self.filter(
            Q(lines__version__status__in=["published", "retired"])
            | Q(lines__version__session_records__isnull=False)
        ).distinct()

    def update(self, **kwargs):
        if set(kwargs) & set(INGREDIENT_IDENTITY_FIELDS):
            first = self.in_use().first()
            if first is not None:
                raise FrozenIngredientError(_frozen_ingredient_message(first.name))
        return super().update(**kwargs)

    update.queryset_only = True


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

    objects = IngredientQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values(*INGREDIENT_IDENTITY_FIELDS)
            stored = stored.first()
            changed = stored and any(getattr(self, f) != stored[f] for f in stored)
            if changed and self.is_in_use():
                raise FrozenIngredientError(_frozen_ingredient_message(stored["name"]))
        return super().save(*args, **kwargs)

    def is_in_use(self) -> bool:
        return self.pk is not None and type(self).objects.in_use().filter(pk=self.pk).exists()

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
        permissions = [("view_formulation_history", "Can see a formulation's audit timeline")]

    def __str__(self):
        return self.name


class FrozenVersionError(ValidationError):
    """A change to a published, retired or used version (or its lines) was refused."""


# Fields that fix what a version is; once it leaves draft they never change.
VERSION_CONTENT_FIELDS = (
    "formulation_id",
    "number",
    "unit_volume_ml",
    "vehicle",
    "instructions",
    "change_note",
    "based_on_id",
)
# The only moves a version makes after creation (versioning.py performs them).
ALLOWED_STATUS_MOVES = {
    ("draft", "draft"),
    ("draft", "published"),
    ("published", "published"),
    ("published", "retired"),
    ("retired", "retired"),
}


def _frozen_message(version_label: str, why: str) -> str:
    return (
        f"{version_label} is {why}, so it can never be changed or deleted. "
        'Use "New version from this one" to make a changed copy.'
    )


class FormulationVersionQuerySet(models.QuerySet):
    """Bulk paths refuse frozen rows too: update() and delete() skip save() and delete()."""

    def frozen(self):
        return self.filter(~Q(status="draft") | Q(session_records__isnull=False)).distinct()

    def _refuse_frozen(self):
        first = self.frozen().select_related("formulation").first()
        if first is not None:
            raise FrozenVersionError(_frozen_message(str(first), first.frozen_reason()))

    def update(self, **kwargs):
        self._refuse_frozen()
        return super().update(**kwargs)

    def delete(self):
        self._refuse_frozen()
        return super().delete()

    update.queryset_only = True
    delete.queryset_only = True


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

    objects = FormulationVersionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["formulation__name", "-number"]
        permissions = [
            ("view_ingredient_sheet", "Can open the patient ingredient sheet"),
            ("compare_formulationversion", "Can compare two versions"),
            ("view_usage_report", "Can see how often each version was used"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["formulation", "number"],
                name="formulation_version_number_unique",
                violation_error_message="This formulation already has a version with that number.",
            ),
        ]

    def __str__(self):
        return f"{self.formulation.name} v{self.number}"

    def save(self, *args, **kwargs):
        # A row-level invariant, kept here so that no path (form, admin, shell) can skip it.
        if self.pk is not None:
            self._refuse_frozen_change()
        return super().save(*args, **kwargs)

    def _refuse_frozen_change(self):
        stored = (
            type(self)
            .objects.filter(pk=self.pk)
            .values("status", *VERSION_CONTENT_FIELDS, "published_at", "published_by_id")
            .first()
        )
        if stored is None:
            return
        label = f"{self.formulation.name} v{stored['number']}"
        move = (stored["status"], self.status)
        if move not in ALLOWED_STATUS_MOVES:
            if self.status == VersionStatus.DRAFT:
                raise FrozenVersionError(
                    f"{label} is {stored['status']} and cannot go back to draft. "
                    'Use "New version from this one" to make a changed copy.'
                )
            raise FrozenVersionError(
                f"{label} cannot move from {stored['status']} to {self.status}."
            )
        used = self.is_used()
        if stored["status"] == VersionStatus.DRAFT and not used:
            return
        changed = [f for f in VERSION_CONTENT_FIELDS if getattr(self, f) != stored[f]]
        if stored["status"] != VersionStatus.DRAFT:
            changed += [
                f for f in ("published_at", "published_by_id") if getattr(self, f) != stored[f]
            ]
        if changed:
            why = "used in a treatment session" if used else stored["status"]
            raise FrozenVersionError(_frozen_message(label, why))

    def delete(self, *args, **kwargs):
        reason = self.frozen_reason() if self.pk else ""
        if reason:
            raise FrozenVersionError(_frozen_message(str(self), reason))
        return super().delete(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT

    def is_used(self) -> bool:
        """True once any session record names this version: from then on it is the record."""
        return self.pk is not None and self.session_records.exists()

    def frozen_reason(self) -> str:
        if self.is_used():
            return "used in a treatment session"
        if self.status != VersionStatus.DRAFT:
            return self.get_status_display().lower()
        return ""


class IngredientLineQuerySet(models.QuerySet):
    def _refuse_frozen(self):
        frozen = FormulationVersion.objects.frozen().filter(lines__in=self.values("pk"))
        first = frozen.select_related("formulation").first()
        if first is not None:
            raise FrozenVersionError(_frozen_message(str(first), first.frozen_reason()))

    def update(self, **kwargs):
        self._refuse_frozen()
        return super().update(**kwargs)

    def delete(self):
        self._refuse_frozen()
        return super().delete()

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        version_ids = {o.version_id for o in objs}
        first = (
            FormulationVersion.objects.frozen()
            .filter(pk__in=version_ids)
            .select_related("formulation")
            .first()
        )
        if first is not None:
            raise FrozenVersionError(_frozen_message(str(first), first.frozen_reason()))
        return super().bulk_create(objs, *args, **kwargs)

    update.queryset_only = True
    delete.queryset_only = True


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

    objects = IngredientLineQuerySet.as_manager()
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

    def save(self, *args, **kwargs):
        self._refuse_if_version_frozen()
        # The canonical concentration is derived data: recomputed on every save so it can
        # never disagree with the amount and unit a person entered.
        strength = normalise_strength(
            amount=self.amount, unit=self.unit, per_volume_ml=self.per_volume_ml
        )
        self.concentration, self.concentration_unit = strength.value, strength.unit
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_version_frozen()
        return super().delete(*args, **kwargs)

    def _refuse_if_version_frozen(self):
        version_ids = {self.version_id}
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("version_id", flat=True)
            version_ids.update(stored)
        first = (
            FormulationVersion.objects.frozen()
            .filter(pk__in=version_ids)
            .select_related("formulation")
            .first()
        )
        if first is not None:
            raise FrozenVersionError(_frozen_message(str(first), first.frozen_reason()))


class LotStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    QUARANTINED = "quarantined", "Quarantined"  # held for checks; cannot be used until released
    RECALLED = "recalled", "Recalled"  # withdrawn for good; patients who received it are listed


class FrozenLotError(ValidationError):
    """A change to a lot that a record names was refused."""


# What identifies a lot on a record and a recall list; once any record names the lot these never
# change (a typo is put right by a LotCorrection with a reason, shown beside the original).
LOT_IDENTITY_FIELDS = ("lot_number", "version_id", "supplier", "expires_on")


def _frozen_lot_message(lot_number: str) -> str:
    return (
        f"Lot {lot_number} is named on a session record or an adverse event, so its number, "
        "version, supplier and expiry can never change. Record a lot correction with a reason "
        "instead."
    )


class LotQuerySet(models.QuerySet):
    def named(self):
        """Lots that a session record or an adverse event names."""
        return self.filter(Q(usages__isnull=False) | Q(adverse_events__isnull=False)).distinct()

    def update(self, **kwargs):
        fields = {"version_id" if f == "version" else f for f in kwargs}
        if fields & set(LOT_IDENTITY_FIELDS):
            first = self.named().first()
            if first is not None:
                raise FrozenLotError(_frozen_lot_message(first.lot_number))
        return super().update(**kwargs)

    update.queryset_only = True


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

    objects = LotQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["expires_on", "lot_number"]
        permissions = [("recall_lot", "Can recall a lot and list the patients who received it")]
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

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values(*LOT_IDENTITY_FIELDS).first()
            changed = stored and any(getattr(self, f) != stored[f] for f in stored)
            if changed and self.is_named():
                raise FrozenLotError(_frozen_lot_message(stored["lot_number"]))
        return super().save(*args, **kwargs)

    def is_named(self) -> bool:
        return self.pk is not None and type(self).objects.named().filter(pk=self.pk).exists()

    def corrected(self, field: str) -> str:
        """The latest corrected value of a field, or "" when it was never corrected."""
        if self.pk is None:
            return ""
        latest = None
        for correction in self.corrections.all():  # ordered oldest first; prefetch-friendly
            if correction.field == field:
                latest = correction
        return latest.new_value if latest else ""

    @property
    def usable_until(self):
        """The last day the lot may be injected: a correction may bring the expiry forward,
        never push it back past the date it was received with."""
        corrected = self.corrected("expires_on")
        if corrected:
            return min(self.expires_on, date.fromisoformat(corrected))
        return self.expires_on


class LotCorrectionField(models.TextChoices):
    LOT_NUMBER = "lot_number", "Lot number"
    SUPPLIER = "supplier", "Supplier"
    EXPIRES_ON = "expires_on", "Expiry date"


class LotCorrection(models.Model):
    """A typo on a lot put right without editing the lot: the record and the recall list keep the
    lot as it was received and show every correction, with who made it, when and why."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="corrections")
    field = models.CharField(max_length=12, choices=LotCorrectionField.choices)
    old_value = models.CharField(max_length=200)
    new_value = models.CharField(max_length=200)
    reason = models.TextField()
    corrected_at = models.DateTimeField()
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["corrected_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="lot_correction_has_reason",
                violation_error_message="Say why the lot is corrected.",
            ),
        ]

    def __str__(self):
        return f"{self.get_field_display()}: {self.old_value} → {self.new_value}"

    def save(self, *args, **kwargs):
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise FrozenLotError("A lot correction is part of the record: add another one.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise FrozenLotError("A lot correction is part of the record and is never deleted.")
