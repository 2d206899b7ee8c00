"""The demo shows progress: two patients with baseline and follow-up measurements across zones,
and two resolved adverse events, created once however often seed_demo runs."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from patients.models import OutcomeMeasurement
from sessions.models import AdverseEvent


@pytest.mark.django_db
def test_the_demo_gives_two_patients_a_progress_chart_and_two_resolved_events(settings, client):
    settings.DEBUG = True

    call_command("seed_demo")
    counts = (OutcomeMeasurement.objects.count(), AdverseEvent.objects.count())
    call_command("seed_demo")

    assert (OutcomeMeasurement.objects.count(), AdverseEvent.objects.count()) == counts
    patients = set(OutcomeMeasurement.objects.values_list("patient_id", flat=True))
    assert len(patients) == 2
    for patient_id in patients:
        baselines = OutcomeMeasurement.objects.filter(patient_id=patient_id, is_baseline=True)
        assert baselines.count() == 3
    events = AdverseEvent.objects.all()
    assert sorted(e.event_type for e in events) == ["erythema", "pain"]
    assert {e.outcome for e in events} == {"resolved"}
    # each names the lot its session's signed record used, for the safety report
    for event in events:
        assert event.lot_id == event.session.record.lots_used.get().lot_id

    client.force_login(get_user_model().objects.get(username="clinician"))
    page = client.get(reverse("patients:clinical", args=[min(patients)])).content.decode()
    assert 'data-testid="progress-chart"' in page
