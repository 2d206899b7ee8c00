"""What each role may do with session records, adverse events and reminders, and on PostgreSQL a
trigger that refuses any change to a signed record or its rows: the last guard after records.py,
the model and the queryset, for writes that skip Django altogether (psql, a bulk script)."""

from django.db import migrations

from clinic.roles import grant_permissions


def perms(*names):
    return [f"treatment_sessions.{n}" for n in names]


def crud(*models, actions=("add", "change", "view")):
    return [f"treatment_sessions.{a}_{m}" for m in models for a in actions]


RECORDS = crud("sessionrecord", "injection", "recordlot", "recordaddendum", "adverseevent")
READ_RECORDS = crud(
    "sessionrecord", "injection", "recordlot", "recordaddendum", "adverseevent", actions=("view",)
)
REMINDERS = perms("view_reminder", "retry_reminder")


def grant(apps, schema_editor):
    grant_permissions(
        apps,
        {
            "reception": REMINDERS,
            "clinician": RECORDS + perms("sign_sessionrecord"),
            # Admins audit records and acknowledge serious adverse events; they do not treat.
            "clinic admin": READ_RECORDS + perms("change_adverseevent") + REMINDERS,
        },
    )


CREATE_TRIGGERS = r"""
CREATE OR REPLACE FUNCTION treatment_sessions_refuse_signed_record_change() RETURNS trigger AS $$
BEGIN
    IF OLD.signed_at IS NOT NULL THEN
        RAISE EXCEPTION 'Session record % is signed and cannot be changed or deleted', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER treatment_sessions_record_signed_guard
    BEFORE UPDATE OR DELETE ON treatment_sessions_sessionrecord
    FOR EACH ROW EXECUTE FUNCTION treatment_sessions_refuse_signed_record_change();

CREATE OR REPLACE FUNCTION treatment_sessions_refuse_signed_part_change() RETURNS trigger AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND EXISTS (
            SELECT 1 FROM treatment_sessions_sessionrecord
            WHERE id = OLD.record_id AND signed_at IS NOT NULL))
       OR (TG_OP <> 'DELETE' AND EXISTS (
            SELECT 1 FROM treatment_sessions_sessionrecord
            WHERE id = NEW.record_id AND signed_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'The rows of a signed session record cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER treatment_sessions_injection_signed_guard
    BEFORE INSERT OR UPDATE OR DELETE ON treatment_sessions_injection
    FOR EACH ROW EXECUTE FUNCTION treatment_sessions_refuse_signed_part_change();

CREATE TRIGGER treatment_sessions_recordlot_signed_guard
    BEFORE INSERT OR UPDATE OR DELETE ON treatment_sessions_recordlot
    FOR EACH ROW EXECUTE FUNCTION treatment_sessions_refuse_signed_part_change();

CREATE OR REPLACE FUNCTION treatment_sessions_refuse_addendum_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'A signed addendum cannot be changed or deleted'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER treatment_sessions_addendum_guard
    BEFORE UPDATE OR DELETE ON treatment_sessions_recordaddendum
    FOR EACH ROW EXECUTE FUNCTION treatment_sessions_refuse_addendum_change();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS treatment_sessions_addendum_guard ON treatment_sessions_recordaddendum;
DROP FUNCTION IF EXISTS treatment_sessions_refuse_addendum_change();
DROP TRIGGER IF EXISTS treatment_sessions_recordlot_signed_guard ON treatment_sessions_recordlot;
DROP TRIGGER IF EXISTS treatment_sessions_injection_signed_guard ON treatment_sessions_injection;
DROP FUNCTION IF EXISTS treatment_sessions_refuse_signed_part_change();
DROP TRIGGER IF EXISTS treatment_sessions_record_signed_guard ON treatment_sessions_sessionrecord;
DROP FUNCTION IF EXISTS treatment_sessions_refuse_signed_record_change();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGERS, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGERS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("treatment_sessions", "0005_records_adverse_events_reminders"),
        ("clinic", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
