"""Moving an appointment from the patient's link (DOMAIN.md: online rescheduling may only choose
slots that keep the 7–14-day spacing and the cancellation cutoff).

The options are free slots of the same clinician and room; each is kept only when the gaps to
the plan's session before and after stay inside the course spacing. The move itself is
session_move, with every rule of a staff move. Nothing else moves: when no option keeps the
spacing to the later sessions, the patient is asked to phone."""

import logging
from datetime import datetime, timedelta

from clinic.models import Clinic
from clinic.refusals import BookingRefused

from ..booking.scheduling import gap_days, session_move
from ..booking.slots import free_slots
from ..models import ACTIVE_STATUSES, PatientLink, TreatmentSession
from .link_actions import patient_cancel_deadline
from .links import patient_link_mark_used

logger = logging.getLogger(__name__)

SEARCH_DAYS = 21


def _keeps_spacing(*, clinic: Clinic, session: TreatmentSession, starts_at: datetime) -> bool:
    """The new time stays between the plan's sessions before and after this one (the course
    keeps its order) and 7–14 days (the clinic's range) from each."""
    plan = session.plan
    if plan is None:
        return True
    shortest = clinic.course_min_interval_days
    longest = max(clinic.course_max_interval_days, plan.interval_days)
    others = plan.sessions.filter(status__in=ACTIVE_STATUSES).exclude(pk=session.pk)
    before = others.filter(starts_at__lte=session.starts_at).order_by("-starts_at").first()
    after = others.filter(starts_at__gt=session.starts_at).order_by("starts_at").first()
    gaps = []
    if before is not None:
        gaps.append(gap_days(clinic=clinic, earlier=before.starts_at, later=starts_at))
    if after is not None:
        gaps.append(gap_days(clinic=clinic, earlier=starts_at, later=after.starts_at))
    return all(shortest <= gap <= longest for gap in gaps)


def reschedule_options(
    *, link: PatientLink, clinic: Clinic, now: datetime, limit: int = 12
) -> list[datetime]:
    """Start times the patient may move to: free, inside the hours, and keeping the spacing."""
    session = link.session
    if now > patient_cancel_deadline(link=link, clinic=clinic):
        return []
    earliest = now + timedelta(hours=clinic.patient_cancel_cutoff_hours)
    centre = session.starts_at - timedelta(days=SEARCH_DAYS // 3)
    candidates = free_slots(
        clinic=clinic,
        clinician=session.clinician,
        room=session.room,
        patient=session.patient,
        after=max(earliest, centre),
        days=SEARCH_DAYS,
        limit=200,
        exclude_pk=session.pk,
    )
    kept = [
        start
        for start in candidates
        if start != session.starts_at
        and _keeps_spacing(clinic=clinic, session=session, starts_at=start)
    ]
    return kept[:limit]


def patient_link_reschedule(
    *, link: PatientLink, clinic: Clinic, starts_at: datetime, now: datetime
) -> TreatmentSession:
    """Move the link's session to one of its options (session_move checks every rule again)."""
    if now > patient_cancel_deadline(link=link, clinic=clinic):
        raise BookingRefused(
            "patient_cancel_cutoff",
            f"Appointments can be changed online up to {clinic.patient_cancel_cutoff_hours} "
            "hours before they start. Please phone the clinic instead.",
        )
    if starts_at not in reschedule_options(link=link, clinic=clinic, now=now, limit=200):
        raise BookingRefused(
            "patient_reschedule",
            "This time cannot be chosen online (it is taken, or it would put your sessions too "
            "close together or too far apart). Choose another time or phone the clinic.",
        )
    session = session_move(
        clinic=clinic, session=link.session, starts_at=starts_at, by=None, now=now
    )
    patient_link_mark_used(link=link, now=now)
    logger.info("Session %s moved by the patient through link %s", session.pk, link.pk)
    return session
