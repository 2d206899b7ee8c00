"""Forms of the clinician's session record page. They check the shape of the input; the rules
(usable lots, the lock, completeness) are in records.py."""

from django import forms

from formulations.lots import lot_usability
from formulations.models import FormulationVersion, Lot, VersionStatus
from sessions.models import Injection, RecordLot, SessionRecord


class RecordStartForm(forms.Form):
    """Only for a session without a plan: which formulation version will be injected."""

    formulation_version = forms.ModelChoiceField(
        queryset=FormulationVersion.objects.filter(status=VersionStatus.PUBLISHED).select_related(
            "formulation"
        ),
        label="Formulation version",
    )


class RecordDetailsForm(forms.ModelForm):
    class Meta:
        model = SessionRecord
        fields = [
            "pain_score",
            "prp_given",
            "microneedling_given",
            "lllt_given",
            "topical_minoxidil_given",
            "notes",
        ]
        widgets = {
            "pain_score": forms.NumberInput(attrs={"min": 0, "max": 10}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class InjectionForm(forms.ModelForm):
    class Meta:
        model = Injection
        fields = [
            "zone",
            "volume_ml",
            "depth_mm",
            "technique",
            "device",
            "needle_gauge",
            "injection_points",
        ]
        widgets = {
            "volume_ml": forms.NumberInput(attrs={"step": "0.01", "min": "0.01"}),
            # DOMAIN.md: 1–4 mm, never deeper than 4 mm; the browser stops it before the server.
            "depth_mm": forms.NumberInput(attrs={"step": "0.5", "min": "1", "max": "4"}),
            "needle_gauge": forms.NumberInput(attrs={"min": 25, "max": 34}),
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "injection_%s")
        super().__init__(*args, **kwargs)


class RecordLotForm(forms.ModelForm):
    """Any lot id is accepted here so that records.record_lot_add can say why a lot is refused;
    the list offers only the lots usable for the record's version on the session's day."""

    lot = forms.ModelChoiceField(queryset=Lot.objects.select_related("version__formulation"))

    class Meta:
        model = RecordLot
        fields = ["lot", "volume_ml", "units_used"]
        widgets = {"volume_ml": forms.NumberInput(attrs={"step": "0.01", "min": "0.01"})}

    def __init__(self, *args, record: SessionRecord | None = None, on_date=None, **kwargs):
        # Own element ids: the injection form on the same page also has a volume field.
        kwargs.setdefault("auto_id", "lot_%s")
        super().__init__(*args, **kwargs)
        if record is not None and on_date is not None:
            usable = [
                lot
                for lot in Lot.objects.filter(version=record.formulation_version)
                if lot_usability(lot=lot, on_date=on_date, version=record.formulation_version)[0]
            ]
            self.fields["lot"].choices = [("", "Choose a lot")] + [
                (
                    lot.pk,
                    f"{lot.lot_number} · expires {lot.expires_on:%d %b %Y} · "
                    f"{lot.quantity_remaining} left",
                )
                for lot in usable
            ]

    def _post_clean(self):
        # The record is set by records.record_lot_add; validating the row here without it
        # would only repeat those checks with a vaguer message.
        pass


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Correction or addition",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text="Signed with your name and the time; the record itself never changes.",
    )
