"""A patient's data rights page: their own copy (make, download, the link to send them) and
erasure requests (record, propose anonymisation, confirm it as a second admin). Clinical roles
see it; only clinic admins act on erasure."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from clinic.refusals import ExchangeRefused
from patients.audit import access_log_request
from patients.models import CopyChannel, ErasureRequest, ErasureStatus, Patient, PatientCopy

from .data_rights import (
    OPEN,
    anonymisation_confirm,
    anonymisation_propose,
    erasure_request_record,
    last_treatment_on,
    retention_ends_on,
)
from .fhir_views import fhir_base_url
from .patient_copy import (
    FORMATS,
    PatientCopyInvalid,
    patient_copy_file,
    patient_copy_make,
    patient_copy_url,
)

VIEW = ("patients.view_clinical",)
MANAGE = ("patients.view_clinical", "patients.manage_data_rights")


class HowForm(forms.Form):
    how = forms.CharField(
        max_length=200,
        label="How did the request reach the clinic?",
        help_text="e.g. in person at reception, letter of 3 March, email.",
    )


def _page(request, patient: Patient, *, copy_form=None, erasure_form=None, status=200):
    clinic = request.clinic
    now = timezone.now()
    copies = (
        PatientCopy.objects.filter(patient=patient)
        .select_related("requested_by__staff_profile")
        .prefetch_related("deliveries__by__staff_profile")
    )
    requests = list(
        ErasureRequest.objects.filter(patient=patient).select_related(
            "received_by__staff_profile",
            "anonymise_requested_by__staff_profile",
            "anonymise_confirmed_by__staff_profile",
        )
    )
    context = {
        "patient": patient,
        "tab": "data_rights",
        "last_treatment_on": last_treatment_on(patient=patient, clinic=clinic, now=now),
        "retention_ends_on": retention_ends_on(patient=patient, clinic=clinic, now=now),
        "retention_years": clinic.retention_years,
        "copies": [
            {
                "copy": copy,
                "live": copy.files_removed_at is None
                and copy.revoked_at is None
                and now < copy.expires_at,
                "url": patient_copy_url(copy=copy),
            }
            for copy in copies
        ],
        "requests": requests,
        "request_open": any(r.status in OPEN for r in requests),
        "copy_form": copy_form or HowForm(prefix="copy"),
        "erasure_form": erasure_form or HowForm(prefix="erasure"),
        "formats": list(FORMATS),
        "statuses": ErasureStatus,
    }
    return render(request, "exchange/data_rights.html", context, status=status)


@permission_required(*VIEW)
def data_rights(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    access_log_request(request, patient=patient)
    return _page(request, patient)


@permission_required(*VIEW)
@require_POST
def patient_copy_new(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    form = HowForm(request.POST, prefix="copy")
    if patient.anonymised_at is not None:
        messages.warning(request, "An anonymised patient has no identity to give a copy to.")
        return redirect("exchange:data_rights", patient_id=patient.pk)
    if not form.is_valid():
        return _page(request, patient, copy_form=form, status=400)
    access_log_request(request, patient=patient)
    try:
        patient_copy_make(
            patient=patient,
            clinic=request.clinic,
            by=request.user,
            how_requested=form.cleaned_data["how"],
            base_url=fhir_base_url(request),
            now=timezone.now(),
        )
    except ExchangeRefused as refusal:
        return _refused(request, patient.pk, refusal)
    messages.success(
        request,
        "The copy is ready. Send the patient its link, or download the files to hand over.",
    )
    return redirect("exchange:data_rights", patient_id=patient.pk)


@permission_required(*VIEW)
def patient_copy_download(request, patient_id: int, copy_id: int, fmt: str):
    copy = get_object_or_404(
        PatientCopy.objects.select_related("patient"), pk=copy_id, patient_id=patient_id
    )
    if fmt not in FORMATS:
        raise Http404("No such format.")
    try:
        path, content_type, name = patient_copy_file(
            copy=copy,
            fmt=fmt,
            channel=CopyChannel.STAFF_DOWNLOAD,
            by=request.user,
            now=timezone.now(),
        )
    except PatientCopyInvalid as refusal:
        messages.warning(request, refusal.message)
        return redirect("exchange:data_rights", patient_id=patient_id)
    access_log_request(request, patient=copy.patient)
    return FileResponse(
        path.open("rb"), content_type=content_type, as_attachment=True, filename=name
    )


def _refused(request, patient_id: int, refusal: ExchangeRefused):
    messages.error(request, refusal.message)
    return redirect("exchange:data_rights", patient_id=patient_id)


@permission_required(*MANAGE)
@require_POST
def erasure_request_new(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    form = HowForm(request.POST, prefix="erasure")
    if not form.is_valid():
        return _page(request, patient, erasure_form=form, status=400)
    try:
        erasure_request_record(
            patient=patient,
            clinic=request.clinic,
            by=request.user,
            how_received=form.cleaned_data["how"],
            now=timezone.now(),
        )
    except ExchangeRefused as refusal:
        return _refused(request, patient.pk, refusal)
    messages.success(
        request,
        "Erasure request recorded. Processing is restricted: no reminders or marketing, and "
        "only the preferred contact detail is kept.",
    )
    return redirect("exchange:data_rights", patient_id=patient.pk)


@permission_required(*MANAGE)
@require_POST
def anonymisation_propose_view(request, patient_id: int, request_id: int):
    erasure = get_object_or_404(ErasureRequest, pk=request_id, patient_id=patient_id)
    try:
        anonymisation_propose(
            request=erasure, clinic=request.clinic, by=request.user, now=timezone.now()
        )
    except ExchangeRefused as refusal:
        return _refused(request, patient_id, refusal)
    messages.success(request, "Anonymisation proposed. A second clinic admin must confirm it.")
    return redirect("exchange:data_rights", patient_id=patient_id)


@permission_required(*MANAGE)
@require_POST
def anonymisation_confirm_view(request, patient_id: int, request_id: int):
    erasure = get_object_or_404(ErasureRequest, pk=request_id, patient_id=patient_id)
    try:
        anonymisation_confirm(request=erasure, by=request.user, now=timezone.now())
    except ExchangeRefused as refusal:
        return _refused(request, patient_id, refusal)
    messages.success(request, "The patient is anonymised. Their signed records stay, nameless.")
    return redirect("exchange:data_rights", patient_id=patient_id)
