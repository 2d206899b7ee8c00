from django.urls import path

from . import outcome_views, photo_views, views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_new, name="new"),
    path("<int:patient_id>/", views.patient_detail, name="detail"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/clinical/", views.patient_clinical, name="clinical"),
    path(
        "<int:patient_id>/reports/<int:pk>/reviewed/",
        views.patient_report_reviewed,
        name="report_reviewed",
    ),
    path("<int:patient_id>/allergies/new/", views.allergy_new, name="allergy_new"),
    path("<int:patient_id>/medications/new/", views.medication_new, name="medication_new"),
    path(
        "<int:patient_id>/medications/<int:medication_id>/stop/",
        views.medication_stop,
        name="medication_stop",
    ),
    path("<int:patient_id>/assessments/new/", views.assessment_new, name="assessment_new"),
    path("<int:patient_id>/screening/new/", views.screening_new, name="screening_new"),
    path(
        "<int:patient_id>/screening/<int:screening_id>/",
        views.screening_detail,
        name="screening",
    ),
    path(
        "<int:patient_id>/screening/<int:screening_id>/override/",
        views.screening_override,
        name="screening_override",
    ),
    path(
        "<int:patient_id>/screening/<int:screening_id>/referral-clearance/",
        views.referral_clearance,
        name="referral_clearance",
    ),
    path(
        "<int:patient_id>/screening/<int:screening_id>/recheck/",
        views.screening_recheck,
        name="screening_recheck",
    ),
    path("<int:patient_id>/consent/new/", views.consent_new, name="consent_new"),
    path("<int:patient_id>/consent/<int:consent_id>/", views.consent_detail, name="consent"),
    path(
        "<int:patient_id>/consent/<int:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
    # Before record_void: "<kind>/<id>/void/" would otherwise catch the outcome and photo voids.
    path("<int:patient_id>/outcomes/", outcome_views.outcomes_page, name="outcomes"),
    path("<int:patient_id>/outcomes/new/", outcome_views.outcome_new, name="outcome_new"),
    path(
        "<int:patient_id>/outcomes/<int:outcome_id>/void/",
        outcome_views.outcome_void,
        name="outcome_void",
    ),
    path("<int:patient_id>/photos/new/", outcome_views.photo_new, name="photo_new"),
    path(
        "<int:patient_id>/photos/checklist/",
        photo_views.photo_checklist_page,
        name="photo_checklist",
    ),
    path(
        "<int:patient_id>/photos/compare/<slug:view>/",
        photo_views.photo_compare,
        name="photo_compare",
    ),
    path(
        "<int:patient_id>/photos/<int:photo_id>/file/",
        outcome_views.photo_file,
        name="photo_file",
    ),
    path(
        "<int:patient_id>/photos/<int:photo_id>/void/",
        outcome_views.photo_void,
        name="photo_void",
    ),
    path(
        "<int:patient_id>/<slug:kind>/<int:record_id>/void/",
        views.record_void,
        name="record_void",
    ),
    path("<int:patient_id>/access-log/", views.access_log_patient, name="access_log"),
    path("access-log/users/<int:user_id>/", views.access_log_user, name="access_log_user"),
]
