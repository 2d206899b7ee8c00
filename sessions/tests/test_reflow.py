"""Moving a session with the later sessions of its plan (booking/reflow.py)."""

from datetime import UTC, datetime

import pytest
import time_machine

from sessions.booking import reflow, scheduling
from sessions.tests.conftest import MONDAY, at, book

pytestmark = pytest.mark.usefixtures("frozen_monday")


def test_moving_proposes_shifting_later_sessions_by_the_same_days(
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
    second = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 12, 7, 10),
        desk_user,
        plan=plan,
    )

    shifts = reflow.reflow_proposal(
        clinic=open_clinic, session=first, new_starts_at=at(open_clinic, 2026, 11, 30, 10)
    )

    assert [(s.session.pk, s.starts_at) for s in shifts] == [
        (second.pk, at(open_clinic, 2026, 12, 14, 10))
    ]


def test_a_move_with_reflow_keeps_the_course_spacing(open_clinic, plan, clinician, room, desk_user):
    first = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 23, 10),
        desk_user,
        plan=plan,
    )
    second = book(
        open_clinic,
        plan.patient,
        clinician,
        room,
        at(open_clinic, 2026, 12, 7, 10),
        desk_user,
        plan=plan,
    )
    new_time = at(open_clinic, 2026, 12, 2, 10)
    shifts = reflow.reflow_proposal(clinic=open_clinic, session=first, new_starts_at=new_time)

    reflow.session_move_with_reflow(
        clinic=open_clinic,
        session=first,
        starts_at=new_time,
        later=[(s.session, s.starts_at) for s in shifts],
        by=desk_user,
        now=MONDAY,
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.starts_at == new_time
    assert second.starts_at == at(open_clinic, 2026, 12, 16, 10)


def test_moving_a_course_across_the_autumn_change_keeps_the_later_wall_clock_time(
    open_clinic, plan, clinician, room, desk_user
):
    # 10:00 BST on Mon 12 Oct 2026; moved a week later, the next session crosses 25 October.
    with time_machine.travel("2026-10-01T08:00Z", tick=False):
        now = at(open_clinic, 2026, 10, 1, 9)
        first = scheduling.session_book(
            clinic=open_clinic,
            patient=plan.patient,
            clinician=clinician,
            room=room,
            starts_at=at(open_clinic, 2026, 10, 12, 10),
            by=desk_user,
            now=now,
            plan=plan,
        )
        scheduling.session_book(
            clinic=open_clinic,
            patient=plan.patient,
            clinician=clinician,
            room=room,
            starts_at=at(open_clinic, 2026, 10, 19, 10),
            by=desk_user,
            now=now,
            plan=plan,
        )

        shifts = reflow.reflow_proposal(
            clinic=open_clinic, session=first, new_starts_at=at(open_clinic, 2026, 10, 19, 10)
        )

    # 26 October is GMT: 10:00 local is 10:00 UTC, an hour later in UTC than 10:00 BST.
    assert shifts[0].starts_at == datetime(2026, 10, 26, 10, 0, tzinfo=UTC)
    assert shifts[0].starts_at.astimezone(open_clinic.zone).hour == 10
