import importlib

import pytest
from django.apps import apps
from playwright.sync_api import expect

from clinic.roles import Role
from clinic.tests.accounts import log_in
from clinic.tests.factories import UserFactory
from formulations.tests.factories import FormulationFactory, IngredientFactory

roles_migration = importlib.import_module(
    "formulations.migrations.0004_roles_and_used_version_trigger"
)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_builds_a_draft_publishes_it_and_opens_the_sheet(page, clinic, staff):
    # given: a transactional test flushes the groups' permissions, so grant them again
    roles_migration.grant(apps, None)
    staff(Role.CLINIC_ADMIN, user=UserFactory(username="ada"), display_name="Ada Admin")
    IngredientFactory(name="Dutasteride", is_prescription_drug=True, synonyms="Avodart")
    formulation = FormulationFactory(name="DHT-block scalp cocktail")

    log_in(page, "ada")

    # when: a draft with one line is built and published
    page.get_by_test_id("main-nav").get_by_role("link", name="Formulations").click()
    page.get_by_role("link", name=formulation.name).click()
    page.get_by_role("link", name="New empty version").click()
    page.get_by_label("Unit volume (mL)").fill("1")
    page.get_by_role("button", name="Save").click()
    page.get_by_label("Ingredient").select_option(label="Dutasteride")
    page.get_by_label("Amount").fill("0.01")
    page.locator("#id_unit").select_option("%w/v")
    page.get_by_role("button", name="Add ingredient").click()
    expect(page.get_by_test_id("draft-lines")).to_contain_text("0.1 mg in every 1 mL (0.01 %)")
    page.get_by_role("button", name="Publish this version").click()

    # then: the version is published and its sheet reads well
    expect(page.get_by_role("alert")).to_contain_text("published: it can no longer be changed")
    version_card = page.get_by_test_id("version-1")
    expect(version_card).to_contain_text("Published")
    version_card.get_by_role("link", name="Ingredient sheet").click()
    sheet = page.get_by_test_id("ingredient-sheet")
    expect(sheet).to_contain_text("Dutasteride")
    expect(sheet).to_contain_text("0.1 mg in every 1 mL (0.01 %)")
    expect(page.get_by_test_id("regulatory-statement")).to_contain_text("off-label")
    expect(page.get_by_test_id("sheet-contact")).to_contain_text("Test Hair Clinic")
    page.emulate_media(media="print")
    expect(page.get_by_test_id("main-nav")).to_be_hidden()
