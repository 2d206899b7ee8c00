"""The outcome report and the research export (issue 17): their permissions, whether an adverse
event stopped treatment (CONSORT Harms 2022), and the export and study pseudonym tables."""

import django.db.models.deletion
import sessions.models.research
from django.conf import settings
from django.db import migrations, models

from clinic.roles import grant_permissions


def grant(apps, schema_editor):
    # Clinicians and admins learn from outcomes; only admins let de-identified data leave.
    grant_permissions(
        apps,
        {
            "clinician": ["treatment_sessions.view_outcome_report"],
            "clinic admin": [
                "treatment_sessions.view_outcome_report",
                "treatment_sessions.export_research_data",
            ],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0013_photo_protocol"),
        ("treatment_sessions", "0011_online_booking_and_waitlist"),
        ("clinic", "0002_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="sessionrecord",
            options={
                "permissions": [
                    ("sign_sessionrecord", "Can sign a session record"),
                    ("view_outcome_report", "Can see outcomes per formulation version"),
                    ("export_research_data", "Can export de-identified research data"),
                ]
            },
        ),
        migrations.AddField(
            model_name="adverseevent",
            name="treatment_stopped",
            field=models.BooleanField(
                default=False,
                help_text="The patient's course was stopped (by them or the clinician) because of it.",
                verbose_name="treatment stopped because of this event",
            ),
        ),
        migrations.AddField(
            model_name="historicaladverseevent",
            name="treatment_stopped",
            field=models.BooleanField(
                default=False,
                help_text="The patient's course was stopped (by them or the clinician) because of it.",
                verbose_name="treatment stopped because of this event",
            ),
        ),
        migrations.CreateModel(
            name="ResearchExport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reason",
                    models.TextField(
                        help_text="Who the data is for and why, e.g. the study protocol."
                    ),
                ),
                ("requested_at", models.DateTimeField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Waiting for the worker"),
                            ("running", "Being built"),
                            ("ready", "Ready to download"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=10,
                    ),
                ),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("progress_percent", models.PositiveSmallIntegerField(default=0)),
                ("patient_count", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "file",
                    models.FileField(
                        blank=True, upload_to=sessions.models.research.research_export_path
                    ),
                ),
                ("error", models.CharField(blank=True, max_length=200)),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-requested_at", "-pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True),
                        name="research_export_has_reason",
                        violation_error_message="Say who the export is for and why.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("progress_percent__lte", 100)),
                        name="research_export_progress_0_100",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="StudyPseudonym",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "study_id",
                    models.CharField(
                        default=sessions.models.research.new_study_id, max_length=20, unique=True
                    ),
                ),
                (
                    "date_shift_days",
                    models.SmallIntegerField(default=sessions.models.research.new_date_shift),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "patient",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="study_pseudonym",
                        to="patients.patient",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("date_shift_days", 0), _negated=True),
                            ("date_shift_days__gte", -182),
                            ("date_shift_days__lte", 182),
                        ),
                        name="study_pseudonym_shift_nonzero_bounded",
                    )
                ],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
