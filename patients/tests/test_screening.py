"""evaluate_screening: one test per rule of DOMAIN.md "Contraindication screening", and the
actions that record screenings, overrides and dermatologists' clearances."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from clinic.refusals import PatientRefused
from formulations.models import IngredientCategory
from formulations.tests.factories import IngredientFactory
from patients.models import (
    Diagnosis,
    MedicationClass,
    RuleOutcome,
    ScreeningOverride,
    ScreeningRule,
    SexAtBirth,
)
from patients.screening import (
    evaluate_screening,
    questions_for,
    referral_clear,
    screening_override,
    screening_record,
)
from patients.tests.factories import (
    AllergyFactory,
    AssessmentFactory,
    MedicationFactory,
    PatientFactory,
    ScreeningFactory,
)

TODAY = date(2026, 11, 16)
ADULT = date(1985, 5, 17)


def fired(findings) -> dict[str, str]:
    return {f.rule_code: f.outcome for f in findings}


def evaluate(patient, answers=None, version=None):
    return evaluate_screening(
        patient=patient, answers=answers or {}, formulation_version=version, on_date=TODAY
    )


# (rule code, expected outcome, patient sex, answers, needs the 5-ARI formulation)
ANSWERED_RULES = [
    ("pregnancy", RuleOutcome.ABSOLUTE, SexAtBirth.FEMALE, {"pregnant": True}, False),
    ("pregnancy_5ari", RuleOutcome.ABSOLUTE, SexAtBirth.FEMALE, {"pregnant": True}, True),
    ("scalp_infection", RuleOutcome.ABSOLUTE, SexAtBirth.MALE, {"scalp_infection": True}, False),
    (
        "scarring_alopecia",
        RuleOutcome.ABSOLUTE,
        SexAtBirth.MALE,
        {"scarring_alopecia": True},
        False,
    ),
    ("breastfeeding", RuleOutcome.RELATIVE, SexAtBirth.FEMALE, {"breastfeeding": True}, False),
    (
        "childbearing_5ari",
        RuleOutcome.RELATIVE,
        SexAtBirth.FEMALE,
        {"childbearing_potential": True},
        True,
    ),
    ("conception_5ari", RuleOutcome.RELATIVE, SexAtBirth.MALE, {"planning_conception": True}, True),
    ("anticoagulant", RuleOutcome.RELATIVE, SexAtBirth.MALE, {"bleeding_risk": True}, False),
    ("autoimmune", RuleOutcome.RELATIVE, SexAtBirth.FEMALE, {"autoimmune": True}, False),
    ("diabetes_insulin", RuleOutcome.RELATIVE, SexAtBirth.MALE, {"diabetes_insulin": True}, False),
    ("immunodeficiency", RuleOutcome.RELATIVE, SexAtBirth.MALE, {"immunodeficiency": True}, False),
    ("keloid", RuleOutcome.RELATIVE, SexAtBirth.MALE, {"keloid": True}, False),
    (
        "systemic_steroids",
        RuleOutcome.RELATIVE,
        SexAtBirth.MALE,
        {"systemic_steroids": True},
        False,
    ),
    ("cardiac", RuleOutcome.RELATIVE, SexAtBirth.MALE, {"cardiac": True}, False),
    ("patchy_loss", RuleOutcome.REFERRAL, SexAtBirth.MALE, {"patchy_loss": True}, False),
    (
        "scalp_inflammation",
        RuleOutcome.REFERRAL,
        SexAtBirth.FEMALE,
        {"scalp_inflammation": True},
        False,
    ),
    ("broken_hairs", RuleOutcome.REFERRAL, SexAtBirth.MALE, {"broken_hairs": True}, False),
    ("systemic_signs", RuleOutcome.REFERRAL, SexAtBirth.FEMALE, {"systemic_signs": True}, False),
    ("medication_onset", RuleOutcome.REFERRAL, SexAtBirth.MALE, {"medication_onset": True}, False),
]


@pytest.mark.parametrize(
    ("code", "outcome", "sex", "answers", "needs_5ari"),
    ANSWERED_RULES,
    ids=[row[0] for row in ANSWERED_RULES],
)
def test_a_yes_answer_fires_its_rule_with_its_outcome(
    db, dht_version, code, outcome, sex, answers, needs_5ari
):
    patient = PatientFactory(sex_at_birth=sex, date_of_birth=ADULT)

    findings = evaluate(patient, answers, dht_version)

    assert fired(findings)[code] == outcome
    finding = next(f for f in findings if f.rule_code == code)
    assert finding.reason == ScreeningRule.objects.get(code=code).reason


def test_every_rule_of_the_domain_is_in_the_rule_table(db):
    table = set(ScreeningRule.objects.values_list("code", flat=True))
    automatic = {"allergy_ingredient", "under_18", "child_hair_loss"}
    assert {row[0] for row in ANSWERED_RULES} | automatic == table


def test_no_answers_and_no_record_give_no_findings(db, dht_version):
    patient = PatientFactory(sex_at_birth=SexAtBirth.FEMALE, date_of_birth=ADULT)
    assert evaluate(patient, {}, dht_version) == []


def test_five_ari_rules_fire_only_for_a_formulation_with_a_five_ari(db, vitamin_version):
    woman = PatientFactory(sex_at_birth=SexAtBirth.FEMALE, date_of_birth=ADULT)
    man = PatientFactory(sex_at_birth=SexAtBirth.MALE, date_of_birth=ADULT)

    assert "childbearing_5ari" not in fired(
        evaluate(woman, {"childbearing_potential": True}, vitamin_version)
    )
    assert "conception_5ari" not in fired(
        evaluate(man, {"planning_conception": True}, vitamin_version)
    )
    # Pregnancy blocks whatever the formulation.
    pregnant = fired(evaluate(woman, {"pregnant": True}, vitamin_version))
    assert pregnant == {"pregnancy": RuleOutcome.ABSOLUTE}


def test_questions_for_one_sex_are_not_asked_of_the_other(db):
    man = PatientFactory(sex_at_birth=SexAtBirth.MALE)
    woman = PatientFactory(sex_at_birth=SexAtBirth.FEMALE)
    unrecorded = PatientFactory(sex_at_birth=SexAtBirth.UNKNOWN)

    man_keys = {key for key, _ in questions_for(patient=man)}
    woman_keys = {key for key, _ in questions_for(patient=woman)}
    unrecorded_keys = {key for key, _ in questions_for(patient=unrecorded)}

    assert "pregnant" not in man_keys and "planning_conception" in man_keys
    assert "pregnant" in woman_keys and "planning_conception" not in woman_keys
    assert {"pregnant", "planning_conception"} <= unrecorded_keys
    # pregnancy and pregnancy_5ari share one question, asked once.
    assert [key for key, _ in questions_for(patient=woman)].count("pregnant") == 1


def test_under_18_is_absolute_and_a_referral_from_the_date_of_birth(db):
    child = PatientFactory(date_of_birth=date(2008, 11, 17))  # 18 tomorrow

    assert fired(evaluate(child)) == {
        "under_18": RuleOutcome.ABSOLUTE,
        "child_hair_loss": RuleOutcome.REFERRAL,
    }
    assert "Age 17" in next(f.reason for f in evaluate(child) if f.rule_code == "under_18")


def test_an_eighteenth_birthday_lifts_the_age_rules(db):
    adult = PatientFactory(date_of_birth=date(2008, 11, 16))
    assert evaluate(adult) == []


def test_allergy_to_an_ingredient_of_the_formulation_is_absolute(db, dht_version):
    patient = PatientFactory()
    dutasteride = dht_version.lines.get(ingredient__name="Dutasteride").ingredient
    AllergyFactory(patient=patient, ingredient=dutasteride, substance="")

    findings = evaluate(patient, {}, dht_version)

    assert fired(findings) == {"allergy_ingredient": RuleOutcome.ABSOLUTE}
    assert "Allergy to Dutasteride" in findings[0].reason


def test_allergy_to_an_ingredient_category_matches_every_ingredient_of_it(db, dht_version):
    patient = PatientFactory()
    AllergyFactory(patient=patient, category=IngredientCategory.VITAMIN, substance="")

    findings = evaluate(patient, {}, dht_version)

    assert fired(findings) == {"allergy_ingredient": RuleOutcome.ABSOLUTE}
    assert "contains Biotin" in findings[0].reason


@pytest.mark.parametrize("typed", ["avodart", "  Vitamin B7 ", "DUTASTERIDE"])
def test_free_text_allergy_matches_an_ingredient_name_or_synonym(db, dht_version, typed):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance=typed)

    assert fired(evaluate(patient, {}, dht_version)) == {"allergy_ingredient": "absolute"}


def test_allergy_to_another_catalogue_ingredient_matches_through_its_synonyms(db, dht_version):
    # The clinic recorded the brand as its own ingredient; its synonym is the generic name.
    brand = IngredientFactory(name="Avodart soft capsule", synonyms="Dutasteride")
    patient = PatientFactory()
    AllergyFactory(patient=patient, ingredient=brand, substance="")

    assert fired(evaluate(patient, {}, dht_version)) == {"allergy_ingredient": "absolute"}


def test_allergies_to_other_things_or_voided_allergies_do_not_block(db, dht_version):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Penicillin")
    AllergyFactory(patient=patient, substance="Biotin", voided_at="2026-11-01T10:00Z")
    AllergyFactory(patient=patient, category=IngredientCategory.PEPTIDE, substance="")

    assert evaluate(patient, {}, dht_version) == []


def test_no_allergy_finding_without_a_formulation(db):
    patient = PatientFactory()
    AllergyFactory(patient=patient, substance="Biotin")
    assert evaluate(patient) == []


def test_a_current_anticoagulant_fires_the_bleeding_rule_without_an_answer(db):
    patient = PatientFactory()
    MedicationFactory(patient=patient, name="Warfarin", medication_class="anticoagulant")

    findings = evaluate(patient)

    assert fired(findings) == {"anticoagulant": RuleOutcome.RELATIVE}
    assert "Current medicine: Warfarin" in findings[0].reason


def test_a_stopped_antiplatelet_no_longer_fires(db):
    patient = PatientFactory()
    MedicationFactory(
        patient=patient,
        medication_class=MedicationClass.ANTIPLATELET,
        started_on=date(2026, 1, 1),
        stopped_on=date(2026, 11, 1),
    )
    assert evaluate(patient) == []


def test_a_current_systemic_steroid_fires_its_rule(db):
    patient = PatientFactory()
    MedicationFactory(
        patient=patient, name="Prednisolone", medication_class=MedicationClass.SYSTEMIC_STEROID
    )
    assert fired(evaluate(patient)) == {"systemic_steroids": RuleOutcome.RELATIVE}


def test_a_recorded_scarring_alopecia_diagnosis_is_absolute(db):
    patient = PatientFactory()
    AssessmentFactory(patient=patient, diagnosis=Diagnosis.L66_1, scale="ludwig", scale_value="II")

    findings = evaluate(patient)

    assert fired(findings) == {"scarring_alopecia": RuleOutcome.ABSOLUTE}
    assert "L66.1" in findings[0].reason


def test_findings_list_absolute_before_referral_before_relative(db):
    patient = PatientFactory(sex_at_birth=SexAtBirth.FEMALE, date_of_birth=ADULT)
    answers = {"keloid": True, "patchy_loss": True, "scalp_infection": True}

    outcomes = [f.outcome for f in evaluate(patient, answers)]

    assert outcomes == ["absolute", "referral", "relative"]


def test_recording_a_screening_keeps_the_answers_and_a_snapshot_of_the_findings(
    db, clinician_user, dht_version
):
    patient = PatientFactory(sex_at_birth=SexAtBirth.FEMALE)

    screening = screening_record(
        patient=patient,
        by=clinician_user,
        answers={"breastfeeding": True, "keloid": False},
        on_date=TODAY,
        formulation_version=dht_version,
    )

    screening.refresh_from_db()
    assert screening.answers == {"breastfeeding": True, "keloid": False}
    assert [f["rule_code"] for f in screening.findings] == ["breastfeeding"]
    assert screening.history.count() == 1


def test_reception_cannot_record_a_screening(db, reception_user):
    with pytest.raises(PermissionDenied):
        screening_record(patient=PatientFactory(), by=reception_user, answers={}, on_date=TODAY)


def test_a_relative_finding_is_overridden_with_a_reason(db, clinician_user):
    screening = ScreeningFactory(answers={"keloid": True})

    override = screening_override(
        screening=screening,
        rule_code="keloid",
        by=clinician_user,
        reason="Small keloid on the chest only; scalp scars flat.",
        on_date=TODAY,
    )

    assert override.rule.code == "keloid"
    assert override.history.count() == 1


def test_an_override_needs_a_written_reason(db, clinician_user):
    screening = ScreeningFactory(answers={"keloid": True})
    with pytest.raises(PatientRefused, match="reason"):
        screening_override(
            screening=screening,
            rule_code="keloid",
            by=clinician_user,
            reason="  ",
            on_date=TODAY,
        )
    assert not ScreeningOverride.objects.exists()


def test_an_absolute_finding_cannot_be_overridden(db, clinician_user):
    screening = ScreeningFactory(
        answers={"pregnant": True}, patient__sex_at_birth=SexAtBirth.FEMALE
    )
    with pytest.raises(PatientRefused, match="cannot be overridden"):
        screening_override(
            screening=screening,
            rule_code="pregnancy",
            by=clinician_user,
            reason="Patient insists",
            on_date=TODAY,
        )


def test_a_referral_finding_is_cleared_by_a_dermatologist_not_overridden(db, clinician_user):
    screening = ScreeningFactory(answers={"patchy_loss": True})
    with pytest.raises(PatientRefused, match="dermatologist"):
        screening_override(
            screening=screening,
            rule_code="patchy_loss",
            by=clinician_user,
            reason="Looks fine",
            on_date=TODAY,
        )

    clearance = referral_clear(
        screening=screening,
        rule_code="patchy_loss",
        recorded_by=clinician_user,
        cleared_on=date(2026, 11, 10),
        cleared_by="Dr Dora Derm",
        note="Letter: androgenetic pattern, no alopecia areata.",
    )
    assert clearance.cleared_by == "Dr Dora Derm"


def test_a_finding_that_the_screening_does_not_have_cannot_be_overridden(db, clinician_user):
    screening = ScreeningFactory(answers={})
    with pytest.raises(PatientRefused, match="no such finding"):
        screening_override(
            screening=screening,
            rule_code="keloid",
            by=clinician_user,
            reason="Just in case",
            on_date=TODAY,
        )


def test_reception_cannot_override(db, reception_user):
    screening = ScreeningFactory(answers={"keloid": True})
    with pytest.raises(PermissionDenied):
        screening_override(
            screening=screening,
            rule_code="keloid",
            by=reception_user,
            reason="Busy day",
            on_date=TODAY,
        )
