"""The generated clinic of `seed_scale`: realistic, consistent with the database's guards,
idempotent."""

from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command

from clinic.models import Clinic
from clinic.seed_scale import SeedScaleError, seed_scale
from patients.models import ConsentSignature, Patient
from patients.tests.factories import PatientFactory
from sessions.booking.maintenance import maintenance_due
from sessions.models import (
    Injection,
    RecordLot,
    Reminder,
    ReminderStatus,
    SessionRecord,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def generated(db):
    return seed_scale(patients=40, seed=7, today=TODAY, now=NOW)


def test_it_builds_a_clinic_with_years_of_signed_history(generated):
    signed = SessionRecord.objects.filter(signed_at__isnull=False)
    assert Patient.objects.count() == 40
    assert signed.count() > 100
    # every signed record has its injections and lots, as record_sign requires
    assert not signed.filter(injections__isnull=True).exists()
    assert RecordLot.objects.filter(record__in=signed).count() == signed.count()
    assert Injection.objects.filter(record__in=signed).exists()
    # a signed record's session is completed; a completed session has a signed record
    assert not TreatmentSession.objects.filter(
        status=SessionStatus.COMPLETED, record__signed_at__isnull=True
    ).exists()
    # every lot named was usable on the session's day
    for use in RecordLot.objects.select_related("lot", "record__session")[:200]:
        day = use.record.session.starts_at.date()
        assert use.lot.received_on <= day < use.lot.expires_on
    assert ConsentSignature.objects.count() == 40
    statuses = set(Reminder.objects.values_list("status", flat=True))
    assert {ReminderStatus.SENT, ReminderStatus.PENDING, ReminderStatus.FAILED} <= statuses


def test_its_recall_list_comes_from_the_stored_due_dates(generated):
    completed = TreatmentPlan.objects.filter(status="completed")
    assert completed.exists()
    assert not completed.filter(maintenance_due_on__isnull=True).exists()
    assert maintenance_due(clinic=Clinic.current(), today=TODAY, now=NOW)


def test_a_second_run_of_the_same_size_does_nothing(generated):
    sessions = TreatmentSession.objects.count()

    assert seed_scale(patients=40, seed=7, today=TODAY, now=NOW) == {}
    assert TreatmentSession.objects.count() == sessions


def test_another_size_or_a_real_clinic_is_refused(generated, db):
    with pytest.raises(SeedScaleError, match="already holds a generated clinic of 40"):
        seed_scale(patients=41, seed=7, today=TODAY, now=NOW)


def test_a_database_with_real_patients_is_refused(db):
    PatientFactory()
    with pytest.raises(SeedScaleError, match="did not make"):
        seed_scale(patients=5, today=TODAY, now=NOW)


def test_the_command_is_refused_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_scale", patients=3)
    call_command("seed_scale", patients=3, force=True)
    assert Patient.objects.count() == 3
