"""The parts /healthz reports: database, broker, and when the worker, beat and the reminder sweep
last showed signs of life."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from .celery import app as celery_app
from .models import WorkerHeartbeat

# What records each heartbeat: the worker runs the heartbeat task, beat records its own when it
# starts and whenever it sends a task, the sweep task records "sweep" after every run.
WORKER, BEAT, SWEEP = "worker", "beat", "sweep"
HEARTBEATS = (WORKER, BEAT, SWEEP)


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


def heartbeats_last_seen() -> dict[str, datetime | None]:
    seen = dict(WorkerHeartbeat.objects.values_list("name", "last_seen"))
    return {name: seen.get(name) for name in HEARTBEATS}


def worker_last_seen() -> datetime | None:
    return heartbeats_last_seen()[WORKER]


def stale_parts(last_seen: dict[str, datetime | None], *, now: datetime) -> list[str]:
    """The parts whose last sign of life is older than HEALTH_STALE_AFTER (or that never gave
    one): beat schedules every job each minute, so a few minutes of silence means it is down."""
    limit = now - timedelta(seconds=settings.HEALTH_STALE_AFTER_SECONDS)
    return [name for name, seen in last_seen.items() if seen is None or seen < limit]


def heartbeat_record(*, name: str, now: datetime) -> None:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"last_seen": now})


def worker_heartbeat_record(*, now: datetime) -> None:
    heartbeat_record(name=WORKER, now=now)
