from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self):
        # Connects the sign-in audit log to Django's and axes' login signals.
        from . import accounts, checks  # noqa: F401
