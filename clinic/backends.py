"""The model authentication backend, with the same answers in fewer queries.

Every staff page reads the signed-in user, their permissions and the clinic; Django's
ModelBackend reads the user and each kind of permission apart, the page header the staff
profile, and the clinic middleware the clinic row. Here one query brings the user with its
staff profile and that profile's clinic, the role it acts in (clinic/roles.py), the
codes of both kinds of permission, and whether the user has a confirmed authenticator app (the
second-factor middleware asks on every staff page). What a user may do is unchanged: the same
rows decide it, read again on every request (never cached across requests).
"""

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import Case, CharField, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Concat
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import Clinic
from clinic.roles import ROLE_PRECEDENCE, Role


class JoinedCodes(Subquery):
    """A one-column subquery's rows joined by commas into one string (NULL when none): a
    user's permissions as one column of the user's row, on PostgreSQL and SQLite alike."""

    template = "(SELECT STRING_AGG(codes.code, ',') FROM (%(subquery)s) codes)"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra_context):
        template = "(SELECT GROUP_CONCAT(codes.code, ',') FROM (%(subquery)s) codes)"
        return self.as_sql(compiler, connection, template=template, **extra_context)


def _permission_codes():
    """The user's own and their groups' permissions, as "app_label.codename" (none contains a
    comma: codenames and app labels are identifiers)."""
    own = get_user_model().user_permissions.through.objects.filter(user_id=OuterRef(OuterRef("pk")))
    of_groups = Group.permissions.through.objects.filter(group__user=OuterRef(OuterRef("pk")))
    perms = Permission.objects.filter(
        Q(pk__in=own.values("permission_id")) | Q(pk__in=of_groups.values("permission_id"))
    )
    code = Concat("content_type__app_label", Value("."), "codename", output_field=CharField())
    return JoinedCodes(perms.annotate(code=code).order_by().values("code"))


@functools.cache
def _users_with_rights():
    """The users with what every staff page reads of them: built once per process (building
    the subqueries costs more than the query's planning), filtered per request."""
    role = (
        Group.objects.filter(user=OuterRef("pk"), name__in=[r.value for r in ROLE_PRECEDENCE])
        .order_by(Case(*(When(name=r.value, then=Value(n)) for n, r in enumerate(ROLE_PRECEDENCE))))
        .values("name")[:1]
    )
    # The clinic every page works in is the first one (Clinic.current); the profile's own
    # serves for it only when it is that one.
    first_clinic = Clinic.objects.order_by("pk").values("pk")[:1]
    return (
        get_user_model()
        ._default_manager.select_related("staff_profile__clinic")
        .annotate(
            role_name=Subquery(role),
            permission_codes=_permission_codes(),
            first_clinic_id=Subquery(first_clinic),
            has_authenticator=Exists(
                TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
            ),
        )
    )


class StaffModelBackend(ModelBackend):
    def get_user(self, user_id):
        user = _users_with_rights().filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        user._mesotrack_role = Role(user.role_name) if user.role_name else None
        if not user.is_superuser:
            codes = user.permission_codes
            user._perm_cache = set(codes.split(",")) if codes else set()
        user._mesotrack_has_authenticator = user.has_authenticator
        profile = getattr(user, "staff_profile", None)
        if profile is not None and profile.clinic_id == user.first_clinic_id:
            user._mesotrack_clinic = profile.clinic
        return user

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                own = user_obj.user_permissions.through.objects.filter(user_id=user_obj.pk)
                of_groups = Group.permissions.through.objects.filter(group__user=user_obj)
                perms = Permission.objects.filter(
                    Q(pk__in=own.values("permission_id"))
                    | Q(pk__in=of_groups.values("permission_id"))
                )
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in perms.values_list("content_type__app_label", "codename")
            }
        return user_obj._perm_cache


def clinic_of_user(user) -> Clinic | None:
    """The clinic row read with the signed-in user (get_user above), when it is the current
    clinic; None when it was not read, for the caller to read it."""
    return getattr(user, "_mesotrack_clinic", None)
