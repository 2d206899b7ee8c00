"""The waitlist: joining it, and the offers a freed slot makes to it.

A slot freed by a cancellation or a no-show reaches here through rows.py
(reminders_on_slot_freed), inside the cancelling transaction, so a rolled-back cancellation
offers nothing. Taking an offer books through the scheduling rules: waitlist_actions.py."""

import logging
import secrets
from datetime import date, datetime, timedelta

from django.core import signing
from django.db import transaction
from django.db.models import Q

from clinic.models import Clinic, StaffProfile
from clinic.refusals import OutreachRefused

from ..models import (
    OfferStatus,
    PlanStatus,
    SessionKind,
    TreatmentPlan,
    TreatmentSession,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)

logger = logging.getLogger(__name__)

# How many waitlisted patients one freed slot is offered to at once, in the order they joined.
OFFERS_PER_SLOT = 3
OFFER_SALT = "mesotrack.waitlist-offer"
LONGEST_WAIT_DAYS = 180


def waitlist_join(
    *,
    patient,
    kind: str,
    earliest_day: date,
    latest_day: date,
    by,
    now: datetime,
    clinic: Clinic,
    clinician: StaffProfile | None = None,
    plan: TreatmentPlan | None = None,
) -> WaitlistEntry:
    """Put the patient on the waitlist (`by` is the reception user, or None for the patient)."""
    today = now.astimezone(clinic.zone).date()
    if earliest_day < today:
        raise OutreachRefused(
            "waitlist", "The first day cannot be in the past.", field="earliest_day"
        )
    if latest_day < earliest_day:
        raise OutreachRefused(
            "waitlist", "The last day cannot be before the first day.", field="latest_day"
        )
    if (latest_day - today).days > LONGEST_WAIT_DAYS:
        raise OutreachRefused(
            "waitlist",
            f"A waitlist place covers at most {LONGEST_WAIT_DAYS} days ahead.",
            field="latest_day",
        )
    if kind == SessionKind.TREATMENT:
        if plan is None or plan.patient_id != patient.pk or plan.status != PlanStatus.ACTIVE:
            raise OutreachRefused(
                "waitlist",
                "A treatment session can only be waited for on the patient's active plan.",
            )
    else:
        plan = None
    entry = WaitlistEntry.objects.create(
        patient=patient,
        clinician=clinician,
        kind=kind,
        plan=plan,
        earliest_day=earliest_day,
        latest_day=latest_day,
        joined_at=now,
        added_by=by,
    )
    logger.info("Waitlist entry %s added (patient %s)", entry.pk, patient.pk)
    return entry


def waitlist_withdraw(*, entry: WaitlistEntry, now: datetime) -> WaitlistEntry:
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status == WaitlistStatus.WAITING:
            entry.status = WaitlistStatus.WITHDRAWN
            entry.save(update_fields=["status"])
            entry.offers.filter(status=OfferStatus.OPEN).update(status=OfferStatus.EXPIRED)
    logger.info("Waitlist entry %s withdrawn", entry.pk)
    return entry


def waitlist_matches(*, session: TreatmentSession, clinic: Clinic):
    """Waiting entries this freed slot fits, first joined first."""
    day = session.starts_at.astimezone(clinic.zone).date()
    return (
        WaitlistEntry.objects.filter(
            Q(clinician__isnull=True) | Q(clinician=session.clinician_id),
            status=WaitlistStatus.WAITING,
            kind=session.kind,
            earliest_day__lte=day,
            latest_day__gte=day,
        )
        .select_related("patient")
        .order_by("joined_at", "pk")
    )


def offer_last_call(*, session: TreatmentSession, clinic: Clinic) -> datetime:
    """The last moment the freed slot may be offered: the clinic's minimum notice before it
    (practice default 30 minutes: time to read the message and travel)."""
    return session.starts_at - timedelta(minutes=clinic.waitlist_min_notice_minutes)


def waitlist_offers_make(
    *, session: TreatmentSession, now: datetime, clinic: Clinic
) -> list[WaitlistOffer]:
    """Offer the slot `session` held to the first waitlisted patients it fits who were not
    offered it before. Nothing for a slot already past (a no-show is recorded after its start)
    or closer than the clinic's minimum notice; an offer ends at that notice at the latest."""
    last_call = offer_last_call(session=session, clinic=clinic)
    if last_call <= now:
        return []
    expires_at = min(now + timedelta(hours=clinic.waitlist_offer_hours), last_call)
    offers = []
    for entry in waitlist_matches(session=session, clinic=clinic):
        if entry.patient_id == session.patient_id:
            continue
        if WaitlistOffer.objects.filter(entry=entry, freed_session=session).exists():
            continue
        offers.append(
            WaitlistOffer.objects.create(
                public_id=secrets.token_urlsafe(9),
                entry=entry,
                freed_session=session,
                clinician_id=session.clinician_id,
                room_id=session.room_id,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                offered_at=now,
                expires_at=expires_at,
            )
        )
        if len(offers) >= OFFERS_PER_SLOT:
            break
    for offer in offers:
        logger.info("Waitlist offer %s made for freed session %s", offer.pk, session.pk)
    return offers


def offer_token(*, offer: WaitlistOffer) -> str:
    return signing.Signer(salt=OFFER_SALT, sep="~").sign(offer.public_id)


def offer_resolve(*, token: str) -> WaitlistOffer | None:
    """The offer a token names, or None for a token we never issued."""
    try:
        public_id = signing.Signer(salt=OFFER_SALT, sep="~").unsign(token)
    except signing.BadSignature:
        return None
    return (
        WaitlistOffer.objects.select_related("entry__patient", "clinician", "room")
        .filter(public_id=public_id)
        .first()
    )


def offer_is_open(*, offer: WaitlistOffer, now: datetime) -> bool:
    return offer.status == OfferStatus.OPEN and now < offer.expires_at
