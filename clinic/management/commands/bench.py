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
# Every size is measured this many times, in turns (S M L, S M L), and each figure is the
# better of its rounds with the reference timed beside it: this VM slows by up to twice for
# minutes at a time, and only ever adds time, so a slow minute then moves one round, not the
# table. The JSON keeps every round.
DEFAULT_ROUNDS = 2
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
        parser.add_argument(
            "--rounds",
            type=int,
            default=int(os.environ.get("BENCH_ROUNDS", DEFAULT_ROUNDS)),
            help="measure every size this many times in turns; the table shows each figure's "
            "best round",
        )
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

    def handle(self, *args, sizes, seed, rounds, no_http, out, only=None, **options):
        try:
            sizes = sorted({int(n) for n in sizes.split(",") if n.strip()})
        except ValueError as exc:
            raise CommandError("BENCH_SIZES is a comma-separated list of patient counts.") from exc
        if not sizes or sizes[0] < 1:
            raise CommandError("BENCH_SIZES needs at least one size of 1 patient or more.")
        if rounds < 1:
            raise CommandError("BENCH_ROUNDS is a number of rounds, 1 or more.")
        out = Path(out)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        env = {**os.environ, **MEASURED_ENV}
        self._run(["collectstatic", "--noinput", "-v0"], env=env)
        built = {}
        for size in sizes:
            sized_env = {**env, "DATABASE_URL": self._database_for(size, out)}
            started = time.monotonic()
            self._run(["migrate", "--noinput", "-v0"], env=sized_env)
            self._run(
                ["seed_scale", "--patients", str(size), "--seed", str(seed), "--force"],
                env=sized_env,
            )
            built[size] = (sized_env, time.monotonic() - started)
            self.stderr.write(f"N={size}: built (or found) in {built[size][1]:.0f} s")
        if only == "build":
            return
        measured = {size: [] for size in sizes}
        for turn in range(rounds):
            for size in sizes:
                figures = out / f"{stamp}-n{size}-round{turn + 1}.json"
                measure = ["bench_measure", "--json", str(figures)]
                if only in ("pages", "sweep"):
                    measure += ["--only", only]
                elif size == sizes[-1] and turn == rounds - 1 and not no_http:
                    measure.append("--http")
                self._run(measure, env=built[size][0])
                measured[size].append(json.loads(figures.read_text()))
                self.stderr.write(f"N={size}: measured (round {turn + 1} of {rounds})")
        runs = [
            {**best_of_rounds(measured[size]), "size": size, "build_s": round(built[size][1], 1)}
            for size in sizes
        ]
        text, missed = table(runs)
        if rounds > 1:
            text += "\n" + rounds_line(runs)
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


def best_of_rounds(rounds: list[dict]) -> dict:
    """One size's figures from its rounds: each page's round with the lowest median time, the
    sweep's round with the highest rate and, apart, the one whose idle sweep was quickest, each
    with the reference (or the database's own rate) timed beside it in that round. Query
    counts and row counts are the same in every round. The rounds themselves are kept."""
    best = {**rounds[0], "rounds": len(rounds), "measured": rounds}
    pages = [{p["page"]: p for p in run["pages"]} for run in rounds]
    best["pages"] = [
        min((same[p["page"]] for same in pages), key=lambda each: each["ms"])
        for p in rounds[0]["pages"]
    ]
    sweeps = [run["sweep"] for run in rounds if "sweep" in run]
    if sweeps:
        quickest_idle = min(sweeps, key=lambda sweep: sweep["idle_ms"])
        best["sweep"] = {
            **max(sweeps, key=lambda sweep: sweep["per_s"]),
            "idle_ms": quickest_idle["idle_ms"],
            "idle_reference_ms": quickest_idle["idle_reference_ms"],
        }
    http = [run["http"] for run in rounds if "http" in run]
    if http:
        best["http"] = http[-1]
    return best


def rounds_line(runs: list[dict]) -> str:
    """What the rounds were: the sweep's rate in each, so the best one is never read alone."""
    rates = "; ".join(
        f"N={run['size']}: " + " / ".join(f"{r['sweep']['per_s']}" for r in run["measured"])
        for run in runs
        if "sweep" in run
    )
    line = f"Each figure is the best of {runs[-1]['rounds']} rounds, measured in turns."
    return line + (f" Sweep reminders/s by round: {rates}." if rates else "")
