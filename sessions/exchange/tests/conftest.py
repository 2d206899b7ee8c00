"""One patient with a signed treatment record: the record tests' dutasteride version (a % w/v
and an amount-per-volume ingredient) and its lot DHT-7001, two zones injected, an adverse event
naming the lot, a signed consent and a baseline measurement. Shared by the exchange tests."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from clinic.roles import Role
from patients.tests.factories import (
    OutcomeMeasurementFactory,
    PatientFactory,
    TreatmentConsentFactory,
)
from sessions.models import SessionStatus
from sessions.tests.factories import (
    AdverseEventFactory,
    InjectionFactory,
    RecordLotFactory,
    SessionRecordFactory,
    TreatmentSessionFactory,
    signed_as_fixture,
)

# dht_version and lot: the record tests' fixtures (same folder convention as sessions/tests).
from sessions.tests.records_fixtures import *  # noqa: E402, F403

SESSION_START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SIGNED_AT = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def treated(clinic, staff, dht_version, lot):
    """The patient, after one signed session of 1.25 mL into the vertex and 0.5 mL frontal."""
    clinician = staff(Role.CLINICIAN, display_name="Dr Nadia Noor", registration_number="GMC1")
    patient = PatientFactory(
        given_name="Priya", family_name="Patel", email="priya@example.org", mobile="+447700900123"
    )
    session = TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        starts_at=SESSION_START,
        status=SessionStatus.COMPLETED,
    )
    record = SessionRecordFactory(session=session, formulation_version=dht_version, pain_score=3)
    InjectionFactory(record=record, zone="vertex", volume_ml=Decimal("1.25"))
    InjectionFactory(record=record, zone="frontal", volume_ml=Decimal("0.5"))
    RecordLotFactory(record=record, lot=lot, volume_ml=Decimal("1.75"))
    TreatmentConsentFactory(
        patient=patient, formulation_version=dht_version, witness=clinician.user
    )
    signed_as_fixture(record, at=SIGNED_AT, by=clinician)
    AdverseEventFactory(session=session, lot=lot, notes="Tender for a day")
    OutcomeMeasurementFactory(
        patient=patient, zone="vertex", is_baseline=True, density_per_cm2=Decimal("120.5")
    )
    return patient


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    """Exports and patient copies are written under MEDIA_ROOT: a fresh folder per test."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path
