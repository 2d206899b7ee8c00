"""What the patient sees (issue 15, point 7): times in the clinic's zone and their own, the
clinic's address and phone, an .ics per appointment that dies with its link, a course
confirmation with a link per date, quiet hours judged when a reminder is sent, and no
cancellation notice for an appointment the patient was never told of."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from icalendar import Calendar

from sessions.booking.plans import course_book
from sessions.booking.scheduling import session_book, session_cancel
from sessions.models import Reminder, ReminderKind, ReminderStatus
from sessions.outreach.links import patient_link_issue, patient_link_revoke
from sessions.outreach.messages import render_reminder
from sessions.outreach.rows import NEVER_TOLD, reminders_on_booked
from sessions.outreach.sweep import dispatch_due_reminders
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import TreatmentSessionFactory

pytestmark = pytest.mark.django_db

CONSENTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# Wednesday 25 November 2026, 10:00 in London (UTC in November): 18:00 in Singapore.
STARTS = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def session(plan, clinician, room):
    plan.patient.email_consent_at = CONSENTED
    plan.patient.save()
    return TreatmentSessionFactory(
        patient=plan.patient, plan=plan, clinician=clinician, room=room, starts_at=STARTS
    )


@pytest.fixture
def link_path(session):
    return path_of(patient_link_issue(session=session, now=MONDAY))


def _book(clinic, patient, clinician, room, starts_at, by, now):
    return session_book(
        clinic=clinic,
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=starts_at,
        by=by,
        now=now,
    )


# The link page ----------------------------------------------------------------------------------


@time_machine.travel(MONDAY, tick=False)
def test_the_page_gives_the_clinic_time_and_the_patients_own_both_labelled(link_path, session):
    session.patient.time_zone = "Asia/Singapore"
    session.patient.save()

    page = Client().get(link_path).content.decode()

    assert "Wednesday 25 November 2026 at 10:00" in page
    assert "the clinic's time (Europe/London)" in page
    assert "Wednesday 25 November at 18:00 where you are (Asia/Singapore time)" in page


@time_machine.travel(MONDAY, tick=False)
def test_a_patient_in_the_clinics_zone_sees_one_time(link_path, session):
    page = Client().get(link_path).content.decode()

    assert "Wednesday 25 November 2026 at 10:00" in page
    assert "where you are" not in page


@time_machine.travel(MONDAY, tick=False)
def test_the_page_shows_where_the_clinic_is_and_its_phone(link_path, clinic):
    page = Client().get(link_path).content.decode()

    assert 'data-testid="clinic-address">1 Test Street<br>London</address>' in page
    assert "020 7946 0000" in page
    assert 'href="tel:+442079460000"' in page


@time_machine.travel(MONDAY, tick=False)
def test_the_calendar_file_holds_the_appointment_and_nothing_more(link_path, session):
    response = Client().get(link_path + "appointment.ics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    calendar = Calendar.from_ical(response.content)
    assert calendar["method"] == "PUBLISH"
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == STARTS
    assert event.decoded("dtend") == session.ends_at
    assert str(event["summary"]) == "Appointment at Test Hair Clinic"
    assert str(event["location"]) == "1 Test Street, London"
    text = response.content.decode()
    # Nothing the page does not show: no surname, no plan, no formulation, no clinician notes.
    for private in ("Patel", session.patient.email, "plan", "ATTENDEE", "DESCRIPTION"):
        assert private not in text


@time_machine.travel(MONDAY, tick=False)
def test_the_page_offers_the_calendar_file(link_path):
    page = Client().get(link_path).content.decode()

    assert f'href="{link_path}appointment.ics"' in page


def test_the_calendar_file_dies_with_the_link(link_path, session):
    with time_machine.travel(MONDAY, tick=False):
        link = session.patient_links.get()
        patient_link_revoke(link=link, now=MONDAY)
        revoked = Client().get(link_path + "appointment.ics")
    assert revoked.status_code == 410
    assert b"BEGIN:VCALENDAR" not in revoked.content

    fresh = path_of(patient_link_issue(session=session, now=MONDAY))
    with time_machine.travel(STARTS + timedelta(minutes=1), tick=False):
        expired = Client().get(fresh + "appointment.ics")
    assert expired.status_code == 410
    assert b"BEGIN:VCALENDAR" not in expired.content


# The messages -----------------------------------------------------------------------------------


def test_a_reminder_gives_the_clinic_time_and_the_patients_own(clinic, session):
    session.patient.time_zone = "Asia/Singapore"
    session.patient.preferred_channel = "email"
    session.patient.save()
    reminders_on_booked(session=session, now=MONDAY, confirm=False)
    reminder = Reminder.objects.filter(kind=ReminderKind.APPOINTMENT).first()

    message = render_reminder(reminder=reminder, clinic=clinic, now=MONDAY)

    assert (
        "Wednesday 25 November 2026 at 10:00 Europe/London time "
        "(18:00 Asia/Singapore time, yours)" in message.text
    )
    assert "1 Test Street" in message.text and "020 7946 0000" in message.text


def test_a_text_gives_both_times_when_the_day_differs_too(clinic, plan, clinician, room):
    patient = plan.patient
    patient.preferred_channel, patient.sms_consent_at = "sms", CONSENTED
    patient.mobile, patient.time_zone = "+6591234567", "Asia/Singapore"
    patient.save()
    late = TreatmentSessionFactory(
        patient=patient,
        plan=plan,
        clinician=clinician,
        room=room,
        starts_at=STARTS.replace(hour=17),
    )
    reminders_on_booked(session=late, now=MONDAY)
    reminder = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION)

    message = render_reminder(reminder=reminder, clinic=clinic, now=MONDAY)

    assert "Wed 25 Nov at 17:00 Europe/London time (Thu 26 Nov 01:00 Asia/Singapore time)" in (
        message.sms
    )


def test_a_course_confirmation_lists_each_date_with_its_own_link(
    open_clinic, clinician, room, plan, desk_user
):
    plan.patient.email_consent_at = CONSENTED
    plan.patient.save()
    starts = [at(open_clinic, 2026, 11, 27, 10), at(open_clinic, 2026, 12, 11, 10)]
    starts.append(at(open_clinic, 2026, 12, 24, 10))
    booked = course_book(
        clinic=open_clinic,
        plan=plan,
        starts=starts,
        clinician=clinician,
        room=room,
        by=desk_user,
        now=MONDAY,
    )

    assert dispatch_due_reminders(now=MONDAY + timedelta(minutes=1)).sent == 1

    message = mail.outbox[0]
    html = message.alternatives[0][0]
    links = {session.pk: session.patient_links.get() for session in booked}
    assert len({link.public_id for link in links.values()}) == 3
    urls = {}
    for session in booked:
        # each date's own link, ending when that session starts, once in the text and the HTML
        link = links[session.pk]
        assert link.expires_at == session.starts_at
        (line,) = [ln for ln in message.body.splitlines() if link.public_id in ln]
        urls[session.pk] = line.split(": ", 1)[1].strip()
        assert html.count(f'href="{urls[session.pk]}"') == 1
    assert "Confirm or cancel your appointment" not in html
    assert html.count("Confirm or cancel this session") == 3
    # each link opens its own date
    for session, day in zip(booked, ("27 November", "11 December", "24 December"), strict=True):
        with time_machine.travel(MONDAY, tick=False):
            page = Client().get(path_of(urls[session.pk])).content.decode()
        assert day in page


def test_a_course_confirmation_by_text_carries_a_link_per_date(
    open_clinic, clinician, room, plan, desk_user
):
    patient = plan.patient
    patient.preferred_channel, patient.sms_consent_at, patient.mobile = (
        "sms",
        CONSENTED,
        "+447700900555",
    )
    patient.save()
    starts = [at(open_clinic, 2026, 11, 27, 10), at(open_clinic, 2026, 12, 11, 10)]
    booked = course_book(
        clinic=open_clinic,
        plan=plan,
        starts=starts,
        clinician=clinician,
        room=room,
        by=desk_user,
        now=MONDAY,
    )
    reminder = Reminder.objects.get(kind=ReminderKind.BOOKING_CONFIRMATION)

    sms = render_reminder(reminder=reminder, clinic=open_clinic, now=MONDAY).sms

    assert sms.count("/r/") == 2
    for session in booked:
        assert patient_link_issue(session=session, now=MONDAY) in sms


# Quiet hours at send time ----------------------------------------------------------------------


def test_quiet_hours_changed_after_a_reminder_was_queued_hold_when_it_is_sent(
    open_clinic, clinician, room, patient, desk_user
):
    # given: a reminder queued for 10:00 on Wednesday (48 hours before), outside quiet hours
    patient.email_consent_at = CONSENTED
    patient.save()
    session = _book(
        open_clinic,
        patient,
        clinician,
        room,
        at(open_clinic, 2026, 11, 27, 10),
        desk_user,
        now=MONDAY,
    )
    assert dispatch_due_reminders(now=MONDAY).sent == 1  # the confirmation, at 08:00
    reminder = Reminder.objects.get(session=session, due_at=at(open_clinic, 2026, 11, 25, 10))
    assert reminder.send_after == reminder.due_at
    # when: the patient then asks for quiet mornings until 11:00
    patient.quiet_hours_start = time(0, 0)
    patient.quiet_hours_end = time(11, 0)
    patient.save()
    mail.outbox.clear()

    result = dispatch_due_reminders(now=at(open_clinic, 2026, 11, 25, 10))

    # then: nothing goes at 10:00; the reminder waits until 11:00 and goes then, once
    assert result.sent == 0 and result.quiet == 1
    assert mail.outbox == []
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.send_after == at(open_clinic, 2026, 11, 25, 11)
    assert reminder.claimed_at is None and reminder.attempts == 0
    assert dispatch_due_reminders(now=at(open_clinic, 2026, 11, 25, 10, 30)).sent == 0
    assert dispatch_due_reminders(now=at(open_clinic, 2026, 11, 25, 11)).sent == 1
    assert len(mail.outbox) == 1


def test_a_reminder_reaching_the_sweep_at_night_waits_for_the_morning(open_clinic, session):
    # given: a reminder due in the evening whose sweep only runs at 23:00 (a worker was down)
    reminders_on_booked(session=session, now=MONDAY, confirm=False)
    reminder = Reminder.objects.get(due_at=at(open_clinic, 2026, 11, 23, 10))
    Reminder.objects.filter(pk=reminder.pk).update(send_after=at(open_clinic, 2026, 11, 23, 19))

    result = dispatch_due_reminders(now=at(open_clinic, 2026, 11, 23, 23))

    assert result.sent == 0 and result.quiet == 1
    reminder.refresh_from_db()
    assert reminder.send_after == at(open_clinic, 2026, 11, 24, 8)
    assert dispatch_due_reminders(now=at(open_clinic, 2026, 11, 24, 8)).sent == 1


def test_a_reminder_whose_appointment_comes_before_the_morning_goes_at_night(open_clinic, session):
    # The rule at creation holds at send time too: quiet hours never make a reminder late for
    # its appointment. The appointment is at 07:30; the sweep reaches the reminder at 22:00.
    early = session
    early.starts_at = at(open_clinic, 2026, 11, 25, 7, 30)
    early.save()
    reminder = Reminder.objects.create(
        kind=ReminderKind.APPOINTMENT,
        channel="email",
        patient=early.patient,
        session=early,
        due_at=at(open_clinic, 2026, 11, 24, 7, 30),
        send_after=at(open_clinic, 2026, 11, 24, 7, 30),
    )

    result = dispatch_due_reminders(now=at(open_clinic, 2026, 11, 24, 22))

    assert result.sent == 1 and result.quiet == 0
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT


# A cancellation of an appointment the patient never heard of -------------------------------


def test_a_session_booked_and_cancelled_before_eight_sends_nothing(
    open_clinic, clinician, room, patient, desk_user
):
    # given: booked at 06:30 (quiet hours: its confirmation waits until 08:00)
    patient.email_consent_at = CONSENTED
    patient.save()
    dawn = at(open_clinic, 2026, 11, 23, 6, 30)
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user, dawn
    )
    # when: cancelled at 07:15, before the confirmation went out
    session_cancel(
        clinic=open_clinic,
        session=session,
        by_patient=False,
        reason="booked in error",
        by=desk_user,
        now=dawn + timedelta(minutes=45),
    )

    # then: the confirmation and the cancellation notice are both cancelled, nothing is sent
    rows = {r.kind: r for r in Reminder.objects.filter(session=session)}
    assert rows[ReminderKind.BOOKING_CONFIRMATION].status == ReminderStatus.CANCELLED
    assert rows[ReminderKind.CANCELLATION].status == ReminderStatus.CANCELLED
    assert rows[ReminderKind.CANCELLATION].last_error == NEVER_TOLD
    assert dispatch_due_reminders(now=at(open_clinic, 2026, 11, 23, 8)).sent == 0
    assert mail.outbox == []


def test_a_cancellation_after_the_confirmation_went_out_is_sent(
    open_clinic, clinician, room, patient, desk_user
):
    patient.email_consent_at = CONSENTED
    patient.save()
    session = _book(
        open_clinic, patient, clinician, room, at(open_clinic, 2026, 11, 27, 10), desk_user, MONDAY
    )
    assert dispatch_due_reminders(now=MONDAY).sent == 1
    session_cancel(
        clinic=open_clinic,
        session=session,
        by_patient=True,
        reason="ill",
        by=desk_user,
        now=MONDAY + timedelta(hours=1),
    )

    assert dispatch_due_reminders(now=MONDAY + timedelta(hours=1)).sent == 1
    assert "cancel" in mail.outbox[-1].subject.lower()


def test_a_course_session_cancelled_before_the_course_confirmation_went_out_sends_nothing(
    open_clinic, clinician, room, plan, desk_user
):
    plan.patient.email_consent_at = CONSENTED
    plan.patient.save()
    dawn = at(open_clinic, 2026, 11, 23, 6, 30)
    starts = [at(open_clinic, 2026, 11, 27, 10), at(open_clinic, 2026, 12, 11, 10)]
    booked = course_book(
        clinic=open_clinic,
        plan=plan,
        starts=starts,
        clinician=clinician,
        room=room,
        by=desk_user,
        now=dawn,
    )
    session_cancel(
        clinic=open_clinic,
        session=booked[1],
        by_patient=False,
        reason="error",
        by=desk_user,
        now=dawn,
    )

    notice = Reminder.objects.get(kind=ReminderKind.CANCELLATION)
    assert notice.status == ReminderStatus.CANCELLED
    # the course confirmation still goes out at 08:00, listing only the date still booked
    assert dispatch_due_reminders(now=at(open_clinic, 2026, 11, 23, 8)).sent == 1
    assert "27 November" in mail.outbox[0].body and "11 Dec" not in mail.outbox[0].body
