"""The patient's own copy through their signed link; no staff login (@login_not_required)."""

from django.urls import path

from . import copy_link_views

urlpatterns = [
    path("c/<str:token>/", copy_link_views.patient_copy_link, name="patient_copy"),
    path(
        "c/<str:token>/<str:fmt>/", copy_link_views.patient_copy_link_file, name="patient_copy_file"
    ),
]
