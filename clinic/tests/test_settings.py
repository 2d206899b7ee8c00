"""Production refuses to start without a secret key, and its deploy check is clean."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_TO_DROP = ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")


def run_manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ENV_TO_DROP}
    environment.update(env)
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_debug_off_without_secret_key_refuses_to_start():
    result = run_manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_deploy_check_is_clean_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="a-production-grade-secret-key-" + "x7Qp!9zL" * 5,
        ALLOWED_HOSTS="mesotrack.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
