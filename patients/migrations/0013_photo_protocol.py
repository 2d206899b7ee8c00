"""The standard photo protocol (DOMAIN.md "Standard photos"), each photo's view, and who may edit
the protocol."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from clinic.roles import grant_permissions

# Practice default: vertex, frontal hairline, both temples and the midline part at every visit,
# same distance, lighting and hair preparation.
DEFAULT_PROTOCOL = [
    ("vertex", "From above, camera 30 cm over the crown, hair combed away from the whorl."),
    ("frontal_hairline", "Face on, hair pulled back, camera at eye level 40 cm away."),
    ("temple_left", "Left profile at 40 cm, hair pulled back behind the ear."),
    ("temple_right", "Right profile at 40 cm, hair pulled back behind the ear."),
    ("midline_part", "From above, a centre parting from the hairline to the vertex."),
]
VIEW_OF_ZONE = {
    "vertex": "vertex",
    "frontal_hairline": "frontal_hairline",
    "temporal_left": "temple_left",
    "temporal_right": "temple_right",
    "mid_scalp": "midline_part",
    "occipital": "occipital",
}


def load_reference_rows(apps) -> None:
    """Idempotent, so tests that flush the database can reload it."""
    PhotoProtocolView = apps.get_model("patients", "PhotoProtocolView")
    for position, (view, instructions) in enumerate(DEFAULT_PROTOCOL):
        PhotoProtocolView.objects.get_or_create(
            view=view, defaults={"instructions": instructions, "position": position}
        )


def load(apps, schema_editor):
    load_reference_rows(apps)
    # Photos stored before the protocol take the view of their zone, where a zone has one.
    ClinicalPhoto = apps.get_model("patients", "ClinicalPhoto")
    for zone, view in VIEW_OF_ZONE.items():
        ClinicalPhoto.objects.filter(zone=zone, view="").update(view=view)
    manage = [f"patients.{a}_photoprotocolview" for a in ("add", "change", "view")]
    grant_permissions(
        apps, {"clinician": ["patients.view_photoprotocolview"], "clinic admin": manage}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0012_provisional_patients_and_reports"),
        ("clinic", "0002_roles"),
        ("treatment_sessions", "0008_safety_report_permission"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalPhotoProtocolView",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "view",
                    models.CharField(
                        choices=[
                            ("vertex", "Vertex"),
                            ("frontal_hairline", "Frontal hairline"),
                            ("temple_left", "Left temple"),
                            ("temple_right", "Right temple"),
                            ("midline_part", "Midline part"),
                            ("occipital", "Occipital (reference)"),
                        ],
                        db_index=True,
                        max_length=20,
                    ),
                ),
                (
                    "required",
                    models.BooleanField(default=True, help_text="Shown as missing when not taken."),
                ),
                (
                    "instructions",
                    models.CharField(
                        blank=True,
                        help_text="Distance, lighting, hair preparation.",
                        max_length=300,
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
            ],
            options={
                "verbose_name": "historical photo protocol view",
                "verbose_name_plural": "historical photo protocol views",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="PhotoProtocolView",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "view",
                    models.CharField(
                        choices=[
                            ("vertex", "Vertex"),
                            ("frontal_hairline", "Frontal hairline"),
                            ("temple_left", "Left temple"),
                            ("temple_right", "Right temple"),
                            ("midline_part", "Midline part"),
                            ("occipital", "Occipital (reference)"),
                        ],
                        max_length=20,
                        unique=True,
                    ),
                ),
                (
                    "required",
                    models.BooleanField(default=True, help_text="Shown as missing when not taken."),
                ),
                (
                    "instructions",
                    models.CharField(
                        blank=True,
                        help_text="Distance, lighting, hair preparation.",
                        max_length=300,
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0)),
            ],
            options={
                "verbose_name": "photo protocol view",
                "ordering": ["position", "view"],
            },
        ),
        migrations.AddField(
            model_name="clinicalphoto",
            name="view",
            field=models.CharField(
                blank=True,
                choices=[
                    ("vertex", "Vertex"),
                    ("frontal_hairline", "Frontal hairline"),
                    ("temple_left", "Left temple"),
                    ("temple_right", "Right temple"),
                    ("midline_part", "Midline part"),
                    ("occipital", "Occipital (reference)"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="historicalclinicalphoto",
            name="view",
            field=models.CharField(
                blank=True,
                choices=[
                    ("vertex", "Vertex"),
                    ("frontal_hairline", "Frontal hairline"),
                    ("temple_left", "Left temple"),
                    ("temple_right", "Right temple"),
                    ("midline_part", "Midline part"),
                    ("occipital", "Occipital (reference)"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="clinicalphoto",
            index=models.Index(fields=["patient", "view", "taken_on"], name="photo_view_idx"),
        ),
        migrations.AddField(
            model_name="historicalphotoprotocolview",
            name="history_user",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
