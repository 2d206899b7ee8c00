from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from clinic.roles import Role
from clinic.tests.factories import RoomFactory, StaffProfileFactory
from formulations.tests.factories import FormulationVersionFactory, LotFactory
from patients.tests.factories import PatientFactory
from sessions.models import RecordLot, SessionRecord, TreatmentSession


class TreatmentSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentSession

    patient = factory.SubFactory(PatientFactory)
    clinician = factory.SubFactory(StaffProfileFactory, role=Role.CLINICIAN)
    room = factory.SubFactory(RoomFactory)
    starts_at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(minutes=45))


class SessionRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SessionRecord

    session = factory.SubFactory(TreatmentSessionFactory)
    clinician = factory.LazyAttribute(lambda r: r.session.clinician)
    formulation_version = factory.SubFactory(FormulationVersionFactory)


class RecordLotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecordLot

    record = factory.SubFactory(SessionRecordFactory)
    lot = factory.LazyAttribute(lambda u: LotFactory(version=u.record.formulation_version))
    volume_ml = Decimal("1.00")
