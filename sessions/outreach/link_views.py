"""The patient's own pages, reached through a signed link (sessions/links.py): no login, no staff
navigation, nothing about the patient beyond their first name and this one appointment.

GET only reads; confirming and cancelling are POST forms. A dead link (forged, unknown, revoked,
expired) gets the same friendly page with the clinic's phone and no patient data; 404 when we
cannot tell who it was for, 410 when it was a real link that has ended.
"""

import zoneinfo

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from formulations.sheets import ingredient_sheet_context
from sessions.booking.scheduling import BookingRefused
from sessions.models import OnlineBookingStatus, SessionStatus
from sessions.outreach.link_actions import (
    patient_cancel_deadline,
    patient_link_cancel,
    patient_link_confirm,
)
from sessions.outreach.links import PatientLinkInvalid, patient_link_resolve
from sessions.outreach.messages import appointment_ics
from sessions.outreach.preferences import patient_zone
from sessions.outreach.times import appointment_time

BASE = "sessions/patient_link_base.html"


class PatientCancelForm(forms.Form):
    reason = forms.CharField(
        label="Why are you cancelling? (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


def _dead(request, refusal: PatientLinkInvalid):
    return render(
        request,
        "sessions/patient_link_dead.html",
        {"gone": refusal.is_gone},
        status=410 if refusal.is_gone else 404,
    )


def _zone(link, clinic) -> zoneinfo.ZoneInfo:
    # The patient's own zone; times are shown in it beside the clinic's, as the messages do.
    return patient_zone(patient=link.patient, clinic=clinic)


def _times(at, *, link, clinic) -> dict:
    """A time in the clinic's zone, where the visit happens, and in the patient's own zone
    when their clock reads differently (sessions/outreach/times.py)."""
    time = appointment_time(at=at, clinic=clinic, zone=_zone(link, clinic))
    local, own = time.clinic_local, time.patient_local
    return {
        "day": f"{local:%A} {local.day} {local:%B %Y}",
        "clock": f"{local:%H:%M}",
        "zone": time.clinic_zone,
        "own": own and f"{own:%A} {own.day} {own:%B} at {own:%H:%M}",
        "own_zone": time.patient_zone,
    }


def _page(request, link, *, cancel_form=None, refusal: str = "", status: int = 200):
    clinic, now = request.clinic, timezone.now()
    session = link.session
    open_to_change = session.status in (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED)
    deadline = patient_cancel_deadline(link=link, clinic=clinic)
    plan = session.plan
    # Booked online and not yet approved by reception: nothing to confirm yet.
    awaiting_approval = (
        getattr(session, "online_booking", None) is not None
        and session.online_booking.status == OnlineBookingStatus.PENDING
    )
    return render(
        request,
        "sessions/patient_link.html",
        {
            "token": request.resolver_match.kwargs["token"],
            "first_name": link.patient.given_name,
            "session": session,
            "starts": _times(session.starts_at, link=link, clinic=clinic),
            "ends_clock": f"{session.ends_at.astimezone(clinic.zone):%H:%M}",
            "can_confirm": session.status == SessionStatus.SCHEDULED and not awaiting_approval,
            "awaiting_approval": awaiting_approval,
            "can_cancel": open_to_change and now <= deadline,
            "past_cutoff": open_to_change and now > deadline,
            "deadline": _times(deadline, link=link, clinic=clinic),
            "cancel_form": cancel_form or PatientCancelForm(),
            "refusal": refusal,
            "has_sheet": plan is not None and plan.formulation_version_id is not None,
        },
        status=status,
    )


def _resolve(request, token):
    if request.clinic is None:
        # No clinic set up yet: no link can be honoured, and there is no phone to show.
        raise PatientLinkInvalid(PatientLinkInvalid.UNKNOWN, "No clinic is set up.")
    return patient_link_resolve(token=token, now=timezone.now())


@login_not_required
@never_cache
@require_GET
def patient_link(request, token):
    try:
        link = _resolve(request, token)
    except PatientLinkInvalid as refusal:
        return _dead(request, refusal)
    return _page(request, link)


@login_not_required
@never_cache
@require_POST
def patient_link_confirm_view(request, token):
    try:
        link = _resolve(request, token)
    except PatientLinkInvalid as refusal:
        return _dead(request, refusal)
    try:
        patient_link_confirm(link=link, now=timezone.now())
    except BookingRefused as refusal:
        return _page(request, link, refusal=refusal.message, status=409)
    return redirect("patient_link", token=token)


@login_not_required
@never_cache
@require_POST
def patient_link_cancel_view(request, token):
    try:
        link = _resolve(request, token)
    except PatientLinkInvalid as refusal:
        return _dead(request, refusal)
    form = PatientCancelForm(request.POST)
    if not form.is_valid():
        return _page(request, link, cancel_form=form, status=400)
    try:
        session = patient_link_cancel(
            link=link,
            clinic=request.clinic,
            reason=form.cleaned_data["reason"] or "no reason given",
            now=timezone.now(),
        )
    except BookingRefused as refusal:
        return _page(request, link, cancel_form=form, refusal=refusal.message, status=409)
    # Rendered, not redirected: cancelling revoked this link, so its page is gone now.
    return render(
        request,
        "sessions/patient_link_cancelled.html",
        {
            "first_name": link.patient.given_name,
            "starts": _times(session.starts_at, link=link, clinic=request.clinic),
        },
    )


@login_not_required
@never_cache
@require_GET
def patient_link_calendar(request, token):
    """The appointment as an .ics file for the patient's calendar: the same invitation the
    emails attach (messages.appointment_ics), so it carries only what the page shows (the
    clinic, its address, the start and end) and a later update or cancellation replaces it.
    It dies with the link: a revoked or expired token gets the dead-link page."""
    try:
        link = _resolve(request, token)
    except PatientLinkInvalid as refusal:
        return _dead(request, refusal)
    session = link.session
    if session.status not in (SessionStatus.SCHEDULED, SessionStatus.CONFIRMED):
        return _dead(request, PatientLinkInvalid(PatientLinkInvalid.REVOKED, "Not booked.", link))
    ics = appointment_ics(
        session=session, clinic=request.clinic, cancel=False, now=timezone.now(), publish=True
    )
    response = HttpResponse(ics, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return response


@login_not_required
@never_cache
@require_GET
def patient_link_ingredients(request, token):
    try:
        link = _resolve(request, token)
    except PatientLinkInvalid as refusal:
        return _dead(request, refusal)
    plan = link.session.plan
    if plan is None or plan.formulation_version is None:
        return _dead(request, PatientLinkInvalid(PatientLinkInvalid.UNKNOWN, "No sheet."))
    context = ingredient_sheet_context(version=plan.formulation_version)
    context.update({"sheet_base": BASE, "back_token": token})
    return render(request, "formulations/sheet.html", context)
