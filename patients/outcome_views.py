"""Outcomes and clinical photos: measurements per zone with the baseline marked, the progress
chart, photo upload and the private photo files. Clinical roles only; every page and every photo
file served is written to the access log.

Views compose: the clinical tab's panels read adverse events and doses from the sessions app.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from sessions.records.adverse_events import ATTENDED, adverse_events_of
from sessions.records.doses import patient_cumulative_doses

from . import outcomes
from .audit import clinical_patient_or_404
from .forms import ReasonForm
from .models import ClinicalPhoto, OutcomeMeasurement, Patient
from .outcome_forms import OutcomeForm, PhotoForm
from .progress_chart import density_chart

VIEW_OUTCOMES = ("patients.view_clinical", "patients.view_outcomemeasurement")
VIEW_PHOTOS = ("patients.view_clinical", "patients.view_clinicalphoto")


def _apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def clinical_tab_panels(*, user, patient: Patient) -> dict:
    """What the clinical tab adds for issue 6: progress chart, cumulative dose, adverse events.
    Each part only for a user who may read it."""

    panels = {
        "progress_chart": None,
        "cumulative_doses": None,
        "adverse_events": None,
        "attended_sessions": [],
    }
    if user.has_perm("patients.view_outcomemeasurement"):
        panels["progress_chart"] = density_chart(
            progress=outcomes.progress_by_zone(patient=patient)
        )
    if user.has_perm("treatment_sessions.view_sessionrecord"):
        panels["cumulative_doses"] = patient_cumulative_doses(patient=patient)
    if user.has_perm("treatment_sessions.view_adverseevent"):
        panels["adverse_events"] = list(adverse_events_of(patient=patient))
    if user.has_perm("treatment_sessions.add_adverseevent"):
        # The latest sessions the patient attended, where a called-back event is recorded.
        panels["attended_sessions"] = list(
            patient.treatment_sessions.filter(status__in=ATTENDED).order_by("-starts_at")[:10]
        )
    return panels


def photo_sessions(*, patient: Patient):
    """The sessions a photo may be filed under: those the patient attended, latest first."""
    return patient.treatment_sessions.filter(status__in=ATTENDED).order_by("-starts_at")


def _page(request, patient, *, outcome_form=None, photo_form=None, status=200):
    progress = outcomes.progress_by_zone(patient=patient)
    photos = (
        ClinicalPhoto.objects.visible_to(request.user).current().filter(patient=patient)
        if request.user.has_perm("patients.view_clinicalphoto")
        else ClinicalPhoto.objects.none()
    )
    can_add = request.user.has_perm("patients.add_outcomemeasurement")
    can_photo = request.user.has_perm("patients.add_clinicalphoto")
    today = timezone.localdate()
    context = {
        "patient": patient,
        "progress": progress,
        "chart": density_chart(progress=progress),
        "photos": photos,
        "outcome_form": (outcome_form or OutcomeForm(initial={"measured_on": today}))
        if can_add
        else None,
        "photo_form": (
            photo_form
            or PhotoForm(initial={"taken_on": today}, sessions=photo_sessions(patient=patient))
        )
        if can_photo
        else None,
        "photo_consent": outcomes.photography_consent(patient=patient, at=timezone.now())
        if can_photo
        else None,
        "positive_above": outcomes.PULL_TEST_POSITIVE_ABOVE,
    }
    return render(request, "patients/outcomes.html", context, status=status)


@permission_required(*VIEW_OUTCOMES)
def outcomes_page(request, patient_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    return _page(request, patient)


@permission_required(*VIEW_OUTCOMES, "patients.add_outcomemeasurement")
@require_POST
def outcome_new(request, patient_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    form = OutcomeForm(request.POST)
    if form.is_valid():
        try:
            outcomes.outcome_record(
                patient=patient, by=request.user, now=timezone.now(), **form.measurement()
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Measurement recorded.")
            return redirect("patients:outcomes", patient_id=patient.pk)
    return _page(request, patient, outcome_form=form, status=400)


@permission_required(*VIEW_OUTCOMES, "patients.change_outcomemeasurement")
@require_POST
def outcome_void(request, patient_id: int, outcome_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    measurement = get_object_or_404(
        OutcomeMeasurement.objects.visible_to(request.user), pk=outcome_id, patient=patient
    )
    reason, problem = ReasonForm(request.POST).reason_or_errors()
    try:
        if reason is None:
            raise ValidationError(f"the reason: {problem}")
        outcomes.outcome_void(
            measurement=measurement, by=request.user, reason=reason, now=timezone.now()
        )
    except ValidationError as exc:
        messages.error(request, "Not voided: " + " ".join(exc.messages))
    else:
        messages.success(request, "Measurement voided; it stays in the history.")
    return redirect("patients:outcomes", patient_id=patient.pk)


@permission_required(*VIEW_PHOTOS, "patients.add_clinicalphoto")
@require_POST
def photo_new(request, patient_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    form = PhotoForm(request.POST, request.FILES, sessions=photo_sessions(patient=patient))
    if form.is_valid():
        try:
            outcomes.photo_add(
                patient=patient,
                view=form.cleaned_data["view"],
                session=form.cleaned_data["session"],
                taken_on=form.cleaned_data["taken_on"],
                upload=form.cleaned_data["upload"],
                by=request.user,
                now=timezone.now(),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Photo stored (camera and location data removed).")
            return redirect("patients:outcomes", patient_id=patient.pk)
    return _page(request, patient, photo_form=form, status=400)


@permission_required(*VIEW_PHOTOS, "patients.change_clinicalphoto")
@require_POST
def photo_void(request, patient_id: int, photo_id: int):
    patient = clinical_patient_or_404(request, patient_id)
    photo = get_object_or_404(
        ClinicalPhoto.objects.visible_to(request.user), pk=photo_id, patient=patient
    )
    reason, problem = ReasonForm(request.POST).reason_or_errors()
    try:
        if reason is None:
            raise ValidationError(f"the reason: {problem}")
        outcomes.photo_void(photo=photo, by=request.user, reason=reason, now=timezone.now())
    except ValidationError as exc:
        messages.error(request, "Not voided: " + " ".join(exc.messages))
    else:
        messages.success(request, "Photo voided; the file stays in the record.")
    return redirect("patients:outcomes", patient_id=patient.pk)


@permission_required(*VIEW_PHOTOS)
def photo_file(request, patient_id: int, photo_id: int):
    """The photo itself. MEDIA_ROOT has no public URL: this view is the only way to it."""
    patient = clinical_patient_or_404(request, patient_id)
    photo = get_object_or_404(
        ClinicalPhoto.objects.visible_to(request.user).current(), pk=photo_id, patient=patient
    )
    try:
        handle = photo.image.open("rb")
    except FileNotFoundError:
        raise Http404("The photo file is missing from storage.") from None
    response = FileResponse(handle, content_type="image/jpeg")
    # Clinical images: never kept by a shared cache or the browser's disk cache.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
