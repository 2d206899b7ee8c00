"""Before treatment: the screening Questionnaire (from the rule table) and its answers as
QuestionnaireResponse, AllergyIntolerance, and Consent with the exact text the patient signed."""

from __future__ import annotations

import base64
from datetime import datetime

from clinic.models import Clinic
from patients.models import (
    Allergy,
    ConsentKind,
    ConsentSignature,
    Screening,
    ScreeningRecheck,
    ScreeningRule,
    Severity,
)

from .codes import (
    CONSENT_DOCUMENT,
    CONSENT_KIND,
    HL7,
    INGREDIENT,
    INGREDIENT_CATEGORY,
    LOCAL,
    concept,
)
from .fhir_base import build, drop_empty, fhir_id, instant, meta
from .fhir_patient import organization_reference, patient_reference, user_reference

QUESTIONNAIRE_ID = "screening"
QUESTIONNAIRE_URL = f"{LOCAL}:Questionnaire:screening"
NEW_MEDICINES = ("new_medicines", "Any new medicines since the last visit?")

SCREENING = "screening"
RECHECK = "recheck"
ALLERGY = "allergy"
CONSENT = "consent"

CRITICALITY = {
    Severity.SEVERE: "high",
    Severity.MODERATE: "low",
    Severity.MILD: "low",
    Severity.UNKNOWN: "unable-to-assess",
}
# R4 consent scope: photography is about the use of the patient's images, so privacy.
CONSENT_SCOPE = {
    ConsentKind.TREATMENT: ("treatment", "Treatment"),
    ConsentKind.OFF_LABEL: ("treatment", "Treatment"),
    ConsentKind.PHOTOGRAPHY: ("patient-privacy", "Privacy Consent"),
}


def questionnaire_resource(rules: list[ScreeningRule], *, loaded_at: datetime | None) -> dict:
    """One boolean item per question of the rule table (rules sharing a question share an item),
    plus the re-check's question about new medicines."""
    items, seen = [], set()
    for rule in rules:
        if rule.question_key and rule.question_key not in seen:
            seen.add(rule.question_key)
            items.append({"linkId": rule.question_key, "text": rule.question, "type": "boolean"})
    items.append({"linkId": NEW_MEDICINES[0], "text": NEW_MEDICINES[1], "type": "boolean"})
    changes = [r.last_change for r in rules if getattr(r, "last_change", None)]
    latest = max([*changes, *([loaded_at] if loaded_at else [])], default=None)
    data = {
        "id": QUESTIONNAIRE_ID,
        "meta": {"lastUpdated": instant(latest)} if latest else {},
        "url": QUESTIONNAIRE_URL,
        "name": "ContraindicationScreening",
        "title": "Contraindication screening before scalp mesotherapy",
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }
    return build("Questionnaire", drop_empty(data))


def _answer_items(answers: dict, questions: dict[str, str]) -> list[dict]:
    items = []
    for key, value in answers.items():
        answer = {"valueBoolean": value} if isinstance(value, bool) else {"valueString": str(value)}
        item = {"linkId": key, "answer": [answer]}
        if key in questions:
            item["text"] = questions[key]
        items.append(item)
    return items


def questionnaire_response_resource(screening: Screening, *, questions: dict[str, str]) -> dict:
    data = {
        "id": fhir_id(SCREENING, screening.pk),
        "meta": meta(screening, screening.created_at),
        "questionnaire": QUESTIONNAIRE_URL,
        "status": "completed",
        "subject": patient_reference(screening.patient),
        "authored": instant(screening.created_at),
        "author": user_reference(screening.clinician),
        "source": patient_reference(screening.patient),
        "item": _answer_items(screening.answers, questions),
    }
    return build("QuestionnaireResponse", drop_empty(data))


def recheck_response_resource(recheck: ScreeningRecheck, *, questions: dict[str, str]) -> dict:
    answers = {**recheck.answers, NEW_MEDICINES[0]: recheck.new_medicines}
    data = {
        "id": fhir_id(RECHECK, recheck.pk),
        "meta": meta(recheck, recheck.created_at),
        "questionnaire": QUESTIONNAIRE_URL,
        "status": "completed",
        "subject": patient_reference(recheck.screening.patient),
        "authored": instant(recheck.created_at),
        "author": user_reference(recheck.clinician),
        "source": patient_reference(recheck.screening.patient),
        "item": _answer_items(answers, {**questions, NEW_MEDICINES[0]: NEW_MEDICINES[1]}),
    }
    return build("QuestionnaireResponse", drop_empty(data))


def allergy_resource(allergy: Allergy) -> dict:
    if allergy.ingredient_id:
        code = concept(INGREDIENT, str(allergy.ingredient_id), allergy.ingredient.name)
    elif allergy.category:
        code = concept(
            INGREDIENT_CATEGORY,
            allergy.category,
            allergy.get_category_display(),
            text=allergy.label,
        )
    else:
        code = {"text": allergy.substance}
    reaction = []
    if allergy.reaction:
        reaction.append(
            drop_empty(
                {
                    "manifestation": [{"text": allergy.reaction}],
                    "severity": allergy.severity if allergy.severity != Severity.UNKNOWN else None,
                }
            )
        )
    data = {
        "id": fhir_id(ALLERGY, allergy.pk),
        "meta": meta(allergy, allergy.recorded_at),
        "clinicalStatus": concept(f"{HL7}/allergyintolerance-clinical", "active", "Active"),
        "verificationStatus": concept(
            f"{HL7}/allergyintolerance-verification", "confirmed", "Confirmed"
        ),
        "type": "allergy",
        "category": ["medication"],
        "criticality": CRITICALITY[allergy.severity],
        "code": code,
        "patient": patient_reference(allergy.patient),
        "recordedDate": instant(allergy.recorded_at),
        "recorder": user_reference(allergy.recorded_by),
        "reaction": reaction,
    }
    return build("AllergyIntolerance", drop_empty(data))


def consent_resource(signature: ConsentSignature, *, clinic: Clinic | None) -> dict:
    """The consent as signed: the exact text shown is the source attachment. A withdrawn consent
    is inactive and its permission ends when it was withdrawn."""
    texts = list(signature.texts.all())
    kinds = sorted({text.kind for text in texts}) or [ConsentKind.TREATMENT]
    scope_code, scope_display = CONSENT_SCOPE[kinds[0]]
    withdrawal = getattr(signature, "withdrawal", None)
    period = {"start": instant(signature.signed_at)}
    if withdrawal is not None:
        period["end"] = instant(withdrawal.withdrawn_at)
    title = "; ".join(str(text) for text in texts) or "Consent"
    data = {
        "id": fhir_id(CONSENT, signature.pk),
        "meta": meta(signature, signature.signed_at),
        "status": "inactive" if withdrawal is not None else "active",
        "scope": concept(f"{HL7}/consentscope", scope_code, scope_display),
        "category": [concept(*CONSENT_DOCUMENT)]
        + [concept(CONSENT_KIND, kind, ConsentKind(kind).label) for kind in kinds],
        "patient": patient_reference(signature.patient),
        "dateTime": instant(signature.signed_at),
        "performer": [patient_reference(signature.patient)],
        "organization": [organization_reference(clinic)] if clinic else [],
        "sourceAttachment": {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(signature.text_signed.encode()).decode(),
            "title": title,
            "creation": instant(signature.signed_at),
        },
        "policyRule": concept(f"{HL7}/v3-ActCode", "OPTIN", "opt-in"),
        "verification": [{"verified": True, "verificationDate": instant(signature.signed_at)}],
        "provision": {"type": "permit", "period": period},
    }
    return build("Consent", drop_empty(data))
