from datetime import UTC, datetime, timedelta

import pytest
from django.db.utils import OperationalError

from clinic import tasks as clinic_tasks
from clinic.celery import app as celery_app
from clinic.health import BEAT, SWEEP, WORKER, heartbeat_record
from clinic.models import WorkerHeartbeat
from clinic.tasks import record_worker_heartbeat
from sessions.tests.factories import ReminderFactory


@pytest.fixture
def broker_down(monkeypatch):
    # Nothing listens on port 1: the broker connection is refused at once.
    connect = celery_app.connection_for_write
    monkeypatch.setattr(
        celery_app, "connection_for_write", lambda: connect(url="redis://127.0.0.1:1/0")
    )


NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def _alive(name, minutes_ago):
    heartbeat_record(name=name, now=NOW - timedelta(minutes=minutes_ago))


@pytest.fixture
def running(db, time_machine):
    """Worker, beat and the sweep all seen a minute ago."""
    time_machine.move_to(NOW, tick=False)
    for name in (WORKER, BEAT, SWEEP):
        _alive(name, 1)
    return time_machine


def test_healthz_reports_database_broker_and_each_process(client, running):
    record_worker_heartbeat()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "broker": "ok",
        "worker_last_seen": "2026-11-22T09:30:00+00:00",
        "beat_last_seen": "2026-11-22T09:29:00+00:00",
        "sweep_last_run": "2026-11-22T09:29:00+00:00",
        "stale": [],
        "oldest_due_reminder_age_seconds": None,
    }


def test_healthz_is_503_and_names_beat_when_it_has_been_silent(client, running):
    _alive(BEAT, 4)
    _alive(SWEEP, 4)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["stale"] == ["beat", "sweep"]


def test_healthz_is_503_and_names_the_worker_when_it_has_been_silent(client, running):
    _alive(WORKER, 10)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["stale"] == ["worker"]


def test_healthz_before_any_worker_names_every_part(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker_last_seen"] is None
    assert response.json()["stale"] == ["worker", "beat", "sweep"]


def test_healthz_gives_the_age_of_the_oldest_due_reminder(client, running):
    ReminderFactory(send_after=NOW - timedelta(minutes=7))
    ReminderFactory(send_after=NOW - timedelta(minutes=2))
    ReminderFactory(send_after=NOW + timedelta(hours=2))  # not due yet
    assert client.get("/healthz").json()["oldest_due_reminder_age_seconds"] == 7 * 60


def test_healthz_is_503_and_names_the_broker_when_it_is_down(client, running, broker_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("error")


def test_healthz_is_503_and_names_the_database_when_it_is_down(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr("clinic.health.connection.cursor", refuse)
        patch.setattr("clinic.middleware.Clinic.current", refuse)
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"
    assert response.json()["worker_last_seen"] is None


def test_heartbeat_task_moves_last_seen_forward(db, time_machine):
    time_machine.move_to(datetime(2026, 11, 22, 9, 0, tzinfo=UTC), tick=False)
    record_worker_heartbeat()
    time_machine.move_to(datetime(2026, 11, 22, 9, 1, tzinfo=UTC), tick=False)
    record_worker_heartbeat()

    assert WorkerHeartbeat.objects.get(name=WORKER).last_seen == datetime(
        2026, 11, 22, 9, 1, tzinfo=UTC
    )


def test_beat_runs_the_heartbeat_every_minute():
    entry = celery_app.conf.beat_schedule["worker-heartbeat"]
    assert entry["task"] == record_worker_heartbeat.name
    assert entry["schedule"] == 60.0


def test_beat_records_its_own_heartbeat_when_it_starts_and_whenever_it_sends(
    db, time_machine, monkeypatch
):
    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *a, **kw: sent.append(name))
    monkeypatch.setattr(clinic_tasks, "_in_beat", False)
    time_machine.move_to(NOW, tick=False)

    clinic_tasks.beat_publishes()  # a web process or worker publishing: not beat
    assert not WorkerHeartbeat.objects.filter(name=BEAT).exists()

    clinic_tasks.announce_beat(sender=type("Service", (), {"app": celery_app})())
    assert WorkerHeartbeat.objects.get(name=BEAT).last_seen == NOW
    # and every scheduled job runs once at start, so health shows a live sweep at once
    assert sorted(sent) == sorted(e["task"] for e in celery_app.conf.beat_schedule.values())

    time_machine.move_to(NOW + timedelta(minutes=1), tick=False)
    clinic_tasks.beat_publishes()
    assert WorkerHeartbeat.objects.get(name=BEAT).last_seen == NOW + timedelta(minutes=1)
