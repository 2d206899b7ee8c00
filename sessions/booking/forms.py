"""Forms of the calendar, the session page, plans and the maintenance list.

Dates and times are typed in the clinic's own zone; clean() turns them into aware datetimes.
"""

from datetime import datetime

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError

from clinic.fields import ISODateInput
from clinic.models import Room, StaffProfile
from clinic.roles import Role
from formulations.models import FormulationVersion, VersionStatus
from patients.models import Patient
from sessions.models import (
    ContactAttempt,
    PlanStatus,
    SessionKind,
    TreatmentPlan,
)


def _helper(label: str) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", label))
    return helper


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class PatientChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name} ({obj.record_number})"


def clinicians():
    return StaffProfile.objects.filter(role=Role.CLINICIAN).order_by("display_name")


class SlotMixin(forms.Form):
    """A local date and time in the clinic's zone, cleaned into an aware `starts_at`."""

    date = forms.DateField(widget=ISODateInput())
    time = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
    )

    def __init__(self, *args, clinic, **kwargs):
        self.clinic = clinic
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date") and cleaned.get("time"):
            cleaned["starts_at"] = datetime.combine(
                cleaned["date"], cleaned["time"], tzinfo=self.clinic.zone
            )
        return cleaned


class BookingForm(SlotMixin):
    patient = PatientChoiceField(queryset=Patient.objects.filter(archived_at__isnull=True))
    plan = forms.ModelChoiceField(
        queryset=TreatmentPlan.objects.filter(status__in=[PlanStatus.DRAFT, PlanStatus.ACTIVE]),
        required=False,
        help_text="The course this session belongs to (leave empty for a single session).",
    )
    kind = forms.ChoiceField(choices=SessionKind.choices, initial=SessionKind.TREATMENT)
    clinician = StaffChoiceField(queryset=clinicians())
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True))
    override_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Clinicians only: why a session closer than the shortest gap is safe.",
    )
    field_order = ["patient", "plan", "kind", "clinician", "room", "date", "time"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Book session")
        # Offer only the chosen patient's plans once a patient is chosen.
        chosen = self.data.get("patient") if self.is_bound else self.initial.get("patient")
        # An id is at most 19 digits (bigint); anything longer is refused by the field itself.
        if chosen and str(chosen).isdigit() and len(str(chosen)) <= 18:
            self.fields["plan"].queryset = self.fields["plan"].queryset.filter(patient_id=chosen)

    def clean(self):
        cleaned = super().clean()
        plan, patient = cleaned.get("plan"), cleaned.get("patient")
        if plan and patient and plan.patient_id != patient.pk:
            self.add_error("plan", "This plan belongs to another patient.")
        return cleaned


class MoveForm(SlotMixin):
    clinician = StaffChoiceField(queryset=clinicians())
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True))
    override_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Clinicians only: why a session closer than the shortest gap is safe.",
    )

    def __init__(self, *args, later=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.later = list(later)
        for shift in self.later:
            wall = shift.starts_at.astimezone(self.clinic.zone)
            self.fields[f"later_{shift.session.pk}_date"] = forms.DateField(
                label=f"Session {shift.session.sequence or ''} date",
                initial=wall.date(),
                required=False,
                widget=ISODateInput(),
            )
            self.fields[f"later_{shift.session.pk}_time"] = forms.TimeField(
                label="time",
                initial=wall.time(),
                required=False,
                widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M"),
            )
            self.fields[f"later_{shift.session.pk}_accept"] = forms.BooleanField(
                label="Move this later session too", required=False, initial=True
            )
        self.helper = _helper("Move session")

    def clean(self):
        cleaned = super().clean()
        cleaned["later"] = []
        for shift in self.later:
            pk = shift.session.pk
            if not cleaned.get(f"later_{pk}_accept"):
                continue
            day, at = cleaned.get(f"later_{pk}_date"), cleaned.get(f"later_{pk}_time")
            if not (day and at):
                self.add_error(f"later_{pk}_date", "Give a date and time, or untick this session.")
                continue
            cleaned["later"].append(
                (shift.session, datetime.combine(day, at, tzinfo=self.clinic.zone))
            )
        return cleaned


class CancelForm(forms.Form):
    cancelled_by = forms.ChoiceField(
        choices=[("patient", "The patient cancelled"), ("clinic", "The clinic cancelled")],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Cancel session")
        self.helper.inputs[0].field_classes = "btn btn-danger"


class PlanForm(forms.ModelForm):
    class Meta:
        model = TreatmentPlan
        fields = [
            "template",
            "assessment",
            "indication",
            "formulation_version",
            "technique",
            "device",
            "target_depth_mm",
            "number_of_sessions",
            "interval_days",
            "prp_alternating",
            "microneedling",
            "topical_minoxidil",
            "price_per_session",
            "package_price",
        ]

    def __init__(self, *args, clinic, patient, **kwargs):
        self.clinic = clinic
        super().__init__(*args, **kwargs)

        self.fields["assessment"].queryset = patient.assessments.filter(voided_at__isnull=True)
        self.fields[
            "assessment"
        ].help_text = "The assessment (diagnosis and scale) this plan treats."

        self.fields["formulation_version"].queryset = FormulationVersion.objects.filter(
            status=VersionStatus.PUBLISHED
        ).select_related("formulation")
        self.fields["template"].queryset = self.fields["template"].queryset.filter(is_active=True)
        self.fields["template"].required = True
        self.fields["number_of_sessions"].required = False
        self.fields["interval_days"].required = False
        self.fields["number_of_sessions"].help_text = "Leave empty to use the template's."
        self.fields["interval_days"].help_text = (
            f"Leave empty to use the template's. At least {clinic.course_min_interval_days} "
            f"days; more than {clinic.course_max_interval_days} is flagged as a deviation."
        )
        self.helper = _helper("Create plan")

    def clean_interval_days(self):
        days = self.cleaned_data.get("interval_days")
        if days is not None and days < self.clinic.course_min_interval_days:
            raise forms.ValidationError(
                f"Course sessions must be at least {self.clinic.course_min_interval_days} days "
                "apart (risk of over-injection)."
            )
        return days

    def _post_clean(self):
        # plan_create fills the numbers from the template and validates the whole row.
        pass


class CourseForm(SlotMixin):
    """The first session's date and time, clinician and room, for plan_course to propose from."""

    clinician = StaffChoiceField(queryset=clinicians())
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True))
    field_order = ["clinician", "room", "date", "time"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Propose dates")
        self.helper.form_method = "get"


class SlotSearchForm(forms.Form):
    """What the booking page needs to suggest free times before anything is typed: the patient,
    clinician and room (from a calendar click or a plan link) and, optionally, the day."""

    patient = PatientChoiceField(queryset=Patient.objects.filter(archived_at__isnull=True))
    clinician = StaffChoiceField(queryset=clinicians())
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True))
    date = forms.DateField(required=False, widget=ISODateInput())


class CourseDatesForm(forms.Form):
    """The reviewed course dates reception books in one step (the `start` inputs of the proposal),
    with the clinician and room they were proposed for."""

    clinician = StaffChoiceField(
        queryset=clinicians(),
        error_messages={"required": "Choose a clinician and a room, then propose the dates again."},
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.filter(is_active=True),
        error_messages={"required": "Choose a clinician and a room, then propose the dates again."},
    )

    def __init__(self, *args, clinic, **kwargs):
        self.clinic = clinic
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        starts = []
        for value in self.data.getlist("start") if hasattr(self.data, "getlist") else []:
            if not value:
                continue
            try:
                starts.append(datetime.fromisoformat(value).replace(tzinfo=self.clinic.zone))
            except ValueError:
                raise ValidationError(
                    f"“{value[:40]}” is not a date and time: use the date picker."
                ) from None
        cleaned["starts"] = starts
        return cleaned


class StopPlanForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Stop plan")


class ContactAttemptForm(forms.ModelForm):
    class Meta:
        model = ContactAttempt
        fields = ["channel", "outcome", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Log contact")
