"""On PostgreSQL, a trigger refuses any change to or deletion of a signed consent: the last guard
after the model and queryset, for writes that skip Django (psql, a bulk script)."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION patients_refuse_signed_consent_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Signed consent % is part of the clinical record and cannot change', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER patients_signed_consent_guard
    BEFORE UPDATE OR DELETE ON patients_consentsignature
    FOR EACH ROW EXECUTE FUNCTION patients_refuse_signed_consent_change();
"""

DROP = """
DROP TRIGGER IF EXISTS patients_signed_consent_guard ON patients_consentsignature;
DROP FUNCTION IF EXISTS patients_refuse_signed_consent_change();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("patients", "0005_photography_consent_outcome_permissions")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
