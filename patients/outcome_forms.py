"""Forms of the outcomes page. Ranges and the baseline rule live in outcomes.py."""

from django import forms
from django.utils import timezone

from clinic.fields import ISODateInput

from .forms import CrispyMixin
from .models import OutcomeMeasurement, PhotoView
from .outcomes import MEASURES


class OutcomeForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = OutcomeMeasurement
        fields = ["zone", "measured_on", *MEASURES, "notes"]
        widgets = {
            "measured_on": ISODateInput(),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "pull_test_hairs": "Positive above 5 (more than 10 % of about 50 hairs).",
            "global_assessment": "−3 very much worse … 0 unchanged … +3 very much better.",
            "self_assessment": "−3 very much worse … 0 unchanged … +3 very much better.",
        }

    def _post_clean(self):
        # outcomes.outcome_record() validates the whole measurement with its patient.
        pass

    def measurement(self) -> dict:
        data = self.cleaned_data
        return {
            "zone": data["zone"],
            "measured_on": data["measured_on"],
            "notes": data["notes"],
            **{name: data[name] for name in MEASURES},
        }


class SessionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        sequence = f" · session {obj.sequence}" if obj.sequence else ""
        return f"{timezone.localtime(obj.starts_at):%d %b %Y %H:%M}{sequence}"


class PhotoForm(CrispyMixin, forms.Form):
    view = forms.ChoiceField(
        choices=PhotoView.choices,
        help_text="A standard view of the photo protocol; later photos are compared with the "
        "first one of the same view.",
    )
    taken_on = forms.DateField(widget=ISODateInput())
    session = SessionChoiceField(
        queryset=None,
        required=False,
        label="Visit",
        empty_label="Not taken at a session",
        help_text="The session the photo was taken at: its number and version show beside it.",
    )
    upload = forms.FileField(
        label="Photo",
        help_text="JPEG or PNG, up to 10 MB. Camera and location data are removed when stored.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )

    def __init__(self, *args, sessions, **kwargs):
        """`sessions`: the patient's sessions a photo may belong to (the view chooses them)."""
        # Shown on the same page as OutcomeForm: own ids, so every label finds its field.
        kwargs.setdefault("auto_id", "id_photo_%s")
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = sessions
