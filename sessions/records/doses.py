"""A patient's cumulative dose per ingredient (issue 6, "Dose"): over every SIGNED session
record, the volume injected × the strength of the version used. Unsigned records are drafts and
count for nothing until signed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum

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
    """Totals per ingredient (and unit), sorted by ingredient name. One query, whatever the
    number of sessions and versions: each line (with its ingredient) of every version the
    patient was signed for, beside that version's signed volume and number of records."""
    signed = Injection.objects.filter(
        record__session__patient=patient, record__signed_at__isnull=False
    )
    of_version = (
        signed.filter(record__formulation_version=OuterRef("version"))
        .values("record__formulation_version")
        .order_by()
    )
    lines = (
        IngredientLine.objects.filter(version__in=signed.values("record__formulation_version"))
        .select_related("ingredient")
        .annotate(
            volume=Subquery(of_version.annotate(v=Sum("volume_ml")).values("v")),
            records=Subquery(
                of_version.annotate(n=Count("record", distinct=True)).values("n"),
                output_field=IntegerField(),
            ),
        )
        .order_by("version_id", "pk")
    )
    totals: dict[tuple[int, str], list] = {}
    for line in lines:
        for dose in ingredient_doses(version=None, volume_ml=line.volume, lines=[line]):
            key = (dose.ingredient.pk, dose.unit)
            entry = totals.setdefault(key, [dose.ingredient, Decimal(0), 0])
            entry[1] += dose.amount
            entry[2] += line.records
    return sorted(
        (
            CumulativeDose(ingredient=ing, amount=amount.normalize(), unit=unit, sessions=n)
            for (_, unit), (ing, amount, n) in totals.items()
        ),
        key=lambda dose: dose.ingredient.name,
    )
