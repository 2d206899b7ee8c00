"""The session record rules: the gate, lots, depth, signing and its lock, addenda, dose."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from clinic.roles import Role
from formulations.lots import lot_quarantine, lot_recall
from formulations.tests.factories import (
    FormulationVersionFactory,
    IngredientLineFactory,
    LotFactory,
)
from patients.models import ConsentSignature
from patients.tests.factories import (
    MedicationFactory,
    ScreeningFactory,
    ScreeningRecheckFactory,
    TreatmentConsentFactory,
)
from sessions.booking.maintenance import maintenance_due
from sessions.models import (
    Injection,
    PlanStatus,
    RecordAddendum,
    RecordLot,
    SessionRecord,
    SessionStatus,
    SignedRecordError,
    TreatmentPlan,
)
from sessions.records import records
from sessions.records.forms import InjectionForm
from sessions.records.recall import lot_recipients, version_usage
from sessions.records.records import RecordRefused
from sessions.tests.factories import TreatmentPlanFactory, TreatmentSessionFactory
from sessions.tests.records_fixtures import DURING_SESSION, SESSION_DAY

D = Decimal
pytestmark = pytest.mark.django_db

VERTEX = {
    "zone": "vertex",
    "volume_ml": D("0.6"),
    "depth_mm": D("2.0"),
    "technique": "nappage",
    "device": "syringe",
    "needle_gauge": 32,
    "injection_points": 30,
}


def _started(session, clinician):
    return records.record_start(session=session, clinician=clinician, now=DURING_SESSION)


def _complete(record, lot, *, units=1):
    records.injection_add(record=record, **VERTEX)
    records.injection_add(record=record, **{**VERTEX, "zone": "frontal", "volume_ml": D("0.4")})
    records.record_lot_add(record=record, lot=lot, volume_ml=D("1.0"), units_used=units)
    return record


@pytest.fixture
def record(checked_in, clinician):
    return _started(checked_in, clinician)


@pytest.fixture
def signed(record, lot, clinician):
    _complete(record, lot)
    return records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)


# The gate -------------------------------------------------------------------------------------


def test_a_cleared_checked_in_patient_passes_the_gate(checked_in):
    gate = records.record_gate(session=checked_in, on_date=SESSION_DAY)
    assert gate.allowed
    assert gate.message == ""


def test_a_record_cannot_start_before_the_patient_is_checked_in(checked_in, clinician):
    checked_in.status = SessionStatus.CONFIRMED
    checked_in.save()

    gate = records.record_gate(session=checked_in, on_date=SESSION_DAY)

    assert not gate.allowed
    assert "checked in" in gate.message
    assert gate.fix_url == f"/sessions/{checked_in.pk}/"
    with pytest.raises(RecordRefused, match="checked in"):
        _started(checked_in, clinician)
    assert not SessionRecord.objects.exists()


def test_a_patient_never_screened_is_sent_to_screening(unscreened_patient, clinician, room, course):
    patient = unscreened_patient
    session = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, plan=course, status="checked_in"
    )
    gate = records.record_gate(session=session, on_date=SESSION_DAY)
    assert not gate.allowed
    assert "No contraindication screening" in gate.message
    assert gate.fix_url == f"/patients/{patient.pk}/screening/new/"


def test_without_todays_recheck_the_gate_links_to_the_recheck(patient, clinician, room, course):
    screening = ScreeningFactory(patient=patient, screened_on=date(2026, 11, 2))
    session = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, plan=course, status="checked_in"
    )
    gate = records.record_gate(session=session, on_date=SESSION_DAY)
    assert not gate.allowed
    assert "re-check" in gate.message
    assert gate.fix_url == f"/patients/{patient.pk}/screening/{screening.pk}/recheck/"
    assert gate.fix_label == "Record today's re-check"


def test_a_relative_finding_without_override_links_to_the_screening(checked_in, patient):
    MedicationFactory(patient=patient, name="Rivaroxaban")
    gate = records.record_gate(session=checked_in, on_date=SESSION_DAY)
    assert not gate.allowed
    assert "Blood thinners or bleeding disorder" in gate.message
    assert gate.fix_label == "Record an override with a reason"
    assert gate.fix_url.endswith("/screening/" + str(patient.screenings.get().pk) + "/")


def _unconsented_session(patient, clinician, room, plan):
    """A checked-in session of a patient screened and re-checked today who signed nothing."""
    screening = ScreeningFactory(patient=patient, screened_on=date(2026, 11, 2))
    ScreeningRecheckFactory(screening=screening, checked_on=SESSION_DAY)
    return TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, plan=plan, status="checked_in"
    )


def test_without_signed_consent_the_gate_names_both_texts_and_links_to_the_consent_form(
    patient, clinician, room, course, dht_version
):
    session = _unconsented_session(patient, clinician, room, course)

    gate = records.record_gate(session=session, on_date=SESSION_DAY)

    assert not gate.allowed
    assert gate.rule == "consent"
    assert "has not signed the treatment consent" in gate.message
    assert "the off-label statement for DHT-block record cocktail v" in gate.message
    assert gate.fix_url == f"/patients/{patient.pk}/consent/new/?version={dht_version.pk}"
    assert gate.fix_label == "Take the patient's consent"
    with pytest.raises(RecordRefused, match="has not signed the treatment consent"):
        _started(session, clinician)
    assert not SessionRecord.objects.exists()


def test_a_prescription_drug_needs_the_off_label_statement_as_well(
    patient, clinician, room, course
):
    session = _unconsented_session(patient, clinician, room, course)
    TreatmentConsentFactory(patient=patient, formulation_version=None)  # treatment text only

    gate = records.record_gate(session=session, on_date=SESSION_DAY)

    assert not gate.allowed
    assert "treatment consent" not in gate.message
    assert "has not signed the off-label statement for DHT-block record cocktail" in gate.message


def test_an_off_label_statement_signed_for_another_version_does_not_count(
    patient, clinician, room, course
):
    session = _unconsented_session(patient, clinician, room, course)
    other = FormulationVersionFactory()
    IngredientLineFactory(
        version=other, ingredient=course.formulation_version.lines.first().ingredient
    )
    TreatmentConsentFactory(patient=patient, formulation_version=other)

    gate = records.record_gate(session=session, on_date=SESSION_DAY)

    assert not gate.allowed
    assert gate.message.startswith("The patient has not signed the off-label statement for DHT")


def test_a_drug_free_formulation_needs_only_the_treatment_consent(patient, clinician, room):
    version = FormulationVersionFactory()
    IngredientLineFactory(version=version)
    plan = TreatmentPlanFactory(patient=patient, formulation_version=version)
    session = _unconsented_session(patient, clinician, room, plan)
    assert not records.record_gate(session=session, on_date=SESSION_DAY).allowed

    TreatmentConsentFactory(patient=patient, formulation_version=None)

    assert records.record_gate(session=session, on_date=SESSION_DAY).allowed


def test_signing_checks_the_consent_again(patient, clinician, room, course, lot):
    session = _unconsented_session(patient, clinician, room, course)
    # A record started before consent was part of the gate, never signed.
    record = SessionRecord.objects.create(
        session=session, clinician=clinician, formulation_version=course.formulation_version
    )
    _complete(record, lot)

    with pytest.raises(RecordRefused, match="has not signed the treatment consent"):
        records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)

    record.refresh_from_db()
    session.refresh_from_db()
    lot.refresh_from_db()
    assert record.signed_at is None and session.status == SessionStatus.CHECKED_IN
    assert lot.quantity_remaining == 10
    TreatmentConsentFactory(patient=patient, formulation_version=course.formulation_version)
    assert records.record_sign(record=record, by=clinician.user, now=DURING_SESSION).signed_at


def test_the_cleared_fixture_patient_has_signed_both_texts(cleared_patient):
    (signature,) = ConsentSignature.objects.filter(patient=cleared_patient)
    assert sorted(signature.texts.values_list("kind", flat=True)) == ["off_label", "treatment"]


def test_starting_twice_continues_the_same_record(checked_in, clinician):
    first = _started(checked_in, clinician)
    assert _started(checked_in, clinician) == first
    assert first.formulation_version == checked_in.plan.formulation_version


def test_only_a_clinician_can_start_a_record(checked_in, staff):
    with pytest.raises(RecordRefused, match="Only a clinician"):
        _started(checked_in, staff(Role.CLINIC_ADMIN))


# Lots -----------------------------------------------------------------------------------------


def test_a_usable_lot_of_the_version_is_recorded(record, lot):
    use = records.record_lot_add(record=record, lot=lot, volume_ml=D("1"), units_used=1)
    assert list(record.lots_used.all()) == [use]


def test_an_expired_lot_is_refused_with_its_expiry_date(record, dht_version):
    old = LotFactory(
        version=dht_version,
        lot_number="OLD-1",
        received_on=date(2025, 1, 1),
        expires_on=date(2026, 11, 22),
    )
    with pytest.raises(RecordRefused, match="expired on 22 Nov 2026"):
        records.record_lot_add(record=record, lot=old, volume_ml=D("1"))
    assert not record.lots_used.exists()


def test_a_lot_expiring_on_the_session_day_may_still_be_used(record, dht_version):
    last_day = LotFactory(version=dht_version, expires_on=SESSION_DAY)
    records.record_lot_add(record=record, lot=last_day, volume_ml=D("1"))
    assert record.lots_used.count() == 1


def test_a_recalled_lot_is_refused(record, lot, clinic_admin_user):
    lot_recall(lot=lot, reason="Supplier notice", on_date=SESSION_DAY, by=clinic_admin_user)
    with pytest.raises(RecordRefused, match="DHT-7001 was recalled"):
        records.record_lot_add(record=record, lot=lot, volume_ml=D("1"))


def test_a_quarantined_lot_is_refused(record, lot):
    lot_quarantine(lot=lot, reason="Certificate awaited")
    with pytest.raises(RecordRefused, match="quarantined"):
        records.record_lot_add(record=record, lot=lot, volume_ml=D("1"))


def test_a_lot_of_another_version_is_refused(record):
    other = LotFactory(version=FormulationVersionFactory(), lot_number="OTHER-1")
    with pytest.raises(RecordRefused, match="OTHER-1 is of .* not of DHT-block"):
        records.record_lot_add(record=record, lot=other, volume_ml=D("1"))


def test_a_lot_recalled_after_it_was_added_stops_the_signature(record, lot, clinician, staff):
    _complete(record, lot)
    lot_recall(
        lot=lot, reason="Sterility doubt", on_date=SESSION_DAY, by=staff(Role.CLINIC_ADMIN).user
    )
    with pytest.raises(RecordRefused, match="recalled"):
        records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)
    record.refresh_from_db()
    assert record.signed_at is None


# Depth ----------------------------------------------------------------------------------------


def test_a_depth_over_4_mm_is_refused_by_the_form():
    form = InjectionForm(data={**VERTEX, "depth_mm": "4.5"})
    assert not form.is_valid()
    assert "depth_mm" in form.errors


def test_a_depth_over_4_mm_is_refused_by_the_rule_and_the_model(record):
    with pytest.raises(
        RecordRefused, match="deeper than the 4 mm safety limit for scalp mesotherapy"
    ):
        records.injection_add(record=record, **{**VERTEX, "depth_mm": D("4.5")})
    with pytest.raises(Exception, match="4"):
        Injection(record=record, **{**VERTEX, "depth_mm": D("4.5")}).full_clean()
    assert not record.injections.exists()


def test_a_depth_over_4_mm_is_refused_by_the_database(record):
    with pytest.raises(IntegrityError), transaction.atomic():
        Injection.objects.create(record=record, **{**VERTEX, "depth_mm": D("4.5")})


def test_a_zone_is_recorded_once_per_record(record):
    records.injection_add(record=record, **VERTEX)
    with pytest.raises(RecordRefused, match="already recorded"):
        records.injection_add(record=record, **VERTEX)


def test_an_injection_can_be_changed_and_removed_before_signing(record):
    injection = records.injection_add(record=record, **VERTEX)
    records.injection_change(injection=injection, volume_ml=D("0.8"), depth_mm=D("3"))
    injection.refresh_from_db()
    assert (injection.volume_ml, injection.depth_mm) == (D("0.8"), D("3"))
    records.injection_remove(injection=injection)
    assert not record.injections.exists()


def test_a_needle_free_device_has_no_gauge(record):
    with pytest.raises(RecordRefused, match="needle-free"):
        records.injection_add(record=record, **{**VERTEX, "device": "pressure"})


def test_the_pain_score_runs_from_0_to_10(record):
    with pytest.raises(RecordRefused, match="10"):
        records.record_update(record=record, pain_score=11)
    records.record_update(record=record, pain_score=3, prp_given=True, notes=" Tolerated well ")
    record.refresh_from_db()
    assert (record.pain_score, record.prp_given, record.notes) == (3, True, "Tolerated well")


# Signing --------------------------------------------------------------------------------------


def test_a_record_without_injections_or_lots_cannot_be_signed(record, clinician):
    with pytest.raises(RecordRefused) as refusal:
        records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)
    assert "at least one injection" in refusal.value.message
    assert "at least one lot" in refusal.value.message


def test_lot_volume_must_match_the_injected_volume(record, lot, clinician):
    records.injection_add(record=record, **VERTEX)
    records.record_lot_add(record=record, lot=lot, volume_ml=D("1.0"))
    with pytest.raises(RecordRefused, match="lots add up to 1 mL but the injections to 0.6 mL"):
        records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)


def test_only_a_clinician_may_sign(record, lot, staff):
    _complete(record, lot)
    for role in (Role.CLINIC_ADMIN, Role.RECEPTION):
        with pytest.raises(RecordRefused, match="Only a clinician may sign"):
            records.record_sign(record=record, by=staff(role).user, now=DURING_SESSION)


def test_signing_completes_the_session_and_takes_the_lots_off_stock(signed, lot, clinician):
    session = signed.session
    session.refresh_from_db()
    lot.refresh_from_db()
    assert signed.signed_at == DURING_SESSION
    assert signed.signed_by == clinician
    assert session.status == SessionStatus.COMPLETED
    assert session.status_changed_by == clinician.user
    assert lot.quantity_remaining == 9


def test_the_aftercare_adds_the_blood_donation_line_after_dutasteride(signed, clinic):
    assert signed.aftercare_given.startswith(clinic.aftercare_template.strip())
    assert "48 hours" in signed.aftercare_given
    assert signed.aftercare_given.endswith(
        "Do not donate blood for 6 months after your last dutasteride dose."
    )


def test_without_dutasteride_the_aftercare_has_no_blood_donation_line(
    cleared_patient, clinician, room
):
    version = FormulationVersionFactory()
    IngredientLineFactory(version=version)
    plan = TreatmentPlanFactory(patient=cleared_patient, formulation_version=version)
    session = TreatmentSessionFactory(
        patient=cleared_patient, clinician=clinician, room=room, plan=plan, status="checked_in"
    )
    record = _started(session, clinician)
    _complete(record, LotFactory(version=version))
    record = records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)
    assert "blood" not in record.aftercare_given
    assert "48 hours" in record.aftercare_given


def test_signing_is_refused_when_the_stock_would_go_negative(record, lot, clinician):
    _complete(record, lot, units=3)
    lot.quantity_remaining = 2
    lot.save()
    with pytest.raises(RecordRefused, match="only 2 left"):
        records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)
    lot.refresh_from_db()
    record.refresh_from_db()
    assert lot.quantity_remaining == 2
    assert record.signed_at is None
    assert record.session.status == SessionStatus.CHECKED_IN


def test_a_signed_record_cannot_be_signed_again(signed, clinician):
    with pytest.raises(RecordRefused, match="signed"):
        records.record_sign(record=signed, by=clinician.user, now=DURING_SESSION)


# Course progress ------------------------------------------------------------------------------


def test_signing_a_session_that_is_not_the_last_leaves_the_plan_active(signed):
    plan = signed.session.plan
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    assert plan.maintenance_due_on is None


def test_signing_the_last_session_completes_the_course_and_sets_maintenance(
    checked_in, clinician, room, lot, clinic
):
    first = _started(checked_in, clinician)
    _complete(first, lot)
    records.record_sign(record=first, by=clinician.user, now=DURING_SESSION)
    second_start = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    second = TreatmentSessionFactory(
        patient=checked_in.patient,
        clinician=clinician,
        room=room,
        plan=checked_in.plan,
        sequence=2,
        starts_at=second_start,
        status="checked_in",
    )
    ScreeningRecheckFactory(
        screening=checked_in.patient.screenings.get(), checked_on=date(2026, 12, 7)
    )
    record = records.record_start(
        session=second, clinician=clinician, now=second_start + timedelta(minutes=5)
    )
    _complete(record, lot)
    records.record_sign(record=record, by=clinician.user, now=second_start + timedelta(minutes=30))

    plan = checked_in.plan
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    assert plan.completed_at == second_start + timedelta(minutes=30)
    # 7 December 2026 + the clinic's 4 months.
    assert plan.maintenance_due_on == date(2027, 4, 7)
    rows = maintenance_due(clinic=clinic, today=date(2027, 4, 1), now=second_start)
    assert [(r.plan, r.due_on) for r in rows] == [(plan, date(2027, 4, 7))]


def test_signing_a_maintenance_visit_moves_maintenance_due_from_it(
    signed, clinician, room, lot, clinic
):
    # given a completed course, due for maintenance on 1 February 2027
    plan = signed.session.plan
    TreatmentPlan.objects.filter(pk=plan.pk).update(
        status=PlanStatus.COMPLETED, maintenance_due_on=date(2027, 2, 1)
    )
    visit_start = datetime(2027, 2, 3, 10, 0, tzinfo=UTC)
    visit = TreatmentSessionFactory(
        patient=plan.patient, clinician=clinician, room=room, starts_at=visit_start,
        status="checked_in",
    )  # fmt: skip
    screening = plan.patient.screenings.get()
    screening.screened_on = date(2027, 1, 20)
    screening.save(update_fields=["screened_on"])
    ScreeningRecheckFactory(screening=screening, checked_on=date(2027, 2, 3))
    record = records.record_start(
        session=visit,
        clinician=clinician,
        now=visit_start + timedelta(minutes=5),
        formulation_version=plan.formulation_version,
    )
    _complete(record, lot)

    # when the maintenance visit is signed
    records.record_sign(record=record, by=clinician.user, now=visit_start + timedelta(minutes=30))

    # then maintenance falls due four months after it, and the patient leaves the list till then
    plan.refresh_from_db()
    assert (plan.maintenance_due_on, plan.maintenance_prompt_on) == (
        date(2027, 6, 3),
        date(2027, 6, 3),
    )
    assert maintenance_due(clinic=clinic, today=date(2027, 2, 4), now=visit_start) == []


def test_maintenance_uses_the_stored_due_date_over_the_computed_one(signed, clinic):
    plan = signed.session.plan
    plan.status, plan.maintenance_due_on = PlanStatus.COMPLETED, date(2027, 2, 1)
    plan.save()
    rows = maintenance_due(
        clinic=clinic, today=date(2027, 1, 15), now=datetime(2027, 1, 15, tzinfo=UTC)
    )
    assert [r.due_on for r in rows] == [date(2027, 2, 1)]


# The lock -------------------------------------------------------------------------------------


def test_every_orm_path_refuses_to_change_a_signed_record(signed):
    injection = signed.injections.first()
    use = signed.lots_used.get()
    attempts = [
        lambda: signed.save(),
        lambda: signed.delete(),
        lambda: SessionRecord.objects.filter(pk=signed.pk).update(notes="changed"),
        lambda: SessionRecord.objects.filter(pk=signed.pk).delete(),
        lambda: injection.save(),
        lambda: injection.delete(),
        lambda: Injection.objects.filter(pk=injection.pk).update(volume_ml=D("2")),
        lambda: Injection.objects.filter(pk=injection.pk).delete(),
        lambda: Injection.objects.bulk_create(
            [Injection(record=signed, **{**VERTEX, "zone": "occipital"})]
        ),
        lambda: use.save(),
        lambda: use.delete(),
        lambda: RecordLot.objects.filter(pk=use.pk).update(volume_ml=D("2")),
        lambda: RecordLot.objects.filter(pk=use.pk).delete(),
        lambda: RecordLot.objects.bulk_create(
            [
                RecordLot(
                    record=signed,
                    lot=LotFactory(version=signed.formulation_version),
                    volume_ml=D("1"),
                )
            ]
        ),
    ]
    for attempt in attempts:
        with pytest.raises(SignedRecordError, match="is signed"), transaction.atomic():
            attempt()
    signed.refresh_from_db()
    assert signed.notes == ""
    assert signed.injections.count() == 2
    assert signed.lots_used.get().volume_ml == D("1.0")


def test_a_generator_of_injections_for_an_unsigned_record_is_inserted(record):
    # The signed-record check once used the generator up, and bulk_create inserted nothing.
    Injection.objects.bulk_create(Injection(record=record, **VERTEX) for _ in range(1))
    assert record.injections.count() == 1


def test_every_rule_function_refuses_to_change_a_signed_record(signed, lot):
    injection = signed.injections.first()
    attempts = [
        lambda: records.record_update(record=signed, notes="changed"),
        lambda: records.injection_add(record=signed, **{**VERTEX, "zone": "occipital"}),
        lambda: records.injection_change(injection=injection, volume_ml=D("2")),
        lambda: records.injection_remove(injection=injection),
        lambda: records.record_lot_add(record=signed, lot=lot, volume_ml=D("1")),
        lambda: records.record_lot_remove(record_lot=signed.lots_used.get()),
    ]
    for attempt in attempts:
        with pytest.raises(RecordRefused, match="signed"):
            attempt()


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger is PostgreSQL-only (SQLite has none)"
)
def test_the_database_trigger_refuses_raw_sql_on_a_signed_record(signed):
    injection = signed.injections.first()
    use = signed.lots_used.get()
    statements = [
        ("UPDATE treatment_sessions_sessionrecord SET notes = 'x' WHERE id = %s", signed.pk),
        ("DELETE FROM treatment_sessions_sessionrecord WHERE id = %s", signed.pk),
        ("UPDATE treatment_sessions_injection SET volume_ml = 2 WHERE id = %s", injection.pk),
        ("DELETE FROM treatment_sessions_injection WHERE id = %s", injection.pk),
        ("UPDATE treatment_sessions_recordlot SET volume_ml = 2 WHERE id = %s", use.pk),
        ("DELETE FROM treatment_sessions_recordlot WHERE id = %s", use.pk),
    ]
    for sql, pk in statements:
        with (
            pytest.raises(IntegrityError, match="signed"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])
    signed.refresh_from_db()
    assert signed.notes == ""
    assert signed.injections.count() == 2


# The signer's registration number --------------------------------------------------------------

NO_REGISTRATION = (
    "Add your professional registration number to your staff profile before signing (ask a "
    "clinic admin)."
)


def test_signing_without_a_registration_number_is_refused(record, lot, clinician):
    _complete(record, lot)
    clinician.registration_number = ""
    clinician.save()

    with pytest.raises(RecordRefused) as refused:
        records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)

    assert refused.value.message == NO_REGISTRATION
    record.refresh_from_db()
    assert record.signed_at is None
    assert record.session.status == SessionStatus.CHECKED_IN


def test_an_addendum_without_a_registration_number_is_refused(signed, clinician):
    clinician.registration_number = "  "
    clinician.save()

    with pytest.raises(RecordRefused) as refused:
        records.addendum_add(record=signed, text="note", by=clinician.user, now=DURING_SESSION)

    assert refused.value.message == NO_REGISTRATION
    assert not RecordAddendum.objects.exists()


def test_the_signature_keeps_the_registration_number_it_was_signed_with(
    record, lot, clinician, time_machine
):
    _complete(record, lot)
    time_machine.move_to(DURING_SESSION - timedelta(minutes=5), tick=False)
    clinician.registration_number = "GMC 1111111"
    clinician.save()
    signed = records.record_sign(record=record, by=clinician.user, now=DURING_SESSION)
    time_machine.move_to(DURING_SESSION + timedelta(days=30), tick=False)
    clinician.registration_number = "NMC 22A3333B"
    clinician.save()

    assert (
        records.signer_registration_number(signer=clinician, at=signed.signed_at) == "GMC 1111111"
    )


# Addenda --------------------------------------------------------------------------------------


def test_an_addendum_is_signed_and_timestamped_by_the_clinician(signed, clinician):
    later = DURING_SESSION + timedelta(days=2)
    addendum = records.addendum_add(
        record=signed, text=" Patient called: mild redness resolved. ", by=clinician.user, now=later
    )
    assert (addendum.text, addendum.signed_at, addendum.signed_by) == (
        "Patient called: mild redness resolved.",
        later,
        clinician,
    )
    with pytest.raises(SignedRecordError):
        addendum.delete()
    addendum.text = "changed"
    with pytest.raises(SignedRecordError):
        addendum.save()


def test_an_unsigned_record_takes_no_addendum(record, clinician):
    with pytest.raises(RecordRefused, match="not signed yet"):
        records.addendum_add(record=record, text="note", by=clinician.user, now=DURING_SESSION)
    assert not RecordAddendum.objects.exists()


def test_only_a_clinician_adds_an_addendum(signed, staff):
    with pytest.raises(RecordRefused, match="Only a clinician"):
        records.addendum_add(
            record=signed, text="note", by=staff(Role.CLINIC_ADMIN).user, now=DURING_SESSION
        )


def test_an_empty_addendum_is_refused(signed, clinician):
    with pytest.raises(RecordRefused, match="Write the correction"):
        records.addendum_add(record=signed, text="  ", by=clinician.user, now=DURING_SESSION)


# Dose -----------------------------------------------------------------------------------------


def test_the_dose_is_volume_times_strength_per_ingredient(signed):
    # 1 mL in all (0.6 vertex + 0.4 frontal). Dutasteride 0.01 % w/v = 0.1 mg/mL -> 0.1 mg.
    # Biotin 0.5 mg per 5 mL = 0.1 mg/mL -> 0.1 mg.
    doses = {d.ingredient.name: (d.amount, d.unit) for d in records.record_doses(record=signed)}
    assert records.record_total_volume(record=signed) == D("1.0")
    assert doses == {"Dutasteride": (D("0.1"), "mg"), "Biotin": (D("0.1"), "mg")}


def test_the_dose_follows_the_injected_volume(record):
    records.injection_add(record=record, **{**VERTEX, "volume_ml": D("1.5")})
    records.injection_add(record=record, **{**VERTEX, "zone": "frontal", "volume_ml": D("0.5")})
    doses = {d.ingredient.name: d.amount for d in records.record_doses(record=record)}
    # 2 mL × 0.1 mg/mL = 0.2 mg of each.
    assert doses == {"Dutasteride": D("0.2"), "Biotin": D("0.2")}


# Recall and usage -----------------------------------------------------------------------------


def test_a_recall_lists_the_session_recorded_through_signing(signed, lot, patient, clinician):
    uses = list(lot_recipients(lot=lot))
    assert len(uses) == 1
    use = uses[0]
    assert use.record.session.patient == patient
    assert use.record.clinician == clinician
    assert use.volume_ml == D("1.0")
    assert use.record.session.starts_at.date() == SESSION_DAY
    usage = version_usage().get(pk=lot.version_id)
    assert (usage.session_count, usage.patient_count) == (1, 1)


def test_a_record_not_yet_signed_is_on_the_recall_list_but_not_yet_a_use(record, lot):
    records.record_lot_add(record=record, lot=lot, volume_ml=D("1"), units_used=1)

    (use,) = lot_recipients(lot=lot)

    assert use.record.signed_at is None
    usage = version_usage().get(pk=lot.version_id)
    assert (usage.session_count, usage.patient_count) == (0, 0)
    assert usage.first_use is None and usage.last_use is None
