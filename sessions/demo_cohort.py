"""The demo cohort for `seed_demo`: dozens of finished courses of several formulation versions,
so the outcome report, the comparison and the harms table show something (issue 17). Each
course is signed through records.py as a clinician signs; patients/demo_outcomes.py gives the
courses their measurements at baseline, week 12 and week 24. Skipped when the cohort exists."""

import random
from datetime import date, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clinic.models import Room, StaffProfile
from formulations.models import FormulationVersion, Lot
from patients.models import Assessment, Patient
from patients.registration import patient_register
from patients.screening import screening_recheck
from sessions.booking.scheduling import localise
from sessions.demo import DEMO_SUPPLIER, demo_screening, demo_session, demo_sign_consent
from sessions.models import (
    Device,
    Injection,
    PlanKind,
    PlanStatus,
    PlanTemplate,
    Reminder,
    SessionKind,
    SessionRecord,
    SessionStatus,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)
from sessions.records import records
from sessions.records.adverse_events import adverse_event_acknowledge, adverse_event_record

# Dozens of past courses so the outcome report, the comparison and the harms table show
# something: patients/demo_outcomes.py gives them measurements at baseline, week 12 and week 24.
COHORT_INDICATION = "Demo cohort"
COHORT_SEED = 17  # a fixed seed: the same demo clinic every time
# (formulation, version numbers injected in order, courses). A course listing two versions
# switched half way, so the report shows it apart as "mixed".
COHORT = [
    ("DHT-block scalp cocktail", 1, 8),
    ("DHT-block scalp cocktail", 2, 7),
    ("DHT-block scalp cocktail", 3, 11),
    ("Nutrient scalp cocktail", 2, 11),
    # Switched from the nutrient cocktail to DHT v3 half way: the report shows them apart.
    ("mixed", None, 3),
]
# DOMAIN.md: a mild/moderate course is 4–6 sessions; four keep seed_demo quick.
COHORT_SESSIONS = 4
MIXED = [("Nutrient scalp cocktail", 2)] * 2 + [("DHT-block scalp cocktail", 3)] * 2
COHORT_LOTS = {
    ("Nutrient scalp cocktail", 2): "NSC-2404",
    ("DHT-block scalp cocktail", 1): "DHT-2404",
    ("DHT-block scalp cocktail", 2): "DHT-2409",
    ("DHT-block scalp cocktail", 3): "DHT-2411",
}
# Zone, share of the session's volume, injection points.
COHORT_ZONES = [
    ("vertex", Decimal("0.5"), 30),
    ("mid_scalp", Decimal("0.3"), 20),
    ("frontal", Decimal("0.2"), 15),
]
# The first course started this long before today: week 24 of the last one is months past, and
# every session lies inside the harms table's default year.
COHORT_STARTS_DAYS_AGO = 330
GIVEN_MEN = [
    "Adam",
    "Ben",
    "Callum",
    "Dev",
    "Elliot",
    "Farid",
    "George",
    "Harry",
    "Ivan",
    "Jonah",
    "Kwame",
    "Liam",
    "Marek",
    "Nikhil",
    "Owen",
    "Pavel",
    "Rhys",
    "Samir",
    "Tobias",
    "Umar",
    "Victor",
    "Wei",
    "Yusuf",
    "Zach",
    "Arjun",
    "Bilal",
    "Connor",
    "Dmitri",
    "Ewan",
    "Felix",
]
GIVEN_WOMEN = [
    "Alice",
    "Beatriz",
    "Chloe",
    "Dana",
    "Esme",
    "Fatima",
    "Grace",
    "Hana",
    "Iris",
    "Jade",
    "Keira",
    "Lena",
    "Mina",
    "Nora",
    "Olga",
    "Parisa",
    "Rosa",
    "Sana",
]
FAMILY = [
    "Adeyemi",
    "Brooks",
    "Chen",
    "Dawson",
    "Evans",
    "Fischer",
    "Gupta",
    "Hale",
    "Iqbal",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Novak",
    "Osei",
    "Patel",
    "Quinn",
    "Reyes",
    "Silva",
    "Tanaka",
    "Ueda",
    "Varga",
    "Walsh",
    "Xu",
    "Young",
    "Zielinski",
]


def seed_cohort(*, clinic) -> None:
    """Finished courses of four versions and a few mixed ones, each with two follow-up visits
    (weeks 12 and 24, where the outcomes are measured), adverse events at a plausible rate and
    one course stopped for a serious reaction. Skipped when the cohort exists."""
    if TreatmentPlan.objects.filter(indication__startswith=COHORT_INDICATION).exists():
        return
    clinician = StaffProfile.objects.filter(user__username="clinician").first()
    admin = get_user_model().objects.filter(username="admin").first()
    rooms = list(Room.objects.filter(clinic=clinic, is_active=True).order_by("name"))
    versions = {
        (v.formulation.name, v.number): v
        for v in FormulationVersion.objects.select_related("formulation")
    }
    lots = {
        key: Lot.objects.filter(supplier=DEMO_SUPPLIER, lot_number=number).first()
        for key, number in COHORT_LOTS.items()
    }
    if clinician is None or not rooms or not all(lots.values()):
        return
    rng = random.Random(COHORT_SEED)
    today = timezone.localdate()
    first_monday = today - timedelta(days=COHORT_STARTS_DAYS_AGO)
    first_monday -= timedelta(days=first_monday.weekday())
    courses = []
    for formulation, number, count in COHORT:
        plan_versions = MIXED if number is None else [(formulation, number)] * COHORT_SESSIONS
        courses += [plan_versions] * count
    rng.shuffle(courses)
    stopped_one = False
    with transaction.atomic():
        for index, plan_versions in enumerate(courses):
            # Eight courses share a weekday start, each at its own hour; the starts of one hour
            # lie less than a fortnight apart, so no two sessions ever meet (DOMAIN.md: 14 days
            # between sessions).
            start = first_monday + timedelta(days=[0, 1, 2, 3, 4, 7, 8, 9, 10, 11][index // 8])
            hour = time(9 + index % 8, 0)
            stop_after = None
            if not stopped_one and plan_versions[0] == ("DHT-block scalp cocktail", 2):
                stop_after, stopped_one = 2, True
            _cohort_course(
                clinic=clinic,
                clinician=clinician,
                admin=admin,
                room=rooms[index % len(rooms)],
                patient=_cohort_patient(rng=rng, index=index, today=today, clinician=clinician),
                plan_versions=[versions[key] for key in plan_versions],
                lots=[lots[key] for key in plan_versions],
                start=start,
                at=hour,
                stop_after=stop_after,
                rng=rng,
            )


def _cohort_patient(*, rng, index: int, today: date, clinician) -> Patient:
    woman = index % 4 == 3  # a quarter are women (female pattern hair loss)
    given = (GIVEN_WOMEN if woman else GIVEN_MEN)[index % (18 if woman else 30)]
    family = FAMILY[(index * 7) % len(FAMILY)]
    age = rng.randint(22, 66)
    patient = patient_register(
        details={
            "given_name": given,
            "family_name": family,
            "date_of_birth": today.replace(year=today.year - age)
            - timedelta(days=rng.randint(0, 360)),
            "sex_at_birth": "female" if woman else "male",
            "email": f"{given.lower()}.{family.lower()}{index}@patients.example",
            "mobile": f"+4477009{index + 200:05d}",
        },
        email_consent=True,
        sms_consent=False,
        now=timezone.now(),
    )
    if woman:
        scale, value = "ludwig", rng.choice(["I", "II", "II", "III"])
        diagnosis = "L64.8"
    else:
        scale, value = "norwood", rng.choice(["II", "III", "III-vertex", "IV", "IV", "V"])
        diagnosis = "L64.9"
    Assessment.objects.create(
        patient=patient,
        assessed_on=today,  # re-dated below once the course is laid out
        diagnosis=diagnosis,
        scale=scale,
        scale_value=value,
        zones=["vertex", "mid_scalp", "frontal"],
        clinician=clinician.user,
    )
    return patient


def _cohort_course(
    *, clinic, clinician, admin, room, patient, plan_versions, lots, start, at, stop_after, rng
):
    assessment = patient.assessments.get()
    assessment.assessed_on = start - timedelta(days=14)
    assessment.save(update_fields=["assessed_on"])
    plan = TreatmentPlan.objects.create(
        patient=patient,
        assessment=assessment,
        indication=f"{COHORT_INDICATION}: {assessment.get_diagnosis_display()}, "
        f"{assessment.get_scale_display()} {assessment.scale_value}",
        template=PlanTemplate.objects.get(kind=PlanKind.MILD_MODERATE),
        formulation_version=plan_versions[0],
        technique=Technique.NAPPAGE,
        device=Device.MESOGUN,
        target_depth_mm=Decimal("2.0"),
        number_of_sessions=len(plan_versions),
        interval_days=14,
        status=PlanStatus.ACTIVE,
        created_by=clinician,
    )
    screening = demo_screening(
        patient=patient, clinician=clinician, version=plan_versions[0], on_date=start
    )
    for n, (version, lot) in enumerate(zip(plan_versions, lots, strict=True)):
        day = start + timedelta(days=14 * n)
        screening_recheck(screening=screening, by=clinician.user, answers={}, on_date=day)
        demo_sign_consent(
            patient=patient,
            version=version,
            clinician=clinician,
            at=localise(clinic=clinic, day=day, at=at) - timedelta(minutes=15),
        )
        session = demo_session(
            clinic=clinic,
            plan=plan,
            clinician=clinician,
            room=room,
            day=day,
            at=at,
            status=SessionStatus.CHECKED_IN,
            sequence=n + 1,
            checked_in_at=localise(clinic=clinic, day=day, at=at) - timedelta(minutes=5),
        )
        record = SessionRecord.objects.create(
            session=session,
            clinician=clinician,
            formulation_version=version,
            pain_score=rng.randint(1, 6),
        )
        volume = version.unit_volume_ml
        # The zones in one insert (the demo's fixed values pass the model's checks); the lot
        # and the signature go through records.py, which checks the lot and takes its stock.
        Injection.objects.bulk_create(
            Injection(
                record=record,
                zone=zone,
                volume_ml=(volume * share).quantize(Decimal("0.01")),
                depth_mm=Decimal("2.0"),
                technique=Technique.NAPPAGE,
                device=Device.MESOGUN,
                needle_gauge=32,
                injection_points=points,
            )
            for zone, share, points in COHORT_ZONES
        )
        records.record_lot_add(record=record, lot=lot, volume_ml=volume, units_used=1)
        records.record_sign(record=record, by=clinician.user, now=session.ends_at)
        _cohort_events(session=session, lot=lot, version=version, clinician=clinician, rng=rng)
        if stop_after is not None and n + 1 == stop_after:
            _cohort_stop(plan=plan, session=session, lot=lot, clinician=clinician, admin=admin)
            Reminder.objects.filter(patient=patient).delete()
            return
    # Messages of a year ago (aftercare, the maintenance prompt) were the patient's then; the
    # demo outbox does not send them now.
    Reminder.objects.filter(patient=patient).delete()
    # Follow-up visits at weeks 12 and 24, a quarter of an hour after the course's own hour
    # (so they never meet another course's session): the outcomes are measured there, and they
    # keep these patients off the maintenance recall list.
    for week in (12, 24):
        visit = localise(clinic=clinic, day=start + timedelta(weeks=week), at=at) + timedelta(
            minutes=45
        )
        TreatmentSession.objects.create(
            patient=patient,
            clinician=clinician,
            room=room,
            starts_at=visit,
            ends_at=visit + timedelta(minutes=15),
            kind=SessionKind.ASSESSMENT,
            status=SessionStatus.COMPLETED,
            checked_in_at=visit - timedelta(minutes=5),
        )
    # Past patients: they finished with the clinic after their follow-ups, so the recall list
    # (patients still with the clinic) does not call them; their records stay in every report.
    Patient.objects.filter(pk=patient.pk).update(archived_at=visit + timedelta(days=1))


# Chance per session of each event (CTCAE grade 1 or 2): pain is the most frequent, as in
# Saceda-Corralo 2022 (45.5 % of dutasteride patients); the nutrient cocktail stings less.
EVENT_RATES = {
    "DHT-block scalp cocktail": [("pain", 0.22), ("erythema", 0.08), ("headache", 0.04)],
    "Nutrient scalp cocktail": [("pain", 0.12), ("erythema", 0.10), ("bruising", 0.05)],
}


def _cohort_events(*, session, lot, version, clinician, rng) -> None:
    onset = session.starts_at.date()
    for event_type, rate in EVENT_RATES[version.formulation.name]:
        if rng.random() >= rate:
            continue
        grade = 2 if rng.random() < 0.2 else 1
        adverse_event_record(
            session=session,
            by=clinician.user,
            now=session.ends_at,
            event_type=event_type,
            onset_on=onset,
            severity="moderate" if grade == 2 else "mild",
            ctcae_grade=grade,
            serious=False,
            causality="probable",
            outcome="resolved",
            lot=lot,
        )


def _cohort_stop(*, plan, session, lot, clinician, admin) -> None:
    """A serious hypersensitivity after the second session: the course stopped there."""
    event = adverse_event_record(
        session=session,
        by=clinician.user,
        now=session.ends_at + timedelta(days=1),
        event_type="hypersensitivity",
        onset_on=session.starts_at.date(),
        severity="severe",
        ctcae_grade=3,
        serious=True,
        causality="probable",
        outcome="resolved",
        lot=lot,
        treatment_stopped=True,
    )
    if admin is not None:
        adverse_event_acknowledge(event=event, by=admin, now=session.ends_at + timedelta(days=1))
    # Handled at the time: the admins' email sweep has nothing to send for it now.
    type(event).objects.filter(pk=event.pk).update(admins_notified_at=event.reported_at)
    plan.status = PlanStatus.STOPPED
    plan.stopped_reason = "Hypersensitivity after the second session."
    plan.save(update_fields=["status", "stopped_reason"])
