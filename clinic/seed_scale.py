"""A generated clinic of any size, for `make bench` (DESIGN.md decision 10). A seeding module:
it composes the apps (formulations, patients and sessions rows), as the demo does.

`seed_scale(patients=N, seed=S)` builds what years of a two-clinician clinic leave behind:
patients with contact consent, assessments, screenings and re-checks, signed consents, plans
over the years (finished, stopped, running), booked and signed sessions with injections and
lots, outcomes, adverse events, maintenance visits and an outbox holding reminders in every
state. History grows with the number of patients at a fixed pace of new patients a year, so a
bigger clinic is an older clinic with the same week: exactly what a page that scans the past
shows up in.

How rows are made. The staff, the formulations (versions published through versioning.py, by
the formulations demo) and the lots' receipt go through the app's rule functions; the tens of
thousands of clinical rows are bulk inserts, because the rule functions take a few queries
each and a 5,000-patient clinic would take an hour. Bulk rows keep every invariant the database
and the models hold:

- sessions never overlap per clinician, room or patient (PostgreSQL's exclusion constraints);
  course sessions are 14 days apart, moved at most a few days when the day is full;
- a signed record is built as `record_sign` builds it: the record first, unsigned, then its
  injections and lots (the signed-record triggers refuse parts added to a signed record), then
  whatever signing freezes with it, and only then one UPDATE that sets `signed_at` and the
  signer on records that are still unsigned (the model guard and the trigger allow exactly that
  move). The lots named were received before and expire after the session's day and are
  recalled, if ever, only after the signatures; stock is taken off as signing would;
- consents, once inserted, are never touched again (they are immutable).

The simple-history tables get no rows for bulk-made data: a benchmark clinic has no edits to
audit. Reproducible: the same seed on the same day gives the same clinic; idempotent: a second
run with the same size does nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction

from clinic.demo import seed_premises, seed_staff
from clinic.models import Clinic, Room
from clinic.roles import Role
from clinic.seed_scale_history import BATCH, ScaleHistory
from formulations import demo as formulations_demo
from formulations.models import FormulationVersion, VersionStatus
from patients.consent import consent_document, consent_texts_for
from patients.models import (
    Allergy,
    Assessment,
    ConsentSignature,
    Medication,
    MedicationClass,
    Patient,
    Screening,
    ScreeningRule,
    Severity,
    SexAtBirth,
)
from patients.registration import record_number_for
from sessions.booking.maintenance import (
    add_months,
    maintenance_due_after,
)
from sessions.models import (
    Device,
    PlanKind,
    PlanStatus,
    PlanTemplate,
    SessionKind,
    SessionStatus,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)
from sessions.records.usage import usage_recount

SCALE_EMAIL_DOMAIN = "scale.example"
# A two-clinician clinic takes on about this many new patients a year (practice estimate:
# 5,000 patients is about seven years of history).
NEW_PATIENTS_PER_YEAR = 700
SLOT = timedelta(minutes=45)
FIRST_SLOT = time(9, 0)
SLOTS_PER_CLINICIAN = 10  # 09:00 to 16:45, inside working hours 09:00–17:00
STAFF = [
    # username, display name, role, registration number
    ("scale-reception", "Sam Scale (reception)", Role.RECEPTION, ""),
    ("scale-clinician-1", "Dr Ada Scale", Role.CLINICIAN, "GMC 7000001"),
    ("scale-clinician-2", "Dr Ben Scale", Role.CLINICIAN, "GMC 7000002"),
    ("scale-admin", "Cleo Scale (admin)", Role.CLINIC_ADMIN, ""),
]
GIVEN = {
    SexAtBirth.FEMALE: [
        "Amelia", "Olivia", "Isla", "Ava", "Mia", "Grace", "Freya", "Lily", "Sophia", "Emily",
        "Ella", "Chloe", "Priya", "Aisha", "Zara", "Hannah", "Ruth", "Nadia", "Elena", "Joy",
    ],
    SexAtBirth.MALE: [
        "Oliver", "George", "Noah", "Arthur", "Leo", "Harry", "Oscar", "Jack", "Charlie", "Jacob",
        "Thomas", "Henry", "Omar", "Ravi", "Daniel", "Samuel", "Luca", "Adam", "Kwame", "Ivan",
    ],
}  # fmt: skip
FAMILY = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Khan", "Okafor", "Murphy", "Hughes", "Turner", "Bennett",
    "Shah", "Novak", "Kowalski", "Silva", "Rossi", "Müller", "Byrne", "Quinn", "O'Neill",
]  # fmt: skip
CANCEL_REASON = "The patient called to cancel."


class SeedScaleError(Exception):
    """The database already holds a different clinic, or a scale clinic of another size."""


@dataclass
class _Visit:
    """One session to place on the calendar: wanted on `day`, placed by `_Calendar`."""

    patient: int  # index into the generated patients
    plan: int | None  # index into the generated plans
    sequence: int | None
    day: date
    status: str = SessionStatus.COMPLETED
    starts_at: datetime | None = None
    clinician: int = 0


@dataclass
class _Plan:
    patient: int
    kind: str
    version: FormulationVersion
    number: int
    start: date
    status: str = PlanStatus.ACTIVE
    stopped_reason: str = ""
    visits: list[_Visit] = field(default_factory=list)


class _Calendar:
    """Ten 45-minute slots a day per clinician, Monday to Friday; each clinician works in
    their own room, so a placed visit never overlaps another for clinician, room or patient
    (a patient's visits are at least a week apart)."""

    def __init__(self, *, zone, clinicians: int):
        self.zone = zone
        self.clinicians = clinicians
        self.used: dict[date, int] = {}

    def place(self, visit: _Visit, *, latest_shift_days: int = 5) -> bool:
        day = visit.day
        for _ in range(latest_shift_days + 1):
            while day.weekday() >= 5:
                day += timedelta(days=1)
            taken = self.used.get(day, 0)
            if taken < SLOTS_PER_CLINICIAN * self.clinicians:
                self.used[day] = taken + 1
                slot, visit.clinician = divmod(taken, self.clinicians)
                visit.day = day
                start = datetime.combine(day, FIRST_SLOT, tzinfo=self.zone) + slot * SLOT
                visit.starts_at = start
                return True
            day += timedelta(days=1)
        return False


def scale_patients_count() -> int:
    return Patient.objects.filter(email__endswith=f"@{SCALE_EMAIL_DOMAIN}").count()


def seed_scale(*, patients: int, seed: int = 1, today: date, now: datetime) -> dict:
    """Build a clinic of `patients` generated patients; returns the rows made per model."""
    existing = scale_patients_count()
    if existing == patients:
        return {}
    if existing:
        raise SeedScaleError(
            f"This database already holds a generated clinic of {existing} patients; build "
            f"{patients} in a fresh database."
        )
    if Patient.objects.exists():
        raise SeedScaleError(
            "This database already holds patients that seed_scale did not make; build the "
            "generated clinic in a database of its own."
        )
    with transaction.atomic():
        clinic = _clinic()
        staff = [seed_staff(clinic, *row, password=None) for row in STAFF]
        formulations_demo.seed(clinic=clinic)
        made = _Builder(
            clinic=clinic, staff=staff, patients=patients, rng=random.Random(seed), today=today
        ).build(now=now)
        # The bulk-made signatures skip record_sign, so the usage totals it keeps are counted
        # from the records here, as `manage.py usage_recount` would.
        usage_recount()
    if connection.vendor == "postgresql":
        # Fresh statistics after a bulk load, as autovacuum would give them a little later:
        # the planner otherwise guesses a handful of rows in tables of tens of thousands.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return made


def _clinic() -> Clinic:
    clinic = Clinic.current() or Clinic.objects.create(
        name="Scale Hair Clinic",
        time_zone="Europe/London",
        currency="GBP",
        phone="+442079460000",
        email="hello@scale.example",
        address="1 Scale Street\nLondon EC1A 1AA",
    )
    seed_premises(clinic)
    return clinic


class _Builder(ScaleHistory):
    def __init__(self, *, clinic, staff, patients, rng, today):
        self.clinic, self.rng, self.today = clinic, rng, today
        self.zone = clinic.zone
        self.reception, *self.clinicians, self.admin = staff
        self.count = patients
        years = max(1.0, patients / NEW_PATIENTS_PER_YEAR)
        self.start = today - timedelta(days=round(365 * years))
        self.months = clinic.maintenance_after_months
        versions = FormulationVersion.objects.filter(status=VersionStatus.PUBLISHED)
        # The latest published version of each (the demo publishes several of the DHT cocktail).
        self.nutrient = versions.filter(formulation__name="Nutrient scalp cocktail").latest(
            "number"
        )
        self.dht = versions.filter(formulation__name="DHT-block scalp cocktail").latest("number")
        self.templates = {t.kind: t for t in PlanTemplate.objects.all()}
        self.made: dict[str, int] = {}

    # Shape ---------------------------------------------------------------------------------

    def build(self, *, now) -> dict:
        people = [self._person(n) for n in range(self.count)]
        plans: list[_Plan] = []
        calendar = _Calendar(zone=self.zone, clinicians=len(self.clinicians))
        visits: list[_Visit] = []
        for index, person in enumerate(people):
            visits.extend(self._history(index, person, plans))
        # Place in the order the clinic booked them: earliest wanted day first.
        visits.sort(key=lambda v: (v.day, v.patient))
        placed = [v for v in visits if calendar.place(v)]
        self._settle_statuses(placed, plans)
        self.last_visit: dict[int, date] = {}
        for visit in placed:
            if visit.status == "completed":
                self.last_visit[visit.patient] = max(
                    self.last_visit.get(visit.patient, visit.day), visit.day
                )
        patients = self._patients(people)
        self._clinical(people, patients)
        plan_rows = self._plans(plans, patients)
        sessions = self._sessions(placed, plans, patients, plan_rows, now=now)
        self._records(sessions, plans, plan_rows, now=now)
        self._reminders(sessions, plans, plan_rows, patients, now=now)
        return self.made

    def _person(self, n: int) -> dict:
        rng = self.rng
        sex = rng.choice([SexAtBirth.FEMALE, SexAtBirth.MALE, SexAtBirth.MALE])
        # Evenly over the history, the last one a week ago (so even a tiny clinic has a course
        # under way and bookings to come).
        span = (self.today - self.start).days
        joined = self.start + timedelta(days=span * (n + 1) // self.count - 7)
        sms = rng.random() < 0.45
        return {
            "sex": sex,
            "given": rng.choice(GIVEN[sex]),
            "family": rng.choice(FAMILY),
            "born": joined - timedelta(days=rng.randint(20 * 365, 65 * 365)),
            "joined": joined,
            "sms": sms,
            "channel": "sms" if sms and rng.random() < 0.6 else "email",
            "dht": sex == SexAtBirth.MALE and rng.random() < 0.3,
            "kind": rng.choices(
                [PlanKind.MILD_MODERATE, PlanKind.SEVERE, PlanKind.PREVENTIVE], [70, 15, 15]
            )[0],
            "medication": rng.random() < 0.15,
            "allergy": rng.random() < 0.04,
        }

    def _history(self, index: int, person: dict, plans: list[_Plan]) -> list[_Visit]:
        rng = self.rng
        template = self.templates[person["kind"]]
        plan = _Plan(
            patient=index,
            kind=person["kind"],
            version=self.dht if person["dht"] else self.nutrient,
            number=template.number_of_sessions,
            start=person["joined"] + timedelta(days=rng.randint(7, 21)),
        )
        plans.append(plan)
        plan_index = len(plans) - 1
        stops_after = rng.randint(1, plan.number - 1) if rng.random() < 0.08 else None
        visits = []
        for n in range(plan.number if stops_after is None else stops_after):
            visit = _Visit(
                patient=index,
                plan=plan_index,
                sequence=n + 1,
                day=plan.start + timedelta(days=template.interval_days * n),
            )
            visits.append(visit)
            plan.visits.append(visit)
        if stops_after is not None:
            plan.status, plan.stopped_reason = PlanStatus.STOPPED, "The patient moved away."
            return visits
        # Maintenance: most patients come back at the interval for a while, then drift away.
        day = visits[-1].day
        keeps_coming = rng.random() < 0.6
        while keeps_coming:
            day = add_months(day, self.months) + timedelta(days=rng.randint(-7, 10))
            if day > self.today + timedelta(days=30):
                break
            visits.append(_Visit(patient=index, plan=None, sequence=None, day=day))
            keeps_coming = rng.random() < 0.7
        return visits

    def _settle_statuses(self, placed: list[_Visit], plans: list[_Plan]) -> None:
        """Past visits happened (a few were missed), today's are in the clinic or on their way,
        later ones are booked; a plan is completed once its last course visit is signed."""
        rng = self.rng
        for visit in placed:
            if visit.day < self.today:
                roll = rng.random()
                visit.status = (
                    SessionStatus.NO_SHOW if roll < 0.02 and visit.sequence != 1 else "completed"
                )
            elif visit.day == self.today:
                visit.status = rng.choice([SessionStatus.CHECKED_IN, SessionStatus.CONFIRMED])
            else:
                visit.status = rng.choice([SessionStatus.SCHEDULED, SessionStatus.CONFIRMED])
        for plan in plans:
            plan.visits = [v for v in plan.visits if v.starts_at is not None]
            if plan.status == PlanStatus.STOPPED or not plan.visits:
                if not plan.visits:
                    plan.status, plan.stopped_reason = PlanStatus.STOPPED, "Never started."
                continue
            done = all(v.status in ("completed", SessionStatus.NO_SHOW) for v in plan.visits)
            if done and plan.visits[-1].status == SessionStatus.COMPLETED:
                plan.status = PlanStatus.COMPLETED

    # Rows ----------------------------------------------------------------------------------

    def _bulk(self, model, rows: list) -> list:
        made = model.objects.bulk_create(rows, batch_size=BATCH)
        self.made[model._meta.label] = self.made.get(model._meta.label, 0) + len(made)
        return made

    def _patients(self, people: list[dict]) -> list[Patient]:
        rows = []
        for n, person in enumerate(people):
            consent_at = datetime.combine(person["joined"], time(10), tzinfo=self.zone)
            rows.append(
                Patient(
                    record_number=f"S{n:019d}",  # replaced by the number from the pk below
                    given_name=person["given"],
                    family_name=person["family"],
                    date_of_birth=person["born"],
                    sex_at_birth=person["sex"],
                    email=f"patient{n}@{SCALE_EMAIL_DOMAIN}",
                    mobile=f"+4477009{n % 100000:05d}",
                    preferred_channel=person["channel"],
                    email_consent_at=consent_at,
                    sms_consent_at=consent_at if person["sms"] else None,
                )
            )
        patients = self._bulk(Patient, rows)
        for patient in patients:
            patient.record_number = record_number_for(patient.pk)
        Patient.objects.bulk_update(patients, ["record_number"], batch_size=BATCH)
        return patients

    def _clinical(self, people: list[dict], patients: list[Patient]) -> None:
        """Assessment, screening and signed consent on the day each patient joined; a few
        current medicines and allergies (what the screening rules read)."""
        clinician = self.clinicians[0].user
        questions = sorted(
            {r.question_key for r in ScreeningRule.objects.filter(is_active=True)} - {""}
        )
        no_answers = dict.fromkeys(questions, False)
        assessments, screenings, medications, allergies = [], [], [], []
        for person, patient in zip(people, patients, strict=True):
            female = person["sex"] == SexAtBirth.FEMALE
            assessments.append(
                Assessment(
                    patient=patient,
                    assessed_on=person["joined"],
                    diagnosis="L65.9" if female else "L64.9",
                    scale="ludwig" if female else "norwood",
                    scale_value="II" if female else self.rng.choice(["II", "III", "IV"]),
                    zones=["vertex", "mid_scalp"],
                    clinician=clinician,
                )
            )
            screenings.append(
                Screening(
                    patient=patient,
                    screened_on=person["joined"],
                    clinician=clinician,
                    answers=no_answers,
                    findings=[],
                )
            )
            if person["medication"]:
                medications.append(
                    Medication(
                        patient=patient,
                        name="Minoxidil tablets",
                        medication_class=MedicationClass.OTHER,
                        dose="2.5 mg daily",
                        started_on=person["joined"] - timedelta(days=200),
                        recorded_by=clinician,
                    )
                )
            if person["allergy"]:
                allergies.append(
                    Allergy(
                        patient=patient,
                        substance="Latex",
                        severity=Severity.MILD,
                        reaction="Rash",
                        recorded_by=clinician,
                    )
                )
        self.assessments = self._bulk(Assessment, assessments)
        self.screenings = {s.patient_id: s for s in self._bulk(Screening, screenings)}
        self._bulk(Medication, medications)
        self._bulk(Allergy, allergies)
        self._consents(people, patients, clinician)

    def _consents(self, people, patients, witness) -> None:
        documents = {}
        for version in (self.nutrient, self.dht):
            texts = consent_texts_for(formulation_version=version)
            documents[version.pk] = (
                texts,
                consent_document(texts=texts, formulation_version=version),
            )
        rows, texts_of = [], []
        for person, patient in zip(people, patients, strict=True):
            version = self.dht if person["dht"] else self.nutrient
            texts, document = documents[version.pk]
            rows.append(
                ConsentSignature(
                    patient=patient,
                    formulation_version=version,
                    text_signed=document,
                    typed_name=f"{person['given']} {person['family']}",
                    confirmed=True,
                    signed_at=datetime.combine(person["joined"], time(10, 30), tzinfo=self.zone),
                    witness=witness,
                )
            )
            texts_of.append(texts)
        signatures = self._bulk(ConsentSignature, rows)
        through = ConsentSignature.texts.through
        self._bulk(
            through,
            [
                through(consentsignature_id=s.pk, consenttext_id=t.pk)
                for s, texts in zip(signatures, texts_of, strict=True)
                for t in texts
            ],
        )

    def _plans(self, plans: list[_Plan], patients: list[Patient]) -> list[TreatmentPlan]:
        assessment_of = {a.patient_id: a for a in self.assessments}
        rows = []
        for plan in plans:
            patient = patients[plan.patient]
            template = self.templates[plan.kind]
            completed_at = due_on = prompt_on = None
            if plan.status == PlanStatus.COMPLETED:
                completed_at = plan.visits[-1].starts_at + SLOT
                # As signing leaves it: due from the last visit, maintenance ones included.
                due_on = maintenance_due_after(
                    clinic=self.clinic, visit_on=self.last_visit[plan.patient]
                )
                prompt_on = due_on
            rows.append(
                TreatmentPlan(
                    patient=patient,
                    assessment=assessment_of[patient.pk],
                    indication="Androgenic alopecia",
                    template=template,
                    formulation_version=plan.version,
                    technique=Technique.NAPPAGE,
                    device=Device.MESOGUN,
                    target_depth_mm=Decimal("2.0"),
                    number_of_sessions=plan.number,
                    interval_days=template.interval_days,
                    price_per_session=Decimal("150.00"),
                    currency=self.clinic.currency,
                    status=plan.status,
                    stopped_reason=plan.stopped_reason,
                    completed_at=completed_at,
                    maintenance_due_on=due_on,
                    maintenance_prompt_on=prompt_on,
                    created_by=self.clinicians[0],
                )
            )
        return self._bulk(TreatmentPlan, rows)

    def _sessions(self, placed, plans, patients, plan_rows, *, now) -> list[TreatmentSession]:
        rooms = list(Room.objects.filter(clinic=self.clinic).order_by("name"))
        rows = []
        self.visit_of: dict[int, _Visit] = {}
        for visit in placed:
            clinician = self.clinicians[visit.clinician]
            plan = plans[visit.plan] if visit.plan is not None else None
            status = visit.status
            extra = {}
            if status == SessionStatus.CHECKED_IN:
                extra = {"checked_in_at": now, "confirmed_at": now}
            elif status == SessionStatus.CONFIRMED:
                extra = {"confirmed_at": visit.starts_at - timedelta(days=1)}
            rows.append(
                TreatmentSession(
                    patient=patients[visit.patient],
                    clinician=clinician,
                    room=rooms[visit.clinician % len(rooms)],
                    starts_at=visit.starts_at,
                    ends_at=visit.starts_at + SLOT,
                    # A visit that is signed below is still checked in until its signature.
                    status=SessionStatus.CHECKED_IN if status == "completed" else status,
                    plan=plan_rows[visit.plan] if plan is not None else None,
                    sequence=visit.sequence,
                    kind=SessionKind.TREATMENT,
                    status_changed_by=self.reception.user,
                    **extra,
                )
            )
        # Cancelled bookings free their slot, so they may sit where a later booking went.
        cancelled = [v for v in placed if v.day < self.today and self.rng.random() < 0.05]
        for visit in cancelled:
            starts_at = visit.starts_at - timedelta(days=2)
            rows.append(
                TreatmentSession(
                    patient=patients[visit.patient],
                    clinician=self.clinicians[visit.clinician],
                    room=rooms[visit.clinician % len(rooms)],
                    starts_at=starts_at,
                    ends_at=starts_at + SLOT,
                    status=SessionStatus.CANCELLED_BY_PATIENT,
                    status_reason=CANCEL_REASON,
                    cancelled_at=starts_at - timedelta(days=1),
                    kind=SessionKind.TREATMENT,
                    status_changed_by=self.reception.user,
                )
            )
        sessions = self._bulk(TreatmentSession, rows)
        for visit, session in zip(placed, sessions, strict=False):
            self.visit_of[session.pk] = visit
        return sessions
