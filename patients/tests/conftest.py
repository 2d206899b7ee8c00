from decimal import Decimal

import pytest

from formulations.models import IngredientCategory
from formulations.tests.factories import (
    FormulationVersionFactory,
    IngredientFactory,
    IngredientLineFactory,
)


@pytest.fixture
def dht_version(db):
    """A published version containing dutasteride (a 5-ARI and a prescription drug) and biotin."""
    version = FormulationVersionFactory(formulation__name="DHT-block test cocktail")
    dutasteride = IngredientFactory(
        name="Dutasteride",
        category=IngredientCategory.FIVE_ALPHA_REDUCTASE_INHIBITOR,
        is_prescription_drug=True,
        synonyms="Avodart\nGI198745",
    )
    biotin = IngredientFactory(
        name="Biotin", category=IngredientCategory.VITAMIN, synonyms="Vitamin B7"
    )
    IngredientLineFactory(
        version=version,
        ingredient=dutasteride,
        amount=Decimal("0.01"),
        unit="%w/v",
        per_volume_ml=None,
    )
    IngredientLineFactory(version=version, ingredient=biotin, amount=Decimal("5"))
    return version


@pytest.fixture
def vitamin_version(db):
    """A version with no drug and no 5-ARI: hyaluronic acid and biotin."""
    version = FormulationVersionFactory(formulation__name="Vitamin test cocktail")
    hyaluronic = IngredientFactory(
        name="Hyaluronic acid", category=IngredientCategory.HYALURONIC_ACID
    )
    biotin = IngredientFactory(
        name="Biotin", category=IngredientCategory.VITAMIN, synonyms="Vitamin B7"
    )
    IngredientLineFactory(version=version, ingredient=hyaluronic)
    IngredientLineFactory(version=version, ingredient=biotin, amount=Decimal("5"))
    return version


@pytest.fixture
def patients_reference_data(db):
    """Reload what patients' data migration made, after a transactional test flushed it."""
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    migration = import_module("patients.migrations.0003_screening_rules_consent_texts_roles")
    migration.load_reference_rows(apps)
    import_module(
        "patients.migrations.0005_photography_consent_outcome_permissions"
    ).load_reference_rows(apps)
    import_module("patients.migrations.0009_photo_protocol").load_reference_rows(apps)
    for group_name, perms in migration.ROLE_GRANTS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        codenames = [perm.split(".")[1] for perm in perms]
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="patients", codename__in=codenames)
        )
