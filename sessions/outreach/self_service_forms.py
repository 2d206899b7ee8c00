"""Forms of the public self-service pages: /book/, the code, reschedule and waitlist.

The honeypot field is hidden by a class in the stylesheet (no inline style under the CSP);
a person never sees it, a form-filling bot fills it."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from phonenumber_field.formfields import PhoneNumberField

from patients.models import Channel


class DateInput(forms.DateInput):
    """A native date picker; its value must be ISO (YYYY-MM-DD) whatever the locale."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class OnlineBookingForm(forms.Form):
    slot = forms.ChoiceField(label="Choose a time", widget=forms.RadioSelect)
    given_name = forms.CharField(label="First name", max_length=100)
    family_name = forms.CharField(label="Last name", max_length=100)
    date_of_birth = forms.DateField(label="Date of birth", widget=DateInput())
    email = forms.EmailField(label="Email address")
    mobile = PhoneNumberField(label="Mobile phone")
    code_channel = forms.ChoiceField(
        label="Send my code by",
        choices=[(Channel.SMS, "Text message"), (Channel.EMAIL, "Email")],
        widget=forms.RadioSelect,
        initial=Channel.SMS,
    )
    agree = forms.BooleanField(
        label="Send me messages about this booking (code, confirmation, reminders)",
        error_messages={"required": "We need to send you a code to hold the time."},
    )
    website = forms.CharField(label="Leave this empty", required=False)

    def __init__(self, *args, slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = slots
        for name in ("given_name", "family_name"):
            self.fields[name].widget.attrs["autocomplete"] = (
                "given-name" if name == "given_name" else "family-name"
            )
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["mobile"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.fields["date_of_birth"].widget.attrs["autocomplete"] = "bday"
        self.fields["website"].widget.attrs.update(tabindex="-1", autocomplete="off")
        for name in ("given_name", "family_name", "date_of_birth", "email", "mobile"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-lg"
        self.fields["code_channel"].widget.attrs["class"] = "form-check-input"
        self.fields["agree"].widget.attrs["class"] = "form-check-input"

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today or born < today - timedelta(days=365 * 120):
            raise forms.ValidationError("Enter your date of birth.")
        return born

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "class": "form-control form-control-lg",
            }
        ),
    )


class RescheduleForm(forms.Form):
    starts_at = forms.ChoiceField(
        label="Choose a new time", widget=forms.RadioSelect(attrs={"class": "btn-check"})
    )

    def __init__(self, *args, options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].choices = options


class WaitlistJoinForm(forms.Form):
    earliest_day = forms.DateField(label="From", widget=DateInput(attrs={"class": "form-control"}))
    latest_day = forms.DateField(label="Until", widget=DateInput(attrs={"class": "form-control"}))
    any_clinician = forms.BooleanField(
        label="Any clinician is fine",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def clean(self):
        data = super().clean()
        first, last = data.get("earliest_day"), data.get("latest_day")
        if first and last and last < first:
            self.add_error("latest_day", "The last day cannot be before the first day.")
        return data


def default_days() -> tuple[date, date]:
    today = timezone.localdate()
    return today, today + timedelta(days=14)
