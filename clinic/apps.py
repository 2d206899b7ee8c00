from django.apps import AppConfig

# Registers the deploy checks. The sign-in audit log's signal receivers live in clinic.accounts,
# which the middleware and the URLconf import in every process that serves logins.
from . import checks  # noqa: F401


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"
