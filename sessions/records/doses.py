"""A patient's cumulative dose per ingredient (issue 6, "Dose"): over every SIGNED session
record, the volume injected × the strength of the version used. Unsigned records are drafts and
count for nothing until signed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from formulations.models import IngredientLine
from formulations.units import decimal_text, ingredient_doses
from sessions.models import Injection


@dataclass(frozen=True)
class CumulativeDose:
    ingredient: object  # formulations.models.Ingredient
    amount: Decimal
    unit: str  # "mg", "µg" or "IU"
    sessions: int  # signed records that contributed

    def __str__(self):
        return f"{self.ingredient.name}: {decimal_text(self.amount)} {self.unit}"


def patient_cumulative_doses(*, patient) -> list[CumulativeDose]:
    """Totals per ingredient (and unit), sorted by ingredient name. Two queries, whatever the
    number of sessions and versions: the volumes per version, and those versions' lines."""
    per_version = (
        Injection.objects.filter(record__session__patient=patient, record__signed_at__isnull=False)
        .values("record__formulation_version")
        .annotate(volume=Sum("volume_ml"), records=Count("record", distinct=True))
        .order_by("record__formulation_version")
    )
    volumes = {
        row["record__formulation_version"]: (row["volume"], row["records"]) for row in per_version
    }
    if not volumes:
        return []
    lines_of: dict[int, list] = {pk: [] for pk in volumes}
    for line in IngredientLine.objects.filter(version__in=volumes).select_related("ingredient"):
        lines_of[line.version_id].append(line)
    totals: dict[tuple[int, str], list] = {}
    for version_pk in sorted(volumes):
        volume, records = volumes[version_pk]
        lines = lines_of[version_pk]
        for dose in ingredient_doses(version=None, volume_ml=volume, lines=lines):
            key = (dose.ingredient.pk, dose.unit)
            entry = totals.setdefault(key, [dose.ingredient, Decimal(0), 0])
            entry[1] += dose.amount
            entry[2] += records
    return sorted(
        (
            CumulativeDose(ingredient=ing, amount=amount.normalize(), unit=unit, sessions=n)
            for (_, unit), (ing, amount, n) in totals.items()
        ),
        key=lambda dose: dose.ingredient.name,
    )
