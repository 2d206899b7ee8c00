"""The staff reminders page (reception and clinic admins): what will go out, what went, what
failed or is unknown, and a retry for the last two. Parse, check permission, call, render."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import permission_required
from clinic.fields import ISODateInput
from clinic.refusals import OutreachRefused
from sessions.models import Reminder
from sessions.outreach.reminder_actions import (
    REMINDER_TABS,
    RETRYABLE,
    ReminderFilter,
    reminder_retry,
    reminders_filtered,
)

PAGE_SIZE = 50
VIEW = "treatment_sessions.view_reminder"
RETRY = "treatment_sessions.retry_reminder"


class ReminderFilterForm(forms.Form):
    tab = forms.ChoiceField(
        choices=[(key, label) for key, (label, _s) in REMINDER_TABS.items()], required=False
    )
    q = forms.CharField(label="Patient", required=False, max_length=100)
    date_from = forms.DateField(label="Due from", required=False, widget=ISODateInput())
    date_to = forms.DateField(label="Due to", required=False, widget=ISODateInput())

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> ReminderFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return ReminderFilter(
            tab=data.get("tab") or "upcoming",
            patient_query=data.get("q", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class RetryForm(forms.Form):
    duplicate_risk_accepted = forms.BooleanField(required=False)
    next = forms.CharField(required=False)


@permission_required(VIEW)
def reminders(request):
    form = ReminderFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else ReminderFilter()
    zone = request.clinic.zone if request.clinic else timezone.get_current_timezone()
    page = Paginator(reminders_filtered(filters=filters, zone=zone), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = {
        k: v for k, v in request.GET.items() if k in ("q", "date_from", "date_to") and v.strip()
    }
    tabs = [
        {
            "key": key,
            "label": label,
            "url": "?" + urlencode({**query, "tab": key}),
            "active": key == filters.tab,
        }
        for key, (label, _statuses) in REMINDER_TABS.items()
    ]
    return render(
        request,
        "sessions/reminders.html",
        {
            "form": form,
            "page": page,
            "tabs": tabs,
            "tab": filters.tab,
            "retryable": RETRYABLE,
            "page_query": urlencode({**query, "tab": filters.tab}),
            "here": request.get_full_path(),
        },
    )


@permission_required(RETRY)
@require_POST
def reminder_retry_view(request, pk: int):
    reminder = get_object_or_404(Reminder, pk=pk)
    form = RetryForm(request.POST)
    form.is_valid()
    try:
        reminder_retry(
            reminder=reminder,
            by=request.user,
            now=timezone.now(),
            duplicate_risk_accepted=form.cleaned_data.get("duplicate_risk_accepted", False),
        )
    except OutreachRefused as refusal:
        messages.error(request, f"Not retried: {refusal.message}")
    else:
        messages.success(request, "The reminder will go out with the next sweep (within a minute).")
    back = form.cleaned_data.get("next", "")
    # Only our own reminders page: never redirect to a URL taken from the form elsewhere.
    if not back.startswith(reverse("treatment_sessions:reminders")):
        back = reverse("treatment_sessions:reminders")
    return redirect(back)
