from celery import shared_task
from celery.signals import beat_init, before_task_publish
from django.utils import timezone

from .health import BEAT, heartbeat_record, worker_heartbeat_record


@shared_task
def record_worker_heartbeat() -> None:
    worker_heartbeat_record(now=timezone.now())


# Beat's own heartbeat. Beat imports this module before it starts (autodiscovery), so these
# receivers are connected in the beat process; before_task_publish fires in whichever process
# publishes, hence the flag.
_in_beat = False


@beat_init.connect
def announce_beat(sender, **kwargs):
    """Beat is alive; and every scheduled job runs once now, so a freshly started system shows a
    live worker, beat and sweep at once instead of a minute later."""
    global _in_beat
    _in_beat = True
    heartbeat_record(name=BEAT, now=timezone.now())
    for entry in sender.app.conf.beat_schedule.values():
        sender.app.send_task(entry["task"])


@before_task_publish.connect
def beat_publishes(sender=None, **kwargs):
    if _in_beat:
        heartbeat_record(name=BEAT, now=timezone.now())
