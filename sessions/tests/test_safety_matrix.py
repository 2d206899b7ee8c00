"""The safety matrix: every clinical safety rule × every path a change can take, each refused.

One row per (rule, path). A path is how someone could try it: the web form a user fills in, the
Django admin, a model's save(), a queryset's update() or bulk_create(), raw SQL (PostgreSQL, where
triggers stand behind the ORM), and two requests at once. Each row's attempt returns the words
the refusal gave (a message on the page, or the exception's text); the row says which words they
must contain, and afterwards the rule's `holds` check proves nothing got through.

A new rule gets its rows here. Paths a rule does not have are left out on purpose: the clearance
of a booking is judged by the booking (form and function) and again at the signature, which the
database guards (rule "signature"), so it has no save/SQL rows of its own.
"""

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.test import Client
from django.urls import reverse

from clinic.roles import Role
from clinic.tests.accounts import StaffClient
from formulations.lots import lot_correct, lot_recall
from formulations.models import FormulationVersion, Ingredient, IngredientLine, Lot
from patients.consent import (
    consent_digest,
    consent_document,
    consent_sign_remote,
    consent_texts_for,
)
from patients.models import ConsentSignature, ScreeningRule, SignatureMethod
from patients.rules import screening_rule_revise
from patients.screening import screening_recheck
from patients.tests.factories import PatientFactory, ScreeningRecheckFactory
from sessions.booking.plans import plan_create
from sessions.booking.scheduling import BookingRefused, session_book, session_move
from sessions.models import (
    ClearanceSnapshot,
    Injection,
    PlanKind,
    PlanTemplate,
    SessionRecord,
    SessionStatus,
    TreatmentSession,
)
from sessions.outreach.links import patient_link_issue
from sessions.records import records
from sessions.records.records import RecordRefused
from sessions.tests.records_fixtures import DURING_SESSION, SESSION_DAY, SESSION_START
from sessions.tests.workers import wait_until

POSTGRES_ONLY = "postgresql only: the triggers behind the ORM"
VERTEX = {
    "zone": "vertex",
    "volume_ml": Decimal("0.6"),
    "depth_mm": Decimal("2.0"),
    "technique": "nappage",
    "device": "syringe",
    "needle_gauge": 32,
    "injection_points": 30,
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(DURING_SESSION, tick=False):
        yield


class World:
    """A clinic on the day of a treatment session: a female patient screened, re-checked and
    consented for a dutasteride course (session 1 of 2 checked in), its lot, and the people who
    act. Heavier pieces (a signed record, a record of a patient found pregnant since its start)
    are built when a row asks for them."""

    def __init__(self, *, clinic, clinician, room, checked_in, lot, staff):
        self.clinic, self.clinician, self.room = clinic, clinician, room
        self.session, self.lot, self.staff = checked_in, lot, staff
        self.patient = checked_in.patient
        self.plan = checked_in.plan
        self.version = self.plan.formulation_version

    def client(self, role: Role) -> Client:
        client = StaffClient()  # force_login gives clinicians and admins their second factor
        client.force_login(self.clinician.user if role == Role.CLINICIAN else self.staff(role).user)
        return client

    def rule(self, code: str) -> ScreeningRule:
        return ScreeningRule.objects.current().get(code=code)

    @cached_property
    def record(self) -> SessionRecord:
        """Started and filled in: the lot is named on it."""
        record = records.record_start(
            session=self.session, clinician=self.clinician, now=DURING_SESSION
        )
        records.injection_add(record=record, **VERTEX)
        records.record_lot_add(record=record, lot=self.lot, volume_ml=Decimal("0.6"))
        return record

    @cached_property
    def signed(self) -> SessionRecord:
        return records.record_sign(record=self.record, by=self.clinician.user, now=DURING_SESSION)

    @cached_property
    def pregnant_since_start(self) -> SessionRecord:
        """The record is started; then today's re-check finds her pregnant."""
        record = self.record
        ScreeningRecheckFactory(
            screening=self.patient.screenings.get(),
            checked_on=SESSION_DAY,
            answers={"pregnant": True},
        )
        return record

    @cached_property
    def later_session(self) -> TreatmentSession:
        """Session 2 of the course, two weeks on."""
        return session_book(
            clinic=self.clinic,
            patient=self.patient,
            clinician=self.clinician,
            room=self.room,
            starts_at=SESSION_START + timedelta(days=14),
            by=self.clinician.user,
            now=DURING_SESSION,
            plan=self.plan,
        )


@pytest.fixture
def world(open_clinic, clinician, room, checked_in, lot, staff) -> World:
    checked_in.patient.sex_at_birth = "female"
    checked_in.patient.save(update_fields=["sex_at_birth"])
    return World(
        clinic=open_clinic,
        clinician=clinician,
        room=room,
        checked_in=checked_in,
        lot=lot,
        staff=staff,
    )


# How a row's attempt reports -----------------------------------------------------------------


class NotRefused(AssertionError):
    pass


def refused(attempt: Callable[[], object], *errors: type[Exception]) -> str:
    """The words of the refusal `attempt` raised (one of `errors`), in its own savepoint."""
    try:
        with transaction.atomic():
            attempt()
    except errors as exc:
        if isinstance(exc, ValidationError):
            return " ".join(exc.messages)
        return getattr(exc, "message", None) or str(exc)
    raise NotRefused("nothing refused it")


def sql(statement: str, *params) -> str:
    def run():
        with connection.cursor() as cursor:
            cursor.execute(statement, params)

    return refused(run, IntegrityError)


def page(response) -> str:
    """The words a user reads on the page a form returned (after its redirect, if any)."""
    assert response.status_code < 500, response.status_code
    return re.sub(r"\s+", " ", response.content.decode()).replace("&#x27;", "'")


def update(queryset, **values) -> str:
    return refused(lambda: queryset.update(**values), ValidationError)


def save(obj, **values) -> str:
    for name, value in values.items():
        setattr(obj, name, value)
    return refused(obj.save, ValidationError)


# The rules: what must hold after every attempt ------------------------------------------------


def absolute_rule_holds(w: World):
    rule = w.rule("pregnancy")
    assert (rule.outcome, rule.is_active, rule.trigger) == ("absolute", True, "answer")


def named_lot_holds(w: World):
    w.lot.refresh_from_db()
    assert (w.lot.lot_number, w.lot.expires_on) == ("DHT-7001", date(2027, 10, 1))


def ingredient_holds(w: World):
    dutasteride = Ingredient.objects.get(lines__version=w.version, is_prescription_drug=True)
    assert (dutasteride.name, dutasteride.category) == ("Dutasteride", "5ari")


def published_version_holds(w: World):
    version = FormulationVersion.objects.get(pk=w.version.pk)
    assert (version.unit_volume_ml, version.lines.count()) == (Decimal("1"), 2)


def signature_holds(w: World):
    assert not SessionRecord.objects.filter(signed_at__isnull=False).exists()


def signed_session_holds(w: World):
    session = TreatmentSession.objects.get(pk=w.session.pk)
    assert (session.patient_id, session.starts_at, session.status) == (
        w.patient.pk,
        SESSION_START,
        SessionStatus.COMPLETED,
    )


def spacing_holds(w: World):
    days = sorted(
        s.starts_at.date() for s in w.plan.sessions.filter(status__in=["scheduled", "checked_in"])
    )
    assert all((b - a).days >= 7 for a, b in zip(days, days[1:], strict=False)), days


def clearance_holds(w: World):
    assert not TreatmentSession.objects.exclude(pk=w.session.pk).filter(kind="treatment").exists()


def depth_holds(w: World):
    assert not Injection.objects.filter(depth_mm__gt=4).exists()


# The rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    rule: str
    path: str
    attempt: Callable[[World], str]
    says: str  # a regular expression the refusal's words contain
    holds: Callable[[World], None]
    postgres: bool = False  # raw SQL: only PostgreSQL has the triggers

    def __str__(self):
        return f"{self.rule} × {self.path}"


def _admin_rule_page(w: World) -> str:
    url = reverse("admin:patients_screeningrule_change", args=[w.rule("pregnancy").pk])
    client = w.client(Role.CLINIC_ADMIN)
    rule = w.rule("pregnancy")
    form = {
        "question": rule.question,
        "reason": rule.reason,
        "position": rule.position,
        "in_recheck": "on",
        "change_reason": "Switching it off",
        # is_active left out: an unticked box, as a person switching it off would send
    }
    return page(client.get(url)) + page(client.post(url, form))


def _admin_lot_page(w: World) -> str:
    _named(w)
    url = reverse("admin:formulations_lot_change", args=[w.lot.pk])
    client = w.client(Role.CLINIC_ADMIN)
    form = {
        "lot_number": "DHT-7001",
        "supplier": w.lot.supplier,
        "received_on": w.lot.received_on.isoformat(),
        "expires_on": "2030-01-01",
        "quantity_received": w.lot.quantity_received,
        "quantity_remaining": w.lot.quantity_remaining,
        "corrections-TOTAL_FORMS": "0",
        "corrections-INITIAL_FORMS": "0",
    }
    return page(client.get(url)) + page(client.post(url, form, follow=True))


def _admin_ingredient_page(w: World) -> str:
    dutasteride = Ingredient.objects.get(name="Dutasteride")
    url = reverse("admin:formulations_ingredient_change", args=[dutasteride.pk])
    client = w.client(Role.CLINIC_ADMIN)
    form = {"name": "Finasteride", "category": "vitamin", "synonyms": "", "references": ""}
    return page(client.get(url)) + page(client.post(url, form, follow=True))


def _admin_version_post(w: World) -> str:
    url = reverse("admin:formulations_formulationversion_change", args=[w.version.pk])
    response = w.client(Role.CLINIC_ADMIN).post(url, {"unit_volume_ml": "9"})
    return f"{response.status_code} Forbidden" if response.status_code == 403 else page(response)


def _sign_through_the_page(w: World) -> str:
    record = w.pregnant_since_start
    url = reverse("treatment_sessions:record_sign", args=[record.session_id])
    client = w.client(Role.CLINICIAN)
    return page(client.post(url, {"confirm": "yes"}, follow=True))


def _forged_snapshot_and_recalled_lot(w: World) -> str:
    record = w.record
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO treatment_sessions_clearancesnapshot (record_id, cleared, taken_at, data)"
            " VALUES (%s, true, now(), '{}')",
            [record.pk],
        )
        cursor.execute("UPDATE formulations_lot SET status = 'recalled' WHERE id = %s", [w.lot.pk])
    return sql(
        "UPDATE treatment_sessions_sessionrecord SET signed_at = now(), signed_by_id = %s "
        "WHERE id = %s",
        w.clinician.pk,
        record.pk,
    )


def _session_page_cancel(w: World) -> str:
    w.signed  # noqa: B018
    url = reverse("treatment_sessions:session_cancel", args=[w.session.pk])
    form = {"cancelled_by": "clinic", "reason": "Entered by mistake"}
    return page(w.client(Role.RECEPTION).post(url, form))


def _book_form(w: World, patient, day: str, **extra) -> str:
    form = {
        "patient": patient.pk,
        "kind": "treatment",
        "clinician": w.clinician.pk,
        "room": w.room.pk,
        "date": day,
        "time": "10:00",
        **extra,
    }
    return page(w.client(Role.RECEPTION).post("/sessions/new/", form, follow=True))


def _plan_form(w: World, patient) -> str:
    form = {
        "template": PlanTemplate.objects.get(kind=PlanKind.MILD_MODERATE).pk,
        "indication": "L64 androgenic alopecia, Norwood III",
        "formulation_version": w.version.pk,
        "technique": "nappage",
        "device": "mesogun",
        "target_depth_mm": "2.0",
    }
    url = reverse("treatment_sessions:plan_new", args=[patient.pk])
    return page(w.client(Role.CLINICIAN).post(url, form))


def _session_row(w: World, **values) -> TreatmentSession:
    start = values.pop("starts_at", SESSION_START + timedelta(days=3))
    return TreatmentSession(
        patient=w.patient,
        clinician=w.clinician,
        room=w.room,
        plan=w.plan,
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        **values,
    )


def _unscreened(w: World):
    return PatientFactory(given_name="Una", family_name="Unscreened")


def _deep_injection(w: World, depth="5.0") -> Injection:
    return Injection(record=w.record, **{**VERTEX, "zone": "frontal", "depth_mm": Decimal(depth)})


ABSOLUTE = "An absolute screening rule is never switched off or demoted"
NAMED_LOT = "A lot a record names keeps its number, supplier and expiry"
INGREDIENT = "An ingredient of a published version keeps its name, category and drug flag"
PUBLISHED = "A published version never changes"
SIGNATURE = "A signature needs a cleared clearance, taken under lock"
SIGNED_SESSION = "A signed record's session keeps its patient, time, clinician and kind"
SPACING = "Course sessions are at least 7 days apart unless a clinician overrides"
CLEARANCE = "Treatment is planned and booked only for a patient cleared for it"
DEPTH = "No injection deeper than 4 mm"
WITNESS = "A consent signed in the clinic has a clinician as witness; remote only where allowed"
IN_PLACE = "never edited"


# An absolute rule


def _revise_pregnancy_off(w):
    return refused(
        lambda: screening_rule_revise(
            rule=w.rule("pregnancy"), by=w.clinician.user, change_reason="x", is_active=False
        ),
        ValidationError,
    )


def _bulk_create_demoted_pregnancy(w):
    demoted = ScreeningRule(
        code="pregnancy",
        version=2,
        question_key="pregnant",
        question="Are you pregnant?",
        outcome="relative",
        reason="Pregnant.",
    )
    return refused(lambda: ScreeningRule.objects.bulk_create([demoted]), ValidationError)


SQL_DEMOTED_PREGNANCY = """
    INSERT INTO patients_screeningrule (code, version, question_key, question, outcome, trigger,
        trigger_value, applies_to_sex, reason, in_recheck, position, is_active, change_reason)
    SELECT code, 2, question_key, question, 'relative', trigger, trigger_value, applies_to_sex,
        reason, in_recheck, position, is_active, 'x'
    FROM patients_screeningrule WHERE code = 'pregnancy'
"""


# A lot named on a record


def _correct_expiry_later(w):
    return refused(
        lambda: lot_correct(
            lot=w.lot,
            field="expires_on",
            new_value="2030-01-01",
            reason="x",
            by=w.clinician.user,
            now=DURING_SESSION,
        ),
        ValidationError,
    )


def _named(w):
    w.record  # noqa: B018 (building it names the lot)
    return w.lot


# A published version


def _line_onto_published(w):
    caffeine = Ingredient.objects.create(name="Caffeine", category="stimulant")
    line = IngredientLine(
        version=w.version,
        ingredient=caffeine,
        amount=1,
        unit="mg",
        per_volume_ml=1,
        concentration=1,
        concentration_unit="mg/mL",
    )
    return refused(lambda: IngredientLine.objects.bulk_create([line]), ValidationError)


# The signature


def _sign_pregnant(w):
    return refused(
        lambda: records.record_sign(
            record=w.pregnant_since_start, by=w.clinician.user, now=DURING_SESSION
        ),
        RecordRefused,
    )


def _bulk_create_signed(w):
    signed = SessionRecord(
        session=w.session,
        clinician=w.clinician,
        formulation_version=w.version,
        signed_at=DURING_SESSION,
        signed_by=w.clinician,
    )
    return refused(lambda: SessionRecord.objects.bulk_create([signed]), ValidationError)


def _sql_sign_pregnant(w):
    return sql(
        "UPDATE treatment_sessions_sessionrecord SET signed_at = now(), signed_by_id = %s "
        "WHERE id = %s",
        w.clinician.pk,
        w.pregnant_since_start.pk,
    )


# The session of a signed record


def _move_signed(w):
    w.signed  # noqa: B018
    return refused(
        lambda: session_move(
            clinic=w.clinic,
            session=w.session,
            starts_at=SESSION_START + timedelta(days=1),
            by=w.clinician.user,
            now=DURING_SESSION,
        ),
        BookingRefused,
    )


def _save_signed_session_to_another_patient(w):
    w.signed  # noqa: B018
    return save(TreatmentSession.objects.get(pk=w.session.pk), patient=PatientFactory())


def _update_signed_session_time(w):
    w.signed  # noqa: B018
    later = SESSION_START + timedelta(hours=2)
    return update(
        TreatmentSession.objects.filter(pk=w.session.pk),
        starts_at=later,
        ends_at=later + timedelta(minutes=45),
    )


def _sql_cancel_signed_session(w):
    w.signed  # noqa: B018
    return sql(
        "UPDATE treatment_sessions_treatmentsession SET status = 'cancelled_clinic', "
        "status_reason = 'x' WHERE id = %s",
        w.session.pk,
    )


# Course spacing


def _book_three_days_on(w):
    return refused(
        lambda: session_book(
            clinic=w.clinic,
            patient=w.patient,
            clinician=w.clinician,
            room=w.room,
            starts_at=SESSION_START + timedelta(days=3),
            by=w.clinician.user,
            now=DURING_SESSION,
            plan=w.plan,
        ),
        BookingRefused,
    )


def _update_later_session_closer(w):
    closer = SESSION_START + timedelta(days=2)
    return update(
        TreatmentSession.objects.filter(pk=w.later_session.pk),
        starts_at=closer,
        ends_at=closer + timedelta(minutes=45),
    )


def _sql_later_session_closer(w):
    return sql(
        "UPDATE treatment_sessions_treatmentsession SET starts_at = starts_at - interval '12 "
        "days', ends_at = ends_at - interval '12 days' WHERE id = %s",
        w.later_session.pk,
    )


# Clearance of a plan and a booking


def _book_pregnant(w):
    ScreeningRecheckFactory(
        screening=w.patient.screenings.get(),
        checked_on=date(2026, 11, 24),
        answers={"pregnant": True},
    )
    return refused(
        lambda: session_book(
            clinic=w.clinic,
            patient=w.patient,
            clinician=w.clinician,
            room=w.room,
            starts_at=SESSION_START + timedelta(days=1),
            by=w.clinician.user,
            now=DURING_SESSION,
        ),
        BookingRefused,
    )


def _plan_unscreened(w):
    return refused(
        lambda: plan_create(
            clinic=w.clinic,
            patient=_unscreened(w),
            by=w.clinician.user,
            on_date=SESSION_DAY,
            indication="L64 androgenic alopecia",
            formulation_version=w.version,
            technique="nappage",
            device="mesogun",
            target_depth_mm=Decimal("2"),
            number_of_sessions=4,
            interval_days=14,
        ),
        BookingRefused,
    )


# Depth


def _deep_through_the_form(w):
    w.record  # noqa: B018
    url = reverse("treatment_sessions:record_injection_add", args=[w.session.pk])
    form = {**VERTEX, "zone": "frontal", "depth_mm": "5"}
    return page(w.client(Role.CLINICIAN).post(url, form))


def _deep_through_the_rule(w):
    deep = {**VERTEX, "zone": "frontal", "depth_mm": Decimal("5")}
    return refused(lambda: records.injection_add(record=w.record, **deep), RecordRefused)


DEPTH_CHECK = "injection_depth_within_1_to_4_mm"


# Consent witness (remote signing is the clinic's choice, off by default)

WITNESS_CHECK = "consent_witnessed_or_remote"


def witness_holds(w: World):
    assert not ConsentSignature.objects.filter(
        method=SignatureMethod.IN_CLINIC, witness__isnull=True
    ).exists()
    assert not ConsentSignature.objects.filter(method=SignatureMethod.REMOTE).exists()
    assert all(c.witness_id for c in ConsentSignature.objects.filter(patient=w.patient))


def _unwitnessed(w: World) -> ConsentSignature:
    return ConsentSignature(
        patient=w.patient,
        text_signed="Consent to scalp mesotherapy",
        typed_name="A Patient",
        confirmed=True,
        signed_at=DURING_SESSION,
        witness=None,
    )


def _sign_at_home_where_not_allowed(w: World) -> str:
    link = patient_link_issue(session=w.later_session, now=DURING_SESSION)
    intake = link.split("://", 1)[1].split("/", 1)[1]
    return page(Client().post(f"/{intake}intake/", {"sign_name": "A Patient", "sign_agree": "on"}))


def _remote_function_where_not_allowed(w: World) -> str:
    document = consent_document(texts=consent_texts_for())
    return refused(
        lambda: consent_sign_remote(
            patient=w.patient,
            clinic=w.clinic,
            link_id=1,
            channel="sms",
            typed_name="A Patient",
            confirmed=True,
            text_digest=consent_digest(document=document),
            now=DURING_SESSION,
        ),
        ValidationError,
    )


SQL_UNWITNESSED = """
INSERT INTO patients_consentsignature
    (patient_id, text_signed, typed_name, confirmed, signed_at, method, remote_channel)
VALUES (%s, 'Consent', 'A Patient', TRUE, CURRENT_TIMESTAMP, 'in_clinic', '')
"""

ROWS = [
    # An absolute rule
    Row(ABSOLUTE, "django admin", _admin_rule_page, "never be switched off.*Nothing was changed",
        absolute_rule_holds),
    Row(ABSOLUTE, "rule function", _revise_pregnancy_off, "never be switched off",
        absolute_rule_holds),
    Row(ABSOLUTE, "model save", lambda w: save(w.rule("pregnancy"), is_active=False), IN_PLACE,
        absolute_rule_holds),
    Row(ABSOLUTE, "queryset update",
        lambda w: update(ScreeningRule.objects.filter(code="pregnancy"), outcome="relative"),
        IN_PLACE, absolute_rule_holds),
    Row(ABSOLUTE, "bulk_create", _bulk_create_demoted_pregnancy, "never be demoted",
        absolute_rule_holds),
    Row(ABSOLUTE, "raw SQL",
        lambda w: sql("UPDATE patients_screeningrule SET is_active = false "
                      "WHERE code = 'pregnancy'"),
        IN_PLACE, absolute_rule_holds, postgres=True),
    Row(ABSOLUTE, "raw SQL insert", lambda w: sql(SQL_DEMOTED_PREGNANCY), "never be weakened",
        absolute_rule_holds, postgres=True),
    # A lot named on a record
    Row(NAMED_LOT, "django admin", _admin_lot_page, "expiry are read-only", named_lot_holds),
    Row(NAMED_LOT, "correction function", _correct_expiry_later, "never past 01 Oct 2027",
        named_lot_holds),
    Row(NAMED_LOT, "model save", lambda w: save(_named(w), expires_on=date(2030, 1, 1)),
        "Record a lot correction", named_lot_holds),
    Row(NAMED_LOT, "queryset update",
        lambda w: update(Lot.objects.filter(pk=_named(w).pk), lot_number="DHT-7002"),
        "Record a lot correction", named_lot_holds),
    Row(NAMED_LOT, "raw SQL",
        lambda w: sql("UPDATE formulations_lot SET expires_on = '2030-01-01' WHERE id = %s",
                      _named(w).pk),
        "record a lot correction", named_lot_holds, postgres=True),
    # An ingredient of a published version
    Row(INGREDIENT, "django admin", _admin_ingredient_page, "prescription flag are read-only",
        ingredient_holds),
    Row(INGREDIENT, "model save",
        lambda w: save(Ingredient.objects.get(name="Dutasteride"), category="vitamin"),
        "Add a new ingredient instead", ingredient_holds),
    Row(INGREDIENT, "queryset update",
        lambda w: update(Ingredient.objects.filter(name="Dutasteride"), name="Finasteride"),
        "Add a new ingredient instead", ingredient_holds),
    Row(INGREDIENT, "raw SQL",
        lambda w: sql("UPDATE formulations_ingredient SET category = 'vitamin' "
                      "WHERE name = 'Dutasteride'"),
        "add a new one", ingredient_holds, postgres=True),
    # A published version
    Row(PUBLISHED, "django admin", _admin_version_post, "403 Forbidden", published_version_holds),
    Row(PUBLISHED, "model save",
        lambda w: save(FormulationVersion.objects.get(pk=w.version.pk), unit_volume_ml=2),
        "can never be changed", published_version_holds),
    Row(PUBLISHED, "queryset update",
        lambda w: update(FormulationVersion.objects.filter(pk=w.version.pk), vehicle="saline"),
        "can never be changed", published_version_holds),
    Row(PUBLISHED, "bulk_create", _line_onto_published, "can never be changed",
        published_version_holds),
    Row(PUBLISHED, "raw SQL",
        lambda w: sql("UPDATE formulations_formulationversion SET unit_volume_ml = 2 "
                      "WHERE id = %s", w.version.pk),
        "published or was used", published_version_holds, postgres=True),
    Row(PUBLISHED, "raw SQL delete",
        lambda w: sql("DELETE FROM formulations_ingredientline WHERE version_id = %s",
                      w.version.pk),
        "cannot change", published_version_holds, postgres=True),
    # The signature
    Row(SIGNATURE, "web form", _sign_through_the_page,
        "cannot be signed.*screening rule “Pregnancy” \\(absolute", signature_holds),
    Row(SIGNATURE, "record function", _sign_pregnant, "pregnant", signature_holds),
    Row(SIGNATURE, "model save",
        lambda w: save(w.pregnant_since_start, signed_at=DURING_SESSION, signed_by=w.clinician),
        "no cleared clearance", signature_holds),
    Row(SIGNATURE, "queryset update",
        lambda w: update(SessionRecord.objects.filter(pk=w.pregnant_since_start.pk),
                         signed_at=DURING_SESSION, signed_by=w.clinician),
        "no cleared clearance", signature_holds),
    Row(SIGNATURE, "bulk_create", _bulk_create_signed, "no cleared clearance", signature_holds),
    Row(SIGNATURE, "raw SQL", _sql_sign_pregnant, "without a cleared clearance snapshot",
        signature_holds, postgres=True),
    Row(SIGNATURE, "raw SQL, forged snapshot", _forged_snapshot_and_recalled_lot,
        "recalled, quarantined or expired", signature_holds, postgres=True),
    # The session of a signed record
    Row(SIGNED_SESSION, "web form", _session_page_cancel,
        "has a signed record.*cannot be cancelled or moved", signed_session_holds),
    Row(SIGNED_SESSION, "booking function", _move_signed, "has a signed record",
        signed_session_holds),
    Row(SIGNED_SESSION, "model save", _save_signed_session_to_another_patient,
        "has a signed record", signed_session_holds),
    Row(SIGNED_SESSION, "queryset update", _update_signed_session_time, "has a signed record",
        signed_session_holds),
    Row(SIGNED_SESSION, "raw SQL", _sql_cancel_signed_session, "has a signed record",
        signed_session_holds, postgres=True),
    # Course spacing
    Row(SPACING, "web form",
        lambda w: _book_form(w, w.patient, "2026-11-26", plan=w.plan.pk),
        "at least 7 days apart", spacing_holds),
    Row(SPACING, "booking function", _book_three_days_on, "at least 7 days apart",
        spacing_holds),
    Row(SPACING, "model save", lambda w: save(_session_row(w)), "at least 7 days apart",
        spacing_holds),
    Row(SPACING, "queryset update", _update_later_session_closer, "at least 7 days apart",
        spacing_holds),
    Row(SPACING, "bulk_create",
        lambda w: refused(lambda: TreatmentSession.objects.bulk_create([_session_row(w)]),
                          ValidationError),
        "at least 7 days apart", spacing_holds),
    Row(SPACING, "raw SQL", _sql_later_session_closer, "at least 7 days apart", spacing_holds,
        postgres=True),
    # Clearance of a plan and a booking
    Row(CLEARANCE, "web form: booking", lambda w: _book_form(w, _unscreened(w), "2026-11-24"),
        "Treatment cannot be booked: This patient has never been screened", clearance_holds),
    Row(CLEARANCE, "web form: plan", lambda w: _plan_form(w, _unscreened(w)),
        "No treatment plan can be written yet. No contraindication screening", clearance_holds),
    Row(CLEARANCE, "booking function", _book_pregnant, "absolute contraindication",
        clearance_holds),
    Row(CLEARANCE, "plan function", _plan_unscreened, "No contraindication screening",
        clearance_holds),
    # Depth
    Row(DEPTH, "web form", _deep_through_the_form, "less than or equal to 4", depth_holds),
    Row(DEPTH, "record function", _deep_through_the_rule,
        "Depth 5 mm is deeper than the 4 mm safety limit for scalp mesotherapy", depth_holds),
    Row(DEPTH, "model save", lambda w: refused(_deep_injection(w).save, IntegrityError),
        DEPTH_CHECK, depth_holds),
    Row(DEPTH, "queryset update",
        lambda w: refused(lambda: Injection.objects.filter(record=w.record).update(depth_mm=5),
                          IntegrityError),
        DEPTH_CHECK, depth_holds),
    Row(DEPTH, "bulk_create",
        lambda w: refused(lambda: Injection.objects.bulk_create([_deep_injection(w)]),
                          IntegrityError),
        DEPTH_CHECK, depth_holds),
    Row(DEPTH, "raw SQL",
        lambda w: sql("UPDATE treatment_sessions_injection SET depth_mm = 5 WHERE record_id = %s",
                      w.record.pk),
        DEPTH_CHECK, depth_holds, postgres=True),
    # Who witnesses a consent
    Row(WITNESS, "web form: intake at home", _sign_at_home_where_not_allowed,
        "You sign the consent with your clinician at the visit", witness_holds),
    Row(WITNESS, "rule function", _remote_function_where_not_allowed,
        "signs consent at the visit", witness_holds),
    Row(WITNESS, "model save", lambda w: refused(_unwitnessed(w).save, IntegrityError),
        WITNESS_CHECK, witness_holds),
    Row(WITNESS, "queryset update",
        lambda w: update(ConsentSignature.objects.filter(patient=w.patient), witness=None),
        "can never be changed", witness_holds),
    Row(WITNESS, "bulk_create",
        lambda w: refused(lambda: ConsentSignature.objects.bulk_create([_unwitnessed(w)]),
                          IntegrityError),
        WITNESS_CHECK, witness_holds),
    Row(WITNESS, "raw SQL", lambda w: sql(SQL_UNWITNESSED, w.patient.pk), WITNESS_CHECK,
        witness_holds),
    Row(WITNESS, "raw SQL update",
        lambda w: sql("UPDATE patients_consentsignature SET witness_id = NULL "
                      "WHERE patient_id = %s", w.patient.pk),
        "cannot change", witness_holds, postgres=True),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_every_path_refuses(row: Row, world: World):
    if row.postgres and connection.vendor != "postgresql":
        pytest.skip(POSTGRES_ONLY)

    words = row.attempt(world)

    assert re.search(row.says, words, re.S), f"{row}: the refusal said {words[:600]!r}"
    row.holds(world)


def test_the_matrix_covers_every_rule_on_every_path_it_has():
    paths = {}
    for row in ROWS:
        paths.setdefault(row.rule, set()).add(row.path.split(":")[0].split(",")[0])
    assert set(paths) == {
        ABSOLUTE,
        NAMED_LOT,
        INGREDIENT,
        PUBLISHED,
        SIGNATURE,
        SIGNED_SESSION,
        SPACING,
        CLEARANCE,
        DEPTH,
        WITNESS,
    }
    assert all({"model save", "queryset update", "raw SQL"} <= paths[rule] for rule in (
        ABSOLUTE, NAMED_LOT, INGREDIENT, PUBLISHED, SIGNATURE, SIGNED_SESSION, SPACING, DEPTH,
        WITNESS,
    ))  # fmt: skip


# Two requests at once (PostgreSQL runs them in parallel; SQLite serialises writers) -----------


def _in_parallel(*requests: Callable[[], str]) -> list[str]:
    start = threading.Barrier(len(requests))
    outcomes: list[str] = [""] * len(requests)

    def run(n):
        try:
            start.wait()
            outcomes[n] = requests[n]()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


concurrent = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@concurrent
@pytest.mark.parametrize("attempt", range(3))
def test_two_bookings_of_one_plan_a_day_apart_at_once_give_one_booking_and_one_refusal(
    world, attempt
):
    if connection.vendor != "postgresql":
        pytest.skip("parallel requests need PostgreSQL")

    # given: session 1 on 23 Nov; two receptionists book 1 and 2 December (each alone is fine)
    def desk(day):
        return lambda: _book_form(world, world.patient, day, plan=world.plan.pk)

    # when
    pages = _in_parallel(desk("2026-12-01"), desk("2026-12-02"))

    # then
    assert world.plan.sessions.count() == 2, pages
    assert sum("at least 7 days apart" in p for p in pages) == 1
    spacing_holds(world)


@concurrent
def test_ten_bookings_of_one_slot_at_once_give_one_booking_and_clear_conflicts(world):
    if connection.vendor != "postgresql":
        pytest.skip("parallel requests need PostgreSQL")
    patients = [PatientFactory() for _ in range(10)]
    for patient in patients:
        ScreeningRecheckFactory(screening__patient=patient, screening__screened_on=SESSION_DAY)

    pages = _in_parallel(*(lambda p=p: _book_form(world, p, "2026-11-24") for p in patients))

    booked = TreatmentSession.objects.filter(starts_at__date=date(2026, 11, 24))
    assert booked.count() == 1
    refusals = [p for p in pages if "Choose another time" in p or "at the same moment" in p]
    assert len(refusals) == 9


@concurrent
def test_a_pregnancy_recorded_while_the_record_is_signed_stops_the_signature(world):
    if connection.vendor != "postgresql":
        pytest.skip("parallel transactions need PostgreSQL")
    record = world.record
    screening = world.patient.screenings.get()
    recorded, commit = threading.Event(), threading.Event()
    outcome = {}

    def recheck():
        # the re-check holds the patient row until it commits
        try:
            with transaction.atomic():
                screening_recheck(
                    screening=screening,
                    by=world.clinician.user,
                    answers={"pregnant": True},
                    on_date=SESSION_DAY,
                )
                recorded.set()
                commit.wait(timeout=10)
        finally:
            connections.close_all()

    def sign():
        try:
            recorded.wait(timeout=10)
            records.record_sign(record=record, by=world.clinician.user, now=DURING_SESSION)
            outcome["signed"] = True
        except RecordRefused as refusal:
            outcome["refused"] = refusal
        finally:
            connections.close_all()

    threads = [threading.Thread(target=recheck), threading.Thread(target=sign)]
    for thread in threads:
        thread.start()
    # The signature waits on the patient's lock until the re-check commits.
    wait_until(lambda: _waiting_for_a_lock(), timeout=10, what="the signature to wait")
    commit.set()
    for thread in threads:
        thread.join()

    assert "signed" not in outcome
    assert outcome["refused"].rule == "pregnancy"
    signature_holds(world)


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def test_a_refused_signature_leaves_no_snapshot(world):
    refused(
        lambda: records.record_sign(
            record=world.pregnant_since_start, by=world.clinician.user, now=DURING_SESSION
        ),
        RecordRefused,
    )
    assert not ClearanceSnapshot.objects.exists()


def test_a_recalled_lot_between_start_and_signature_stops_it(world):
    record = world.record
    lot_recall(lot=world.lot, reason="Sterility", on_date=SESSION_DAY, by=world.clinician.user)

    words = refused(
        lambda: records.record_sign(record=record, by=world.clinician.user, now=DURING_SESSION),
        RecordRefused,
    )

    assert "Lot DHT-7001 was recalled" in words
