"""The demo clinic that `seed_demo` creates: safe to run again, it only fills in what is missing."""

from datetime import time

from django.contrib.auth import get_user_model

from .models import Clinic, OpeningHours, Room, StaffProfile, Weekday, WorkingHours
from .roles import Role
from .staff import staff_assign_role

DEMO_PASSWORD = "mesotrack-demo"  # noqa: S105 - published on purpose: demo data only
DEMO_USERS = [
    # username, display name, role, registration number
    ("reception", "Rosa Reception", Role.RECEPTION, ""),
    ("clinician", "Dr Chris Clinician", Role.CLINICIAN, "GMC 7654321"),
    ("admin", "Alex Admin", Role.CLINIC_ADMIN, ""),
]
WEEKDAYS = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]


def seed_clinic() -> Clinic:
    clinic = Clinic.current()
    if clinic is None:
        clinic = Clinic.objects.create(
            name="Northgate Hair Clinic",
            time_zone="Europe/London",
            currency="GBP",
            phone="+442079460958",
            email="hello@northgate-hair.example",
            address="12 Northgate Street\nLondon EC1A 1AA",
        )
    seed_premises(clinic)
    for username, display_name, role, registration in DEMO_USERS:
        seed_staff(clinic, username, display_name, role, registration)
    return clinic


def seed_premises(clinic: Clinic) -> None:
    """Opening hours (weekdays 9–18, Saturday morning) and two treatment rooms, if missing."""
    if not clinic.opening_hours.exists():
        OpeningHours.objects.bulk_create(
            [
                OpeningHours(clinic=clinic, weekday=d, opens=time(9), closes=time(18))
                for d in WEEKDAYS
            ]
            + [
                OpeningHours(
                    clinic=clinic, weekday=Weekday.SATURDAY, opens=time(9), closes=time(13)
                )
            ]
        )
    for name in ("Treatment room 1", "Treatment room 2"):
        Room.objects.get_or_create(clinic=clinic, name=name)


def seed_staff(
    clinic, username, display_name, role, registration, *, password: str | None = DEMO_PASSWORD
) -> StaffProfile:
    """A member of staff with their role (clinicians work weekdays 9–17); without a password
    the login is unusable (the benchmark's clinic logs in without one)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if created:
        if password:
            user.set_password(password)
            user.email = f"{username}@northgate-hair.example"
        else:
            user.set_unusable_password()
        user.save()
    profile = StaffProfile.objects.filter(user=user).first() or StaffProfile(
        user=user, clinic=clinic, display_name=display_name, registration_number=registration
    )
    if profile.pk is None or profile.role != role:
        staff_assign_role(profile=profile, role=role)
    if role == Role.CLINICIAN and not profile.working_hours.exists():
        WorkingHours.objects.bulk_create(
            [
                WorkingHours(staff=profile, weekday=d, starts=time(9), ends=time(17))
                for d in WEEKDAYS
            ]
        )
    return profile
