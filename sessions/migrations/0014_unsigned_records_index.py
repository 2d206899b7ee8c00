"""A partial index of the records still unsigned, for the clinician dashboard's overdue list."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0009_outcome_report_settings"),
        ("formulations", "0005_frozen_catalogue"),
        ("treatment_sessions", "0013_version_usage_totals"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="sessionrecord",
            index=models.Index(
                condition=models.Q(("signed_at__isnull", True)),
                fields=["clinician", "created_at"],
                name="record_unsigned_idx",
            ),
        ),
    ]
