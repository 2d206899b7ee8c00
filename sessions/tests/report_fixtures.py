"""Courses for the report tests: a few built one by one for hand-computed figures, or many at
once with bulk_create for the query-count bounds."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from clinic.models import Room
from clinic.roles import Role
from clinic.tests.factories import RoomFactory, StaffProfileFactory
from patients.models import Assessment, OutcomeMeasurement, Patient
from patients.tests.factories import AssessmentFactory, PatientFactory
from sessions.models import (
    ClearanceSnapshot,
    Device,
    Injection,
    PlanKind,
    PlanTemplate,
    SessionRecord,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)
from sessions.records.usage import usage_recount
from sessions.tests.factories import signed_as_fixture

START = date(2026, 1, 5)


def signed_course(
    *,
    versions,
    start: date = START,
    density: dict[str, list[tuple[int, float]]] | None = None,
    zones=("vertex",),
    patient=None,
    clinician=None,
    **measures,
):
    """A plan whose sessions (one per version, a fortnight apart) are signed, injecting `zones`
    (the first most), and measurements: density = {zone: [(day from start, value), ...]};
    other measures as name=[(day, value), ...] on the vertex."""
    patient = patient or PatientFactory()
    clinician = clinician or StaffProfileFactory(role=Role.CLINICIAN)
    assessment = AssessmentFactory(patient=patient, clinician=clinician.user)
    plan = TreatmentPlan.objects.create(
        patient=patient,
        assessment=assessment,
        indication="L64 androgenic alopecia",
        template=PlanTemplate.objects.get(kind=PlanKind.MILD_MODERATE),
        formulation_version=versions[0],
        technique=Technique.NAPPAGE,
        device=Device.SYRINGE,
        target_depth_mm=Decimal("2.0"),
        number_of_sessions=len(versions),
        interval_days=14,
        created_by=clinician,
    )
    room = Room.objects.first() or RoomFactory()
    # Each course at its own time of day: on PostgreSQL no room or clinician is double-booked.
    slot = timedelta(minutes=50 * (TreatmentPlan.objects.count() - 1))
    for n, version in enumerate(versions):
        day = start + timedelta(days=14 * n)
        starts_at = datetime.combine(day, time(6), tzinfo=UTC) + slot
        session = TreatmentSession.objects.create(
            patient=patient,
            clinician=clinician,
            room=room,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=45),
            plan=plan,
            sequence=n + 1,
            status="completed",
        )
        record = SessionRecord.objects.create(
            session=session, clinician=clinician, formulation_version=version
        )
        for rank, zone in enumerate(zones):
            Injection.objects.create(
                record=record,
                zone=zone,
                volume_ml=Decimal("2.0") - Decimal("0.5") * rank,
                depth_mm=Decimal("2.0"),
                technique=Technique.NAPPAGE,
                device=Device.SYRINGE,
                needle_gauge=32,
                injection_points=20,
            )
        signed_as_fixture(record, at=session.ends_at, by=clinician)
    for zone, points in (density or {}).items():
        for day, value in points:
            OutcomeMeasurement.objects.create(
                patient=patient,
                zone=zone,
                measured_on=start + timedelta(days=day),
                density_per_cm2=Decimal(str(value)),
                recorded_by=clinician.user,
            )
    for name, points in measures.items():
        for day, value in points:
            OutcomeMeasurement.objects.create(
                patient=patient,
                zone="vertex",
                measured_on=start + timedelta(days=day),
                recorded_by=clinician.user,
                **{name: value},
            )
    return plan


def bulk_courses(*, count: int, versions, clinician, room, start: date = START):
    """`count` one-session courses spread over `versions`, each with a vertex and occipital
    baseline and a week-24 measurement; a few hundred queries whatever the count."""
    patients = Patient.objects.bulk_create(
        Patient(
            record_number=f"BULK{n:06d}",
            given_name=f"Bulk{n}",
            family_name="Example",
            date_of_birth=date(1970 + n % 40, 1 + n % 12, 1 + n % 28),
            sex_at_birth="male" if n % 3 else "female",
        )
        for n in range(count)
    )
    assessments = Assessment.objects.bulk_create(
        Assessment(
            patient=p,
            assessed_on=start - timedelta(days=7),
            diagnosis="L64.9",
            scale="norwood",
            scale_value=["II", "III", "V"][n % 3],
            clinician=clinician.user,
        )
        for n, p in enumerate(patients)
    )
    template = PlanTemplate.objects.get(kind=PlanKind.MILD_MODERATE)
    plans = TreatmentPlan.objects.bulk_create(
        TreatmentPlan(
            patient=p,
            assessment=a,
            indication="L64",
            template=template,
            formulation_version=versions[n % len(versions)],
            technique=Technique.NAPPAGE,
            device=Device.SYRINGE,
            target_depth_mm=Decimal("2.0"),
            number_of_sessions=1,
            interval_days=14,
            created_by=clinician,
        )
        for n, (p, a) in enumerate(zip(patients, assessments, strict=True))
    )
    base = datetime.combine(start, time(0), tzinfo=UTC)
    sessions = TreatmentSession.objects.bulk_create(
        TreatmentSession(
            patient=plan.patient,
            clinician=clinician,
            room=room,
            # An hour each, so no clinician or room is ever double-booked.
            starts_at=base + timedelta(hours=n),
            ends_at=base + timedelta(hours=n, minutes=45),
            plan=plan,
            sequence=1,
            status="completed",
        )
        for n, plan in enumerate(plans)
    )
    records = SessionRecord.objects.bulk_create(
        SessionRecord(
            session=s, clinician=clinician, formulation_version=s.plan.formulation_version
        )
        for s in sessions
    )
    Injection.objects.bulk_create(
        Injection(
            record=r,
            zone="vertex",
            volume_ml=Decimal("2.0"),
            depth_mm=Decimal("2.0"),
            technique=Technique.NAPPAGE,
            device=Device.SYRINGE,
            needle_gauge=32,
            injection_points=20,
        )
        for r in records
    )
    # Signed as a fixture in bulk: a cleared clearance is frozen first, as the guards require.
    ClearanceSnapshot.objects.bulk_create(
        ClearanceSnapshot(record=r, cleared=True, taken_at=base, data={"fixture": True})
        for r in records
    )
    SessionRecord.objects.filter(pk__in=[r.pk for r in records]).update(
        signed_at=base, signed_by=clinician
    )
    usage_recount()  # the usage totals record_sign would have counted
    OutcomeMeasurement.objects.bulk_create(
        OutcomeMeasurement(
            patient=s.patient,
            zone=zone,
            measured_on=s.starts_at.date() + timedelta(days=day),
            density_per_cm2=Decimal(value + n % 17),
            recorded_by=clinician.user,
        )
        for n, s in enumerate(sessions)
        for zone, day, value in (
            ("vertex", 0, 100),
            ("occipital", 0, 200),
            ("vertex", 168, 112),
            ("occipital", 168, 201),
        )
    )
    return plans
