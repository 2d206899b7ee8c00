"""PostgreSQL's no-overlap guard, the default plan templates and what each role may do here."""

from django.db import migrations

from clinic.roles import grant_permissions

# Cancelled sessions and no-shows free their slot; every other status holds it.
HOLDS_SLOT = "status NOT IN ('cancelled_patient', 'cancelled_clinic', 'no_show')"
GUARDED = [
    ("session_no_clinician_overlap", "clinician_id"),
    ("session_no_room_overlap", "room_id"),
    ("session_no_patient_overlap", "patient_id"),
]


def add_overlap_guards(apps, schema_editor):
    # SQLite has no exclusion constraints: there scheduling.py checks inside the IMMEDIATE
    # transaction, which already holds the database's write lock.
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column in GUARDED:
        schema_editor.execute(
            f"ALTER TABLE treatment_sessions_treatmentsession ADD CONSTRAINT {name} "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            f"WHERE ({HOLDS_SLOT})"
        )


def remove_overlap_guards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in GUARDED:
        schema_editor.execute(
            f"ALTER TABLE treatment_sessions_treatmentsession DROP CONSTRAINT IF EXISTS {name}"
        )


# DOMAIN.md, severity drives the default plan: mild/moderate 4–6 sessions, severe 8–10 then
# maintenance, preventive 3–4 a year. All practice defaults, editable by the clinic.
TEMPLATES = [
    {
        "kind": "mild_moderate",
        "name": "Mild / moderate",
        "number_of_sessions": 6,
        "interval_days": 14,
        "then_maintenance": True,
        "description": "Six sessions two weeks apart, then maintenance (practice default).",
    },
    {
        "kind": "severe",
        "name": "Severe",
        "number_of_sessions": 10,
        "interval_days": 14,
        "then_maintenance": True,
        "description": "Ten sessions 7–14 days apart, then maintenance (practice default).",
    },
    {
        "kind": "preventive",
        "name": "Preventive",
        "number_of_sessions": 4,
        "interval_days": 91,
        "sessions_per_year": 4,
        "description": "Four sessions a year, about every three months (practice default).",
    },
    {
        "kind": "custom",
        "name": "Custom",
        "number_of_sessions": 6,
        "interval_days": 14,
        "description": "The clinician sets every number.",
    },
]


def load_templates(apps, schema_editor):
    PlanTemplate = apps.get_model("treatment_sessions", "PlanTemplate")
    for row in TEMPLATES:
        PlanTemplate.objects.get_or_create(kind=row["kind"], defaults=row)


def perms(*names):
    return [f"treatment_sessions.{n}" for n in names]


SEE_SCHEDULE = perms("view_treatmentsession", "view_treatmentplan", "view_plantemplate")
WORK_SCHEDULE = perms("add_treatmentsession", "change_treatmentsession")
MAINTENANCE = perms("view_contactattempt", "add_contactattempt")
PLANS = perms("add_treatmentplan", "change_treatmentplan")


def grant(apps, schema_editor):
    grant_permissions(
        apps,
        {
            "reception": SEE_SCHEDULE + WORK_SCHEDULE + MAINTENANCE,
            "clinician": SEE_SCHEDULE
            + WORK_SCHEDULE
            + PLANS
            + perms("override_interval", "view_contactattempt"),
            "clinic admin": SEE_SCHEDULE
            + WORK_SCHEDULE
            + PLANS
            + MAINTENANCE
            + perms("override_interval", "add_plantemplate", "change_plantemplate"),
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("treatment_sessions", "0002_plans_and_course_sessions"),
        ("clinic", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(add_overlap_guards, remove_overlap_guards),
        migrations.RunPython(load_templates, migrations.RunPython.noop),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
