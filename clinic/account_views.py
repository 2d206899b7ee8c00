"""Staff account pages: second-factor verification and enrolment, recovery codes, password change
and reset, and the idle-timeout keep-alive."""

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice

from .access import permission_required
from .account_forms import SecondFactorForm
from .accounts import (
    authenticator_confirm,
    authenticator_for,
    authenticator_secret,
    authenticator_start,
    qr_code_svg,
    recovery_codes_issue,
    recovery_codes_left,
    second_factor_check,
    second_factor_required,
    security_event_record,
)
from .middleware import second_factor_exempt
from .models import SecurityEvent


def _next_url(request, default="dashboard"):
    """The local page to return to; anything else (another host, garbage) means `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and target.isprintable()
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return reverse(default)


@never_cache
@sensitive_post_parameters("token")
@second_factor_exempt
@permission_required()
def second_factor_verify(request):
    """The second step of logging in: a code from the authenticator app, or a recovery code."""
    user = request.user
    if user.is_verified():
        if request.GET.get("next"):
            return redirect(_next_url(request))
        return render(request, "registration/second_factor_verify.html", {"verified": True})
    has_device = user_has_device(user)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and has_device and form.is_valid():
        device, wait = second_factor_check(user=user, token=form.cleaned_data["token"])
        if wait:
            form.add_error(
                "token",
                f"Too many wrong codes in a row: wait {wait} seconds, then type the code the app "
                "shows at that moment.",
            )
        elif device is None:
            security_event_record(
                kind=SecurityEvent.Kind.SECOND_FACTOR_FAILED, request=request, user=user
            )
            form.add_error(
                "token",
                "That code is not right. Use the current six-digit code from your authenticator "
                "app (it changes every 30 seconds), or one of your recovery codes.",
            )
        else:
            django_otp.login(request, device)
            if isinstance(device, StaticDevice):
                left = recovery_codes_left(user)
                security_event_record(
                    kind=SecurityEvent.Kind.RECOVERY_CODE_USED, request=request, user=user
                )
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. Each works once: make new ones "
                    "under Two-factor if you are running out.",
                )
            else:
                security_event_record(
                    kind=SecurityEvent.Kind.SECOND_FACTOR_OK, request=request, user=user
                )
            return redirect(_next_url(request))
    return render(
        request,
        "registration/second_factor_verify.html",
        {"form": form, "has_device": has_device, "next": request.GET.get("next", "")},
    )


@never_cache
@sensitive_post_parameters("token")
@second_factor_exempt
@permission_required()
def second_factor_setup(request):
    """Guided enrolment: scan the QR code, type the code the app shows, keep the recovery codes."""
    user = request.user
    if authenticator_for(user) is not None and not user.is_verified():
        # Replacing an authenticator needs the current one (or a recovery code) first.
        return redirect_to_verify(request)
    enrolled = authenticator_for(user)
    if enrolled and request.GET.get("replace") != "1" and request.method != "POST":
        return render(
            request,
            "registration/second_factor_status.html",
            {"device": enrolled, "recovery_codes_left": recovery_codes_left(user)},
        )
    device = authenticator_start(user=user)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if authenticator_confirm(device=device, token=form.cleaned_data["token"], request=request):
            django_otp.login(request, device)
            codes = recovery_codes_issue(user=user, request=request)
            return render(
                request,
                "registration/recovery_codes.html",
                {"codes": codes, "just_enrolled": True, "next": _next_url(request)},
            )
        form.add_error(
            "token",
            "That code does not match. Check that the app shows Mesotrack with your username and "
            "type the six digits it shows now.",
        )
    return render(
        request,
        "registration/second_factor_setup.html",
        {
            "form": form,
            "qr_svg": qr_code_svg(device.config_url),
            "secret": authenticator_secret(device),
            "required": second_factor_required(user) and settings.TWO_FACTOR_REQUIRED,
            "replacing": enrolled is not None,
            "next": request.GET.get("next", ""),
        },
    )


def redirect_to_verify(request):
    query = urlencode({"next": request.get_full_path()})
    return redirect(f"{reverse('second_factor_verify')}?{query}")


@never_cache
@require_POST
@permission_required()
def recovery_codes(request):
    """A new set of recovery codes (the page with the old ones is gone; they stop working)."""
    if not any(devices_for_user(request.user)):
        return redirect("second_factor_setup")
    codes = recovery_codes_issue(user=request.user, request=request)
    return render(request, "registration/recovery_codes.html", {"codes": codes})


@require_POST
@permission_required()
def keepalive(request):
    """'Stay logged in' on the idle warning: the request itself counts as activity."""
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect(_next_url(request))


class PasswordChangeView(auth_views.PasswordChangeView):
    """After a password change every session ends, this one too: log in with the new password."""

    success_url = reverse_lazy("login")

    def form_valid(self, form):
        form.save()
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_CHANGED, request=self.request, user=form.user
        )
        logout(self.request)
        messages.success(
            self.request, "Your password is changed. Log in again with the new password."
        )
        return redirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_RESET, request=self.request, user=form.user
        )
        return response


password_reset = login_not_required(
    auth_views.PasswordResetView.as_view(
        email_template_name="registration/password_reset_email.txt",
        subject_template_name="registration/password_reset_subject.txt",
    )
)
password_reset_done = login_not_required(auth_views.PasswordResetDoneView.as_view())
password_reset_confirm = login_not_required(PasswordResetConfirmView.as_view())
password_reset_complete = login_not_required(auth_views.PasswordResetCompleteView.as_view())
password_change = permission_required()(PasswordChangeView.as_view())
logout_view = second_factor_exempt(auth_views.LogoutView.as_view())
