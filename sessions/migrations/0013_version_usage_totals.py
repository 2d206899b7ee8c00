"""The usage report's running totals per formulation version (sessions/models/usage.py), counted
from the records already signed."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, Max, Min


def count_signed_records(apps, schema_editor):
    SessionRecord = apps.get_model("treatment_sessions", "SessionRecord")
    VersionUsage = apps.get_model("treatment_sessions", "VersionUsage")
    VersionPatient = apps.get_model("treatment_sessions", "VersionPatient")
    signed = SessionRecord.objects.filter(signed_at__isnull=False)
    pairs = signed.values_list("formulation_version", "session__patient").distinct().order_by()
    VersionPatient.objects.bulk_create(
        (VersionPatient(version_id=v, patient_id=p) for v, p in pairs.iterator()), batch_size=2000
    )
    rows = (
        signed.values("formulation_version")
        .annotate(
            sessions=Count("pk"),
            patients=Count("session__patient", distinct=True),
            first_use=Min("session__starts_at"),
            last_use=Max("session__starts_at"),
        )
        .order_by()
    )
    VersionUsage.objects.bulk_create(
        VersionUsage(
            version_id=r["formulation_version"],
            sessions=r["sessions"],
            patients=r["patients"],
            first_use=r["first_use"],
            last_use=r["last_use"],
        )
        for r in rows
    )


class Migration(migrations.Migration):
    dependencies = [
        ("formulations", "0005_frozen_catalogue"),
        ("patients", "0013_photo_protocol"),
        ("treatment_sessions", "0012_outcomes_harms_research"),
    ]

    operations = [
        migrations.CreateModel(
            name="VersionUsage",
            fields=[
                (
                    "version",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="usage",
                        serialize=False,
                        to="formulations.formulationversion",
                    ),
                ),
                ("sessions", models.PositiveIntegerField(default=0)),
                ("patients", models.PositiveIntegerField(default=0)),
                ("first_use", models.DateTimeField(blank=True, null=True)),
                ("last_use", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="VersionPatient",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="patients.patient",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="formulations.formulationversion",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("version", "patient"), name="version_patient_once"
                    )
                ],
            },
        ),
        migrations.RunPython(count_signed_records, migrations.RunPython.noop),
    ]
