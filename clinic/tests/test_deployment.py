"""The compose stack and image as documented: read from the files, since CI builds no image."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from clinic.health import BEAT, WORKER, heartbeat_record

ROOT = Path(settings.BASE_DIR)
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "beat"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_web_worker_and_beat_wait_for_migrations_and_have_a_healthcheck(name):
    service = SERVICES[name]
    assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert service["healthcheck"]["test"] == ["CMD", "python", "manage.py", "healthcheck", name]


def test_migrations_run_once_in_their_own_service():
    migrate = SERVICES["migrate"]
    assert migrate["command"] == "python manage.py migrate --noinput"
    assert migrate["restart"] == "no"
    assert "migrate" not in SERVICES["web"]["command"]


@pytest.mark.parametrize("name", ["migrate", *APP_SERVICES])
def test_photos_live_on_a_volume(name):
    assert "media:/app/var/media" in SERVICES[name]["volumes"]
    assert SERVICES[name]["environment"]["MEDIA_ROOT"] == "/app/var/media"
    assert "media" in COMPOSE["volumes"]


def test_web_serves_with_the_clean_access_log():
    assert SERVICES["web"]["command"] == "gunicorn -c python:clinic.gunicorn_conf clinic.wsgi"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"-c", "python:clinic.gunicorn_conf"' in dockerfile
    assert "--access-logfile" not in dockerfile


def test_the_image_runs_as_an_unprivileged_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)$", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert dockerfile.index("USER ") < dockerfile.index("CMD ")


@pytest.mark.parametrize("entry", [".env", "var/", ".venv/", ".git/", "test-results/"])
def test_secrets_and_local_data_stay_out_of_the_image(entry):
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert entry in ignored


# The healthcheck command the compose file runs ----------------------------------------------------


# transaction=True so conftest restores the data-migration rows afterwards (live_server flushes).
@pytest.mark.django_db(transaction=True)
def test_the_web_probe_passes_with_the_documented_allowed_hosts(live_server, settings):
    # .env.example sets ALLOWED_HOSTS=mesotrack.example.org; a probe sent as Host: 127.0.0.1
    # would get 400 (DisallowedHost).
    settings.ALLOWED_HOSTS = ["mesotrack.example.org"]
    call_command("healthcheck", "web", url=f"{live_server.url}/healthz")


def test_the_web_probe_fails_when_nothing_listens(db):
    with pytest.raises(CommandError, match="does not answer"):
        call_command("healthcheck", "web", url="http://127.0.0.1:1/healthz")


@pytest.mark.django_db
@pytest.mark.parametrize(("part", "name"), [("worker", WORKER), ("beat", BEAT)])
def test_the_worker_and_beat_probes_follow_their_heartbeats(part, name, time_machine):
    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    with pytest.raises(CommandError, match="never"):
        call_command("healthcheck", part)
    heartbeat_record(name=name, now=now - timedelta(minutes=1))
    call_command("healthcheck", part)
    heartbeat_record(name=name, now=now - timedelta(minutes=10))
    with pytest.raises(CommandError):
        call_command("healthcheck", part)
