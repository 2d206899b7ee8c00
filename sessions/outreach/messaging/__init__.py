"""Outbound messages: the SMS backend interface and the email path the reminder sweep uses.

An SMS backend is a class with `send_sms(*, to, body, idempotency_key) -> provider_id`; the
setting SMS_BACKEND picks it: "console+file" (the embedded default), "console", "file" or
"twilio", or the dotted path of an SmsBackend subclass (any value with a dot), which the
reliability tests use to give a real worker process a slow or failing provider. A backend that
cannot deliver raises DeliveryFailed with a reason that names no patient (no number, no address,
no text), because the reason is stored on the reminder for staff to read.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .backend import DeliveryFailed, SmsBackend
from .console import ConsoleAndFileSmsBackend, ConsoleSmsBackend
from .file import FileSmsBackend
from .twilio_backend import TwilioSmsBackend

__all__ = ["DeliveryFailed", "SmsBackend", "send_email", "send_sms", "sms_backend"]


def sms_backend(name: str | None = None) -> SmsBackend:
    """The configured backend (a new instance each call: settings may change in tests)."""
    backends = {
        "console+file": ConsoleAndFileSmsBackend,
        "console": ConsoleSmsBackend,
        "file": FileSmsBackend,
        "twilio": TwilioSmsBackend,
    }
    name = name or settings.SMS_BACKEND
    if "." in name:
        return dotted_sms_backend(name)()
    if name not in backends:
        raise ImproperlyConfigured(
            f"SMS_BACKEND={name!r} is not one of: {', '.join(sorted(backends))}."
        )
    return backends[name]()


def dotted_sms_backend(path: str) -> type[SmsBackend]:
    """The SmsBackend subclass at `path` ("package.module.Class")."""
    try:
        backend = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"SMS_BACKEND={path!r} cannot be imported ({exc}).") from exc
    if not (isinstance(backend, type) and issubclass(backend, SmsBackend)):
        raise ImproperlyConfigured(f"SMS_BACKEND={path!r} is not an SmsBackend class.")
    return backend


def send_sms(*, to: str, body: str, idempotency_key: str) -> str:
    """Send one text through the configured backend; returns the provider's message id."""
    return sms_backend().send_sms(to=to, body=body, idempotency_key=idempotency_key)


def send_email(*, message, idempotency_key: str) -> str:
    """Send one prepared EmailMessage through Django's email backend; returns its Message-ID.

    The Message-ID is derived from the idempotency key, so a message that is ever sent twice
    carries the same id and mail clients show it once."""
    from smtplib import SMTPException

    message.extra_headers.setdefault("Message-ID", message_id_for(idempotency_key))
    try:
        message.send(fail_silently=False)
    except SMTPException as exc:
        code = getattr(exc, "smtp_code", None)
        raise DeliveryFailed(
            f"The mail server refused the message ({type(exc).__name__}"
            + (f", SMTP {code}" if code else "")
            + ")."
        ) from exc
    except OSError as exc:
        raise DeliveryFailed(
            f"The mail server could not be reached ({type(exc).__name__})."
        ) from exc
    return message.extra_headers["Message-ID"]


def message_id_for(idempotency_key: str) -> str:
    from urllib.parse import urlsplit

    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<reminder-{idempotency_key}@{host}>"
