"""Every change to a formulation version goes through here: drafts are built and edited, then
published (frozen), retired, or copied into a new draft. The model and queryset guards in
models.py and a PostgreSQL trigger refuse whatever slips past these functions."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clinic.refusals import FormulationRefused

from .models import (
    Formulation,
    FormulationVersion,
    FrozenVersionError,
    Ingredient,
    IngredientLine,
    StrengthUnit,
    VersionStatus,
)
from .units import normalise_strength


def _require_draft(version: FormulationVersion) -> None:
    reason = version.frozen_reason()
    if reason:
        raise FrozenVersionError(
            f"{version} is {reason}: only a draft can be edited. "
            'Use "New version from this one" to make a changed copy.'
        )


def formulation_create(*, name: str, purpose: str = "", technique_notes: str = "") -> Formulation:
    return Formulation.objects.create(name=name, purpose=purpose, technique_notes=technique_notes)


@transaction.atomic
def version_create_draft(
    *,
    formulation: Formulation,
    unit_volume_ml: Decimal,
    vehicle: str = "",
    instructions: str = "",
    change_note: str = "",
) -> FormulationVersion:
    # Lock the formulation so two admins starting drafts at once get different numbers.
    Formulation.objects.select_for_update().get(pk=formulation.pk)
    last = formulation.versions.aggregate(n=Max("number"))["n"] or 0
    version = FormulationVersion(
        formulation=formulation,
        number=last + 1,
        unit_volume_ml=unit_volume_ml,
        vehicle=vehicle,
        instructions=instructions,
        change_note=change_note,
    )
    version.full_clean()
    version.save()
    return version


def version_update_draft(
    *,
    version: FormulationVersion,
    unit_volume_ml: Decimal,
    vehicle: str,
    instructions: str,
    change_note: str,
) -> FormulationVersion:
    _require_draft(version)
    version.unit_volume_ml = unit_volume_ml
    version.vehicle = vehicle
    version.instructions = instructions
    version.change_note = change_note
    version.full_clean()
    version.save(update_fields=["unit_volume_ml", "vehicle", "instructions", "change_note"])
    return version


@transaction.atomic
def version_publish(*, version: FormulationVersion, by, now=None) -> FormulationVersion:
    version = FormulationVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != VersionStatus.DRAFT:
        raise FrozenVersionError(f"{version} is already {version.get_status_display().lower()}.")
    if not version.lines.exists():
        raise FrozenVersionError(
            f"{version} has no ingredients yet: add every ingredient before publishing."
        )
    version.status = VersionStatus.PUBLISHED
    version.published_at = now or timezone.now()
    version.published_by = by
    version.save(update_fields=["status", "published_at", "published_by"])
    return version


@transaction.atomic
def version_retire(*, version: FormulationVersion, now=None) -> FormulationVersion:
    """Stop offering a published version for new sessions; its record stays as it was."""
    version = FormulationVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != VersionStatus.PUBLISHED:
        raise FrozenVersionError(
            f"Only a published version can be retired; {version} is "
            f"{version.get_status_display().lower()}."
        )
    version.status = VersionStatus.RETIRED
    version.retired_at = now or timezone.now()
    version.save(update_fields=["status", "retired_at"])
    return version


@transaction.atomic
def version_new_from(*, version: FormulationVersion, change_note: str = "") -> FormulationVersion:
    """A new draft that copies every line of `version`, to be changed and published in its place."""
    draft = version_create_draft(
        formulation=version.formulation,
        unit_volume_ml=version.unit_volume_ml,
        vehicle=version.vehicle,
        instructions=version.instructions,
        change_note=change_note,
    )
    draft.based_on = version
    draft.save(update_fields=["based_on"])
    for line in version.lines.all():
        IngredientLine(
            version=draft,
            ingredient_id=line.ingredient_id,
            amount=line.amount,
            unit=line.unit,
            per_volume_ml=line.per_volume_ml,
            position=line.position,
        ).save()
    return draft


def version_delete_draft(*, version: FormulationVersion) -> None:
    _require_draft(version)
    with transaction.atomic():
        version.lines.all().delete()
        version.delete()


def line_add(
    *,
    version: FormulationVersion,
    ingredient: Ingredient,
    amount: Decimal,
    unit: StrengthUnit,
    per_volume_ml: Decimal | None,
) -> IngredientLine:
    _require_draft(version)
    position = (version.lines.aggregate(p=Max("position"))["p"] or 0) + 1
    line = IngredientLine(
        version=version,
        ingredient=ingredient,
        amount=amount,
        unit=unit,
        per_volume_ml=per_volume_ml,
        position=position,
    )
    _validate_line(line)
    line.save()
    return line


def line_change(
    *,
    line: IngredientLine,
    ingredient: Ingredient,
    amount: Decimal,
    unit: StrengthUnit,
    per_volume_ml: Decimal | None,
) -> IngredientLine:
    _require_draft(line.version)
    line.ingredient = ingredient
    line.amount = amount
    line.unit = unit
    line.per_volume_ml = per_volume_ml
    _validate_line(line)
    line.save()
    return line


def line_remove(*, line: IngredientLine) -> None:
    _require_draft(line.version)
    line.delete()


def _validate_line(line: IngredientLine) -> None:

    try:
        strength = normalise_strength(
            amount=line.amount, unit=line.unit, per_volume_ml=line.per_volume_ml
        )
    except ValueError as exc:
        raise FormulationRefused("validate_line", str(exc), field="per_volume_ml") from exc
    line.concentration, line.concentration_unit = strength.value, strength.unit
    line.full_clean()
