"""screening_rule_revise: a rule changes by a new version; an absolute rule is never weakened."""

from datetime import date

import pytest

from patients.models import RuleVersionError, ScreeningRule
from patients.rules import screening_rule_revise
from patients.screening import evaluate_screening
from patients.tests.factories import PatientFactory


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_user("director")


def current(code: str) -> ScreeningRule:
    return ScreeningRule.objects.current().get(code=code)


def test_a_change_makes_the_next_version_and_keeps_the_old_one(db, admin_user):
    rule = current("anticoagulant")

    new = screening_rule_revise(
        rule=rule, by=admin_user, change_reason="Clearer words", reason="Blood thinners."
    )

    assert (new.version, new.replaces_id, new.reason) == (
        rule.version + 1,
        rule.pk,
        "Blood thinners.",
    )
    assert current("anticoagulant") == new
    rule.refresh_from_db()
    assert rule.reason != "Blood thinners."  # what past screenings were evaluated against


def test_a_relative_rule_may_be_switched_off_by_a_new_version(db, admin_user):
    rule = current("keloid")

    screening_rule_revise(rule=rule, by=admin_user, change_reason="Clinic policy", is_active=False)

    patient = PatientFactory()
    findings = evaluate_screening(
        patient=patient, answers={"keloid": True}, on_date=date(2026, 11, 16)
    )
    assert "keloid" not in {f.rule_code for f in findings}


@pytest.mark.parametrize(
    "change",
    [{"is_active": False}, {"outcome": "relative"}, {"trigger_value": "16"}],
    ids=["switch off", "demote", "narrow"],
)
def test_an_absolute_rule_is_never_weakened(db, admin_user, change):
    rule = current("under_18")

    with pytest.raises(RuleVersionError, match="absolute contraindication"):
        screening_rule_revise(rule=rule, by=admin_user, change_reason="Try", **change)

    assert current("under_18") == rule


def test_an_absolute_rule_may_be_reworded(db, admin_user):
    rule = current("pregnancy")

    new = screening_rule_revise(
        rule=rule, by=admin_user, change_reason="Plainer", reason="Pregnant: never treated."
    )

    assert new.outcome == "absolute" and new.is_active


def test_a_change_needs_a_reason(db, admin_user):
    with pytest.raises(RuleVersionError, match="Say why"):
        screening_rule_revise(rule=current("keloid"), by=admin_user, change_reason=" ", position=9)


def test_an_old_version_cannot_be_revised(db, admin_user):
    rule = current("keloid")
    screening_rule_revise(rule=rule, by=admin_user, change_reason="One", position=7)

    with pytest.raises(RuleVersionError, match="has changed since you opened it"):
        screening_rule_revise(rule=rule, by=admin_user, change_reason="Two", position=8)


def test_findings_name_the_rule_version_they_were_evaluated_against(db, admin_user):
    rule = current("pregnancy")
    screening_rule_revise(rule=rule, by=admin_user, change_reason="Plainer", reason="Pregnant.")
    patient = PatientFactory(sex_at_birth="female")

    findings = evaluate_screening(
        patient=patient, answers={"pregnant": True}, on_date=date(2026, 11, 16)
    )

    pregnancy = next(f for f in findings if f.rule_code == "pregnancy")
    assert (pregnancy.rule_version, pregnancy.reason) == (2, "Pregnant.")
