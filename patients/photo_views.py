"""Standard photos: the per-visit checklist of the clinic's photo protocol and the comparison of
a view's baseline with a later photo, side by side or under a slider. Clinical roles only; each
page and each photo file it shows is written to the access log."""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from clinic.access import permission_required

from .audit import clinical_patient_or_404
from .outcome_views import VIEW_PHOTOS, photo_sessions
from .photo_protocol import photo_checklist, photo_comparison, photo_views_taken


@permission_required(*VIEW_PHOTOS)
def photo_checklist_page(request, patient_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    zone = request.clinic.zone if request.clinic else timezone.get_current_timezone()
    visits = [
        (timezone.localtime(session.starts_at, zone).date(), session)
        for session in photo_sessions(patient=patient).select_related("plan")
    ]
    views, rows = photo_checklist(patient=patient, user=request.user, visits=visits)
    context = {
        "patient": patient,
        "protocol": views,
        "rows": rows,
        "views_taken": photo_views_taken(patient=patient, user=request.user),
    }
    return render(request, "patients/photo_checklist.html", context)


@permission_required(*VIEW_PHOTOS)
def photo_compare(request, patient_id: int, view: str):
    patient = clinical_patient_or_404(request, patient_id)
    later_id = request.GET.get("later", "")
    try:
        comparison = photo_comparison(
            patient=patient,
            user=request.user,
            view=view,
            later_id=int(later_id) if later_id.isdigit() else None,
        )
    except ValueError:
        raise Http404("There is no such standard photo view.") from None
    context = {
        "patient": patient,
        "comparison": comparison,
        "views_taken": photo_views_taken(patient=patient, user=request.user),
    }
    return render(request, "patients/photo_compare.html", context)
