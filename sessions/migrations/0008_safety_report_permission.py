"""The safety report (adverse events per formulation version and lot) and the acknowledgement of
serious adverse events are the clinic admins'."""

from django.db import migrations

from clinic.roles import grant_permissions


def grant(apps, schema_editor):
    # Clinic admins audit harm across patients (DOMAIN.md: admins run safety reports).
    # Acknowledging a serious event is theirs too: clinicians record events, admins review them.
    grant_permissions(
        apps,
        {
            "clinic admin": [
                "treatment_sessions.view_safety_report",
                "treatment_sessions.acknowledge_adverseevent",
            ]
        },
    )


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
                    (
                        "view_safety_report",
                        "Can see adverse events per formulation version and lot",
                    ),
                    ("acknowledge_adverseevent", "Can acknowledge a serious adverse event"),
                ],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
