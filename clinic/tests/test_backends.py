"""The authentication backend answers what ModelBackend would, in fewer queries."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.backends import StaffModelBackend
from clinic.roles import Role, user_role
from clinic.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


def test_a_user_has_their_own_and_their_groups_permissions_in_one_query():
    user = UserFactory()
    user.user_permissions.add(_perm("add_patient"))
    group = Group.objects.create(name="Night desk")
    group.permissions.add(_perm("view_patient"))
    user.groups.add(group)
    user = StaffModelBackend().get_user(user.pk)

    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("patients.add_patient")
        assert user.has_perm("patients.view_patient")
        assert not user.has_perm("patients.delete_patient")
    assert len(queries) == 1


def test_an_inactive_user_has_no_permission_and_is_not_loaded():
    user = UserFactory(is_active=False)
    user.user_permissions.add(_perm("add_patient"))
    assert StaffModelBackend().get_all_permissions(user) == set()
    assert StaffModelBackend().get_user(user.pk) is None


def test_a_role_taken_away_is_gone_on_the_next_request(staff):
    user = staff(Role.CLINICIAN).user
    assert StaffModelBackend().get_user(user.pk).has_perm("patients.view_clinical")
    user.groups.clear()
    assert not StaffModelBackend().get_user(user.pk).has_perm("patients.view_clinical")


def test_the_user_comes_with_their_staff_profile(staff):
    profile = staff(Role.RECEPTION, display_name="Rosa Reception")
    user = StaffModelBackend().get_user(profile.user_id)
    with CaptureQueriesContext(connection) as queries:
        assert user.staff_profile.display_name == "Rosa Reception"
    assert len(queries) == 0


def test_the_user_comes_with_the_role_it_acts_in(staff):
    admin_and_clinician = staff(Role.CLINICIAN).user
    admin_and_clinician.groups.add(Group.objects.get(name=Role.CLINIC_ADMIN.value))
    loaded = {
        role: StaffModelBackend().get_user(staff(role).user_id)
        for role in (Role.RECEPTION, Role.CLINICIAN)
    }
    both = StaffModelBackend().get_user(admin_and_clinician.pk)
    none = StaffModelBackend().get_user(UserFactory().pk)

    with CaptureQueriesContext(connection) as queries:
        assert user_role(loaded[Role.RECEPTION]) == Role.RECEPTION
        assert user_role(loaded[Role.CLINICIAN]) == Role.CLINICIAN
        assert user_role(both) == Role.CLINIC_ADMIN  # the first in precedence
        assert user_role(none) is None
    assert len(queries) == 0
