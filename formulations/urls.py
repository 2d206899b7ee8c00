from django.urls import path

from . import lot_views, views

app_name = "formulations"

urlpatterns = [
    path("", views.formulation_list, name="list"),
    path("new/", views.formulation_create, name="create"),
    path("ingredients/", views.ingredient_list, name="ingredients"),
    path("usage/", views.usage_report, name="usage"),
    path("versions/compare/", views.version_compare, name="compare"),
    path("<int:pk>/", views.formulation_detail, name="detail"),
    path("<int:pk>/edit/", views.formulation_edit, name="edit"),
    path("<int:pk>/history/", views.formulation_history, name="history"),
    path("<int:pk>/versions/new/", views.version_create, name="version_create"),
    path("versions/<int:pk>/edit/", views.version_edit, name="version_edit"),
    path("versions/<int:pk>/lines/add/", views.line_add, name="line_add"),
    path("versions/<int:pk>/publish/", views.version_publish, name="version_publish"),
    path("versions/<int:pk>/retire/", views.version_retire, name="version_retire"),
    path("versions/<int:pk>/new-version/", views.version_new_from, name="version_new_from"),
    path("versions/<int:pk>/delete/", views.version_delete, name="version_delete"),
    path("versions/<int:pk>/sheet/", views.ingredient_sheet, name="sheet"),
    path("versions/<int:pk>/lots/new/", views.lot_receive, name="lot_receive"),
    path("lines/<int:pk>/edit/", views.line_edit, name="line_edit"),
    path("lines/<int:pk>/remove/", views.line_remove, name="line_remove"),
    path("lots/<int:pk>/recall/", views.lot_recall, name="lot_recall"),
    path("lots/<int:pk>/corrections/new/", lot_views.lot_correction_new, name="lot_correct"),
    path("lots/<int:pk>/<slug:action>/", views.lot_hold, name="lot_hold"),
]
