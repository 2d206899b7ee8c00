"""The recall work list (/maintenance/): parse, check permission, call, render.

Contact details and contact attempts only: no view here shows clinical content.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from sessions.booking.forms import ContactAttemptForm
from sessions.booking.maintenance import (
    DEFAULT_WINDOW,
    RecallWindow,
    contact_attempt_log,
    maintenance_csv,
    maintenance_list,
)
from sessions.models import TreatmentPlan


def _recall(request):
    return maintenance_list(
        clinic=request.clinic,
        today=timezone.localdate(),
        now=timezone.now(),
        window=request.GET.get("window", DEFAULT_WINDOW),
    )


@permission_required("treatment_sessions.view_contactattempt")
def maintenance(request):
    if request.clinic is None:
        return HttpResponseBadRequest("No clinic is set up yet: a clinic admin must create it.")
    recall = _recall(request)
    windows = [
        (choice, label, recall.counts.get(choice), f"?{urlencode({'window': choice})}")
        for choice, label in RecallWindow.choices
    ]
    return render(
        request,
        "sessions/maintenance.html",
        {
            "recall": recall,
            "windows": windows,
            "window_label": RecallWindow(recall.window).label,
            "page": recall.page(request.GET.get("page")),
            "form": ContactAttemptForm(),
            "today": timezone.localdate(),
        },
    )


@permission_required("treatment_sessions.add_contactattempt")
def maintenance_download(request):
    """The chosen window as CSV: reception's (it lists every patient's phone and email)."""
    if request.clinic is None:
        return HttpResponseBadRequest("No clinic is set up yet: a clinic admin must create it.")
    recall = _recall(request)
    response = HttpResponse(maintenance_csv(recall), content_type="text/csv; charset=utf-8")
    filename = f"maintenance-{recall.window}-{recall.today.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@permission_required("treatment_sessions.add_contactattempt")
@require_POST
def maintenance_contact(request, plan_id: int):
    plan = get_object_or_404(TreatmentPlan, pk=plan_id)
    form = ContactAttemptForm(request.POST)
    if form.is_valid():
        attempt = contact_attempt_log(
            plan=plan,
            channel=form.cleaned_data["channel"],
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
            by=request.user,
            now=timezone.now(),
        )
        messages.success(
            request,
            f"Contact attempt logged for {plan.patient.full_name}: "
            f"{attempt.get_outcome_display()}.",
        )
    else:
        problems = "; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items())
        messages.error(request, f"The contact attempt was not logged ({problems}).")
    back = {"window": request.POST.get("window", DEFAULT_WINDOW)}
    if (page := request.POST.get("page", "")).isdigit():
        back["page"] = page
    return redirect(f"{reverse('treatment_sessions:maintenance')}?{urlencode(back)}")
