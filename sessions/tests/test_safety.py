"""The safety report: adverse events per formulation version and lot, per signed sessions."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from clinic.roles import Role
from formulations.tests.factories import FormulationVersionFactory, LotFactory
from sessions.models import AdverseEventType, SessionRecord
from sessions.records.safety import safety_report
from sessions.tests.factories import (
    AdverseEventFactory,
    SessionRecordFactory,
    TreatmentSessionFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOVEMBER = {"date_from": date(2026, 11, 1), "date_to": date(2026, 11, 30), "zone": LONDON}
URL = "/reports/safety/"


def signed_session(version, *, day: int, month: int = 11):
    session = TreatmentSessionFactory(
        starts_at=datetime(2026, month, day, 10, 0, tzinfo=UTC), status="completed"
    )
    SessionRecordFactory(
        session=session,
        formulation_version=version,
        signed_at=session.ends_at,
        signed_by=session.clinician,
    )
    return session


def test_events_are_counted_per_version_against_its_signed_sessions():
    # given four sessions of one version, two with events (one serious), and one other version
    dht = FormulationVersionFactory()
    nutrient = FormulationVersionFactory()
    sessions = [signed_session(dht, day=d) for d in (2, 9, 16, 23)]
    signed_session(nutrient, day=3)
    AdverseEventFactory(session=sessions[0], event_type=AdverseEventType.PAIN)
    AdverseEventFactory(session=sessions[1], event_type=AdverseEventType.PAIN)
    AdverseEventFactory(
        session=sessions[1],
        event_type=AdverseEventType.HYPERSENSITIVITY,
        serious=True,
        ctcae_grade=3,
    )

    # when
    report = safety_report(**NOVEMBER)

    # then the version with harm comes first, with its rate and most frequent type
    first, second = report.versions
    assert (first.version, first.sessions, first.events, first.serious) == (dht, 4, 3, 1)
    assert first.events_per_100_sessions == Decimal("75.0")
    assert first.by_type[0] == ("Pain", 2)
    assert (second.version, second.sessions, second.events) == (nutrient, 1, 0)


def test_voided_events_and_sessions_outside_the_period_are_left_out():
    version = FormulationVersionFactory()
    inside = signed_session(version, day=10)
    outside = signed_session(version, day=10, month=10)
    AdverseEventFactory(session=inside, voided_at=inside.ends_at, void_reason="Wrong patient")
    AdverseEventFactory(session=outside)

    (row,) = safety_report(**NOVEMBER).versions

    assert (row.sessions, row.events) == (1, 0)


def test_an_event_after_a_session_without_a_signed_record_is_counted_apart():
    AdverseEventFactory(session__starts_at=datetime(2026, 11, 5, 10, tzinfo=UTC))

    (row,) = safety_report(**NOVEMBER).versions

    assert row.version is None and row.events == 1


def test_lots_named_in_events_are_listed_most_events_first():
    version = FormulationVersionFactory()
    quiet, busy = LotFactory(version=version), LotFactory(version=version)
    session = signed_session(version, day=12)
    AdverseEventFactory(session=session, lot=quiet)
    AdverseEventFactory(session=session, lot=busy)
    AdverseEventFactory(session=session, lot=busy, serious=True, ctcae_grade=4)
    AdverseEventFactory(session=session, lot=busy, voided_at=session.ends_at, void_reason="x")

    lots = safety_report(**NOVEMBER).lots

    assert [(row.lot, row.events, row.serious) for row in lots] == [(busy, 2, 1), (quiet, 1, 0)]


def test_the_page_shows_the_report_to_admins_only(client_as):
    session = signed_session(FormulationVersionFactory(), day=20)
    AdverseEventFactory(session=session, event_type=AdverseEventType.ERYTHEMA)

    admin = client_as(Role.CLINIC_ADMIN)
    page = admin.get(URL, {"date_from": "2026-11-01", "date_to": "2026-11-30"}).content.decode()
    assert "Erythema (redness) (1)" in page
    assert "100.0" in page
    for role in (Role.RECEPTION, Role.CLINICIAN):
        assert client_as(role).get(URL).status_code == 403


def test_a_reversed_period_is_explained_and_the_default_shown(client_as):
    page = client_as(Role.CLINIC_ADMIN).get(
        URL, {"date_from": "2026-11-30", "date_to": "2026-11-01"}
    )

    assert page.status_code == 200
    assert "The start of the period is after its end." in page.content.decode()


def test_the_page_needs_the_same_queries_for_1_and_50_versions(
    client_as, django_assert_max_num_queries
):
    admin = client_as(Role.CLINIC_ADMIN)
    today = datetime.now(UTC)
    params = {"date_from": (today - timedelta(days=30)).date().isoformat()}

    def add_versions(n):
        for _ in range(n):
            session = TreatmentSessionFactory(starts_at=today - timedelta(days=2))
            SessionRecordFactory(
                session=session, signed_at=session.ends_at, signed_by=session.clinician
            )
            AdverseEventFactory(session=session, lot=LotFactory())

    add_versions(1)
    with django_assert_max_num_queries(12):
        admin.get(URL, params)
    add_versions(49)
    with django_assert_max_num_queries(12):
        assert admin.get(URL, params).content.decode().count('data-testid="safety-row"') == 50


def test_the_signed_sessions_per_version_come_from_the_day_totals_not_the_records():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    version = FormulationVersionFactory()
    signed_session(version, day=3)
    with CaptureQueriesContext(connection) as queries:
        assert safety_report(**NOVEMBER).versions[0].sessions == 1
    # However many records the period holds, none is read to count them (the events' query
    # joins a record for its version, but reads from the events).
    record_table = f'FROM "{SessionRecord._meta.db_table}"'
    assert not [q for q in queries.captured_queries if record_table in q["sql"]]
