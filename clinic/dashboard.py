"""What the dashboard shows each role. Later capabilities add their own panels here."""

from dataclasses import dataclass, field
from datetime import date

from .models import Clinic, OpeningHours, Room, StaffProfile
from .roles import Role


@dataclass
class Dashboard:
    today: date
    opening_hours: list[OpeningHours] = field(default_factory=list)
    rooms: list[Room] = field(default_factory=list)
    clinicians_on_duty: list[tuple[StaffProfile, list]] = field(default_factory=list)
    # Reception panels (sessions app): today's sessions by status, tomorrow's unconfirmed,
    # overdue maintenance; None for roles that do not work the desk.
    reception: object | None = None


def dashboard_for(*, clinic: Clinic | None, role: Role | None, today: date) -> Dashboard:
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
        from sessions.calendar import reception_panels

        board.reception = reception_panels(clinic=clinic, today=today)
    return board
