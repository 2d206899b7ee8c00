"""The main navigation and the Reports menu: a link appears only for users whose role may open
its page."""

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    # One permission, or a tuple of which any one will do (the Reports menu).
    permission: str | tuple[str, ...]
    summary: str = ""

    def allowed(self, user) -> bool:
        if isinstance(self.permission, tuple):
            return any(user.has_perm(p) for p in self.permission)
        return user.has_perm(self.permission)


# Every report page, in the order the Reports menu lists them.
REPORTS: list[NavItem] = [
    NavItem(
        "Outcome report",
        "treatment_sessions:outcome_report",
        "treatment_sessions.view_outcome_report",
        "Change from baseline per formulation version at the clinic's time points.",
    ),
    NavItem(
        "Compare versions",
        "treatment_sessions:outcome_compare",
        "treatment_sessions.view_outcome_report",
        "Two or more versions or formulations side by side, with a chart.",
    ),
    NavItem(
        "Harms table",
        "treatment_sessions:harms",
        "treatment_sessions.view_safety_report",
        "CONSORT Harms 2022: events by type and grade per version, per patient and per session.",
    ),
    NavItem(
        "Safety report",
        "treatment_sessions:safety_report",
        "treatment_sessions.view_safety_report",
        "Versions ranked by adverse events per session, and the lots the events name.",
    ),
    NavItem(
        "Formulation usage",
        "formulations:usage",
        "formulations.view_usage_report",
        "How often each version was used, and by how many patients.",
    ),
    NavItem(
        "FHIR export",
        "exchange:export",
        "clinic.run_fhir_export",
        "The whole clinic as FHIR R4 bulk data (NDJSON), for another system.",
    ),
    NavItem(
        "Research export",
        "treatment_sessions:research_exports",
        "treatment_sessions.export_research_data",
        "De-identified CSV files for a researcher, with a data dictionary.",
    ),
]

# Order and labels are a contract point (DESIGN.md): Patients, Calendar, Formulations, Reminders,
# Reports. Each app adds its entry when its page exists; clinic settings live in the Django admin.
NAVIGATION: list[NavItem] = [
    NavItem("Patients", "patients:list", "patients.view_patient"),
    NavItem("Calendar", "treatment_sessions:calendar", "treatment_sessions.view_treatmentsession"),
    NavItem("Formulations", "formulations:list", "formulations.view_formulation"),
    NavItem("Reminders", "treatment_sessions:reminders", "treatment_sessions.view_reminder"),
    NavItem(
        "Reports",
        "treatment_sessions:reports",
        tuple(sorted({report.permission for report in REPORTS})),
    ),
    NavItem("Clinic settings", "admin:index", "clinic.change_clinic"),
]


def navigation_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    return [
        {"label": item.label, "url": reverse(item.url_name)}
        for item in NAVIGATION
        if item.allowed(user)
    ]


def reports_for(user) -> list[dict]:
    """The report pages `user` may open: the Reports page and each report's tabs list them."""
    if not user.is_authenticated:
        return []
    return [
        {"label": r.label, "url_name": r.url_name, "url": reverse(r.url_name), "summary": r.summary}
        for r in REPORTS
        if r.allowed(user)
    ]
