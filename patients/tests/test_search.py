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


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("jo", {"Cat"}),  # the start of Jones
        ("ne", set()),  # two letters inside a name are too few to mean it
        ("c jon", {"Cat"}),
        ("smi", {"Ann", "Bob"}),  # the start of Smith and Smithers
        ("ith", set()),  # three letters inside a name: the start of a name is meant
        ("mith", {"Ann", "Bob"}),  # four letters match inside a name
        ("ann smi", {"Ann"}),
    ],
)
def test_a_word_of_up_to_three_letters_matches_the_start_of_a_name(people, query, names):
    assert found(query) == names


@pytest.mark.django_db
def test_a_short_name_search_can_use_the_prefix_indexes_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the expression indexes are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = patient_search(query="smi").order_by().query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "patient_family_name_prefix" in plan
    assert "patient_given_name_prefix" in plan


def test_a_patient_is_found_by_their_email_address(people):
    people["cat"].email = "cat.jones@example.org"
    people["cat"].save()
    assert found("Cat.Jones@example.org") == {"Cat"}


@pytest.mark.django_db
def test_name_and_phone_searches_can_use_the_trigram_indexes_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes are PostgreSQL's")
    with connection.cursor() as cursor:
        # A table of a few rows is always scanned; forbid that to see which index serves it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plans = []
        for query in ("smith", "07700 900123"):
            # Unordered: on a tiny table the planner would walk the name index for the order.
            sql, params = patient_search(query=query).order_by().query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plans.append(" ".join(row[0] for row in cursor.fetchall()))
    assert "patient_family_name_trgm" in plans[0]
    assert "patient_mobile_trgm" in plans[1]
