"""What `make bench` measures in one generated clinic (DESIGN.md decision 10).

This module composes every app (it belongs to the management commands; the leading underscore
keeps Django from listing it as one): it opens each page as the
role that uses it, counts its queries and times it in-process; it times the reminder sweep with
a no-op channel beside the database's own single-row commit rate; it times a sweep with nothing
to do; and it serves the clinic with gunicorn on 127.0.0.1 to compare a loaded page's latency
with a trivial one's. Every loop is bounded. Absolute times depend on the machine; the ratios
within one run are what the targets speak about.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.accounts import second_factor_required
from clinic.models import Clinic
from clinic.seed_scale_history import SCALE_SUPPLIER
from formulations.models import Formulation, Lot, LotStatus
from patients.models import Patient
from sessions.models import (
    PatientLink,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionRecord,
    SessionStatus,
    TreatmentSession,
)
from sessions.outreach import sweep
from sessions.outreach.messaging import SmsBackend

# Every page is timed this many times, round-robin (each pass opens every page once, so a slow
# few seconds on the machine costs each page one run, not one page all of them), fewer when
# the passes take longer than the budget per page, and its median reported.
PAGE_RUNS = 15
PAGE_BUDGET_SECONDS = 8.0
SWEEP_ROWS = 2000
SWEEP_REPEATS = 3  # the sweep's rate and the database's, medians of this many pairs
UPDATE_ROWS = 2000
IDLE_SWEEPS = 15  # each some 20-40 ms: a median of 5 moved by a third between runs
HTTP_SEQUENTIAL = 100
HTTP_THREADS = 4
HTTP_PER_THREAD = 50
HTTP_WORKERS = 2  # one per core of the machine the targets were set on


class NoopSmsBackend(SmsBackend):
    """Accepts every text at once: the sweep's own cost, without a provider's."""

    def send_sms(self, *, to: str, body: str, idempotency_key: str) -> str:
        return f"noop-{idempotency_key}"


NOOP_CHANNELS = {
    "SMS_BACKEND": "clinic.management.commands._benchmark.NoopSmsBackend",
    "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
}


@dataclass
class Subjects:
    """The rows the pages are opened on: a patient in the clinic today, like any day's."""

    patient: Patient
    session: TreatmentSession
    record: SessionRecord
    formulation: Formulation
    recalled_lot: Lot | None


def subjects() -> Subjects:
    # Screened within the validity window, so the pages show every size the same parts
    # (clearance, medications, assessment): one whose screening lapsed shows less.
    today = timezone.localdate()
    screened_since = today - timedelta(days=Clinic.current().screening_valid_days)
    session = (
        TreatmentSession.objects.filter(
            starts_at__date__gte=today,
            plan__isnull=False,
            status__in=("checked_in", "confirmed"),
            patient__screenings__voided_at__isnull=True,
            patient__screenings__screened_on__gte=screened_since,
        )
        .order_by("starts_at", "pk")
        .first()
    ) or TreatmentSession.objects.filter(plan__isnull=False).order_by("-starts_at").first()
    record = (
        SessionRecord.objects.filter(session__patient=session.patient, signed_at__isnull=False)
        .order_by("-signed_at")
        .first()
    ) or SessionRecord.objects.filter(signed_at__isnull=False).order_by("-signed_at").first()
    formulation = (
        Formulation.objects.annotate(n=Count("versions__session_records")).order_by("-n").first()
    )
    lot = Lot.objects.filter(supplier=SCALE_SUPPLIER, status=LotStatus.RECALLED).first()
    return Subjects(session.patient, session, record, formulation, lot)


def pages(s: Subjects) -> list[tuple[str, str, str]]:
    """(page, role, url) for every page the issue names, and the reports since."""
    today = timezone.localdate().isoformat()
    p, session = s.patient.pk, s.session
    patients = reverse("patients:list")
    calendar = reverse("treatment_sessions:calendar") + f"?date={today}&clinician=all"
    phone = quote(s.patient.mobile.as_national)
    session_page = reverse("treatment_sessions:session_detail", args=[session.pk])
    rows = [
        ("dashboard (reception)", "reception", reverse("dashboard")),
        ("dashboard (clinician)", "clinician", reverse("dashboard")),
        ("dashboard (admin)", "admin", reverse("dashboard")),
        ("patients list", "reception", patients),
        ("patients search name", "reception", f"{patients}?q=Smi"),
        ("patients search number", "reception", f"{patients}?q={s.patient.record_number}"),
        ("patients search phone", "reception", f"{patients}?q={phone}"),
        ("patient page", "reception", reverse("patients:detail", args=[p])),
        ("clinical tab", "clinician", reverse("patients:clinical", args=[p])),
        ("patient outcomes", "clinician", reverse("patients:outcomes", args=[p])),
        ("calendar day", "reception", calendar),
        ("calendar week", "reception", f"{calendar}&view=week"),
        ("session page", "reception", session_page),
        ("record", "clinician", reverse("treatment_sessions:record", args=[s.record.session_id])),
        ("plan", "clinician", reverse("treatment_sessions:plan_detail", args=[session.plan_id])),
        ("maintenance", "reception", reverse("treatment_sessions:maintenance")),
        ("reminders", "reception", reverse("treatment_sessions:reminders")),
        ("formulations", "clinician", reverse("formulations:list")),
        ("formulation detail", "admin", reverse("formulations:detail", args=[s.formulation.pk])),
        ("usage report", "admin", reverse("formulations:usage")),
        ("safety report", "admin", reverse("treatment_sessions:safety_report")),
    ]  # fmt: skip
    if s.recalled_lot is not None:
        recall = reverse("formulations:lot_recall", args=[s.recalled_lot.pk])
        rows.append(("lot recall", "admin", recall))
        rows.append(("lot recall CSV", "admin", f"{recall}?format=csv"))
    return rows


def users_by_role() -> dict[str, object]:
    User = get_user_model()
    return {
        "reception": User.objects.get(username="scale-reception"),
        "clinician": User.objects.get(username="scale-clinician-1"),
        "admin": User.objects.get(username="scale-admin"),
    }


def _client(user) -> Client:
    """A logged-in client; clinicians and admins also pass their second factor, as a device of
    their own verified in the session (what django-otp's login does)."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    if second_factor_required(user):
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="benchmark", defaults={"confirmed": True}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def measure_pages() -> list[dict]:
    clients = {role: _client(user) for role, user in users_by_role().items()}
    trivial, opened, results = Client(HTTP_HOST="127.0.0.1"), [], []
    for name, role, url in pages(subjects()):
        with CaptureQueriesContext(connection) as queries:
            response = clients[role].get(url)
            body = _body(response)  # a streamed page (the recall CSV) queries as it streams
        # Read now: the next request's request_started signal empties the query log.
        opened.append((clients[role], url, [], []))
        results.append({"page": name, "role": role, "status": response.status_code,
                        "queries": len(queries), "bytes": len(body)})  # fmt: skip
    started = time.perf_counter()
    for _ in range(PAGE_RUNS):
        for client, url, times, reference in opened:
            # The login page, timed just before each run: how fast this machine is right now.
            reference.append(_timed(trivial, reverse("login")))
            times.append(_timed(client, url))
        if time.perf_counter() - started > PAGE_BUDGET_SECONDS * len(opened):
            break
    for page, (_, _, times, reference) in zip(results, opened, strict=True):
        page.update(ms=round(statistics.median(times), 1), runs=len(times))
        page["reference_ms"] = round(statistics.median(reference), 2)
    return results


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _timed(client: Client, url: str) -> float:
    tick = time.perf_counter()
    _body(client.get(url))
    return (time.perf_counter() - tick) * 1000


# The sweep ------------------------------------------------------------------------------------


def _due_batch(*, now, rows: int) -> list[int]:
    """`rows` appointment reminders due now for the clinic's upcoming booked sessions."""
    upcoming = list(
        TreatmentSession.objects.filter(
            status__in=(SessionStatus.SCHEDULED, SessionStatus.CONFIRMED), starts_at__gt=now
        )
        .select_related("patient")
        .order_by("starts_at")[:500]
    )
    if not upcoming:
        raise RuntimeError("The generated clinic has no booked session to come to remind of.")
    batch = []
    for n in range(rows):
        session = upcoming[n % len(upcoming)]
        due_at = now - timedelta(microseconds=n + 1)
        batch.append(
            Reminder(
                kind=ReminderKind.APPOINTMENT,
                channel=session.patient.preferred_channel,
                patient=session.patient,
                session=session,
                due_at=due_at,
                send_after=due_at,
            )
        )
    return [r.pk for r in Reminder.objects.bulk_create(batch, batch_size=1000)]


def single_row_update_rate(*, ids: list[int], now) -> dict:
    """Rows per second the database commits one UPDATE at a time, and 50 to a transaction."""
    table = Reminder._meta.db_table
    sql = f"UPDATE {table} SET updated_at = %s WHERE id = %s"  # noqa: S608 - our own table name
    with connection.cursor() as cursor:
        tick = time.perf_counter()
        for pk in ids:
            cursor.execute(sql, [now, pk])  # autocommit: one commit per row
        single = len(ids) / (time.perf_counter() - tick)
        tick = time.perf_counter()
        for start in range(0, len(ids), 50):
            with transaction.atomic():
                for pk in ids[start : start + 50]:
                    cursor.execute(sql, [now, pk])
        batched = len(ids) / (time.perf_counter() - tick)
    return {"single_per_s": round(single), "batched_per_s": round(batched)}


def _vacuum_reminders() -> None:
    """What autovacuum does within minutes in a running clinic: the bench makes and deletes
    thousands of rows in seconds, and their dead index entries would otherwise be read by the
    next run's idle sweep as if they were history."""
    if connection.vendor != "postgresql" or not connection.get_autocommit():
        return
    tables = [Reminder._meta.db_table, PatientLink._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) " + ", ".join(map(connection.ops.quote_name, tables)))


def _sweep_clock() -> datetime:
    """Noon today at the clinic: the generated patients' quiet hours (20:00-08:00) never cover
    it, so the timed sweep sends its rows rather than deferring them, whatever hour the bench
    runs at."""
    zone = Clinic.current().zone
    today = timezone.now().astimezone(zone).date()
    return datetime.combine(today, clock_time(12), tzinfo=zone)


@override_settings(**NOOP_CHANNELS)
def measure_sweep() -> dict:
    now = _sweep_clock()
    # A worker has its URLs loaded after its first sweep; without the pages run before it
    # (--only sweep), the first link would otherwise time the import of every urls module.
    get_resolver().url_patterns  # noqa: B018
    # Anything the generated history left due (maintenance prompts) goes out first, so the
    # timings below see only what they mean to.
    sweep.dispatch_due_reminders(now=now, budget_seconds=600)
    _vacuum_reminders()
    idle, reference = [], []
    for _ in range(IDLE_SWEEPS):
        tick = time.perf_counter()
        sweep.dispatch_due_reminders(now=now)
        idle.append((time.perf_counter() - tick) * 1000)
        # A fixed handful of one-row reads: how fast this machine and database are right now.
        tick = time.perf_counter()
        for _ in range(20):
            Clinic.objects.order_by("pk").first()
        reference.append((time.perf_counter() - tick) * 1000)
    rates, singles, batched, ratios = [], [], [], []
    for _ in range(SWEEP_REPEATS):
        # The sweep and the database's own rate in turn, each time on a fresh batch: a busy
        # moment on the machine then moves one pair, not the median.
        links_before = PatientLink.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        ids = _due_batch(now=now, rows=SWEEP_ROWS)
        tick = time.perf_counter()
        result = sweep.dispatch_due_reminders(now=now, budget_seconds=600)
        elapsed = time.perf_counter() - tick
        sent = Reminder.objects.filter(pk__in=ids, status=ReminderStatus.SENT).count()
        if result.quiet:
            raise RuntimeError(
                f"{result.quiet} of the timed reminders fell in the patients' quiet hours and "
                "were deferred, not sent: the sweep rate would mean nothing."
            )
        database = single_row_update_rate(ids=ids[:UPDATE_ROWS], now=now)
        # The batch is the benchmark's own: leave the generated clinic as it was.
        Reminder.objects.filter(pk__in=ids).delete()
        PatientLink.objects.filter(pk__gt=links_before).delete()
        _vacuum_reminders()
        rates.append(sent / elapsed if elapsed else 0.0)
        singles.append(database["single_per_s"])
        batched.append(database["batched_per_s"])
        ratios.append(rates[-1] / database["single_per_s"])
    return {
        "idle_ms": round(statistics.median(idle), 1),
        "idle_reference_ms": round(statistics.median(reference), 2),
        "sent": sent,
        "outcomes": result.as_dict(),
        "repeats": SWEEP_REPEATS,
        "per_s": round(statistics.median(rates)),
        "db_single_update_per_s": round(statistics.median(singles)),
        "db_batched_update_per_s": round(statistics.median(batched)),
        "ratio_to_single_update": round(statistics.median(ratios), 3),
    }


# HTTP under gunicorn --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, cookie: str) -> tuple[int, float]:
    tick = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, (time.perf_counter() - tick) * 1000


def _latencies(port: int, paths: tuple[str, str], cookie: str) -> tuple[list[float], list[float]]:
    """Sequential latencies of two pages, taken in turn: a busy second on the machine slows both
    alike rather than whichever page was being timed then."""
    first, second = [], []
    for _ in range(HTTP_SEQUENTIAL):
        first.append(_get(port, paths[0], cookie)[1])
        second.append(_get(port, paths[1], cookie)[1])
    return sorted(first), sorted(second)


def _load(port: int, path: str, cookie: str, latencies: list[float]) -> dict:
    statuses: list[int] = []

    def worker():
        for _ in range(HTTP_PER_THREAD):
            statuses.append(_get(port, path, cookie)[0])

    threads = [threading.Thread(target=worker) for _ in range(HTTP_THREADS)]
    tick = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - tick
    return {
        "path": path,
        "p50_ms": round(statistics.median(latencies), 1),
        "p90_ms": round(latencies[int(len(latencies) * 0.9) - 1], 1),
        "req_per_s": round(len(statuses) / elapsed, 1),
        "non_200": sum(1 for s in statuses if s != 200),
    }


def measure_http() -> dict:
    """Gunicorn on loopback; a trivial page (the login form) against the calendar week."""
    port = _free_port()
    client = _client(users_by_role()["reception"])
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "clinic.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(HTTP_WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(port, reverse("login"), "")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start on 127.0.0.1") from None
                time.sleep(0.2)
        today = timezone.localdate().isoformat()
        week = reverse("treatment_sessions:calendar") + f"?date={today}&view=week&clinician=all"
        for path in (reverse("login"), week):  # warm both workers
            for _ in range(HTTP_WORKERS * 2):
                _get(port, path, cookie)
        login = reverse("login")
        trivial_latencies, loaded_latencies = _latencies(port, (login, week), cookie)
        trivial = _load(port, login, cookie, trivial_latencies)
        loaded = _load(port, week, cookie, loaded_latencies)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "workers": HTTP_WORKERS,
        "trivial": trivial,
        "loaded": loaded,
        "p50_ratio": round(loaded["p50_ms"] / trivial["p50_ms"], 2),
    }


def measure(*, http: bool, only: str | None = None) -> dict:
    clinic = Clinic.current()
    counts = {
        "patients": Patient.objects.count(),
        "sessions": TreatmentSession.objects.count(),
        "signed_records": SessionRecord.objects.filter(signed_at__isnull=False).count(),
        "reminders": Reminder.objects.count(),
    }
    result = {
        "database": connection.vendor,
        "clinic": clinic.name if clinic else "",
        "counts": counts,
        "pages": [] if only == "sweep" else measure_pages(),
    }
    if only != "pages":
        result["sweep"] = measure_sweep()
    if http:
        result["http"] = measure_http()
    return result


def write_json(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# The table ------------------------------------------------------------------------------------

TARGET_QUERIES = 15
TARGET_GROWTH = 1.3
TARGET_DASHBOARD_MS = 150
TARGET_SWEEP_PER_S = 1000
TARGET_SWEEP_SHARE = 0.25
TARGET_HTTP_RATIO = 2.0


def _ratio(large: float, medium: float) -> float | None:
    return round(large / medium, 2) if medium else None


def _growth(large: dict, medium: dict, key: str, reference: str) -> float | None:
    """L/M of `key`, each divided by the reference timed beside it in the same process, so a
    machine busier during one size's run does not read as growth."""
    if not medium.get(key) or not large.get(reference) or not medium.get(reference):
        return _ratio(large[key], medium[key])
    return round((large[key] / large[reference]) / (medium[key] / medium[reference]), 2)


def table(runs: list[dict]) -> tuple[str, list[str]]:
    """The one table `make bench` prints, and the targets it shows missed."""
    sizes = [run["size"] for run in runs]
    medium, large = (runs[-2], runs[-1]) if len(runs) > 1 else (runs[-1], runs[-1])
    head = f"{'page':<26}" + "".join(f"| {'N=' + str(n):>7} q {'ms':>7} " for n in sizes)
    head += "| L/M ms*| q ok"
    lines = [head, "-" * len(head)]
    missed = []
    by_size = [{p["page"]: p for p in run["pages"]} for run in runs]
    for page in [p["page"] for p in large["pages"]]:
        row = f"{page:<26}"
        for pages_of in by_size:
            p = pages_of.get(page)
            cell = f"{p['queries']:>9} {p['ms']:>7.1f} " if p else f"{'-':>9} {'-':>7} "
            if p and p["status"] != 200:
                cell = f"{'HTTP ' + str(p['status']):>17} "
            row += "| " + cell
        big = by_size[-1][page]
        mid = {p["page"]: p for p in medium["pages"]}.get(page)
        growth = _growth(big, mid, "ms", "reference_ms") if mid else None
        ok = all(p.get(page, {}).get("queries", 0) <= TARGET_QUERIES for p in by_size)
        row += f"| {growth if growth is not None else '-':>6} | {'yes' if ok else 'NO':>4}"
        lines.append(row)
        if not ok:
            missed.append(f"{page}: {big['queries']} queries (target <= {TARGET_QUERIES})")
        if growth is not None and growth > TARGET_GROWTH and len(runs) > 1:
            missed.append(f"{page}: L/M time {growth} (target <= {TARGET_GROWTH})")
        watched = page.startswith("dashboard") or page == "maintenance"
        if watched and big["ms"] > TARGET_DASHBOARD_MS:
            missed.append(f"{page}: {big['ms']} ms at L (target < {TARGET_DASHBOARD_MS} ms)")
    if all("sweep" in run for run in runs):  # bench --only pages measures no sweep
        missed += _sweep_lines(runs, lines)
    http = large.get("http")
    if http:
        lines.append("")
        for label in ("trivial", "loaded"):
            h = http[label]
            lines.append(
                f"HTTP {label:<8} {h['path']:<48} p50 {h['p50_ms']:>7.1f} ms  "
                f"p90 {h['p90_ms']:>7.1f} ms  {h['req_per_s']:>6.1f} req/s  non-200 {h['non_200']}"
            )
        lines.append(
            f"HTTP p50 loaded / trivial: {http['p50_ratio']} "
            f"(gunicorn, {http['workers']} sync workers, 127.0.0.1, N={large['size']})"
        )
        if http["p50_ratio"] > TARGET_HTTP_RATIO:
            missed.append(f"calendar week p50 {http['p50_ratio']}x the trivial page (target <= 2)")
    counts = "; ".join(
        f"N={run['size']}: {run['counts']['sessions']} sessions, "
        f"{run['counts']['signed_records']} signed records, {run['counts']['reminders']} reminders"
        for run in runs
    )
    lines.append("")
    lines.append(
        "* L/M: each time over the trivial reference timed beside it in the same process "
        "(login page for pages, 20 one-row reads for the idle sweep), so load on the machine "
        "during one size's run does not read as growth; raw times are in the columns."
    )
    lines.append(f"{large['database']}; {counts}")
    lines.append("Targets: " + ("all met" if not missed else f"{len(missed)} missed"))
    lines.extend(f"  missed: {m}" for m in missed)
    return "\n".join(lines), missed


def _sweep_lines(runs: list[dict], lines: list[str]) -> list[str]:
    """The sweep's rows of the table; returns the sweep targets missed."""
    medium, large = (runs[-2], runs[-1]) if len(runs) > 1 else (runs[-1], runs[-1])
    missed = []
    lines.append("")
    lines.append(
        f"{'sweep':<26}"
        + "".join(
            f"| {run['sweep']['per_s']:>6}/s of {run['sweep']['db_single_update_per_s']:>5}/s "
            for run in runs
        )
        + "| reminders/s (no-op channel) of single-row updates/s"
    )
    lines.append(
        f"{'sweep / single update':<26}"
        + "".join(f"| {run['sweep']['ratio_to_single_update']:>17.0%} " for run in runs)
        + f"| batched updates at L: {large['sweep']['db_batched_update_per_s']}/s"
    )
    idle_growth = _growth(large["sweep"], medium["sweep"], "idle_ms", "idle_reference_ms")
    lines.append(
        f"{'idle sweep ms':<26}"
        + "".join(f"| {run['sweep']['idle_ms']:>17.1f} " for run in runs)
        + f"| L/M {idle_growth}"
    )
    sweep = large["sweep"]
    if sweep["per_s"] < TARGET_SWEEP_PER_S:
        missed.append(f"sweep: {sweep['per_s']} reminders/s (target >= {TARGET_SWEEP_PER_S})")
    if sweep["ratio_to_single_update"] < TARGET_SWEEP_SHARE:
        missed.append(
            f"sweep: {sweep['ratio_to_single_update']:.0%} of single-row updates "
            f"(target >= {TARGET_SWEEP_SHARE:.0%})"
        )
    if idle_growth is not None and idle_growth > TARGET_GROWTH and len(runs) > 1:
        missed.append(f"idle sweep: L/M {idle_growth} (target <= {TARGET_GROWTH})")
    return missed
