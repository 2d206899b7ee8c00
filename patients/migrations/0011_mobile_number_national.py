import clinic.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0010_screening_rule_versions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalpatient",
            name="mobile",
            field=clinic.fields.MobileNumberField(blank=True, max_length=128, region=None),
        ),
        migrations.AlterField(
            model_name="patient",
            name="mobile",
            field=clinic.fields.MobileNumberField(blank=True, max_length=128, region=None),
        ),
    ]
