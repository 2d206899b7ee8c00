"""The demo clinic's whole record as FHIR: every resource of every patient's `$everything` Bundle
validates against the official R4 JSON schema and parses in fhir.resources; every reference
resolves inside its Bundle; an invalid value fails the validator."""

import copy
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from clinic.models import Clinic
from patients.models import Patient
from sessions.exchange.bundle import patient_everything, references_in
from sessions.exchange.tests.fhir_schema import schema_errors

# Wednesday 25 November 2026, 08:00 in London.
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BASE = "http://clinic.test/fhir"


@pytest.fixture
def demo_bundles(db):
    """Every patient's $everything of the demo clinic, as `make run` seeds it (one seeding for
    all the checks: it is the slow part)."""
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--force", stdout=io.StringIO())
        clinic = Clinic.current()
        return [
            patient_everything(patient=p, clinic=clinic, base_url=BASE, now=NOW)
            for p in Patient.objects.order_by("pk")
        ]


def resources(bundles):
    return [entry["resource"] for bundle in bundles for entry in bundle["entry"]]


def test_the_demo_clinic_exports_valid_r4_with_every_reference_resolved(demo_bundles):
    # given every resource of every demo patient's Bundle
    everything = resources(demo_bundles)

    # then each validates against the official R4 schema ...
    errors = [error for bundle in demo_bundles for error in schema_errors(bundle)]
    assert errors == []
    # ... and parses in fhir.resources to the same JSON, with its last update stamped
    for resource in everything:
        parsed = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert parsed.model_dump(mode="json") == resource
        assert resource.get("meta", {}).get("lastUpdated"), (
            resource["resourceType"],
            resource["id"],
        )
    # ... every reference names an entry of the same Bundle, at its fullUrl
    for bundle in demo_bundles:
        present = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
        for entry in bundle["entry"]:
            resource = entry["resource"]
            assert entry["fullUrl"] == f"{BASE}/{resource['resourceType']}/{resource['id']}"
            assert set(references_in(resource)) - present == set(), resource["id"]
    # ... and the demo exercises every resource family the export maps
    assert {r["resourceType"] for r in everything} == {
        "Patient",
        "Practitioner",
        "Organization",
        "Location",
        "Condition",
        "CarePlan",
        "Appointment",
        "Procedure",
        "Medication",
        "MedicationAdministration",
        "Substance",
        "AllergyIntolerance",
        "Questionnaire",
        "QuestionnaireResponse",
        "Consent",
        "Observation",
        "AdverseEvent",
    }
    # An unknown status fails the schema, so the check above can bite. fhir.resources checks
    # structure and types but not required code bindings: an impossible date fails it.
    appointment = next(r for r in everything if r["resourceType"] == "Appointment")
    unknown_status = {**copy.deepcopy(appointment), "status": "postponed"}
    assert [e.split(": ")[0] for e in schema_errors(unknown_status)] == [
        f"Appointment/{appointment['id']} status"
    ]
    with pytest.raises(ValidationError):
        get_fhir_model_class("Appointment").model_validate(
            {**appointment, "start": "2026-13-01T10:00:00Z"}
        )
