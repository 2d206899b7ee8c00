from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.utils import timezone

from clinic.fields import ISODateInput
from formulations.models import FormulationVersion, VersionStatus

from .models import (
    SCALE_VALUES,
    Allergy,
    Assessment,
    Channel,
    Medication,
    Patient,
    Scale,
    ScalpZone,
    scale_value_error,
)
from .registration import CONTACT_FIELDS

# The parts of the registration form under their own heading (the rest come first, ungrouped).
PATIENT_FIELDSETS = {
    "Address": ["address_line1", "address_line2", "town", "postcode"],
    "GP": ["gp_name", "gp_practice", "gp_phone"],
    "Emergency contact": [
        "emergency_contact_name",
        "emergency_contact_relationship",
        "emergency_contact_phone",
    ],
}
YES_NO = [("yes", "Yes"), ("no", "No")]
QUIET_HOURS = ("quiet_hours_start", "quiet_hours_end")


class CrispyMixin:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class PatientForm(CrispyMixin, forms.ModelForm):
    email_consent = forms.BooleanField(label="Agrees to reminders by email", required=False)
    sms_consent = forms.BooleanField(label="Agrees to reminders by SMS", required=False)

    class Meta:
        model = Patient
        fields = CONTACT_FIELDS
        widgets = {
            "date_of_birth": ISODateInput(),
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "address_line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "address_line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "town": forms.TextInput(attrs={"autocomplete": "address-level2"}),
        }
        help_texts = {
            "quiet_hours_start": "No reminders from this time (patient's time zone).",
            "quiet_hours_end": "Reminders resume at this time.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        grouped = {name for names in PATIENT_FIELDSETS.values() for name in names}
        self.helper.layout = Layout(
            *(name for name in self.fields if name not in grouped),
            *(
                Fieldset(legend, *names, css_class="form-group-heading")
                for legend, names in PATIENT_FIELDSETS.items()
            ),
        )
        for name in QUIET_HOURS:
            # Left empty, the patient keeps what they had (the practice default 20:00–08:00).
            self.fields[name].required = False
        if self.instance.pk:
            self.fields["email_consent"].initial = self.instance.email_consent_at is not None
            self.fields["sms_consent"].initial = self.instance.sms_consent_at is not None
            for name, stamp in (
                ("email_consent", self.instance.email_consent_at),
                ("sms_consent", self.instance.sms_consent_at),
            ):
                if stamp:
                    local = timezone.localtime(stamp)
                    self.fields[name].help_text = f"Given {local:%d %b %Y %H:%M}."
        for channel, stamp in (
            ("email", self.instance.email_opt_out_at),
            ("sms", self.instance.sms_opt_out_at),
        ):
            if stamp:
                # An opt-out beats consent: say so where consent is ticked.
                local = timezone.localtime(stamp)
                self.fields[f"{channel}_consent"].help_text = (
                    f"Opted out {local:%d %b %Y %H:%M}: no reminders by "
                    f"{'SMS' if channel == 'sms' else 'email'} until opted in again "
                    "(Communication, on the patient's page)."
                )

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if born > timezone.localdate():
            raise forms.ValidationError("The date of birth cannot be in the future.")
        return born

    def clean(self):
        data = super().clean()
        for name in QUIET_HOURS:
            if data.get(name) is None and name not in self.errors:
                data[name] = getattr(self.instance, name)
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        if start is not None and start == end:
            self.add_error("quiet_hours_end", "Quiet hours must end at a different time.")
        channel = data.get("preferred_channel")
        if channel == Channel.SMS and not data.get("mobile") and "mobile" not in self.errors:
            self.add_error("mobile", "Reminders by SMS need a mobile number.")
        if channel == Channel.EMAIL and not data.get("email") and "email" not in self.errors:
            self.add_error("email", "Reminders by email need an email address.")
        if data.get("sms_consent") and not data.get("mobile") and "mobile" not in self.errors:
            self.add_error("sms_consent", "Consent to SMS reminders needs a mobile number.")
        if data.get("email_consent") and not data.get("email") and "email" not in self.errors:
            self.add_error("email_consent", "Consent to email reminders needs an email address.")
        return data

    def details(self) -> dict:
        return {name: self.cleaned_data[name] for name in CONTACT_FIELDS}


class AllergyForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = Allergy
        fields = ["ingredient", "category", "substance", "severity", "reaction"]
        widgets = {"reaction": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "ingredient": "An ingredient from the catalogue, or…",
            "category": "…a whole category (all vitamins, all 5-ARIs), or…",
        }

    def clean(self):
        data = super().clean()
        if not (data.get("ingredient") or data.get("category") or data.get("substance")):
            raise forms.ValidationError(
                "Name what the patient is allergic to: an ingredient, a category or the substance."
            )
        return data


class MedicationForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = Medication
        fields = ["name", "medication_class", "dose", "started_on", "stopped_on", "notes"]
        widgets = {
            "started_on": ISODateInput(),
            "stopped_on": ISODateInput(),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        data = super().clean()
        started, stopped = data.get("started_on"), data.get("stopped_on")
        if started and stopped and stopped < started:
            self.add_error("stopped_on", "A medicine cannot stop before it started.")
        return data


class ReasonForm(forms.Form):
    """Why a record is voided or a consent withdrawn. A form, so that a NUL byte or a novel is
    refused with a message instead of reaching the database (CharField refuses NUL bytes)."""

    # Not required here: the rule functions say in their own words why a reason is needed.
    reason = forms.CharField(max_length=1000, required=False)

    def reason_or_errors(self) -> tuple[str | None, str]:
        """(the reason, "") when valid, else (None, what is wrong in one sentence)."""
        if self.is_valid():
            return self.cleaned_data["reason"], ""
        return None, " ".join(e for errors in self.errors.values() for e in errors)


class MedicationStopForm(forms.Form):
    stopped_on = forms.DateField(widget=ISODateInput())

    def clean_stopped_on(self):
        day = self.cleaned_data["stopped_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("The stop date cannot be in the future.")
        return day


def scale_value_choices() -> list:
    """One option group per scale (DOMAIN.md "Severity scales"); each value carries its scale
    ("ludwig:II") because Norwood and Ludwig share readings such as "II"."""
    return [
        ("", "---------"),
        *(
            (Scale(scale).label, [(f"{scale}:{value}", value) for value in values])
            for scale, values in SCALE_VALUES.items()
        ),
    ]


class AssessmentForm(CrispyMixin, forms.ModelForm):
    zones = forms.MultipleChoiceField(
        label="Affected zones",
        choices=ScalpZone.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    reading = forms.ChoiceField(
        label="Scale value",
        choices=scale_value_choices,
        required=False,
        help_text="Grouped by scale; for SALT type the score below instead.",
    )
    salt_score = forms.DecimalField(
        label="SALT score (% of scalp hair lost)",
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=1,
        required=False,
    )

    class Meta:
        model = Assessment
        fields = ["assessed_on", "diagnosis", "scale", "reading", "salt_score", "zones", "notes"]
        widgets = {"assessed_on": ISODateInput(), "notes": forms.Textarea(attrs={"rows": 3})}

    def clean_assessed_on(self):
        day = self.cleaned_data["assessed_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("An assessment cannot be dated in the future.")
        return day

    def clean(self):
        data = super().clean()
        scale = data.get("scale")
        if not scale:
            return data
        if scale == Scale.SALT:
            score = data.get("salt_score")
            if score is None:
                if "salt_score" not in self.errors:
                    self.add_error("salt_score", "Type the SALT score (0 to 100).")
                return data
            value = format(score.normalize(), "f")
        else:
            reading_scale, _, value = (data.get("reading") or "").partition(":")
            if reading_scale != scale:
                label = Scale(scale).label
                self.add_error("reading", f"Choose a value from the {label} group.")
                return data
        error = scale_value_error(scale=scale, value=value)
        if error:
            self.add_error("reading", error)
        else:
            self.instance.scale_value = value
        return data

    def _post_clean(self):
        self.instance.zones = self.cleaned_data.get("zones", [])
        super()._post_clean()

    def _update_errors(self, errors):
        # Model.clean repeats the scale check on scale_value, which this form shows as "reading".
        if hasattr(errors, "error_dict") and "scale_value" in errors.error_dict:
            moved = errors.error_dict.pop("scale_value")
            if "reading" not in self.errors and "salt_score" not in self.errors:
                errors.error_dict["reading"] = moved
        super()._update_errors(errors)


def published_versions():
    return FormulationVersion.objects.filter(status=VersionStatus.PUBLISHED).select_related(
        "formulation"
    )


class QuestionsForm(CrispyMixin, forms.Form):
    """One required yes/no question per screening question key."""

    def __init__(self, *args, questions: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.question_keys = [key for key, _ in questions]
        for key, question in questions:
            self.fields[f"q_{key}"] = forms.ChoiceField(
                label=question,
                choices=YES_NO,
                widget=forms.RadioSelect,
                error_messages={"required": "Answer yes or no."},
            )

    def layout_fields(self) -> None:
        """Yes/no questions inline, the other fields as usual; call after adding fields."""
        radios = {f"q_{key}" for key in self.question_keys} | {
            name
            for name, field in self.fields.items()
            if isinstance(field.widget, forms.RadioSelect)
        }
        self.helper.layout = Layout(
            *(InlineRadios(name) if name in radios else name for name in self.fields)
        )

    def answers(self) -> dict[str, bool]:
        return {key: self.cleaned_data[f"q_{key}"] == "yes" for key in self.question_keys}


class ScreeningForm(QuestionsForm):
    formulation_version = forms.ModelChoiceField(
        label="Formulation planned",
        queryset=FormulationVersion.objects.none(),
        required=False,
        help_text="Optional: checks allergies and 5-ARI rules against this formulation now.",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["formulation_version"].queryset = published_versions()
        # Keep the questions first, the formulation and notes after them.
        self.order_fields([*(f"q_{k}" for k in self.question_keys), "formulation_version"])
        self.layout_fields()


class RecheckForm(QuestionsForm):
    new_medicines = forms.ChoiceField(
        label="Any new medicines since the last visit?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        help_text="If yes, add them to the medication list: blood thinners and steroids "
        "are checked from it.",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.layout_fields()


class OverrideForm(CrispyMixin, forms.Form):
    rule_code = forms.SlugField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason to proceed",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Audited: say why treatment is safe for this patient despite the finding.",
    )


class ReferralClearanceForm(CrispyMixin, forms.Form):
    rule_code = forms.SlugField(widget=forms.HiddenInput)
    cleared_on = forms.DateField(label="Cleared on", widget=ISODateInput())
    cleared_by = forms.CharField(label="Dermatologist", max_length=200)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean_cleared_on(self):
        day = self.cleaned_data["cleared_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("The clearance date cannot be in the future.")
        return day


class ConsentForm(CrispyMixin, forms.Form):
    text_digest = forms.CharField(widget=forms.HiddenInput, max_length=64)
    typed_name = forms.CharField(label="Patient's full name (typed by the patient)", max_length=200)
    confirmed = forms.BooleanField(
        label="I have read this text, I understand it and I agree.",
        error_messages={"required": "The patient must tick to confirm."},
    )
