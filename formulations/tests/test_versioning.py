from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from formulations import versioning
from formulations.models import (
    FormulationVersion,
    FrozenVersionError,
    IngredientLine,
    StrengthUnit,
    VersionStatus,
)
from formulations.tests.factories import (
    FormulationFactory,
    FormulationVersionFactory,
    IngredientFactory,
)

D = Decimal
pytestmark = pytest.mark.django_db


def test_drafts_are_numbered_one_after_the_other():
    formulation = FormulationFactory()
    first = versioning.version_create_draft(formulation=formulation, unit_volume_ml=D("5"))
    second = versioning.version_create_draft(formulation=formulation, unit_volume_ml=D("5"))
    assert (first.number, second.number) == (1, 2)
    assert first.status == second.status == VersionStatus.DRAFT


def test_a_line_added_to_a_draft_gets_its_canonical_concentration(draft_version):
    line = versioning.line_add(
        version=draft_version,
        ingredient=IngredientFactory(name="Biotin"),
        amount=D("500"),
        unit=StrengthUnit.MICROGRAM,
        per_volume_ml=D("2"),
    )
    line.refresh_from_db()
    assert (line.concentration, line.concentration_unit) == (D("0.25"), "mg/mL")


def test_the_same_ingredient_cannot_be_listed_twice(draft_version, dutasteride):
    with pytest.raises(Exception, match="already listed"):
        versioning.line_add(
            version=draft_version,
            ingredient=dutasteride,
            amount=D("1"),
            unit=StrengthUnit.MG,
            per_volume_ml=D("1"),
        )


def test_publishing_freezes_the_version_and_records_who(draft_version, clinic_admin_user):
    version = versioning.version_publish(version=draft_version, by=clinic_admin_user)
    assert version.status == VersionStatus.PUBLISHED
    assert version.published_by == clinic_admin_user
    assert version.published_at is not None


def test_a_version_without_ingredients_cannot_be_published():
    empty = FormulationVersionFactory(status=VersionStatus.DRAFT)
    with pytest.raises(FrozenVersionError, match="no ingredients"):
        versioning.version_publish(version=empty, by=None)
    empty.refresh_from_db()
    assert empty.status == VersionStatus.DRAFT


def test_only_a_published_version_can_be_retired(draft_version):
    with pytest.raises(FrozenVersionError, match="Only a published version"):
        versioning.version_retire(version=draft_version)


def test_a_used_version_can_still_be_retired(used_version):
    versioning.version_retire(version=used_version)
    used_version.refresh_from_db()
    assert used_version.status == VersionStatus.RETIRED


def test_new_version_from_copies_every_line_into_a_new_draft(published_version):
    draft = versioning.version_new_from(version=published_version, change_note="Stronger")
    assert draft.status == VersionStatus.DRAFT
    assert draft.based_on == published_version
    assert draft.number == published_version.number + 1
    assert [(x.ingredient_id, x.amount, x.unit) for x in draft.lines.all()] == [
        (x.ingredient_id, x.amount, x.unit) for x in published_version.lines.all()
    ]
    # the copy is editable, the original is not
    versioning.line_change(
        line=draft.lines.get(),
        ingredient=draft.lines.get().ingredient,
        amount=D("0.02"),
        unit=StrengthUnit.PERCENT_WV,
        per_volume_ml=None,
    )
    assert published_version.lines.get().amount == D("0.01")


def test_a_draft_can_be_deleted_with_its_lines(draft_version):
    versioning.version_delete_draft(version=draft_version)
    assert not FormulationVersion.objects.filter(pk=draft_version.pk).exists()
    assert not IngredientLine.objects.filter(version_id=draft_version.pk).exists()


# Immutability: every path --------------------------------------------------------------------


@pytest.fixture(params=["published", "used"])
def frozen_version(request, published_version):
    if request.param == "used":
        return request.getfixturevalue("used_version")
    return published_version


def test_rule_functions_refuse_to_edit_a_frozen_version(frozen_version):
    with pytest.raises(FrozenVersionError, match="only a draft can be edited"):
        versioning.version_update_draft(
            version=frozen_version,
            unit_volume_ml=D("2"),
            vehicle="Saline",
            instructions="",
            change_note="",
        )
    with pytest.raises(FrozenVersionError):
        versioning.line_add(
            version=frozen_version,
            ingredient=IngredientFactory(),
            amount=D("1"),
            unit=StrengthUnit.MG,
            per_volume_ml=D("1"),
        )
    with pytest.raises(FrozenVersionError):
        versioning.line_remove(line=frozen_version.lines.get())
    with pytest.raises(FrozenVersionError):
        versioning.version_delete_draft(version=frozen_version)


def test_save_refuses_a_changed_unit_volume(frozen_version):
    frozen_version.unit_volume_ml = D("2")
    with pytest.raises(FrozenVersionError, match="can never be changed"):
        frozen_version.save()
    frozen_version.refresh_from_db()
    assert frozen_version.unit_volume_ml == D("1")


def test_save_refuses_to_set_a_frozen_version_back_to_draft(frozen_version):
    frozen_version.status = VersionStatus.DRAFT
    with pytest.raises(FrozenVersionError, match="cannot go back to draft"):
        frozen_version.save()
    assert FormulationVersion.objects.get(pk=frozen_version.pk).status == VersionStatus.PUBLISHED


def test_a_retired_version_cannot_be_published_again(published_version):
    versioning.version_retire(version=published_version)
    published_version.status = VersionStatus.PUBLISHED
    with pytest.raises(FrozenVersionError, match="cannot move from retired"):
        published_version.save()


def test_delete_refuses_a_frozen_version(frozen_version):
    with pytest.raises(FrozenVersionError):
        frozen_version.delete()
    assert FormulationVersion.objects.filter(pk=frozen_version.pk).exists()


def test_queryset_update_refuses_frozen_versions(frozen_version):
    with pytest.raises(FrozenVersionError):
        FormulationVersion.objects.filter(pk=frozen_version.pk).update(instructions="changed")
    with pytest.raises(FrozenVersionError):
        FormulationVersion.objects.filter(pk=frozen_version.pk).update(status="draft")
    assert FormulationVersion.objects.get(pk=frozen_version.pk).instructions == ""


def test_queryset_delete_refuses_frozen_versions(frozen_version):
    with pytest.raises(FrozenVersionError):
        FormulationVersion.objects.filter(pk=frozen_version.pk).delete()
    assert FormulationVersion.objects.filter(pk=frozen_version.pk).exists()


def test_queryset_update_of_drafts_only_still_works(draft_version, published_version):
    FormulationVersion.objects.filter(status="draft").update(vehicle="Saline 0.9 %")
    draft_version.refresh_from_db()
    assert draft_version.vehicle == "Saline 0.9 %"


def test_line_save_and_delete_refuse_a_frozen_version(frozen_version):
    line = frozen_version.lines.get()
    line.amount = D("0.05")
    with pytest.raises(FrozenVersionError):
        line.save()
    with pytest.raises(FrozenVersionError):
        line.delete()
    line.refresh_from_db()
    assert line.amount == D("0.01")


def test_a_line_cannot_be_moved_out_of_a_frozen_version(frozen_version, draft_version):
    line = frozen_version.lines.get()
    line.version = draft_version
    with pytest.raises(FrozenVersionError):
        line.save()


def test_a_new_line_cannot_join_a_frozen_version(frozen_version):
    line = IngredientLine(
        version=frozen_version,
        ingredient=IngredientFactory(),
        amount=D("1"),
        unit=StrengthUnit.MG,
        per_volume_ml=D("1"),
    )
    with pytest.raises(FrozenVersionError):
        line.save()
    with pytest.raises(FrozenVersionError):
        IngredientLine.objects.bulk_create([line])
    assert frozen_version.lines.count() == 1


def test_line_queryset_update_and_delete_refuse_a_frozen_version(frozen_version):
    lines = IngredientLine.objects.filter(version=frozen_version)
    with pytest.raises(FrozenVersionError):
        lines.update(amount=D("5"))
    with pytest.raises(FrozenVersionError):
        lines.delete()
    assert lines.get().amount == D("0.01")


def test_a_frozen_version_can_be_saved_unchanged(frozen_version):
    # e.g. an admin "save" with nothing changed is harmless and changes nothing
    lines = list(frozen_version.lines.values_list("ingredient_id", "amount", "unit"))

    frozen_version.save()

    frozen_version.refresh_from_db()
    assert frozen_version.frozen_reason()
    assert list(frozen_version.lines.values_list("ingredient_id", "amount", "unit")) == lines


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger is PostgreSQL-only (SQLite has none)"
)
def test_the_database_trigger_refuses_raw_sql_on_a_used_version(used_version):
    line = used_version.lines.get()
    statements = [
        (
            "UPDATE formulations_formulationversion SET unit_volume_ml = 2 WHERE id = %s",
            used_version.pk,
        ),
        (
            "UPDATE formulations_formulationversion SET status = 'draft' WHERE id = %s",
            used_version.pk,
        ),
        ("DELETE FROM formulations_formulationversion WHERE id = %s", used_version.pk),
        ("UPDATE formulations_ingredientline SET amount = 5 WHERE id = %s", line.pk),
        ("DELETE FROM formulations_ingredientline WHERE id = %s", line.pk),
    ]
    for sql, pk in statements:
        with (
            pytest.raises(IntegrityError, match="used in a session"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])
    used_version.refresh_from_db()
    assert used_version.unit_volume_ml == D("1")
    assert used_version.status == VersionStatus.PUBLISHED


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger is PostgreSQL-only (SQLite has none)"
)
def test_the_database_trigger_lets_a_used_version_be_retired(used_version):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE formulations_formulationversion SET status = 'retired' WHERE id = %s",
            [used_version.pk],
        )
    used_version.refresh_from_db()
    assert used_version.status == VersionStatus.RETIRED
