"""What the reception calendar shows: sessions of a day or a week, by clinician and by room.

A fixed number of queries whatever the number of sessions (tested at 5 and 100).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol

from django.db.models import Q

from clinic.models import Clinic, Room, StaffProfile
from clinic.roles import Role
from sessions.booking.maintenance import maintenance_overdue_count
from sessions.booking.scheduling import localise
from sessions.models import (
    ACTIVE_STATUSES,
    PlanStatus,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)

VIEWS = ("day", "week")


@dataclass
class CalendarEntry:
    session: TreatmentSession
    starts: datetime  # local
    ends: datetime  # local
    flags: list[str]

    @property
    def position(self) -> str:
        plan = self.session.plan
        if plan is None:
            return ""
        return session_position(
            sequence=self.session.sequence, number_of_sessions=plan.number_of_sessions
        )


@dataclass
class CalendarDay:
    day: date
    entries: list[CalendarEntry] = field(default_factory=list)


class Paging:
    """The previous and next day (or week) of a calendar with `view` and `anchor`."""

    view: str
    anchor: date

    @property
    def previous(self) -> date:
        return self.anchor - timedelta(days=7 if self.view == "week" else 1)

    @property
    def next(self) -> date:
        return self.anchor + timedelta(days=7 if self.view == "week" else 1)


@dataclass
class Calendar(Paging):
    view: str
    anchor: date
    first: date
    last: date
    days: list[CalendarDay]
    clinicians: list[StaffProfile]
    rooms: list[Room]
    clinician: StaffProfile | None
    room: Room | None


def session_position(*, sequence: int | None, number_of_sessions: int | None) -> str:
    """Where a course session falls in its plan ("session 2 of 6"); empty outside a course."""
    if sequence is None or number_of_sessions is None:
        return ""
    return f"session {sequence} of {number_of_sessions}"


class FlaggedSession(Protocol):
    """What the flags read: a TreatmentSession, or the calendar grid's lighter row."""

    status: str
    needs_screening: bool
    is_protocol_deviation: bool
    interval_override_reason: str


def session_flags(session: FlaggedSession) -> list[str]:
    flags = []
    if session.needs_screening:
        flags.append("Screen before treatment")
    if session.is_protocol_deviation:
        flags.append("Protocol deviation: long gap")
    if session.interval_override_reason:
        flags.append("Short gap: clinician override")
    if session.status == SessionStatus.SCHEDULED:
        flags.append("Unconfirmed")
    return flags


def calendar_build(
    *,
    clinic: Clinic,
    anchor: date,
    view: str,
    clinician_id: int | None,
    room_id: int | None,
) -> Calendar:
    if view not in VIEWS:
        view = "day"
    first = anchor - timedelta(days=anchor.weekday()) if view == "week" else anchor
    last = first + timedelta(days=6 if view == "week" else 0)
    clinicians = list(StaffProfile.objects.filter(role=Role.CLINICIAN).order_by("display_name"))
    rooms = list(Room.objects.filter(clinic=clinic).order_by("name"))
    clinician = next((c for c in clinicians if c.pk == clinician_id), None)
    room = next((r for r in rooms if r.pk == room_id), None)
    sessions = TreatmentSession.objects.filter(
        starts_at__gte=localise(clinic=clinic, day=first, at=time(0)),
        starts_at__lt=localise(clinic=clinic, day=last + timedelta(days=1), at=time(0)),
    ).select_related("patient", "clinician", "room", "plan")
    if clinician is not None:
        sessions = sessions.filter(clinician=clinician)
    if room is not None:
        sessions = sessions.filter(room=room)
    days = {
        first + timedelta(days=n): CalendarDay(day=first + timedelta(days=n))
        for n in range((last - first).days + 1)
    }
    for session in sessions.order_by("starts_at", "pk"):
        starts = session.starts_at.astimezone(clinic.zone)
        days[starts.date()].entries.append(
            CalendarEntry(
                session=session,
                starts=starts,
                ends=session.ends_at.astimezone(clinic.zone),
                flags=session_flags(session),
            )
        )
    return Calendar(
        view=view,
        anchor=anchor,
        first=first,
        last=last,
        days=list(days.values()),
        clinicians=clinicians,
        rooms=rooms,
        clinician=clinician,
        room=room,
    )


PAST_SHOWN = 20


@dataclass
class PatientAppointments:
    upcoming: list[CalendarEntry]
    past: list[CalendarEntry]
    past_truncated: bool  # older past sessions exist beyond the PAST_SHOWN latest
    maintenance_due_on: date | None  # of the latest completed course, if any

    @property
    def next(self) -> CalendarEntry | None:
        return next((e for e in self.upcoming if e.session.status in ACTIVE_STATUSES), None)


def patient_appointments(*, clinic: Clinic, patient, now: datetime) -> PatientAppointments:
    """The patient's sessions for the patient page: no clinical content (reception reads it).

    Upcoming is every session from now on (cancelled ones too, so reception can say so), soonest
    first; past is the latest PAST_SHOWN, latest first. Two queries whatever the history.
    """
    sessions = TreatmentSession.objects.filter(patient=patient).select_related(
        "clinician", "room", "plan"
    )

    def entry(session):
        return CalendarEntry(
            session=session,
            starts=session.starts_at.astimezone(clinic.zone),
            ends=session.ends_at.astimezone(clinic.zone),
            flags=session_flags(session),
        )

    # One query: every upcoming session and the latest past ones (a sliced subquery).
    latest_past = sessions.filter(ends_at__lte=now).order_by("-starts_at", "-pk")
    rows = list(
        sessions.filter(
            Q(ends_at__gt=now) | Q(pk__in=latest_past.values("pk")[: PAST_SHOWN + 1])
        ).order_by("starts_at", "pk")
    )
    upcoming = [entry(s) for s in rows if s.ends_at > now]
    past_rows = [s for s in reversed(rows) if s.ends_at <= now]
    due = (
        TreatmentPlan.objects.filter(patient=patient, status=PlanStatus.COMPLETED)
        .exclude(maintenance_due_on=None)
        .order_by("-completed_at", "-pk")
        .values_list("maintenance_due_on", flat=True)
        .first()
    )
    return PatientAppointments(
        upcoming=upcoming,
        past=[entry(s) for s in past_rows[:PAST_SHOWN]],
        past_truncated=len(past_rows) > PAST_SHOWN,
        maintenance_due_on=due,
    )


@dataclass
class ReceptionPanels:
    today: list[TreatmentSession]  # every session of the day, cancelled ones too, by time
    unconfirmed_tomorrow: list[TreatmentSession]
    maintenance_overdue: int

    @property
    def today_by_status(self) -> list[tuple[str, int]]:
        counts = Counter(s.status for s in self.today)
        return [(label, counts[value]) for value, label in SessionStatus.choices if counts[value]]


def _day_bounds(clinic: Clinic, day: date) -> tuple[datetime, datetime]:
    return (
        localise(clinic=clinic, day=day, at=time(0)),
        localise(clinic=clinic, day=day + timedelta(days=1), at=time(0)),
    )


def reception_panels(
    *, clinic: Clinic, today: date, now: datetime | None = None
) -> ReceptionPanels:
    """Dashboard panels for reception: today's sessions, tomorrow's unconfirmed (with the patient,
    whose mobile reception calls), overdue recalls. A fixed number of queries, however full the day.

    `now` decides which bookings count as still to come for the recall count (default: the
    start of `today`)."""
    start, end = _day_bounds(clinic, today)
    sessions = TreatmentSession.objects.select_related("patient", "clinician", "room", "plan")
    todays = list(
        sessions.filter(starts_at__gte=start, starts_at__lt=end).order_by("starts_at", "pk")
    )
    start, end = _day_bounds(clinic, today + timedelta(days=1))
    tomorrow = list(
        sessions.filter(
            starts_at__gte=start, starts_at__lt=end, status=SessionStatus.SCHEDULED
        ).order_by("starts_at", "pk")
    )
    return ReceptionPanels(
        today=todays,
        unconfirmed_tomorrow=tomorrow,
        maintenance_overdue=maintenance_overdue_count(
            clinic=clinic, today=today, now=now or localise(clinic=clinic, day=today, at=time(0))
        ),
    )
