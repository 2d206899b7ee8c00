"""Staff roles. Each role is a Django group; what a role may do is the group's permissions, set by
data migrations (clinic/migrations/0002_roles.py and each app's own) through grant_permissions()."""

from django.db import models


class Role(models.TextChoices):
    RECEPTION = "reception", "Reception"
    CLINICIAN = "clinician", "Clinician"
    CLINIC_ADMIN = "clinic admin", "Clinic admin"


# A user in several role groups acts in the first of these.
ROLE_PRECEDENCE = (Role.CLINIC_ADMIN, Role.CLINICIAN, Role.RECEPTION)


def user_role(user) -> Role | None:
    """The role a user acts in; superusers act as clinic admins. Kept on the user object, which
    lives for one request, so the middleware and the page's context ask the database once (the
    authentication backend reads it with the user, clinic/backends.py)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.CLINIC_ADMIN
    if not hasattr(user, "_mesotrack_role"):
        names = {g.name for g in user.groups.all()}
        user._mesotrack_role = next((r for r in ROLE_PRECEDENCE if r.value in names), None)
    return user._mesotrack_role


def grant_permissions(apps, grants: dict[str, list[str]]) -> None:
    """Give each role group the listed "app_label.codename" permissions (data migrations only).

    Django creates permissions after the whole migrate run, so a data migration makes them itself.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, perms in grants.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
