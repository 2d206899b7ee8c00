"""A checked-in session of a patient cleared today, with a dutasteride formulation and its lots:
shared by the record tests (rules, views and the browser)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from formulations.models import IngredientCategory, StrengthUnit
from formulations.tests.factories import (
    FormulationVersionFactory,
    IngredientFactory,
    IngredientLineFactory,
    LotFactory,
)
from patients.models import Screening
from patients.tests.factories import (
    ScreeningRecheckFactory,
    TreatmentConsentFactory,
)
from sessions.models import SessionStatus
from sessions.tests.factories import TreatmentPlanFactory, TreatmentSessionFactory

# Monday 23 November 2026, 10:00 in London (GMT, so UTC too).
SESSION_START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SESSION_DAY = date(2026, 11, 23)
DURING_SESSION = datetime(2026, 11, 23, 10, 20, tzinfo=UTC)


@pytest.fixture
def dht_version(db):
    """Dutasteride 0.01 % w/v (0.1 mg per mL) and biotin 0.5 mg per 5 mL (0.1 mg per mL)."""
    version = FormulationVersionFactory(
        formulation__name="DHT-block record cocktail", unit_volume_ml=Decimal("1")
    )
    dutasteride = IngredientFactory(
        name="Dutasteride",
        category=IngredientCategory.FIVE_ALPHA_REDUCTASE_INHIBITOR,
        is_prescription_drug=True,
        synonyms="Avodart",
    )
    biotin = IngredientFactory(name="Biotin", category=IngredientCategory.VITAMIN)
    IngredientLineFactory(
        version=version,
        ingredient=dutasteride,
        amount=Decimal("0.01"),
        unit=StrengthUnit.PERCENT_WV,
        per_volume_ml=None,
        position=1,
    )
    IngredientLineFactory(
        version=version,
        ingredient=biotin,
        amount=Decimal("0.5"),
        unit=StrengthUnit.MG,
        per_volume_ml=Decimal("5"),
        position=2,
    )
    return version


@pytest.fixture
def course(patient, clinician, dht_version):
    return TreatmentPlanFactory(
        patient=patient, created_by=clinician, formulation_version=dht_version, number_of_sessions=2
    )


@pytest.fixture
def screened_patient(patient, clinician):
    """Screened three weeks ago and re-checked on the session's day; no consent signed yet."""
    screening = patient.screenings.get()
    Screening.objects.filter(pk=screening.pk).update(
        screened_on=date(2026, 11, 2), clinician=clinician.user
    )
    ScreeningRecheckFactory(screening=screening, checked_on=SESSION_DAY, clinician=clinician.user)
    return patient


@pytest.fixture
def cleared_patient(screened_patient, clinician, dht_version):
    """Screened, re-checked, and signed the treatment consent with the off-label statement for
    the dutasteride version."""
    TreatmentConsentFactory(
        patient=screened_patient, formulation_version=dht_version, witness=clinician.user
    )
    return screened_patient


@pytest.fixture
def checked_in(cleared_patient, clinician, room, course):
    """Session 1 of 2, the patient checked in."""
    return TreatmentSessionFactory(
        patient=cleared_patient,
        clinician=clinician,
        room=room,
        plan=course,
        sequence=1,
        starts_at=SESSION_START,
        status=SessionStatus.CHECKED_IN,
        checked_in_at=SESSION_START,
    )


@pytest.fixture
def lot(dht_version):
    return LotFactory(
        version=dht_version,
        lot_number="DHT-7001",
        quantity_received=10,
        quantity_remaining=10,
    )
