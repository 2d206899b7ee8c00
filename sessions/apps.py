"""The sessions app (label treatment_sessions) and the system checks it registers."""

from django.apps import AppConfig

# Registers the SMS settings checks (SMS_BACKEND=twilio needs its three settings).
from sessions.outreach.messaging import checks  # noqa: F401


class TreatmentSessionsConfig(AppConfig):
    # The label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "treatment_sessions"
    verbose_name = "Treatment sessions"
