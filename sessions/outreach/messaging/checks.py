"""System checks for the messaging settings (healthchecks style: fail at start, not at 3 am)."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from . import dotted_sms_backend

SMS_BACKENDS = ("console+file", "console", "file", "twilio")
TWILIO_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")


@register()
def check_sms_backend(app_configs, **kwargs):
    backend = getattr(settings, "SMS_BACKEND", "console+file")
    if "." in backend:
        return _check_dotted_backend(backend)
    if backend not in SMS_BACKENDS:
        return [
            Error(
                f"SMS_BACKEND={backend!r} is not a known SMS backend.",
                hint=f"Use one of: {', '.join(SMS_BACKENDS)}.",
                id="mesotrack.E701",
            )
        ]
    if backend != "twilio":
        return []
    missing = [name for name in TWILIO_SETTINGS if not getattr(settings, name, "")]
    if not missing:
        return []
    return [
        Error(
            f"SMS_BACKEND is twilio but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set.",
            hint="Set them in the environment (see README.md), or use SMS_BACKEND=console+file.",
            id="mesotrack.E702",
        )
    ]


def _check_dotted_backend(path: str) -> list[Error]:
    try:
        dotted_sms_backend(path)
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Give the dotted path of an SmsBackend subclass, or use one of: "
                f"{', '.join(SMS_BACKENDS)}.",
                id="mesotrack.E703",
            )
        ]
    return []
