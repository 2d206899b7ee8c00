"""What was injected: Substance (an ingredient), Medication (a formulation version, and each lot of
it with batch.lotNumber and expiry) and MedicationAdministration (one zone's injection).

A version is one Medication; each lot is a Medication of its own, with the same ingredients, since
R4 gives a Medication at most one batch. An administration names the lot when its record used
exactly one, else the version (the record's lots are then on the Procedure).
"""

from __future__ import annotations

from decimal import Decimal

from formulations.models import (
    FormulationVersion,
    Ingredient,
    IngredientCategory,
    IngredientLine,
    Lot,
    LotStatus,
    StrengthUnit,
    VersionStatus,
)
from formulations.units import IngredientDose, decimal_text, ingredient_doses
from sessions.models import Injection, SessionRecord

from .codes import (
    FORMULATION_VERSION,
    INGREDIENT,
    INGREDIENT_CATEGORY,
    INTRADERMAL,
    STRENGTH_UCUM,
    TECHNIQUE,
    concept,
    zone_concept,
)
from .fhir_base import build, day, drop_empty, fhir_id, instant, meta, quantity, reference
from .fhir_patient import patient_reference, practitioner_reference

INGREDIENT_PREFIX = "ingredient"
VERSION = "version"
LOT = "lot"
INJECTION = "injection"


def substance_reference(ingredient: Ingredient) -> dict:
    return reference("Substance", INGREDIENT_PREFIX, ingredient.pk, ingredient.name)


def version_medication_reference(version: FormulationVersion) -> dict:
    return reference("Medication", VERSION, version.pk, str(version))


def lot_medication_reference(lot: Lot) -> dict:
    return reference("Medication", LOT, lot.pk, f"{lot.version} lot {lot.lot_number}")


def substance_resource(ingredient: Ingredient) -> dict:
    description = ingredient.get_category_display()
    if ingredient.is_prescription_drug:
        description += "; prescription-only medicine"
    data = {
        "id": fhir_id(INGREDIENT_PREFIX, ingredient.pk),
        "meta": meta(ingredient),
        "status": "active",
        "category": [
            concept(INGREDIENT_CATEGORY, ingredient.category, ingredient.get_category_display())
        ],
        "code": concept(INGREDIENT, str(ingredient.pk), ingredient.name, text=ingredient.name),
        "description": description,
    }
    return build("Substance", drop_empty(data))


def strength_ratio(line: IngredientLine) -> dict:
    """The strength as entered, as a Ratio: 0.1 mg / 1 mL stays 0.1 mg / 1 mL; % w/v is grams per
    100 mL (1 % w/v = 1 g / 100 mL = 10 mg/mL)."""
    if line.unit == StrengthUnit.PERCENT_WV:
        return {
            "numerator": quantity(line.amount, unit="g"),
            "denominator": quantity(Decimal(100), unit="mL"),
        }
    code, unit = STRENGTH_UCUM[line.unit]
    return {
        "numerator": quantity(line.amount, unit=unit, code=code),
        "denominator": quantity(line.per_volume_ml, unit="mL"),
    }


def _medication(version: FormulationVersion, **extra) -> dict:
    lines = list(version.lines.all())
    data = {
        "code": concept(FORMULATION_VERSION, str(version.pk), str(version), text=str(version)),
        "status": "inactive" if version.status == VersionStatus.RETIRED else "active",
        "form": {"text": "Solution for intradermal injection"},
        "amount": {
            "numerator": quantity(version.unit_volume_ml, unit="mL"),
            "denominator": {"value": 1, "unit": "vial or ampoule"},
        },
        "ingredient": [
            {
                "itemReference": substance_reference(line.ingredient),
                "isActive": line.ingredient.category != IngredientCategory.VEHICLE,
                "strength": strength_ratio(line),
            }
            for line in lines
        ],
        **extra,
    }
    return data


def version_medication_resource(version: FormulationVersion) -> dict:
    data = {
        "id": fhir_id(VERSION, version.pk),
        "meta": meta(version, version.published_at, version.created_at),
        **_medication(version),
    }
    return build("Medication", drop_empty(data))


def lot_medication_resource(lot: Lot) -> dict:
    data = {
        "id": fhir_id(LOT, lot.pk),
        "meta": meta(lot),
        **_medication(
            lot.version,
            manufacturer={"display": lot.supplier},
            batch={"lotNumber": lot.lot_number, "expirationDate": day(lot.expires_on)},
        ),
    }
    if lot.status != LotStatus.AVAILABLE:
        # A recalled or quarantined lot must not be given again.
        data["status"] = "inactive"
    return build("Medication", drop_empty(data))


def doses_per_ml(version: FormulationVersion) -> list[IngredientDose]:
    """The amount of each ingredient in 1 mL of the version; an injection's dose is this times
    its volume. Computed once per version, not once per injection."""
    return ingredient_doses(version=version, volume_ml=Decimal(1))


def injection_dose_text(injection: Injection, per_ml: list[IngredientDose]) -> str:
    amounts = "; ".join(
        f"{d.ingredient.name} {decimal_text(d.amount * injection.volume_ml)} {d.unit}"
        for d in per_ml
    )
    return f"{decimal_text(injection.volume_ml)} mL into {injection.get_zone_display()} ({amounts})"


def medication_administration_resource(
    injection: Injection, *, record: SessionRecord, lot_uses: list, per_ml: list[IngredientDose]
) -> dict:
    session = record.session
    medication = (
        lot_medication_reference(lot_uses[0].lot)
        if len(lot_uses) == 1
        else version_medication_reference(record.formulation_version)
    )
    how = [
        f"depth {decimal_text(injection.depth_mm)} mm",
        injection.get_device_display(),
        f"{injection.injection_points} injection points",
    ]
    if injection.needle_gauge:
        how.insert(2, f"{injection.needle_gauge} G needle")
    data = {
        "id": fhir_id(INJECTION, injection.pk),
        "meta": meta(injection, record.signed_at),
        "status": "completed",
        "medicationReference": medication,
        "subject": patient_reference(session.patient),
        "effectivePeriod": {"start": instant(session.starts_at), "end": instant(session.ends_at)},
        "performer": [{"actor": practitioner_reference(record.clinician)}],
        "partOf": [reference("Procedure", "record", record.pk)],
        "note": [{"text": ", ".join(how)}],
        "dosage": {
            "text": injection_dose_text(injection, per_ml),
            "site": zone_concept(injection.zone),
            "route": concept(*INTRADERMAL),
            "method": concept(TECHNIQUE, injection.technique, injection.get_technique_display()),
            "dose": quantity(injection.volume_ml, unit="mL"),
        },
    }
    return build("MedicationAdministration", drop_empty(data))
