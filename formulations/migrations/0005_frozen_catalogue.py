"""Lot corrections, and on PostgreSQL the triggers that keep the catalogue a signed record reads
from changing under it: a published or retired version and its lines never change (not only a
used one), an ingredient listed by such a version keeps its name, category and prescription flag,
a lot a record names keeps its number, version, supplier and expiry, and a lot correction is
never edited. The last guard after the model and queryset, for writes that skip Django."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


CREATE_TRIGGERS = r"""
CREATE OR REPLACE FUNCTION formulations_version_frozen(version_id bigint) RETURNS boolean AS $$
    SELECT EXISTS (
        SELECT 1 FROM formulations_formulationversion WHERE id = version_id AND status <> 'draft'
    ) OR EXISTS (
        SELECT 1 FROM treatment_sessions_sessionrecord WHERE formulation_version_id = version_id
    );
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION formulations_refuse_used_version_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'draft' AND NOT EXISTS (
        SELECT 1 FROM treatment_sessions_sessionrecord WHERE formulation_version_id = OLD.id
    ) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Formulation version % is published or was used in a session and cannot be deleted', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    -- Publishing and retiring are the only changes a frozen version takes.
    IF NEW.formulation_id IS DISTINCT FROM OLD.formulation_id
       OR NEW.number IS DISTINCT FROM OLD.number
       OR NEW.unit_volume_ml IS DISTINCT FROM OLD.unit_volume_ml
       OR NEW.vehicle IS DISTINCT FROM OLD.vehicle
       OR NEW.instructions IS DISTINCT FROM OLD.instructions
       OR NEW.change_note IS DISTINCT FROM OLD.change_note
       OR NEW.based_on_id IS DISTINCT FROM OLD.based_on_id
       OR (OLD.status <> 'draft' AND (NEW.published_at IS DISTINCT FROM OLD.published_at
                                      OR NEW.published_by_id IS DISTINCT FROM OLD.published_by_id))
       OR (NEW.retired_at IS DISTINCT FROM OLD.retired_at
           AND NOT (OLD.status = 'published' AND NEW.status = 'retired'))
       OR (OLD.status <> 'draft' AND NEW.status = 'draft')
       OR (OLD.status = 'retired' AND NEW.status <> 'retired') THEN
        RAISE EXCEPTION 'Formulation version % is published or was used in a session and cannot be changed', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION formulations_refuse_used_line_change() RETURNS trigger AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND formulations_version_frozen(OLD.version_id))
       OR (TG_OP <> 'DELETE' AND formulations_version_frozen(NEW.version_id)) THEN
        RAISE EXCEPTION 'The ingredient lines of a published version or one used in a session cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION formulations_refuse_used_ingredient_change() RETURNS trigger AS $$
BEGIN
    IF (NEW.name IS DISTINCT FROM OLD.name
        OR NEW.category IS DISTINCT FROM OLD.category
        OR NEW.is_prescription_drug IS DISTINCT FROM OLD.is_prescription_drug)
       AND EXISTS (
           SELECT 1 FROM formulations_ingredientline line
           WHERE line.ingredient_id = OLD.id AND formulations_version_frozen(line.version_id)
       ) THEN
        RAISE EXCEPTION 'Ingredient % is listed by a published or used version: add a new one',
            OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER formulations_ingredient_used_guard
    BEFORE UPDATE ON formulations_ingredient
    FOR EACH ROW EXECUTE FUNCTION formulations_refuse_used_ingredient_change();

CREATE OR REPLACE FUNCTION formulations_refuse_named_lot_change() RETURNS trigger AS $$
BEGIN
    IF (NEW.lot_number IS DISTINCT FROM OLD.lot_number
        OR NEW.version_id IS DISTINCT FROM OLD.version_id
        OR NEW.supplier IS DISTINCT FROM OLD.supplier
        OR NEW.expires_on IS DISTINCT FROM OLD.expires_on)
       AND (EXISTS (SELECT 1 FROM treatment_sessions_recordlot WHERE lot_id = OLD.id)
            OR EXISTS (SELECT 1 FROM treatment_sessions_adverseevent WHERE lot_id = OLD.id)) THEN
        RAISE EXCEPTION 'Lot % is named on a record: record a lot correction instead', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER formulations_lot_named_guard
    BEFORE UPDATE ON formulations_lot
    FOR EACH ROW EXECUTE FUNCTION formulations_refuse_named_lot_change();

CREATE OR REPLACE FUNCTION formulations_refuse_lot_correction_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Lot correction % is part of the record and cannot change', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER formulations_lot_correction_guard
    BEFORE UPDATE OR DELETE ON formulations_lotcorrection
    FOR EACH ROW EXECUTE FUNCTION formulations_refuse_lot_correction_change();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS formulations_lot_correction_guard ON formulations_lotcorrection;
DROP FUNCTION IF EXISTS formulations_refuse_lot_correction_change();
DROP TRIGGER IF EXISTS formulations_lot_named_guard ON formulations_lot;
DROP FUNCTION IF EXISTS formulations_refuse_named_lot_change();
DROP TRIGGER IF EXISTS formulations_ingredient_used_guard ON formulations_ingredient;
DROP FUNCTION IF EXISTS formulations_refuse_used_ingredient_change();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGERS, params=None)


def drop_triggers(apps, schema_editor):
    # The version and line functions are left as replaced: migration 0004 drops them.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGERS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("formulations", "0004_roles_and_used_version_trigger"),
        ("treatment_sessions", "0005_records_adverse_events_reminders"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalLotCorrection",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "field",
                    models.CharField(
                        choices=[
                            ("lot_number", "Lot number"),
                            ("supplier", "Supplier"),
                            ("expires_on", "Expiry date"),
                        ],
                        max_length=12,
                    ),
                ),
                ("old_value", models.CharField(max_length=200)),
                ("new_value", models.CharField(max_length=200)),
                ("reason", models.TextField()),
                ("corrected_at", models.DateTimeField()),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "corrected_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "lot",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="formulations.lot",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical lot correction",
                "verbose_name_plural": "historical lot corrections",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="LotCorrection",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "field",
                    models.CharField(
                        choices=[
                            ("lot_number", "Lot number"),
                            ("supplier", "Supplier"),
                            ("expires_on", "Expiry date"),
                        ],
                        max_length=12,
                    ),
                ),
                ("old_value", models.CharField(max_length=200)),
                ("new_value", models.CharField(max_length=200)),
                ("reason", models.TextField()),
                ("corrected_at", models.DateTimeField()),
                (
                    "corrected_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "lot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="corrections",
                        to="formulations.lot",
                    ),
                ),
            ],
            options={
                "ordering": ["corrected_at", "pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True),
                        name="lot_correction_has_reason",
                        violation_error_message="Say why the lot is corrected.",
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
