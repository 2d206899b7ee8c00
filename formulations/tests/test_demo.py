from datetime import date

import pytest
import time_machine

from clinic.demo import seed_clinic
from formulations import demo
from formulations.lots import lot_usability
from formulations.models import Formulation, FormulationVersion, Ingredient, IngredientLine, Lot
from formulations.units import ingredient_doses

pytestmark = pytest.mark.django_db


def _counts():
    return [
        m.objects.count()
        for m in (Ingredient, Formulation, FormulationVersion, IngredientLine, Lot)
    ] + [m.history.count() for m in (Ingredient, FormulationVersion, IngredientLine, Lot)]


@time_machine.travel("2026-11-22 10:00Z", tick=False)
def test_the_demo_is_idempotent():
    clinic = seed_clinic()
    demo.seed(clinic=clinic)
    before = _counts()
    demo.seed(clinic=clinic)
    assert _counts() == before


@time_machine.travel("2026-11-22 10:00Z", tick=False)
def test_the_demo_has_the_shared_ingredient_names_and_the_two_cocktails():
    demo.seed(clinic=seed_clinic())
    names = set(Ingredient.objects.values_list("name", flat=True))
    assert {
        "Dutasteride",
        "Biotin",
        "Hyaluronic acid",
        "Caffeine",
        "Amino-acid complex",
        "Peptide complex",
        "Finasteride",
        "Glutathione",
        "Copper peptide",
    } <= names
    dutasteride = Ingredient.objects.get(name="Dutasteride")
    assert dutasteride.category == "5ari" and dutasteride.is_prescription_drug
    assert "avodart" in dutasteride.all_names()

    nutrient = Formulation.objects.get(name="Nutrient scalp cocktail")
    assert list(nutrient.versions.order_by("number").values_list("status", flat=True)) == [
        "retired",
        "published",
    ]
    # Three DHT versions, each adding an ingredient, so the reports can compare versions.
    v1, v2, v3 = Formulation.objects.get(name="DHT-block scalp cocktail").versions.order_by(
        "number"
    )
    assert {v.status for v in (v1, v2, v3)} == {"published"} and v1.unit_volume_ml == 1
    [dose] = ingredient_doses(version=v1, volume_ml=v1.unit_volume_ml)
    assert (dose.ingredient.name, str(dose.amount), dose.unit) == ("Dutasteride", "0.1", "mg")
    assert [v.lines.count() for v in (v1, v2, v3)] == [1, 2, 3]


def test_the_demo_lots_stay_valid_relative_to_today():
    # given a day far from when this test was written, the demo still has usable,
    # expired and quarantined lots
    with time_machine.travel("2031-03-01 10:00Z", tick=False):
        demo.seed(clinic=seed_clinic())
        today = date(2031, 3, 1)
        results = {
            lot.lot_number: lot_usability(lot=lot, on_date=today) for lot in Lot.objects.all()
        }
    assert results["NSC-2502"] == (True, "")
    assert results["DHT-2501"] == (True, "")
    assert "expired" in results["NSC-2401"][1]
    assert "quarantined" in results["NSC-2503"][1]
