"""What a reminder says: the template context, the rendered subject, text, HTML and SMS, and
the .ics invitation attached to the emails that book, move or cancel an appointment. Nothing
here sends or changes a row."""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from icalendar import Calendar, Event

from clinic.models import Clinic
from patients.models import Channel

from ..models import (
    PatientLink,
    Reminder,
    ReminderKind,
    TreatmentSession,
)
from .links import patient_link_issue, patient_link_url, patient_links_issue
from .preferences import patient_zone
from .rows import APPOINTMENT_KINDS, BOOKED, ICS_KINDS
from .self_service_messages import self_service_context
from .times import appointment_time, when_long, when_short


@dataclass(frozen=True)
class CourseDate:
    when: str
    link: str


@dataclass
class Message:
    subject: str
    text: str
    html: str
    sms: str
    ics: bytes | None


def _aftercare_text(*, clinic: Clinic, session: TreatmentSession | None) -> str:
    record = getattr(session, "record", None) if session is not None else None
    if record is not None and record.signed_at is not None and record.aftercare_given.strip():
        return record.aftercare_given
    return clinic.aftercare_template


def _course_sessions(*, session: TreatmentSession, now: datetime) -> list[TreatmentSession]:
    """The booked sessions of the session's plan from this one on: what a course confirmation
    lists. Just the session itself when it has no plan."""
    if session.plan_id is None:
        return [session]
    live_links = PatientLink.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
    return list(
        TreatmentSession.objects.filter(
            plan_id=session.plan_id, status__in=BOOKED, starts_at__gte=session.starts_at
        )
        .prefetch_related(Prefetch("patient_links", queryset=live_links, to_attr="live_links"))
        .order_by("starts_at")
    )


def _live_link_url(session: TreatmentSession, *, now: datetime) -> str:
    """The URL of the session's live link: one the claim prefetched (or the batch issued) when
    it fits, else a new one."""
    live = [
        link
        for link in getattr(session, "live_links", [])
        if link.expires_at == session.starts_at and link.expires_at > now
    ]
    return patient_link_url(link=live[0]) if live else patient_link_issue(session=session, now=now)


def _clinic_phone(clinic: Clinic) -> str:
    # Formatting a number runs the phonenumbers metadata matchers: once per clinic object (a
    # sweep renders its whole batch with one), not once per message.
    if not hasattr(clinic, "_phone_national"):
        clinic._phone_national = clinic.phone.as_national if clinic.phone else ""
    return clinic._phone_national


def _carries_link(reminder: Reminder, *, now: datetime) -> bool:
    """An appointment still to come: its message carries the patient's link."""
    session = reminder.session
    return (
        session is not None
        and reminder.kind in APPOINTMENT_KINDS
        and session.status in BOOKED
        and session.starts_at > now
    )


def reminders_prepare_links(*, reminders: list[Reminder], now: datetime) -> None:
    """Issue the links a batch of reminders will carry, all at once (one INSERT, not two
    queries per message)."""
    patient_links_issue(
        sessions=[r.session for r in reminders if _carries_link(r, now=now)], now=now
    )


def reminder_context(*, reminder: Reminder, clinic: Clinic, now: datetime) -> dict:
    """What the templates may use. Deliberately no formulation, diagnosis or plan detail: SMS
    travel in clear text and land on lock screens."""
    patient = reminder.patient
    zone = patient_zone(patient=patient, clinic=clinic) if patient is not None else clinic.zone
    session = reminder.session
    context = {
        "clinic": clinic,
        "clinic_phone": _clinic_phone(clinic),
        "given_name": (patient or reminder.online_booking).given_name,
        "kind": reminder.kind,
        "when": "",
        "when_short": "",
        "link": "",
        "aftercare": "",
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    if session is not None:
        # In the clinic's zone, where the visit happens, and the patient's when it differs.
        # Preformatted: the template `date` filter would convert to the server's zone.
        time = appointment_time(at=session.starts_at, clinic=clinic, zone=zone)
        context["when"], context["when_short"] = when_long(time), when_short(time)
    if _carries_link(reminder, now=now):
        # The claim prefetched the session's live links; issuing queries only when none fits.
        context["link"] = _live_link_url(session, now=now)
    context["course"], context["course_dates"] = [], []
    if reminder.kind == ReminderKind.BOOKING_CONFIRMATION and session is not None:
        course = _course_sessions(session=session, now=now)
        if len(course) > 1:
            # Each date with its own link: the patient confirms or cancels one session, not
            # "the appointment" of a course of six.
            patient_links_issue(sessions=course, now=now)
            context["course"] = course
            context["course_dates"] = [
                CourseDate(
                    when=when_short(appointment_time(at=s.starts_at, clinic=clinic, zone=zone)),
                    link=_live_link_url(s, now=now),
                )
                for s in course
            ]
    context.update(self_service_context(reminder=reminder, zone=zone, clinic=clinic, now=now))
    if reminder.kind == ReminderKind.AFTERCARE:
        context["aftercare"] = _aftercare_text(clinic=clinic, session=session)
        context["aftercare_sms"] = " ".join(clinic.aftercare_template.split())
    return context


def appointment_ics(
    *,
    session: TreatmentSession,
    clinic: Clinic,
    cancel: bool,
    now: datetime,
    also: list[TreatmentSession] = (),
    publish: bool = False,
):
    """An iCalendar invitation for the appointment (and `also` the other sessions of a course
    confirmed together); the UID is stable per session, so a moved or cancelled appointment
    updates the entry the patient already has. `publish`: a plain calendar entry to download
    (METHOD:PUBLISH), not an invitation to answer."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", "-//Mesotrack//Reminders//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH" if publish else "CANCEL" if cancel else "REQUEST")
    for each in [session, *(s for s in also if s.pk != session.pk)]:
        event = Event()
        event.add("uid", f"session-{each.pk}@{host}")
        event.add("dtstamp", now.astimezone(ZoneInfo("UTC")))
        event.add("dtstart", each.starts_at.astimezone(ZoneInfo("UTC")))
        event.add("dtend", each.ends_at.astimezone(ZoneInfo("UTC")))
        # The sequence grows with each change so calendars apply the latest version.
        event.add("sequence", int(now.timestamp() // 60))
        event.add("summary", f"Appointment at {clinic.name}")
        if clinic.address:
            event.add("location", clinic.address.replace("\n", ", "))
        event.add("status", "CANCELLED" if cancel else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()


def render_reminder(*, reminder: Reminder, clinic: Clinic, now: datetime) -> Message:
    """What the reminder's own channel sends, and nothing more: an SMS is one short text; an
    email is a subject, a text and an HTML part, with an .ics when it books, moves or cancels an
    appointment (ICS_KINDS)."""
    context = reminder_context(reminder=reminder, clinic=clinic, now=now)
    base = f"reminders/{reminder.kind}"
    if reminder.channel == Channel.SMS:
        sms = render_to_string(f"{base}.sms.txt", context).strip()
        return Message(subject="", text="", html="", sms=sms, ics=None)
    ics = None
    if reminder.session is not None and reminder.kind in ICS_KINDS:
        ics = appointment_ics(
            session=reminder.session,
            clinic=clinic,
            cancel=reminder.kind == ReminderKind.CANCELLATION,
            now=now,
            also=context["course"],
        )
    return Message(
        subject=" ".join(render_to_string(f"{base}.subject.txt", context).split()),
        text=render_to_string(f"{base}.txt", context),
        html=render_to_string(f"{base}.html", context),
        sms="",
        ics=ics,
    )
