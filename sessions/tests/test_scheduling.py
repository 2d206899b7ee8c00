"""Every booking rule of scheduling.py, called directly."""

from datetime import date, timedelta

import psycopg.errors
import pytest
import time_machine
from django.db import OperationalError

from clinic.roles import Role
from clinic.tests.factories import RoomFactory
from patients.tests.factories import ScreenedPatientFactory, ScreeningFactory
from sessions.booking import scheduling
from sessions.booking.scheduling import BookingRefused
from sessions.models import SessionKind, SessionStatus, TreatmentSession
from sessions.tests.conftest import MONDAY, at, book
from sessions.tests.factories import (
    SessionRecordFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)

pytestmark = pytest.mark.usefixtures("frozen_monday")


def test_a_session_is_booked_for_the_clinic_session_length(
    open_clinic, patient, clinician, room, desk_user
):
    session = book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 10), desk_user
    )

    assert session.status == SessionStatus.SCHEDULED
    assert session.ends_at - session.starts_at == timedelta(minutes=45)


def test_the_same_clinician_cannot_be_booked_twice_at_once(
    open_clinic, patient, clinician, room, desk_user
):
    book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 10), desk_user)

    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic,
            ScreenedPatientFactory(),
            clinician,
            RoomFactory(clinic=open_clinic),
            at(open_clinic, 2026, 11, 23, 10, 30),
            desk_user,
        )

    assert refused.value.rule == "overlap"
    assert "Dr Nadia Noor already has a session from 10:00 to 10:45" in refused.value.message


def test_the_same_room_cannot_be_booked_twice_at_once(
    open_clinic, patient, clinician, room, desk_user, staff
):
    book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 10), desk_user)
    other = staff(Role.CLINICIAN)
    other.working_hours.create(
        weekday=0,
        starts=clinician.working_hours.first().starts,
        ends=clinician.working_hours.first().ends,
    )

    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic,
            ScreenedPatientFactory(),
            other,
            room,
            at(open_clinic, 2026, 11, 23, 10, 15),
            desk_user,
        )

    assert "Treatment room 1 is already booked from 10:00 to 10:45" in refused.value.message


def test_the_same_patient_cannot_be_in_two_sessions_at_once(
    open_clinic, patient, clinician, room, desk_user, staff
):
    book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 10), desk_user)
    other = staff(Role.CLINICIAN)
    other.working_hours.create(
        weekday=0,
        starts=clinician.working_hours.first().starts,
        ends=clinician.working_hours.first().ends,
    )

    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic,
            patient,
            other,
            RoomFactory(clinic=open_clinic),
            at(open_clinic, 2026, 11, 23, 10, 15),
            desk_user,
        )

    assert "This patient already has a session" in refused.value.message


def test_a_cancelled_session_frees_its_slot(open_clinic, patient, clinician, room, desk_user):
    first = book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 10), desk_user
    )
    scheduling.session_cancel(
        clinic=open_clinic, session=first, by_patient=True, reason="Flu", by=desk_user, now=MONDAY
    )

    again = book(
        open_clinic,
        ScreenedPatientFactory(),
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
    )

    assert again.pk != first.pk


def test_back_to_back_sessions_do_not_overlap(open_clinic, patient, clinician, room, desk_user):
    book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 10), desk_user)

    second = book(
        open_clinic,
        ScreenedPatientFactory(),
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10, 45),
        desk_user,
    )

    assert second.starts_at == at(open_clinic, 2026, 11, 23, 10, 45)


def test_a_session_outside_opening_hours_is_refused(
    open_clinic, patient, clinician, room, desk_user
):
    with pytest.raises(BookingRefused) as refused:
        book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 29, 10), desk_user)

    assert refused.value.rule == "opening_hours"
    assert "It is closed on Sundays" in refused.value.message


def test_a_session_running_past_closing_time_is_refused(
    open_clinic, patient, clinician, room, desk_user
):
    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 28, 17, 30), desk_user
        )

    assert "Opening hours on Saturdays: 09:00–18:00" in refused.value.message


def test_a_session_outside_the_clinicians_working_hours_is_refused(
    open_clinic, patient, clinician, room, desk_user
):
    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 16, 30), desk_user
        )

    assert refused.value.rule == "working_hours"
    assert "Dr Nadia Noor is not working for the whole session" in refused.value.message


def test_opening_hours_are_read_in_the_clinic_time_zone(
    open_clinic, patient, clinician, room, desk_user
):
    # 09:00 in London in June is 08:00 UTC: allowed, although 08:00 UTC looks early.
    with time_machine.travel("2027-06-01T07:00Z", tick=False):
        session = scheduling.session_book(
            clinic=open_clinic,
            patient=patient,
            clinician=clinician,
            room=room,
            starts_at=at(open_clinic, 2027, 6, 7, 9),
            by=desk_user,
            now=at(open_clinic, 2027, 6, 1, 8),
        )

    assert session.starts_at.utcoffset() is not None
    assert session.starts_at.astimezone(open_clinic.zone).hour == 9


def test_a_time_in_the_past_is_refused(open_clinic, patient, clinician, room, desk_user):
    with pytest.raises(BookingRefused) as refused:
        book(open_clinic, patient, clinician, room, MONDAY - timedelta(days=1), desk_user)

    assert refused.value.rule == "past"


def test_a_course_session_closer_than_seven_days_is_refused(
    open_clinic, plan, clinician, room, desk_user
):
    book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )

    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic,
            plan.patient,
            clinician,
            room,
            at(open_clinic, 2026, 11, 27, 10),
            desk_user,
            plan=plan,
        )

    assert refused.value.rule == "interval"
    assert "4 days away" in refused.value.message
    assert "at least 7 days apart" in refused.value.message


def test_reception_cannot_override_the_seven_day_rule(
    open_clinic, plan, clinician, room, desk_user
):
    book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )

    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic,
            plan.patient,
            clinician,
            room,
            at(open_clinic, 2026, 11, 27, 10),
            desk_user,
            plan=plan,
            override_reason="Patient travelling",
        )

    assert "Only a clinician can record the override" in refused.value.message


def test_a_clinician_overrides_the_seven_day_rule_with_a_reason(
    open_clinic, plan, clinician, room, desk_user
):
    book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )

    session = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 27, 10),
        clinician.user,
        plan=plan,
        override_reason="Low-dose formula; travelling abroad next week",
    )

    assert session.interval_override_by == clinician
    assert session.interval_override_reason.startswith("Low-dose formula")


def test_a_gap_longer_than_fourteen_days_is_booked_and_flagged(
    open_clinic, plan, clinician, room, desk_user
):
    book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )

    later = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 12, 9, 10),
        desk_user,
        plan=plan,
    )

    assert later.is_protocol_deviation
    assert later.sequence == 2


def test_a_session_booked_before_existing_ones_renumbers_the_course(
    open_clinic, plan, clinician, room, desk_user
):
    second = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 12, 7, 10),
        desk_user,
        plan=plan,
    )

    first = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )

    second.refresh_from_db()
    assert (first.sequence, second.sequence) == (1, 2)


def test_a_plan_of_another_patient_is_refused(open_clinic, plan, clinician, room, desk_user):
    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic,
            ScreenedPatientFactory(),
            clinician,
            room,
            at(open_clinic, 2026, 11, 23, 10),
            desk_user,
            plan=plan,
        )

    assert "another patient" in refused.value.message


def fake_clearance(monkeypatch, **answer):
    monkeypatch.setattr(
        scheduling,
        "session_clearance",
        lambda **kw: scheduling.Gate(**answer),
    )


def test_an_uncleared_referral_blocks_a_treatment_session(
    monkeypatch, open_clinic, plan, clinician, room, desk_user
):
    fake_clearance(
        monkeypatch,
        blocked=True,
        needs_screening=False,
        message="The patient must see a dermatologist before treatment.",
    )

    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic,
            plan.patient,
            clinician,
            room,
            at(open_clinic, 2026, 11, 23, 10),
            desk_user,
            plan=plan,
        )

    assert refused.value.rule == "clearance"
    assert "dermatologist" in refused.value.message


def test_the_clearance_gate_does_not_block_an_assessment(
    monkeypatch, open_clinic, patient, clinician, room, desk_user
):
    fake_clearance(monkeypatch, blocked=True, needs_screening=False, message="Refer")

    session = book(
        open_clinic,
        patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        kind=SessionKind.ASSESSMENT,
    )

    assert session.kind == SessionKind.ASSESSMENT


def test_a_lapsed_screening_books_with_a_screen_before_treatment_flag(
    monkeypatch, open_clinic, plan, clinician, room, desk_user
):
    fake_clearance(
        monkeypatch, blocked=False, needs_screening=True, message="Screen before treatment."
    )

    session = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )

    assert session.needs_screening


def test_an_absolute_finding_blocks_a_treatment_session(
    open_clinic, plan, clinician, room, desk_user
):
    # given: a screening that says the patient is pregnant (an absolute contraindication)
    plan.patient.sex_at_birth = "female"
    plan.patient.save(update_fields=["sex_at_birth"])
    ScreeningFactory(
        patient=plan.patient, screened_on=date(2026, 11, 20), answers={"pregnant": True}
    )

    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic,
            plan.patient,
            clinician,
            room,
            at(open_clinic, 2026, 11, 23, 10),
            desk_user,
            plan=plan,
        )

    # then: reception reads which kind of rule blocks, never the patient's clinical detail
    assert refused.value.rule == "pregnancy"
    assert refused.value.message.startswith(
        "Treatment cannot be booked: The screening shows an absolute contraindication"
    )
    assert "pregnan" not in refused.value.message


def test_a_patient_never_screened_cannot_be_booked_for_treatment(
    open_clinic, unscreened_patient, clinician, room, desk_user
):
    plan = TreatmentPlanFactory(patient=unscreened_patient, created_by=clinician)

    with pytest.raises(BookingRefused) as refused:
        book(
            open_clinic,
            unscreened_patient,
            clinician,
            room,
            at(open_clinic, 2026, 11, 23, 10),
            desk_user,
            plan=plan,
        )

    assert refused.value.rule == "screening"
    assert "never been screened" in refused.value.message
    assert "An assessment appointment can still be booked." in refused.value.message


def test_a_recent_clean_screening_clears_the_patient(open_clinic, plan, clinician, room, desk_user):
    ScreeningFactory(patient=plan.patient, screened_on=date(2026, 11, 20))

    session = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )

    assert not session.needs_screening


def test_a_screening_that_lapses_before_the_session_flags_it(
    open_clinic, unscreened_patient, clinician, room, desk_user
):
    plan = TreatmentPlanFactory(patient=unscreened_patient, created_by=clinician)
    ScreeningFactory(patient=plan.patient, screened_on=date(2026, 9, 1))

    session = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 12, 7, 10),
        desk_user,
        plan=plan,
    )

    assert session.needs_screening


def test_confirming_a_scheduled_session(open_clinic, patient, clinician, room, desk_user):
    session = TreatmentSessionFactory(patient=patient, clinician=clinician, room=room)

    session = scheduling.session_confirm(session=session, by=desk_user, now=MONDAY)

    assert session.status == SessionStatus.CONFIRMED
    assert session.confirmed_at == MONDAY


def test_a_cancelled_session_cannot_be_confirmed(open_clinic, patient, clinician, room, desk_user):
    session = TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        status=SessionStatus.CANCELLED_BY_CLINIC,
        status_reason="Closed",
    )

    with pytest.raises(BookingRefused) as refused:
        scheduling.session_confirm(session=session, by=desk_user, now=MONDAY)

    assert "cancelled by clinic cannot be confirmed" in refused.value.message


def test_check_in_only_on_the_day_of_the_session(open_clinic, patient, clinician, room, desk_user):
    tomorrow = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 11, 24, 10)
    )

    with pytest.raises(BookingRefused) as refused:
        scheduling.session_check_in(clinic=open_clinic, session=tomorrow, by=desk_user, now=MONDAY)

    assert "on the day of their session" in refused.value.message


def test_checking_in_today(open_clinic, patient, clinician, room, desk_user):
    today = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 11, 23, 10)
    )

    session = scheduling.session_check_in(
        clinic=open_clinic, session=today, by=desk_user, now=MONDAY
    )

    assert session.status == SessionStatus.CHECKED_IN


def test_a_no_show_before_the_start_time_is_refused(
    open_clinic, patient, clinician, room, desk_user
):
    session = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 11, 23, 10)
    )

    with pytest.raises(BookingRefused) as refused:
        scheduling.session_no_show(clinic=open_clinic, session=session, by=desk_user, now=MONDAY)

    assert "after the session's start time" in refused.value.message


def test_a_no_show_after_the_start_time(open_clinic, patient, clinician, room, desk_user):
    session = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 11, 23, 10)
    )

    session = scheduling.session_no_show(
        clinic=open_clinic, session=session, by=desk_user, now=at(open_clinic, 2026, 11, 23, 10, 20)
    )

    assert session.status == SessionStatus.NO_SHOW


def test_cancelling_needs_a_reason(open_clinic, patient, clinician, room, desk_user):
    session = TreatmentSessionFactory(patient=patient, clinician=clinician, room=room)

    with pytest.raises(BookingRefused) as refused:
        scheduling.session_cancel(
            clinic=open_clinic,
            session=session,
            by_patient=True,
            reason=" ",
            by=desk_user,
            now=MONDAY,
        )

    assert "Say why" in refused.value.message


def test_cancelling_records_who_cancelled_and_why(open_clinic, patient, clinician, room, desk_user):
    session = TreatmentSessionFactory(patient=patient, clinician=clinician, room=room)

    session = scheduling.session_cancel(
        clinic=open_clinic,
        session=session,
        by_patient=False,
        reason="Clinician ill",
        by=desk_user,
        now=MONDAY,
    )

    assert session.status == SessionStatus.CANCELLED_BY_CLINIC
    assert session.status_reason == "Clinician ill"
    assert session.cancelled_at == MONDAY


def test_moving_a_session_needs_it_confirmed_again(
    open_clinic, patient, clinician, room, desk_user
):
    session = book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 10), desk_user
    )
    scheduling.session_confirm(session=session, by=desk_user, now=MONDAY)

    moved = scheduling.session_move(
        clinic=open_clinic,
        session=session,
        starts_at=at(open_clinic, 2026, 11, 24, 11),
        by=desk_user,
        now=MONDAY,
    )

    assert moved.status == SessionStatus.SCHEDULED
    assert moved.starts_at == at(open_clinic, 2026, 11, 24, 11)
    assert moved.ends_at == at(open_clinic, 2026, 11, 24, 11, 45)


def test_a_move_too_close_to_the_next_course_session_is_refused(
    open_clinic, plan, clinician, room, desk_user
):
    first = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )
    book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 12, 7, 10),
        desk_user,
        plan=plan,
    )

    with pytest.raises(BookingRefused) as refused:
        scheduling.session_move(
            clinic=open_clinic,
            session=first,
            starts_at=at(open_clinic, 2026, 12, 3, 10),
            by=desk_user,
            now=MONDAY,
        )

    assert refused.value.rule == "interval"


def test_an_override_is_kept_in_the_session_history(open_clinic, plan, clinician, room, desk_user):
    book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )
    session = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 27, 10),
        clinician.user,
        plan=plan,
        override_reason="Travelling",
    )

    scheduling.session_move(
        clinic=open_clinic,
        session=session,
        starts_at=at(open_clinic, 2026, 11, 30, 10),
        by=desk_user,
        now=MONDAY,
    )

    session.refresh_from_db()
    assert session.interval_override_reason == ""
    assert session.history.filter(
        interval_override_reason="Travelling", interval_override_by=clinician
    ).exists()


# What a status allows: the table the pages read is the table the rules apply -----------------

ACTION_CALLS = {
    "confirm": lambda clinic, session, by, now: scheduling.session_confirm(
        session=session, by=by, now=now
    ),
    "check_in": lambda clinic, session, by, now: scheduling.session_check_in(
        clinic=clinic, session=session, by=by, now=now
    ),
    "cancel": lambda clinic, session, by, now: scheduling.session_cancel(
        clinic=clinic, session=session, by_patient=False, reason="Clinic closed", by=by, now=now
    ),
    "no_show": lambda clinic, session, by, now: scheduling.session_no_show(
        clinic=clinic, session=session, by=by, now=now
    ),
    "move": lambda clinic, session, by, now: scheduling.session_move(
        clinic=clinic,
        session=session,
        starts_at=session.starts_at + timedelta(hours=2),
        by=by,
        now=now,
    ),
}


# DOMAIN.md's session life: scheduled → confirmed → checked in → completed | cancelled | no-show.
ALLOWED = {
    SessionStatus.SCHEDULED: {"confirm", "check_in", "move", "cancel", "no_show"},
    SessionStatus.CONFIRMED: {"check_in", "move", "cancel", "no_show"},
}


@pytest.mark.parametrize("status", [s for s, _ in SessionStatus.choices])
@pytest.mark.parametrize("action", sorted(ACTION_CALLS))
def test_a_rule_accepts_exactly_the_actions_the_page_offers(
    open_clinic, clinician, room, desk_user, status, action
):
    # given: a session at 10:00 today, seen at 10:30 (so a no-show may be recorded)
    starts = at(open_clinic, 2026, 11, 23, 10)
    now = starts + timedelta(minutes=30)
    session = TreatmentSessionFactory(
        clinician=clinician,
        room=room,
        starts_at=starts,
        status=status,
        status_reason="Patient unwell" if "cancelled" in status else "",
        kind=SessionKind.ASSESSMENT,
    )
    offered = action in scheduling.session_allowed_actions(session=session, now=now)
    assert offered == (action in ALLOWED.get(status, set()))

    # when
    try:
        with time_machine.travel(now, tick=False):
            ACTION_CALLS[action](open_clinic, session, desk_user, now)
        refused = None
    except BookingRefused as refusal:
        refused = refusal

    # then: offered ⇔ not refused for its status
    if offered:
        assert refused is None or refused.rule != "status", refused
    else:
        assert refused is not None and refused.rule == "status"


def test_a_no_show_is_not_offered_before_the_start(open_clinic, clinician, room):
    session = TreatmentSessionFactory(
        clinician=clinician, room=room, starts_at=at(open_clinic, 2026, 11, 23, 10)
    )

    before = scheduling.session_allowed_actions(session=session, now=MONDAY)

    assert before == {"confirm", "check_in", "move", "cancel"}


# Two bookings at once -------------------------------------------------------------------------


def _deadlock() -> OperationalError:
    # How psycopg's DeadlockDetected reaches Django code: wrapped in OperationalError.
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def _deadlocking(monkeypatch, times: int):
    real = scheduling._check_slot
    calls = {"n": 0}

    def check_slot(**kwargs):
        calls["n"] += 1
        if calls["n"] <= times:
            raise _deadlock()
        return real(**kwargs)

    monkeypatch.setattr(scheduling, "_check_slot", check_slot)
    return calls


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_deadlock_is_retried_once_and_the_booking_goes_through(
    monkeypatch, open_clinic, patient, clinician, room, desk_user
):
    calls = _deadlocking(monkeypatch, times=1)

    session = book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 10), desk_user
    )

    assert calls["n"] == 2
    assert TreatmentSession.objects.filter(pk=session.pk).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_second_deadlock_is_answered_as_a_conflict_never_a_server_error(
    monkeypatch, open_clinic, patient, clinician, room, desk_user
):
    _deadlocking(monkeypatch, times=2)

    with pytest.raises(BookingRefused) as refused:
        book(open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 23, 10), desk_user)

    assert refused.value.rule == "conflict"
    assert "at the same moment, so nothing was booked" in refused.value.message
    assert not TreatmentSession.objects.exists()


def test_a_session_with_a_signed_record_cannot_be_cancelled_and_says_why(
    open_clinic, patient, clinician, room, desk_user
):
    session = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, status=SessionStatus.COMPLETED
    )
    SessionRecordFactory(session=session, signed_at=session.ends_at)

    with pytest.raises(BookingRefused) as refused:
        scheduling.session_cancel(
            clinic=open_clinic,
            session=session,
            by_patient=False,
            reason="x",
            by=desk_user,
            now=MONDAY,
        )

    assert refused.value.rule == "signed"
    assert "has a signed record" in refused.value.message
