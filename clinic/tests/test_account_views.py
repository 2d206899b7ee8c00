"""Logging in: lockout after repeated failures, the second factor, recovery codes, password change
and reset."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.accounts import RECOVERY_CODE_LENGTH
from clinic.models import SecurityEvent
from clinic.roles import Role
from clinic.tests.accounts import StaffClient, authenticator_device, totp_code
from clinic.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
LOGIN = "/accounts/login/"


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def _log_in(client, username, password="test-password", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def _kinds(username):
    events = SecurityEvent.objects.filter(username=username).order_by("pk")
    return list(events.values_list("kind", flat=True))


# Lockout ----------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_username_and_say_when_to_retry(client, staff, frozen):
    user = staff(Role.RECEPTION, user=UserFactory(username="rita")).user
    for _ in range(4):
        assert _log_in(client, "rita", "wrong").status_code == 200

    locked = _log_in(client, "rita", "wrong")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Login locked" in page
    # the clinic is in Europe/London: 09:00 UTC + 15 minutes is 10:15 BST
    assert "Try again after 10:15" in page

    # the right password does not get in during the cool-off
    assert _log_in(client, "rita", "test-password").status_code == 429
    assert "_auth_user_id" not in client.session
    assert _kinds("rita") == ["login_failed"] * 4 + ["locked_out"] * 2

    frozen.move_to(NOW + timedelta(minutes=16), tick=False)
    response = _log_in(client, "rita")
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_wrong_passwords_for_many_usernames_lock_the_address(client, staff, frozen):
    staff(Role.RECEPTION, user=UserFactory(username="rita"))
    for n in range(5):
        _log_in(client, f"guess{n}", "wrong")
    assert _log_in(client, "rita").status_code == 429


def test_a_clinic_admin_unlocks_a_locked_account(client, staff, frozen):
    staff(Role.RECEPTION, user=UserFactory(username="rita"))
    for _ in range(5):
        _log_in(client, "rita", "wrong")
    admin = staff(Role.CLINIC_ADMIN).user
    admin_client = StaffClient()
    admin_client.force_login(admin)
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))

    response = admin_client.post(
        "/admin/axes/accessattempt/",
        {"action": "unlock", ACTION_CHECKBOX_NAME: attempts},
        follow=True,
    )
    assert "Unlocked" in response.content.decode()
    assert AccessAttempt.objects.count() == 0
    unlock = SecurityEvent.objects.get(kind=SecurityEvent.Kind.UNLOCKED)
    assert (unlock.username, unlock.by) == ("rita", admin)
    assert _log_in(client, "rita").status_code == 302


def test_reception_cannot_unlock_accounts(client_as):
    assert client_as(Role.RECEPTION).get("/admin/axes/accessattempt/").status_code == 302


# Second factor ----------------------------------------------------------------------------------


def test_a_clinician_with_an_authenticator_is_asked_for_its_code(client, staff, frozen):
    user = staff(Role.CLINICIAN, user=UserFactory(username="cleo")).user
    device = authenticator_device(user)

    response = _log_in(client, "cleo", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/verify/?next=/"
    assert client.get("/patients/").status_code == 302

    wrong = client.post("/accounts/verify/?next=/", {"token": "000000"})
    assert "That code is not right" in wrong.content.decode()
    too_soon = client.post("/accounts/verify/?next=/", {"token": totp_code(device)})
    assert "wait 1 seconds" in too_soon.content.decode()

    frozen.move_to(NOW + timedelta(seconds=2), tick=False)
    right = client.post("/accounts/verify/?next=/", {"token": totp_code(device), "next": "/"})
    assert right["Location"] == "/"
    assert client.get("/patients/").status_code == 200
    assert _kinds("cleo") == ["login", "second_factor_failed", "second_factor_ok"]


def test_a_clinician_without_one_is_guided_through_enrolment(client, staff, frozen):
    user = staff(Role.CLINICIAN).user
    client.force_login(user, second_factor=False)

    response = client.get("/patients/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/two-factor/")
    page = response.content.decode()
    assert "<svg" in page and 'data-testid="qr-code"' in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    assert len(secret.replace(" ", "")) == 32

    device = user.totpdevice_set.get(confirmed=False)
    done = client.post("/accounts/two-factor/", {"token": totp_code(device), "next": "/"})
    codes = re.findall(r'<li class="col">([a-z2-9]+)</li>', done.content.decode())
    assert len(codes) == 10 and all(len(c) == RECOVERY_CODE_LENGTH for c in codes)
    assert client.get("/patients/").status_code == 200

    # a recovery code stands in for the phone, once
    for attempt in (1, 2):
        other = StaffClient()
        other.force_login(user, second_factor=False)
        response = other.post("/accounts/verify/", {"token": codes[0], "next": "/"})
        if attempt == 1:
            assert response.status_code == 302
        else:
            assert "That code is not right" in response.content.decode()


def test_reception_may_work_without_a_second_factor(client, staff):
    client.force_login(staff(Role.RECEPTION).user)
    assert client.get("/patients/").status_code == 200


def test_reception_who_set_one_up_is_asked_for_it(client, staff):
    user = staff(Role.RECEPTION).user
    authenticator_device(user)
    client.force_login(user)
    assert client.get("/patients/")["Location"].startswith("/accounts/verify/")


def test_an_authenticator_set_up_elsewhere_is_asked_for_on_the_next_page(client, staff):
    """Whether the user has one is read with the user on every request (clinic/backends.py),
    not remembered in the session, and costs no query of its own."""
    user = staff(Role.RECEPTION).user
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/patients/").status_code == 200
    device_queries = [q for q in queries if re.match(r'SELECT [^(]* FROM "otp_totp_', q["sql"])]
    assert device_queries == []

    authenticator_device(user)  # confirmed on another device, in another session

    assert client.get("/patients/")["Location"].startswith("/accounts/verify/")


def test_the_django_admin_needs_the_second_factor_too(client, staff):
    admin = staff(Role.CLINIC_ADMIN).user
    authenticator_device(admin)
    client.force_login(admin, second_factor=False)
    assert client.get("/admin/")["Location"].startswith("/accounts/verify/")


def test_the_demo_setting_lets_clinicians_in_without_one(client, staff, settings):
    settings.TWO_FACTOR_REQUIRED = False
    client.force_login(staff(Role.CLINICIAN).user, second_factor=False)
    assert client.get("/patients/").status_code == 200


def test_new_recovery_codes_replace_the_old_ones(client, staff):
    user = staff(Role.CLINICIAN).user
    client.force_login(user)
    first = client.post("/accounts/two-factor/recovery-codes/").context["codes"]
    second = client.post("/accounts/two-factor/recovery-codes/").context["codes"]
    assert set(first).isdisjoint(second)
    other = StaffClient()
    other.force_login(user, second_factor=False)
    response = other.post("/accounts/verify/", {"token": first[0]})
    assert "That code is not right" in response.content.decode()


# Passwords --------------------------------------------------------------------------------------


def test_changing_the_password_ends_every_session(staff):
    user = staff(Role.RECEPTION).user
    desk, phone = StaffClient(), StaffClient()
    desk.force_login(user)
    phone.force_login(user)

    response = desk.post(
        "/accounts/password/",
        {
            "old_password": "test-password",
            "new_password1": "a long new passphrase",
            "new_password2": "a long new passphrase",
        },
    )
    assert response["Location"] == LOGIN
    assert desk.get("/patients/").status_code == 302
    assert phone.get("/patients/").status_code == 302
    assert SecurityEvent.objects.filter(kind="password_changed", user=user).exists()


def test_a_short_password_is_refused(client, staff):
    client.force_login(staff(Role.RECEPTION).user)
    response = client.post(
        "/accounts/password/",
        {"old_password": "test-password", "new_password1": "short1", "new_password2": "short1"},
    )
    assert "at least 12 characters" in response.content.decode()


def test_a_forgotten_password_is_reset_by_email(client, staff):
    user = staff(Role.RECEPTION, user=UserFactory(username="rita")).user
    client.post("/accounts/password/reset/", {"email": user.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)

    form = client.get(link, follow=True)
    assert "Set a new password" in form.content.decode()
    url = form.redirect_chain[-1][0]
    done = client.post(
        url, {"new_password1": "a long new passphrase", "new_password2": "a long new passphrase"}
    )
    assert done.status_code == 302
    assert _log_in(client, "rita", "a long new passphrase").status_code == 302
    assert "password_reset" in _kinds("rita")
