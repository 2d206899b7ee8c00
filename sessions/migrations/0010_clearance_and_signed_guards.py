"""The clearance snapshot frozen with a signed record, and on PostgreSQL the triggers that hold
the safety rules for writes that skip Django (psql, a bulk script) and for concurrent writers:

- a record gets `signed_at` only with a cleared snapshot, and only if every lot it names is
  available (neither recalled nor quarantined) and in date on the session's day (an expiry
  correction counts: the earlier date wins); a snapshot never changes;
- a session with a signed record keeps its patient, time, clinician and kind, and stays
  completed;
- two active sessions of one plan are at least the clinic's shortest gap apart unless the later
  write carries a clinician's override; the trigger locks the plan row first, so two concurrent
  bookings of one plan are checked one after the other.
"""

import django.db.models.deletion
from django.db import migrations, models


CREATE_TRIGGERS = r"""
CREATE OR REPLACE FUNCTION treatment_sessions_require_clearance_to_sign() RETURNS trigger AS $$
DECLARE
    zone text := COALESCE((SELECT time_zone FROM clinic_clinic ORDER BY id LIMIT 1), 'UTC');
    day date;
BEGIN
    IF NEW.signed_at IS NULL OR (TG_OP = 'UPDATE' AND OLD.signed_at IS NOT NULL) THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM treatment_sessions_clearancesnapshot WHERE record_id = NEW.id AND cleared
    ) THEN
        RAISE EXCEPTION 'Session record % cannot be signed without a cleared clearance snapshot',
            NEW.id USING ERRCODE = 'check_violation';
    END IF;
    SELECT (starts_at AT TIME ZONE zone)::date INTO day
        FROM treatment_sessions_treatmentsession WHERE id = NEW.session_id;
    IF EXISTS (
        SELECT 1 FROM treatment_sessions_recordlot used
        JOIN formulations_lot lot ON lot.id = used.lot_id
        WHERE used.record_id = NEW.id AND (
            lot.status <> 'available'
            OR LEAST(lot.expires_on, (
                SELECT MIN(correction.new_value::date) FROM formulations_lotcorrection correction
                WHERE correction.lot_id = lot.id AND correction.field = 'expires_on'
            )) < day)
    ) THEN
        RAISE EXCEPTION 'Session record % names a lot that is recalled, quarantined or expired',
            NEW.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER treatment_sessions_record_clearance_guard
    BEFORE INSERT OR UPDATE ON treatment_sessions_sessionrecord
    FOR EACH ROW EXECUTE FUNCTION treatment_sessions_require_clearance_to_sign();

CREATE OR REPLACE FUNCTION treatment_sessions_refuse_snapshot_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM treatment_sessions_sessionrecord
                   WHERE id = NEW.record_id AND signed_at IS NOT NULL) THEN
            RAISE EXCEPTION 'Session record % is signed: its clearance is already frozen',
                NEW.record_id USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'Clearance snapshot % is frozen with its record and cannot change', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER treatment_sessions_snapshot_guard
    BEFORE INSERT OR UPDATE OR DELETE ON treatment_sessions_clearancesnapshot
    FOR EACH ROW EXECUTE FUNCTION treatment_sessions_refuse_snapshot_change();

CREATE OR REPLACE FUNCTION treatment_sessions_refuse_signed_session_change() RETURNS trigger AS $$
BEGIN
    IF (NEW.patient_id IS DISTINCT FROM OLD.patient_id
        OR NEW.starts_at IS DISTINCT FROM OLD.starts_at
        OR NEW.ends_at IS DISTINCT FROM OLD.ends_at
        OR NEW.clinician_id IS DISTINCT FROM OLD.clinician_id
        OR NEW.kind IS DISTINCT FROM OLD.kind
        OR (OLD.status = 'completed' AND NEW.status <> 'completed'))
       AND EXISTS (SELECT 1 FROM treatment_sessions_sessionrecord
                   WHERE session_id = OLD.id AND signed_at IS NOT NULL) THEN
        RAISE EXCEPTION 'Session % has a signed record: its patient, time, clinician and kind never change',
            OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER treatment_sessions_signed_session_guard
    BEFORE UPDATE ON treatment_sessions_treatmentsession
    FOR EACH ROW EXECUTE FUNCTION treatment_sessions_refuse_signed_session_change();

CREATE OR REPLACE FUNCTION treatment_sessions_course_spacing_guard() RETURNS trigger AS $$
DECLARE
    active text[] := ARRAY['scheduled', 'confirmed', 'checked_in', 'completed'];
    clinic record;
BEGIN
    IF NEW.plan_id IS NULL OR NOT (NEW.status = ANY (active))
       OR NEW.interval_override_reason <> '' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.plan_id IS NOT DISTINCT FROM OLD.plan_id
       AND NEW.starts_at IS NOT DISTINCT FROM OLD.starts_at
       AND NEW.interval_override_reason IS NOT DISTINCT FROM OLD.interval_override_reason
       AND OLD.status = ANY (active) THEN
        RETURN NEW;  -- confirming or checking in moves nothing closer
    END IF;
    -- One writer per plan at a time: a concurrent booking waits here for the first to commit,
    -- and the check below (a new snapshot under READ COMMITTED) then sees its session.
    PERFORM 1 FROM treatment_sessions_treatmentplan WHERE id = NEW.plan_id FOR UPDATE;
    SELECT time_zone, course_min_interval_days INTO clinic FROM clinic_clinic ORDER BY id LIMIT 1;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF EXISTS (
        SELECT 1 FROM treatment_sessions_treatmentsession other
        WHERE other.plan_id = NEW.plan_id AND other.id <> NEW.id
          AND other.status = ANY (active)
          AND abs((other.starts_at AT TIME ZONE clinic.time_zone)::date
                  - (NEW.starts_at AT TIME ZONE clinic.time_zone)::date)
              < clinic.course_min_interval_days
    ) THEN
        RAISE EXCEPTION 'Sessions of plan % must be at least % days apart unless a clinician overrides',
            NEW.plan_id, clinic.course_min_interval_days USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER treatment_sessions_course_spacing_guard
    BEFORE INSERT OR UPDATE ON treatment_sessions_treatmentsession
    FOR EACH ROW EXECUTE FUNCTION treatment_sessions_course_spacing_guard();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS treatment_sessions_course_spacing_guard ON treatment_sessions_treatmentsession;
DROP FUNCTION IF EXISTS treatment_sessions_course_spacing_guard();
DROP TRIGGER IF EXISTS treatment_sessions_signed_session_guard ON treatment_sessions_treatmentsession;
DROP FUNCTION IF EXISTS treatment_sessions_refuse_signed_session_change();
DROP TRIGGER IF EXISTS treatment_sessions_snapshot_guard ON treatment_sessions_clearancesnapshot;
DROP FUNCTION IF EXISTS treatment_sessions_refuse_snapshot_change();
DROP TRIGGER IF EXISTS treatment_sessions_record_clearance_guard ON treatment_sessions_sessionrecord;
DROP FUNCTION IF EXISTS treatment_sessions_require_clearance_to_sign();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGERS, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGERS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("treatment_sessions", "0009_maintenance_due_and_next_prompt"),
        ("formulations", "0005_frozen_catalogue"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClearanceSnapshot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("cleared", models.BooleanField()),
                ("taken_at", models.DateTimeField()),
                ("data", models.JSONField()),
                (
                    "record",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="clearance_snapshot",
                        to="treatment_sessions.sessionrecord",
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
