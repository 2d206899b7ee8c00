import pytest
from django.core.exceptions import ValidationError
from django.forms import modelform_factory

from clinic.models import Clinic


def test_an_unknown_time_zone_is_refused_with_the_reason(clinic):
    clinic.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError, match="is not a time zone name"):
        clinic.full_clean()


def test_clinic_forms_offer_the_installed_time_zones_as_a_list(db):
    form_class = modelform_factory(Clinic, fields=["time_zone"])
    form = form_class(data={"time_zone": "America/New_York"})

    assert form.is_valid()
    assert ("Europe/London", "Europe/London") in form.fields["time_zone"].choices
    assert not form_class(data={"time_zone": "Nowhere/Town"}).is_valid()
