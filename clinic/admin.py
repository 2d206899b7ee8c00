from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Clinic, OpeningHours, Room, StaffProfile, WorkingHours
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
