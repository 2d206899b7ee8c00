"""The CONSORT Harms table: exposure, events by type and grade, serious, discontinuations."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from formulations.tests.factories import FormulationVersionFactory, LotFactory
from patients.tests.factories import PatientFactory
from sessions.records.harms import harms_table
from sessions.tests.factories import (
    AdverseEventFactory,
    SessionRecordFactory,
    TreatmentSessionFactory,
)

pytestmark = pytest.mark.django_db

NOVEMBER = {"date_from": date(2026, 11, 1), "date_to": date(2026, 11, 30)}
LONDON = ZoneInfo("Europe/London")


def signed_session(version, patient, day):
    session = TreatmentSessionFactory(
        patient=patient,
        starts_at=datetime(2026, 11, day, 10, 0, tzinfo=UTC),
        status="completed",
    )
    SessionRecordFactory(
        session=session,
        formulation_version=version,
        signed_at=session.ends_at,
        signed_by=session.clinician,
    )
    return session


def test_the_table_counts_exposure_events_by_grade_serious_and_discontinuations():
    # given two patients, five signed sessions of one version; three events, one serious
    # grade 3 that stopped treatment, naming one lot twice
    dht = FormulationVersionFactory()
    lot = LotFactory(version=dht, lot_number="DHT-1")
    anna, ben = PatientFactory(), PatientFactory()
    a = [signed_session(dht, anna, d) for d in (2, 16, 30)]
    b = [signed_session(dht, ben, d) for d in (3, 17)]
    AdverseEventFactory(session=a[0], event_type="pain", ctcae_grade=1, lot=lot)
    AdverseEventFactory(session=a[1], event_type="pain", ctcae_grade=2, lot=lot)
    AdverseEventFactory(
        session=b[1],
        event_type="hypersensitivity",
        ctcae_grade=3,
        serious=True,
        treatment_stopped=True,
    )
    # a voided event and one outside the period count for nothing
    AdverseEventFactory(session=b[0], voided_at=datetime(2026, 11, 4, tzinfo=UTC))
    signed_session(dht, ben, 1)  # a sixth session without events
    december = TreatmentSessionFactory(
        patient=ben, starts_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC), status="completed"
    )
    AdverseEventFactory(session=december)

    # when
    (row,) = harms_table(**NOVEMBER, zone=LONDON).versions

    # then
    assert (row.patients_exposed, row.sessions_exposed) == (2, 6)
    assert (row.events, row.serious, row.discontinuations) == (3, 1, 1)
    assert row.patients_with_event == 2
    assert row.percent_patients_with_event == Decimal("100.0")
    assert row.events_per_patient == Decimal("1.50")
    assert row.events_per_100_sessions == Decimal("50.0")  # 3 / 6 × 100
    pain, allergy = row.type_rows
    assert (pain.label, pain.by_grade, pain.patients) == ("Pain", [1, 1, 0, 0, 0], 1)
    assert (allergy.by_grade, allergy.serious) == ([0, 0, 1, 0, 0], 1)
    assert [(lh.lot.lot_number, lh.events) for lh in row.lots] == [("DHT-1", 2)]


def test_an_event_after_an_unsigned_session_is_shown_apart():
    session = TreatmentSessionFactory(
        starts_at=datetime(2026, 11, 5, 10, 0, tzinfo=UTC), status="completed"
    )
    AdverseEventFactory(session=session)

    (row,) = harms_table(**NOVEMBER, zone=LONDON).versions

    assert row.version is None and row.events == 1 and row.events_per_100_sessions is None


def test_versions_without_events_show_their_exposure_and_no_rate_of_harm():
    version = FormulationVersionFactory()
    signed_session(version, PatientFactory(), 9)

    (row,) = harms_table(**NOVEMBER, zone=LONDON).versions

    assert (row.sessions_exposed, row.events, row.events_per_100_sessions) == (1, 0, Decimal("0.0"))
