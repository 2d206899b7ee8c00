"""The outcome report and the side-by-side comparison (clinicians and clinic admins). The views
parse the filters and render; outcome_report.py reads the records and statistics.py counts."""

from django import forms
from django.shortcuts import render
from django.utils import timezone

from clinic.access import permission_required
from patients.bands import AGE_BANDS, SeverityBand
from patients.models import Diagnosis, SexAtBirth
from sessions.records.outcome_chart import comparison_chart
from sessions.records.outcome_report import ReportFilters, ReportSettings, outcome_report
from sessions.records.report_views import PeriodForm

VIEW_OUTCOME_REPORT = "treatment_sessions.view_outcome_report"
DIAGNOSIS_CHOICES = [
    ("", "Any diagnosis"),
    ("L64", "L64 Androgenic alopecia (any)"),
    ("L65", "L65 Other non-scarring hair loss (any)"),
    ("L63", "L63 Alopecia areata (any)"),
    *[(code, label) for code, label in Diagnosis.choices if not code.startswith("L66")],
]
CAUTION = (
    "Observational data, not a trial: patients were not randomised and nobody was blinded; the "
    "clinic chose each patient's formulation, so groups differ in who was treated as well as in "
    "what. Differences between groups may not be caused by the formulation."
)


class OutcomeFilterForm(PeriodForm):
    field_order = ["group_by", "diagnosis", "severity", "sex", "age_band", "date_from", "date_to"]

    group_by = forms.ChoiceField(
        choices=[("version", "Formulation version"), ("formulation", "Formulation")],
        required=False,
        label="Group by",
    )
    diagnosis = forms.ChoiceField(choices=DIAGNOSIS_CHOICES, required=False)
    severity = forms.ChoiceField(
        choices=[("", "Any severity"), *SeverityBand.CHOICES], required=False
    )
    sex = forms.ChoiceField(
        choices=[("", "Any sex"), *SexAtBirth.choices], required=False, label="Sex at birth"
    )
    age_band = forms.ChoiceField(
        choices=[("", "Any age"), *[(label, label) for _, label in AGE_BANDS]],
        required=False,
        label="Age at start",
    )
    group = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The period is the courses' week 0 here, not the sessions' dates.
        self.fields["date_from"].label = "Courses started from"

    def filters(self) -> ReportFilters:
        if not self.is_valid():
            return ReportFilters()
        data = self.cleaned_data
        return ReportFilters(
            diagnosis=data["diagnosis"],
            severity=data["severity"],
            sex=data["sex"],
            age_band=data["age_band"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )

    def grouping(self) -> str:
        return (self.is_valid() and self.cleaned_data["group_by"]) or "version"


def _report(request):
    form = OutcomeFilterForm(request.GET or None)
    settings = ReportSettings.of(request.clinic)
    zone = request.clinic.zone if request.clinic else timezone.get_current_timezone()
    report = outcome_report(
        settings=settings, filters=form.filters(), zone=zone, group_by=form.grouping()
    )
    return form, report


@permission_required(VIEW_OUTCOME_REPORT)
def outcome_report_view(request):
    form, report = _report(request)
    context = {"form": form, "report": report, "caution": CAUTION}
    return render(request, "sessions/outcome_report.html", context)


@permission_required(VIEW_OUTCOME_REPORT)
def outcome_compare_view(request):
    form, report = _report(request)
    # The groups to compare are chosen among those the filters left; any unknown key is ignored.
    form.fields["group"].choices = [(g.key, g.label) for g in report.groups]
    chosen_keys = request.GET.getlist("group")
    chosen = [g for g in report.groups if g.key in chosen_keys]
    if not chosen_keys:
        chosen = [g for g in report.groups if not g.mixed][:4]
    # One line per measure any chosen group has, a cell per group (None: not measured there).
    measures, seen = [], set()
    for group in chosen:
        for row in group.rows:
            if row.key not in seen:
                seen.add(row.key)
                measures.append((row, [g.row(row.key) for g in chosen]))
    context = {
        "form": form,
        "report": report,
        "chosen": chosen,
        "chosen_keys": [g.key for g in chosen],
        "measures": measures,
        "chart": comparison_chart(groups=chosen, settings=report.settings),
        "caution": CAUTION,
    }
    return render(request, "sessions/outcome_compare.html", context)
