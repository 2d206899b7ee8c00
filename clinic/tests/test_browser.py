import pytest
from playwright.sync_api import expect

from clinic.roles import Role
from clinic.tests.factories import UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reception_logs_in_and_sees_the_dashboard(page, clinic, staff):
    staff(Role.RECEPTION, user=UserFactory(username="rita"), display_name="Rita Reception")

    page.goto("/")
    expect(page).to_have_url("/accounts/login/?next=/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("test-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_contain_text("Rita Reception · Reception")
    expect(page.get_by_test_id("main-nav")).not_to_contain_text("Clinic settings")
    expect(page.get_by_test_id("clinic-contact")).to_contain_text("Test Hair Clinic")
