"""Address, GP and emergency contact in the FHIR export, and gone after anonymisation."""

from datetime import UTC, datetime

import pytest

from patients.models import Patient
from patients.tests.factories import PatientFactory
from sessions.exchange.data_rights import patient_anonymise
from sessions.exchange.fhir_patient import patient_resource
from sessions.exchange.tests.fhir_schema import schema_errors

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CONTACTS = {
    "address_line1": "12 Acacia Avenue",
    "town": "London",
    "postcode": "N1 9GU",
    "gp_name": "Dr Rachel Green",
    "gp_practice": "Islington Health Centre",
    "gp_phone": "+442079460123",
    "emergency_contact_name": "Tom Smith",
    "emergency_contact_relationship": "Husband",
    "emergency_contact_phone": "+447700900456",
}

pytestmark = pytest.mark.django_db


def test_the_patient_resource_carries_address_gp_and_emergency_contact(clinic):
    patient = PatientFactory(**CONTACTS)

    resource = patient_resource(patient, clinic=clinic)

    assert resource["address"] == [
        {
            "use": "home",
            "text": "12 Acacia Avenue, London, N1 9GU",
            "line": ["12 Acacia Avenue"],
            "city": "London",
            "postalCode": "N1 9GU",
        }
    ]
    assert resource["generalPractitioner"] == [
        {"display": "Dr Rachel Green, Islington Health Centre (+442079460123)"}
    ]
    [contact] = resource["contact"]
    assert contact["name"] == {"text": "Tom Smith"}
    assert contact["relationship"][0]["text"] == "Husband"
    assert contact["telecom"] == [{"system": "phone", "value": "+447700900456"}]
    assert schema_errors(resource) == []


def test_a_patient_without_them_exports_none_of_the_elements(clinic):
    resource = patient_resource(PatientFactory(), clinic=clinic)

    assert {"address", "generalPractitioner", "contact"} & set(resource) == set()
    assert schema_errors(resource) == []


def test_anonymisation_clears_them_in_the_row_and_its_history():
    patient = PatientFactory(**CONTACTS)

    patient_anonymise(patient=patient, now=NOW)

    for row in [Patient.objects.get(pk=patient.pk), *patient.history.all()]:
        for field in CONTACTS:
            assert not getattr(row, field), (field, row)
