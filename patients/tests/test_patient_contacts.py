"""Address, GP and emergency contact (issue 15): registered, edited, shown to reception."""

from datetime import UTC, datetime

import pytest
import time_machine

from clinic.roles import Role
from patients.forms import PatientForm
from patients.models import Patient
from patients.tests.factories import PatientFactory

NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)

REGISTRATION = {
    "given_name": "Ann",
    "family_name": "Smith",
    "date_of_birth": "1980-02-03",
    "sex_at_birth": "female",
    "mobile": "07911 654321",
    "preferred_channel": "sms",
    "address_line1": "12 Acacia Avenue",
    "address_line2": "Flat 3",
    "town": "London",
    "postcode": "N1 9GU",
    "gp_name": "Dr Rachel Green",
    "gp_practice": "Islington Health Centre",
    "gp_phone": "020 7946 0123",
    "emergency_contact_name": "Tom Smith",
    "emergency_contact_relationship": "Husband",
    "emergency_contact_phone": "07700 900456",
}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_reception_registers_address_gp_and_emergency_contact_and_sees_them(client_as):
    client = client_as(Role.RECEPTION)

    response = client.post("/patients/new/", REGISTRATION)

    assert response.status_code == 302
    patient = Patient.objects.get()
    assert (str(patient.gp_phone), str(patient.emergency_contact_phone)) == (
        "+442079460123",
        "+447700900456",
    )
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "12 Acacia Avenue<br>Flat 3<br>London<br>N1 9GU" in page
    assert "Dr Rachel Green, Islington Health Centre<br>020 7946 0123" in page
    assert "Tom Smith (Husband)<br>07700 900456" in page


def test_the_gp_phone_may_be_a_landline_but_must_be_a_phone_number():
    good = PatientForm(REGISTRATION)
    bad = PatientForm({**REGISTRATION, "gp_phone": "12345", "emergency_contact_phone": "call me"})

    assert good.is_valid(), good.errors
    assert not bad.is_valid()
    assert bad.errors["gp_phone"] == [
        "Enter a phone number, like 07400 123456, or with the country code (+44 …)."
    ]
    assert "emergency_contact_phone" in bad.errors


def test_the_new_fields_are_optional_and_grouped_under_their_headings(client_as):
    minimal = {
        k: v
        for k, v in REGISTRATION.items()
        if k.split("_")[0] not in {"address", "town", "postcode", "gp", "emergency"}
    }
    assert PatientForm(minimal).is_valid()

    page = client_as(Role.RECEPTION).get("/patients/new/").content.decode()

    for legend in ("Address", "GP", "Emergency contact"):
        assert f"<legend>{legend}</legend>" in page or f">{legend}</legend>" in page
    assert 'autocomplete="postal-code"' in page


def test_editing_keeps_the_history_of_an_old_address(client_as):
    patient = PatientFactory(address_line1="1 Old Road", town="Leeds")
    client = client_as(Role.RECEPTION)
    form = PatientForm(instance=patient)
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(address_line1="2 New Street", town="York", email_consent="", sms_consent="")
    data = {k: v for k, v in data.items() if v not in (False, None)}

    response = client.post(f"/patients/{patient.pk}/edit/", data)

    assert response.status_code == 302, response.context["form"].errors
    patient.refresh_from_db()
    assert (patient.address_line1, patient.town) == ("2 New Street", "York")
    assert [h.address_line1 for h in patient.history.order_by("history_date")] == [
        "1 Old Road",
        "2 New Street",
    ]
