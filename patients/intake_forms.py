"""The intake form the patient fills in at home: the screening questions of the rule table as
required yes/no radios, then what they can tell us in their own words."""

from django import forms
from phonenumber_field.formfields import PhoneNumberField

from .forms import QuestionsForm


class IntakeForm(QuestionsForm):
    def __init__(self, *args, questions, consent_texts=(), **kwargs):
        super().__init__(*args, questions=questions, **kwargs)
        self.fields["medical_history"] = forms.CharField(
            label="Any illnesses, operations or skin or scalp problems we should know about",
            required=False,
            max_length=4000,
            widget=forms.Textarea(attrs={"rows": 3}),
        )
        self.fields["allergies"] = forms.CharField(
            label="Allergies (to medicines, anaesthetics, latex, foods…) and what happened",
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2}),
        )
        self.fields["medications"] = forms.CharField(
            label="Medicines you take now, including creams and supplements",
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2}),
        )
        self.fields["email"] = forms.EmailField(label="Email", required=False)
        self.fields["mobile"] = PhoneNumberField(label="Mobile", required=False)
        self.fields["pronouns"] = forms.CharField(label="Pronouns", required=False, max_length=30)
        self.consent_ids = [text.pk for text in consent_texts]
        if consent_texts:
            self.fields["consents_read"] = forms.BooleanField(
                label="I have read the consent information above",
                required=False,
            )
        self.layout_fields()

    def report(self) -> dict:
        data = self.cleaned_data
        return {
            "answers": self.answers(),
            "medical_history": data["medical_history"],
            "allergies": data["allergies"],
            "medications": data["medications"],
            "contact": {
                "email": data["email"],
                "mobile": str(data["mobile"] or ""),
                "pronouns": data["pronouns"],
            },
            "consents_read": self.consent_ids if data.get("consents_read") else [],
        }
