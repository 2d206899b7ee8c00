"""Every URL pattern × every role: anonymous users are sent to log in, a role without access gets
403, a role with access gets through. The expected access is written down per app, so a view
that forgets its permission, or a table that forgets a view, fails here."""

import importlib
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter

from clinic.roles import Role
from clinic.tests.access import PUBLIC
from sessions.tests.factories import TreatmentPlanFactory

PROJECT_APPS = ["clinic", "patients", "formulations", "sessions"]


def expected_access() -> dict:
    table = {}
    for app in PROJECT_APPS:
        try:
            module = importlib.import_module(f"{app}.tests.access")
        except ModuleNotFoundError:
            continue
        overlap = table.keys() & module.EXPECTED.keys()
        assert not overlap, f"{app}/tests/access.py repeats {sorted(overlap)}"
        table.update(module.EXPECTED)
    return table


def sample_kwargs(pattern: URLPattern) -> dict:
    def sample(converter):
        if isinstance(converter, IntConverter):
            return 1
        if isinstance(converter, UUIDConverter):
            return uuid.UUID(int=1)
        return "x"

    return {name: sample(conv) for name, conv in pattern.pattern.converters.items()}


def project_urls(patterns=None, namespace=""):
    """(url name, example URL) for every named pattern outside the Django admin."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from project_urls(entry.url_patterns, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}{entry.name}"
            yield name, reverse(name, kwargs=sample_kwargs(entry))


URLS = sorted(project_urls())
TABLE = expected_access()
PROTECTED = [(name, url) for name, url in URLS if TABLE.get(name, PUBLIC) != PUBLIC]


def test_every_url_has_an_expected_access_entry():
    names = {name for name, _ in URLS}
    assert names - TABLE.keys() == set(), "add these URLs to their app's tests/access.py"
    assert TABLE.keys() - names == set(), "these access entries name no URL"


@pytest.mark.parametrize(("name", "url"), PROTECTED)
def test_anonymous_users_are_sent_to_log_in(client, db, name, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value.replace(" ", "-"))
@pytest.mark.parametrize(("name", "url"), PROTECTED)
def test_each_role_reaches_only_its_pages(client_as, name, url, role):
    allowed = TABLE[name]
    response = client_as(role).get(url)
    if role in allowed:
        # 404 (no such record) and 405 (a POST-only action) are fine: the door was open.
        assert response.status_code not in (302, 403), response.status_code
    else:
        assert response.status_code == 403
        assert "does not give access" in response.content.decode()


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.CLINICIAN])
def test_only_clinic_admins_reach_the_django_admin(client_as, role):
    response = client_as(role).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_clinic_admins_reach_clinic_settings_in_the_django_admin(client_as):
    response = client_as(Role.CLINIC_ADMIN).get("/admin/clinic/clinic/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("role", "sees"),
    [(Role.RECEPTION, False), (Role.CLINICIAN, True), (Role.CLINIC_ADMIN, True)],
    ids=["reception", "clinician", "clinic-admin"],
)
def test_only_clinical_roles_see_a_plans_indication(client_as, clinic, role, sees):
    plan = TreatmentPlanFactory(indication="L63.0 alopecia areata totalis")
    page = client_as(role).get(reverse("treatment_sessions:plan_detail", args=[plan.pk]))
    assert page.status_code == 200
    assert ("alopecia areata totalis" in page.content.decode()) is sees
