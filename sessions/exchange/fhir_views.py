"""The FHIR endpoints: `GET /fhir/Patient/<id>/$everything` (clinical roles, access-logged) and the
bulk export `/fhir/$export` (clinic admins). Read-only; answers are `application/fhir+json`, and
every error is an OperationOutcome with the reason."""

from __future__ import annotations

import json
import re
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from clinic.access import permission_required
from clinic.models import ExportJob, ExportStatus
from clinic.refusals import ExchangeRefused
from patients.audit import access_log_request
from patients.models import Patient

from .bulk_export import export_file_path, export_job_request
from .bundle import patient_everything
from .fhir_base import instant

FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"
_PATIENT_ID = re.compile(r"^(?:patient-)?(\d{1,18})$")


def fhir_base_url(request) -> str:
    return request.build_absolute_uri("/fhir").rstrip("/")


def operation_outcome(status: int, code: str, diagnostics: str) -> JsonResponse:
    """An R4 OperationOutcome: `code` from the IssueType value set, the reason in words."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }
    return JsonResponse(body, status=status, content_type=FHIR_JSON)


def fhir_endpoint(*perms: str):
    """Login and `perms` as everywhere (clinic/access.py), but a refusal is an OperationOutcome,
    and only GET is served: the endpoints are read-only."""

    def decorator(view):
        guarded = permission_required(*perms)(view)

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                response = guarded(request, *args, **kwargs)
            except PermissionDenied as refusal:
                return operation_outcome(403, "forbidden", str(refusal))
            return response

        wrapped.required_permissions = perms
        return wrapped

    return decorator


@never_cache
@fhir_endpoint("patients.view_clinical")
def patient_everything_view(request, patient_id: str):
    if request.method != "GET":
        return operation_outcome(405, "not-supported", "This endpoint is read-only: use GET.")
    match = _PATIENT_ID.match(patient_id)
    patient = Patient.objects.filter(pk=int(match.group(1))).first() if match else None
    if patient is None:
        return operation_outcome(404, "not-found", f"There is no Patient/{patient_id[:40]}.")
    access_log_request(request, patient=patient)
    bundle = patient_everything(
        patient=patient, clinic=request.clinic, base_url=fhir_base_url(request), now=timezone.now()
    )
    response = HttpResponse(
        json.dumps(bundle, ensure_ascii=False, indent=1 if "download" in request.GET else None),
        content_type=FHIR_JSON,
    )
    if "download" in request.GET:
        name = patient.study_id or patient.record_number
        response["Content-Disposition"] = f'attachment; filename="{name}-everything.fhir.json"'
    return response


def _wants_fhir(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "json" in accept and "html" not in accept


@never_cache
@permission_required("clinic.run_fhir_export")
def export_view(request):
    """The bulk export page; POST (or a Bulk Data kick-off, `Prefer: respond-async`) queues one."""
    kick_off = request.method == "GET" and "respond-async" in request.headers.get("Prefer", "")
    if request.method == "POST" or kick_off:
        try:
            job = export_job_request(by=request.user, now=timezone.now())
        except ExchangeRefused as refusal:
            if kick_off:
                return operation_outcome(429, "throttled", refusal.message)
            messages.warning(request, refusal.message)
            return redirect("exchange:export")
        status_url = reverse("exchange:export_job", kwargs={"job_id": job.pk})
        if kick_off:
            response = HttpResponse(status=202)
            response["Content-Location"] = request.build_absolute_uri(status_url)
            return response
        return redirect(status_url)
    if request.method != "GET":
        return operation_outcome(405, "not-supported", "Use GET to see exports, POST to start one.")
    jobs = ExportJob.objects.select_related("requested_by__staff_profile")[:10]
    return render(request, "exchange/export.html", {"jobs": jobs})


def _manifest(request, job: ExportJob) -> dict:
    """The FHIR Bulk Data completion manifest."""
    return {
        "transactionTime": instant(job.started_at or job.requested_at),
        "request": request.build_absolute_uri(reverse("exchange:export")),
        "requiresAccessToken": True,
        "output": [
            {
                "type": kind,
                "count": entry["count"],
                "url": request.build_absolute_uri(
                    reverse(
                        "exchange:export_file", kwargs={"job_id": job.pk, "resource_type": kind}
                    )
                ),
            }
            for kind, entry in job.file_entries
        ],
        "error": [],
    }


@never_cache
@permission_required("clinic.run_fhir_export")
def export_job_view(request, job_id: int):
    job = get_object_or_404(ExportJob.objects.select_related("requested_by"), pk=job_id)
    if _wants_fhir(request):
        if job.status == ExportStatus.READY:
            return JsonResponse(_manifest(request, job))
        if job.status == ExportStatus.FAILED:
            return operation_outcome(500, "exception", job.error)
        response = HttpResponse(status=202)
        done, total = job.patients_done, job.patients_total
        response["X-Progress"] = f"{job.percent_done}% ({done} of {total} patients)"
        response["Retry-After"] = "5"
        return response
    return render(request, "exchange/export_job.html", {"job": job})


@permission_required("clinic.run_fhir_export")
def export_file_view(request, job_id: int, resource_type: str):
    job = get_object_or_404(ExportJob, pk=job_id)
    path = export_file_path(job=job, resource_type=resource_type)
    if path is None:
        return operation_outcome(
            404, "not-found", f"Export {job.pk} has no {resource_type[:40]} file (yet)."
        )
    return FileResponse(
        path.open("rb"),
        content_type=FHIR_NDJSON,
        as_attachment=True,
        filename=f"export-{job.pk}-{resource_type}.ndjson",
    )
