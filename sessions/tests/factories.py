from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from clinic.roles import Role
from clinic.tests.factories import RoomFactory, StaffProfileFactory, UserFactory
from formulations.tests.factories import FormulationVersionFactory, LotFactory
from patients.tests.factories import PatientFactory
from sessions.models import (
    AdverseEvent,
    AdverseEventOutcome,
    AdverseEventSeverity,
    AdverseEventType,
    Causality,
    ClearanceSnapshot,
    ContactAttempt,
    ContactChannel,
    ContactOutcome,
    Device,
    Injection,
    PlanKind,
    PlanStatus,
    PlanTemplate,
    RecordLot,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionRecord,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)
from sessions.records.usage import usage_record_signed


class TreatmentSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentSession

    patient = factory.SubFactory(PatientFactory)
    clinician = factory.SubFactory(StaffProfileFactory, role=Role.CLINICIAN)
    room = factory.SubFactory(RoomFactory)
    starts_at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(minutes=45))


def signed_as_fixture(record: SessionRecord, *, at: datetime, by=None) -> SessionRecord:
    """Sign `record` without record_sign's rules (tested in test_records.py): a cleared
    clearance snapshot is frozen first, as the model and the database require."""
    ClearanceSnapshot.objects.create(
        record=record, cleared=True, taken_at=at, data={"fixture": True}
    )
    SessionRecord.objects.filter(pk=record.pk).update(
        signed_at=at, signed_by=by or record.clinician
    )
    record.refresh_from_db()
    usage_record_signed(record=record, session=record.session)  # record_sign counts it too
    return record


class SessionRecordFactory(factory.django.DjangoModelFactory):
    """Pass signed_at (and signed_by) for a record signed as a fixture (signed_as_fixture)."""

    class Meta:
        model = SessionRecord

    session = factory.SubFactory(TreatmentSessionFactory)
    clinician = factory.LazyAttribute(lambda r: r.session.clinician)
    formulation_version = factory.SubFactory(FormulationVersionFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        signed_at, signed_by = kwargs.pop("signed_at", None), kwargs.pop("signed_by", None)
        record = super()._create(model_class, *args, **kwargs)
        if signed_at is not None:
            signed_as_fixture(record, at=signed_at, by=signed_by)
        return record


class RecordLotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecordLot

    record = factory.SubFactory(SessionRecordFactory)
    lot = factory.LazyAttribute(lambda u: LotFactory(version=u.record.formulation_version))
    volume_ml = Decimal("1.00")


class TreatmentPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentPlan

    patient = factory.SubFactory(PatientFactory)
    indication = "L64 androgenic alopecia, Norwood III"
    template = factory.LazyFunction(lambda: PlanTemplate.objects.get(kind=PlanKind.MILD_MODERATE))
    formulation_version = factory.SubFactory(FormulationVersionFactory)
    technique = Technique.NAPPAGE
    device = Device.SYRINGE
    target_depth_mm = Decimal("2.0")
    number_of_sessions = 6
    interval_days = 14
    price_per_session = Decimal("150.00")
    package_price = Decimal("800.00")
    status = PlanStatus.ACTIVE
    created_by = factory.SubFactory(StaffProfileFactory, role=Role.CLINICIAN)


class ContactAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactAttempt

    plan = factory.SubFactory(TreatmentPlanFactory)
    attempted_at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    channel = ContactChannel.PHONE
    outcome = ContactOutcome.NO_ANSWER
    by = factory.SubFactory(UserFactory)


class InjectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Injection

    record = factory.SubFactory(SessionRecordFactory)
    zone = "vertex"
    volume_ml = Decimal("1.00")
    depth_mm = Decimal("2.0")
    technique = Technique.NAPPAGE
    device = Device.SYRINGE
    needle_gauge = 32
    injection_points = 20


class AdverseEventFactory(factory.django.DjangoModelFactory):
    """A mild, resolved pain event the day of its session."""

    class Meta:
        model = AdverseEvent

    session = factory.SubFactory(TreatmentSessionFactory, status="completed")
    patient = factory.LazyAttribute(lambda e: e.session.patient)
    event_type = AdverseEventType.PAIN
    onset_on = factory.LazyAttribute(lambda e: e.session.starts_at.date())
    severity = AdverseEventSeverity.MILD
    ctcae_grade = 1
    serious = False
    causality = Causality.PROBABLE
    outcome = AdverseEventOutcome.RESOLVED
    reported_at = factory.LazyAttribute(lambda e: e.session.ends_at)
    reported_by = factory.LazyAttribute(lambda e: e.session.clinician.user)


class ReminderFactory(factory.django.DjangoModelFactory):
    """A pending SMS appointment reminder, due 24 hours before its session."""

    class Meta:
        model = Reminder

    session = factory.SubFactory(TreatmentSessionFactory)
    patient = factory.LazyAttribute(lambda r: r.session.patient)
    kind = ReminderKind.APPOINTMENT
    channel = "sms"
    due_at = factory.LazyAttribute(lambda r: r.session.starts_at - timedelta(hours=24))
    send_after = factory.LazyAttribute(lambda r: r.due_at)
    status = ReminderStatus.PENDING
