import pytest
from django.urls import reverse

from clinic.roles import Role
from formulations.models import FormulationVersion, IngredientLine, Lot
from formulations.tests.factories import IngredientFactory, LotFactory

pytestmark = pytest.mark.django_db


def _change_url(version):
    return reverse("admin:formulations_formulationversion_change", args=[version.pk])


def _post_data(version, **changes):
    line = version.lines.get()
    data = {
        "formulation": version.formulation_id,
        "number": version.number,
        "unit_volume_ml": "9",
        "vehicle": "changed",
        "instructions": "",
        "change_note": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "1",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-id": line.pk,
        "lines-0-version": version.pk,
        "lines-0-ingredient": line.ingredient_id,
        "lines-0-amount": "5",
        "lines-0-unit": "mg",
        "lines-0-per_volume_ml": "1",
        "lines-0-position": "0",
        "lines-0-DELETE": "on",
    }
    data.update(changes)
    return data


@pytest.fixture(params=["published", "used"])
def frozen_version(request, published_version):
    if request.param == "used":
        return request.getfixturevalue("used_version")
    return published_version


def test_a_frozen_version_is_shown_read_only_in_the_admin(client_as, frozen_version):
    response = client_as(Role.CLINIC_ADMIN).get(_change_url(frozen_version))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in content
    assert 'name="unit_volume_ml"' not in content


def test_an_admin_post_cannot_change_a_frozen_version_or_its_lines(client_as, frozen_version):
    response = client_as(Role.CLINIC_ADMIN).post(
        _change_url(frozen_version), _post_data(frozen_version)
    )
    assert response.status_code == 403
    frozen_version.refresh_from_db()
    assert (frozen_version.unit_volume_ml, frozen_version.vehicle) == (
        1,
        "Sterile water for injection",
    )
    assert frozen_version.lines.get().unit == "%w/v"


def test_the_admin_refuses_to_delete_versions_lots_and_ingredients(client_as, frozen_version):
    client = client_as(Role.CLINIC_ADMIN)
    lot = LotFactory(version=frozen_version)
    ingredient = frozen_version.lines.get().ingredient
    for url in [
        reverse("admin:formulations_formulationversion_delete", args=[frozen_version.pk]),
        reverse("admin:formulations_lot_delete", args=[lot.pk]),
        reverse("admin:formulations_ingredient_delete", args=[ingredient.pk]),
    ]:
        assert client.post(url, {"post": "yes"}).status_code == 403
    assert FormulationVersion.objects.filter(pk=frozen_version.pk).exists()
    assert Lot.objects.filter(pk=lot.pk).exists()


def test_the_bulk_delete_action_is_not_offered(client_as, published_version):
    response = client_as(Role.CLINIC_ADMIN).get(
        reverse("admin:formulations_formulationversion_changelist")
    )
    assert "delete_selected" not in response.content.decode()


def test_a_draft_is_editable_in_the_admin_and_its_status_is_not(client_as, draft_version):
    data = _post_data(draft_version, **{"lines-0-DELETE": "", "status": "published"})
    response = client_as(Role.CLINIC_ADMIN).post(_change_url(draft_version), data)
    assert response.status_code == 302
    draft_version.refresh_from_db()
    assert draft_version.unit_volume_ml == 9
    assert draft_version.status == "draft"  # publishing goes through versioning.version_publish
    line = IngredientLine.objects.get(version=draft_version)
    assert (line.concentration, line.concentration_unit) == (5, "mg/mL")


def test_the_admin_catalogue_edits_ingredients(client_as):
    ingredient = IngredientFactory(name="Biotin")
    response = client_as(Role.CLINIC_ADMIN).post(
        reverse("admin:formulations_ingredient_change", args=[ingredient.pk]),
        {
            "name": "Biotin",
            "category": "vitamin",
            "synonyms": "Vitamin H",
            "known_side_effects": "",
            "evidence_notes": "",
            "references": "",
        },
    )
    assert response.status_code == 302
    ingredient.refresh_from_db()
    assert ingredient.synonyms == "Vitamin H"
