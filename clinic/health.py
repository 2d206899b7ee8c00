"""The parts /healthz reports: database, broker and the worker's last heartbeat."""

from datetime import datetime

from django.db import connection

from .celery import app as celery_app
from .models import WorkerHeartbeat


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "down"; the type is what we report
        return f"error: {type(exc).__name__}"
    return "ok"


def broker_status(*, timeout: float = 2.0) -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # kombu raises transport-specific errors
        return f"error: {type(exc).__name__}"
    return "ok"


def worker_last_seen() -> datetime | None:
    try:
        return WorkerHeartbeat.objects.values_list("last_seen", flat=True).get(name="worker")
    except WorkerHeartbeat.DoesNotExist:
        return None


def worker_heartbeat_record(*, now: datetime) -> None:
    WorkerHeartbeat.objects.update_or_create(name="worker", defaults={"last_seen": now})
