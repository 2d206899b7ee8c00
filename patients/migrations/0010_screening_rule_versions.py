"""Screening rules get versions: a change makes the next version, the old one stays for the
screenings evaluated against it. On PostgreSQL a trigger refuses any UPDATE or DELETE of a rule
version, and an INSERT that would weaken an absolute rule (demote it, switch it off, or change
what makes it fire): the last guard after rules.py, the model and the queryset."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


CREATE = r"""
CREATE OR REPLACE FUNCTION patients_screening_rule_guard() RETURNS trigger AS $$
DECLARE
    previous patients_screeningrule%ROWTYPE;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NEW;  -- rewriting a row as it is (a fixture reload) changes nothing
    END IF;
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'Screening rule % version % is never edited or deleted: make a new version',
            OLD.code, OLD.version USING ERRCODE = 'restrict_violation';
    END IF;
    SELECT * INTO previous FROM patients_screeningrule
        WHERE code = NEW.code ORDER BY version DESC LIMIT 1;
    IF FOUND THEN
        IF NEW.version <= previous.version THEN
            RAISE EXCEPTION 'A new version of screening rule % must follow version %',
                NEW.code, previous.version USING ERRCODE = 'restrict_violation';
        END IF;
        IF previous.outcome = 'absolute' AND (
               NEW.outcome <> 'absolute'
               OR NOT NEW.is_active
               OR NEW.question_key IS DISTINCT FROM previous.question_key
               OR NEW.trigger IS DISTINCT FROM previous.trigger
               OR NEW.trigger_value IS DISTINCT FROM previous.trigger_value
               OR NEW.applies_to_sex IS DISTINCT FROM previous.applies_to_sex
               OR (previous.in_recheck AND NOT NEW.in_recheck)) THEN
            RAISE EXCEPTION 'Screening rule % is absolute: it can never be weakened', NEW.code
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER patients_screening_rule_version_guard
    BEFORE INSERT OR UPDATE OR DELETE ON patients_screeningrule
    FOR EACH ROW EXECUTE FUNCTION patients_screening_rule_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS patients_screening_rule_version_guard ON patients_screeningrule;
DROP FUNCTION IF EXISTS patients_screening_rule_guard();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0009_patient_search_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="screeningrule",
            options={"ordering": ["position", "code", "version"]},
        ),
        migrations.AddField(
            model_name="historicalscreeningrule",
            name="change_reason",
            field=models.TextField(
                blank=True, help_text="Why this version was made (required for every change)."
            ),
        ),
        migrations.AddField(
            model_name="historicalscreeningrule",
            name="changed_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="historicalscreeningrule",
            name="replaces",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="patients.screeningrule",
            ),
        ),
        migrations.AddField(
            model_name="historicalscreeningrule",
            name="version",
            field=models.PositiveSmallIntegerField(default=1, editable=False),
        ),
        migrations.AddField(
            model_name="screeningrule",
            name="change_reason",
            field=models.TextField(
                blank=True, help_text="Why this version was made (required for every change)."
            ),
        ),
        migrations.AddField(
            model_name="screeningrule",
            name="changed_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="screeningrule",
            name="replaces",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="patients.screeningrule",
            ),
        ),
        migrations.AddField(
            model_name="screeningrule",
            name="version",
            field=models.PositiveSmallIntegerField(default=1, editable=False),
        ),
        migrations.AlterField(
            model_name="screeningrule",
            name="code",
            field=models.SlugField(max_length=40),
        ),
        migrations.AddConstraint(
            model_name="screeningrule",
            constraint=models.UniqueConstraint(
                fields=("code", "version"),
                name="screening_rule_version_unique",
                violation_error_message="This rule already has a version with that number.",
            ),
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
