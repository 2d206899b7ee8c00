from django.contrib.auth.models import Group
from django.db import transaction

from .models import StaffProfile
from .roles import Role


@transaction.atomic
def staff_assign_role(*, profile: StaffProfile, role: Role) -> StaffProfile:
    """Set a staff member's role and make their group membership match it."""
    profile.role = role
    profile.save()
    user = profile.user
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get(name=role))
    user.__dict__.pop("_mesotrack_role", None)  # user_role's memo of the old groups
    # Clinic admins manage clinic settings and staff through the Django admin.
    if not user.is_superuser:
        user.is_staff = role == Role.CLINIC_ADMIN
        user.save(update_fields=["is_staff"])
    return profile
