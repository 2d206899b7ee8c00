"""The heartbeat travels through the real broker to a real worker (Redis in CI)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection

from clinic.celery import app as celery_app
from clinic.models import WorkerHeartbeat
from clinic.tasks import record_worker_heartbeat
from conftest import skip_unless_ci


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_heartbeat_sent_through_the_broker():
    if not celery_app.conf.broker_url.startswith("redis://"):
        skip_unless_ci("needs CELERY_BROKER_URL=redis://… (the real-worker test runs on Redis)")

    # The in-process worker runs tasks in its own thread; close that thread's database
    # connection after each task, as `celery worker` does, so the test database can be dropped.
    task_postrun.connect(close_worker_connection)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        record_worker_heartbeat.delay()
        deadline = time.monotonic() + 20
        while not WorkerHeartbeat.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.2)

    task_postrun.disconnect(close_worker_connection)
    assert WorkerHeartbeat.objects.filter(name="worker").exists()


def close_worker_connection(**kwargs):
    connection.close()
