"""Contraindication screening: evaluating answers against the rule table, and the actions that
record a screening, a pre-session re-check, an override and a dermatologist's clearance.

The rules are rows (ScreeningRule, loaded from DOMAIN.md by a data migration); evaluate_screening
is a pure function of the patient's record, the answers and the formulation, so the same answers
can be re-evaluated against whichever formulation a session will use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from clinic.refusals import PatientRefused

from .models import (
    Patient,
    ReferralClearance,
    RuleOutcome,
    RuleTrigger,
    Screening,
    ScreeningOverride,
    ScreeningRecheck,
    ScreeningRule,
    SexAtBirth,
)

# The order in which findings are shown: what can never be lifted first.
OUTCOME_ORDER = {RuleOutcome.ABSOLUTE: 0, RuleOutcome.REFERRAL: 1, RuleOutcome.RELATIVE: 2}


@dataclass(frozen=True)
class ScreeningFinding:
    rule_code: str
    outcome: str
    reason: str
    # The version of the rule that fired (screenings before rule versions have none: 1).
    rule_version: int = 1
    # Findings stored before rules had names carry none: the name falls back to the code.
    rule_name: str = ""

    @property
    def name(self) -> str:
        return self.rule_name or self.rule_code.replace("_", " ").capitalize()

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def outcome_label(self) -> str:
        return RuleOutcome(self.outcome).label


def age_on(*, born: date, on_date: date) -> int:
    before_birthday = (on_date.month, on_date.day) < (born.month, born.day)
    return on_date.year - born.year - before_birthday


def rules_for(*, patient: Patient) -> list[ScreeningRule]:
    """The active rules that apply to this patient (some are asked of one sex at birth only)."""
    known_sex = patient.sex_at_birth in (SexAtBirth.FEMALE, SexAtBirth.MALE)
    return [
        rule
        for rule in ScreeningRule.objects.current().filter(is_active=True)
        if not (known_sex and rule.applies_to_sex and rule.applies_to_sex != patient.sex_at_birth)
    ]


def questions_for(*, patient: Patient, recheck_only: bool = False) -> list[tuple[str, str]]:
    """(question_key, question) pairs to ask this patient, each once, in rule order."""
    seen: dict[str, str] = {}
    for rule in rules_for(patient=patient):
        if rule.question_key and rule.question_key not in seen:
            if recheck_only and not rule.in_recheck:
                continue
            seen[rule.question_key] = rule.question
    return list(seen.items())


def evaluate_screening(
    *,
    patient: Patient,
    answers: dict[str, bool],
    formulation_version=None,
    on_date: date,
) -> list[ScreeningFinding]:
    """Every rule that fires for this patient, these answers and (if given) this formulation.

    Answers are {question_key: True/False}; a missing answer counts as "no" (the screening form
    requires every answer). Allergies are cross-checked against every ingredient of the version
    by ingredient, by category and by name or synonym.
    """
    lines = []
    if formulation_version is not None:
        lines = list(formulation_version.lines.select_related("ingredient"))
    categories = {line.ingredient.category for line in lines}
    age = age_on(born=patient.date_of_birth, on_date=on_date)
    rules = rules_for(patient=patient)
    triggers = {rule.trigger for rule in rules}
    # Read once for all the rules that look at them (one query each, not one per rule), and
    # only if a rule does.
    medications, assessments = [], []
    if RuleTrigger.MEDICATION in triggers:
        medications = [m for m in patient.medications.all() if m.voided_at is None]
    if RuleTrigger.DIAGNOSIS in triggers:
        assessments = [a for a in patient.assessments.all() if a.voided_at is None]

    findings = []
    for rule in rules:
        said_yes = bool(answers.get(rule.question_key)) if rule.question_key else False
        detail = ""
        match rule.trigger:
            case RuleTrigger.ANSWER:
                fires = said_yes
            case RuleTrigger.ANSWER_AND_CATEGORY:
                fires = said_yes and rule.trigger_value in categories
            case RuleTrigger.AGE_UNDER:
                fires = age < int(rule.trigger_value)
                detail = f"Age {age} on {on_date:%d %b %Y}."
            case RuleTrigger.MEDICATION:
                names = _medicines_of_classes(medications, rule.trigger_value.split(","), on_date)
                fires = said_yes or bool(names)
                if names:
                    detail = f"Current medicine: {', '.join(names)}."
            case RuleTrigger.DIAGNOSIS:
                codes = _diagnoses_starting(assessments, rule.trigger_value)
                fires = said_yes or bool(codes)
                if codes:
                    detail = f"Recorded diagnosis: {', '.join(codes)}."
            case RuleTrigger.ALLERGY:
                matches = _allergy_matches(patient, lines)
                fires = bool(matches)
                detail = " ".join(matches)
            case _:
                fires = False
        if fires:
            reason = f"{rule.reason} {detail}".strip()
            findings.append(
                ScreeningFinding(rule.code, rule.outcome, reason, rule.version, rule.name)
            )
    findings.sort(key=lambda f: OUTCOME_ORDER[f.outcome])
    return findings


def _medicines_of_classes(medications, classes: list[str], on_date: date) -> list[str]:
    return [m.name for m in medications if m.medication_class in classes and m.is_taken_on(on_date)]


def _diagnoses_starting(assessments, prefix: str) -> list[str]:
    return sorted({a.diagnosis for a in assessments if a.diagnosis.startswith(prefix)})


def _allergy_matches(patient: Patient, lines) -> list[str]:
    """Plain-words matches between the patient's allergies and the version's ingredients."""
    if not lines:
        return []  # no formulation (or none named yet): no ingredient to be allergic to
    matches = []
    # .all(): a page that prefetched the allergies (with their ingredient) is not asked again.
    allergies = [a for a in patient.allergies.all() if a.voided_at is None]
    for allergy in allergies:
        allergy_names = set()
        if allergy.ingredient_id:
            allergy_names = allergy.ingredient.all_names()
        if allergy.substance:
            allergy_names.add(allergy.substance.strip().casefold())
        for line in lines:
            ingredient = line.ingredient
            if allergy.ingredient_id == ingredient.pk or allergy_names & ingredient.all_names():
                matches.append(f"Allergy to {allergy.label}; the formulation contains it.")
            elif allergy.category and allergy.category == ingredient.category:
                matches.append(
                    f"Allergy to {allergy.label}; the formulation contains {ingredient.name}."
                )
    return matches


def _require(user, perm: str, what: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied(f"Only a clinician can {what}.")


@transaction.atomic
def screening_record(
    *,
    patient: Patient,
    by,
    answers: dict[str, bool],
    on_date: date,
    formulation_version=None,
    notes: str = "",
) -> Screening:
    """Record a screening with the findings of that day kept as a snapshot."""
    _require(by, "patients.add_screening", "record a screening")
    # A signature checks the clearance with the patient locked: wait for it, or be seen by it.
    Patient.objects.select_for_update().get(pk=patient.pk)
    findings = evaluate_screening(
        patient=patient, answers=answers, formulation_version=formulation_version, on_date=on_date
    )
    return Screening.objects.create(
        patient=patient,
        screened_on=on_date,
        clinician=by,
        formulation_version=formulation_version,
        answers={key: bool(value) for key, value in answers.items()},
        findings=[f.as_dict() for f in findings],
        notes=notes,
    )


@transaction.atomic
def screening_recheck(
    *,
    screening: Screening,
    by,
    answers: dict[str, bool],
    on_date: date,
    new_medicines: bool = False,
    notes: str = "",
) -> ScreeningRecheck:
    """Record the short re-check before a session; its answers replace the screening's."""
    _require(by, "patients.add_screeningrecheck", "record a re-check")
    Patient.objects.select_for_update().get(pk=screening.patient_id)
    return ScreeningRecheck.objects.create(
        screening=screening,
        checked_on=on_date,
        clinician=by,
        answers={key: bool(value) for key, value in answers.items()},
        new_medicines=new_medicines,
        notes=notes,
    )


def _finding_on(screening: Screening, rule_code: str, formulation_version, on_date: date):
    findings = evaluate_screening(
        patient=screening.patient,
        answers=screening.answers,
        formulation_version=formulation_version or screening.formulation_version,
        on_date=on_date,
    )
    recorded = {f["rule_code"] for f in screening.findings}
    for finding in findings:
        if finding.rule_code == rule_code:
            return finding
    if rule_code in recorded:
        return next(
            ScreeningFinding(**f) for f in screening.findings if f["rule_code"] == rule_code
        )
    return None


def screening_override(
    *,
    screening: Screening,
    rule_code: str,
    by,
    reason: str,
    on_date: date,
    formulation_version=None,
) -> ScreeningOverride:
    """Let treatment proceed despite a relative finding. Absolute and referral findings can't be
    overridden: an absolute one never, a referral one only by a dermatologist's clearance."""
    _require(by, "patients.add_screeningoverride", "override a screening finding")
    rule = ScreeningRule.objects.current().filter(code=rule_code).first()
    if rule is None:
        raise PatientRefused("screening_override", "There is no screening rule with that code.")
    if rule.outcome == RuleOutcome.ABSOLUTE:
        raise PatientRefused(
            "screening_override",
            f"“{rule.reason}” is an absolute contraindication: it cannot be overridden.",
        )
    if rule.outcome == RuleOutcome.REFERRAL:
        raise PatientRefused(
            "screening_override",
            f"“{rule.reason}” is a red flag: record the dermatologist's clearance instead of an "
            "override.",
        )
    if not reason.strip():
        raise PatientRefused("screening_override", "Write the reason for the override.")
    answered_yes = bool(rule.question_key and screening.answers.get(rule.question_key))
    finding = _finding_on(screening, rule_code, formulation_version, on_date)
    if finding is None and not answered_yes:
        raise PatientRefused(
            "screening_override", "This screening has no such finding to override."
        )
    try:
        with transaction.atomic():
            return ScreeningOverride.objects.create(
                screening=screening, rule=rule, clinician=by, reason=reason.strip()
            )
    except IntegrityError as exc:
        raise PatientRefused("screening_override", "This finding is already overridden.") from exc


def referral_clear(
    *,
    screening: Screening,
    rule_code: str,
    recorded_by,
    cleared_on: date,
    cleared_by: str,
    note: str = "",
) -> ReferralClearance:
    """Record that a dermatologist cleared the patient after a red-flag finding."""
    _require(recorded_by, "patients.add_referralclearance", "record a dermatologist's clearance")
    rule = (
        ScreeningRule.objects.current().filter(code=rule_code, outcome=RuleOutcome.REFERRAL).first()
    )
    if rule is None:
        raise PatientRefused(
            "referral_clear", "Only a referral (red-flag) finding is cleared by a dermatologist."
        )
    if not cleared_by.strip():
        raise PatientRefused("referral_clear", "Name the dermatologist who cleared the patient.")
    try:
        with transaction.atomic():
            return ReferralClearance.objects.create(
                screening=screening,
                rule=rule,
                recorded_by=recorded_by,
                cleared_on=cleared_on,
                cleared_by=cleared_by.strip(),
                note=note,
            )
    except IntegrityError as exc:
        raise PatientRefused("referral_clear", "This referral is already cleared.") from exc
