"""Demo plans and sessions for `seed_demo`: a living calendar around today.

Safe to run again: a patient who already has a plan is left as it is. Sessions are laid out on
distinct hours so they never clash; past sessions are written directly (the booking rules refuse
the past), and signed through records.py as a clinician signs a completed session.
"""

from datetime import date, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clinic.models import Room, StaffProfile
from clinic.roles import Role
from formulations.lots import lot_receive
from formulations.models import FormulationVersion, Lot, VersionStatus
from patients.consent import (
    consent_digest,
    consent_document,
    consent_missing,
    consent_sign,
    consent_texts_for,
)
from patients.models import Patient, RuleOutcome
from patients.screening import screening_override, screening_recheck, screening_record
from sessions.booking.maintenance import add_months
from sessions.booking.scheduling import localise, plan_reflag, session_clearance
from sessions.models import (
    Device,
    PlanKind,
    PlanStatus,
    PlanTemplate,
    Reminder,
    ReminderKind,
    SessionKind,
    SessionRecord,
    SessionStatus,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)
from sessions.records import records

DEMO_INDICATION = "Demo plan"
DEMO_SUPPLIER = "Demo Compounding Pharmacy"
COURSE_LOT_NUMBER = "NSC-2406"
# Zone, volume (mL), injection points of each signed demo session; pain scores session by session.
DEMO_ZONES = [
    ("vertex", Decimal("2.0"), 40),
    ("mid_scalp", Decimal("1.5"), 30),
    ("frontal", Decimal("1.5"), 30),
]
DEMO_PAIN = [3, 2, 4, 2, 3, 2]


def _weekday(day: date) -> date:
    """The same day, or the next Monday when it falls on a weekend (the clinician's days off)."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _demo_patients(*, version, today: date) -> tuple[list[Patient], list[Patient]]:
    """(cleared patients, patients only flagged "screen before treatment"), by name."""
    cleared, flagged = [], []
    for patient in Patient.objects.filter(archived_at__isnull=True).order_by("pk"):
        gate = session_clearance(patient=patient, formulation_version=version, on_date=today)
        if gate.blocked:
            continue
        (flagged if gate.needs_screening else cleared).append(patient)
    return cleared, flagged


def seed(*, clinic) -> None:
    """The living calendar around today: running courses, assessments, a finished course.
    The cohort of past courses is demo_cohort.py (seed_demo runs it after every app's demo)."""
    version = (
        FormulationVersion.objects.filter(status=VersionStatus.PUBLISHED).order_by("pk").first()
    )
    clinician = StaffProfile.objects.filter(user__username="clinician").first() or (
        StaffProfile.objects.filter(role=Role.CLINICIAN).order_by("pk").first()
    )
    rooms = list(Room.objects.filter(clinic=clinic, is_active=True).order_by("name"))
    if version is None or clinician is None or not rooms:
        return
    if TreatmentPlan.objects.filter(indication__startswith=DEMO_INDICATION).exists():
        return
    today = timezone.localdate()
    now = timezone.now()
    cleared, flagged = _demo_patients(version=version, today=today)
    running = cleared[:3] + flagged[:1]
    finished = cleared[3] if len(cleared) > 3 else None
    desk = get_user_model().objects.filter(username="reception").first()
    with transaction.atomic():
        # Running courses whose sessions start over this week and next, each patient on an
        # hour of their own so nothing clashes; the first patient is in the clinic now.
        offsets = [0, 2, 4, 7]
        # Check someone in only on a day the clinic is open: the demo keeps the app's own rules.
        open_today = bool(clinic.opening_hours_on(today))
        for n, patient in enumerate(running):
            _running_course(
                clinic=clinic,
                patient=patient,
                clinician=clinician,
                room=rooms[n % len(rooms)],
                version=version,
                first=today + timedelta(days=offsets[n]),
                at=time(9 + n, 0),
                checked_in_today=n == 0 and open_today,
                desk=desk,
                now=now,
            )
        # Assessment appointments (no injections, so no clearance gate) for the others,
        # the first one tomorrow and still unconfirmed.
        planned = {p.pk for p in running} | ({finished.pk} if finished else set())
        others = Patient.objects.filter(archived_at__isnull=True).exclude(pk__in=planned)
        for n, patient in enumerate(others.order_by("pk")[:4]):
            starts_at = localise(
                clinic=clinic, day=_weekday(today + timedelta(days=1 + 2 * n)), at=time(13 + n)
            )
            TreatmentSession.objects.create(
                patient=patient,
                clinician=clinician,
                room=rooms[-1],
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=clinic.session_minutes),
                kind=SessionKind.ASSESSMENT,
                status=SessionStatus.SCHEDULED if n == 0 else SessionStatus.CONFIRMED,
                confirmed_at=None if n == 0 else now,
                status_changed_by=desk,
            )
        if finished is not None:
            _completed_course(
                clinic=clinic,
                patient=finished,
                clinician=clinician,
                room=rooms[0],
                version=version,
                today=today,
            )


def _plan(*, clinic, patient, clinician, version, kind, status, **extra) -> TreatmentPlan:
    template = PlanTemplate.objects.get(kind=kind)
    return TreatmentPlan.objects.create(
        patient=patient,
        indication=f"{DEMO_INDICATION}: androgenic alopecia",
        template=template,
        formulation_version=version,
        technique=Technique.NAPPAGE,
        device=Device.MESOGUN,
        target_depth_mm=Decimal("2.0"),
        number_of_sessions=template.number_of_sessions,
        interval_days=14,
        price_per_session=Decimal("150.00"),
        package_price=Decimal("800.00"),
        currency=clinic.currency,
        status=status,
        created_by=clinician,
        **extra,
    )


def demo_session(*, clinic, plan, clinician, room, day, at, status, needs_screening=False, **extra):
    starts_at = localise(clinic=clinic, day=day, at=at)
    return TreatmentSession.objects.create(
        patient=plan.patient,
        clinician=clinician,
        room=room,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=clinic.session_minutes),
        plan=plan,
        status=status,
        needs_screening=needs_screening,
        **extra,
    )


def _running_course(
    *, clinic, patient, clinician, room, version, first, at, checked_in_today, desk, now
):
    plan = _plan(
        clinic=clinic,
        patient=patient,
        clinician=clinician,
        version=version,
        kind=PlanKind.MILD_MODERATE,
        status=PlanStatus.ACTIVE,
    )
    # Consent is signed when the course is planned, before its first injection.
    demo_sign_consent(patient=patient, version=version, clinician=clinician, at=now)
    for n in range(plan.number_of_sessions):
        day = first + timedelta(days=14 * n)
        if not (checked_in_today and n == 0):
            day = _weekday(day)
        gate = session_clearance(patient=patient, formulation_version=version, on_date=day)
        if checked_in_today and n == 0:
            status, extra = SessionStatus.CHECKED_IN, {"checked_in_at": now, "confirmed_at": now}
        elif n == 0 or (n == 1 and day - first < timedelta(days=14)):
            status, extra = SessionStatus.CONFIRMED, {"confirmed_at": now}
        else:
            status, extra = SessionStatus.SCHEDULED, {}
        demo_session(
            clinic=clinic,
            plan=plan,
            clinician=clinician,
            room=room,
            day=day,
            at=at,
            status=status,
            needs_screening=gate.needs_screening,
            status_changed_by=desk,
            **extra,
        )
    plan_reflag(clinic=clinic, plan=plan)


def _course_lot(*, version, received_on: date) -> Lot:
    """A lot of the course's version received before its first session (the formulations
    demo's own lots arrived recently, after these past sessions), so the records name a lot
    that was usable on each session's day."""
    lot = Lot.objects.filter(supplier=DEMO_SUPPLIER, lot_number=COURSE_LOT_NUMBER).first()
    if lot is None:
        lot = lot_receive(
            version=version,
            lot_number=COURSE_LOT_NUMBER,
            supplier=DEMO_SUPPLIER,
            received_on=received_on,
            expires_on=received_on + timedelta(days=365),
            quantity_received=20,
        )
    return lot


def _completed_course(*, clinic, patient, clinician, room, version, today):
    """Six signed sessions that ended a little more than the maintenance delay ago: overdue now.

    Each record goes through records.py as a clinician's would (injections per zone, the lot,
    the pain score, the signature), so stock, aftercare and the course's completion follow the
    app's own rules; only the gate is skipped, as these sessions lie in the past.
    """
    plan = _plan(
        clinic=clinic,
        patient=patient,
        clinician=clinician,
        version=version,
        kind=PlanKind.MILD_MODERATE,
        status=PlanStatus.ACTIVE,
    )
    last = _weekday(add_months(today, -clinic.maintenance_after_months) - timedelta(days=9))
    count = plan.number_of_sessions
    first = last - timedelta(days=14 * (count - 1))
    lot = _course_lot(version=version, received_on=first - timedelta(days=14))
    demo_sign_consent(
        patient=patient,
        version=version,
        clinician=clinician,
        at=localise(clinic=clinic, day=first, at=time(14, 45)),
    )
    # Screened before the first session and re-checked before each, as signing requires.
    screening = demo_screening(patient=patient, clinician=clinician, version=version, on_date=first)
    for n in range(count):
        day = first + timedelta(days=14 * n)
        screening_recheck(screening=screening, by=clinician.user, answers={}, on_date=day)
        session = demo_session(
            clinic=clinic,
            plan=plan,
            clinician=clinician,
            room=room,
            day=day,
            at=time(15, 0),
            status=SessionStatus.CHECKED_IN,
            sequence=n + 1,
            checked_in_at=localise(clinic=clinic, day=day, at=time(14, 55)),
        )
        record = SessionRecord.objects.create(
            session=session, clinician=clinician, formulation_version=version
        )
        for zone, volume, points in DEMO_ZONES:
            records.injection_add(
                record=record,
                zone=zone,
                volume_ml=volume,
                depth_mm=Decimal("2.0"),
                technique=Technique.NAPPAGE,
                device=Device.MESOGUN,
                needle_gauge=32,
                injection_points=points,
            )
        records.record_lot_add(
            record=record,
            lot=lot,
            volume_ml=sum((v for _, v, _ in DEMO_ZONES), Decimal("0")),
            units_used=1,
        )
        records.record_update(record=record, pain_score=DEMO_PAIN[n % len(DEMO_PAIN)])
        records.record_sign(record=record, by=clinician.user, now=session.ends_at)
        # Signed "back then", the record queued the aftercare text of a visit months ago; the
        # patient never had a chance to get it, so the demo outbox does not pretend otherwise.
        Reminder.objects.filter(session=session, kind=ReminderKind.AFTERCARE).delete()
    plan_reflag(clinic=clinic, plan=plan)


def demo_screening(*, patient, clinician, version, on_date):
    """The screening before a demo course; a relative finding (e.g. an anticoagulant) is the
    clinician's call, recorded as an override with a reason, as signing requires."""
    screening = screening_record(
        patient=patient,
        by=clinician.user,
        answers={},
        on_date=on_date,
        formulation_version=version,
        notes="Demo screening before the course.",
    )
    for finding in screening.findings:
        if finding["outcome"] == RuleOutcome.RELATIVE:
            screening_override(
                screening=screening,
                rule_code=finding["rule_code"],
                by=clinician.user,
                reason="Discussed with the patient; firm pressure after each injection.",
                on_date=on_date,
                formulation_version=version,
            )
    return screening


def demo_sign_consent(*, patient, version, clinician, at) -> None:
    """The patient signs the treatment consent (with the off-label statement when the version
    holds a prescription drug) before the first injection, witnessed by the clinician, through
    the consent form's own rule; a patient who has signed already is left alone."""
    if not consent_missing(patient=patient, formulation_version=version):
        return
    texts = consent_texts_for(formulation_version=version)
    document = consent_document(texts=texts, formulation_version=version)
    consent_sign(
        patient=patient,
        witness=clinician.user,
        typed_name=patient.full_name,
        confirmed=True,
        text_digest=consent_digest(document=document),
        formulation_version=version,
        now=at,
    )
