from django.db import migrations

from clinic.roles import grant_permissions

CLINIC_SETTINGS = [
    f"clinic.{action}_{model}"
    for model in ("clinic", "openinghours", "room", "staffprofile", "workinghours")
    for action in ("add", "change", "view")
]
STAFF_ACCOUNTS = ["auth.add_user", "auth.change_user", "auth.view_user"]


def create_roles(apps, schema_editor):
    grant_permissions(
        apps,
        {
            "reception": ["clinic.view_clinic", "clinic.view_room", "clinic.view_staffprofile"],
            "clinician": ["clinic.view_clinic", "clinic.view_room", "clinic.view_staffprofile"],
            "clinic admin": CLINIC_SETTINGS + STAFF_ACCOUNTS,
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
