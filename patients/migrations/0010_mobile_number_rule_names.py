import clinic.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0009_patient_search_indexes"),
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
