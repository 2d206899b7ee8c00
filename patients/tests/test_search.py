import pytest

from patients.search import patient_search
from patients.tests.factories import PatientFactory


@pytest.fixture
def people(db):
    return {
        "ann": PatientFactory(
            given_name="Ann", family_name="Smith", record_number="MT000123", mobile="+447700900123"
        ),
        "bob": PatientFactory(
            given_name="Bob",
            family_name="Smithers",
            record_number="MT000456",
            mobile="+447700900456",
        ),
        "cat": PatientFactory(
            given_name="Cat", family_name="Jones", record_number="MT000789", mobile="+33612345678"
        ),
    }


def found(query):
    return {p.given_name for p in patient_search(query=query)}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("smith", {"Ann", "Bob"}),
        ("ann smi", {"Ann"}),
        ("SMITHERS", {"Bob"}),
        ("MT000123", {"Ann"}),
        ("mt456", {"Bob"}),
        ("789", {"Cat"}),
        ("07700 900123", {"Ann"}),
        ("+44 7700 900456", {"Bob"}),
        ("06 12 34 56 78", {"Cat"}),
        ("nobody", set()),
        ("", {"Ann", "Bob", "Cat"}),
    ],
)
def test_patients_are_found_by_name_record_number_or_mobile(people, query, names):
    assert found(query) == names


def test_archived_patients_are_not_listed(people):
    people["ann"].archived_at = "2026-11-01T10:00Z"
    people["ann"].save()
    assert found("smith") == {"Bob"}
