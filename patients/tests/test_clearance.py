"""The clearance gate used by booking (treatment_clearance) and session records
(pre_session_clearance)."""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.models import Clinic
from patients.clearance import (
    RECEPTION_CLINICIAN,
    RECEPTION_SCREEN,
    pre_session_clearance,
    screenings_with_recheck,
    treatment_clearance,
)
from patients.models import ScreeningRule, SexAtBirth
from patients.screening import referral_clear, screening_override
from patients.tests.factories import (
    MedicationFactory,
    PatientFactory,
    ScreeningFactory,
    ScreeningRecheckFactory,
)

SCREENED = date(2026, 11, 2)
TODAY = date(2026, 11, 16)


def clearance(patient, version=None, on_date=TODAY):
    return treatment_clearance(patient=patient, formulation_version=version, on_date=on_date)


def test_a_patient_never_screened_must_be_screened(db, clinic):
    result = clearance(PatientFactory())

    assert not result.cleared
    assert result.next_step == "screen"
    assert "No contraindication screening" in result.message
    assert result.reception_message == RECEPTION_SCREEN


def test_a_clean_screening_clears_the_patient(db, clinic, vitamin_version):
    screening = ScreeningFactory(screened_on=SCREENED)

    result = clearance(screening.patient, vitamin_version)

    assert result.cleared
    assert result.next_step == ""
    assert result.findings == ()


def test_a_screening_lapses_after_the_clinics_validity_period(db, clinic):
    clinic.screening_valid_days = 30
    clinic.save()
    screening = ScreeningFactory(screened_on=SCREENED)

    assert clearance(screening.patient, on_date=SCREENED + timedelta(days=30)).cleared
    lapsed = clearance(screening.patient, on_date=SCREENED + timedelta(days=31))

    assert not lapsed.cleared
    assert lapsed.next_step == "screen"
    assert "lapsed" in lapsed.message and "30 days" in lapsed.message


def test_the_default_validity_is_ninety_days(db, clinic):
    assert Clinic.current().screening_valid_days == 90
    screening = ScreeningFactory(screened_on=SCREENED)
    assert clearance(screening.patient, on_date=SCREENED + timedelta(days=90)).cleared
    assert not clearance(screening.patient, on_date=SCREENED + timedelta(days=91)).cleared


def test_a_screening_dated_after_the_treatment_day_does_not_count(db, clinic):
    screening = ScreeningFactory(screened_on=TODAY + timedelta(days=1))
    assert clearance(screening.patient).next_step == "screen"


def test_a_voided_screening_does_not_count(db, clinic):
    screening = ScreeningFactory(screened_on=SCREENED, voided_at="2026-11-03T09:00Z")
    assert clearance(screening.patient).next_step == "screen"


def test_an_absolute_finding_blocks_and_says_it_cannot_be_overridden(
    db, clinic, dht_version, clinician_user
):
    screening = ScreeningFactory(
        screened_on=SCREENED,
        answers={"pregnant": True},
        patient__sex_at_birth=SexAtBirth.FEMALE,
    )

    result = clearance(screening.patient, dht_version)

    assert not result.cleared
    assert {f.rule_code for f in result.blocking} == {"pregnancy", "pregnancy_5ari"}
    assert "pregnancy" in result.message and "cannot be overridden" in result.message
    assert result.reception_message == RECEPTION_CLINICIAN
    assert "pregnan" not in result.reception_message


def test_a_referral_blocks_until_a_dermatologist_clears_it(db, clinic, clinician_user):
    screening = ScreeningFactory(screened_on=SCREENED, answers={"broken_hairs": True})

    blocked = clearance(screening.patient)
    assert (blocked.cleared, blocked.next_step) == (False, "refer")
    assert "“Broken hairs or rapid loss”" in blocked.message and "dermatologist" in blocked.message

    referral_clear(
        screening=screening,
        rule_code="broken_hairs",
        recorded_by=clinician_user,
        cleared_on=SCREENED,
        cleared_by="Dr Dora Derm",
    )
    assert clearance(screening.patient).cleared


def test_a_relative_finding_blocks_until_a_clinician_overrides_it(db, clinic, clinician_user):
    patient = PatientFactory()
    MedicationFactory(patient=patient, name="Rivaroxaban")
    screening = ScreeningFactory(patient=patient, screened_on=SCREENED)

    blocked = clearance(patient)
    assert (blocked.cleared, blocked.next_step) == (False, "override")
    assert (
        "“Blood thinners or bleeding disorder”" in blocked.message and "override" in blocked.message
    )

    screening_override(
        screening=screening,
        rule_code="anticoagulant",
        by=clinician_user,
        reason="INR stable; smaller needle and pressure after.",
        on_date=TODAY,
    )
    result = clearance(patient)
    assert result.cleared
    # The overridden finding is still shown, it just no longer blocks.
    assert [f.rule_code for f in result.findings] == ["anticoagulant"]
    assert result.blocking == ()


def test_the_formulation_decides_whether_a_five_ari_rule_blocks(
    db, clinic, dht_version, vitamin_version
):
    screening = ScreeningFactory(
        screened_on=SCREENED,
        answers={"childbearing_potential": True},
        patient__sex_at_birth=SexAtBirth.FEMALE,
    )

    assert clearance(screening.patient, vitamin_version).cleared
    blocked = clearance(screening.patient, dht_version)
    assert (blocked.cleared, blocked.next_step) == (False, "override")
    assert "“Childbearing potential with a 5-ARI”" in blocked.message


def test_the_message_counts_the_other_blocking_findings(db, clinic):
    screening = ScreeningFactory(
        screened_on=SCREENED, answers={"keloid": True, "cardiac": True, "autoimmune": True}
    )
    assert "2 more findings also block." in clearance(screening.patient).message


def test_booking_clearance_does_not_need_the_recheck_but_says_it_is_due(db, clinic):
    screening = ScreeningFactory(screened_on=SCREENED)

    result = clearance(screening.patient)

    assert result.cleared and result.recheck_required


def test_a_session_needs_the_recheck_recorded_that_day(db, clinic):
    screening = ScreeningFactory(screened_on=SCREENED)
    ScreeningRecheckFactory(screening=screening, checked_on=TODAY - timedelta(days=7))

    before = pre_session_clearance(
        patient=screening.patient, formulation_version=None, on_date=TODAY
    )
    assert (before.cleared, before.next_step) == (False, "re-check")
    assert "re-check" in before.message

    ScreeningRecheckFactory(screening=screening, checked_on=TODAY)
    after = pre_session_clearance(
        patient=screening.patient, formulation_version=None, on_date=TODAY
    )
    assert after.cleared and not after.recheck_required


def test_a_recheck_that_reports_a_scalp_infection_blocks_the_day(db, clinic):
    screening = ScreeningFactory(screened_on=SCREENED)
    ScreeningRecheckFactory(
        screening=screening, checked_on=TODAY, answers={"scalp_infection": True}
    )

    result = pre_session_clearance(
        patient=screening.patient, formulation_version=None, on_date=TODAY
    )

    assert not result.cleared
    assert [f.rule_code for f in result.blocking] == ["scalp_infection"]
    # The next day the re-check no longer applies; a new one is needed.
    assert (
        pre_session_clearance(
            patient=screening.patient, formulation_version=None, on_date=TODAY + timedelta(days=1)
        ).next_step
        == "re-check"
    )


def test_an_override_on_an_older_screening_does_not_carry_to_a_new_one(db, clinic, clinician_user):
    old = ScreeningFactory(screened_on=SCREENED, answers={"keloid": True})
    screening_override(
        screening=old,
        rule_code="keloid",
        by=clinician_user,
        reason="Checked",
        on_date=SCREENED,
    )
    ScreeningFactory(patient=old.patient, screened_on=TODAY, answers={"keloid": True})

    assert clearance(old.patient).next_step == "override"


# Property: whatever the answers and the overrides, an absolute finding or an uncleared referral
# finding never clears the patient.
QUESTION_KEYS = [
    "pregnant",
    "scalp_infection",
    "scarring_alopecia",
    "breastfeeding",
    "childbearing_potential",
    "planning_conception",
    "bleeding_risk",
    "autoimmune",
    "diabetes_insulin",
    "immunodeficiency",
    "keloid",
    "systemic_steroids",
    "cardiac",
    "patchy_loss",
    "scalp_inflammation",
    "broken_hairs",
    "systemic_signs",
    "medication_onset",
]


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answers=st.dictionaries(st.sampled_from(QUESTION_KEYS), st.booleans()),
    sex=st.sampled_from(list(SexAtBirth)),
    age=st.integers(min_value=12, max_value=80),
    override_everything_relative=st.booleans(),
    use_five_ari=st.booleans(),
)
def test_no_answer_set_with_an_absolute_or_uncleared_referral_finding_is_cleared(
    clinic,
    clinician_user,
    dht_version,
    vitamin_version,
    answers,
    sex,
    age,
    override_everything_relative,
    use_five_ari,
):
    version = dht_version if use_five_ari else vitamin_version
    born = date(TODAY.year - age, 1, 1)
    screening = ScreeningFactory(
        screened_on=SCREENED,
        answers=answers,
        patient__sex_at_birth=sex,
        patient__date_of_birth=born,
    )
    if override_everything_relative:
        for rule in ScreeningRule.objects.filter(outcome="relative"):
            if rule.question_key and answers.get(rule.question_key):
                screening_override(
                    screening=screening,
                    rule_code=rule.code,
                    by=clinician_user,
                    reason="Property test",
                    on_date=TODAY,
                )

    result = clearance(screening.patient, version)

    hard = [f for f in result.findings if f.outcome in ("absolute", "referral")]
    if hard:
        assert not result.cleared
        assert result.next_step in ("screen", "refer")
        assert hard[0].name in result.message
    assert result.cleared == (result.blocking == ())


def test_screenings_read_with_their_recheck_judge_as_the_recheck_read_apart(db, clinic):
    # given a screening re-checked twice today (the later one reports an infection) and once
    # last week
    screening = ScreeningFactory(screened_on=SCREENED)
    ScreeningRecheckFactory(screening=screening, checked_on=TODAY - timedelta(days=7))
    ScreeningRecheckFactory(screening=screening, checked_on=TODAY)
    latest = ScreeningRecheckFactory(
        screening=screening, checked_on=TODAY, answers={"scalp_infection": True}
    )
    patient = screening.patient

    # when the clinical tab reads the screenings with today's re-check
    screenings = screenings_with_recheck(patient.screenings.all(), on_date=TODAY)
    result = treatment_clearance(
        patient=patient, formulation_version=None, on_date=TODAY, screenings=screenings
    )

    # then it is the latest of the day, as the clearance reads it on its own, and no other
    assert len(screenings) == 1
    assert result.recheck == latest
    assert result == clearance(patient)
    assert [f.rule_code for f in result.blocking] == ["scalp_infection"]
    tomorrow = screenings_with_recheck(patient.screenings.all(), on_date=TODAY + timedelta(1))
    assert (
        treatment_clearance(
            patient=patient,
            formulation_version=None,
            on_date=TODAY + timedelta(1),
            screenings=tomorrow,
        ).recheck
        is None
    )
