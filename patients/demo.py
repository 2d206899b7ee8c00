"""Demo patients for `seed_demo`: one per screening case a clinic meets. Safe to run again: a
patient who already exists (same name) is left as it is."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from formulations.models import Ingredient, IngredientCategory

from .models import Allergy, Assessment, Medication, Patient, Severity, SexAtBirth
from .registration import patient_register
from .screening import referral_clear, screening_override, screening_record

F, M = SexAtBirth.FEMALE, SexAtBirth.MALE


def _born(today: date, years: int) -> date:
    return today.replace(year=today.year - years) - timedelta(days=40)


def seed(*, clinic) -> None:
    today = timezone.localdate()
    clinician = get_user_model().objects.filter(username="clinician").first()
    dutasteride, _ = Ingredient.objects.get_or_create(
        name="Dutasteride",
        defaults={
            "category": IngredientCategory.FIVE_ALPHA_REDUCTASE_INHIBITOR,
            "is_prescription_drug": True,
        },
    )
    patients = [
        # given, family, sex, age, mobile, what makes the case
        ("Oliver", "Bennett", M, 41, "+447700900101", "cleared"),
        ("Priya", "Shah", F, 36, "+447700900102", "cleared_woman"),
        ("Emma", "Clarke", F, 32, "+447700900103", "pregnant"),
        ("James", "Okafor", M, 45, "+447700900104", "allergic"),
        ("Margaret", "Hughes", F, 58, "+447700900105", "anticoagulant"),
        ("Daniel", "Murphy", M, 29, "+447700900106", "red_flag"),
        ("Lucas", "Taylor", M, 16, "+447700900107", "minor"),
        ("Sophie", "Turner", F, 44, "+447700900108", "lapsed"),
        ("Aisha", "Khan", F, 27, "+447700900109", "new"),
        ("Thomas", "Wright", M, 52, "+447700900110", "referral_cleared"),
    ]
    # Two patients live abroad (DOMAIN.md: patients may live in another zone). Their quiet hours
    # follow their own clocks, so whenever `make run` starts, someone's reminders may go out.
    zones = {"Priya": "Asia/Singapore", "James": "America/New_York"}
    # Address, GP and emergency contact for two of them, so reception sees the full contact card
    # (Ofcom's drama numbers: 020 7946 0xxx rings no one).
    contacts = {
        "Oliver": {
            "address_line1": "14 Canonbury Lane",
            "town": "London",
            "postcode": "N1 2AS",
            "gp_name": "Dr Helen Marsh",
            "gp_practice": "Islington Green Practice",
            "gp_phone": "+442079460123",
            "emergency_contact_name": "Claire Bennett",
            "emergency_contact_relationship": "Wife",
            "emergency_contact_phone": "+447700900201",
        },
        "Margaret": {
            "address_line1": "Flat 3",
            "address_line2": "22 Highbury Grove",
            "town": "London",
            "postcode": "N5 2EA",
            "gp_name": "Dr Samuel Adeyemi",
            "gp_practice": "Highbury Medical Centre",
            "gp_phone": "+442079460456",
            "emergency_contact_name": "Peter Hughes",
            "emergency_contact_relationship": "Son",
            "emergency_contact_phone": "+447700900202",
        },
    }
    for given, family, sex, age, mobile, case in patients:
        if Patient.objects.filter(given_name=given, family_name=family).exists():
            continue
        patient = patient_register(
            details={
                "given_name": given,
                "family_name": family,
                "date_of_birth": _born(today, age),
                "sex_at_birth": sex,
                "email": f"{given.lower()}.{family.lower()}@patients.example",
                "mobile": mobile,
                "preferred_channel": "sms" if age > 50 else "email",
                "time_zone": zones.get(given, ""),
                **contacts.get(given, {}),
            },
            email_consent=True,
            sms_consent=age > 50,
            now=timezone.now(),
        )
        if clinician is not None:
            _clinical_case(patient, case, clinician, today, dutasteride)


def _clinical_case(patient, case, clinician, today, dutasteride) -> None:
    screened = today - timedelta(days=10)
    answers: dict[str, bool] = {}
    diagnosis, scale, value = "L64.9", "norwood", "III"
    if patient.sex_at_birth == SexAtBirth.FEMALE:
        diagnosis, scale, value = "L65.9", "ludwig", "II"
    if case == "pregnant":
        answers["pregnant"] = True
    if case == "allergic":
        Allergy.objects.create(
            patient=patient,
            ingredient=dutasteride,
            severity=Severity.MODERATE,
            reaction="Hives after oral dutasteride (2024).",
            recorded_by=clinician,
        )
    if case == "anticoagulant":
        Medication.objects.create(
            patient=patient,
            name="Apixaban",
            medication_class="anticoagulant",
            dose="5 mg twice daily",
            started_on=today - timedelta(days=400),
            recorded_by=clinician,
        )
    if case in ("red_flag", "referral_cleared"):
        answers["patchy_loss" if case == "red_flag" else "broken_hairs"] = True
        diagnosis, scale, value = "L63.9", "salt", "15"
    if case == "lapsed":
        screened = today - timedelta(days=120)
    if case == "new":
        return
    Assessment.objects.create(
        patient=patient,
        assessed_on=screened,
        diagnosis=diagnosis,
        scale=scale,
        scale_value=value,
        zones=["vertex", "mid_scalp"],
        notes="Demo assessment.",
        clinician=clinician,
    )
    screening = screening_record(patient=patient, by=clinician, answers=answers, on_date=screened)
    if case == "anticoagulant":
        screening_override(
            screening=screening,
            rule_code="anticoagulant",
            by=clinician,
            reason="Stable on apixaban; GP agrees. Fine needle, pressure after each point.",
            on_date=screened,
        )
    if case == "referral_cleared":
        referral_clear(
            screening=screening,
            rule_code="broken_hairs",
            recorded_by=clinician,
            cleared_on=screened - timedelta(days=3),
            cleared_by="Dr Helen Marsh, consultant dermatologist",
            note="Trichoscopy normal; no scarring. Fit for mesotherapy.",
        )
