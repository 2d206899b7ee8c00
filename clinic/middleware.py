import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from .accounts import has_authenticator, second_factor_required, security_event_record
from .backends import clinic_of_user
from .models import Clinic, SecurityEvent


class ClinicTimezoneMiddleware:
    """Render every page in the clinic's own time zone, whatever the server's zone is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = None
        try:
            # A signed-in member of staff brings the clinic with their own row (one query).
            user = getattr(request, "user", None)
            known = clinic_of_user(user) if user is not None and user.is_authenticated else None
            token = Clinic.current_for_request(known=known)
            request.clinic = Clinic.current()
        except DatabaseError:
            # Let /healthz answer 503 with the reason instead of failing here.
            request.clinic = None
        if request.clinic:
            timezone.activate(request.clinic.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
            if token is not None:
                Clinic.release_request(token)


def second_factor_exempt(view):
    """Mark a view that a logged-in user may open before giving their second factor (the
    verification and enrolment pages themselves, logging out)."""
    view.second_factor_exempt = True
    return view


class SecondFactorMiddleware:
    """Every staff page and the Django admin need the second factor once the user has one; a
    clinician or clinic admin without one is sent to set it up (TWO_FACTOR_REQUIRED)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if getattr(view_func, "login_required", True) is False:
            return None  # public pages (@login_not_required)
        if getattr(view_func, "second_factor_exempt", False):
            return None
        if has_authenticator(user):
            return redirect_to_login(request.get_full_path(), reverse("second_factor_verify"))
        if settings.TWO_FACTOR_REQUIRED and second_factor_required(user):
            return redirect_to_login(request.get_full_path(), reverse("second_factor_setup"))
        return None


LAST_ACTIVITY_KEY = "mesotrack_last_activity"


@receiver(user_logged_in, dispatch_uid="idle-timeout-login")
def _activity_starts_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY_KEY] = int(time.time())


# Writing the session on every request costs a database write; a minute's precision is enough.
ACTIVITY_RESOLUTION_SECONDS = 60


def idle_timeout_seconds(clinic: Clinic | None) -> int:
    minutes = (
        clinic.idle_timeout_minutes
        if clinic
        else Clinic._meta.get_field("idle_timeout_minutes").default
    )
    return minutes * 60


class IdleTimeoutMiddleware:
    """Log staff out after the clinic's idle timeout (Clinic.idle_timeout_minutes)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - last > idle_timeout_seconds(request.clinic):
                user = request.user
                request.idle_logout = True
                logout(request)
                security_event_record(
                    kind=SecurityEvent.Kind.IDLE_LOGOUT, request=request, user=user
                )
                messages.info(
                    request,
                    "You were logged out after a period without activity. Log in again to "
                    "continue.",
                )
                return redirect_to_login(request.get_full_path())
            if last is None or now - last >= ACTIVITY_RESOLUTION_SECONDS:
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)
