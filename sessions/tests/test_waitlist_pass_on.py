"""A freed slot whose waitlist offers all expired unanswered goes to the next patients in line
(sessions/outreach/waitlist_actions.py, waitlist_offers_pass_on), until it is taken, nobody
else fits, or it is closer than the clinic's minimum notice. The clock is set for every step."""

from datetime import timedelta

import pytest
import time_machine

from patients.tests.factories import PatientFactory
from sessions.models import (
    OfferStatus,
    Reminder,
    ReminderKind,
    SessionStatus,
    TreatmentSession,
    WaitlistOffer,
)
from sessions.outreach.waitlist import OFFERS_PER_SLOT
from sessions.outreach.waitlist_actions import waitlist_offer_accept, waitlist_offers_pass_on
from sessions.tasks import pass_on_unanswered_waitlist_offers
from sessions.tests.conftest import MONDAY, at
from sessions.tests.test_waitlist import book, cancel, join


@pytest.fixture
def now():
    with time_machine.travel(MONDAY, tick=False):
        yield MONDAY


@pytest.fixture
def line(open_clinic, now):
    """Five patients on the waitlist, in joining order, each reachable by SMS."""
    patients = [PatientFactory(sms_consent_at=now) for _ in range(OFFERS_PER_SLOT + 2)]
    for place, patient in enumerate(patients):
        join(open_clinic, patient, now + timedelta(minutes=place))
    return patients


@pytest.fixture
def freed(open_clinic, clinician, room, line, now):
    """Wednesday 10:00 cancelled on Monday 08:00: the first three in line are offered it."""
    session = book(
        open_clinic, clinician, room, PatientFactory(), at(open_clinic, 2026, 11, 25, 10), now
    )
    cancel(open_clinic, session, now)
    return session


def offered(session):
    return [o.entry.patient for o in WaitlistOffer.objects.filter(freed_session=session)]


def test_unanswered_offers_pass_to_the_next_patients_in_line(open_clinic, line, freed, now):
    assert offered(freed) == line[:3]
    expiry = now + timedelta(hours=open_clinic.waitlist_offer_hours)

    # before the offers expire nothing moves
    assert waitlist_offers_pass_on(clinic=open_clinic, now=expiry - timedelta(minutes=1)) == 0

    # when they expire unanswered
    made = waitlist_offers_pass_on(clinic=open_clinic, now=expiry)

    # then the other two are offered the slot, each with a message in the outbox
    assert made == 2 and offered(freed) == line
    first_three = WaitlistOffer.objects.filter(entry__patient__in=line[:3])
    assert set(first_three.values_list("status", flat=True)) == {OfferStatus.EXPIRED}
    messages = Reminder.objects.filter(kind=ReminderKind.WAITLIST_OFFER, patient__in=line[3:])
    assert messages.count() == 2
    # and the fourth takes it
    fourth = WaitlistOffer.objects.get(entry__patient=line[3])
    booked = waitlist_offer_accept(offer=fourth, clinic=open_clinic, now=expiry)
    assert booked.patient == line[3] and booked.starts_at == freed.starts_at


def test_a_list_exhausted_offers_nothing_more(open_clinic, line, freed, now):
    expiry = now + timedelta(hours=open_clinic.waitlist_offer_hours)
    waitlist_offers_pass_on(clinic=open_clinic, now=expiry)

    later = expiry + timedelta(hours=open_clinic.waitlist_offer_hours)
    assert waitlist_offers_pass_on(clinic=open_clinic, now=later) == 0
    assert waitlist_offers_pass_on(clinic=open_clinic, now=later + timedelta(hours=1)) == 0
    assert WaitlistOffer.objects.filter(freed_session=freed).count() == len(line)


@pytest.mark.parametrize("status", [SessionStatus.SCHEDULED, SessionStatus.CHECKED_IN])
def test_a_slot_reception_booked_meanwhile_is_not_passed_on(
    open_clinic, clinician, room, line, freed, now, status
):
    # Booked for someone else, even one already checked in (a walk-in): the slot is held.
    expiry = now + timedelta(hours=open_clinic.waitlist_offer_hours)
    taken = book(open_clinic, clinician, room, PatientFactory(), freed.starts_at, expiry)
    TreatmentSession.objects.filter(pk=taken.pk).update(status=status)

    assert waitlist_offers_pass_on(clinic=open_clinic, now=expiry) == 0
    assert offered(freed) == line[:3]


def test_a_slot_inside_the_minimum_notice_is_not_passed_on(open_clinic, line, freed, now):
    # the offers ran to the last call, 30 minutes before the slot (practice default)
    last_call = freed.starts_at - timedelta(minutes=open_clinic.waitlist_min_notice_minutes)
    WaitlistOffer.objects.filter(freed_session=freed).update(expires_at=last_call)

    assert waitlist_offers_pass_on(clinic=open_clinic, now=last_call) == 0
    assert offered(freed) == line[:3]


def test_an_offer_made_near_the_slot_expires_at_the_minimum_notice(
    open_clinic, clinician, room, line, now
):
    # a slot freed three hours before it starts: four hours to answer would run past it
    soon = at(open_clinic, 2026, 11, 23, 11)
    session = book(open_clinic, clinician, room, PatientFactory(), soon, now)
    cancel(open_clinic, session, now)

    ends = {o.expires_at for o in WaitlistOffer.objects.filter(freed_session=session)}
    assert ends == {soon - timedelta(minutes=open_clinic.waitlist_min_notice_minutes)}


def test_the_beat_task_passes_offers_on(open_clinic, line, freed, now):
    expiry = now + timedelta(hours=open_clinic.waitlist_offer_hours)
    with time_machine.travel(expiry, tick=False):
        assert pass_on_unanswered_waitlist_offers() == 2
