"""The idle timeout and the session policy for shared reception PCs."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import SecurityEvent
from clinic.roles import Role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def desk(client, staff, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(staff(Role.RECEPTION).user)
    return client


def test_thirty_idle_minutes_end_the_session_with_a_message(desk, time_machine):
    time_machine.move_to(NOW + timedelta(minutes=29), tick=False)
    assert desk.get("/patients/").status_code == 200

    time_machine.move_to(NOW + timedelta(minutes=29 + 31), tick=False)
    response = desk.get("/patients/", follow=True)
    assert response.redirect_chain[0][0] == "/accounts/login/?next=/patients/"
    assert "logged out after a period without activity" in response.content.decode()
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.IDLE_LOGOUT).count() == 1


def test_the_clinic_sets_the_idle_timeout(desk, clinic, time_machine):
    clinic.idle_timeout_minutes = 10
    clinic.save()
    time_machine.move_to(NOW + timedelta(minutes=11), tick=False)
    assert desk.get("/patients/").status_code == 302


def test_every_page_carries_the_warning_two_minutes_before(desk, clinic):
    page = desk.get("/patients/").content.decode()
    assert 'id="idle-warning" data-timeout-seconds="1800"' in page
    assert "Stay logged in" in page


def test_stay_logged_in_counts_as_activity(desk, time_machine):
    time_machine.move_to(NOW + timedelta(minutes=25), tick=False)
    response = desk.post("/accounts/keepalive/", headers={"X-Requested-With": "fetch"})
    assert response.status_code == 204
    time_machine.move_to(NOW + timedelta(minutes=50), tick=False)
    assert desk.get("/patients/").status_code == 200


def test_the_session_cookie_ends_when_the_browser_closes(client, staff):
    staff(Role.RECEPTION, user__username="rita")
    response = client.post("/accounts/login/", {"username": "rita", "password": "test-password"})
    cookie = response.cookies["sessionid"]
    assert cookie["expires"] == "" and cookie["max-age"] == ""


def test_a_logged_out_session_cookie_opens_nothing_again(desk):
    # Sessions are read from the cache first (SESSION_ENGINE cached_db): logging out must end
    # the cached copy too, or a copied cookie would still open the pages.
    cookie = desk.cookies["sessionid"].value
    assert desk.get("/patients/").status_code == 200
    desk.post("/accounts/logout/")
    desk.cookies["sessionid"] = cookie
    assert desk.get("/patients/").status_code == 302


def test_a_session_comes_from_the_cache_without_a_query(desk):
    desk.get("/patients/")
    with CaptureQueriesContext(connection) as queries:
        assert desk.get("/patients/").status_code == 200
    assert queries.captured_queries
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]


class UnreachableCache(LocMemCache):
    """A cache whose server is down: every call fails as redis-py's would."""

    def _down(self, *args, **kwargs):
        raise ConnectionError("Connection refused")

    get = set = add = delete = has_key = incr = get_many = set_many = delete_many = _down


UNREACHABLE = {"default": {"BACKEND": f"{__name__}.UnreachableCache"}}


def test_staff_log_in_work_and_log_out_while_the_session_cache_is_down(settings, client, staff):
    # given the shared cache (Redis) is down
    settings.CACHES = UNREACHABLE
    staff(Role.RECEPTION, user__username="rita")

    # when a receptionist logs in, opens a page and logs out
    login = client.post("/accounts/login/", {"username": "rita", "password": "test-password"})
    page = client.get("/patients/")
    cookie = client.cookies["sessionid"].value
    logout = client.post("/accounts/logout/")

    # then each step works from the database alone, and the session is over
    assert login.status_code == 302 and page.status_code == 200
    assert logout.status_code == 302
    client.cookies["sessionid"] = cookie
    assert client.get("/patients/").status_code == 302
