"""The intake form the patient fills in at home: the screening questions of the rule table as
required yes/no radios, then what they can tell us in their own words, and, where the clinic
allows remote consent, their typed name and an explicit agreement to sign the consent text."""

from crispy_forms.layout import Layout
from django import forms
from phonenumber_field.formfields import PhoneNumberField

from .forms import QuestionsForm

SIGNING_FIELDS = ("sign_name", "sign_agree", "text_digest")


class IntakeForm(QuestionsForm):
    def __init__(self, *args, questions, consent_texts=(), text_digest: str = "", **kwargs):
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
        self.can_sign = bool(consent_texts and text_digest)
        if self.can_sign:
            # Shown inside the consent box (the template), not with the questions.
            self.fields["sign_name"] = forms.CharField(
                label="Type your full name to sign",
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"autocomplete": "name"}),
            )
            self.fields["sign_agree"] = forms.BooleanField(
                label="I have read this consent, I understand it and I agree to it",
                required=False,
            )
            self.fields["text_digest"] = forms.CharField(
                widget=forms.HiddenInput, initial=text_digest
            )
        elif consent_texts:
            self.fields["consents_read"] = forms.BooleanField(
                label="I have read the consent information above",
                required=False,
            )
        self.layout_fields()
        self.helper.layout = Layout(
            *(item for item in self.helper.layout.fields if item not in SIGNING_FIELDS)
        )

    def clean(self):
        data = super().clean()
        if self.can_sign and bool(data.get("sign_name", "").strip()) != bool(
            data.get("sign_agree")
        ):
            self.add_error(
                "sign_agree" if data.get("sign_name", "").strip() else "sign_name",
                "To sign, type your full name and tick that you agree; leave both empty to sign "
                "at your visit instead.",
            )
        return data

    @property
    def signs(self) -> bool:
        """The patient typed their name and agreed (the form is valid)."""
        return self.can_sign and bool(self.cleaned_data.get("sign_agree"))

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
