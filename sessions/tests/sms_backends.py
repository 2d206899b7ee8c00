"""SMS backends for the reliability tests, picked by dotted path (SMS_BACKEND=sessions.tests…).

They write one marker file per event under settings.SMS_FILE_PATH, so a test can count what a
worker did even when the worker is another process, or was killed: `started-<reminder>-…` when a
send begins, `delivered-<reminder>-…` when the provider has the message, `refused-<reminder>-…`
when it turned the message down. Each file holds the process and thread that wrote it.
"""

import os
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from django.conf import settings

from sessions.outreach.messaging import DeliveryFailed, SmsBackend


def _mark(event: str, idempotency_key: str) -> str:
    folder = Path(settings.SMS_FILE_PATH)
    folder.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    (folder / f"{event}-{idempotency_key}-{token}").write_text(
        f"{os.getpid()} {threading.current_thread().name}\n", encoding="utf-8"
    )
    return token


def marks(folder: Path, event: str) -> Counter:
    """How many `event` markers each reminder id has in `folder`."""
    return Counter(int(p.name.split("-")[1]) for p in Path(folder).glob(f"{event}-*"))


def writers(folder: Path, event: str) -> set[str]:
    """The distinct "pid thread" that wrote `event` markers."""
    return {p.read_text(encoding="utf-8").strip() for p in Path(folder).glob(f"{event}-*")}


class RecordingSmsBackend(SmsBackend):
    """A provider that accepts every message after a short round trip."""

    # Long enough for two sweeps running at once to interleave their sends.
    ROUND_TRIP_SECONDS = 0.01

    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        time.sleep(self.ROUND_TRIP_SECONDS)
        return f"recorded-{_mark('delivered', idempotency_key)}"


class HangingSmsBackend(SmsBackend):
    """A provider that takes the message and never answers: the worker is killed meanwhile."""

    HANG_SECONDS = 120

    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        _mark("started", idempotency_key)
        time.sleep(self.HANG_SECONDS)
        return f"recorded-{_mark('delivered', idempotency_key)}"


class RefusingSmsBackend(SmsBackend):
    """A provider that is down: every attempt is refused."""

    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        _mark("refused", idempotency_key)
        raise DeliveryFailed("The test SMS provider refused the message.")
