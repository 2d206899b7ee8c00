"""The safety report (adverse events per formulation version and lot) is the clinic admins'."""

from django.db import migrations

from clinic.roles import grant_permissions


def grant(apps, schema_editor):
    # Clinic admins audit harm across patients (DOMAIN.md: admins run safety reports).
    grant_permissions(apps, {"clinic admin": ["treatment_sessions.view_safety_report"]})


class Migration(migrations.Migration):
    dependencies = [
        ("treatment_sessions", "0007_adverse_event_admins_notified"),
        ("clinic", "0002_roles"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="adverseevent",
            options={
                "ordering": ["-onset_on", "-pk"],
                "permissions": [
                    ("view_safety_report", "Can see adverse events per formulation version and lot")
                ],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
