"""Intake at home (patients/intake.py): the patient's answers are stored as a report, never a
screening; a reported absolute contraindication or red flag is flagged for the clinician."""

from datetime import UTC, date, datetime

import pytest

from clinic.refusals import PatientRefused
from clinic.roles import Role
from patients.clearance import treatment_clearance
from patients.intake import intake_attention, intake_questions, intake_review, intake_submit
from patients.models import PatientReport, Screening, SexAtBirth
from patients.tests.factories import PatientFactory

TODAY = date(2026, 11, 23)


def all_no(patient):
    return {key: False for key, _ in intake_questions(patient=patient)}


def submit(patient, answers, now, **kw):
    return intake_submit(
        patient=patient,
        answers=answers,
        medical_history=kw.get("medical_history", ""),
        allergies=kw.get("allergies", ""),
        medications=kw.get("medications", ""),
        contact=kw.get("contact", {}),
        consents_read=kw.get("consents_read", []),
        on_date=TODAY,
        now=now,
    )


@pytest.fixture
def now():
    return datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_the_questions_are_the_rule_tables_in_plain_words():
    man = PatientFactory(sex_at_birth=SexAtBirth.MALE)
    woman = PatientFactory(sex_at_birth=SexAtBirth.FEMALE)
    keys_man = dict(intake_questions(patient=man))
    keys_woman = dict(intake_questions(patient=woman))
    assert keys_woman["pregnant"] == "Are you pregnant, or could you be pregnant?"
    assert "pregnant" not in keys_man  # asked of one sex at birth only


@pytest.mark.django_db
def test_every_question_must_be_answered(now):
    patient = PatientFactory()
    answers = all_no(patient)
    answers.popitem()
    with pytest.raises(PatientRefused, match="every question"):
        submit(patient, answers, now)


@pytest.mark.django_db
def test_a_clean_report_needs_no_attention_and_is_never_a_screening(now):
    patient = PatientFactory()
    report = submit(patient, all_no(patient), now, allergies="penicillin: rash")
    assert not report.needs_attention and report.findings == []
    assert report.allergies == "penicillin: rash"
    assert not Screening.objects.exists()
    # Nothing the patient reports clears them: a clinician must still screen.
    clearance = treatment_clearance(patient=patient, formulation_version=None, on_date=TODAY)
    assert not clearance.cleared and clearance.next_step == "screen"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key,outcome", [("scalp_infection", "absolute"), ("patchy_loss", "referral")]
)
def test_a_reported_absolute_or_red_flag_is_flagged_for_the_clinician(now, key, outcome):
    patient = PatientFactory()
    answers = all_no(patient) | {key: True}
    report = submit(patient, answers, now)
    assert report.needs_attention
    assert {f["outcome"] for f in report.findings} == {outcome}
    assert intake_attention(patient=patient) == report


@pytest.mark.django_db
def test_a_relative_finding_alone_is_not_flagged(now):
    patient = PatientFactory()
    report = submit(patient, all_no(patient) | {"keloid": True}, now)
    assert not report.needs_attention


@pytest.mark.django_db
def test_unknown_answers_and_contact_keys_are_dropped(now):
    patient = PatientFactory()
    answers = all_no(patient) | {"made_up": True}
    report = submit(patient, answers, now, contact={"email": "new@x.org", "record_number": "MT9"})
    assert "made_up" not in report.answers
    assert report.contact == {"email": "new@x.org"}


@pytest.mark.django_db
def test_the_clinician_marks_it_read_reception_cannot(now, staff):
    patient = PatientFactory()
    report = submit(patient, all_no(patient) | {"scalp_infection": True}, now)
    with pytest.raises(PatientRefused):
        intake_review(report=report, by=staff(Role.RECEPTION).user, now=now)
    intake_review(report=report, by=staff(Role.CLINICIAN).user, now=now)
    assert PatientReport.objects.get().reviewed_at == now
    assert intake_attention(patient=patient) is None
