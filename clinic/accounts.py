"""Staff accounts: who needs a second factor, enrolling one, recovery codes, lockout and the
sign-in audit log (SecurityEvent).

Lockout is django-axes; the second factor is django-otp (a TOTP device for the authenticator app,
a static device whose tokens are the single-use recovery codes).
"""

from __future__ import annotations

import math
import secrets
from base64 import b32encode
from datetime import datetime

import django_otp
import segno
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models import Max, Q
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import SecurityEvent
from .roles import Role, user_role

RECOVERY_DEVICE_NAME = "Recovery codes"
AUTHENTICATOR_DEVICE_NAME = "Authenticator app"
# Ten characters from an alphabet without look-alikes (0/O, 1/l/I): about 50 bits each.
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10


def second_factor_required(user) -> bool:
    """Clinicians and clinic admins read and sign medical records: they must use a second factor.
    Reception may."""
    return user_role(user) in (Role.CLINICIAN, Role.CLINIC_ADMIN)


def client_ip(request) -> str | None:
    if request is None:
        return None
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR") or None


def security_event_record(
    *,
    kind: SecurityEvent.Kind,
    request=None,
    user=None,
    username: str = "",
    by=None,
    ip_address: str | None = None,
    at: datetime | None = None,
) -> SecurityEvent:
    if user is not None and not username:
        username = user.get_username()
    return SecurityEvent.objects.create(
        kind=kind,
        user=user,
        username=username[:150],
        by=by,
        ip_address=ip_address or client_ip(request),
        at=at or timezone.now(),
    )


# Sign-in audit log ------------------------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="security-log-login")
def _log_login(sender, request, user, **kwargs):
    security_event_record(kind=SecurityEvent.Kind.LOGIN, request=request, user=user)


@receiver(user_logged_out, dispatch_uid="security-log-logout")
def _log_logout(sender, request, user, **kwargs):
    if user is not None and not getattr(request, "idle_logout", False):
        security_event_record(kind=SecurityEvent.Kind.LOGOUT, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="security-log-login-failed")
def _log_login_failed(sender, credentials, request=None, **kwargs):
    # One row per attempt: an attempt axes answers with the lockout page (the one that reached
    # the limit, and every one during the cool-off) is logged as LOCKED_OUT by lockout_response().
    if request is not None and getattr(request, "axes_locked_out", False):
        return
    security_event_record(
        kind=SecurityEvent.Kind.LOGIN_FAILED,
        request=request,
        username=str(credentials.get("username", "")),
    )


def lockout_retry_at(*, username: str, ip_address: str | None) -> datetime:
    """When the lockout ends: the cool-off counts from the last failure that counted (attempts
    refused during the lockout do not extend it, AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT)."""
    last = AccessAttempt.objects.filter(
        Q(username=username) | Q(ip_address=ip_address),
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
    ).aggregate(last=Max("attempt_time"))["last"]
    return (last or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_response(request, original_response=None, credentials=None):
    """Axes' lockout page: which rule, and when to try again (AXES_LOCKOUT_CALLABLE)."""
    username = get_client_username(request, credentials) or ""
    security_event_record(kind=SecurityEvent.Kind.LOCKED_OUT, request=request, username=username)
    retry_at = lockout_retry_at(username=username, ip_address=client_ip(request))
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "retry_at": timezone.localtime(retry_at),
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(
        request,
        "registration/locked_out.html",
        context,
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


@transaction.atomic
def account_unlock(*, username: str, ip_address: str | None = None, by) -> int:
    """End a lockout of `username` (and of `ip_address`, when given) before its cool-off;
    returns how many attempt rows ended."""
    count = reset(username=username) if username else 0
    if ip_address:
        count += reset(ip=ip_address)
    security_event_record(
        kind=SecurityEvent.Kind.UNLOCKED, username=username, by=by, ip_address=ip_address
    )
    return count


# Second factor ----------------------------------------------------------------------------------


def authenticator_for(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_authenticator(user) -> bool:
    """Whether `user` has a confirmed authenticator app: read with the user on each request
    (clinic/backends.py), or asked here for a user loaded some other way."""
    known = getattr(user, "_mesotrack_has_authenticator", None)
    if known is not None:
        return known
    return authenticator_for(user) is not None


def second_factor_device_for(user, token: str) -> Device | None:
    """The device a typed code is for: six digits are the app's, anything else a recovery code.
    Trying only that one keeps a recovery code from counting as a wrong app code."""
    if token.isdigit():
        return authenticator_for(user)
    return StaticDevice.objects.filter(user=user, confirmed=True).first()


def second_factor_wait_seconds(device: Device) -> int:
    """Seconds until `device` accepts another try: django-otp doubles the wait after each wrong
    code (OTP_TOTP_THROTTLE_FACTOR, OTP_STATIC_THROTTLE_FACTOR)."""
    allowed, info = device.verify_is_allowed()
    if allowed or not info.get("locked_until"):
        return 0
    return max(1, math.ceil((info["locked_until"] - timezone.now()).total_seconds()))


def second_factor_check(*, user, token: str) -> tuple[Device | None, int]:
    """(the device that accepted `token` or None, seconds to wait before another try)."""
    device = second_factor_device_for(user, token)
    if device is None:
        return None, 0
    wait = second_factor_wait_seconds(device)
    if wait:
        return None, wait
    # django_otp.verify_token locks the device row, so two requests cannot use one code twice.
    return django_otp.verify_token(user, device.persistent_id, token), 0


def authenticator_start(*, user) -> TOTPDevice:
    """The unconfirmed device an enrolment page shows, reused until it is confirmed, so a reload
    does not change the QR code the user may already have scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name=AUTHENTICATOR_DEVICE_NAME, confirmed=False
        )
    return device


@transaction.atomic
def authenticator_confirm(*, device: TOTPDevice, token: str, request=None) -> bool:
    """Confirm `device` if `token` is its current code; it replaces any earlier authenticator."""
    if not device.verify_token(token):
        return False
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    security_event_record(
        kind=SecurityEvent.Kind.SECOND_FACTOR_ENROLLED, request=request, user=device.user
    )
    return True


def qr_code_svg(data: str) -> str:
    """An inline SVG QR code, rendered on the server (no script, no CDN)."""
    return segno.make(data, error="m").svg_inline(scale=5, dark="#212529", light="#ffffff")


def authenticator_secret(device: TOTPDevice) -> str:
    """The key as the base32 text authenticator apps accept typed in, in groups of four."""
    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def recovery_code_new() -> str:
    return "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))


@transaction.atomic
def recovery_codes_issue(*, user, request=None) -> list[str]:
    """A fresh set of single-use recovery codes; the earlier set stops working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME)
    device.token_set.all().delete()
    codes = [recovery_code_new() for _ in range(settings.RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    security_event_record(kind=SecurityEvent.Kind.RECOVERY_CODES_ISSUED, request=request, user=user)
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
