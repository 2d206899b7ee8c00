"""Strengths and doses. A strength is a ratio (amount per volume, or % w/v); for comparison and dose
arithmetic it is normalised to one canonical concentration per kind of quantity:
mass -> mg/mL, international units -> IU/mL. 1 % w/v = 1 g / 100 mL = 10 mg/mL."""

from dataclasses import dataclass
from decimal import Decimal

from .models import ConcentrationUnit, StrengthUnit

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
