"""The pages that run the treatment clearance stay within their query budget (issue 13: at most
15 per page), with one or fifty sessions of history behind the patient.

The clearance is read once per page: the screening, that day's re-check, the rules, the
patient's medicines and diagnoses, and the version's ingredients and the patient's allergies
only when a formulation is named; overrides and dermatologist's clearances only when a finding
they could lift fired.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.roles import Role
from formulations.tests.factories import IngredientLineFactory
from patients.models import PatientReport
from patients.tests.factories import (
    AllergyFactory,
    AssessmentFactory,
    MedicationFactory,
    OutcomeMeasurementFactory,
    ScreeningRecheckFactory,
    TreatmentConsentFactory,
)
from sessions.models import SessionStatus
from sessions.tests.factories import (
    AdverseEventFactory,
    InjectionFactory,
    SessionRecordFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
    signed_as_fixture,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PATIENT_PAGE_QUERIES = 15
SESSION_PAGE_QUERIES = 15
# The clinical tab: the user (with their rights and the clinic), their second factor, the
# patient, the access log, then a query per panel: allergies, medicines, assessments, the
# screenings (with that day's re-check), the rules, the chart, the doses (with the versions'
# ingredients), adverse events, attended sessions, the patient's report, consents.
CLINICAL_TAB_QUERIES = 15


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def history(patient, clinician, room):
    """`rows` signed past sessions of the patient's plan, and today's session, re-checked."""

    def make(rows: int):
        plan = TreatmentPlanFactory(patient=patient, created_by=clinician, number_of_sessions=99)
        for n in range(rows):
            starts = datetime(2024, 1, 1, 10, tzinfo=UTC) + timedelta(days=14 * n)
            session = TreatmentSessionFactory(
                patient=patient,
                clinician=clinician,
                room=room,
                plan=plan,
                status=SessionStatus.COMPLETED,
                starts_at=starts,
            )
            record = SessionRecordFactory(
                session=session, formulation_version=plan.formulation_version
            )
            InjectionFactory(record=record)
            signed_as_fixture(record, at=session.ends_at)
        today = TreatmentSessionFactory(
            patient=patient,
            clinician=clinician,
            room=room,
            plan=plan,
            status=SessionStatus.CONFIRMED,
            starts_at=datetime(2026, 11, 23, 10, tzinfo=UTC),
        )
        ScreeningRecheckFactory(screening=patient.screenings.get(), checked_on=date(2026, 11, 23))
        return today

    return make


def opened(client, url):
    """The page opened once before it is counted: the first request after a login writes the
    session's activity stamp (clinic/middleware.py), once a minute, not the page's cost."""
    assert client.get(url).status_code == 200
    return url


@pytest.mark.parametrize("rows", [1, 50])
def test_the_patient_page_stays_within_15_queries(
    history, patient, client_as, django_assert_max_num_queries, rows
):
    history(rows)
    client = client_as(Role.RECEPTION)
    url = opened(client, reverse("patients:detail", args=[patient.pk]))
    with django_assert_max_num_queries(PATIENT_PAGE_QUERIES):
        response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_the_session_page_stays_within_15_queries(
    history, client_as, django_assert_max_num_queries, rows
):
    session = history(rows)
    client = client_as(Role.RECEPTION)
    url = opened(client, reverse("treatment_sessions:session_detail", args=[session.pk]))
    with django_assert_max_num_queries(SESSION_PAGE_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["gate"].blocked is False


@pytest.mark.parametrize("rows", [1, 50])
def test_the_clinical_tab_stays_within_15_queries(
    history, patient, client_as, django_assert_max_num_queries, rows
):
    today = history(rows)
    # Something in every panel, so every panel's query runs.
    IngredientLineFactory(version=today.plan.formulation_version)
    AllergyFactory(patient=patient, substance="Latex")
    MedicationFactory(patient=patient, name="Finasteride", medication_class="other")
    AssessmentFactory(patient=patient)
    OutcomeMeasurementFactory(patient=patient, is_baseline=True)
    TreatmentConsentFactory(patient=patient)
    AdverseEventFactory(session=patient.treatment_sessions.exclude(pk=today.pk).first())
    PatientReport.objects.create(patient=patient, submitted_at=NOW - timedelta(days=3))
    client = client_as(Role.CLINICIAN)
    url = opened(client, reverse("patients:clinical", args=[patient.pk]))
    with django_assert_max_num_queries(CLINICAL_TAB_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["clearance"].cleared
    assert response.context["clearance"].recheck is not None  # today's, read with the screening
    assert response.context["cumulative_doses"]
    assert response.context["adverse_events"]
