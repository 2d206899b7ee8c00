"""The demo cohort: signed past courses of several versions, once however often it runs."""

import time_machine

from sessions import demo_cohort
from sessions.booking.maintenance import maintenance_due
from sessions.models import PlanStatus, TreatmentPlan
from sessions.tests.test_demo import TODAY, WEDNESDAY, seed_all


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_demo_cohort_has_signed_past_courses_of_several_versions(db):
    clinic = seed_all()
    demo_cohort.seed_cohort(clinic=clinic)
    plans = TreatmentPlan.objects.filter(indication__startswith=demo_cohort.COHORT_INDICATION)
    count = plans.count()

    demo_cohort.seed_cohort(clinic=clinic)

    assert plans.count() == count >= 36
    versions = set(
        plans.values_list("sessions__record__formulation_version", flat=True).exclude(
            sessions__record__isnull=True
        )
    )
    assert len(versions) == 4
    # One course stopped for a serious reaction, which stopped treatment (the harms table).
    stopped = plans.get(status=PlanStatus.STOPPED)
    assert stopped.sessions.filter(adverse_events__treatment_stopped=True).exists()
    # Each finished course had follow-up visits after it, so the recall list stays as it was.
    assert len(maintenance_due(clinic=clinic, today=TODAY, now=WEDNESDAY)) == 1
