"""The safety report page (clinic admins): adverse events per formulation version and lot."""

from datetime import timedelta

from django import forms
from django.shortcuts import render
from django.utils import timezone

from clinic.access import permission_required
from sessions.records.safety import safety_report

PERIOD_DAYS = 365


class PeriodForm(forms.Form):
    date_from = forms.DateField(required=False, label="Sessions from")
    date_to = forms.DateField(required=False, label="to")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The start of the period is after its end.")
        return cleaned


@permission_required("treatment_sessions.view_safety_report")
def safety_report_view(request):
    zone = request.clinic.zone if request.clinic else timezone.get_current_timezone()
    today = timezone.localdate(timezone=zone)
    form = PeriodForm(request.GET or None)
    date_from, date_to = today - timedelta(days=PERIOD_DAYS), today
    if form.is_bound and form.is_valid():
        date_from = form.cleaned_data["date_from"] or date_from
        date_to = form.cleaned_data["date_to"] or date_to
    report = safety_report(date_from=date_from, date_to=date_to, zone=zone)
    return render(request, "sessions/safety_report.html", {"form": form, "report": report})
