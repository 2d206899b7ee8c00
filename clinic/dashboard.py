"""What the dashboard shows each role. Later capabilities add their own panels here.

A composing module: it gathers panels from the apps above clinic (sessions), which is why it
may import them.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from sessions.booking.calendar import reception_panels
from sessions.booking.scheduling import session_allowed_actions
from sessions.records.adverse_events import serious_events_unacknowledged
from sessions.records.records import unsigned_records_overdue

from .models import Clinic, OpeningHours, Room, StaffProfile
from .roles import Role


@dataclass
class Dashboard:
    today: date
    opening_hours: list[OpeningHours] = field(default_factory=list)
    rooms: list[Room] = field(default_factory=list)
    clinicians_on_duty: list[tuple[StaffProfile, list]] = field(default_factory=list)
    # Reception panels (sessions app): today's sessions, tomorrow's unconfirmed, overdue
    # maintenance; None for roles that do not work the desk.
    reception: object | None = None
    # Today's sessions with the state changes each allows now (check in, confirm...).
    today_sessions: list[tuple[object, frozenset[str]]] = field(default_factory=list)
    # Clinic admins: serious adverse events no admin has acknowledged yet; None for other roles.
    serious_adverse_events: list | None = None
    # Clinicians: their own session records still unsigned 24 hours after they were started.
    unsigned_records: list | None = None


def dashboard_for(
    *,
    clinic: Clinic | None,
    role: Role | None,
    today: date,
    staff: StaffProfile | None = None,
    now: datetime | None = None,
) -> Dashboard:
    board = Dashboard(today=today)
    if clinic is None:
        return board
    board.opening_hours = list(clinic.opening_hours.filter(weekday=today.weekday()))
    board.rooms = list(clinic.rooms.filter(is_active=True))
    clinicians = clinic.staff.filter(role=Role.CLINICIAN).prefetch_related("working_hours")
    for profile in clinicians:
        hours = profile.working_hours_on(today)
        if hours:
            board.clinicians_on_duty.append((profile, hours))
    if role in (Role.RECEPTION, Role.CLINIC_ADMIN):
        board.reception = reception_panels(clinic=clinic, today=today, now=now)
        if now is not None:
            board.today_sessions = [
                (session, session_allowed_actions(session=session, now=now))
                for session in board.reception.today
            ]
    if role == Role.CLINICIAN and staff is not None and now is not None:
        board.unsigned_records = list(unsigned_records_overdue(clinician=staff, now=now))
    if role == Role.CLINIC_ADMIN:
        board.serious_adverse_events = list(serious_events_unacknowledged(clinic=clinic))
    return board
