"""The authentication backend answers what ModelBackend would, in fewer queries."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.backends import StaffModelBackend, clinic_of_user
from clinic.models import Clinic
from clinic.roles import Role, user_role
from clinic.tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db


def _perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


def test_a_user_has_their_own_and_their_groups_permissions_with_the_user():
    user = UserFactory()
    user.user_permissions.add(_perm("add_patient"))
    group = Group.objects.create(name="Night desk")
    group.permissions.add(_perm("view_patient"))
    user.groups.add(group)

    with CaptureQueriesContext(connection) as queries:
        user = StaffModelBackend().get_user(user.pk)
        assert user.has_perm("patients.add_patient")
        assert user.has_perm("patients.view_patient")
        assert not user.has_perm("patients.delete_patient")
    assert len(queries) == 1


def test_the_permissions_read_with_the_user_are_those_modelbackend_gives(staff):
    for role in (Role.RECEPTION, Role.CLINICIAN, Role.CLINIC_ADMIN):
        user = staff(role).user
        loaded = StaffModelBackend().get_user(user.pk)
        assert loaded.get_all_permissions() == ModelBackend().get_all_permissions(user)
        assert loaded.get_all_permissions()


def test_a_user_without_any_permission_has_none():
    user = StaffModelBackend().get_user(UserFactory().pk)
    assert user.get_all_permissions() == set()
    assert not user.has_perm("patients.view_patient")


def test_a_superuser_has_every_permission():
    user = StaffModelBackend().get_user(UserFactory(is_superuser=True).pk)
    assert user.has_perm("patients.delete_patient")
    assert len(user.get_all_permissions()) == Permission.objects.count()


def test_the_user_comes_with_the_clinic_they_work_in(staff, clinic):
    user = staff(Role.RECEPTION).user
    with CaptureQueriesContext(connection) as queries:
        loaded = StaffModelBackend().get_user(user.pk)
        assert clinic_of_user(loaded) == clinic
    assert len(queries) == 1


def test_a_profile_of_another_clinic_than_the_current_one_brings_none(staff, clinic):
    other = ClinicFactory(name="Second site")
    profile = staff(Role.RECEPTION)
    profile.clinic = other
    profile.save(update_fields=["clinic"])
    assert clinic_of_user(StaffModelBackend().get_user(profile.user_id)) is None


def test_a_clinic_setting_changed_is_seen_on_the_next_request(staff, clinic):
    user = staff(Role.RECEPTION).user
    StaffModelBackend().get_user(user.pk)
    Clinic.objects.filter(pk=clinic.pk).update(screening_valid_days=30)
    assert clinic_of_user(StaffModelBackend().get_user(user.pk)).screening_valid_days == 30


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
