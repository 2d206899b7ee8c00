from datetime import time

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from clinic.models import Clinic, OpeningHours, Room, StaffProfile, WorkingHours
from clinic.roles import Role


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    name = "Test Hair Clinic"
    time_zone = "Europe/London"
    currency = "GBP"
    phone = "+442079460000"
    email = "desk@test-clinic.example"
    address = "1 Test Street\nLondon"


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    clinic = factory.SubFactory(ClinicFactory)
    weekday = 0
    opens = time(9)
    closes = time(18)


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Room {n + 1}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@test-clinic.example")
    password = factory.django.Password("test-password")


class StaffProfileFactory(factory.django.DjangoModelFactory):
    """A member of staff in a role; the user joins the role's group, as staff_assign_role does."""

    class Meta:
        model = StaffProfile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    clinic = factory.LazyFunction(lambda: Clinic.current() or ClinicFactory())
    display_name = factory.Sequence(lambda n: f"Staff Member {n + 1}")
    role = Role.RECEPTION
    # Clinicians sign records, which needs a professional registration number.
    registration_number = factory.LazyAttributeSequence(
        lambda p, n: f"GMC {7100000 + n}" if p.role == Role.CLINICIAN else ""
    )

    @factory.post_generation
    def join_role_group(self, create, extracted, **kwargs):
        if create:
            self.user.groups.add(Group.objects.get(name=self.role))
            if self.role == Role.CLINIC_ADMIN:
                self.user.is_staff = True
                self.user.save(update_fields=["is_staff"])


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    staff = factory.SubFactory(StaffProfileFactory, role=Role.CLINICIAN)
    weekday = 0
    starts = time(9)
    ends = time(17)
