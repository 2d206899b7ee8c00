"""Strengths and doses. A strength is a ratio (amount per volume, or % w/v); for comparison and dose
arithmetic it is normalised to one canonical concentration per kind of quantity:
mass -> mg/mL, international units -> IU/mL. 1 % w/v = 1 g / 100 mL = 10 mg/mL."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import models


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


MG_PER_UNIT = {
    StrengthUnit.MG: Decimal(1),
    StrengthUnit.MICROGRAM: Decimal("0.001"),
    StrengthUnit.G: Decimal(1000),
}
MG_PER_ML_PER_PERCENT_WV = Decimal(10)


@dataclass(frozen=True)
class Concentration:
    value: Decimal
    unit: ConcentrationUnit


def normalise_strength(
    *, amount: Decimal, unit: StrengthUnit, per_volume_ml: Decimal | None
) -> Concentration:
    """The canonical concentration of amount/per_volume_ml (or amount % w/v)."""
    if unit == StrengthUnit.PERCENT_WV:
        if per_volume_ml is not None:
            raise ValueError("A % w/v strength has no separate volume.")
        return Concentration(amount * MG_PER_ML_PER_PERCENT_WV, ConcentrationUnit.MG_PER_ML)
    if per_volume_ml is None or per_volume_ml <= 0:
        raise ValueError("An amount needs the volume it is dissolved in, e.g. 0.1 mg per 1 mL.")
    if unit == StrengthUnit.IU:
        return Concentration(amount / per_volume_ml, ConcentrationUnit.IU_PER_ML)
    return Concentration(amount * MG_PER_UNIT[unit] / per_volume_ml, ConcentrationUnit.MG_PER_ML)


def decimal_text(value: Decimal) -> str:
    """A Decimal as people write it: no exponent, no trailing zeros (0.100 -> "0.1")."""
    return format(value.normalize(), "f")


UNIT_WORDS = {
    StrengthUnit.MG: "mg",
    StrengthUnit.MICROGRAM: "micrograms",
    StrengthUnit.G: "g",
    StrengthUnit.IU: "IU (international units)",
}


def strength_in_words(*, amount: Decimal, unit: str, per_volume_ml: Decimal | None) -> str:
    """How the ingredient sheet states a strength, e.g. "0.1 mg in every 1 mL (0.01 %)"."""
    concentration = normalise_strength(amount=amount, unit=unit, per_volume_ml=per_volume_ml)
    if unit == StrengthUnit.PERCENT_WV:
        # % w/v is read most easily as the mass in one millilitre.
        words = f"{decimal_text(concentration.value)} mg in every 1 mL"
        return f"{words} ({decimal_text(amount)} %)"
    words = f"{decimal_text(amount)} {UNIT_WORDS[unit]} in every {decimal_text(per_volume_ml)} mL"
    if concentration.unit == ConcentrationUnit.MG_PER_ML:
        percent = concentration.value / MG_PER_ML_PER_PERCENT_WV
        words += f" ({decimal_text(percent)} %)"
    return words


DOSE_UNITS = {
    ConcentrationUnit.MG_PER_ML: "mg",
    ConcentrationUnit.MICROGRAM_PER_ML: "µg",
    ConcentrationUnit.IU_PER_ML: "IU",
}


@dataclass(frozen=True)
class IngredientDose:
    ingredient: object  # formulations.models.Ingredient
    amount: Decimal
    unit: str  # "mg", "µg" or "IU"

    def __str__(self):
        return f"{self.ingredient.name}: {decimal_text(self.amount)} {self.unit}"


def ingredient_doses(*, version, volume_ml: Decimal, lines=None) -> list[IngredientDose]:
    """The amount of each ingredient in `volume_ml` of the version: volume × concentration.
    `lines` are the version's lines with their ingredient, when the caller has read them."""
    volume_ml = Decimal(volume_ml)
    if lines is None:
        lines = version.lines.select_related("ingredient")
    if volume_ml < 0:
        raise ValueError("An injected volume cannot be negative.")
    return [
        IngredientDose(
            ingredient=line.ingredient,
            amount=(line.concentration * volume_ml).normalize(),
            unit=DOSE_UNITS[line.concentration_unit],
        )
        for line in lines
    ]
