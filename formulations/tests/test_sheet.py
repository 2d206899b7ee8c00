import pytest
from django.conf import settings
from django.urls import reverse

from clinic.roles import Role
from formulations.models import StrengthUnit
from formulations.tests.factories import IngredientFactory, IngredientLineFactory

pytestmark = pytest.mark.django_db


def _sheet(client, version):
    return client.get(reverse("formulations:sheet", kwargs={"pk": version.pk}))


@pytest.mark.parametrize("role", list(Role))
def test_staff_of_every_role_can_open_the_ingredient_sheet(client_as, published_version, role):
    assert _sheet(client_as(role), published_version).status_code == 200


def test_the_sheet_lists_every_ingredient_with_its_strength_in_words(client_as, published_version):
    IngredientLineFactory(
        version=published_version,
        ingredient=IngredientFactory(name="Biotin", known_side_effects="Mild redness."),
        amount=500,
        unit=StrengthUnit.MICROGRAM,
        per_volume_ml=1,
    )
    content = _sheet(client_as(Role.RECEPTION), published_version).content.decode()
    assert "Dutasteride" in content and "also called Avodart" in content
    assert "0.1 mg in every 1 mL (0.01 %)" in content
    assert "500 micrograms in every 1 mL (0.05 %)" in content
    assert "Rarely reduced libido." in content and "Mild redness." in content


def test_the_sheet_states_the_regulatory_position_and_off_label_use(client_as, published_version):
    content = _sheet(client_as(Role.RECEPTION), published_version).content.decode()
    assert "not an approved treatment" in content
    assert "Prescription medicine" in content
    assert "<strong>Dutasteride</strong>, a prescription medicine" in content
    assert "off-label" in content


def test_the_sheet_without_a_prescription_drug_does_not_claim_off_label_use(client_as):
    line = IngredientLineFactory(ingredient=IngredientFactory(name="Biotin"))
    content = _sheet(client_as(Role.RECEPTION), line.version).content.decode()
    assert "not an approved treatment" in content
    assert "off-label" not in content


def test_the_sheet_asks_about_allergies_and_gives_the_clinic_contact(
    client_as, published_version, clinic
):
    content = _sheet(client_as(Role.RECEPTION), published_version).content.decode()
    assert "Tell us about any allergy" in content
    assert 'data-testid="sheet-contact"' in content
    assert clinic.name in content and clinic.email in content
    assert clinic.phone.as_international in content


def test_the_sheet_prints_without_the_navigation(client_as, published_version):
    content = _sheet(client_as(Role.CLINIC_ADMIN), published_version).content.decode()
    assert 'class="navbar navbar-expand-md navbar-dark bg-dark d-print-none"' in content
    assert "css/mesotrack.css" in content and "js/mesotrack.js" in content
    assert "data-print" in content  # mesotrack.js makes it print
    stylesheet = (settings.BASE_DIR / "static" / "css" / "mesotrack.css").read_text()
    assert "@media print" in stylesheet and ".sheet" in stylesheet


def test_a_missing_version_is_a_404(client_as):
    assert client_as(Role.RECEPTION).get("/formulations/versions/999/sheet/").status_code == 404
