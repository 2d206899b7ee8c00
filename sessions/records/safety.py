"""The safety report: adverse events per formulation version and per lot, against how many signed
sessions used each version, so a clinic sees harm early (issue 6; DOMAIN.md "Adverse events").

Counts are by the date of the session the event followed, in the clinic's zone; the signed
sessions per version come from the per-day totals counted at signing (sessions/records/usage.py).
Voided events are left out; an event after a session without a signed record is counted apart,
since it names no version yet.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum

from formulations.models import FormulationVersion, Lot
from sessions.models import AdverseEvent, AdverseEventType, VersionDay


@dataclass
class VersionSafety:
    version: FormulationVersion | None  # None: events after sessions with no signed record
    sessions: int = 0
    events: int = 0
    serious: int = 0
    by_type: list[tuple[str, int]] = field(default_factory=list)

    @property
    def events_per_100_sessions(self) -> Decimal | None:
        if not self.sessions:
            return None
        rate = Decimal(self.events * 100) / Decimal(self.sessions)
        return rate.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class LotSafety:
    lot: Lot
    events: int
    serious: int


@dataclass
class SafetyReport:
    date_from: date
    date_to: date
    versions: list[VersionSafety]
    lots: list[LotSafety]


def period_bounds(*, date_from: date, date_to: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The period's first and last day as [start, end) instants in the clinic's zone."""
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def safety_report(*, date_from: date, date_to: date, zone: ZoneInfo) -> SafetyReport:
    """Versions with signed sessions or events in the period, most events per session first."""
    start, end = period_bounds(date_from=date_from, date_to=date_to, zone=zone)
    in_period = Q(session__starts_at__gte=start, session__starts_at__lt=end)

    # The running per-day totals (sessions/records/usage.py), not the period's records: a
    # year's report reads at most a row per version and day, however busy the year was.
    sessions = dict(
        VersionDay.objects.filter(day__gte=date_from, day__lte=date_to)
        .values("version")
        .annotate(n=Sum("sessions"))
        .values_list("version", "n")
    )
    events = (
        AdverseEvent.objects.filter(in_period, voided_at__isnull=True)
        .values("session__record__formulation_version", "event_type", "serious")
        .annotate(n=Count("pk"))
    )
    rows: dict[int | None, VersionSafety] = defaultdict(lambda: VersionSafety(version=None))
    types: dict[int | None, Counter] = defaultdict(Counter)
    for version_id, count in sessions.items():
        rows[version_id].sessions = count
    for row in events:
        version_id = row["session__record__formulation_version"]
        rows[version_id].events += row["n"]
        rows[version_id].serious += row["n"] if row["serious"] else 0
        types[version_id][row["event_type"]] += row["n"]

    versions = FormulationVersion.objects.select_related("formulation").in_bulk(
        [pk for pk in rows if pk is not None]
    )
    for version_id, row in rows.items():
        row.version = versions.get(version_id)
        row.by_type = [
            (AdverseEventType(kind).label, n) for kind, n in types[version_id].most_common()
        ]

    def order(row: VersionSafety):
        rate = row.events_per_100_sessions
        return (row.version is None, -(rate or 0), -row.events, str(row.version or ""))

    lots = [
        LotSafety(lot=lot, events=lot.n, serious=lot.n_serious)
        for lot in Lot.objects.filter(
            adverse_events__in=AdverseEvent.objects.filter(in_period, voided_at__isnull=True)
        )
        .annotate(
            n=Count("adverse_events", distinct=True),
            n_serious=Count(
                "adverse_events", filter=Q(adverse_events__serious=True), distinct=True
            ),
        )
        .select_related("version__formulation")
        .order_by("-n", "lot_number")
    ]
    return SafetyReport(
        date_from=date_from,
        date_to=date_to,
        versions=sorted(rows.values(), key=order),
        lots=lots,
    )
