"""The maintenance (recall) list and its contact log."""

from datetime import date

import pytest
import time_machine

from clinic.roles import Role
from sessions.booking.maintenance import add_months, maintenance_due, maintenance_overdue_count
from sessions.models import ContactAttempt, PlanStatus, SessionStatus
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import (
    ContactAttemptFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY, tick=False):
        yield


def completed_course(clinic, last_on: date, **kw):
    plan = TreatmentPlanFactory(status=PlanStatus.COMPLETED, **kw)
    TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        status=SessionStatus.COMPLETED,
        starts_at=at(clinic, last_on.year, last_on.month, last_on.day, 10),
    )
    return plan


def test_months_are_added_on_the_calendar():
    assert add_months(date(2026, 10, 31), 4) == date(2027, 2, 28)
    assert add_months(date(2026, 7, 15), 4) == date(2026, 11, 15)


def test_maintenance_is_due_four_months_after_the_last_course_session(clinic):
    overdue = completed_course(clinic, date(2026, 7, 1))  # due 1 Nov: overdue
    soon = completed_course(clinic, date(2026, 8, 10))  # due 10 Dec: within 30 days
    completed_course(clinic, date(2026, 9, 30))  # due 30 Jan: not yet

    rows = maintenance_due(clinic=clinic, today=TODAY)

    assert [(r.plan, r.due_on, r.overdue) for r in rows] == [
        (overdue, date(2026, 11, 1), True),
        (soon, date(2026, 12, 10), False),
    ]
    assert maintenance_overdue_count(clinic=clinic, today=TODAY) == 1


def test_the_clinic_setting_changes_when_maintenance_is_due(clinic):
    clinic.maintenance_after_months = 6
    clinic.save()
    completed_course(clinic, date(2026, 7, 1))

    assert maintenance_due(clinic=clinic, today=TODAY) == []


def test_a_course_still_running_is_not_on_the_list(clinic):
    plan = completed_course(clinic, date(2026, 6, 1))
    plan.status = PlanStatus.ACTIVE
    plan.save()

    assert maintenance_due(clinic=clinic, today=TODAY) == []


def test_a_patient_with_a_session_booked_after_the_course_is_left_off(clinic):
    plan = completed_course(clinic, date(2026, 7, 1))
    TreatmentSessionFactory(patient=plan.patient, starts_at=at(clinic, 2026, 11, 30, 10))

    assert maintenance_due(clinic=clinic, today=TODAY) == []


def test_reception_logs_a_contact_attempt(client_as, clinic):
    plan = completed_course(clinic, date(2026, 7, 1))
    client = client_as(Role.RECEPTION)

    response = client.post(
        f"/maintenance/{plan.pk}/contact/",
        {"channel": "phone", "outcome": "message_left", "note": "Voicemail"},
        follow=True,
    )

    attempt = ContactAttempt.objects.get()
    assert (attempt.plan, attempt.outcome, attempt.attempted_at) == (plan, "message_left", MONDAY)
    assert "Message left" in response.content.decode()


def test_a_contact_attempt_without_an_outcome_is_refused_with_the_reason(client_as, clinic):
    plan = completed_course(clinic, date(2026, 7, 1))

    response = client_as(Role.RECEPTION).post(
        f"/maintenance/{plan.pk}/contact/", {"channel": "phone"}, follow=True
    )

    assert "was not logged" in response.content.decode()
    assert not ContactAttempt.objects.exists()


@pytest.mark.parametrize("rows", [1, 50])
def test_the_maintenance_list_query_count_does_not_grow(
    client_as, clinic, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        plan = completed_course(clinic, date(2026, 7, 1))
        ContactAttemptFactory(plan=plan)
    client = client_as(Role.RECEPTION)

    with django_assert_max_num_queries(12):
        response = client.get("/maintenance/")

    assert response.content.decode().count('data-testid="maintenance-row"') == rows


def test_the_dashboard_counts_overdue_maintenance(client_as, clinic):
    completed_course(clinic, date(2026, 6, 1))
    completed_course(clinic, date(2026, 7, 1))

    page = client_as(Role.RECEPTION).get("/").content.decode()

    assert '<p class="display-6 mb-0" data-testid="maintenance-overdue">2</p>' in page
