from django import forms


class SecondFactorForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=32,
        help_text="Six digits from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )

    def clean_token(self):
        # Apps show the code as "123 456"; recovery codes are printed in lower case.
        return "".join(self.cleaned_data["token"].split()).lower()
