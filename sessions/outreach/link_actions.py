"""What a patient may do through a live link: confirm, or cancel up to the clinic's cutoff.

The link itself (tokens, revocation) is links.py; the booking rules are booking/scheduling.py,
called here exactly as reception's pages call them, with the patient named in the history."""

from datetime import datetime, timedelta

from ..booking.scheduling import BookingRefused, session_cancel, session_confirm
from ..models import PatientLink, SessionStatus, TreatmentSession
from .links import patient_link_mark_used

# The change reason in a session's history when the patient acted through their link.
BY_PATIENT_LINK = "By the patient, through their reminder link"


def patient_cancel_deadline(*, link: PatientLink, clinic) -> datetime:
    """The last moment the patient may cancel online; after it they must phone the clinic,
    so a same-day gap in the calendar reaches a person who can fill it."""
    return link.session.starts_at - timedelta(hours=clinic.patient_cancel_cutoff_hours)


def patient_link_confirm(*, link: PatientLink, now: datetime) -> TreatmentSession:
    """The patient confirms the appointment. Confirming twice is not an error to the patient."""
    session = link.session
    if session.status != SessionStatus.CONFIRMED:
        # by=None: no staff member made this change; the history says it came from the link.
        session = session_confirm(session=session, by=None, now=now, change_reason=BY_PATIENT_LINK)
    patient_link_mark_used(link=link, now=now)
    return session


def patient_link_cancel(
    *, link: PatientLink, clinic, reason: str, now: datetime
) -> TreatmentSession:
    """The patient cancels through the link, up to the clinic's cutoff before the start."""
    if now > patient_cancel_deadline(link=link, clinic=clinic):
        raise BookingRefused(
            "patient_cancel_cutoff",
            f"Appointments can be cancelled online up to {clinic.patient_cancel_cutoff_hours} "
            "hours before they start. Please phone the clinic instead.",
        )
    # session_cancel revokes this link with the others: it has done its job.
    session = session_cancel(
        clinic=clinic,
        session=link.session,
        by_patient=True,
        reason=f"Cancelled by the patient online: {reason.strip()}" if reason.strip() else "",
        by=None,
        now=now,
        change_reason=BY_PATIENT_LINK,
    )
    patient_link_mark_used(link=link, now=now)
    return session
