"""The outcome report on a small fixture whose figures are worked out by hand."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from clinic.roles import Role
from formulations.tests.factories import FormulationVersionFactory
from sessions.records.outcome_report import ReportFilters, ReportSettings, outcome_report
from sessions.tests.report_fixtures import signed_course

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
SETTINGS = ReportSettings()  # weeks 12 and 24 ± 3, responder ≥ 10 %, groups of 5


@pytest.fixture
def doctor(staff):
    return staff(Role.CLINICIAN)


@pytest.fixture
def dht(db):
    return FormulationVersionFactory(formulation__name="DHT-block scalp cocktail", number=3)


@pytest.fixture
def nutrient(db):
    return FormulationVersionFactory(formulation__name="Nutrient scalp cocktail", number=2)


# Vertex baseline and week-24 density of five patients: +10 %, +5 %, +15 %, 0 %, +20 %.
# Mean 10, median 10, s² = (0 + 25 + 25 + 100 + 100) / 4 = 62.5, s = 7.9057, se = 3.5355,
# t(0.975, 4) = 2.776, so the interval is 10 ± 9.8146. Responders (≥ 10 %): 3 of 5.
VERTEX = [(100, 110), (100, 105), (120, 138), (150, 150), (100, 120)]


def five_dht_courses(dht, doctor, **extra):
    plans = []
    for n, (before, after) in enumerate(VERTEX):
        density = {
            "vertex": [(-10, before), (168 + n, after)],
            "occipital": [(-10, 200), (168, 200)],
        }
        if n == 0:
            # Older than 90 days: not the baseline; 18 days from week 24 but a nearer one counts.
            density["vertex"] += [(-200, 10), (150, 400)]
        if n == 1:
            density["vertex"].append((200, 999))  # 32 days after week 24: outside the window
        if n < 4:
            density["vertex"].append((84, before + 1))  # week 12 for four patients only
        plans.append(signed_course(versions=[dht], density=density, clinician=doctor, **extra))
    return plans


def test_change_from_baseline_matches_the_hand_computation(dht, doctor):
    five_dht_courses(dht, doctor)

    report = outcome_report(settings=SETTINGS, filters=ReportFilters(), zone=LONDON)

    (group,) = report.groups
    assert group.patients == 5
    treated = group.row("treated_pct")
    assert (treated.late.n, treated.late.mean, treated.late.median) == (5, 10, 10)
    assert treated.late.ci_low == pytest.approx(10 - 9.8146, abs=1e-3)
    assert treated.late.ci_high == pytest.approx(10 + 9.8146, abs=1e-3)
    assert group.responders.count == 3 and group.responders.n == 5
    assert group.responders.ci_low == pytest.approx(0.2307, abs=1e-4)


def test_the_occipital_zone_is_shown_as_the_control(dht, doctor):
    five_dht_courses(dht, doctor)

    (group,) = outcome_report(settings=SETTINGS, filters=ReportFilters(), zone=LONDON).groups

    control = group.row(("density_pct", "occipital"))
    assert control.is_control and "control" in control.label
    assert (control.late.n, control.late.mean) == (5, 0)


def test_a_time_point_with_fewer_patients_than_the_minimum_shows_its_count_only(dht, doctor):
    five_dht_courses(dht, doctor)

    (group,) = outcome_report(settings=SETTINGS, filters=ReportFilters(), zone=LONDON).groups

    early = group.row("treated_pct").early
    assert early.n == 4 and early.suppressed


def test_a_course_mixing_versions_is_a_group_of_its_own(dht, nutrient, doctor):
    five_dht_courses(dht, doctor)
    signed_course(
        versions=[dht, nutrient], density={"vertex": [(0, 100), (168, 130)]}, clinician=doctor
    )

    report = outcome_report(settings=SETTINGS, filters=ReportFilters(), zone=LONDON)

    single, mixed = report.groups
    assert single.patients == 5 and not single.mixed
    assert mixed.mixed and mixed.patients == 1
    assert "mixed within a course" in mixed.label
    assert mixed.row("treated_pct").late.suppressed
    assert single.row("treated_pct").late.mean == 10


def test_grouping_by_formulation_pools_its_versions(dht, doctor):
    dht_v4 = FormulationVersionFactory(formulation=dht.formulation, number=4)
    five_dht_courses(dht, doctor)
    signed_course(
        versions=[dht, dht_v4], density={"vertex": [(0, 100), (168, 130)]}, clinician=doctor
    )

    report = outcome_report(
        settings=SETTINGS, filters=ReportFilters(), zone=LONDON, group_by="formulation"
    )

    (group,) = report.groups
    assert group.patients == 6 and not group.mixed
    assert group.label == "DHT-block scalp cocktail"


def test_filters_narrow_the_courses(dht, doctor):
    five_dht_courses(dht, doctor)
    report = outcome_report(
        settings=SETTINGS, filters=ReportFilters(date_from=date(2026, 2, 1)), zone=LONDON
    )
    assert report.groups == []

    adults = outcome_report(
        settings=SETTINGS, filters=ReportFilters(age_band="40–49", sex="male"), zone=LONDON
    )
    # The factories' patients were born on 17 May 1985: 40 at week 0.
    assert adults.groups[0].patients == 5
    assert (
        outcome_report(
            settings=SETTINGS, filters=ReportFilters(diagnosis="L65"), zone=LONDON
        ).groups
        == []
    )
    assert (
        outcome_report(settings=SETTINGS, filters=ReportFilters(severity="moderate"), zone=LONDON)
        .groups[0]
        .patients
        == 5
    )


def test_the_clinic_threshold_and_minimum_are_used(dht, doctor):
    five_dht_courses(dht, doctor)
    strict = ReportSettings(responder_percent=15, min_group=6)

    (group,) = outcome_report(settings=strict, filters=ReportFilters(), zone=LONDON).groups

    assert group.responders.suppressed  # 5 patients, minimum 6
    loose = ReportSettings(responder_percent=15, min_group=2)
    (group,) = outcome_report(settings=loose, filters=ReportFilters(), zone=LONDON).groups
    assert group.responders.count == 2  # +15 % and +20 %


def test_global_self_assessment_and_pull_test_at_the_time_point(dht, doctor):
    for n in range(5):
        signed_course(
            versions=[dht],
            density={"vertex": [(0, 100), (168, 110)]},
            global_assessment=[(168, n % 3)],
            self_assessment=[(84, 1)],
            pull_test_hairs=[(0, 8), (168, 3 + n)],
            clinician=doctor,
        )

    (group,) = outcome_report(settings=SETTINGS, filters=ReportFilters(), zone=LONDON).groups

    assert group.row("global").late.mean == pytest.approx((0 + 1 + 2 + 0 + 1) / 5)
    assert group.row("self").early.mean == 1
    # Pull test: 3..7 hairs out against 8 at baseline: changes −5..−1, mean −3.
    assert group.row("pull_test").late.mean == -3
