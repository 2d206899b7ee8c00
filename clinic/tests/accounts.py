"""Test helpers for logging staff in with their second factor, as the middleware demands."""

from django.contrib.auth import get_user_model
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.accounts import second_factor_required


def authenticator_device(user) -> TOTPDevice:
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=True, defaults={"name": "Test authenticator"}
    )
    return device


def totp_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


class StaffClient(Client):
    """The test client; force_login() also completes the second factor for the roles that need
    one, the way the verification page would. second_factor=False logs in with the password step
    only, for tests of the second factor itself."""

    def force_login(self, user, backend=None, *, second_factor=True):
        super().force_login(user, backend)
        if second_factor and second_factor_required(user):
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = authenticator_device(user).persistent_id
            session.save()


def log_in(page, username: str, password: str = "test-password") -> None:
    """Log in through the login page, and the verification page for roles that need it."""
    user = get_user_model().objects.get(username=username)
    device = authenticator_device(user) if second_factor_required(user) else None
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if device is not None:
        page.wait_for_url("**/accounts/verify/**")
        page.get_by_label("Code").fill(totp_code(device))
        page.get_by_role("button", name="Continue").click()
