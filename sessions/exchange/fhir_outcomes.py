"""Outcomes as Observation: one per measure taken, at its scalp zone, with the method; the pain
score of each signed session as LOINC 72514-3. The hair measures have no LOINC code yet (there is
no core outcome set for pattern hair loss, DOMAIN.md), so they use the local outcome-measure
system."""

from __future__ import annotations

from dataclasses import dataclass

from patients.models import OutcomeMeasurement
from sessions.models import SessionRecord

from .codes import (
    BASELINE_EXTENSION,
    HL7,
    MEASUREMENT_METHOD,
    OUTCOME_MEASURE,
    PAIN_SCORE,
    concept,
    zone_concept,
)
from .fhir_base import build, day, decimal, drop_empty, fhir_id, instant, meta, quantity, reference
from .fhir_patient import patient_reference, practitioner_reference, user_reference

OUTCOME = "outcome"
PAIN = "pain"

# A pull test is positive when more than 10 % of about 50 hairs come out (DOMAIN.md).
PULL_TEST_OUT_OF = 50
PULL_TEST_POSITIVE_ABOVE = 5


@dataclass(frozen=True)
class Measure:
    field: str
    code: str
    display: str
    unit: str | None  # UCUM; None for a score (valueInteger)
    method: tuple[str, str]
    category: str = "exam"


TRICHOSCOPY = ("trichoscopy", "Trichoscopy / phototrichogram")
MEASURES = (
    Measure("density_per_cm2", "hair-density", "Hair density (hairs/cm²)", "/cm2", TRICHOSCOPY),
    Measure("shaft_diameter_um", "shaft-diameter", "Hair shaft diameter (µm)", "um", TRICHOSCOPY),
    Measure(
        "terminal_vellus_ratio", "terminal-vellus-ratio", "Terminal:vellus ratio", "1", TRICHOSCOPY
    ),
    Measure("anagen_percent", "anagen-percent", "Anagen hairs (%)", "%", TRICHOSCOPY),
    Measure(
        "pull_test_hairs",
        "pull-test",
        f"Pull test (hairs out of ~{PULL_TEST_OUT_OF})",
        None,
        ("pull-test", "Hair pull test"),
    ),
    Measure(
        "global_assessment",
        "global-photographic-assessment",
        "Global photographic assessment (−3 very much worse … +3 very much better)",
        None,
        ("standardised-photographs", "Standardised photographs"),
    ),
    Measure(
        "self_assessment",
        "patient-self-assessment",
        "Patient self-assessment (−3 … +3)",
        None,
        ("patient-reported", "Patient reported"),
        category="survey",
    ),
)


def _category(code: str) -> list[dict]:
    display = {"exam": "Exam", "survey": "Survey"}[code]
    return [concept(f"{HL7}/observation-category", code, display)]


def outcome_observations(measurement: OutcomeMeasurement) -> list[dict]:
    """One Observation for each measure recorded in the measurement; empty ones are skipped."""
    resources = []
    for measure in MEASURES:
        value = getattr(measurement, measure.field)
        if value is None:
            continue
        data = {
            "id": f"{fhir_id(OUTCOME, measurement.pk)}-{measure.code}",
            "meta": meta(measurement, measurement.created_at),
            "extension": [{"url": BASELINE_EXTENSION, "valueBoolean": measurement.is_baseline}],
            "status": "final",
            "category": _category(measure.category),
            "code": concept(OUTCOME_MEASURE, measure.code, measure.display, text=measure.display),
            "subject": patient_reference(measurement.patient),
            "effectiveDateTime": day(measurement.measured_on),
            "issued": instant(measurement.created_at),
            "performer": [user_reference(measurement.recorded_by)],
            "bodySite": zone_concept(measurement.zone),
            "method": concept(MEASUREMENT_METHOD, *measure.method),
            "note": [{"text": measurement.notes}] if measurement.notes else [],
        }
        if measure.unit is None:
            data["valueInteger"] = value
        else:
            data["valueQuantity"] = quantity(decimal(value), unit=measure.unit)
        if measure.field == "pull_test_hairs":
            positive = value > PULL_TEST_POSITIVE_ABOVE
            data["interpretation"] = [
                concept(
                    f"{HL7}/v3-ObservationInterpretation",
                    "POS" if positive else "NEG",
                    "Positive" if positive else "Negative",
                )
            ]
        resources.append(build("Observation", drop_empty(data)))
    return resources


def pain_observation(record: SessionRecord) -> dict | None:
    if record.pain_score is None:
        return None
    data = {
        "id": fhir_id(PAIN, record.pk),
        "meta": meta(record, record.signed_at),
        "status": "final",
        "category": _category("survey"),
        "code": concept(*PAIN_SCORE, text="Pain during the session (0–10)"),
        "subject": patient_reference(record.session.patient),
        "partOf": [reference("Procedure", "record", record.pk)],
        "effectiveDateTime": instant(record.session.starts_at),
        "performer": [practitioner_reference(record.clinician)],
        "valueInteger": record.pain_score,
    }
    return build("Observation", drop_empty(data))
