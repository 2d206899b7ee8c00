import re
from datetime import date

import phonenumbers
import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.forms import modelform_factory

from clinic.fields import ISODateInput, mobile_number_error
from clinic.models import Clinic
from formulations import forms as formulation_forms
from formulations.models import Lot
from patients import forms as patient_forms
from patients import outcome_forms
from patients.tests.factories import (
    AssessmentFactory,
    MedicationFactory,
    OutcomeMeasurementFactory,
    PatientFactory,
)
from sessions.booking import forms as booking_forms
from sessions.outreach import reminder_views
from sessions.records import adverse_event_forms
from sessions.records.adverse_event_forms import AdverseEventForm
from sessions.tests.factories import AdverseEventFactory


def test_an_unknown_time_zone_is_refused_with_the_reason(clinic):
    clinic.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError, match="is not a time zone name"):
        clinic.full_clean()


def test_clinic_forms_offer_the_installed_time_zones_as_a_list(db):
    form_class = modelform_factory(Clinic, fields=["time_zone"])
    form = form_class(data={"time_zone": "America/New_York"})

    assert form.is_valid()
    groups = dict(form.fields["time_zone"].choices)
    assert ("Europe/London", "London") in groups["Europe"]
    assert ("America/New_York", "New York") in groups["America"]
    assert len(groups) < 15, "grouped by region, not one flat list of ~600 zones"
    assert not form_class(data={"time_zone": "Nowhere/Town"}).is_valid()


def test_the_date_widget_renders_iso_whatever_the_locale(settings):
    settings.LANGUAGE_CODE = "en-gb"
    html = ISODateInput().render("born", date(1980, 2, 1))

    assert 'type="date"' in html
    assert 'value="1980-02-01"' in html


@pytest.mark.parametrize(
    "typed",
    ["07700 900123", "07700900999", "07911 654321", "+44 7911 654321", "07400 123456"],
)
def test_uk_mobiles_typed_the_national_way_are_accepted(typed):
    assert mobile_number_error(phonenumbers.parse(typed, "GB"), "GB") is None


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("020 7946 0000", "This is not a mobile number"),
        ("0800 123 4567", "This is not a mobile number"),
        ("07911 65432", "Enter a mobile number, like 07400 123456, or with the country code (+44"),
    ],
)
def test_landlines_and_short_numbers_are_refused_with_a_mobile_example(typed, error):
    assert error in mobile_number_error(phonenumbers.parse(typed, "GB"), "GB")


FORM_MODULES = [
    patient_forms,
    outcome_forms,
    formulation_forms,
    booking_forms,
    adverse_event_forms,
    reminder_views,
]
DAY = date(1980, 2, 1)


def project_form_classes():
    seen, stack = [], [forms.BaseForm]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if any(sub.__module__ == module.__name__ for module in FORM_MODULES):
                seen.append(sub)
    return seen


def test_every_date_field_of_every_form_uses_the_iso_date_widget():
    date_fields = [
        (form.__name__, name)
        for form in project_form_classes()
        for name, field in form.base_fields.items()
        if isinstance(field, forms.DateField)
    ]
    assert len(date_fields) >= 12
    wrong = [
        (form.__name__, name)
        for form in project_form_classes()
        for name, field in form.base_fields.items()
        if isinstance(field, forms.DateField) and not isinstance(field.widget, ISODateInput)
    ]
    assert wrong == []


def rendered_value(form, name) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', str(form[name]))
    return match.group(1) if match else ""


@pytest.mark.parametrize(
    ("make_form", "name"),
    [
        (
            lambda: patient_forms.PatientForm(instance=PatientFactory(date_of_birth=DAY)),
            "date_of_birth",
        ),
        (
            lambda: patient_forms.MedicationForm(instance=MedicationFactory(started_on=DAY)),
            "started_on",
        ),
        (
            lambda: patient_forms.AssessmentForm(instance=AssessmentFactory(assessed_on=DAY)),
            "assessed_on",
        ),
        (
            lambda: outcome_forms.OutcomeForm(instance=OutcomeMeasurementFactory(measured_on=DAY)),
            "measured_on",
        ),
        (
            lambda: AdverseEventForm(
                instance=AdverseEventFactory(onset_on=DAY), lots=Lot.objects.none()
            ),
            "onset_on",
        ),
        (
            lambda: formulation_forms.LotForm(initial={"received_on": DAY, "expires_on": DAY}),
            "received_on",
        ),
        (lambda: formulation_forms.RecallForm(initial={"recalled_on": DAY}), "recalled_on"),
    ],
)
def test_a_saved_date_comes_back_in_its_field(db, settings, make_form, name):
    settings.LANGUAGE_CODE = "en-gb"
    assert rendered_value(make_form(), name) == "1980-02-01"
