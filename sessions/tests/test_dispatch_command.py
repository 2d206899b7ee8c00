"""`python manage.py dispatch_reminders` (a contract point) and the beat task: one sweep each."""

from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from patients.tests.factories import PatientFactory
from sessions.models import Reminder, ReminderKind, ReminderStatus
from sessions.outreach.rows import reminders_on_booked
from sessions.tasks import dispatch_due_reminders as dispatch_task
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import TreatmentSessionFactory

CONSENTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _run() -> str:
    out = StringIO()
    call_command("dispatch_reminders", stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def booked(clinic):
    patient = PatientFactory(email_consent_at=CONSENTED)
    session = TreatmentSessionFactory(patient=patient, starts_at=at(clinic, 2026, 11, 27, 10))
    reminders_on_booked(session=session, now=MONDAY)
    return session


def test_the_command_prints_how_many_reminders_it_sent(booked):
    with time_machine.travel(MONDAY, tick=False):
        first = _run()
        second = _run()

    assert first == "Reminders: 1 sent, 0 deferred, 0 expired, 0 failed, 0 unknown"
    assert second == "Reminders: 0 sent, 0 deferred, 0 expired, 0 failed, 0 unknown"
    assert len(mail.outbox) == 1


def test_the_command_on_an_empty_outbox_prints_zeros(clinic):
    assert _run() == "Reminders: 0 sent, 0 deferred, 0 expired, 0 failed, 0 unknown"


def test_the_command_reports_expired_reminders(clinic, booked):
    with time_machine.travel(at(clinic, 2026, 11, 27, 11), tick=False):
        line = _run()

    assert line == "Reminders: 0 sent, 0 deferred, 3 expired, 0 failed, 0 unknown"
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.EXPIRED}


def test_the_beat_task_takes_no_arguments_and_runs_one_sweep(booked):
    with time_machine.travel(MONDAY, tick=False):
        result = dispatch_task.apply().get()

    assert result["sent"] == 1
    assert Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION).status == "sent"


def test_beat_schedules_the_sweep_every_minute_by_the_tasks_registered_name(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-due-reminders"]

    assert entry["task"] == dispatch_task.name == "sessions.tasks.dispatch_due_reminders"
    assert entry["schedule"] == 60.0
