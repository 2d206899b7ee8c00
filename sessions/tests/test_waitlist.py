"""The waitlist (sessions/outreach/waitlist.py, waitlist_actions.py): joining, the offers a
cancellation makes through the outbox in joining order, the first accept winning, the others
told it is gone, expiry, and the race of two accepts on PostgreSQL."""

import threading
from datetime import date, time, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, connections

from clinic.models import Clinic, OpeningHours, Room, StaffProfile, WorkingHours
from clinic.refusals import OutreachRefused
from clinic.roles import Role
from patients.tests.factories import PatientFactory
from sessions.booking.scheduling import session_book, session_cancel, session_no_show
from sessions.models import (
    OfferStatus,
    Reminder,
    ReminderKind,
    SessionKind,
    TreatmentSession,
    WaitlistOffer,
    WaitlistStatus,
)
from sessions.outreach.messages import render_reminder
from sessions.outreach.waitlist import offer_resolve, offer_token, waitlist_join
from sessions.outreach.waitlist_actions import waitlist_offer_accept
from sessions.tests.conftest import MONDAY, at


@pytest.fixture
def now():
    with time_machine.travel(MONDAY, tick=False):
        yield MONDAY


def book(clinic, clinician, room, patient, starts_at, now):
    return session_book(
        clinic=clinic,
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=starts_at,
        by=None,
        now=now,
        kind=SessionKind.ASSESSMENT,
    )


def join(clinic, patient, now, **kw):
    return waitlist_join(
        patient=patient,
        kind=kw.pop("kind", SessionKind.ASSESSMENT),
        earliest_day=kw.pop("earliest_day", date(2026, 11, 23)),
        latest_day=kw.pop("latest_day", date(2026, 11, 30)),
        by=None,
        now=now,
        clinic=clinic,
        **kw,
    )


def cancel(clinic, session, now):
    return session_cancel(
        clinic=clinic, session=session, by_patient=True, reason="ill", by=None, now=now
    )


def test_joining_checks_the_days(open_clinic, patient, now):
    with pytest.raises(OutreachRefused, match="past"):
        join(open_clinic, patient, now, earliest_day=date(2026, 11, 20))
    with pytest.raises(OutreachRefused, match="before the first day"):
        join(
            open_clinic,
            patient,
            now,
            earliest_day=date(2026, 11, 30),
            latest_day=date(2026, 11, 24),
        )
    with pytest.raises(OutreachRefused, match="active plan"):
        join(open_clinic, patient, now, kind=SessionKind.TREATMENT)


def test_a_cancellation_offers_the_slot_in_joining_order_through_the_outbox(
    open_clinic, clinician, room, now
):
    holder = PatientFactory()
    first, second = PatientFactory(sms_consent_at=now), PatientFactory(sms_consent_at=now)
    later_entry = join(open_clinic, second, now + timedelta(minutes=5))
    first_entry = join(open_clinic, first, now)
    session = book(open_clinic, clinician, room, holder, at(open_clinic, 2026, 11, 25, 10), now)
    cancel(open_clinic, session, now)
    offers = list(WaitlistOffer.objects.order_by("pk"))
    assert [o.entry for o in offers] == [first_entry, later_entry]
    rows = Reminder.objects.filter(kind=ReminderKind.WAITLIST_OFFER).order_by("due_at")
    assert [r.patient for r in rows] == [first, second]
    assert rows[0].due_at < rows[1].due_at  # the first in line hears first
    message = render_reminder(reminder=rows[0], clinic=open_clinic, now=now)
    assert "/offer/" in message.sms and "Wed 25 Nov at 10:00" in message.sms


def test_an_entry_for_another_clinician_or_day_gets_no_offer(
    open_clinic, clinician, room, staff, now
):
    other = staff(Role.CLINICIAN, display_name="Dr Other")
    join(open_clinic, PatientFactory(), now, clinician=other)
    join(open_clinic, PatientFactory(), now, earliest_day=date(2026, 11, 27))
    session = book(
        open_clinic, clinician, room, PatientFactory(), at(open_clinic, 2026, 11, 25, 10), now
    )
    cancel(open_clinic, session, now)
    assert not WaitlistOffer.objects.exists()


def test_the_first_accept_wins_and_the_others_are_told_it_is_gone(
    open_clinic, clinician, room, now
):
    a, b = PatientFactory(sms_consent_at=now), PatientFactory(sms_consent_at=now)
    join(open_clinic, a, now)
    join(open_clinic, b, now)
    session = book(
        open_clinic, clinician, room, PatientFactory(), at(open_clinic, 2026, 11, 25, 10), now
    )
    cancel(open_clinic, session, now)
    offer_a, offer_b = WaitlistOffer.objects.order_by("pk")
    booked = waitlist_offer_accept(offer=offer_a, clinic=open_clinic, now=now)
    assert booked.patient == a and booked.starts_at == session.starts_at
    with pytest.raises(OutreachRefused, match="taken by someone else"):
        waitlist_offer_accept(offer=offer_b, clinic=open_clinic, now=now)
    offer_a.refresh_from_db()
    offer_b.refresh_from_db()
    assert offer_a.status == OfferStatus.ACCEPTED and offer_b.status == OfferStatus.GONE
    assert offer_a.entry.status == WaitlistStatus.BOOKED
    assert Reminder.objects.filter(kind=ReminderKind.WAITLIST_GONE, patient=b).exists()
    # Accepting twice is not an error to the winner.
    assert waitlist_offer_accept(offer=offer_a, clinic=open_clinic, now=now) == booked


def test_an_offer_expires(open_clinic, clinician, room, now):
    join(open_clinic, PatientFactory(), now)
    session = book(
        open_clinic, clinician, room, PatientFactory(), at(open_clinic, 2026, 11, 25, 10), now
    )
    cancel(open_clinic, session, now)
    offer = WaitlistOffer.objects.get()
    assert offer.expires_at == now + timedelta(hours=open_clinic.waitlist_offer_hours)
    with pytest.raises(OutreachRefused, match="expired"):
        waitlist_offer_accept(offer=offer, clinic=open_clinic, now=offer.expires_at)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED
    assert TreatmentSession.objects.filter(status="scheduled").count() == 0


def test_accepting_still_applies_the_booking_rules(open_clinic, clinician, room, now):
    waiting = PatientFactory()
    join(open_clinic, waiting, now)
    session = book(
        open_clinic, clinician, room, PatientFactory(), at(open_clinic, 2026, 11, 25, 10), now
    )
    cancel(open_clinic, session, now)
    offer = WaitlistOffer.objects.get()
    # Reception fills the slot by phone before the patient opens the message.
    book(open_clinic, clinician, room, PatientFactory(), session.starts_at, now)
    with pytest.raises(OutreachRefused, match="phone the clinic"):
        waitlist_offer_accept(offer=offer, clinic=open_clinic, now=now)
    assert not TreatmentSession.objects.filter(patient=waiting).exists()


def test_a_past_no_show_offers_nothing(open_clinic, clinician, room, now):
    join(open_clinic, PatientFactory(), now)
    session = book(
        open_clinic, clinician, room, PatientFactory(), at(open_clinic, 2026, 11, 23, 10), now
    )
    session_no_show(
        clinic=open_clinic, session=session, by=None, now=session.starts_at + timedelta(minutes=20)
    )
    assert not WaitlistOffer.objects.exists()


def test_offer_tokens_are_signed(open_clinic, clinician, room, now):
    join(open_clinic, PatientFactory(), now)
    session = book(
        open_clinic, clinician, room, PatientFactory(), at(open_clinic, 2026, 11, 25, 10), now
    )
    cancel(open_clinic, session, now)
    offer = WaitlistOffer.objects.get()
    assert offer_resolve(token=offer_token(offer=offer)) == offer
    assert offer_resolve(token=offer.public_id) is None
    assert offer_resolve(token=offer_token(offer=offer)[:-2] + "xx") is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_patients_accepting_one_slot_at_once_exactly_one_wins():
    if connection.vendor != "postgresql":
        pytest.skip("parallel accepts need PostgreSQL (SQLite serialises writers)")

    clinic = Clinic.objects.create(name="Race Clinic", time_zone="Europe/London")
    for weekday in range(5):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(9), closes=time(18))
    user = get_user_model().objects.create(username="race-clinician-waitlist")
    clinician = StaffProfile.objects.create(
        user=user, clinic=clinic, display_name="Dr Race", role=Role.CLINICIAN
    )
    for weekday in range(5):
        WorkingHours.objects.create(staff=clinician, weekday=weekday, starts=time(9), ends=time(17))
    room = Room.objects.create(clinic=clinic, name="Room")
    a, b = PatientFactory(), PatientFactory()
    join(clinic, a, MONDAY)
    join(clinic, b, MONDAY)
    session = book(clinic, clinician, room, PatientFactory(), at(clinic, 2026, 11, 25, 10), MONDAY)
    cancel(clinic, session, MONDAY)
    offers = list(WaitlistOffer.objects.order_by("pk"))
    assert len(offers) == 2
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(offer):
        try:
            barrier.wait()
            waitlist_offer_accept(offer=offer, clinic=clinic, now=MONDAY)
            outcomes.append("won")
        except OutreachRefused as refusal:
            outcomes.append(refusal.rule)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(o,)) for o in offers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["waitlist_gone", "won"]
    assert WaitlistOffer.objects.filter(status=OfferStatus.ACCEPTED).count() == 1
    assert (
        TreatmentSession.objects.filter(starts_at=session.starts_at, status="scheduled").count()
        == 1
    )
