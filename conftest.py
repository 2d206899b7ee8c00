"""Fixtures shared by every app's tests: a clinic, staff in each role, clients, a browser."""

import os
import shutil

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import override_settings

from clinic.roles import Role
from clinic.tests.accounts import StaffClient
from clinic.tests.factories import ClinicFactory, StaffProfileFactory

CHROMIUM = "/usr/bin/chromium"


# Tests that start a browser or a real worker: `make test-fast` (-m "not slow") leaves them out
# for the edit-test loop; `make test` and CI run them.
SLOW_MARKERS = ("browser", "broker")


def pytest_collection_modifyitems(items):
    for item in items:
        if any(item.get_closest_marker(name) for name in SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)
    # Role groups, their permissions, screening rules and plan templates are rows created by
    # data migrations. A transactional test ends with a flush that would wipe them for every
    # later test, so each one restores the database as it found it.
    # Tests that reach a transactional database through a fixture (live_server, the browser's
    # page) need it as much as those marked transaction=True: with the suite split across
    # processes they no longer all run last, so a flush would reach the tests after them.
    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = dict(marker.kwargs) if marker else {}
        through_fixture = {"live_server", "transactional_db"} & set(item.fixturenames)
        if through_fixture and not kwargs.get("transaction"):
            kwargs["transaction"] = True
        if kwargs.get("transaction") and "serialized_rollback" not in kwargs:
            item.add_marker(
                pytest.mark.django_db(
                    *(marker.args if marker else ()), **kwargs, serialized_rollback=True
                ),
                append=False,
            )


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Factories give every member of staff a password; the production hasher makes that slow."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def second_factor_enforced(settings):
    """Tests run with the second factor enforced, as production does (the demo's DEBUG mode
    relaxes it)."""
    settings.TWO_FACTOR_REQUIRED = True


@pytest.fixture(autouse=True)
def fresh_cache():
    """The cache is shared across processes and runs (Redis or var/cache/): each test starts
    with no rate-limit counts left by another."""
    cache.clear()


@pytest.fixture
def client():
    """The test client; its force_login() gives clinicians and admins a verified second factor."""
    return StaffClient()


@pytest.fixture
def admin_client(admin_user):
    """pytest-django's admin_client, logged in with the superuser's second factor too."""
    client = StaffClient()
    client.force_login(admin_user)
    return client


def skip_unless_ci(reason: str):
    """Skip locally with the reason; under CI=true a missing prerequisite is a failure."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true requires it)")
    pytest.skip(reason)


@pytest.fixture
def clinic(db):
    return ClinicFactory()


@pytest.fixture
def staff(clinic):
    """staff(role) -> a StaffProfile whose user is in that role's group."""

    def make(role: Role, **kwargs):
        return StaffProfileFactory(clinic=clinic, role=role, **kwargs)

    return make


@pytest.fixture
def reception_user(staff):
    return staff(Role.RECEPTION, display_name="Rita Reception").user


@pytest.fixture
def clinician_user(staff):
    return staff(Role.CLINICIAN, display_name="Dr Cleo Clinician").user


@pytest.fixture
def clinic_admin_user(staff):
    return staff(Role.CLINIC_ADMIN, display_name="Ada Admin").user


@pytest.fixture
def client_as(client, staff):
    """client_as(role) -> the test client logged in as a new member of staff in that role."""

    def login(role: Role):
        client.force_login(staff(role).user)
        return client

    return login


@pytest.fixture(scope="session")
def chromium_path():
    path = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if path is None:
        skip_unless_ci("Chromium is not installed (apt-get install -y chromium)")
    return path


@pytest.fixture
def page(chromium_path, live_server, monkeypatch):
    """A Playwright page in the system Chromium; no browser is ever downloaded."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()
        # While Playwright's loop runs, the ORM calls of the test get connections of their own
        # (asgiref locals follow the loop's context); close them here, or the test database
        # cannot be dropped at the end of the run on PostgreSQL.
        connections.close_all()
