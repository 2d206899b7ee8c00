from django.urls import path

from . import views

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
    path("plans/<int:pk>/book/", views.plan_book, name="plan_book"),
    path("plans/<int:pk>/stop/", views.plan_stop_view, name="plan_stop"),
    path("plans/<int:pk>/complete/", views.plan_complete_view, name="plan_complete"),
    path("maintenance/", views.maintenance, name="maintenance"),
    path(
        "maintenance/<int:plan_id>/contact/",
        views.maintenance_contact,
        name="maintenance_contact",
    ),
]
