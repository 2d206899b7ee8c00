"""`make bench`: build a generated clinic per size in a database of its own, measure each, print
one table and keep the figures as JSON under var/bench/."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clinic.management.commands._benchmark import table, write_json

DEFAULT_SIZES = "50,500,5000"
ONLY = ("build", "pages", "sweep")
# The measured processes run as production does (DEBUG off, compressed static files), on
# plain HTTP because they only ever listen on 127.0.0.1.
MEASURED_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-for-a-generated-clinic",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
}


class Command(BaseCommand):
    help = (
        "Build a generated clinic per size (BENCH_SIZES, default 50,500,5000 patients) and "
        "print queries and median server time per page, the sweep rate against the database's "
        "single-row update rate, the idle sweep, and HTTP latency under gunicorn."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sizes", default=os.environ.get("BENCH_SIZES", DEFAULT_SIZES), help="e.g. 50,500"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--no-http", action="store_true", help="skip the gunicorn part")
        parser.add_argument(
            "--only",
            choices=ONLY,
            help="build: only build the databases (measure nothing); pages: only the pages "
            "(no sweep, no HTTP); sweep: only the sweep's rate and idle time (no pages, no HTTP)",
        )
        parser.add_argument(
            "--out", default=str(settings.VAR_DIR / "bench"), help="folder for the JSON"
        )

    def handle(self, *args, sizes, seed, no_http, out, only=None, **options):
        try:
            sizes = sorted({int(n) for n in sizes.split(",") if n.strip()})
        except ValueError as exc:
            raise CommandError("BENCH_SIZES is a comma-separated list of patient counts.") from exc
        if not sizes or sizes[0] < 1:
            raise CommandError("BENCH_SIZES needs at least one size of 1 patient or more.")
        out = Path(out)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        env = {**os.environ, **MEASURED_ENV}
        self._run(["collectstatic", "--noinput", "-v0"], env=env)
        runs = []
        for size in sizes:
            url = self._database_for(size, out)
            sized_env = {**env, "DATABASE_URL": url}
            started = time.monotonic()
            self._run(["migrate", "--noinput", "-v0"], env=sized_env)
            self._run(
                ["seed_scale", "--patients", str(size), "--seed", str(seed), "--force"],
                env=sized_env,
            )
            built = time.monotonic() - started
            if only == "build":
                self.stderr.write(f"N={size}: built (or found) in {built:.0f} s")
                continue
            figures = out / f"{stamp}-n{size}.json"
            measure = ["bench_measure", "--json", str(figures)]
            if only in ("pages", "sweep"):
                measure += ["--only", only]
            elif size == sizes[-1] and not no_http:
                measure.append("--http")
            self._run(measure, env=sized_env)
            run = json.loads(figures.read_text())
            run["size"], run["build_s"] = size, round(built, 1)
            runs.append(run)
            self.stderr.write(f"N={size}: built in {built:.0f} s, measured")
        if not runs:
            return
        text, missed = table(runs)
        report = {"when": stamp, "seed": seed, "runs": runs, "missed": missed, "table": text}
        write_json(out / f"{stamp}.json", json.dumps(report, indent=2))
        write_json(out / "latest.json", json.dumps(report, indent=2))
        self.stdout.write(text)
        self.stdout.write(f"\nFigures: {out / f'{stamp}.json'}")

    def _run(self, command: list[str], *, env: dict) -> None:
        done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(settings.BASE_DIR / "manage.py"), *command],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode != 0:
            raise CommandError(f"manage.py {command[0]} failed:\n{done.stderr[-3000:]}")

    def _database_for(self, size: int, out: Path) -> str:
        """A database per size beside the configured one, created when missing: the generated
        clinics never mix with real data, and a second run reuses them."""
        database = settings.DATABASES["default"]
        if database["ENGINE"] == "django.db.backends.sqlite3":
            out.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{(out / f'bench-n{size}.sqlite3').resolve()}"
        name = f"{database['NAME']}_bench_n{size}"
        with psycopg.connect(
            dbname="postgres",
            user=database.get("USER") or None,
            password=database.get("PASSWORD") or None,
            host=database.get("HOST") or None,
            port=database.get("PORT") or None,
            autocommit=True,
        ) as server:
            found = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if found.fetchone() is None:
                server.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(os.environ["DATABASE_URL"])
        return urlunsplit(parts._replace(path=f"/{name}"))
