from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from clinic.models import Clinic, Room, StaffProfile
from clinic.roles import Role, user_role


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_clinic_and_three_logins(settings):
    settings.DEBUG = True

    call_command("seed_demo")

    clinic = Clinic.objects.get()
    assert clinic.rooms.count() == 2
    for username, role in [
        ("reception", Role.RECEPTION),
        ("clinician", Role.CLINICIAN),
        ("admin", Role.CLINIC_ADMIN),
    ]:
        user = authenticate(
            RequestFactory().post("/accounts/login/"), username=username, password="mesotrack-demo"
        )
        assert user is not None, username
        assert user_role(user) == role


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    counts = (Clinic.objects.count(), Room.objects.count(), StaffProfile.objects.count())

    call_command("seed_demo")

    assert (Clinic.objects.count(), Room.objects.count(), StaffProfile.objects.count()) == counts
    assert StaffProfile.history.filter(history_type="~").count() == 0


@pytest.mark.django_db
def test_seed_demo_is_refused_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refused when DEBUG is off"):
        call_command("seed_demo")
    assert not Clinic.objects.exists()


@pytest.mark.django_db
def test_seed_demo_with_force_runs_with_debug_off(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--force")
    assert Clinic.objects.filter(name="Northgate Hair Clinic").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("hour", [2, 7, 13, 19, 23])
def test_the_first_sweep_after_seeding_sends_demo_reminders_at_any_hour(settings, hour):
    # A new user runs `make run` at any time of day; quiet hours hold most patients' messages
    # at night, but the demo's patients abroad are awake, so the outbox shows something at once.
    import time_machine

    from sessions.models import Reminder, ReminderStatus
    from sessions.outreach.sweep import dispatch_due_reminders

    settings.DEBUG = True
    moment = datetime(2026, 11, 25, hour, 5, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        call_command("seed_demo")
        result = dispatch_due_reminders(now=moment + timedelta(minutes=1))

    assert result.sent >= 1
    assert Reminder.objects.filter(status=ReminderStatus.PENDING).exists()
