"""Maintenance due-ness is stored, not recomputed from history (booking/maintenance.py): each
completed course gets its due date from the patient's last signed visit (the course's last
session or a maintenance visit since) and the day of its next prompt."""

import calendar
import zoneinfo
from datetime import date

from django.db import migrations, models


def _add_months(day: date, months: int) -> date:
    # As booking/maintenance.add_months at the time of this migration.
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def fill_due_dates(apps, schema_editor):
    Clinic = apps.get_model("clinic", "Clinic")
    TreatmentPlan = apps.get_model("treatment_sessions", "TreatmentPlan")
    TreatmentSession = apps.get_model("treatment_sessions", "TreatmentSession")
    clinic = Clinic.objects.order_by("pk").first()
    months = clinic.maintenance_after_months if clinic else 4
    zone = zoneinfo.ZoneInfo(clinic.time_zone if clinic else "Europe/London")
    for plan in TreatmentPlan.objects.filter(status="completed").iterator():
        last = (
            TreatmentSession.objects.filter(patient_id=plan.patient_id, status="completed")
            .order_by("-starts_at")
            .values_list("starts_at", flat=True)
            .first()
        )
        due_on = plan.maintenance_due_on
        if last is not None:
            from_visit = _add_months(last.astimezone(zone).date(), months)
            due_on = max(due_on, from_visit) if due_on else from_visit
        if due_on is not None:
            TreatmentPlan.objects.filter(pk=plan.pk).update(
                maintenance_due_on=due_on, maintenance_prompt_on=due_on
            )


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0005_reminder_and_aftercare_settings"),
        ("treatment_sessions", "0008_safety_report_permission"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicaltreatmentplan",
            name="maintenance_prompt_on",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="treatmentplan",
            name="maintenance_prompt_on",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="treatmentplan",
            index=models.Index(
                condition=models.Q(("status", "completed")),
                fields=["maintenance_due_on"],
                name="plan_maintenance_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="treatmentplan",
            index=models.Index(
                condition=models.Q(("status", "completed")),
                fields=["maintenance_prompt_on"],
                name="plan_maintenance_prompt_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="treatmentsession",
            index=models.Index(
                condition=models.Q(("status__in", ["scheduled", "confirmed", "checked_in"])),
                fields=["patient", "starts_at"],
                name="session_coming_idx",
            ),
        ),
        migrations.RunPython(fill_due_dates, migrations.RunPython.noop),
    ]
