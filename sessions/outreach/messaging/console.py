"""SMS to the console (and, in the embedded default, to files under var/outbox/sms/ too)."""

import sys
import threading
import uuid

from .backend import SmsBackend
from .file import FileSmsBackend

_lock = threading.Lock()


class ConsoleSmsBackend(SmsBackend):
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        provider_id = f"console-{idempotency_key}-{uuid.uuid4().hex[:8]}"
        text = f"SMS to {to} (reminder {idempotency_key}, {provider_id})\n{body}\n{'-' * 79}\n"
        with _lock:
            self.stream.write(text)
            self.stream.flush()
        return provider_id


class ConsoleAndFileSmsBackend(SmsBackend):
    """The embedded default: print each text and keep a copy, like the email outbox."""

    def __init__(self):
        self.console = ConsoleSmsBackend()
        self.file = FileSmsBackend()

    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        self.console.send_sms(to=to, body=body, idempotency_key=idempotency_key)
        return self.file.send_sms(to=to, body=body, idempotency_key=idempotency_key)
