"""Plans: template defaults, proposed course dates (across daylight-saving changes), booking."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from formulations.tests.factories import FormulationVersionFactory
from patients.tests.factories import AssessmentFactory, ScreenedPatientFactory
from sessions.booking import plans
from sessions.booking.plans import (
    plan_complete,
    plan_course,
    plan_course_shifts,
    plan_create,
    plan_progress,
    plan_stop,
)
from sessions.booking.scheduling import BookingRefused
from sessions.models import PlanKind, PlanStatus, PlanTemplate, SessionStatus
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import TreatmentPlanFactory, TreatmentSessionFactory


def new_plan(clinic, patient, clinician, **fields):
    values = {
        "template": PlanTemplate.objects.get(kind=PlanKind.SEVERE),
        "indication": "L64 Norwood V",
        "formulation_version": FormulationVersionFactory(),
        "technique": "nappage",
        "device": "mesogun",
        "target_depth_mm": Decimal("2.5"),
        "number_of_sessions": None,
        "interval_days": None,
    }
    values.update(fields)
    return plan_create(clinic=clinic, patient=patient, by=clinician.user, **values)


def test_templates_are_loaded_with_the_practice_defaults(db):
    severe = PlanTemplate.objects.get(kind=PlanKind.SEVERE)
    mild = PlanTemplate.objects.get(kind=PlanKind.MILD_MODERATE)

    assert (severe.number_of_sessions, severe.then_maintenance) == (10, True)
    assert (mild.number_of_sessions, mild.interval_days) == (6, 14)
    assert PlanTemplate.objects.get(kind=PlanKind.PREVENTIVE).sessions_per_year == 4


def test_a_new_plan_takes_its_numbers_from_the_template(clinic, patient, clinician):
    plan = new_plan(clinic, patient, clinician)

    assert (plan.number_of_sessions, plan.interval_days) == (10, 14)
    assert plan.status == PlanStatus.DRAFT
    assert plan.currency == "GBP"


def test_the_clinician_may_change_the_template_numbers(clinic, patient, clinician):
    plan = new_plan(clinic, patient, clinician, number_of_sessions=8, interval_days=10)

    assert (plan.number_of_sessions, plan.interval_days) == (8, 10)


def test_an_interval_shorter_than_the_clinic_minimum_is_refused(clinic, patient, clinician):
    with pytest.raises(BookingRefused) as refused:
        new_plan(clinic, patient, clinician, interval_days=5)

    assert "at least 7 days apart" in refused.value.message


def test_a_depth_beyond_four_millimetres_is_refused(clinic, patient, clinician):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        new_plan(clinic, patient, clinician, target_depth_mm=Decimal("5"))

    assert "target_depth_mm" in refused.value.message_dict


def test_an_assessment_of_another_patient_is_refused(clinic, patient, clinician):
    with pytest.raises(BookingRefused):
        new_plan(
            clinic,
            patient,
            clinician,
            assessment=AssessmentFactory(patient=ScreenedPatientFactory()),
        )


@time_machine.travel(MONDAY, tick=False)
def test_the_course_is_proposed_interval_days_apart_at_the_same_time(
    open_clinic, plan, clinician, room
):
    plan.number_of_sessions = 3
    plan.save()

    dates = plan_course(
        clinic=open_clinic,
        plan=plan,
        first_starts_at=at(open_clinic, 2026, 11, 24, 11),
        clinician=clinician,
        room=room,
        now=MONDAY,
    )

    assert dates == [
        at(open_clinic, 2026, 11, 24, 11),
        at(open_clinic, 2026, 12, 8, 11),
        at(open_clinic, 2026, 12, 22, 11),
    ]


@time_machine.travel(MONDAY, tick=False)
def test_a_busy_preferred_time_gives_the_nearest_free_time_that_day(
    open_clinic, plan, clinician, room
):
    plan.number_of_sessions = 2
    plan.save()
    TreatmentSessionFactory(
        clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 12, 8, 11)
    )

    dates = plan_course(
        clinic=open_clinic,
        plan=plan,
        first_starts_at=at(open_clinic, 2026, 11, 24, 11),
        clinician=clinician,
        room=room,
        now=MONDAY,
    )

    assert dates[1] in (at(open_clinic, 2026, 12, 8, 10, 15), at(open_clinic, 2026, 12, 8, 11, 45))
    shifts = plan_course_shifts(
        clinic=open_clinic,
        plan=plan,
        first_starts_at=at(open_clinic, 2026, 11, 24, 11),
        proposals=dates,
    )
    assert shifts == [None, at(open_clinic, 2026, 12, 8, 11)]


@time_machine.travel(MONDAY, tick=False)
def test_a_proposed_date_on_a_day_off_moves_to_the_next_working_day(
    open_clinic, plan, clinician, room
):
    plan.number_of_sessions = 2
    plan.interval_days = 12
    plan.save()

    dates = plan_course(
        clinic=open_clinic,
        plan=plan,
        first_starts_at=at(open_clinic, 2026, 11, 24, 11),
        clinician=clinician,
        room=room,
        now=MONDAY,
    )

    # 24 Nov + 12 days is Sunday 6 Dec: the clinician works again on Monday 7 Dec.
    assert dates[1] == at(open_clinic, 2026, 12, 7, 11)
    assert plan_course_shifts(
        clinic=open_clinic,
        plan=plan,
        first_starts_at=at(open_clinic, 2026, 11, 24, 11),
        proposals=dates,
    ) == [None, at(open_clinic, 2026, 12, 6, 11)]


@pytest.mark.parametrize(
    ("first", "second_utc"),
    [
        # Spring forward on Sunday 28 March 2027: 10:00 GMT then 10:00 BST (09:00 UTC).
        ((2027, 3, 22), datetime(2027, 3, 29, 9, 0, tzinfo=UTC)),
        # Fall back on Sunday 25 October 2026: 10:00 BST then 10:00 GMT (10:00 UTC).
        ((2026, 10, 19), datetime(2026, 10, 26, 10, 0, tzinfo=UTC)),
    ],
)
def test_a_course_across_a_daylight_saving_change_keeps_its_wall_clock_time(
    open_clinic, plan, clinician, room, first, second_utc
):
    plan.number_of_sessions, plan.interval_days = 2, 7
    plan.save()
    now = at(open_clinic, first[0], first[1], first[2] - 7, 8)

    with time_machine.travel(now, tick=False):
        dates = plan_course(
            clinic=open_clinic,
            plan=plan,
            first_starts_at=at(open_clinic, *first, 10),
            clinician=clinician,
            room=room,
            now=now,
        )
        booked = plans.course_book(
            clinic=open_clinic,
            plan=plan,
            starts=dates,
            clinician=clinician,
            room=room,
            by=clinician.user,
            now=now,
        )

    assert booked[1].starts_at == second_utc
    assert [s.starts_at.astimezone(open_clinic.zone).hour for s in booked] == [10, 10]


@time_machine.travel(MONDAY, tick=False)
def test_booking_a_course_books_every_date_and_activates_the_plan(
    open_clinic, clinician, room, patient, desk_user
):
    plan = TreatmentPlanFactory(patient=patient, status=PlanStatus.DRAFT, number_of_sessions=2)

    booked = plans.course_book(
        clinic=open_clinic,
        plan=plan,
        starts=[at(open_clinic, 2026, 11, 24, 10), at(open_clinic, 2026, 12, 8, 10)],
        clinician=clinician,
        room=room,
        by=desk_user,
        now=MONDAY,
    )

    plan.refresh_from_db()
    assert [s.sequence for s in booked] == [1, 2]
    assert plan.status == PlanStatus.ACTIVE


@time_machine.travel(MONDAY, tick=False)
def test_a_course_with_one_refused_date_books_nothing(
    open_clinic, plan, clinician, room, desk_user
):
    with pytest.raises(BookingRefused) as refused:
        plans.course_book(
            clinic=open_clinic,
            plan=plan,
            starts=[at(open_clinic, 2026, 11, 24, 10), at(open_clinic, 2026, 11, 29, 10)],
            clinician=clinician,
            room=room,
            by=desk_user,
            now=MONDAY,
        )

    assert refused.value.message.startswith("Date 2 (Sun 29 Nov 2026 10:00)")
    assert plan.sessions.count() == 0


@time_machine.travel(MONDAY, tick=False)
def test_stopping_a_plan_cancels_its_coming_sessions_with_the_reason(
    open_clinic, plan, clinician, room, desk_user
):
    done = TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        status=SessionStatus.COMPLETED,
        starts_at=at(open_clinic, 2026, 11, 9, 10),
    )
    coming = TreatmentSessionFactory(
        plan=plan, patient=plan.patient, starts_at=at(open_clinic, 2026, 11, 30, 10)
    )

    plan_stop(clinic=open_clinic, plan=plan, reason="Patient moved away", by=desk_user, now=MONDAY)

    coming.refresh_from_db()
    done.refresh_from_db()
    assert coming.status == SessionStatus.CANCELLED_BY_CLINIC
    assert coming.status_reason == "Plan stopped: Patient moved away"
    assert done.status == SessionStatus.COMPLETED
    plan.refresh_from_db()
    assert (plan.status, plan.stopped_reason) == (PlanStatus.STOPPED, "Patient moved away")


def test_a_course_cannot_be_completed_before_any_session_is(open_clinic, plan):
    with pytest.raises(BookingRefused):
        plan_complete(clinic=open_clinic, plan=plan)


def test_progress_counts_done_and_remaining_sessions(open_clinic, plan):
    TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        status=SessionStatus.COMPLETED,
        starts_at=at(open_clinic, 2026, 11, 9, 10),
    )
    TreatmentSessionFactory(
        plan=plan, patient=plan.patient, starts_at=at(open_clinic, 2026, 11, 23, 10)
    )
    TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        status=SessionStatus.CANCELLED_BY_PATIENT,
        status_reason="Ill",
        starts_at=at(open_clinic, 2026, 11, 30, 10),
    )

    progress = plan_progress(plan=plan)

    assert (progress.booked, progress.done, progress.remaining) == (2, 1, 5)
