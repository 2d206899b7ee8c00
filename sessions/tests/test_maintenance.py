"""The maintenance (recall) list and its contact log."""

from datetime import date

import pytest
import time_machine

from clinic.roles import Role
from sessions.booking.maintenance import (
    add_months,
    maintenance_due,
    maintenance_overdue_count,
    maintenance_reschedule,
)
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
    """A course whose last session on `last_on` was signed (signing reschedules maintenance)."""
    plan = TreatmentPlanFactory(status=PlanStatus.COMPLETED, **kw)
    TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        status=SessionStatus.COMPLETED,
        starts_at=at(clinic, last_on.year, last_on.month, last_on.day, 10),
    )
    maintenance_reschedule(clinic=clinic, patient_id=plan.patient_id, visit_on=last_on)
    return plan


def test_months_are_added_on_the_calendar():
    assert add_months(date(2026, 10, 31), 4) == date(2027, 2, 28)
    assert add_months(date(2026, 7, 15), 4) == date(2026, 11, 15)


def test_maintenance_is_due_four_months_after_the_last_course_session(clinic):
    overdue = completed_course(clinic, date(2026, 7, 1))  # due 1 Nov: overdue
    soon = completed_course(clinic, date(2026, 8, 10))  # due 10 Dec: within 3 months
    completed_course(clinic, date(2026, 11, 2))  # due 2 Mar: not yet

    rows = maintenance_due(clinic=clinic, today=TODAY, now=MONDAY)

    assert [(r.plan, r.due_on, r.overdue) for r in rows] == [
        (overdue, date(2026, 11, 1), True),
        (soon, date(2026, 12, 10), False),
    ]
    assert maintenance_overdue_count(clinic=clinic, today=TODAY, now=MONDAY) == 1


def test_the_clinic_setting_changes_when_maintenance_is_due(clinic):
    clinic.maintenance_after_months = 6
    clinic.save()
    completed_course(clinic, date(2026, 7, 1))

    # due on 1 January (six months on), so not this month's work
    [row] = maintenance_due(clinic=clinic, today=TODAY, now=MONDAY)
    assert row.due_on == date(2027, 1, 1)
    assert maintenance_due(clinic=clinic, today=TODAY, now=MONDAY, window="month") == []


def test_a_course_still_running_is_not_on_the_list(clinic):
    plan = completed_course(clinic, date(2026, 6, 1))
    plan.status = PlanStatus.ACTIVE
    plan.save()

    assert maintenance_due(clinic=clinic, today=TODAY, now=MONDAY) == []


def test_a_patient_with_a_session_booked_after_the_course_is_left_off(clinic):
    plan = completed_course(clinic, date(2026, 7, 1))
    TreatmentSessionFactory(patient=plan.patient, starts_at=at(clinic, 2026, 11, 30, 10))

    assert maintenance_due(clinic=clinic, today=TODAY, now=MONDAY) == []


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
    assert response.redirect_chain == [("/maintenance/?window=month", 302)]


def test_a_contact_attempt_without_an_outcome_is_refused_with_the_reason(client_as, clinic):
    plan = completed_course(clinic, date(2026, 7, 1))

    response = client_as(Role.RECEPTION).post(
        f"/maintenance/{plan.pk}/contact/", {"channel": "phone"}, follow=True
    )

    assert "was not logged" in response.content.decode()
    assert not ContactAttempt.objects.exists()


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("window", ["month", "3months"])
def test_the_maintenance_list_query_count_does_not_grow(
    client_as, clinic, rows, window, django_assert_max_num_queries
):
    for n in range(rows):
        plan = completed_course(clinic, date(2026, 7, 1) if n % 2 else date(2026, 7, 25))
        ContactAttemptFactory(plan=plan)
        ContactAttemptFactory(plan=plan, outcome="call_back")
    client = client_as(Role.RECEPTION)

    with django_assert_max_num_queries(12):
        response = client.get(f"/maintenance/?window={window}")

    assert response.content.decode().count('data-testid="maintenance-row"') == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_the_maintenance_csv_query_count_does_not_grow(
    client_as, clinic, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        ContactAttemptFactory(plan=completed_course(clinic, date(2026, 7, 1)))
    client = client_as(Role.RECEPTION)

    with django_assert_max_num_queries(12):
        response = client.get("/maintenance/download/?window=3months")

    assert len(response.content.decode().splitlines()) == rows + 1


def test_the_dashboard_counts_overdue_maintenance(client_as, clinic):
    completed_course(clinic, date(2026, 6, 1))
    completed_course(clinic, date(2026, 7, 1))

    page = client_as(Role.RECEPTION).get("/").content.decode()

    assert '<p class="display-6 mb-0" data-testid="maintenance-overdue">2</p>' in page


def test_after_a_maintenance_visit_the_recall_list_and_the_prompt_agree(open_clinic, clinic):
    """Issue 11: after one maintenance visit the patient was sent "time for your next visit"
    yet had dropped off reception's recall list. Both now ask booking/maintenance.py."""
    from django.core import mail

    from sessions.models import Reminder, ReminderKind
    from sessions.outreach.sweep import dispatch_due_reminders

    # given a course that ended on 2 March and a maintenance visit, signed, on 6 July
    plan = completed_course(clinic, date(2026, 3, 2))
    plan.patient.email_consent_at = at(clinic, 2026, 1, 5, 9)
    plan.patient.save(update_fields=["email_consent_at"])
    TreatmentSessionFactory(
        patient=plan.patient, status=SessionStatus.COMPLETED, starts_at=at(clinic, 2026, 7, 6, 10)
    )
    maintenance_reschedule(clinic=clinic, patient_id=plan.patient_id, visit_on=date(2026, 7, 6))

    # when the sweep runs on 23 November
    dispatch_due_reminders(now=MONDAY)

    # then the prompt went out for 6 November and the recall list shows the same due date
    prompt = Reminder.objects.get(plan=plan, kind=ReminderKind.MAINTENANCE)
    assert prompt.due_at.astimezone(clinic.zone).date() == date(2026, 11, 6)
    assert "next visit" in mail.outbox[0].subject
    rows = maintenance_due(clinic=clinic, today=TODAY, now=MONDAY)
    assert [(r.plan, r.due_on, r.last_visit_on, r.overdue) for r in rows] == [
        (plan, date(2026, 11, 6), date(2026, 7, 6), True)
    ]


def test_a_later_visit_moves_maintenance_on_and_an_older_one_signed_late_does_not(clinic):
    plan = completed_course(clinic, date(2026, 3, 2))

    maintenance_reschedule(clinic=clinic, patient_id=plan.patient_id, visit_on=date(2026, 7, 6))
    maintenance_reschedule(clinic=clinic, patient_id=plan.patient_id, visit_on=date(2026, 5, 1))

    plan.refresh_from_db()
    assert (plan.maintenance_due_on, plan.maintenance_prompt_on) == (
        date(2026, 11, 6),
        date(2026, 11, 6),
    )


def test_an_archived_patient_is_not_recalled(clinic):
    plan = completed_course(clinic, date(2026, 7, 1))
    plan.patient.archived_at = MONDAY
    plan.patient.save(update_fields=["archived_at"])

    assert maintenance_due(clinic=clinic, today=TODAY, now=MONDAY) == []


def test_the_list_is_paginated_and_counted_once(client_as, clinic):
    for n in range(55):
        completed_course(clinic, date(2026, 7, 1) if n % 2 else date(2026, 8, 10))
    client = client_as(Role.RECEPTION)

    first = client.get("/maintenance/?window=3months").content.decode()
    second = client.get("/maintenance/?window=3months&page=2").content.decode()

    assert first.count('data-testid="maintenance-row"') == 50
    assert second.count('data-testid="maintenance-row"') == 5
    assert "<strong>55</strong> due, <strong>27</strong> of them overdue" in first
    assert "Page 2 of 2" in second
