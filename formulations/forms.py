from decimal import Decimal

from crispy_forms.helper import FormHelper
from django import forms
from django.core.validators import MinValueValidator

from clinic.fields import ISODateInput

from .models import Formulation, FormulationVersion, Ingredient, LotCorrectionField, StrengthUnit
from .units import normalise_strength


class CrispyForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class FormulationForm(forms.ModelForm):
    class Meta:
        model = Formulation
        fields = ["name", "purpose", "technique_notes"]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class VersionForm(CrispyForm):
    unit_volume_ml = forms.DecimalField(
        label="Unit volume (mL)",
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Volume of one vial or ampoule.",
    )
    vehicle = forms.CharField(max_length=200, required=False)
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    change_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="What changed from the previous version.",
    )

    @classmethod
    def for_version(cls, version: FormulationVersion, data=None):
        return cls(
            data,
            initial={
                "unit_volume_ml": version.unit_volume_ml,
                "vehicle": version.vehicle,
                "instructions": version.instructions,
                "change_note": version.change_note,
            },
        )


class LineForm(CrispyForm):
    ingredient = forms.ModelChoiceField(queryset=Ingredient.objects.all())
    amount = forms.DecimalField(
        max_digits=14, decimal_places=6, validators=[MinValueValidator(Decimal("0"))]
    )
    unit = forms.ChoiceField(choices=StrengthUnit.choices)
    per_volume_ml = forms.DecimalField(
        label="Per volume (mL)",
        max_digits=8,
        decimal_places=3,
        required=False,
        help_text="e.g. 0.1 mg per 1 mL. Leave empty for % w/v.",
    )

    def clean(self):
        data = super().clean()
        if {"amount", "unit"} <= data.keys():
            try:
                normalise_strength(
                    amount=data["amount"],
                    unit=data["unit"],
                    per_volume_ml=data.get("per_volume_ml"),
                )
            except ValueError as exc:
                self.add_error("per_volume_ml", str(exc))
        return data


class LotForm(CrispyForm):
    lot_number = forms.CharField(max_length=100)
    supplier = forms.CharField(max_length=200)
    received_on = forms.DateField(widget=ISODateInput())
    expires_on = forms.DateField(widget=ISODateInput())
    quantity_received = forms.IntegerField(min_value=1, help_text="Vials or ampoules received.")

    def clean(self):
        data = super().clean()
        received, expires = data.get("received_on"), data.get("expires_on")
        if received and expires and expires <= received:
            self.add_error("expires_on", "The expiry date must be after the date received.")
        return data


class ReasonForm(CrispyForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class RecallForm(ReasonForm):
    recalled_on = forms.DateField(label="Recall date", widget=ISODateInput())


VERSIONS = FormulationVersion.objects.select_related("formulation")


class CompareForm(forms.Form):
    a = forms.ModelChoiceField(queryset=VERSIONS, label="Older version")
    b = forms.ModelChoiceField(queryset=VERSIONS, label="Newer version")


class LotCorrectionForm(CrispyForm):
    field = forms.ChoiceField(choices=LotCorrectionField.choices, label="What to correct")
    new_value = forms.CharField(
        max_length=200,
        label="Correct value",
        help_text="For the expiry, a date as YYYY-MM-DD (it may only come forward).",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Why the lot as received is wrong (e.g. digits swapped on entry).",
    )
