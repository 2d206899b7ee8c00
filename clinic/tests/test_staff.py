from clinic.roles import Role, user_role
from clinic.staff import staff_assign_role


def test_changing_a_role_moves_the_user_to_that_group_only(staff):
    profile = staff(Role.RECEPTION)

    staff_assign_role(profile=profile, role=Role.CLINICIAN)

    profile.user.refresh_from_db()
    assert [g.name for g in profile.user.groups.all()] == ["clinician"]
    assert user_role(profile.user) == Role.CLINICIAN
    assert not profile.user.is_staff


def test_clinic_admins_can_use_the_django_admin_and_lose_it_with_the_role(staff):
    profile = staff(Role.RECEPTION)

    staff_assign_role(profile=profile, role=Role.CLINIC_ADMIN)
    assert profile.user.is_staff and profile.user.has_perm("clinic.change_clinic")

    staff_assign_role(profile=profile, role=Role.RECEPTION)
    profile.user.refresh_from_db()
    assert not profile.user.is_staff


def test_role_changes_are_kept_in_history(staff):
    profile = staff(Role.RECEPTION)
    staff_assign_role(profile=profile, role=Role.CLINICIAN)
    assert [h.role for h in profile.history.order_by("history_date")] == ["reception", "clinician"]
