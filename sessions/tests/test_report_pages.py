"""The report pages: reachable from the Reports menu by the roles that may open them, with the
caution and figures a reader needs, and a query count that does not grow with the clinic."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.models import Room
from clinic.navigation import REPORTS
from clinic.roles import Role
from clinic.tests.factories import RoomFactory
from formulations.tests.factories import FormulationVersionFactory
from sessions.models import AdverseEvent
from sessions.tests.report_fixtures import START, bulk_courses

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PAGES = [
    "treatment_sessions:reports",
    "treatment_sessions:outcome_report",
    "treatment_sessions:outcome_compare",
    "treatment_sessions:harms",
    "treatment_sessions:safety_report",
    "treatment_sessions:research_exports",
    "formulations:usage",
]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic_with_courses(clinic, staff):
    def make(count):
        doctor = staff(Role.CLINICIAN)
        room = Room.objects.first() or RoomFactory(clinic=clinic)
        versions = [
            FormulationVersionFactory(formulation__name="DHT-block scalp cocktail", number=3),
            FormulationVersionFactory(formulation__name="Nutrient scalp cocktail", number=2),
        ]
        plans = bulk_courses(count=count, versions=versions, clinician=doctor, room=room)
        sessions = [plan.sessions.first() for plan in plans[::5]]
        AdverseEvent.objects.bulk_create(
            AdverseEvent(
                session=s,
                patient_id=s.patient_id,
                event_type="pain",
                onset_on=s.starts_at.date(),
                severity="mild",
                ctcae_grade=1,
                causality="probable",
                outcome="resolved",
                reported_at=s.ends_at,
                reported_by=doctor.user,
            )
            for s in sessions
        )
        return versions

    return make


def test_the_reports_menu_lists_every_report_an_admin_may_open(client_as):
    page = client_as(Role.CLINIC_ADMIN).get(reverse("treatment_sessions:reports"))
    html = page.content.decode()
    for report in REPORTS:
        assert reverse(report.url_name) in html, report.label
    nav = client_as(Role.CLINIC_ADMIN).get("/").content.decode()
    assert f'href="{reverse("treatment_sessions:reports")}"' in nav


def test_a_clinician_reaches_the_outcome_reports_and_not_the_admin_ones(client_as):
    client = client_as(Role.CLINICIAN)
    assert f'href="{reverse("treatment_sessions:reports")}"' in client.get("/").content.decode()
    html = client.get(reverse("treatment_sessions:reports")).content.decode()
    assert reverse("treatment_sessions:outcome_report") in html
    assert reverse("treatment_sessions:harms") not in html
    assert reverse("treatment_sessions:research_exports") not in html


def test_reception_sees_no_reports(client_as):
    client = client_as(Role.RECEPTION)
    assert reverse("treatment_sessions:reports") not in client.get("/").content.decode()
    assert client.get(reverse("treatment_sessions:reports")).status_code == 403


def test_the_outcome_report_shows_the_caution_and_the_figures(client_as, clinic_with_courses):
    clinic_with_courses(10)

    html = client_as(Role.CLINICIAN).get(reverse("treatment_sessions:outcome_report")).content
    html = html.decode()

    assert "Observational data, not a trial" in html
    assert "DHT-block scalp cocktail v3" in html
    assert "Density, occipital (control, androgen-insensitive)" in html
    assert "Responders at week 24" in html


def test_filters_narrow_the_report_and_bad_dates_say_why(client_as, clinic_with_courses):
    clinic_with_courses(10)
    client = client_as(Role.CLINICIAN)
    url = reverse("treatment_sessions:outcome_report")

    later = client.get(url, {"date_from": (START + timedelta(days=30)).isoformat()})
    assert "No course with a signed session matches" in later.content.decode()
    bad = client.get(url, {"date_from": "2026-03-01", "date_to": "2026-01-01"})
    assert bad.status_code == 200
    assert "The start of the period is after its end." in bad.content.decode()


def test_the_comparison_draws_a_chart_for_the_chosen_groups(client_as, clinic_with_courses):
    dht, nutrient = clinic_with_courses(20)
    client = client_as(Role.CLINIC_ADMIN)

    page = client.get(
        reverse("treatment_sessions:outcome_compare"),
        {"group": [f"v:{dht.pk}", f"v:{nutrient.pk}"]},
    ).content.decode()

    assert "<svg" in page and 'data-testid="comparison-chart"' in page
    assert "Observational data, not a trial" in page
    assert "DHT-block scalp cocktail v3: treated zone" in page
    assert "Nutrient scalp cocktail v2: occipital control" in page
    assert "<script>" not in page


def test_the_harms_table_links_to_the_lots(client_as, clinic_with_courses):
    clinic_with_courses(10)

    page = client_as(Role.CLINIC_ADMIN).get(
        reverse("treatment_sessions:harms"), {"date_from": "2026-01-01", "date_to": "2026-12-01"}
    )

    html = page.content.decode()
    assert "How harms were collected" in html
    assert "Events per 100 sessions" in html
    assert 'data-testid="harms-row"' in html


@pytest.mark.parametrize("courses", [10, 1000])
def test_every_report_page_has_the_same_query_bound_at_10_and_1000_courses(
    client_as, clinic_with_courses, django_assert_max_num_queries, courses
):
    clinic_with_courses(courses)
    client = client_as(Role.CLINIC_ADMIN)
    period = {"date_from": "2026-01-01", "date_to": "2026-12-01"}

    for name in PAGES:
        with django_assert_max_num_queries(16):
            response = client.get(reverse(name), period if "report" not in name else {})
        assert response.status_code == 200, name
