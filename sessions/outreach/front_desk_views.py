"""Reception's side of patients helping themselves: online bookings to approve or decline (and
the provisional patients they created, to confirm or merge), and the waitlist with its offers."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from clinic.models import StaffProfile
from clinic.refusals import BookingRefused, OutreachRefused
from clinic.roles import Role
from patients.models import Patient

from ..models import (
    OnlineBooking,
    OnlineBookingStatus,
    SessionKind,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from .online_booking import (
    DECIDE_PERMISSION,
    online_booking_approve,
    online_booking_decline,
    provisional_confirm,
    provisional_merge,
)
from .waitlist import waitlist_join, waitlist_withdraw

VIEW_WAITLIST = "treatment_sessions.view_waitlistentry"
ADD_WAITLIST = "treatment_sessions.add_waitlistentry"


class DeclineForm(forms.Form):
    reason = forms.CharField(label="Why (for the record; the patient is told it is cancelled)")


class MergeForm(forms.Form):
    record_number = forms.CharField(label="Merge into record number", max_length=20)


class WaitlistEntryForm(forms.Form):
    record_number = forms.CharField(label="Patient record number", max_length=20)
    clinician = forms.ModelChoiceField(
        label="Clinician", queryset=StaffProfile.objects.none(), required=False, empty_label="Any"
    )
    earliest_day = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    latest_day = forms.DateField(label="Until", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinician"].queryset = StaffProfile.objects.filter(role=Role.CLINICIAN)


@permission_required(DECIDE_PERMISSION)
def online_bookings(request):
    bookings = OnlineBooking.objects.exclude(
        status=OnlineBookingStatus.AWAITING_CODE
    ).select_related("patient", "clinician", "session")
    return render(
        request,
        "sessions/online_bookings.html",
        {
            "pending": bookings.filter(status=OnlineBookingStatus.PENDING).order_by("starts_at"),
            "recent": bookings.exclude(status=OnlineBookingStatus.PENDING)[:30],
            "provisional": Patient.objects.filter(is_provisional=True, archived_at__isnull=True),
            "decline_form": DeclineForm(),
            "merge_form": MergeForm(),
        },
    )


def _done(request, action, success: str):
    try:
        action()
    except BookingRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, success)
    return redirect("treatment_sessions:online_bookings")


@permission_required(DECIDE_PERMISSION)
@require_POST
def online_booking_approve_view(request, pk: int):
    booking = get_object_or_404(OnlineBooking, pk=pk)
    return _done(
        request,
        lambda: online_booking_approve(
            booking=booking, by=request.user, clinic=request.clinic, now=timezone.now()
        ),
        "Approved: the patient is sent the booking confirmation.",
    )


@permission_required(DECIDE_PERMISSION)
@require_POST
def online_booking_decline_view(request, pk: int):
    booking = get_object_or_404(OnlineBooking, pk=pk)
    form = DeclineForm(request.POST)
    reason = form.data.get("reason", "")
    return _done(
        request,
        lambda: online_booking_decline(
            booking=booking,
            by=request.user,
            reason=reason,
            clinic=request.clinic,
            now=timezone.now(),
        ),
        "Declined: the appointment is cancelled and the patient is told.",
    )


@permission_required(DECIDE_PERMISSION)
@require_POST
def provisional_confirm_view(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id, is_provisional=True)
    return _done(
        request,
        lambda: provisional_confirm(patient=patient, by=request.user),
        f"{patient.record_number} is now a confirmed patient record.",
    )


@permission_required(DECIDE_PERMISSION)
@require_POST
def provisional_merge_view(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id, is_provisional=True)
    into = Patient.objects.filter(
        record_number=request.POST.get("record_number", "").strip().upper()
    ).first()
    if into is None:
        messages.error(request, "No patient has that record number.")
        return redirect("treatment_sessions:online_bookings")
    return _done(
        request,
        lambda: provisional_merge(patient=patient, into=into, by=request.user, now=timezone.now()),
        f"Merged into {into.record_number}; the provisional record is archived.",
    )


@permission_required(VIEW_WAITLIST)
def waitlist(request):
    form = WaitlistEntryForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm(ADD_WAITLIST):
            messages.error(request, "Your role cannot add to the waitlist.")
        elif form.is_valid():
            data = form.cleaned_data
            patient = Patient.objects.filter(
                record_number=data["record_number"].strip().upper(), archived_at__isnull=True
            ).first()
            if patient is None:
                form.add_error("record_number", "No current patient has that record number.")
            else:
                try:
                    waitlist_join(
                        patient=patient,
                        kind=SessionKind.ASSESSMENT,
                        clinician=data["clinician"],
                        earliest_day=data["earliest_day"],
                        latest_day=data["latest_day"],
                        by=request.user,
                        now=timezone.now(),
                        clinic=request.clinic,
                    )
                except OutreachRefused as refusal:
                    form.add_error(refusal.field, refusal.message)
                else:
                    messages.success(request, f"{patient.record_number} is on the waitlist.")
                    return redirect("treatment_sessions:waitlist")
    return render(
        request,
        "sessions/waitlist.html",
        {
            "form": form,
            "entries": WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).select_related(
                "patient", "clinician"
            ),
            "offers": WaitlistOffer.objects.select_related(
                "entry__patient", "clinician", "booked_session"
            ).order_by("-offered_at", "-pk")[:50],
            "now": timezone.now(),
        },
    )


@permission_required(ADD_WAITLIST)
@require_POST
def waitlist_withdraw_view(request, pk: int):
    entry = get_object_or_404(WaitlistEntry, pk=pk)
    waitlist_withdraw(entry=entry, now=timezone.now())
    messages.success(request, "Taken off the waitlist.")
    return redirect("treatment_sessions:waitlist")
