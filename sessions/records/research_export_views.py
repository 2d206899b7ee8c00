"""The research export pages (clinic admins): ask for an export with a reason, watch it being
built, download it when ready. The export itself is research_export.py, run by the worker."""

import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from kombu.exceptions import OperationalError

from clinic.access import permission_required
from sessions.models import ResearchExport, ResearchExportStatus
from sessions.records.research_export import (
    DICTIONARY,
    PERMISSION,
    research_export_may_download,
    research_export_request,
)
from sessions.tasks import build_research_exports

logger = logging.getLogger(__name__)
PAGE_SIZE = 20


class ResearchExportForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea({"rows": 3}),
        help_text="Who the data is for and why, e.g. the study, its protocol or ethics reference. "
        "Kept with the export and shown in the audit trail.",
    )


def kick_worker() -> None:
    """Ask the worker to build now; if the broker is down, beat's sweep builds it later."""
    try:
        build_research_exports.apply_async(retry=False)
    except (OperationalError, OSError) as exc:
        logger.warning(
            "Research export queued for the next sweep: broker unreachable (%s)", type(exc).__name__
        )


@permission_required(PERMISSION)
def research_exports(request):
    form = ResearchExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            export = research_export_request(
                by=request.user, reason=form.cleaned_data["reason"], now=timezone.now()
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            kick_worker()
            messages.success(request, "Export queued: this page shows its progress.")
            return redirect("treatment_sessions:research_export", pk=export.pk)
    exports = ResearchExport.objects.select_related("requested_by__staff_profile")[:PAGE_SIZE]
    context = {"form": form, "exports": exports, "dictionary": DICTIONARY}
    return render(
        request,
        "sessions/research_exports.html",
        context,
        status=400 if form.is_bound and form.errors else 200,
    )


@permission_required(PERMISSION)
def research_export(request, pk: int):
    export = get_object_or_404(
        ResearchExport.objects.select_related("requested_by__staff_profile"), pk=pk
    )
    building = export.status in (ResearchExportStatus.QUEUED, ResearchExportStatus.RUNNING)
    context = {
        "export": export,
        "building": building,
        "may_download": research_export_may_download(export=export, user=request.user),
    }
    return render(request, "sessions/research_export.html", context)


@permission_required(PERMISSION)
def research_export_download(request, pk: int):
    export = get_object_or_404(ResearchExport, pk=pk)
    if not research_export_may_download(export=export, user=request.user):
        raise Http404("This export has no file to download yet.")
    try:
        handle = export.file.open("rb")
    except FileNotFoundError:
        raise Http404("The export file is missing from storage.") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"mesotrack-research-export-{export.pk}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response
