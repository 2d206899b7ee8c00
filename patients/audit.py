"""The access log of clinical data: every view of a patient's clinical pages is recorded."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from clinic.models import AccessLog

from .models import Patient


def access_log_record(*, user, patient: Patient, page: str, path: str, at: datetime) -> AccessLog:
    return AccessLog.objects.create(user=user, patient=patient, page=page, path=path, viewed_at=at)


def access_log_request(request, *, patient: Patient) -> AccessLog:
    """Log the page `request` shows of `patient`'s clinical data: the URL name and the path,
    which holds only opaque ids (never names)."""
    return access_log_record(
        user=request.user,
        patient=patient,
        page=request.resolver_match.view_name,
        path=request.path,
        at=timezone.now(),
    )


def access_log_for_patient(*, patient: Patient) -> QuerySet[AccessLog]:
    return AccessLog.objects.filter(patient=patient).select_related("user__staff_profile")


def access_log_for_user(*, user) -> QuerySet[AccessLog]:
    return AccessLog.objects.filter(user=user).select_related("patient")


def clinical_patient_or_404(request, patient_id: int) -> Patient:
    """The patient of a clinical page, after the second (queryset) check, with the view logged."""
    if not request.user.has_perm("patients.view_clinical"):
        raise PermissionDenied("Your role does not give access to clinical data.")
    patient = get_object_or_404(Patient, pk=patient_id)
    access_log_request(request, patient=patient)
    return patient
