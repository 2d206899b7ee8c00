from django.apps import AppConfig


class TreatmentSessionsConfig(AppConfig):
    # The label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "treatment_sessions"
    verbose_name = "Treatment sessions"

    def ready(self):
        # Celery's autodiscover_tasks() imports only tasks.py; the safety tasks live in their own
        # module, so importing it here registers them in the worker (and the web process).
        from . import tasks_safety  # noqa: F401

        # Registers the SMS settings checks (SMS_BACKEND=twilio needs its three settings).
        from .messaging import checks  # noqa: F401
