"""The clinical photography consent text, and who may record outcomes and photos."""

from django.db import migrations

from clinic.roles import grant_permissions

PHOTOGRAPHY_CONSENT = """I agree that the clinic may take standardised photographs of my scalp \
before and during my treatment, to measure my progress.

The photographs are part of my clinical record: they are stored privately, seen only by the \
clinicians and clinic administrators who look after my care, and never published or shared \
without my separate written permission. Hidden data in the image files (such as the camera or \
location) is removed when they are stored.

I may withdraw this consent at any time; photographs already taken stay in my record."""


def load_reference_rows(apps) -> None:
    """Idempotent, so tests that flush the database can reload it."""
    ConsentText = apps.get_model("patients", "ConsentText")
    ConsentText.objects.get_or_create(
        kind="photography",
        version=1,
        defaults={"title": "Clinical photography", "body": PHOTOGRAPHY_CONSENT},
    )


OUTCOMES = [
    f"patients.{action}_{model}"
    for model in ("outcomemeasurement", "clinicalphoto")
    for action in ("add", "change", "view")
]


def load(apps, schema_editor):
    load_reference_rows(apps)
    grant_permissions(
        apps,
        {
            "clinician": OUTCOMES,
            "clinic admin": [p for p in OUTCOMES if p.split(".")[1].startswith("view_")],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0004_outcomes_photos_reminder_preferences"),
        ("clinic", "0002_roles"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
