"""The public self-service pages: /book/ (a consultation, verified by a one-time code), and from
the patient's link /r/<token>/: intake, rescheduling, joining the waitlist; /offer/<token>/ for a
waitlist offer.

No page says whether the person is already a patient: a new and a known person see the same
pages and messages. Every POST is rate-limited per IP (and /book/ per contact), and every
public action is logged with ids only."""

import logging
from collections import OrderedDict
from datetime import datetime
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clinic.refusals import BookingRefused, OutreachRefused, PatientRefused
from patients.consent import (
    consent_digest,
    consent_document,
    consent_texts_for,
    remote_consent_open,
)
from patients.intake import RemoteSigning, intake_questions, intake_submit
from patients.intake_forms import IntakeForm

from ..models import OnlineBooking, OnlineBookingStatus, SessionStatus
from .link_views import _dead, _resolve, _zone
from .links import PatientLinkInvalid, patient_link_issue
from .online_booking import online_booking_start, online_booking_verify, online_slots
from .preferences import patient_zone, reminder_channel
from .self_reschedule import patient_link_reschedule, reschedule_options
from .self_service_forms import (
    CodeForm,
    OnlineBookingForm,
    RescheduleForm,
    WaitlistJoinForm,
    default_days,
)
from .throttle import client_ip, throttle_hit
from .waitlist import offer_is_open, offer_resolve, waitlist_join
from .waitlist_actions import waitlist_offer_accept

logger = logging.getLogger("mesotrack.public")

HOUR = 3600
TOO_MANY = "Too many tries from here. Please wait an hour, or phone the clinic."
DAYS_PER_PAGE = 3


def _throttled(request, *, scope: str, limit: int, contacts=()) -> bool:
    """True when this IP (or any of `contacts`) used `scope` more than `limit` times this hour."""
    ok = throttle_hit(scope=scope, key=client_ip(request), limit=limit, window_seconds=HOUR)
    for contact in contacts:
        if contact:
            ok = (
                throttle_hit(
                    scope=f"{scope}-contact",
                    key=str(contact).casefold(),
                    limit=3,
                    window_seconds=HOUR,
                )
                and ok
            )
    if not ok:
        logger.warning("Public %s throttled", scope)
    return not ok


def _public(request, template: str, context: dict | None = None, *, status: int = 200):
    clinic = request.clinic
    context = {"clinic": clinic, "zone_name": str(clinic.zone) if clinic else "", **(context or {})}
    return render(request, template, context, status=status)


def _too_many(request):
    return _public(request, "sessions/public/too_many.html", {"message": TOO_MANY}, status=429)


def _slot_days(*, slots, clinic, first_day: str | None):
    """The offered slots grouped by local day, DAYS_PER_PAGE days from `first_day`."""
    days: OrderedDict = OrderedDict()
    for slot in slots:
        local = slot.starts_at.astimezone(clinic.zone)
        days.setdefault(local.date(), []).append((slot, local))
    keys = list(days)
    start = 0
    if first_day:
        start = next((i for i, day in enumerate(keys) if day.isoformat() >= first_day), 0)
    shown = keys[start : start + DAYS_PER_PAGE]
    earlier = keys[max(start - DAYS_PER_PAGE, 0)].isoformat() if start > 0 else None
    later = keys[start + DAYS_PER_PAGE].isoformat() if start + DAYS_PER_PAGE < len(keys) else None
    return [(day, days[day]) for day in shown], earlier, later


def _slot_choices(grouped):
    return [
        (slot.key, f"{local:%a} {local.day} {local:%b}, {local:%H:%M} with {slot.clinician}")
        for _, rows in grouped
        for slot, local in rows
    ]


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def book(request):
    clinic, now = request.clinic, timezone.now()
    if clinic is None or not clinic.books_online:
        return _public(
            request, "sessions/public/book_closed.html", status=404 if clinic is None else 200
        )
    slots = online_slots(clinic=clinic, now=now)
    chosen_day = request.POST.get("day") or request.GET.get("from")
    grouped, earlier, later = _slot_days(slots=slots, clinic=clinic, first_day=chosen_day)
    all_choices = [(s.key, "") for s in slots]
    form = OnlineBookingForm(request.POST or None, slots=all_choices)
    status = 200
    if request.method == "POST":
        if form.is_bot:
            logger.info("Public book: honeypot filled, nothing done")
            return _public(request, "sessions/public/book_code_sent.html", {"channel": "sms"})
        if _throttled(
            request,
            scope="book",
            limit=10,
            contacts=(request.POST.get("email"), request.POST.get("mobile")),
        ):
            return _too_many(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                booking = online_booking_start(
                    clinic=clinic,
                    slot_key=data["slot"],
                    given_name=data["given_name"],
                    family_name=data["family_name"],
                    date_of_birth=data["date_of_birth"],
                    email=data["email"],
                    mobile=data["mobile"],
                    code_channel=data["code_channel"],
                    now=now,
                )
            except (BookingRefused, OutreachRefused) as refusal:
                form.add_error(refusal.field, refusal.message)
            else:
                logger.info("Public book: online booking %s started", booking.pk)
                return redirect("online_booking_code", public_id=booking.public_id)
        status = 400
    labels = dict(_slot_choices(grouped))
    return _public(
        request,
        "sessions/public/book.html",
        {
            "form": form,
            "days": [
                (
                    day,
                    [
                        (slot.key, labels[slot.key], local, slot.clinician.display_name)
                        for slot, local in rows
                    ],
                )
                for day, rows in grouped
            ],
            "earlier": earlier,
            "later": later,
            "chosen": form.data.get("slot", ""),
        },
        status=status,
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def book_code(request, public_id: str):
    clinic, now = request.clinic, timezone.now()
    booking = get_object_or_404(OnlineBooking, public_id=public_id)
    if booking.status != OnlineBookingStatus.AWAITING_CODE:
        return _public(request, "sessions/public/book_done.html", {"booking": booking})
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if _throttled(request, scope="book-code", limit=30):
            return _too_many(request)
        if form.is_valid():
            try:
                booking = online_booking_verify(
                    booking=booking, code=form.cleaned_data["code"], clinic=clinic, now=now
                )
            except OutreachRefused as refusal:
                form.add_error("code", refusal.message)
            except BookingRefused:
                logger.info("Public book: online booking %s lost its slot", booking.pk)
                return _public(request, "sessions/public/book_slot_gone.html", status=409)
            else:
                logger.info("Public book: online booking %s verified", booking.pk)
                url = patient_link_issue(session=booking.session, now=now)
                return redirect(urlsplit(url).path)
        status = 400
    return _public(
        request,
        "sessions/public/book_code.html",
        {"form": form, "channel": booking.code_channel},
        status=status,
    )


def _link_or_dead(request, token):
    try:
        return _resolve(request, token), None
    except PatientLinkInvalid as refusal:
        return None, _dead(request, refusal)


def _link_page(request, template, link, context, *, status=200):
    zone = _zone(link, request.clinic)
    return _public(
        request,
        template,
        {
            "token": request.resolver_match.kwargs["token"],
            "back_token": request.resolver_match.kwargs["token"],
            "first_name": link.patient.given_name,
            "session": link.session,
            "starts_local": timezone.localtime(link.session.starts_at, zone),
            "zone_name": str(zone),
            **context,
        },
        status=status,
    )


def _link_channel(link) -> str | None:
    """How the patient proved the contact this link reached: the code of their online booking,
    else the channel the clinic sends them messages by."""
    booking = OnlineBooking.objects.filter(session=link.session_id, verified_at__isnull=False)
    return booking.values_list("code_channel", flat=True).first() or reminder_channel(
        patient=link.patient
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def intake(request, token):
    link, dead = _link_or_dead(request, token)
    if dead:
        return dead
    patient, now, clinic = link.patient, timezone.now(), request.clinic
    plan = link.session.plan
    version = plan.formulation_version if plan else None
    texts = consent_texts_for(formulation_version=version)
    document = consent_document(texts=texts, formulation_version=version) if texts else ""
    can_sign = bool(texts) and remote_consent_open(
        patient=patient, clinic=clinic, formulation_version=version
    )
    form = IntakeForm(
        request.POST or None,
        questions=intake_questions(patient=patient),
        consent_texts=texts,
        text_digest=consent_digest(document=document) if can_sign else "",
        initial={"email": patient.email, "mobile": patient.mobile, "pronouns": patient.pronouns},
    )
    status = 200
    if request.method == "POST":
        if _throttled(request, scope="intake", limit=20):
            return _too_many(request)
        if form.is_valid():
            signing = None
            if form.signs:
                signing = RemoteSigning(
                    clinic=clinic,
                    link_id=link.pk,
                    channel=_link_channel(link) or "",
                    typed_name=form.cleaned_data["sign_name"],
                    confirmed=form.cleaned_data["sign_agree"],
                    text_digest=form.cleaned_data["text_digest"],
                    formulation_version=version,
                )
            try:
                report = intake_submit(
                    patient=patient,
                    on_date=timezone.localdate(timezone=clinic.zone),
                    now=now,
                    signing=signing,
                    **form.report(),
                )
            except PatientRefused as refusal:
                form.add_error(None, refusal.message)
            else:
                logger.info(
                    "Public intake: report %s from link %s (consent signed: %s)",
                    report.pk,
                    link.pk,
                    signing is not None,
                )
                return _link_page(
                    request,
                    "sessions/public/intake_done.html",
                    link,
                    {"contact_clinic": report.needs_attention, "signed": signing is not None},
                )
        status = 400
    return _link_page(
        request,
        "sessions/public/intake.html",
        link,
        {"form": form, "consent_document": document, "can_sign": can_sign},
        status=status,
    )


def _option_label(start: datetime, zone) -> str:
    local = start.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def reschedule(request, token):
    link, dead = _link_or_dead(request, token)
    if dead:
        return dead
    clinic, now = request.clinic, timezone.now()
    zone = _zone(link, clinic)
    open_to_change = link.session.status in (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED)
    options = reschedule_options(link=link, clinic=clinic, now=now) if open_to_change else []
    choices = [(start.isoformat(), _option_label(start, zone)) for start in options]
    form = RescheduleForm(request.POST or None, options=choices)
    status = 200
    if request.method == "POST":
        if _throttled(request, scope="reschedule", limit=20):
            return _too_many(request)
        if form.is_valid():
            try:
                session = patient_link_reschedule(
                    link=link,
                    clinic=clinic,
                    starts_at=datetime.fromisoformat(form.cleaned_data["starts_at"]),
                    now=now,
                )
            except BookingRefused as refusal:
                form.add_error(None, refusal.message)
            else:
                logger.info("Public reschedule: session %s moved via link %s", session.pk, link.pk)
                return redirect(urlsplit(patient_link_issue(session=session, now=now)).path)
        status = 400
    return _link_page(
        request,
        "sessions/public/reschedule.html",
        link,
        {"form": form, "has_options": bool(choices), "open_to_change": open_to_change},
        status=status,
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def waitlist(request, token):
    link, dead = _link_or_dead(request, token)
    if dead:
        return dead
    clinic, now = request.clinic, timezone.now()
    first, last = default_days()
    form = WaitlistJoinForm(
        request.POST or None, initial={"earliest_day": first, "latest_day": last}
    )
    status = 200
    if request.method == "POST":
        if _throttled(request, scope="waitlist", limit=10):
            return _too_many(request)
        if form.is_valid():
            session = link.session
            try:
                entry = waitlist_join(
                    patient=link.patient,
                    kind=session.kind,
                    plan=session.plan,
                    clinician=None if form.cleaned_data["any_clinician"] else session.clinician,
                    earliest_day=form.cleaned_data["earliest_day"],
                    latest_day=form.cleaned_data["latest_day"],
                    by=None,
                    now=now,
                    clinic=clinic,
                )
            except OutreachRefused as refusal:
                form.add_error(refusal.field, refusal.message)
            else:
                logger.info("Public waitlist: entry %s joined via link %s", entry.pk, link.pk)
                return _link_page(
                    request, "sessions/public/waitlist_joined.html", link, {"entry": entry}
                )
        status = 400
    return _link_page(request, "sessions/public/waitlist.html", link, {"form": form}, status=status)


def _offer_page(request, offer, *, refusal="", status=200, booked=None):
    patient, now = offer.entry.patient, timezone.now()
    zone = patient_zone(patient=patient, clinic=request.clinic)
    return _public(
        request,
        "sessions/public/offer.html",
        {
            "offer": offer,
            "token": request.resolver_match.kwargs["token"],
            "first_name": patient.given_name,
            "starts_local": offer.starts_at.astimezone(zone),
            "expires_local": offer.expires_at.astimezone(zone),
            "zone_name": str(zone),
            "is_open": booked is None and offer_is_open(offer=offer, now=now),
            "refusal": refusal,
            "booked_path": urlsplit(patient_link_issue(session=booked, now=now)).path
            if booked is not None
            else "",
        },
        status=status,
    )


def _offer_or_404(request, token):
    offer = offer_resolve(token=token) if request.clinic is not None else None
    if offer is None:
        return None, _public(
            request, "sessions/patient_link_dead.html", {"gone": False}, status=404
        )
    return offer, None


@login_not_required
@never_cache
@require_http_methods(["GET"])
def offer(request, token):
    found, missing = _offer_or_404(request, token)
    if missing:
        return missing
    return _offer_page(request, found)


@login_not_required
@never_cache
@require_POST
def offer_accept(request, token):
    found, missing = _offer_or_404(request, token)
    if missing:
        return missing
    if _throttled(request, scope="offer", limit=20):
        return _too_many(request)
    try:
        session = waitlist_offer_accept(offer=found, clinic=request.clinic, now=timezone.now())
    except OutreachRefused as refusal:
        logger.info("Public offer %s refused (%s)", found.pk, refusal.rule)
        found.refresh_from_db()
        return _offer_page(request, found, refusal=refusal.message, status=409)
    logger.info("Public offer %s accepted: session %s", found.pk, session.pk)
    found.refresh_from_db()
    return _offer_page(request, found, booked=session)
