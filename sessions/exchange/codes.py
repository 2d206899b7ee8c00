"""The code systems the FHIR export uses. A standard system where a code exists (ICD-10, SNOMED CT,
LOINC, UCUM, HL7 terminology); Mesotrack's own systems for what no standard names yet (scalp zones
without a SNOMED CT concept, the outcome measures, adverse event types, formulation versions).

Local systems are URIs under LOCAL: names, not addresses anybody fetches.
"""

from formulations.models import StrengthUnit
from patients.models import ScalpZone

ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
HL7 = "http://terminology.hl7.org/CodeSystem"

LOCAL = "urn:mesotrack:fhir"


def local_system(name: str) -> str:
    return f"{LOCAL}:CodeSystem:{name}"


def local_extension(name: str) -> str:
    return f"{LOCAL}:StructureDefinition:{name}"


def local_identifier(name: str) -> str:
    return f"{LOCAL}:identifier:{name}"


SCALP_ZONE = local_system("scalp-zone")
SCALE = local_system("severity-scale")
PROCEDURE = local_system("procedure")
TECHNIQUE = local_system("injection-technique")
FORMULATION_VERSION = local_system("formulation-version")
INGREDIENT = local_system("ingredient")
INGREDIENT_CATEGORY = local_system("ingredient-category")
OUTCOME_MEASURE = local_system("outcome-measure")
MEASUREMENT_METHOD = local_system("measurement-method")
ADVERSE_EVENT_TYPE = local_system("adverse-event-type")
CAUSALITY = local_system("causality")
SESSION_KIND = local_system("session-kind")
CONSENT_KIND = local_system("consent-kind")

CTCAE_GRADE_EXTENSION = local_extension("ctcae-grade")
BASELINE_EXTENSION = local_extension("baseline-measurement")

# SNOMED CT body structures for the zones that have one (41695006 |Scalp structure| covers the
# whole scalp; 181486008 |Occipital region of scalp|). The other zones are named by no concept of
# their own, so they carry the local code only: a broader SNOMED code beside it would claim a
# different meaning.
SCALP = (SNOMED, "41695006", "Scalp structure")
ZONE_SNOMED = {
    ScalpZone.OCCIPITAL: ("181486008", "Occipital region of scalp"),
}

# 372464004 |Intradermal route|: mesotherapy injects into the dermis (DOMAIN.md, 1–4 mm).
INTRADERMAL = (SNOMED, "372464004", "Intradermal route")
# LOINC 59284-0 "Consent Document"; 72514-3 pain severity 0–10 numeric rating, reported.
CONSENT_DOCUMENT = (LOINC, "59284-0", "Consent Document")
PAIN_SCORE = (LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")

# UCUM for the amount units of an ingredient line. % w/v is 1 g per 100 mL.
STRENGTH_UCUM = {
    StrengthUnit.MG: ("mg", "mg"),
    StrengthUnit.MICROGRAM: ("ug", "µg"),
    StrengthUnit.G: ("g", "g"),
    StrengthUnit.IU: ("[iU]", "IU"),
}


def coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def concept(system: str, code: str, display: str | None = None, *, text: str = "") -> dict:
    return {"coding": [coding(system, code, display)], **({"text": text} if text else {})}


def zone_concept(zone: str) -> dict:
    """A scalp zone as a body site: SNOMED CT where a concept exists, the local code always."""
    label = ScalpZone(zone).label
    codings = [coding(SCALP_ZONE, zone, label)]
    if zone in ZONE_SNOMED:
        code, display = ZONE_SNOMED[zone]
        codings.insert(0, coding(SNOMED, code, display))
    return {"coding": codings, "text": label}
