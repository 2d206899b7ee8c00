"""Staff URLs of the exchange: FHIR endpoints and the data-rights pages (namespace `exchange`)."""

from django.urls import path

from . import data_rights_views, fhir_views

app_name = "exchange"

urlpatterns = [
    path(
        "fhir/Patient/<str:patient_id>/$everything",
        fhir_views.patient_everything_view,
        name="patient_everything",
    ),
    path("fhir/$export", fhir_views.export_view, name="export"),
    path("fhir/$export/jobs/<int:job_id>/", fhir_views.export_job_view, name="export_job"),
    path(
        "fhir/$export/jobs/<int:job_id>/<str:resource_type>.ndjson",
        fhir_views.export_file_view,
        name="export_file",
    ),
    path(
        "patients/<int:patient_id>/data-rights/",
        data_rights_views.data_rights,
        name="data_rights",
    ),
    path(
        "patients/<int:patient_id>/copies/",
        data_rights_views.patient_copy_new,
        name="patient_copy_new",
    ),
    path(
        "patients/<int:patient_id>/copies/<int:copy_id>/<str:fmt>/",
        data_rights_views.patient_copy_download,
        name="patient_copy_download",
    ),
    path(
        "patients/<int:patient_id>/erasure/",
        data_rights_views.erasure_request_new,
        name="erasure_request_new",
    ),
    path(
        "patients/<int:patient_id>/erasure/<int:request_id>/propose/",
        data_rights_views.anonymisation_propose_view,
        name="anonymisation_propose",
    ),
    path(
        "patients/<int:patient_id>/erasure/<int:request_id>/confirm/",
        data_rights_views.anonymisation_confirm_view,
        name="anonymisation_confirm",
    ),
]
