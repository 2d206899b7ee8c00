"""Pages reached without a staff login: the patient's signed link and the SMS provider's webhook.

Kept out of the `treatment_sessions` namespace so the link's URL name (`patient_link`) is the
short, stable one the reminder messages use. Every view here is @login_not_required."""

from django.urls import path

from sessions.outreach import link_views, optout_views, self_service_views

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
    path(
        "r/<str:token>/appointment.ics",
        link_views.patient_link_calendar,
        name="patient_link_calendar",
    ),
    path("r/<str:token>/intake/", self_service_views.intake, name="patient_link_intake"),
    path(
        "r/<str:token>/reschedule/", self_service_views.reschedule, name="patient_link_reschedule"
    ),
    path("r/<str:token>/waitlist/", self_service_views.waitlist, name="patient_link_waitlist"),
    path("book/", self_service_views.book, name="online_booking"),
    path("book/<str:public_id>/code/", self_service_views.book_code, name="online_booking_code"),
    path("offer/<str:token>/", self_service_views.offer, name="waitlist_offer"),
    path(
        "offer/<str:token>/accept/", self_service_views.offer_accept, name="waitlist_offer_accept"
    ),
    path("webhooks/sms/twilio/", optout_views.twilio_inbound_sms, name="sms_webhook_twilio"),
]
