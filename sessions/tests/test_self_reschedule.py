"""Moving an appointment from the patient's link (sessions/outreach/self_reschedule.py): only to
free slots that keep the course spacing, up to the cancellation cutoff, through session_move."""

from datetime import time, timedelta

import pytest
import time_machine

from clinic.refusals import BookingRefused
from clinic.roles import Role
from clinic.tests.factories import WorkingHoursFactory
from sessions.models import PatientLink, SessionKind, SessionStatus
from sessions.outreach.links import patient_link_issue, patient_link_resolve
from sessions.outreach.self_reschedule import patient_link_reschedule, reschedule_options
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import TreatmentSessionFactory


@pytest.fixture
def now():
    with time_machine.travel(MONDAY, tick=False):
        yield MONDAY


def course(clinic, plan, clinician, room):
    """Sessions on Mondays 30 Nov, 7 Dec and 14 Dec at 10:00: 7 days apart."""
    return [
        TreatmentSessionFactory(
            patient=plan.patient,
            plan=plan,
            clinician=clinician,
            room=room,
            kind=SessionKind.TREATMENT,
            starts_at=at(clinic, 2026, 11, 30, 10) + timedelta(days=7 * n),
            ends_at=at(clinic, 2026, 11, 30, 10, 45) + timedelta(days=7 * n),
        )
        for n in range(3)
    ]


def link_for(session, now):
    url = patient_link_issue(session=session, now=now)
    token = url.rstrip("/").rsplit("/", 1)[-1]
    return patient_link_resolve(token=token, now=now)


def test_options_keep_the_spacing_to_both_neighbours(open_clinic, plan, clinician, room, now):
    _, middle, _ = course(open_clinic, plan, clinician, room)
    options = reschedule_options(link=link_for(middle, now), clinic=open_clinic, now=now)
    assert options
    # 7 days after the first and 7 before the last: only Monday 7 December keeps 7–14 days.
    assert {o.astimezone(open_clinic.zone).date() for o in options} == {
        middle.starts_at.astimezone(open_clinic.zone).date()
    }
    assert middle.starts_at not in options


def test_the_last_session_may_move_later_within_the_longest_gap(
    open_clinic, plan, clinician, room, now
):
    *_, last = course(open_clinic, plan, clinician, room)
    options = reschedule_options(link=link_for(last, now), clinic=open_clinic, now=now, limit=500)
    middle_day = at(open_clinic, 2026, 12, 7, 10).date()
    days = {(o.astimezone(open_clinic.zone).date() - middle_day).days for o in options}
    assert days and min(days) >= 7 and max(days) <= 14


def test_moving_to_an_option_moves_the_session_and_nothing_else(
    open_clinic, plan, clinician, room, now
):
    first, middle, last = course(open_clinic, plan, clinician, room)
    link = link_for(middle, now)
    target = reschedule_options(link=link, clinic=open_clinic, now=now)[0]
    moved = patient_link_reschedule(link=link, clinic=open_clinic, starts_at=target, now=now)
    assert moved.starts_at == target and moved.status == SessionStatus.SCHEDULED
    first.refresh_from_db()
    last.refresh_from_db()
    assert first.starts_at == at(open_clinic, 2026, 11, 30, 10)
    assert last.starts_at == at(open_clinic, 2026, 12, 14, 10)
    assert PatientLink.objects.get(pk=link.pk).revoked_at is not None  # old link dies


def test_a_time_that_breaks_the_spacing_is_refused(open_clinic, plan, clinician, room, now):
    _, middle, _ = course(open_clinic, plan, clinician, room)
    with pytest.raises(BookingRefused) as refusal:
        patient_link_reschedule(
            link=link_for(middle, now),
            clinic=open_clinic,
            starts_at=at(open_clinic, 2026, 12, 8, 10),
            now=now,
        )
    assert refusal.value.rule == "patient_reschedule"
    middle.refresh_from_db()
    assert middle.starts_at == at(open_clinic, 2026, 12, 7, 10)


def test_no_option_when_later_sessions_leave_no_room(open_clinic, plan, staff, room, now):
    # A clinician who works Mondays 10:00–10:45 only: the session's own time is the only slot.
    narrow = staff(Role.CLINICIAN, display_name="Dr Narrow")
    WorkingHoursFactory(staff=narrow, weekday=0, starts=time(10), ends=time(10, 45))
    _, middle, _ = course(open_clinic, plan, narrow, room)
    assert reschedule_options(link=link_for(middle, now), clinic=open_clinic, now=now) == []


def test_past_the_cutoff_nothing_can_be_moved(open_clinic, plan, clinician, room, now):
    first, _, _ = course(open_clinic, plan, clinician, room)
    late = first.starts_at - timedelta(hours=open_clinic.patient_cancel_cutoff_hours - 1)
    link = link_for(first, now)
    assert reschedule_options(link=link, clinic=open_clinic, now=late) == []
    with pytest.raises(BookingRefused) as refusal:
        patient_link_reschedule(
            link=link, clinic=open_clinic, starts_at=first.starts_at + timedelta(hours=1), now=late
        )
    assert refusal.value.rule == "patient_cancel_cutoff"
