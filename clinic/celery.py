"""The Celery app. Tasks take ids only: never names, phone numbers or clinical data."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def announce_worker(sender, **kwargs):
    # Beat's first heartbeat comes a minute after it starts; send one through the broker now so a
    # freshly started system shows a live worker at once.
    sender.app.send_task("clinic.tasks.record_worker_heartbeat")
