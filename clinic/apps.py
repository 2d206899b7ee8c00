from django.apps import AppConfig

# Registers the deploy checks.
from . import checks  # noqa: F401


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self):
        # The signal receivers of the sign-in audit log (clinic.accounts) and of the idle timeout
        # (clinic.middleware, which stamps the login's time) connect when the app registry is
        # ready, not when the first request loads the middleware: a login made before any
        # request (a test client's force_login, a shell) is stamped and audited too.
        from . import accounts, middleware  # noqa: F401
