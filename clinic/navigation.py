"""The main navigation: a link appears only for users whose role may open its page."""

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str


# Order and labels are a contract point (DESIGN.md): Patients, Calendar, Formulations, Reminders,
# Reports. Each app adds its entry when its page exists; clinic settings live in the Django admin.
NAVIGATION: list[NavItem] = [
    NavItem("Patients", "patients:list", "patients.view_patient"),
    NavItem("Calendar", "treatment_sessions:calendar", "treatment_sessions.view_treatmentsession"),
    NavItem("Formulations", "formulations:list", "formulations.view_formulation"),
    NavItem("Reminders", "treatment_sessions:reminders", "treatment_sessions.view_reminder"),
    NavItem("Reports", "formulations:usage", "formulations.view_usage_report"),
    NavItem("Clinic settings", "admin:index", "clinic.change_clinic"),
]


def navigation_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    return [
        {"label": item.label, "url": reverse(item.url_name)}
        for item in NAVIGATION
        if user.has_perm(item.permission)
    ]
