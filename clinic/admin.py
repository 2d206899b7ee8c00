from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from .accounts import account_unlock
from .models import Clinic, OpeningHours, Room, SecurityEvent, StaffProfile, WorkingHours
from .staff import staff_assign_role


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class RoomInline(admin.TabularInline):
    model = Room
    extra = 0


@admin.register(Clinic)
class ClinicAdmin(SimpleHistoryAdmin):
    list_display = ["name", "time_zone", "currency", "phone"]
    inlines = [OpeningHoursInline, RoomInline]
    fieldsets = [
        (None, {"fields": ["name", "time_zone", "currency", "phone", "email", "address"]}),
        (
            "Practice defaults",
            {
                "fields": [
                    "screening_valid_days",
                    "course_min_interval_days",
                    "course_max_interval_days",
                    "maintenance_after_months",
                    "recall_lapse_months",
                    "session_minutes",
                    "aftercare_template",
                ]
            },
        ),
        (
            "Reminders",
            {
                "fields": [
                    "reminder_hours_before",
                    "patient_cancel_cutoff_hours",
                    "reminder_lease_minutes",
                    "reminder_max_attempts",
                ]
            },
        ),
        ("Records and data rights", {"fields": ["retention_years", "patient_copy_link_days"]}),
        ("Staff accounts", {"fields": ["idle_timeout_minutes"]}),
        (
            "Online booking and waitlist",
            {
                "fields": [
                    "online_booking_kinds",
                    "online_booking_days_ahead",
                    "online_booking_min_notice_hours",
                    "online_booking_needs_approval",
                    "waitlist_offer_hours",
                    "waitlist_min_notice_minutes",
                    "remote_consent_allowed",
                ]
            },
        ),
        (
            "Outcome reports",
            {
                "fields": [
                    "outcome_early_week",
                    "outcome_late_week",
                    "outcome_window_weeks",
                    "responder_threshold_percent",
                    "report_min_group",
                ]
            },
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        # Rooms, staff and (later) every clinical record hang off the clinic.
        return False


@admin.register(Room)
class RoomAdmin(SimpleHistoryAdmin):
    list_display = ["name", "clinic", "is_active"]
    list_filter = ["is_active"]


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


@admin.register(StaffProfile)
class StaffProfileAdmin(SimpleHistoryAdmin):
    list_display = ["display_name", "role", "registration_number", "user"]
    list_filter = ["role"]
    search_fields = ["display_name", "registration_number", "user__username"]
    inlines = [WorkingHoursInline]

    def save_model(self, request, obj, form, change):
        staff_assign_role(profile=obj, role=obj.role)


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """The sign-in audit log: read-only, nothing in it is ever changed or deleted."""

    list_display = ["at", "kind", "username", "ip_address", "by"]
    list_filter = ["kind", "at"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockoutAdmin(AccessAttemptAdmin):
    """Axes' failed-attempt counters; "Unlock" ends a lockout before its cool-off and says so in
    the sign-in log (a plain delete would not)."""

    actions = ["unlock"]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_unlock_permission(self, request):
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.action(description="Unlock the selected usernames and addresses", permissions=["unlock"])
    def unlock(self, request, queryset):
        ended = 0
        for username, ip_address in queryset.values_list("username", "ip_address").distinct():
            ended += account_unlock(username=username or "", ip_address=ip_address, by=request.user)
        self.message_user(request, f"Unlocked: {ended} lockout record(s) ended.", messages.SUCCESS)
