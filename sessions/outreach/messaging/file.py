"""SMS to files: one file per message under settings.SMS_FILE_PATH (var/outbox/sms/ by default)."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .backend import DeliveryFailed, SmsBackend


class FileSmsBackend(SmsBackend):
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path or settings.SMS_FILE_PATH)
        if self.path.exists() and not self.path.is_dir():
            raise ImproperlyConfigured(f"SMS_FILE_PATH {self.path} exists and is not a folder.")

    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        provider_id = f"file-{idempotency_key}-{uuid.uuid4().hex[:8]}"
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / f"{stamp}-{provider_id}.txt").write_text(
                f"To: {to}\nReminder: {idempotency_key}\n\n{body}\n", encoding="utf-8"
            )
        except OSError as exc:
            reason = f"The SMS outbox folder is not writable ({type(exc).__name__})."
            raise DeliveryFailed(reason) from exc
        return provider_id
