"""The report pages: the Reports menu, the safety report and the CONSORT harms table (clinic
admins): adverse events per formulation version and lot."""

from datetime import timedelta

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from clinic.access import permission_required
from clinic.navigation import reports_for
from sessions.records.harms import harms_table
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


def _period(request):
    """(form, first day, last day, zone): the asked-for period, or the last year."""
    zone = request.clinic.zone if request.clinic else timezone.get_current_timezone()
    today = timezone.localdate(timezone=zone)
    form = PeriodForm(request.GET or None)
    date_from, date_to = today - timedelta(days=PERIOD_DAYS), today
    if form.is_bound and form.is_valid():
        date_from = form.cleaned_data["date_from"] or date_from
        date_to = form.cleaned_data["date_to"] or date_to
    return form, date_from, date_to, zone


@permission_required("treatment_sessions.view_safety_report")
def safety_report_view(request):
    form, date_from, date_to, zone = _period(request)
    report = safety_report(date_from=date_from, date_to=date_to, zone=zone)
    return render(request, "sessions/safety_report.html", {"form": form, "report": report})


@permission_required("treatment_sessions.view_safety_report")
def harms_view(request):
    form, date_from, date_to, zone = _period(request)
    table = harms_table(date_from=date_from, date_to=date_to, zone=zone)
    return render(request, "sessions/harms.html", {"form": form, "table": table})


@permission_required()
def reports_index(request):
    reports = reports_for(request.user)
    if not reports:
        raise PermissionDenied("Your role does not give access to any report.")
    return render(request, "sessions/reports.html", {"reports": reports})
