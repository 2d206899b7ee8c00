"""Clinic admins add consent text versions and read the screening rules in the Django admin.
A consent text that may have been signed is never edited: a change is a new version."""

from django.contrib import admin

from .models import ConsentText, ScreeningRule


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "version", "created_at"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScreeningRule)
class ScreeningRuleAdmin(admin.ModelAdmin):
    list_display = ["code", "outcome", "trigger", "trigger_value", "applies_to_sex", "is_active"]
    list_filter = ["outcome", "trigger"]
    readonly_fields = ["code", "outcome", "trigger", "trigger_value"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
