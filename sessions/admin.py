"""Django admin of the sessions app: plan templates only (records are deliberately not here)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from sessions.models import PlanTemplate


@admin.register(PlanTemplate)
class PlanTemplateAdmin(SimpleHistoryAdmin):
    """Plan templates are clinic-editable defaults (clinic admins, under Clinic settings)."""

    list_display = ["name", "number_of_sessions", "interval_days", "then_maintenance", "is_active"]
    fields = [
        "name",
        "number_of_sessions",
        "interval_days",
        "sessions_per_year",
        "then_maintenance",
        "description",
        "is_active",
    ]

    def has_delete_permission(self, request, obj=None):
        # Plans refer to their template; retire a template with "is active" instead.
        return False
