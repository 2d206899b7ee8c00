"""The usage report's totals per version, and the safety report's per version and day, are counted
with each signature and never drift from a full recount of the signed records
(sessions/records/usage.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from clinic.models import Clinic
from clinic.roles import Role
from patients.tests.factories import (
    ScreenedPatientFactory,
    ScreeningRecheckFactory,
    TreatmentConsentFactory,
)
from sessions.models import SessionStatus, VersionDay, VersionUsage
from sessions.records import records
from sessions.records.recall import version_usage
from sessions.records.safety import safety_report
from sessions.records.usage import usage_drift, usage_recount
from sessions.tests.factories import TreatmentPlanFactory, TreatmentSessionFactory
from sessions.tests.records_fixtures import SESSION_START

D = Decimal
pytestmark = pytest.mark.django_db


def _signed(patient, *, clinician, room, plan, sequence, starts_at, lot):
    """A session of `plan` checked in, re-checked that day, recorded and signed by record_sign."""
    ScreeningRecheckFactory(
        screening=patient.screenings.get(), checked_on=starts_at.date(), clinician=clinician.user
    )
    session = TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        plan=plan,
        sequence=sequence,
        starts_at=starts_at,
        status=SessionStatus.CHECKED_IN,
        checked_in_at=starts_at,
    )
    record = records.record_start(session=session, clinician=clinician, now=starts_at)
    records.injection_add(
        record=record,
        zone="vertex",
        volume_ml=D("0.6"),
        depth_mm=D("2.0"),
        technique="nappage",
        device="syringe",
        needle_gauge=32,
        injection_points=30,
    )
    records.record_lot_add(record=record, lot=lot, volume_ml=D("0.6"), units_used=1)
    return records.record_sign(
        record=record, by=clinician.user, now=starts_at + timedelta(minutes=20)
    )


@pytest.fixture
def signed_four(cleared_patient, clinician, room, course, dht_version, lot):
    """Four signatures through record_sign: two sessions each of two patients."""
    other = ScreenedPatientFactory()
    TreatmentConsentFactory(patient=other, formulation_version=dht_version, witness=clinician.user)
    other_course = TreatmentPlanFactory(
        patient=other, created_by=clinician, formulation_version=dht_version, number_of_sessions=2
    )
    for n, (patient, plan) in enumerate(((cleared_patient, course), (other, other_course))):
        for sequence in (1, 2):
            starts = SESSION_START + timedelta(days=14 * (sequence - 1), hours=2 * n)
            _signed(
                patient,
                clinician=clinician,
                room=room,
                plan=plan,
                sequence=sequence,
                starts_at=starts,
                lot=lot,
            )
    return dht_version


def test_each_signature_counts_and_the_totals_match_a_full_recount(signed_four):
    usage = VersionUsage.objects.get(version=signed_four)
    assert (usage.sessions, usage.patients) == (4, 2)
    assert usage.first_use == SESSION_START
    assert usage.last_use == SESSION_START + timedelta(days=14, hours=2)
    assert usage_drift() == []
    row = version_usage().get(pk=signed_four.pk)
    assert (row.session_count, row.patient_count) == (4, 2)


def test_the_usage_report_shows_the_counted_totals(signed_four, client_as):
    page = client_as(Role.CLINIC_ADMIN).get(reverse("formulations:usage")).content.decode()
    assert "<td>4</td><td>2</td>" in page


def test_a_drifted_total_is_found_and_recounted(signed_four):
    VersionUsage.objects.filter(version=signed_four).update(sessions=99)
    with pytest.raises(CommandError, match="differ"):
        call_command("usage_recount", check=True)

    assert usage_recount() == [signed_four.pk]

    call_command("usage_recount", check=True)
    assert VersionUsage.objects.get(version=signed_four).sessions == 4


def _clinic_day(at):
    return at.astimezone(Clinic.current().zone).date()


def test_each_signature_counts_on_the_sessions_day_at_the_clinic(signed_four):
    first, second = _clinic_day(SESSION_START), _clinic_day(SESSION_START + timedelta(days=14))
    days = dict(VersionDay.objects.filter(version=signed_four).values_list("day", "sessions"))
    assert days == {first: 2, second: 2}


def test_the_safety_report_counts_the_signed_sessions_of_its_period_only(signed_four):
    first = _clinic_day(SESSION_START)
    zone = Clinic.current().zone

    def sessions(date_to):
        report = safety_report(date_from=first, date_to=date_to, zone=zone)
        return {row.version.pk: row.sessions for row in report.versions if row.version}

    assert sessions(first) == {signed_four.pk: 2}
    assert sessions(first + timedelta(days=14)) == {signed_four.pk: 4}


def test_a_drifted_day_total_is_found_and_recounted(signed_four):
    VersionDay.objects.filter(version=signed_four).update(sessions=7)
    assert usage_drift() == [signed_four.pk]

    usage_recount()

    assert usage_drift() == []
    assert sum(VersionDay.objects.values_list("sessions", flat=True)) == 4
