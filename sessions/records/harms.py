"""The harms table in the shape CONSORT Harms 2022 asks for (Junqueira et al., BMJ 2023;381:
e073725; DOMAIN.md "Harms reporting"): per formulation version, the patients and sessions
exposed, each event type by CTCAE grade, serious events and events that led to stopping
treatment, with rates per patient and per 100 sessions, and the lots the events name.

It sits beside the safety report (safety.py), which ranks versions by events per session to show
harm early; this table is the full account for a report or a paper. Both count by the date of
the session an event followed, in the clinic's zone, and leave voided events out. Four queries
whatever the period holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q

from formulations.models import FormulationVersion, Lot
from sessions.models import AdverseEvent, AdverseEventType, SessionRecord
from sessions.records.safety import period_bounds

GRADES = (1, 2, 3, 4, 5)
# CONSORT Harms item: say how harms were collected.
COLLECTION_METHOD = (
    "Adverse events are recorded by the treating clinician at each session and when a patient "
    "reports one afterwards (a call-back), with type, CTCAE v5 grade, seriousness, causality, "
    "outcome, the lot involved and whether treatment was stopped because of it. They are not "
    "solicited with a questionnaire, so mild events may be under-counted."
)


def _rate(numerator: int, denominator: int, per: int) -> Decimal | None:
    if not denominator:
        return None
    rate = Decimal(numerator * per) / Decimal(denominator)
    return rate.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class EventTypeHarms:
    event_type: str
    label: str
    by_grade: list[int] = field(default_factory=lambda: [0] * len(GRADES))
    serious: int = 0
    patient_ids: set[int] = field(default_factory=set)

    @property
    def events(self) -> int:
        return sum(self.by_grade)

    @property
    def patients(self) -> int:
        return len(self.patient_ids)


@dataclass
class LotHarms:
    lot: Lot
    events: int
    serious: int


@dataclass
class VersionHarms:
    version: FormulationVersion | None  # None: events after sessions with no signed record
    patients_exposed: int = 0
    sessions_exposed: int = 0
    events: int = 0
    serious: int = 0
    patient_ids: set[int] = field(default_factory=set)
    serious_patient_ids: set[int] = field(default_factory=set)
    stopped_patient_ids: set[int] = field(default_factory=set)
    types: dict[str, EventTypeHarms] = field(default_factory=dict)
    lots: list[LotHarms] = field(default_factory=list)

    @property
    def patients_with_event(self) -> int:
        return len(self.patient_ids)

    @property
    def patients_with_serious_event(self) -> int:
        return len(self.serious_patient_ids)

    @property
    def discontinuations(self) -> int:
        """Patients whose treatment was stopped because of an event."""
        return len(self.stopped_patient_ids)

    @property
    def percent_patients_with_event(self) -> Decimal | None:
        return _rate(self.patients_with_event, self.patients_exposed, 100)

    @property
    def events_per_patient(self) -> Decimal | None:
        rate = _rate(self.events * 100, self.patients_exposed, 1)
        return None if rate is None else (rate / 100).quantize(Decimal("0.01"))

    @property
    def events_per_100_sessions(self) -> Decimal | None:
        return _rate(self.events, self.sessions_exposed, 100)

    @property
    def type_rows(self) -> list[EventTypeHarms]:
        """Event types in the order DOMAIN.md lists them, only those that occurred."""
        return [self.types[t] for t in AdverseEventType.values if t in self.types]


@dataclass
class HarmsTable:
    date_from: date
    date_to: date
    versions: list[VersionHarms]
    collection_method: str = COLLECTION_METHOD


def harms_table(*, date_from: date, date_to: date, zone: ZoneInfo) -> HarmsTable:
    start, end = period_bounds(date_from=date_from, date_to=date_to, zone=zone)
    in_period = Q(session__starts_at__gte=start, session__starts_at__lt=end)
    rows: dict[int | None, VersionHarms] = defaultdict(lambda: VersionHarms(version=None))
    exposure = (
        SessionRecord.objects.filter(in_period, signed_at__isnull=False)
        .values("formulation_version")
        .annotate(sessions=Count("pk"), patients=Count("session__patient", distinct=True))
        .order_by("formulation_version")
    )
    for row in exposure:
        harms = rows[row["formulation_version"]]
        harms.sessions_exposed, harms.patients_exposed = row["sessions"], row["patients"]
    events = (
        AdverseEvent.objects.filter(in_period, voided_at__isnull=True)
        .values_list(
            "session__record__formulation_version",
            "event_type",
            "ctcae_grade",
            "serious",
            "treatment_stopped",
            "patient_id",
            "lot_id",
        )
        .order_by("pk")
    )
    lot_counts: dict[int | None, dict[int, list[int]]] = defaultdict(dict)
    for version_id, event_type, grade, serious, stopped, patient_id, lot_id in events:
        harms = rows[version_id]
        harms.events += 1
        harms.patient_ids.add(patient_id)
        kind = harms.types.setdefault(
            event_type, EventTypeHarms(event_type, AdverseEventType(event_type).label)
        )
        kind.by_grade[grade - 1] += 1
        kind.patient_ids.add(patient_id)
        if serious:
            harms.serious += 1
            kind.serious += 1
            harms.serious_patient_ids.add(patient_id)
        if stopped:
            harms.stopped_patient_ids.add(patient_id)
        if lot_id is not None:
            counts = lot_counts[version_id].setdefault(lot_id, [0, 0])
            counts[0] += 1
            counts[1] += serious
    versions = FormulationVersion.objects.select_related("formulation").in_bulk(
        [pk for pk in rows if pk is not None]
    )
    lots = Lot.objects.select_related("version__formulation").in_bulk(
        {lot_id for counts in lot_counts.values() for lot_id in counts}
    )
    for version_id, harms in rows.items():
        harms.version = versions.get(version_id)
        harms.lots = sorted(
            (
                LotHarms(lot=lots[lot_id], events=n, serious=s)
                for lot_id, (n, s) in lot_counts[version_id].items()
            ),
            key=lambda lh: (-lh.events, lh.lot.lot_number),
        )
    ordered = sorted(
        rows.values(),
        key=lambda h: (
            h.version is None,
            str(h.version.formulation) if h.version else "",
            -(h.version.number if h.version else 0),
        ),
    )
    return HarmsTable(date_from=date_from, date_to=date_to, versions=ordered)
