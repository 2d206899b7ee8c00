"""Patient search that stays fast as the clinic grows: on PostgreSQL, trigram (pg_trgm) GIN
indexes serve the name and phone searches of patients/search.py (LIKE '%smi%' and
LIKE '%900123' cannot use a b-tree). SQLite, the embedded default, scans: a clinic's patients
fit in memory there."""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS patient_given_name_trgm ON patients_patient "
    "USING gin (UPPER(given_name::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS patient_family_name_trgm ON patients_patient "
    "USING gin (UPPER(family_name::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS patient_mobile_trgm ON patients_patient "
    "USING gin ((mobile::text) gin_trgm_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS patient_mobile_trgm",
    "DROP INDEX IF EXISTS patient_family_name_trgm",
    "DROP INDEX IF EXISTS patient_given_name_trgm",
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("patients", "0008_data_rights")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
