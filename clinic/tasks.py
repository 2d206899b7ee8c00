from celery import shared_task
from django.utils import timezone

from .health import worker_heartbeat_record


@shared_task
def record_worker_heartbeat() -> None:
    worker_heartbeat_record(now=timezone.now())
