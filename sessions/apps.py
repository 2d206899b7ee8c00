from django.apps import AppConfig


class TreatmentSessionsConfig(AppConfig):
    # The label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "treatment_sessions"
    verbose_name = "Treatment sessions"
