"""The project's URLs: composes every app's url module."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import account_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", account_views.logout_view, name="logout"),
    path("accounts/verify/", account_views.second_factor_verify, name="second_factor_verify"),
    path("accounts/two-factor/", account_views.second_factor_setup, name="second_factor_setup"),
    path(
        "accounts/two-factor/recovery-codes/",
        account_views.recovery_codes,
        name="recovery_codes",
    ),
    path("accounts/keepalive/", account_views.keepalive, name="keepalive"),
    path("accounts/password/", account_views.password_change, name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/password/reset/", account_views.password_reset, name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        account_views.password_reset_done,
        name="password_reset_done",
    ),
    # The token in this path is kept out of the access log (clinic/gunicorn_logging.py).
    path(
        "accounts/reset/<uidb64>/<token>/",
        account_views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        account_views.password_reset_complete,
        name="password_reset_complete",
    ),
    path("patients/", include("patients.urls")),
    path("formulations/", include("formulations.urls")),
    # Calendar, sessions, plans (incl. /patients/<id>/plans/new/) and the maintenance list.
    path("", include("sessions.urls")),
    # Public: the patient's signed link (/r/<token>/) and the SMS provider's webhook.
    path("", include("sessions.public_urls")),
    # FHIR ($everything, $export) and each patient's data rights (copy, erasure).
    path("", include("sessions.exchange.urls")),
    # Public: the patient's own copy through its expiring link (/c/<token>/).
    path("", include("sessions.exchange.public_urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Mesotrack administration"
admin.site.site_title = "Mesotrack"
