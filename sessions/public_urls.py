"""Pages reached without a staff login: the patient's signed link and the SMS provider's webhook.

Kept out of the `treatment_sessions` namespace so the link's URL name (`patient_link`) is the
short, stable one the reminder messages use. Every view here is @login_not_required."""

from django.urls import path

from sessions.outreach import link_views, optout_views

urlpatterns = [
    path("r/<str:token>/", link_views.patient_link, name="patient_link"),
    path(
        "r/<str:token>/confirm/",
        link_views.patient_link_confirm_view,
        name="patient_link_confirm",
    ),
    path("r/<str:token>/cancel/", link_views.patient_link_cancel_view, name="patient_link_cancel"),
    path(
        "r/<str:token>/ingredients/",
        link_views.patient_link_ingredients,
        name="patient_link_ingredients",
    ),
    path("webhooks/sms/twilio/", optout_views.twilio_inbound_sms, name="sms_webhook_twilio"),
]
