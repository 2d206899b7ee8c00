"""One refusal shape for every domain (clinic/refusals.py)."""

import pytest
from django import forms

from clinic.refusals import (
    BookingRefused,
    ExchangeRefused,
    FormulationRefused,
    OutreachRefused,
    PatientRefused,
    RecordRefused,
    Refused,
)

DOMAINS = [
    BookingRefused,
    ExchangeRefused,
    FormulationRefused,
    OutreachRefused,
    PatientRefused,
    RecordRefused,
]


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False)


@pytest.mark.parametrize("refusal", DOMAINS)
def test_every_domain_says_which_rule_and_why(refusal):
    error = refusal("void", "Write why the record is voided.", field="reason")

    assert isinstance(error, Refused)
    assert (error.rule, error.message, str(error)) == (
        "void",
        "Write why the record is voided.",
        "Write why the record is voided.",
    )


def test_a_refusal_lands_on_the_field_it_is_about():
    form = ReasonForm({"reason": ""})
    form.is_valid()

    error = PatientRefused("void", "Write why the record is voided.", field="reason")
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)

    assert form.errors == {"reason": ["Write why the record is voided."]}


def test_several_fields_refused_at_once_read_as_one_message():
    error = PatientRefused("outcome_record", {"zone": "Choose a zone.", "hairs": "Too many."})

    assert error.message_dict == {"zone": ["Choose a zone."], "hairs": ["Too many."]}
    assert error.message == "Choose a zone. Too many."
