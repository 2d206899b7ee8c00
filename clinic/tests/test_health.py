from datetime import UTC, datetime

import pytest
from django.db.utils import OperationalError

from clinic.celery import app as celery_app
from clinic.models import WorkerHeartbeat
from clinic.tasks import record_worker_heartbeat


@pytest.fixture
def broker_down(monkeypatch):
    # Nothing listens on port 1: the broker connection is refused at once.
    connect = celery_app.connection_for_write
    monkeypatch.setattr(
        celery_app, "connection_for_write", lambda: connect(url="redis://127.0.0.1:1/0")
    )


def test_healthz_reports_database_broker_and_last_heartbeat(client, db, time_machine):
    time_machine.move_to(datetime(2026, 11, 22, 9, 30, tzinfo=UTC), tick=False)
    record_worker_heartbeat()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "broker": "ok",
        "worker_last_seen": "2026-11-22T09:30:00+00:00",
    }


def test_healthz_without_any_worker_says_null(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["worker_last_seen"] is None


def test_healthz_is_503_and_names_the_broker_when_it_is_down(client, db, broker_down):
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

    assert WorkerHeartbeat.objects.get().last_seen == datetime(2026, 11, 22, 9, 1, tzinfo=UTC)


def test_beat_runs_the_heartbeat_every_minute():
    entry = celery_app.conf.beat_schedule["worker-heartbeat"]
    assert entry["task"] == record_worker_heartbeat.name
    assert entry["schedule"] == 60.0
