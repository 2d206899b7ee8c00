"""The outcome report (DOMAIN.md "Outcome reporting"): for each formulation version (or
formulation), the change from baseline at the clinic's two time points, so a clinic learns which
cocktail helps whom.

How a course is read:
- A course is a treatment plan with at least one signed session record. Week 0 is the local date
  of its first signed session. Its version is the one its signed records name; a course whose
  records name more than one version forms a group of its own ("mixed"), never merged into
  either version.
- Each patient counts once per group: their first course in it. n counts patients.
- A measure's baseline is the zone's latest measurement of it in the 90 days up to week 0, or
  failing that the first one in the week after (a baseline taken at the first visit after the
  injection); the same-zone rule of DOMAIN.md "Outcome measures".
- At each time point the measurement nearest the target day within ± the clinic's window counts,
  once (the earlier of two equally near).
- The treated zone is the zone the course injected most volume into that has a density baseline
  (never the occipital reference). The responder rate reads its density gain at the second time
  point against the clinic's threshold; the occipital zone is shown beside it as the control.
- Global photographic and self-assessment are already changes (−3..+3): their value at the time
  point is reported.

Five queries whatever the number of courses; the arithmetic is outcome_statistics.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Sum

from formulations.models import FormulationVersion
from patients.bands import age_band, age_on, severity_band
from patients.models import OutcomeMeasurement, ScalpZone
from sessions.models import Injection, SessionRecord, TreatmentPlan
from sessions.records.statistics import Proportion, Summary, percent_change, proportion, summarise

CONTROL_ZONE = ScalpZone.OCCIPITAL.value
# Practice default: a baseline older than a screening's validity (90 days) no longer describes
# the scalp at the start of the course.
BASELINE_BEFORE_DAYS = 90
BASELINE_AFTER_DAYS = 7
TIME_POINTS = ("early", "late")


@dataclass(frozen=True)
class ReportSettings:
    """The clinic's outcome-report settings (practice defaults in clinic/models.py)."""

    early_week: int = 12
    late_week: int = 24
    window_weeks: int = 3
    responder_percent: int = 10
    min_group: int = 5

    @classmethod
    def of(cls, clinic) -> ReportSettings:
        if clinic is None:
            return cls()
        return cls(
            early_week=clinic.outcome_early_week,
            late_week=clinic.outcome_late_week,
            window_weeks=clinic.outcome_window_weeks,
            responder_percent=clinic.responder_threshold_percent,
            min_group=clinic.report_min_group,
        )

    def week(self, point: str) -> int:
        return self.early_week if point == "early" else self.late_week


@dataclass(frozen=True)
class ReportFilters:
    diagnosis: str = ""  # an ICD-10 code or its category (L64 matches L64.0–L64.9)
    severity: str = ""  # patients.bands.SeverityBand
    sex: str = ""  # patients.models.SexAtBirth
    age_band: str = ""  # patients.bands.AGE_BANDS label, at week 0
    date_from: date | None = None  # week 0 on or after
    date_to: date | None = None  # week 0 on or before


@dataclass
class Course:
    plan_id: int
    patient_id: int
    start: date
    version_ids: tuple[int, ...]
    formulation_ids: tuple[int, ...]
    zones_by_volume: list[str]
    sex: str
    age_band: str
    severity: str | None
    diagnosis: str


@dataclass
class CourseOutcome:
    course: Course
    treated_zone: str | None
    # values[point][measure] = number; measure is ("density_pct", zone), "treated_pct", ...
    values: dict[str, dict] = field(default_factory=lambda: {p: {} for p in TIME_POINTS})
    responder: bool | None = None  # None: no density at the second time point


@dataclass
class MeasureRow:
    key: object
    label: str
    unit: str
    is_control: bool
    early: Summary
    late: Summary


@dataclass
class GroupReport:
    key: str  # "v:3", "v:3+5" (mixed), "f:2"
    label: str
    mixed: bool
    versions: list[FormulationVersion]
    courses: list[CourseOutcome]
    rows: list[MeasureRow]
    responders: Proportion

    @property
    def patients(self) -> int:
        return len(self.courses)

    def row(self, key) -> MeasureRow | None:
        return next((row for row in self.rows if row.key == key), None)


@dataclass
class OutcomeReport:
    settings: ReportSettings
    filters: ReportFilters
    group_by: str
    groups: list[GroupReport]


# Reading the records ----------------------------------------------------------------------------


def _courses(*, filters: ReportFilters, zone: ZoneInfo) -> list[Course]:
    plans = TreatmentPlan.objects.filter(sessions__record__signed_at__isnull=False)
    if filters.sex:
        plans = plans.filter(patient__sex_at_birth=filters.sex)
    if filters.diagnosis:
        plans = plans.filter(assessment__diagnosis__startswith=filters.diagnosis)
    plan_ids = plans.values("pk")
    starts: dict[int, date] = {}
    versions: dict[int, set[int]] = defaultdict(set)
    signed = SessionRecord.objects.filter(
        signed_at__isnull=False, session__plan__in=plan_ids
    ).values_list("session__plan_id", "formulation_version_id", "session__starts_at")
    for plan_id, version_id, starts_at in signed:
        day = starts_at.astimezone(zone).date()
        starts[plan_id] = min(day, starts.get(plan_id, day))
        versions[plan_id].add(version_id)
    volumes: dict[int, list[tuple[str, float]]] = defaultdict(list)
    injected = (
        Injection.objects.filter(
            record__signed_at__isnull=False, record__session__plan__in=plan_ids
        )
        .values("record__session__plan_id", "zone")
        .annotate(volume=Sum("volume_ml"))
        .values_list("record__session__plan_id", "zone", "volume")
    )
    for plan_id, zone_name, volume in injected:
        volumes[plan_id].append((zone_name, float(volume)))
    formulation_of = dict(
        FormulationVersion.objects.filter(
            pk__in={v for ids in versions.values() for v in ids}
        ).values_list("pk", "formulation_id")
    )
    courses = []
    rows = (
        TreatmentPlan.objects.filter(pk__in=starts)
        .values_list(
            "pk",
            "patient_id",
            "patient__date_of_birth",
            "patient__sex_at_birth",
            "assessment__diagnosis",
            "assessment__scale",
            "assessment__scale_value",
        )
        .order_by("pk")
    )
    for plan_id, patient_id, born, sex, diagnosis, scale, scale_value in rows:
        start = starts[plan_id]
        band = severity_band(scale=scale, value=scale_value) if scale else None
        course = Course(
            plan_id=plan_id,
            patient_id=patient_id,
            start=start,
            version_ids=tuple(sorted(versions[plan_id])),
            formulation_ids=tuple(sorted({formulation_of[v] for v in versions[plan_id]})),
            zones_by_volume=[z for z, _ in sorted(volumes[plan_id], key=lambda zv: -zv[1])],
            sex=sex,
            age_band=age_band(age_on(date_of_birth=born, day=start)),
            severity=band,
            diagnosis=diagnosis or "",
        )
        if _kept(course, filters):
            courses.append(course)
    return courses


def _kept(course: Course, filters: ReportFilters) -> bool:
    if filters.severity and course.severity != filters.severity:
        return False
    if filters.age_band and course.age_band != filters.age_band:
        return False
    if filters.date_from and course.start < filters.date_from:
        return False
    return not (filters.date_to and course.start > filters.date_to)


MEASURE_FIELDS = (
    "density_per_cm2",
    "shaft_diameter_um",
    "pull_test_hairs",
    "global_assessment",
    "self_assessment",
)


def _measurements(patient_ids: set[int]) -> dict[int, list[tuple]]:
    """Live measurements per patient, oldest first: (zone, day, density, shaft, pull, global,
    self)."""
    rows = (
        OutcomeMeasurement.objects.filter(voided_at__isnull=True, patient_id__in=patient_ids)
        .order_by("measured_on", "pk")
        .values_list("patient_id", "zone", "measured_on", *MEASURE_FIELDS)
    )
    by_patient: dict[int, list[tuple]] = defaultdict(list)
    for patient_id, *rest in rows:
        by_patient[patient_id].append(tuple(rest))
    return by_patient


# The rules of one course -----------------------------------------------------------------------

# Column of each measure in a measurement tuple.
DENSITY, SHAFT, PULL, GLOBAL, SELF = 2, 3, 4, 5, 6


def _series(rows: list[tuple], column: int, zone: str | None) -> list[tuple[date, float]]:
    return [
        (row[1], float(row[column]))
        for row in rows
        if row[column] is not None and (zone is None or row[0] == zone)
    ]


def _baseline(series: list[tuple[date, float]], start: date) -> tuple[date, float] | None:
    before = [p for p in series if start - timedelta(days=BASELINE_BEFORE_DAYS) <= p[0] <= start]
    if before:
        return before[-1]
    return next(
        (p for p in series if start < p[0] <= start + timedelta(days=BASELINE_AFTER_DAYS)), None
    )


def _at(
    series: list[tuple[date, float]], target: date, window: timedelta, after: date
) -> float | None:
    near = [p for p in series if p[0] > after and abs(p[0] - target) <= window]
    if not near:
        return None
    return min(near, key=lambda p: (abs(p[0] - target), p[0]))[1]


def course_outcome(*, course: Course, rows: list[tuple], settings: ReportSettings) -> CourseOutcome:
    """The course's values at each time point, by the rules in this module's docstring."""
    window = timedelta(weeks=settings.window_weeks)
    targets = {p: course.start + timedelta(weeks=settings.week(p)) for p in TIME_POINTS}
    outcome = CourseOutcome(course=course, treated_zone=None)

    def changes(series, key, relative: bool):
        base = _baseline(series, course.start)
        if base is None:
            return False
        for point, target in targets.items():
            value = _at(series, target, window, after=base[0])
            if value is None:
                continue
            change = percent_change(baseline=base[1], value=value) if relative else value - base[1]
            if change is not None:
                outcome.values[point][key] = change
        return True

    with_density = []
    for zone in ScalpZone.values:
        if changes(_series(rows, DENSITY, zone), ("density_pct", zone), relative=True):
            with_density.append(zone)
    treated = next(
        (z for z in course.zones_by_volume if z in with_density and z != CONTROL_ZONE), None
    )
    outcome.treated_zone = treated
    if treated is not None:
        for point in TIME_POINTS:
            value = outcome.values[point].get(("density_pct", treated))
            if value is not None:
                outcome.values[point]["treated_pct"] = value
        shaft_zone = treated if _series(rows, SHAFT, treated) else None
        if shaft_zone is not None:
            changes(_series(rows, SHAFT, shaft_zone), "shaft_um", relative=False)
        late = outcome.values["late"].get("treated_pct")
        outcome.responder = None if late is None else late >= settings.responder_percent
    changes(_series(rows, PULL, None), "pull_test", relative=False)
    for column, key in ((GLOBAL, "global"), (SELF, "self")):
        series = _series(rows, column, None)
        for point, target in targets.items():
            value = _at(series, target, window, after=course.start)
            if value is not None:
                outcome.values[point][key] = value
    return outcome


# Groups ----------------------------------------------------------------------------------------


def _group_key(course: Course, group_by: str) -> str:
    if group_by == "formulation":
        return "f:" + "+".join(str(i) for i in course.formulation_ids)
    return "v:" + "+".join(str(i) for i in course.version_ids)


ZONE_LABELS = dict(ScalpZone.choices)


def _rows(outcomes: list[CourseOutcome], settings: ReportSettings) -> list[MeasureRow]:
    def row(key, label, unit, is_control=False):
        def values(point):
            return [o.values[point][key] for o in outcomes if key in o.values[point]]

        return MeasureRow(
            key=key,
            label=label,
            unit=unit,
            is_control=is_control,
            early=summarise(values("early"), min_group=settings.min_group),
            late=summarise(values("late"), min_group=settings.min_group),
        )

    measured = {k for o in outcomes for p in TIME_POINTS for k in o.values[p]}
    rows = [row("treated_pct", "Density, treated zone", "% change")]
    zones = [z for z in ScalpZone.values if z != CONTROL_ZONE] + [CONTROL_ZONE]
    for zone in zones:
        if ("density_pct", zone) in measured or zone == CONTROL_ZONE:
            control = zone == CONTROL_ZONE
            label = f"Density, {ZONE_LABELS[zone].lower()}" + (
                " (control, androgen-insensitive)" if control else ""
            )
            rows.append(row(("density_pct", zone), label, "% change", is_control=control))
    rows += [
        row("shaft_um", "Shaft diameter, treated zone", "µm change"),
        row("pull_test", "Pull test", "hairs out, change"),
        row("global", "Global photographic assessment", "−3..+3"),
        row("self", "Patient self-assessment", "−3..+3"),
    ]
    return rows


def _label(key: str, versions: dict[int, FormulationVersion], formulations: dict) -> str:
    kind, ids = key.split(":")
    numbers = [int(i) for i in ids.split("+")]
    if kind == "f":
        names = [formulations[i] for i in numbers]
    else:
        names = [str(versions[i]) for i in numbers]
    return " + ".join(names) + (" (mixed within a course)" if len(numbers) > 1 else "")


def outcome_report(
    *,
    settings: ReportSettings,
    filters: ReportFilters,
    zone: ZoneInfo,
    group_by: str = "version",
    only: set[str] | None = None,
) -> OutcomeReport:
    """Every group (version, mixed versions, or formulation) with its courses and summaries;
    `only` keeps the named group keys (the comparison page). Largest groups first."""
    courses = _courses(filters=filters, zone=zone)
    by_group: dict[str, list[Course]] = defaultdict(list)
    for course in sorted(courses, key=lambda c: (c.start, c.plan_id)):
        key = _group_key(course, group_by)
        if only is not None and key not in only:
            continue
        # A patient counts once per group: their first course in it.
        if all(c.patient_id != course.patient_id for c in by_group[key]):
            by_group[key].append(course)
    measurements = _measurements({c.patient_id for cs in by_group.values() for c in cs})
    version_ids = {v for cs in by_group.values() for c in cs for v in c.version_ids}
    versions = FormulationVersion.objects.select_related("formulation").in_bulk(version_ids)
    formulations = {v.formulation_id: v.formulation.name for v in versions.values()}
    groups = []
    for key, members in by_group.items():
        outcomes = [
            course_outcome(course=c, rows=measurements.get(c.patient_id, []), settings=settings)
            for c in members
        ]
        evaluable = [o.responder for o in outcomes if o.responder is not None]
        kind, ids = key.split(":")
        groups.append(
            GroupReport(
                key=key,
                label=_label(key, versions, formulations),
                mixed="+" in ids,
                versions=sorted(
                    {versions[v] for c in members for v in c.version_ids}, key=lambda v: v.pk
                ),
                courses=outcomes,
                rows=_rows(outcomes, settings),
                responders=proportion(
                    count=sum(evaluable), n=len(evaluable), min_group=settings.min_group
                ),
            )
        )
    groups.sort(key=lambda g: (g.mixed, -g.patients, g.label))
    return OutcomeReport(settings=settings, filters=filters, group_by=group_by, groups=groups)
