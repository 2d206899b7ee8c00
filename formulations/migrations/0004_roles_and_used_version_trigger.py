"""Role permissions for formulations, and on PostgreSQL a trigger that refuses any change to a
version a session used (or to its lines): the last guard after versioning.py, the model and the
queryset, for writes that skip Django altogether (psql, a bulk script)."""

from django.db import migrations

from clinic.roles import grant_permissions

MODELS = ("ingredient", "formulation", "formulationversion", "ingredientline", "lot")
READ = [f"formulations.view_{model}" for model in MODELS]
MANAGE = [
    f"formulations.{action}_{model}"
    for model in MODELS
    for action in ("add", "change", "delete", "view")
]
ADMIN_ONLY = [
    "formulations.compare_formulationversion",
    "formulations.view_usage_report",
    "formulations.view_formulation_history",
    "formulations.recall_lot",
]
SHEET = "formulations.view_ingredient_sheet"


def grant(apps, schema_editor):
    grant_permissions(
        apps,
        {
            "reception": [SHEET],
            "clinician": [*READ, SHEET],
            "clinic admin": [*MANAGE, *ADMIN_ONLY, SHEET],
        },
    )


CREATE_TRIGGERS = r"""
CREATE OR REPLACE FUNCTION formulations_refuse_used_version_change() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM treatment_sessions_sessionrecord WHERE formulation_version_id = OLD.id
    ) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Formulation version % was used in a session and cannot be deleted', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    -- Retiring is the one change a used version may take: it stops new use, not the record.
    IF NEW.formulation_id IS DISTINCT FROM OLD.formulation_id
       OR NEW.number IS DISTINCT FROM OLD.number
       OR NEW.unit_volume_ml IS DISTINCT FROM OLD.unit_volume_ml
       OR NEW.vehicle IS DISTINCT FROM OLD.vehicle
       OR NEW.instructions IS DISTINCT FROM OLD.instructions
       OR NEW.change_note IS DISTINCT FROM OLD.change_note
       OR NEW.based_on_id IS DISTINCT FROM OLD.based_on_id
       OR NEW.published_at IS DISTINCT FROM OLD.published_at
       OR NEW.published_by_id IS DISTINCT FROM OLD.published_by_id
       OR NEW.status = 'draft'
       OR (OLD.status = 'retired' AND NEW.status <> 'retired') THEN
        RAISE EXCEPTION 'Formulation version % was used in a session and cannot be changed', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER formulations_version_used_guard
    BEFORE UPDATE OR DELETE ON formulations_formulationversion
    FOR EACH ROW EXECUTE FUNCTION formulations_refuse_used_version_change();

CREATE OR REPLACE FUNCTION formulations_refuse_used_line_change() RETURNS trigger AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND EXISTS (
            SELECT 1 FROM treatment_sessions_sessionrecord
            WHERE formulation_version_id = OLD.version_id))
       OR (TG_OP <> 'DELETE' AND EXISTS (
            SELECT 1 FROM treatment_sessions_sessionrecord
            WHERE formulation_version_id = NEW.version_id)) THEN
        RAISE EXCEPTION 'The ingredient lines of a version used in a session cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER formulations_line_used_guard
    BEFORE INSERT OR UPDATE OR DELETE ON formulations_ingredientline
    FOR EACH ROW EXECUTE FUNCTION formulations_refuse_used_line_change();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS formulations_line_used_guard ON formulations_ingredientline;
DROP FUNCTION IF EXISTS formulations_refuse_used_line_change();
DROP TRIGGER IF EXISTS formulations_version_used_guard ON formulations_formulationversion;
DROP FUNCTION IF EXISTS formulations_refuse_used_version_change();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGERS, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGERS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("formulations", "0003_immutability_and_permissions"),
        ("treatment_sessions", "0001_initial"),
        ("clinic", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
