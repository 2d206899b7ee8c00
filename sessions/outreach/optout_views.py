"""Opt-outs from outside and inside: the SMS provider's inbound webhook (public, CSRF-exempt,
trusted only through the provider's request signature) and reception's record of a verbal one."""

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from clinic.access import permission_required
from patients.models import Channel, Patient
from sessions.outreach.optout import (
    inbound_sms_apply,
    patient_channel_opt_in,
    patient_channel_opt_out,
)

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _public_url(request) -> str:
    """The URL Twilio signed: the public one (SITE_URL), not what a proxy forwarded to us."""
    return settings.SITE_URL.rstrip("/") + request.get_full_path()


@login_not_required
@csrf_exempt
@require_POST
def twilio_inbound_sms(request):
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.TWILIO_AUTH_TOKEN
    if not token or not RequestValidator(token).validate(
        _public_url(request), request.POST.dict(), signature
    ):
        # No phone number or body in the log: only that a request was refused.
        logger.warning("Inbound SMS webhook refused: the request signature is not valid")
        return HttpResponseForbidden("The request signature is not valid.")
    keyword, changed = inbound_sms_apply(
        mobile=request.POST.get("From", ""), body=request.POST.get("Body", ""), now=timezone.now()
    )
    if keyword:
        logger.info("Inbound SMS %s applied to %d patient(s)", keyword.upper(), changed)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


class ChannelPreferenceForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)
    action = forms.ChoiceField(choices=[("opt_out", "Opt out"), ("opt_in", "Opt in again")])


@permission_required("patients.change_patient")
@require_POST
def patient_channel_preference(request, patient_id: int):
    """Reception records what the patient said at the desk or on the phone: no more texts (or
    emails), or that they want them again. The patient's history keeps who and when."""
    patient = get_object_or_404(Patient, pk=patient_id)
    form = ChannelPreferenceForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Choose a channel (email or SMS) and opt out or opt in.")
    channel = Channel(form.cleaned_data["channel"])
    if form.cleaned_data["action"] == "opt_out":
        cancelled = patient_channel_opt_out(
            patient=patient,
            channel=channel,
            now=timezone.now(),
            reason=f"Opt-out of {channel.label} recorded by staff",
        )
        messages.success(
            request,
            f"No more {channel.label} reminders for this patient; "
            f"{cancelled} pending {channel.label} reminder(s) cancelled.",
        )
    else:
        patient_channel_opt_in(
            patient=patient, channel=channel, reason=f"Opt-in to {channel.label} recorded by staff"
        )
        messages.success(
            request,
            f"{channel.label} reminders resume for this patient (if they consented to them).",
        )
    return redirect("patients:detail", patient_id=patient.pk)
