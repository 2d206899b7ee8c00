"""Cumulative dose per ingredient over a patient's signed session records."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from formulations.models import IngredientCategory
from formulations.tests.factories import (
    FormulationVersionFactory,
    IngredientFactory,
    IngredientLineFactory,
)
from patients.tests.factories import PatientFactory
from sessions.records.doses import patient_cumulative_doses
from sessions.tests.factories import (
    InjectionFactory,
    SessionRecordFactory,
    TreatmentSessionFactory,
    signed_as_fixture,
)

SIGNED_AT = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


@pytest.fixture
def dutasteride(db):
    return IngredientFactory(
        name="Dutasteride", category=IngredientCategory.FIVE_ALPHA_REDUCTASE_INHIBITOR
    )


@pytest.fixture
def dht_version(dutasteride):
    """0.01 % w/v dutasteride (0.1 mg/mL) and biotin 5 mg per 1 mL."""
    version = FormulationVersionFactory()
    IngredientLineFactory(
        version=version,
        ingredient=dutasteride,
        amount=Decimal("0.01"),
        unit="%w/v",
        per_volume_ml=None,
    )
    IngredientLineFactory(
        version=version, ingredient=IngredientFactory(name="Biotin"), amount=Decimal("5")
    )
    return version


def _signed_record(patient, version, volumes, *, day=0, signed=True):
    session = TreatmentSessionFactory(
        patient=patient, starts_at=SIGNED_AT - timedelta(hours=1) + timedelta(days=day)
    )
    record = SessionRecordFactory(session=session, formulation_version=version)
    for zone, volume in volumes:
        InjectionFactory(record=record, zone=zone, volume_ml=Decimal(volume))
    if signed:
        signed_as_fixture(record, at=SIGNED_AT + timedelta(days=day))
    return record


def _by_name(doses):
    return {dose.ingredient.name: (dose.amount, dose.unit) for dose in doses}


def test_cumulative_dutasteride_matches_the_hand_computed_total(dht_version):
    patient = PatientFactory()
    # 1.0 + 0.5 mL, then 2.0 mL: 3.5 mL × 0.1 mg/mL = 0.35 mg dutasteride; × 5 mg/mL = 17.5 mg
    _signed_record(patient, dht_version, [("vertex", "1.00"), ("frontal", "0.50")])
    _signed_record(patient, dht_version, [("vertex", "2.00")], day=14)

    doses = _by_name(patient_cumulative_doses(patient=patient))

    assert doses["Dutasteride"] == (Decimal("0.35"), "mg")
    assert doses["Biotin"] == (Decimal("17.5"), "mg")


def test_unsigned_records_and_other_patients_do_not_count(dht_version):
    patient = PatientFactory()
    _signed_record(patient, dht_version, [("vertex", "1.00")])
    _signed_record(patient, dht_version, [("vertex", "3.00")], day=14, signed=False)
    _signed_record(PatientFactory(), dht_version, [("vertex", "5.00")])

    doses = _by_name(patient_cumulative_doses(patient=patient))

    assert doses["Dutasteride"] == (Decimal("0.1"), "mg")


def test_doses_add_up_across_versions_of_different_strength(dht_version, dutasteride):
    patient = PatientFactory()
    stronger = FormulationVersionFactory()
    IngredientLineFactory(
        version=stronger,
        ingredient=dutasteride,
        amount=Decimal("0.05"),
        unit="%w/v",
        per_volume_ml=None,
    )
    _signed_record(patient, dht_version, [("vertex", "1.00")])  # 0.1 mg
    _signed_record(patient, stronger, [("vertex", "2.00")], day=14)  # 2 mL × 0.5 mg/mL = 1 mg

    doses = _by_name(patient_cumulative_doses(patient=patient))

    assert doses["Dutasteride"] == (Decimal("1.1"), "mg")


def test_a_patient_never_treated_has_no_dose(db):
    assert patient_cumulative_doses(patient=PatientFactory()) == []


def test_the_query_count_does_not_grow_with_the_number_of_sessions(
    dht_version, django_assert_max_num_queries
):
    one, many = PatientFactory(), PatientFactory()
    _signed_record(one, dht_version, [("vertex", "1.00")])
    for day in range(50):
        _signed_record(many, dht_version, [("vertex", "1.00")], day=day)

    for patient in (one, many):
        with django_assert_max_num_queries(1):
            doses = patient_cumulative_doses(patient=patient)
        assert [d.ingredient.name for d in doses]
