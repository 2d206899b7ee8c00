"""The patient's own copy through their link (no login): a page with the three files, each
download logged. The link expires; an expired or unknown link says so without naming anyone."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from patients.models import CopyChannel

from .patient_copy import FORMATS, PatientCopyInvalid, patient_copy_file, patient_copy_resolve


def _dead(request, refusal: PatientCopyInvalid):
    return render(
        request,
        "exchange/patient_copy_link_dead.html",
        {"message": refusal.message},
        status=410 if refusal.gone else 404,
    )


@login_not_required
@never_cache
@require_GET
def patient_copy_link(request, token: str):
    try:
        copy = patient_copy_resolve(token=token, now=timezone.now())
    except PatientCopyInvalid as refusal:
        return _dead(request, refusal)
    return render(
        request,
        "exchange/patient_copy_link.html",
        {"copy": copy, "token": token, "formats": list(FORMATS)},
    )


@login_not_required
@never_cache
@require_GET
def patient_copy_link_file(request, token: str, fmt: str):
    if fmt not in FORMATS:
        raise Http404("No such file.")
    now = timezone.now()
    try:
        copy = patient_copy_resolve(token=token, now=now)
        path, content_type, name = patient_copy_file(
            copy=copy, fmt=fmt, channel=CopyChannel.LINK, by=None, now=now
        )
    except PatientCopyInvalid as refusal:
        return _dead(request, refusal)
    # The readable copy opens in the browser; the PDF and the FHIR file download.
    return FileResponse(
        path.open("rb"), content_type=content_type, as_attachment=fmt != "html", filename=name
    )
