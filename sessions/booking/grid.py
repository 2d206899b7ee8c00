"""The calendar as a time grid: one column per clinician or room (a day) or per day (a week of one
clinician); rows are time slots inside opening hours; each free slot where a whole session fits
links to the booking form prefilled with clinician, room and time.

Reads only, a fixed number of queries whatever the number of sessions (tested). The sessions are
read as plain rows (GridSession), not model instances: a week holds some hundred of them, and
building five model instances per session (with the patient's phone numbers parsed) cost more
than the rest of the page.
"""

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import OuterRef, Subquery

from clinic.models import Clinic, OpeningHours, Room, StaffProfile, WorkingHours
from clinic.roles import Role
from patients.models import Patient
from sessions.booking.calendar import Paging, session_flags, session_position
from sessions.booking.scheduling import localise
from sessions.models import SessionKind, SessionStatus, TreatmentPlan, TreatmentSession

SLOT_MINUTES = 15
BY = ("clinician", "room")
# Cancelled sessions free their time: the grid leaves them out (the day list shows them).
OFF_GRID = (SessionStatus.CANCELLED_BY_PATIENT, SessionStatus.CANCELLED_BY_CLINIC)


@dataclass(frozen=True, slots=True)
class _PatientName:
    # The columns Patient.full_name reads, so the grid shows the name the patient page shows
    # (an anonymised patient only by study id) without loading the patient.
    given_name: str
    family_name: str
    anonymised_at: datetime | None
    study_id: str


@dataclass(slots=True)
class GridSession:
    """A session as the grid shows it; names the fields session_flags reads as the model does."""

    pk: int
    starts: datetime  # local
    ends: datetime  # local
    status: str
    kind: str
    clinician_id: int
    room_id: int
    patient_name: str
    record_number: str
    clinician_name: str
    room_name: str
    position: str  # "session 2 of 6", or empty outside a course
    needs_screening: bool
    is_protocol_deviation: bool
    interval_override_reason: str
    flags: list[str] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return _STATUS_LABELS.get(self.status, self.status)

    @property
    def kind_label(self) -> str:
        return _KIND_LABELS.get(self.kind, self.kind)


_STATUS_LABELS = dict(SessionStatus.choices)
_KIND_LABELS = dict(SessionKind.choices)


_PATIENT_COLUMNS = ("given_name", "family_name", "anonymised_at", "study_id", "record_number")
# The columns both ways of reading the grid's sessions return, in this order.
_ROW_COLUMNS = (
    "pk", "starts_at", "ends_at", "status", "kind", "clinician_id", "room_id",
    "clinician__display_name", "room__name", *(f"patient_{name}" for name in _PATIENT_COLUMNS),
    "sequence", "number_of_sessions", "needs_screening", "is_protocol_deviation",
    "interval_override_reason",
)  # fmt: skip


def _table(model) -> str:
    """A model's table, quoted, for the queries written out below."""
    return connection.ops.quote_name(model._meta.db_table)


def _grid_rows_orm(*, starts_from: datetime, starts_before: datetime) -> list[tuple]:
    """The grid's rows through the ORM (SQLite). The patient's and the plan's columns come from
    correlated subqueries, one index lookup each, rather than joins that could hash whole
    tables."""
    patient = Patient.objects.filter(pk=OuterRef("patient_id")).order_by()
    plan = TreatmentPlan.objects.filter(pk=OuterRef("plan_id")).order_by()
    return list(
        TreatmentSession.objects.filter(starts_at__gte=starts_from, starts_at__lt=starts_before)
        .exclude(status__in=OFF_GRID)
        .annotate(
            **{f"patient_{name}": Subquery(patient.values(name)[:1]) for name in _PATIENT_COLUMNS},
            number_of_sessions=Subquery(plan.values("number_of_sessions")[:1]),
        )
        .order_by("starts_at", "pk")
        .values_list(*_ROW_COLUMNS)
    )


@functools.cache
def _grid_rows_sql() -> str:
    """The grid's query on PostgreSQL, written out once per process. Each session's patient and
    plan are read by a LATERAL lookup of one row (LIMIT 1 keeps PostgreSQL from turning it into
    a join): joined, it hashes the whole patient and plan tables for a week's hundred sessions,
    a cost that grows with the clinic's past; as column subqueries (the ORM's way) it looks the
    patient up five times per session. With the ORM's own cost of building the query, that was
    most of the calendar's time (9 ms against 3.5 ms at 5,000 patients)."""
    patient = ", ".join(f"patient.{name}" for name in _PATIENT_COLUMNS)
    return f"""
        SELECT session.id, session.starts_at, session.ends_at, session.status, session.kind,
               session.clinician_id, session.room_id, clinician.display_name, room.name,
               {patient}, session.sequence, plan.number_of_sessions, session.needs_screening,
               session.is_protocol_deviation, session.interval_override_reason
          FROM {_table(TreatmentSession)} session
          JOIN {_table(StaffProfile)} clinician ON clinician.id = session.clinician_id
          JOIN {_table(Room)} room ON room.id = session.room_id
         CROSS JOIN LATERAL (
               SELECT {", ".join(_PATIENT_COLUMNS)} FROM {_table(Patient)}
                WHERE id = session.patient_id LIMIT 1) patient
          LEFT JOIN LATERAL (
               SELECT number_of_sessions FROM {_table(TreatmentPlan)}
                WHERE id = session.plan_id LIMIT 1) plan ON TRUE
         WHERE session.starts_at >= %s AND session.starts_at < %s
           AND session.status NOT IN ({", ".join(["%s"] * len(OFF_GRID))})
         ORDER BY session.starts_at, session.id
    """  # noqa: S608 - table names from the models, values as parameters


def _grid_sessions(*, clinic: Clinic, first: date, last: date) -> list[GridSession]:
    """The sessions of the days from `first` to `last`, cancelled ones left out; one query."""
    starts_from = localise(clinic=clinic, day=first, at=time(0))
    starts_before = localise(clinic=clinic, day=last + timedelta(days=1), at=time(0))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_grid_rows_sql(), [starts_from, starts_before, *OFF_GRID])
            rows = cursor.fetchall()
    else:
        rows = _grid_rows_orm(starts_from=starts_from, starts_before=starts_before)
    zone = clinic.zone
    sessions = []
    for (
        pk,
        starts_at,
        ends_at,
        status,
        kind,
        clinician_id,
        room_id,
        clinician_name,
        room_name,
        given_name,
        family_name,
        anonymised_at,
        study_id,
        record_number,
        sequence,
        number_of_sessions,
        needs_screening,
        is_protocol_deviation,
        interval_override_reason,
    ) in rows:
        session = GridSession(
            pk=pk,
            starts=starts_at.astimezone(zone),
            ends=ends_at.astimezone(zone),
            status=status,
            kind=kind,
            clinician_id=clinician_id,
            room_id=room_id,
            patient_name=Patient.full_name.fget(
                _PatientName(given_name, family_name, anonymised_at, study_id)
            ),
            record_number=record_number,
            clinician_name=clinician_name,
            room_name=room_name,
            position=session_position(sequence=sequence, number_of_sessions=number_of_sessions),
            needs_screening=needs_screening,
            is_protocol_deviation=is_protocol_deviation,
            interval_override_reason=interval_override_reason,
        )
        session.flags = session_flags(session)
        sessions.append(session)
    return sessions


@dataclass
class GridCell:
    # "session"; "free": a whole session fits, bookable; "short": free but too short or already
    # past; "closed": outside opening or working hours.
    state: str
    rowspan: int = 1
    entries: list[GridSession] = field(default_factory=list)
    book_query: str = ""  # the booking form's prefill, for a free cell
    label: str = ""  # what a screen reader says for a free cell
    matches: bool = True  # False: the patient filter is on and this is someone else's session


@dataclass
class GridColumn:
    label: str
    day: date
    clinician: StaffProfile | None = None
    room: Room | None = None


@dataclass
class GridRow:
    at: time
    cells: list[GridCell | None]  # None: covered by a session block above


@dataclass
class CalendarGrid(Paging):
    view: str
    by: str
    anchor: date
    first: date
    last: date
    columns: list[GridColumn]
    rows: list[GridRow]
    clinicians: list[StaffProfile]
    rooms: list[Room]
    clinician: StaffProfile | None  # the week view's clinician
    patient_query: str
    matching: int  # sessions of patients matching the filter


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _covers(intervals: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b in intervals)


# The clinic's set-up the grid reads on every request: clinicians with their working hours, the
# active rooms, the opening hours. Written out as plain SELECTs (the same on PostgreSQL and
# SQLite) because building and compiling these three small ORM queries cost three times what
# the database took to answer them: 3.5 ms of the calendar's 11 at 5,000 patients, against 1.
@functools.cache
def _setup_sql() -> tuple[str, str, str]:
    clinicians = f"""
        SELECT staff.*, hours.weekday AS hours_weekday, hours.starts AS hours_starts,
               hours.ends AS hours_ends
          FROM {_table(StaffProfile)} staff
          LEFT JOIN {_table(WorkingHours)} hours ON hours.staff_id = staff.id
         WHERE staff.clinic_id = %s AND staff.role = %s
         ORDER BY staff.display_name, staff.id
    """  # noqa: S608 - table names from the models, values as parameters
    rooms = f"SELECT * FROM {_table(Room)} WHERE clinic_id = %s AND is_active ORDER BY name"  # noqa: S608
    opening = (
        f"SELECT weekday, opens, closes FROM {_table(OpeningHours)} WHERE clinic_id = %s"  # noqa: S608
        " ORDER BY weekday, opens"
    )
    return clinicians, rooms, opening


def _clinicians_at_work(
    *, clinic: Clinic, days: list[date]
) -> tuple[list[StaffProfile], dict[int, dict[date, list[tuple[int, int]]]]]:
    """The clinic's clinicians by name, and each one's working intervals (minutes of the day) on
    each of `days`. One query: the working hours are joined, a row per interval (a clinician
    without any still comes once), rather than prefetched in a second round trip."""
    clinicians: dict[int, StaffProfile] = {}
    intervals: dict[int, list[tuple[int, int, int]]] = {}
    for row in StaffProfile.objects.raw(_setup_sql()[0], [clinic.pk, Role.CLINICIAN.value]):
        clinicians.setdefault(row.pk, row)
        if row.hours_weekday is not None:
            intervals.setdefault(row.pk, []).append(
                (row.hours_weekday, _minutes(row.hours_starts), _minutes(row.hours_ends))
            )
    working = {
        pk: {d: [(a, b) for w, a, b in intervals.get(pk, []) if w == d.weekday()] for d in days}
        for pk in clinicians
    }
    return list(clinicians.values()), working


def _rooms_and_opening(*, clinic: Clinic) -> tuple[list[Room], dict[int, list[tuple[int, int]]]]:
    """The clinic's active rooms by name, and its opening intervals (minutes) by weekday."""
    _, rooms_sql, opening_sql = _setup_sql()
    rooms = list(Room.objects.raw(rooms_sql, [clinic.pk]))
    opening: dict[int, list[tuple[int, int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(opening_sql, [clinic.pk])
        for weekday, opens, closes in cursor.fetchall():
            opening.setdefault(weekday, []).append((_minutes(opens), _minutes(closes)))
    return rooms, opening


def calendar_grid(
    *,
    clinic: Clinic,
    anchor: date,
    view: str,
    by: str,
    clinician_id: int | None,
    now: datetime,
    patient_query: str = "",
) -> CalendarGrid:
    view = view if view in ("day", "week") else "day"
    by = by if by in BY else "clinician"
    first = anchor - timedelta(days=anchor.weekday()) if view == "week" else anchor
    last = first + timedelta(days=6 if view == "week" else 0)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    clinicians, working = _clinicians_at_work(clinic=clinic, days=days)
    rooms, opening = _rooms_and_opening(clinic=clinic)

    clinician = None
    if view == "week":
        clinician = next((c for c in clinicians if c.pk == clinician_id), None)
        clinician = clinician or next(
            (c for c in clinicians if any(working[c.pk][d] for d in days)),
            clinicians[0] if clinicians else None,
        )
        columns = [GridColumn(label=f"{d:%a %-d %b}", day=d, clinician=clinician) for d in days]
    elif by == "room":
        columns = [GridColumn(label=r.name, day=anchor, room=r) for r in rooms]
    else:
        on_duty = [c for c in clinicians if working[c.pk][anchor]]
        columns = [
            GridColumn(label=c.display_name, day=anchor, clinician=c)
            for c in (on_duty or clinicians)
        ]

    entries = _grid_sessions(clinic=clinic, first=first, last=last)
    query = patient_query.strip()
    matching_ids = set()
    if query:
        needle = query.lower()
        matching_ids = {
            e.pk
            for e in entries
            if needle in e.patient_name.lower() or needle == e.record_number.lower()
        }

    # Rows: the day's (or week's) opening hours, stretched to any session booked outside them.
    spans = [span for d in days for span in opening.get(d.weekday(), [])]
    spans += [(_minutes(e.starts.time()), _minutes(e.ends.time()) or 24 * 60) for e in entries]
    if not spans:
        return CalendarGrid(
            view, by, anchor, first, last, columns, [], clinicians, rooms, clinician, query, 0
        )
    start = min(a for a, _ in spans) // SLOT_MINUTES * SLOT_MINUTES
    end = max(b for _, b in spans)
    slots = list(range(start, end, SLOT_MINUTES))
    length = clinic.session_minutes

    def column_of(entry: GridSession) -> int | None:
        for index, column in enumerate(columns):
            if column.day != entry.starts.date():
                continue
            if column.room is not None and entry.room_id == column.room.pk:
                return index
            if column.clinician is not None and entry.clinician_id == column.clinician.pk:
                return index
        return None

    grid: list[list[GridCell | None]] = [[None] * len(columns) for _ in slots]
    block_at: dict[tuple[int, int], GridCell] = {}  # (row, column) -> the block covering it
    busy_clinician: dict[tuple[int, date], list[tuple[int, int]]] = {}
    busy_room: dict[tuple[int, date], list[tuple[int, int]]] = {}
    for entry in entries:
        a, b = _minutes(entry.starts.time()), _minutes(entry.ends.time()) or 24 * 60
        day = entry.starts.date()
        busy_clinician.setdefault((entry.clinician_id, day), []).append((a, b))
        busy_room.setdefault((entry.room_id, day), []).append((a, b))
        index = column_of(entry)
        if index is None:
            continue
        row = (a - start) // SLOT_MINUTES
        matches = not query or entry.pk in matching_ids
        holder = block_at.get((row, index))
        if holder is not None:
            # Overlapping sessions (a double booking made with an override) share one block.
            holder.entries.append(entry)
            holder.matches = holder.matches or matches
            continue
        span = min(max(1, -(-(b - a) // SLOT_MINUTES)), len(slots) - row)
        cell = GridCell(state="session", rowspan=span, entries=[entry], matches=matches)
        grid[row][index] = cell
        for covered in range(row, row + span):
            block_at[(covered, index)] = cell

    def free(intervals, a, b) -> bool:
        return not any(x < b and a < y for x, y in intervals)

    for index, column in enumerate(columns):
        day = column.day
        open_spans = opening.get(day.weekday(), [])
        for row, slot in enumerate(slots):
            if (row, index) in block_at:
                continue
            candidates_c = [column.clinician] if column.clinician else clinicians
            candidates_r = [column.room] if column.room else rooms
            state, book, label = "closed", "", ""
            past = localise(clinic=clinic, day=day, at=time(slot // 60, slot % 60)) < now
            if _covers(open_spans, slot, slot + SLOT_MINUTES) and past:
                state = "short"
            elif _covers(open_spans, slot, slot + SLOT_MINUTES):
                fitting = next(
                    (
                        (c, r)
                        for c in candidates_c
                        if _covers(working[c.pk][day], slot, slot + length)
                        and free(busy_clinician.get((c.pk, day), []), slot, slot + length)
                        for r in candidates_r
                        if free(busy_room.get((r.pk, day), []), slot, slot + length)
                    ),
                    None,
                )
                if fitting and _covers(open_spans, slot, slot + length):
                    c, r = fitting
                    at = f"{slot // 60:02d}:{slot % 60:02d}"
                    state = "free"
                    # Ids, an ISO date and "HH:MM": nothing here needs percent-encoding.
                    book = f"clinician={c.pk}&room={r.pk}&date={day.isoformat()}&time={at}"
                    label = f"Book {c.display_name}, {r.name}, {day:%a %-d %b} {at}"
                elif any(
                    _covers(working[c.pk][day], slot, slot + SLOT_MINUTES)
                    and free(busy_clinician.get((c.pk, day), []), slot, slot + SLOT_MINUTES)
                    for c in candidates_c
                ):
                    state = "short"
            grid[row][index] = GridCell(state=state, book_query=book, label=label)

    rows = [
        GridRow(
            at=time(slot // 60, slot % 60),
            cells=grid[row],
        )
        for row, slot in enumerate(slots)
    ]
    return CalendarGrid(
        view=view,
        by=by,
        anchor=anchor,
        first=first,
        last=last,
        columns=columns,
        rows=rows,
        clinicians=clinicians,
        rooms=rooms,
        clinician=clinician,
        patient_query=query,
        matching=len(matching_ids),
    )
