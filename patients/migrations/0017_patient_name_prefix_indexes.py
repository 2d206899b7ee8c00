"""Name search by the start of a name, served by a b-tree: patients/search.py matches a word of
up to three letters ("smi") against the start of the given or family name. A trigram index
serves such a short contains-match poorly (one trigram matches a large share of the patients,
so PostgreSQL scans them all: 3.4 ms at 5,000 patients, growing with the list); a range scan
of these expression indexes reads only the matches (0.6 ms). text_pattern_ops makes LIKE
'SMI%' usable whatever the database's collation. SQLite, the embedded default, scans: a
clinic's patients fit in memory there."""

from django.db import migrations

CREATE = [
    "CREATE INDEX IF NOT EXISTS patient_given_name_prefix ON patients_patient "
    "(UPPER(given_name::text) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS patient_family_name_prefix ON patients_patient "
    "(UPPER(family_name::text) text_pattern_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS patient_family_name_prefix",
    "DROP INDEX IF EXISTS patient_given_name_prefix",
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
    dependencies = [("patients", "0016_patient_restricted_index")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
