from datetime import date
from decimal import Decimal

import factory
from django.db import connection, models, transaction

from formulations.models import (
    Formulation,
    FormulationVersion,
    Ingredient,
    IngredientCategory,
    IngredientLine,
    Lot,
    StrengthUnit,
    VersionStatus,
)
from formulations.units import normalise_strength


class IngredientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ingredient
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Ingredient {n + 1}")
    category = IngredientCategory.VITAMIN


class FormulationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Formulation

    name = factory.Sequence(lambda n: f"Scalp cocktail {n + 1}")
    purpose = "Hair loss"


class FormulationVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormulationVersion

    formulation = factory.SubFactory(FormulationFactory)
    number = factory.Sequence(lambda n: n + 1)
    status = VersionStatus.PUBLISHED
    unit_volume_ml = Decimal("5.00")
    vehicle = "Sterile water for injection"


class IngredientLineFactory(factory.django.DjangoModelFactory):
    """A line whose canonical concentration is worked out as the real forms do."""

    class Meta:
        model = IngredientLine

    version = factory.SubFactory(FormulationVersionFactory)
    ingredient = factory.SubFactory(IngredientFactory)
    amount = Decimal("1")
    unit = StrengthUnit.MG
    per_volume_ml = Decimal("1")

    @factory.lazy_attribute
    def concentration(self):
        return normalise_strength(
            amount=self.amount, unit=self.unit, per_volume_ml=self.per_volume_ml
        ).value

    @factory.lazy_attribute
    def concentration_unit(self):
        return normalise_strength(
            amount=self.amount, unit=self.unit, per_volume_ml=self.per_volume_ml
        ).unit

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Fixtures put lines straight onto published versions, which the model, its manager and
        # the PostgreSQL trigger refuse (only drafts take lines). A plain QuerySet skips the
        # Django guards on purpose, and on PostgreSQL the insert runs as a restore does, with
        # triggers off for its transaction (the test database user is a superuser).
        line = model_class(*args, **kwargs)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = replica")
            created = models.QuerySet(model=model_class).bulk_create([line])[0]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = origin")
        return created


class LotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lot

    version = factory.SubFactory(FormulationVersionFactory)
    lot_number = factory.Sequence(lambda n: f"L{n + 1:05d}")
    supplier = "Acme Compounding"
    received_on = date(2026, 10, 1)
    expires_on = date(2027, 10, 1)
    quantity_received = 50
    quantity_remaining = 50
