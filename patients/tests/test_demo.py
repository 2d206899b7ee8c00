import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from formulations.models import FormulationVersion
from patients.clearance import treatment_clearance
from patients.models import Allergy, Patient, Screening
from sessions.demo_cohort import COHORT_INDICATION


@pytest.mark.django_db
@time_machine.travel("2026-11-16 10:00Z", tick=False)
def test_demo_patients_cover_every_screening_case_and_seeding_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    counts = (Patient.objects.count(), Screening.objects.count(), Allergy.objects.count())
    call_command("seed_demo", verbosity=0)

    assert (Patient.objects.count(), Screening.objects.count(), Allergy.objects.count()) == counts
    # One patient per screening case; the cohort of past courses (sessions/demo.py) aside.
    cases = Patient.objects.exclude(
        treatment_plans__indication__startswith=COHORT_INDICATION
    ).distinct()
    assert cases.count() == 10
    dht = FormulationVersion.objects.filter(lines__ingredient__name="Dutasteride").first()
    steps = {
        p.given_name: treatment_clearance(
            patient=p, formulation_version=dht, on_date=timezone.localdate()
        )
        for p in cases
    }
    assert steps["Oliver"].cleared
    assert [f.rule_code for f in steps["Emma"].blocking][0] == "pregnancy"
    assert [f.rule_code for f in steps["James"].blocking] == ["allergy_ingredient"]
    assert steps["Margaret"].cleared and steps["Margaret"].screening.overrides.count() == 1
    assert steps["Daniel"].next_step == "refer"
    assert "under_18" in [f.rule_code for f in steps["Lucas"].blocking]
    assert "lapsed" in steps["Sophie"].message
    assert steps["Aisha"].next_step == "screen"
    assert steps["Thomas"].cleared
