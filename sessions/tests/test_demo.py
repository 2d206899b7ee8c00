"""The demo calendar: plans for cleared demo patients, sessions around today, idempotent."""

from datetime import UTC, date, datetime

import time_machine

from clinic.demo import seed_clinic
from formulations import demo as formulations_demo
from patients import demo as patients_demo
from sessions import demo
from sessions.booking.maintenance import maintenance_due
from sessions.booking.scheduling import session_clearance
from sessions.models import PlanStatus, SessionStatus, TreatmentPlan, TreatmentSession

# Wednesday 25 November 2026, 08:00 in London.
WEDNESDAY = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)


def seed_all():
    clinic = seed_clinic()
    formulations_demo.seed(clinic=clinic)
    patients_demo.seed(clinic=clinic)
    demo.seed(clinic=clinic)
    return clinic


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_demo_fills_this_week_and_next_and_runs_again_without_changes(db):
    clinic = seed_all()
    plans, sessions = TreatmentPlan.objects.count(), TreatmentSession.objects.count()

    demo.seed(clinic=clinic)

    assert (TreatmentPlan.objects.count(), TreatmentSession.objects.count()) == (plans, sessions)
    today = TODAY
    this_and_next_week = [
        s
        for s in TreatmentSession.objects.all()
        if 0 <= (s.starts_at.astimezone(clinic.zone).date() - today).days < 12
    ]
    assert len(this_and_next_week) >= 4
    checked_in = TreatmentSession.objects.get(status=SessionStatus.CHECKED_IN)
    assert checked_in.starts_at.astimezone(clinic.zone).date() == today
    assert TreatmentSession.objects.filter(status=SessionStatus.CONFIRMED).exists()


@time_machine.travel(WEDNESDAY, tick=False)
def test_demo_treatment_is_only_planned_for_patients_the_gate_does_not_block(db):
    seed_all()

    for plan in TreatmentPlan.objects.select_related("patient", "formulation_version"):
        gate = session_clearance(
            patient=plan.patient,
            formulation_version=plan.formulation_version,
            on_date=TODAY,
        )
        assert not gate.blocked, plan.patient


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_demo_has_a_completed_course_due_for_maintenance(db):
    clinic = seed_all()

    rows = maintenance_due(clinic=clinic, today=TODAY, now=WEDNESDAY)

    assert len(rows) == 1
    assert rows[0].plan.status == PlanStatus.COMPLETED
    assert rows[0].overdue


@time_machine.travel(datetime(2026, 11, 22, 8, 0, tzinfo=UTC), tick=False)
def test_on_a_day_the_clinic_is_closed_the_demo_books_within_opening_hours(db):
    # Sunday 22 November 2026: the demo clinic is closed on Sundays.
    clinic = seed_all()

    assert not TreatmentSession.objects.filter(status=SessionStatus.CHECKED_IN).exists()
    for session in TreatmentSession.objects.all():
        local = session.starts_at.astimezone(clinic.zone)
        assert any(
            h.opens <= local.time() and h.closes >= session.ends_at.astimezone(clinic.zone).time()
            for h in clinic.opening_hours_on(local.date())
        ), local


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_completed_demo_course_has_signed_records_that_recalls_list(db):
    from sessions.models import SessionRecord
    from sessions.records.recall import lot_recipients

    seed_all()
    plan = TreatmentPlan.objects.get(status=PlanStatus.COMPLETED)
    records = SessionRecord.objects.filter(session__plan=plan)

    assert records.count() == plan.number_of_sessions
    for record in records:
        assert record.signed_at is not None
        assert record.injections.count() == 3
        assert record.pain_score is not None
        assert record.session.status == SessionStatus.COMPLETED
    lot = records.first().lots_used.get().lot
    assert len(lot_recipients(lot=lot)) == plan.number_of_sessions
    assert lot.quantity_remaining == lot.quantity_received - plan.number_of_sessions
    assert plan.maintenance_due_on is not None


@time_machine.travel(WEDNESDAY, tick=False)
def test_the_treated_demo_patients_signed_their_consent_before_the_first_injection(db):
    from patients.consent import consent_missing
    from patients.models import ConsentSignature
    from sessions.models import SessionRecord

    clinic = seed_all()
    checked_in = TreatmentSession.objects.get(status=SessionStatus.CHECKED_IN)
    finished = TreatmentPlan.objects.get(status=PlanStatus.COMPLETED)

    for plan in (checked_in.plan, finished):
        assert (
            consent_missing(patient=plan.patient, formulation_version=plan.formulation_version)
            == []
        )
    first_record = SessionRecord.objects.filter(session__plan=finished).order_by("signed_at")[0]
    (signature,) = ConsentSignature.objects.filter(patient=finished.patient)
    assert signature.signed_at < first_record.signed_at
    assert signature.witness.username == "clinician"

    signed = ConsentSignature.objects.count()
    demo.seed(clinic=clinic)
    assert ConsentSignature.objects.count() == signed


def test_the_demo_clinician_can_sign_records(db):
    from clinic.models import StaffProfile

    seed_clinic()
    assert StaffProfile.objects.get(user__username="clinician").registration_number


@time_machine.travel(WEDNESDAY, tick=False)
def test_every_demo_patient_on_a_running_course_has_signed_consent(db):
    from patients.consent import consent_missing

    seed_all()

    running = TreatmentPlan.objects.filter(status=PlanStatus.ACTIVE).select_related("patient")
    assert running.exists()
    for plan in running:
        missing = consent_missing(
            patient=plan.patient, formulation_version=plan.formulation_version
        )
        assert missing == [], plan.patient.full_name
