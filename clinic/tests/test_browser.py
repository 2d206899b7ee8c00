import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import expect

from clinic.roles import Role
from clinic.tests.factories import UserFactory
from formulations.models import Formulation
from patients.models import Patient, Screening
from sessions.models import TreatmentPlan, TreatmentSession

AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


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


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 AA violations on the page, one line each."""
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return [
        f"{page.url} {v['id']}: {v['help']} ({', '.join(str(n['target']) for n in v['nodes'][:3])})"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_page_of_any_role_has_a_serious_accessibility_violation(page, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    patient = Patient.objects.filter(treatment_sessions__isnull=False).first()
    screening = Screening.objects.first()
    pages = {
        "reception": [
            "/",
            "/patients/",
            "/patients/new/",
            f"/patients/{patient.pk}/",
            f"/patients/{patient.pk}/edit/",
            "/calendar/",
            "/calendar/?view=week",
            "/calendar/?by=room",
            "/calendar/?layout=list",
            "/sessions/new/",
            f"/sessions/{TreatmentSession.objects.first().pk}/",
            f"/plans/{TreatmentPlan.objects.first().pk}/",
            "/maintenance/",
            "/maintenance/?window=overdue",
            "/maintenance/?window=3months",
            "/reminders/",
        ],
        "clinician": [
            "/",
            f"/patients/{patient.pk}/clinical/",
            f"/patients/{patient.pk}/outcomes/",
            f"/patients/{patient.pk}/assessments/new/",
            f"/patients/{screening.patient_id}/screening/{screening.pk}/",
            "/formulations/",
            f"/formulations/{Formulation.objects.first().pk}/",
            "/maintenance/?window=3months",
        ],
        "admin": ["/", "/reports/safety/"],
    }
    page.add_init_script(path=str(AXE))  # injected by the test only: no page loads axe-core
    found = []
    for username, urls in pages.items():
        page.context.clear_cookies()
        page.goto("/accounts/login/")
        found += serious_violations(page)
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("mesotrack-demo")
        page.get_by_role("button", name="Log in").click()
        for url in urls:
            response = page.goto(url)
            assert response.status == 200, url
            found += serious_violations(page)
    assert found == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_keyboard_user_skips_to_the_content_and_sees_where_focus_is(page, clinic, staff):
    staff(Role.RECEPTION, user=UserFactory(username="kai"))
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("kai")
    page.get_by_label("Password").fill("test-password")
    page.get_by_role("button", name="Log in").click()
    # The dashboard must have loaded before the first Tab, or the key lands on the login page.
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/)"))
    page.wait_for_load_state()

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "3px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
