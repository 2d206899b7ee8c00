"""Reliability of the sweep under concurrency, on PostgreSQL (SKIP LOCKED).

Two sweeps at once (two beat ticks overlapping, or two workers) must send each reminder once.
SQLite serialises writers with its IMMEDIATE transactions, so only PostgreSQL runs the claims
truly in parallel. The tests with a real Celery worker and Redis build on the same hooks:
`reminders.deliver_message` is the one function a test makes slow or failing.
"""

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from clinic.models import Clinic
from patients.tests.factories import PatientFactory
from sessions import reminders
from sessions.models import Reminder, ReminderKind, ReminderStatus, TreatmentSession
from sessions.tests.conftest import MONDAY
from sessions.tests.factories import TreatmentSessionFactory

CONSENTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DUE = 120


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_send_each_reminder_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("parallel claims need PostgreSQL (SQLite serialises writers)")
    # given: 120 due email reminders and a provider slow enough for the sweeps to overlap
    Clinic.objects.create(name="Race Clinic", time_zone="Europe/London")
    first = TreatmentSessionFactory(starts_at=MONDAY + timedelta(days=3))
    for n in range(DUE):
        patient = PatientFactory(email_consent_at=CONSENTED)
        session = TreatmentSession.objects.create(
            patient=patient,
            clinician=first.clinician,
            room=first.room,
            starts_at=MONDAY + timedelta(days=3, minutes=60 + n),
            ends_at=MONDAY + timedelta(days=3, minutes=61 + n),
        )
        Reminder.objects.create(
            kind=ReminderKind.APPOINTMENT,
            channel="email",
            patient=patient,
            session=session,
            due_at=MONDAY,
            send_after=MONDAY,
        )
    delivered: list[int] = []
    lock = threading.Lock()

    def slow_provider(*, reminder, message, clinic):
        time.sleep(0.005)
        with lock:
            delivered.append(reminder.pk)
        return f"fake-{reminder.pk}"

    monkeypatch.setattr(reminders, "deliver_message", slow_provider)
    start = threading.Barrier(2)
    results = []

    def sweep():
        try:
            start.wait()
            results.append(reminders.dispatch_due_reminders(now=MONDAY, batch_size=10))
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: every reminder went out exactly once, and both sweeps did part of the work
    assert Counter(delivered).most_common(1)[0][1] == 1
    assert len(delivered) == DUE
    assert sum(r.sent for r in results) == DUE
    assert all(r.sent > 0 for r in results)
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.SENT}
