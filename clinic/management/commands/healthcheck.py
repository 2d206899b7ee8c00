"""Container health probes: `manage.py healthcheck web|worker|beat` exits 0 when that part is
alive (docker-compose.yml runs it)."""

import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clinic.health import BEAT, WORKER, heartbeats_last_seen, stale_parts


def probe_host() -> str:
    """The Host header the web probe sends: the first ALLOWED_HOSTS entry, so the probe passes
    Django's host check with the settings a deployment really uses."""
    host = next((h for h in settings.ALLOWED_HOSTS if h != "*"), "localhost")
    return host.lstrip(".") or "localhost"


class Command(BaseCommand):
    help = "Exit 0 when web, worker or beat is alive; used by the compose healthchecks."

    def add_arguments(self, parser):
        parser.add_argument("part", choices=["web", "worker", "beat"])
        parser.add_argument("--url", default="http://127.0.0.1:8000/healthz")

    def handle(self, *, part, url, **options):
        if part == "web":
            self._web(url)
        else:
            name = WORKER if part == "worker" else BEAT
            seen = heartbeats_last_seen()
            if stale_parts({name: seen[name]}, now=timezone.now()):
                raise CommandError(f"{part} last seen {seen[name] or 'never'}")
        self.stdout.write(f"{part} ok")

    def _web(self, url):
        request = urllib.request.Request(url, headers={"Host": probe_host()})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            # 503 from /healthz means the web process answers but something behind it is down;
            # the worker's and beat's own probes report those.
            status = error.code
        except OSError as error:
            raise CommandError(f"web does not answer: {type(error).__name__}") from error
        if status not in (200, 503):
            raise CommandError(f"web answered {status}")
