from decimal import Decimal

import pytest

from formulations.models import ConcentrationUnit, StrengthUnit
from formulations.tests.factories import (
    FormulationVersionFactory,
    IngredientFactory,
    IngredientLineFactory,
)
from formulations.units import ingredient_doses, normalise_strength, strength_in_words

D = Decimal


@pytest.mark.parametrize(
    ("amount", "unit", "per_volume_ml", "expected", "canonical_unit"),
    [
        (D("1"), StrengthUnit.PERCENT_WV, None, D("10"), ConcentrationUnit.MG_PER_ML),
        (D("0.01"), StrengthUnit.PERCENT_WV, None, D("0.1"), ConcentrationUnit.MG_PER_ML),
        (D("0.1"), StrengthUnit.MG, D("1"), D("0.1"), ConcentrationUnit.MG_PER_ML),
        (D("5"), StrengthUnit.MG, D("2"), D("2.5"), ConcentrationUnit.MG_PER_ML),
        (D("500"), StrengthUnit.MICROGRAM, D("2"), D("0.25"), ConcentrationUnit.MG_PER_ML),
        (D("1"), StrengthUnit.G, D("100"), D("10"), ConcentrationUnit.MG_PER_ML),
        (D("1000"), StrengthUnit.IU, D("2"), D("500"), ConcentrationUnit.IU_PER_ML),
    ],
)
def test_strengths_normalise_to_one_canonical_concentration(
    amount, unit, per_volume_ml, expected, canonical_unit
):
    strength = normalise_strength(amount=amount, unit=unit, per_volume_ml=per_volume_ml)
    assert strength.value == expected
    assert strength.unit == canonical_unit


def test_one_percent_w_v_equals_1_g_in_100_ml():
    percent = normalise_strength(amount=D("1"), unit=StrengthUnit.PERCENT_WV, per_volume_ml=None)
    ratio = normalise_strength(amount=D("1"), unit=StrengthUnit.G, per_volume_ml=D("100"))
    assert percent == ratio


def test_an_amount_without_its_volume_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="needs the volume"):
        normalise_strength(amount=D("1"), unit=StrengthUnit.MG, per_volume_ml=None)


def test_a_percentage_with_a_separate_volume_is_refused():
    with pytest.raises(ValueError, match="no separate volume"):
        normalise_strength(amount=D("1"), unit=StrengthUnit.PERCENT_WV, per_volume_ml=D("1"))


@pytest.mark.parametrize(
    ("amount", "unit", "per_volume_ml", "words"),
    [
        (D("0.01"), StrengthUnit.PERCENT_WV, None, "0.1 mg in every 1 mL (0.01 %)"),
        (D("5"), StrengthUnit.MG, D("2"), "5 mg in every 2 mL (0.25 %)"),
        (D("50"), StrengthUnit.MICROGRAM, D("1"), "50 micrograms in every 1 mL (0.005 %)"),
        (D("1000"), StrengthUnit.IU, D("2"), "1000 IU (international units) in every 2 mL"),
    ],
)
def test_strengths_read_in_words_a_patient_understands(amount, unit, per_volume_ml, words):
    assert strength_in_words(amount=amount, unit=unit, per_volume_ml=per_volume_ml) == words


@pytest.mark.django_db
def test_dutasteride_0_01_percent_times_1_ml_is_0_1_mg():
    # given: the published protocol, 0.01 % w/v (Saceda-Corralo 2017)
    line = IngredientLineFactory(
        ingredient=IngredientFactory(name="Dutasteride"),
        amount=D("0.01"),
        unit=StrengthUnit.PERCENT_WV,
        per_volume_ml=None,
    )
    # when
    [dose] = ingredient_doses(version=line.version, volume_ml=D("1"))
    # then
    assert (dose.ingredient.name, dose.amount, dose.unit) == ("Dutasteride", D("0.1"), "mg")
    assert str(dose) == "Dutasteride: 0.1 mg"


@pytest.mark.django_db
def test_doses_cover_every_ingredient_with_its_unit():
    version = FormulationVersionFactory()
    IngredientLineFactory(
        version=version,
        ingredient=IngredientFactory(name="Biotin"),
        amount=D("0.5"),
        unit=StrengthUnit.MG,
        per_volume_ml=D("5"),
    )
    IngredientLineFactory(
        version=version,
        ingredient=IngredientFactory(name="Growth factor"),
        amount=D("1000"),
        unit=StrengthUnit.IU,
        per_volume_ml=D("5"),
    )
    doses = {
        d.ingredient.name: (d.amount, d.unit)
        for d in ingredient_doses(version=version, volume_ml=D("2"))
    }
    # 0.5 mg / 5 mL × 2 mL = 0.2 mg; 1000 IU / 5 mL × 2 mL = 400 IU
    assert doses == {"Biotin": (D("0.2"), "mg"), "Growth factor": (D("400"), "IU")}


@pytest.mark.django_db
def test_a_negative_volume_has_no_dose(published_version):
    with pytest.raises(ValueError, match="negative"):
        ingredient_doses(version=published_version, volume_ml=D("-1"))
