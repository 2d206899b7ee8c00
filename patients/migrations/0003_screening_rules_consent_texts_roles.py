"""Reference data: the contraindication rules of DOMAIN.md, the first consent texts, and what each
role may do with patients."""

from django.db import migrations

from clinic.roles import grant_permissions

# (code, question_key, question, outcome, trigger, trigger_value, applies_to_sex, in_recheck, reason)
# DOMAIN.md "Contraindication screening"; reasons are what staff read when the rule blocks.
RULES = [
    # absolute: never treated, no override
    (
        "pregnancy",
        "pregnant",
        "Are you pregnant, or could you be pregnant?",
        "absolute",
        "answer",
        "",
        "female",
        True,
        "The patient is or may be pregnant: mesotherapy is never given in pregnancy.",
    ),
    (
        "pregnancy_5ari",
        "pregnant",
        "Are you pregnant, or could you be pregnant?",
        "absolute",
        "answer+category",
        "5ari",
        "female",
        True,
        "The patient is or may be pregnant and the formulation contains a 5-alpha-reductase "
        "inhibitor (e.g. dutasteride), which can harm a male foetus.",
    ),
    (
        "allergy_ingredient",
        "",
        "",
        "absolute",
        "allergy",
        "",
        "",
        False,
        "The patient has a recorded allergy to an ingredient of this formulation.",
    ),
    (
        "scalp_infection",
        "scalp_infection",
        "Is there an active infection or dermatitis on the scalp where we would treat?",
        "absolute",
        "answer",
        "",
        "",
        True,
        "Active scalp infection or dermatitis at the treatment site: no injections until it has "
        "healed.",
    ),
    (
        "scarring_alopecia",
        "scarring_alopecia",
        "Is scarring (cicatricial) alopecia suspected or diagnosed?",
        "absolute",
        "diagnosis",
        "L66",
        "",
        False,
        "Suspected or diagnosed scarring alopecia: not a mesotherapy candidate.",
    ),
    (
        "under_18",
        "",
        "",
        "absolute",
        "age_under",
        "18",
        "",
        False,
        "The patient is under 18: mesotherapy is not given to minors.",
    ),
    # relative: a clinician may proceed with a written override
    (
        "breastfeeding",
        "breastfeeding",
        "Are you breastfeeding?",
        "relative",
        "answer",
        "",
        "female",
        False,
        "The patient is breastfeeding.",
    ),
    (
        "childbearing_5ari",
        "childbearing_potential",
        "Could you become pregnant (of childbearing potential)?",
        "relative",
        "answer+category",
        "5ari",
        "female",
        False,
        "A woman of childbearing potential receiving a 5-alpha-reductase inhibitor: contraception "
        "must be documented.",
    ),
    (
        "conception_5ari",
        "planning_conception",
        "Are you planning to father a child?",
        "relative",
        "answer+category",
        "5ari",
        "male",
        False,
        "A man planning conception receiving a 5-alpha-reductase inhibitor.",
    ),
    (
        "anticoagulant",
        "bleeding_risk",
        "Do you take blood thinners (anticoagulant or antiplatelet medicines) or have a bleeding "
        "disorder?",
        "relative",
        "medication",
        "anticoagulant,antiplatelet",
        "",
        True,
        "Anticoagulant or antiplatelet use, or a bleeding disorder: higher risk of bleeding and "
        "bruising.",
    ),
    (
        "autoimmune",
        "autoimmune",
        "Do you have an autoimmune or connective-tissue disease (lupus, psoriasis, scleroderma)?",
        "relative",
        "answer",
        "",
        "",
        False,
        "Autoimmune or connective-tissue disease (lupus, psoriasis, scleroderma).",
    ),
    (
        "diabetes_insulin",
        "diabetes_insulin",
        "Do you have diabetes treated with insulin?",
        "relative",
        "answer",
        "",
        "",
        False,
        "Insulin-dependent diabetes.",
    ),
    (
        "immunodeficiency",
        "immunodeficiency",
        "Do you have an immunodeficiency or are you having treatment for cancer?",
        "relative",
        "answer",
        "",
        "",
        False,
        "Immunodeficiency or active cancer treatment.",
    ),
    (
        "keloid",
        "keloid",
        "Do your scars tend to become raised or keloid?",
        "relative",
        "answer",
        "",
        "",
        False,
        "Keloid tendency.",
    ),
    (
        "systemic_steroids",
        "systemic_steroids",
        "Do you take steroid tablets or injections (systemic steroids)?",
        "relative",
        "medication",
        "systemic_steroid",
        "",
        False,
        "Systemic steroid use.",
    ),
    (
        "cardiac",
        "cardiac",
        "Do you have uncontrolled high blood pressure or heart disease?",
        "relative",
        "answer",
        "",
        "",
        False,
        "Uncontrolled hypertension or cardiac disease.",
    ),
    # referral: red flags, a dermatologist must clear the patient first
    (
        "patchy_loss",
        "patchy_loss",
        "Have sudden patchy or circular bald spots appeared?",
        "referral",
        "answer",
        "",
        "",
        False,
        "Sudden patchy or circular bald spots (possible alopecia areata): see a dermatologist first.",
    ),
    (
        "scalp_inflammation",
        "scalp_inflammation",
        "Is the scalp red, scaly, painful or itchy, or is there pus?",
        "referral",
        "answer",
        "",
        "",
        False,
        "Redness, scaling, pus, pain or itch of the scalp (possible scarring alopecia): see a "
        "dermatologist first.",
    ),
    (
        "broken_hairs",
        "broken_hairs",
        "Are there broken hairs, or is the hair falling out fast?",
        "referral",
        "answer",
        "",
        "",
        False,
        "Broken hairs or rapid hair loss: see a dermatologist first.",
    ),
    (
        "systemic_signs",
        "systemic_signs",
        "Has the hair loss come with weight loss, tiredness, cycle changes, acne or excess body "
        "hair?",
        "referral",
        "answer",
        "",
        "",
        False,
        "Hair loss with body-wide signs: needs a medical work-up by a dermatologist first.",
    ),
    (
        "medication_onset",
        "medication_onset",
        "Did the hair loss begin after a new medicine?",
        "referral",
        "answer",
        "",
        "",
        False,
        "Hair loss that began after a new medicine: see a dermatologist first.",
    ),
    (
        "child_hair_loss",
        "",
        "",
        "referral",
        "age_under",
        "18",
        "",
        False,
        "Any hair loss in a child needs a dermatologist.",
    ),
]

TREATMENT_CONSENT = """I agree to a course of scalp mesotherapy: a series of small, shallow injections \
into the scalp of the formulation named below.

I have been told that mesotherapy for hair loss is not approved by the FDA or any other regulator \
for this use, that the evidence for it is limited, and that results vary and are not guaranteed.

I have been told the common side effects: pain during injection, redness, swelling, itching, \
bruising, bleeding and headache; and the rare ones: infection, allergic reaction, patchy hair loss \
and scarring.

I have been given the full list of ingredients of the formulation and their strengths, and I have \
told the clinic about every allergy, medicine and medical condition I know of.

I can stop the treatment at any time."""

OFF_LABEL_STATEMENT = """This formulation contains a prescription medicine used off-label: it is \
licensed for other uses, not for injection into the scalp. The dose and schedule follow published \
clinical studies rather than a licence.

If the formulation contains a 5-alpha-reductase inhibitor (finasteride or dutasteride): it must not \
be used by anyone who is or may become pregnant, and I must not donate blood for 6 months after the \
last dose."""


CONTACT = [f"patients.{a}_patient" for a in ("add", "change", "view")]
CLINICAL = [
    "patients.view_clinical",
    "patients.view_screeningrule",
    "patients.view_consenttext",
    *(
        f"patients.{action}_{model}"
        for model in (
            "allergy",
            "medication",
            "assessment",
            "screening",
            "screeningrecheck",
            "screeningoverride",
            "referralclearance",
            "consentsignature",
        )
        for action in ("add", "change", "view")
    ),
]
ROLE_GRANTS = {
    "reception": CONTACT,
    "clinician": CONTACT + CLINICAL,
    "clinic admin": CONTACT
    + CLINICAL
    + ["patients.add_consenttext", "patients.change_screeningrule"],
}


def load_reference_rows(apps) -> None:
    """The rules and consent texts; idempotent, so tests that flush the database reload them."""
    ScreeningRule = apps.get_model("patients", "ScreeningRule")
    for position, row in enumerate(RULES):
        code, key, question, outcome, trigger, value, sex, recheck, reason = row
        ScreeningRule.objects.update_or_create(
            code=code,
            defaults={
                "question_key": key,
                "question": question,
                "outcome": outcome,
                "trigger": trigger,
                "trigger_value": value,
                "applies_to_sex": sex,
                "in_recheck": recheck,
                "reason": reason,
                "position": position * 10,
            },
        )
    ConsentText = apps.get_model("patients", "ConsentText")
    ConsentText.objects.get_or_create(
        kind="treatment",
        version=1,
        defaults={"title": "Consent to scalp mesotherapy", "body": TREATMENT_CONSENT},
    )
    ConsentText.objects.get_or_create(
        kind="off_label",
        version=1,
        defaults={"title": "Off-label use of a prescription medicine", "body": OFF_LABEL_STATEMENT},
    )


def load(apps, schema_editor):
    load_reference_rows(apps)
    grant_permissions(apps, ROLE_GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_clinical_records_and_screening"),
        ("clinic", "0002_roles"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
