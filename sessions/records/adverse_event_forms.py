"""Forms of the adverse-event pages. The rules (onset window, lot, serious grades) live in
adverse_events.py; these forms only parse and offer the right choices."""

from crispy_forms.helper import FormHelper
from django import forms

from clinic.fields import ISODateInput
from formulations.models import Lot
from sessions.models import AdverseEvent

EVENT_FORM_FIELDS = [
    "event_type",
    "onset_on",
    "severity",
    "ctcae_grade",
    "serious",
    "causality",
    "outcome",
    "lot",
    "treatment_stopped",
    "notes",
]


class LotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.lot_number} ({obj.supplier}, expires {obj.expires_on:%d %b %Y})"


class AdverseEventForm(forms.ModelForm):
    lot = LotChoiceField(queryset=Lot.objects.none(), required=False, empty_label="Not known")

    class Meta:
        model = AdverseEvent
        fields = EVENT_FORM_FIELDS
        widgets = {
            "onset_on": ISODateInput(),
            "ctcae_grade": forms.Select(
                choices=[
                    (1, "1 · mild"),
                    (2, "2 · moderate"),
                    (3, "3 · severe"),
                    (4, "4 · life-threatening"),
                    (5, "5 · death"),
                ]
            ),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, lots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = lots
        self.helper = FormHelper()
        self.helper.form_tag = False

    def _post_clean(self):
        # The rule function validates the whole event (with the session it belongs to) when
        # the view calls it; the ModelForm's own instance check would run without the session.
        pass

    def event_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in EVENT_FORM_FIELDS}


class VoidForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Why (entered in error, wrong patient…)"}),
        error_messages={"required": "Write why the adverse event is voided."},
    )
