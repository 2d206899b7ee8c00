"""The patient ingredient sheet's content, shared by the staff page and the patient's own link
(sessions/link_views.py), so both always show the same words."""

from clinic.models import Clinic

from .models import FormulationVersion
from .units import strength_in_words


def ingredient_sheet_context(*, version: FormulationVersion) -> dict:
    """Template context for formulations/sheet.html."""
    lines = list(version.lines.select_related("ingredient"))
    for line in lines:
        line.words = strength_in_words(
            amount=line.amount, unit=line.unit, per_volume_ml=line.per_volume_ml
        )
    return {
        "version": version,
        "lines": lines,
        "has_prescription_drug": any(line.ingredient.is_prescription_drug for line in lines),
        "sheet_clinic": Clinic.current(),
    }
