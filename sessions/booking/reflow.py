"""Moving a session together with the later sessions of its plan, so the course keeps its
spacing (DOMAIN.md: "Moving a session offers to shift the later sessions of the plan"). The
proposal is a read; the move applies scheduling.py's rules to every session it shifts."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from clinic.models import Clinic, Room, StaffProfile
from sessions.booking.scheduling import BookingRefused, conflict_retried, localise, session_move
from sessions.models import SessionStatus, TreatmentSession, gap_days


@dataclass
class Shift:
    session: TreatmentSession
    starts_at: datetime  # proposed


def reflow_proposal(
    *, clinic: Clinic, session: TreatmentSession, new_starts_at: datetime
) -> list[Shift]:
    """Proposed new times for the later sessions of the plan, shifted by the same number of days
    at the same local time, so the spacing of the course still holds; reception may edit them."""
    if session.plan_id is None:
        return []
    days = gap_days(clinic=clinic, earlier=session.starts_at, later=new_starts_at)
    later = (
        session.plan.sessions.filter(
            status__in=(SessionStatus.SCHEDULED, SessionStatus.CONFIRMED),
            starts_at__gt=session.starts_at,
        )
        .exclude(pk=session.pk)
        .select_related("clinician", "room")
        .order_by("starts_at")
    )
    shifts = []
    for other in later:
        wall = other.starts_at.astimezone(clinic.zone)
        shifts.append(
            Shift(
                session=other,
                starts_at=localise(
                    clinic=clinic, day=wall.date() + timedelta(days=days), at=wall.time()
                ),
            )
        )
    return shifts


@conflict_retried
def session_move_with_reflow(
    *,
    clinic: Clinic,
    session: TreatmentSession,
    starts_at: datetime,
    later: list[tuple[TreatmentSession, datetime]],
    by,
    now: datetime,
    clinician: StaffProfile | None = None,
    room: Room | None = None,
    override_reason: str = "",
) -> TreatmentSession:
    """Move a session and the later sessions reception accepted, all together or not at all."""
    moves = [(session, starts_at, clinician, room)] + [(s, t, None, None) for s, t in later]
    # Move the latest first when shifting later (and the earliest first when shifting earlier),
    # so no session is ever checked against a neighbour that is about to move out of its way.
    moves.sort(key=lambda m: m[0].starts_at, reverse=starts_at > session.starts_at)
    with transaction.atomic():
        for target, when, who, where in moves:
            if target.starts_at == when and who is None and where is None:
                continue
            try:
                moved = session_move(
                    clinic=clinic,
                    session=target,
                    starts_at=when,
                    by=by,
                    now=now,
                    clinician=who,
                    room=where,
                    override_reason=override_reason,
                )
            except BookingRefused as refusal:
                if target.pk == session.pk:
                    raise
                day = when.astimezone(clinic.zone)
                raise BookingRefused(
                    refusal.rule,
                    f"Later session on {day:%a %d %b %Y %H:%M}: {refusal.message}",
                ) from refusal
            if target.pk == session.pk:
                session = moved
    session.refresh_from_db()
    return session
