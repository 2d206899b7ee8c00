"""Real Celery workers and a throwaway Redis for the reliability tests.

`threaded_worker` runs a worker inside the test process (threads pool, so tasks share the test's
settings and database); `worker_process` runs `celery -A clinic worker` as its own process group,
so a test can SIGKILL it; `RedisServer` is a private redis-server on a free port that a test may
stop and start without touching the machine's Redis that other tests use.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from celery import Celery, _state
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import connection

DISPATCH_TASK = "sessions.tasks.dispatch_due_reminders"


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up after {timeout:.0f} s waiting for {what}.")
        time.sleep(0.05)


class FinishedTasks:
    """Counts the tasks a worker finished, by name; filled from the worker's threads."""

    def __init__(self):
        self._counts: Counter = Counter()
        self._lock = threading.Lock()

    def record(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def count(self, name: str = DISPATCH_TASK) -> int:
        with self._lock:
            return self._counts[name]

    def wait_for(self, total: int, *, name: str = DISPATCH_TASK, timeout: float = 30) -> None:
        wait_until(lambda: self.count(name) >= total, timeout=timeout, what=f"{total} × {name}")


@contextmanager
def threaded_worker(app: Celery, *, concurrency: int = 1) -> Iterator[FinishedTasks]:
    """A worker on `app`'s broker, running up to `concurrency` tasks at once in threads."""
    finished = FinishedTasks()

    def after_task(sender=None, **kwargs):
        # Each pool thread has its own database connection: close it after each task, as
        # `celery worker` does, so the test database can be dropped at the end of the run.
        connection.close()
        finished.record(sender.name)

    # start_worker makes `app` the current and default app of the process; put the previous
    # ones back, or later `.delay()` calls would publish to this test's broker.
    previous_current, previous_default = _state.get_current_app(), _state.default_app
    task_postrun.connect(after_task, weak=False)
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            shutdown_timeout=10,
        ):
            yield finished
    finally:
        task_postrun.disconnect(after_task)
        previous_current.set_current()
        _state.set_default_app(previous_default)


def purge_queue(app: Celery) -> None:
    """Drop messages a previous run may have left in the queue, so they cannot race this one."""
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)


def worker_database_url() -> str:
    """The DATABASE_URL of the database pytest-django created (test_<name>), for a subprocess."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("A worker process shares the test database only on PostgreSQL.")
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{quote(db['NAME'], safe='')}"


@contextmanager
def worker_process(*, broker_url: str, sms_backend: str, sms_path: Path, log: Path):
    """`celery -A clinic worker` (solo pool) on the test database; yields the Popen.

    Stopped in any case on exit: its whole process group is killed, so no worker outlives the
    test and holds a connection to the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        # A killed worker's connection must not linger in a pool the test database waits on.
        "CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": broker_url,
        "SMS_BACKEND": sms_backend,
        "SMS_FILE_PATH": str(sms_path),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "clinic",
        "worker",
        "--pool=solo",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        f"--hostname=reliability-{uuid.uuid4().hex[:8]}@%h",
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 — our own interpreter, fixed arguments
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        kill_process_group(process)


def kill_process_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A private redis-server on 127.0.0.1:`port`, keeping nothing on disk."""

    def __init__(self, *, port: int, folder: Path):
        self.binary = shutil.which("redis-server")
        self.port = port
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def is_up(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.ConnectionError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 — the redis-server found on PATH
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.is_up, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            kill_process_group(self.process, signal.SIGTERM)
            self.process = None
        wait_until(lambda: not self.is_up(), timeout=10, what="redis-server to stop")
