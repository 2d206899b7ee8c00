"""The demo shows progress: two patients with baseline and follow-up measurements across zones,
and two resolved adverse events; and a cohort of past courses with outcomes at weeks 12 and 24
and standard photos, so the reports show something. Created once however often seed_demo runs."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from clinic.models import Clinic
from patients.models import ClinicalPhoto, OutcomeMeasurement
from sessions.demo_cohort import COHORT_INDICATION
from sessions.models import AdverseEvent
from sessions.records.outcome_report import ReportFilters, ReportSettings, outcome_report


@pytest.mark.django_db
def test_the_demo_shows_progress_and_lets_the_reports_compare_versions(settings, client, tmp_path):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path

    call_command("seed_demo")
    counts = (
        OutcomeMeasurement.objects.count(),
        AdverseEvent.objects.count(),
        ClinicalPhoto.objects.count(),
    )
    call_command("seed_demo")

    assert counts[2] > 0
    assert (
        OutcomeMeasurement.objects.count(),
        AdverseEvent.objects.count(),
        ClinicalPhoto.objects.count(),
    ) == counts
    showcase = OutcomeMeasurement.objects.exclude(
        patient__treatment_plans__indication__startswith=COHORT_INDICATION
    )
    patients = set(showcase.values_list("patient_id", flat=True))
    assert len(patients) == 2
    for patient_id in patients:
        baselines = OutcomeMeasurement.objects.filter(patient_id=patient_id, is_baseline=True)
        assert baselines.count() == 3
    events = AdverseEvent.objects.filter(patient_id__in=patients)
    assert sorted(e.event_type for e in events) == ["erythema", "pain"]
    assert {e.outcome for e in events} == {"resolved"}
    # each names the lot its session's signed record used, for the safety report
    for event in events:
        assert event.lot_id == event.session.record.lots_used.get().lot_id

    client.force_login(get_user_model().objects.get(username="clinician"))
    page = client.get(reverse("patients:clinical", args=[min(patients)])).content.decode()
    assert 'data-testid="progress-chart"' in page

    # The cohort: enough patients per version to report means, DHT v3 gaining more than the
    # nutrient cocktail at week 24, the occipital control near zero in both, a mixed group.
    clinic = Clinic.current()
    report = outcome_report(settings=ReportSettings(), filters=ReportFilters(), zone=clinic.zone)
    by_label = {group.label: group for group in report.groups}
    dht_v3 = by_label["DHT-block scalp cocktail v3"]
    nutrient = by_label["Nutrient scalp cocktail v2"]
    assert dht_v3.patients >= 10 and nutrient.patients >= 10
    assert dht_v3.row("treated_pct").late.mean > nutrient.row("treated_pct").late.mean
    for group in (dht_v3, nutrient):
        assert abs(group.row(("density_pct", "occipital")).late.mean) < 2
    assert any(group.mixed for group in report.groups)
