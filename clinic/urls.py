"""The project's URLs: composes every app's url module."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
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
