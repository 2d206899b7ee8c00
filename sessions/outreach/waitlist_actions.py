"""Taking a waitlist offer: the first accept of a freed slot books it, the others hear it is gone;
and when every offer of a slot expired unanswered, passing it on to the next patients in line.

Accepting locks the freed session's row (SELECT … FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
transactions serialise writers), so two patients accepting one slot at once run one after the
other: the second finds an accepted offer and is told the slot is gone. The booking itself is
session_book, with every rule a staff booking has (hours, no overlap, spacing, clearance), and a
partial unique index allows one accepted offer per slot whatever path writes it."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from clinic.models import Clinic
from clinic.refusals import BookingRefused, OutreachRefused

from ..booking.scheduling import session_book
from ..models import (
    ACTIVE_STATUSES,
    OfferStatus,
    ReminderKind,
    TreatmentSession,
    WaitlistOffer,
    WaitlistStatus,
)
from .rows import reminder_row, reminders_insert, reminders_on_slot_freed
from .waitlist import offer_last_call

logger = logging.getLogger(__name__)

GONE = "Sorry, this time has just been taken by someone else on the waitlist."


def waitlist_offer_accept(
    *, offer: WaitlistOffer, clinic: Clinic, now: datetime
) -> TreatmentSession:
    """Book the offered slot for the offer's patient, or OutreachRefused saying why not."""
    closed = _closed(offer=offer, now=now)
    if closed is not None:
        raise closed
    with transaction.atomic():
        TreatmentSession.objects.select_for_update().filter(pk=offer.freed_session_id).first()
        offer = WaitlistOffer.objects.select_for_update().get(pk=offer.pk)
        if offer.status == OfferStatus.ACCEPTED:
            return offer.booked_session
        closed = _closed(offer=offer, now=now)
        if closed is None:
            session = _book(offer=offer, clinic=clinic, now=now)
    if closed is not None:
        raise closed
    logger.info("Waitlist offer %s accepted: session %s", offer.pk, session.pk)
    return session


def _closed(*, offer: WaitlistOffer, now: datetime) -> OutreachRefused | None:
    """Why the offer can no longer be taken (marking it so), or None while it is open."""
    if offer.status == OfferStatus.ACCEPTED:
        return None
    taken = WaitlistOffer.objects.filter(
        freed_session_id=offer.freed_session_id, status=OfferStatus.ACCEPTED
    ).exists()
    if offer.status == OfferStatus.GONE or taken:
        _mark(offer, OfferStatus.GONE)
        return OutreachRefused("waitlist_gone", GONE)
    if offer.status != OfferStatus.OPEN or now >= offer.expires_at:
        _mark(offer, OfferStatus.EXPIRED)
        return OutreachRefused(
            "waitlist_expired",
            "This offer has expired. You are still on the waitlist for the next free time.",
        )
    return None


def _book(*, offer: WaitlistOffer, clinic: Clinic, now: datetime) -> TreatmentSession:
    entry = offer.entry
    try:
        with transaction.atomic():
            session = session_book(
                clinic=clinic,
                patient=entry.patient,
                clinician=offer.clinician,
                room=offer.room,
                starts_at=offer.starts_at,
                minutes=int((offer.ends_at - offer.starts_at).total_seconds() // 60),
                kind=entry.kind,
                plan=entry.plan,
                by=None,
                now=now,
            )
    except BookingRefused as refusal:
        logger.info("Waitlist offer %s could not be booked (%s)", offer.pk, refusal.rule)
        raise OutreachRefused(
            "waitlist_booking",
            "This time can no longer be booked online. Please phone the clinic.",
        ) from refusal
    offer.status, offer.booked_session = OfferStatus.ACCEPTED, session
    offer.save(update_fields=["status", "booked_session"])
    entry.status = WaitlistStatus.BOOKED
    entry.save(update_fields=["status"])
    _tell_the_others(offer=offer, clinic=clinic, now=now)
    return session


def _mark(offer: WaitlistOffer, status: str) -> None:
    # Only an open offer changes: an accepted one stays accepted.
    WaitlistOffer.objects.filter(pk=offer.pk, status=OfferStatus.OPEN).update(status=status)


def _tell_the_others(*, offer: WaitlistOffer, clinic: Clinic, now: datetime) -> None:
    others = list(
        WaitlistOffer.objects.select_for_update()
        .filter(freed_session_id=offer.freed_session_id, status=OfferStatus.OPEN)
        .exclude(pk=offer.pk)
        .select_related("entry__patient")
    )
    rows = []
    for other in others:
        other.status = OfferStatus.GONE
        other.save(update_fields=["status"])
        row = reminder_row(
            clinic=clinic,
            kind=ReminderKind.WAITLIST_GONE,
            patient=other.entry.patient,
            due_at=now,
            now=now,
        )
        if row is not None:
            row.waitlist_offer = other
            rows.append(row)
    reminders_insert(rows)


LIVE = (OfferStatus.OPEN, OfferStatus.ACCEPTED)


def waitlist_offers_pass_on(*, clinic: Clinic, now: datetime) -> int:
    """Expire the offers whose time ran out; a freed slot whose every offer expired unanswered
    is offered to the next waitlisted patients it fits, in joining order, through the outbox.
    It stops when the slot is taken (an accept, or reception booked it), when nobody else on
    the list fits, or at the clinic's minimum notice before the slot. Beat runs it every minute
    (sessions/tasks.py); returns how many new offers were made."""
    WaitlistOffer.objects.filter(status=OfferStatus.OPEN, expires_at__lte=now).update(
        status=OfferStatus.EXPIRED
    )
    notice = timedelta(minutes=clinic.waitlist_min_notice_minutes)
    unanswered = (
        TreatmentSession.objects.filter(
            starts_at__gt=now + notice, waitlist_offers__status=OfferStatus.EXPIRED
        )
        .exclude(waitlist_offers__status__in=LIVE)
        .distinct()
        .values_list("pk", flat=True)
    )
    made = 0
    for session_pk in list(unanswered):
        made += _pass_on(session_pk=session_pk, clinic=clinic, now=now)
    return made


def _pass_on(*, session_pk: int, clinic: Clinic, now: datetime) -> int:
    # The freed session's row lock is the one waitlist_offer_accept takes: an accept and a
    # pass-on of one slot run one after the other.
    with transaction.atomic():
        session = TreatmentSession.objects.select_for_update().get(pk=session_pk)
        if offer_last_call(session=session, clinic=clinic) <= now:
            return 0
        if session.waitlist_offers.filter(status__in=LIVE).exists() or _slot_taken(session):
            return 0
        before = session.waitlist_offers.count()
        reminders_on_slot_freed(session=session, now=now, clinic=clinic)
        made = session.waitlist_offers.count() - before
    if made:
        logger.info("Freed session %s passed on to %s more waitlisted patients", session_pk, made)
    return made


def _slot_taken(session: TreatmentSession) -> bool:
    """Reception (or anyone) booked the clinician or the room at that time since it freed."""
    return (
        TreatmentSession.objects.filter(
            Q(clinician_id=session.clinician_id) | Q(room_id=session.room_id),
            status__in=ACTIVE_STATUSES,  # what holds a slot, as the overlap rule counts
            starts_at__lt=session.ends_at,
            ends_at__gt=session.starts_at,
        )
        .exclude(pk=session.pk)
        .exists()
    )
