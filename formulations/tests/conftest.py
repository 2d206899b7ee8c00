from decimal import Decimal

import pytest

from formulations.models import StrengthUnit, VersionStatus
from formulations.tests.factories import (
    FormulationVersionFactory,
    IngredientFactory,
    IngredientLineFactory,
)
from sessions.tests.factories import SessionRecordFactory


@pytest.fixture
def dutasteride(db):
    return IngredientFactory(
        name="Dutasteride",
        category="5ari",
        is_prescription_drug=True,
        synonyms="Avodart",
        known_side_effects="Rarely reduced libido.",
    )


@pytest.fixture
def draft_version(db, dutasteride):
    version = FormulationVersionFactory(status=VersionStatus.DRAFT, unit_volume_ml=Decimal("1"))
    IngredientLineFactory(
        version=version,
        ingredient=dutasteride,
        amount=Decimal("0.01"),
        unit=StrengthUnit.PERCENT_WV,
        per_volume_ml=None,
    )
    return version


@pytest.fixture
def published_version(db, dutasteride):
    version = FormulationVersionFactory(status=VersionStatus.PUBLISHED, unit_volume_ml=Decimal("1"))
    IngredientLineFactory(
        version=version,
        ingredient=dutasteride,
        amount=Decimal("0.01"),
        unit=StrengthUnit.PERCENT_WV,
        per_volume_ml=None,
    )
    return version


@pytest.fixture
def used_version(published_version):
    SessionRecordFactory(formulation_version=published_version)
    return published_version
