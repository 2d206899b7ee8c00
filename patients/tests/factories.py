from datetime import date

import factory

from patients.models import Patient, SexAtBirth


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    record_number = factory.Sequence(lambda n: f"MT{n + 1:06d}")
    given_name = factory.Sequence(lambda n: f"Pat{n + 1}")
    family_name = "Example"
    date_of_birth = date(1985, 5, 17)
    sex_at_birth = SexAtBirth.MALE
    email = factory.LazyAttribute(lambda p: f"{p.given_name.lower()}@patients.example")
    mobile = "+447700900123"
