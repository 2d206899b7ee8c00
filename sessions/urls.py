"""Staff URLs of the sessions app: booking, records and outreach pages (composes their views)."""

from django.urls import path

from sessions.booking import maintenance_views, views
from sessions.outreach import front_desk_views, optout_views, reminder_views
from sessions.records import (
    adverse_event_views,
    outcome_views,
    report_views,
    research_export_views,
)
from sessions.records import views as record_views

app_name = "treatment_sessions"

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("sessions/new/", views.session_new, name="session_new"),
    path("sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("sessions/<int:pk>/confirm/", views.session_confirm, name="session_confirm"),
    path("sessions/<int:pk>/check-in/", views.session_check_in, name="session_check_in"),
    path("sessions/<int:pk>/no-show/", views.session_no_show, name="session_no_show"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="session_cancel"),
    path("sessions/<int:pk>/move/", views.session_move, name="session_move"),
    # A specific path under /patients/: it shadows none of the patients app's own routes.
    path("patients/<int:patient_id>/plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("online-bookings/", front_desk_views.online_bookings, name="online_bookings"),
    path(
        "online-bookings/<int:pk>/approve/",
        front_desk_views.online_booking_approve_view,
        name="online_booking_approve",
    ),
    path(
        "online-bookings/<int:pk>/decline/",
        front_desk_views.online_booking_decline_view,
        name="online_booking_decline",
    ),
    path(
        "online-bookings/patients/<int:patient_id>/confirm/",
        front_desk_views.provisional_confirm_view,
        name="provisional_confirm",
    ),
    path(
        "online-bookings/patients/<int:patient_id>/merge/",
        front_desk_views.provisional_merge_view,
        name="provisional_merge",
    ),
    path("waitlist/", front_desk_views.waitlist, name="waitlist"),
    path(
        "waitlist/<int:pk>/withdraw/",
        front_desk_views.waitlist_withdraw_view,
        name="waitlist_withdraw",
    ),
    path("plans/<int:pk>/book/", views.plan_book, name="plan_book"),
    path("plans/<int:pk>/stop/", views.plan_stop_view, name="plan_stop"),
    path("plans/<int:pk>/complete/", views.plan_complete_view, name="plan_complete"),
    path(
        "sessions/<int:pk>/adverse-events/new/",
        adverse_event_views.adverse_event_new,
        name="adverse_event_new",
    ),
    path(
        "adverse-events/<int:event_id>/",
        adverse_event_views.adverse_event_detail,
        name="adverse_event_detail",
    ),
    path(
        "adverse-events/<int:event_id>/update/",
        adverse_event_views.adverse_event_update,
        name="adverse_event_update",
    ),
    path(
        "adverse-events/<int:event_id>/void/",
        adverse_event_views.adverse_event_void,
        name="adverse_event_void",
    ),
    path(
        "adverse-events/<int:event_id>/acknowledge/",
        adverse_event_views.adverse_event_acknowledge,
        name="adverse_event_acknowledge",
    ),
    path("maintenance/", maintenance_views.maintenance, name="maintenance"),
    path(
        "maintenance/download/",
        maintenance_views.maintenance_download,
        name="maintenance_download",
    ),
    path("reports/", report_views.reports_index, name="reports"),
    path("reports/safety/", report_views.safety_report_view, name="safety_report"),
    path("reports/harms/", report_views.harms_view, name="harms"),
    path("reports/outcomes/", outcome_views.outcome_report_view, name="outcome_report"),
    path("reports/outcomes/compare/", outcome_views.outcome_compare_view, name="outcome_compare"),
    path(
        "reports/research-exports/",
        research_export_views.research_exports,
        name="research_exports",
    ),
    path(
        "reports/research-exports/<int:pk>/",
        research_export_views.research_export,
        name="research_export",
    ),
    path(
        "reports/research-exports/<int:pk>/download/",
        research_export_views.research_export_download,
        name="research_export_download",
    ),
    path("reminders/", reminder_views.reminders, name="reminders"),
    path(
        "reminders/<int:pk>/retry/",
        reminder_views.reminder_retry_view,
        name="reminder_retry",
    ),
    path(
        "patients/<int:patient_id>/communication/",
        optout_views.patient_channel_preference,
        name="patient_channel_preference",
    ),
    path(
        "maintenance/<int:plan_id>/contact/",
        maintenance_views.maintenance_contact,
        name="maintenance_contact",
    ),
    # The clinician's session record (issue 6, part A); every sub-action is a POST.
    path("sessions/<int:pk>/record/", record_views.record, name="record"),
    path("sessions/<int:pk>/record/details/", record_views.record_details, name="record_details"),
    path(
        "sessions/<int:pk>/record/injections/",
        record_views.record_injection_add,
        name="record_injection_add",
    ),
    path(
        "sessions/<int:pk>/record/injections/<int:injection_id>/",
        record_views.record_injection_edit,
        name="record_injection_edit",
    ),
    path(
        "sessions/<int:pk>/record/injections/<int:injection_id>/remove/",
        record_views.record_injection_remove,
        name="record_injection_remove",
    ),
    path("sessions/<int:pk>/record/lots/", record_views.record_lot_add, name="record_lot_add"),
    path(
        "sessions/<int:pk>/record/lots/<int:record_lot_id>/remove/",
        record_views.record_lot_remove,
        name="record_lot_remove",
    ),
    path("sessions/<int:pk>/record/sign/", record_views.record_sign, name="record_sign"),
    path(
        "sessions/<int:pk>/record/addendum/",
        record_views.record_addendum,
        name="record_addendum",
    ),
]
