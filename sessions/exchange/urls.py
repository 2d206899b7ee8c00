"""Staff URLs of the exchange: FHIR endpoints (namespace `exchange`)."""

from django.urls import path

from . import fhir_views

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
]
