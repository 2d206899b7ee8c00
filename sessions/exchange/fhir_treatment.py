"""The course of care: Condition (diagnosis + stage), CarePlan (the plan), Appointment (a booked
session) and Procedure (a performed session, from its signed record)."""

from __future__ import annotations

from patients.models import Assessment, Scale
from sessions.models import (
    PlanStatus,
    SessionKind,
    SessionRecord,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)

from .codes import (
    HL7,
    ICD10,
    PROCEDURE,
    SCALE,
    SCALP,
    SESSION_KIND,
    concept,
    zone_concept,
)
from .fhir_base import build, day, drop_empty, fhir_id, instant, meta, reference
from .fhir_medication import lot_medication_reference, version_medication_reference
from .fhir_patient import (
    location_reference,
    patient_reference,
    practitioner_reference,
    user_reference,
)

ASSESSMENT = "assessment"
PLAN = "plan"
SESSION = "session"
RECORD = "record"

MESOTHERAPY = ("scalp-mesotherapy", "Scalp mesotherapy for hair loss")

PLAN_STATUS = {
    PlanStatus.DRAFT: "draft",
    PlanStatus.ACTIVE: "active",
    PlanStatus.COMPLETED: "completed",
    PlanStatus.STOPPED: "revoked",
}
# R4 AppointmentStatus. A completed session is "fulfilled"; confirmed stays "booked" (FHIR has no
# separate confirmed state once booked).
APPOINTMENT_STATUS = {
    SessionStatus.SCHEDULED: "booked",
    SessionStatus.CONFIRMED: "booked",
    SessionStatus.CHECKED_IN: "arrived",
    SessionStatus.COMPLETED: "fulfilled",
    SessionStatus.CANCELLED_BY_PATIENT: "cancelled",
    SessionStatus.CANCELLED_BY_CLINIC: "cancelled",
    SessionStatus.NO_SHOW: "noshow",
}


def condition_reference(assessment: Assessment) -> dict:
    return reference("Condition", ASSESSMENT, assessment.pk, assessment.get_diagnosis_display())


def care_plan_reference(plan: TreatmentPlan) -> dict:
    return reference("CarePlan", PLAN, plan.pk)


def appointment_reference(session: TreatmentSession) -> dict:
    return reference("Appointment", SESSION, session.pk)


def procedure_reference(record: SessionRecord) -> dict:
    return reference("Procedure", RECORD, record.pk)


def condition_resource(assessment: Assessment) -> dict:
    """ICD-10 diagnosis; the severity scale reading is the stage (the scale is stage.type)."""
    scale = Scale(assessment.scale)
    data = {
        "id": fhir_id(ASSESSMENT, assessment.pk),
        "meta": meta(assessment, assessment.created_at),
        "clinicalStatus": concept(f"{HL7}/condition-clinical", "active", "Active"),
        "verificationStatus": concept(f"{HL7}/condition-ver-status", "confirmed", "Confirmed"),
        "category": [
            concept(f"{HL7}/condition-category", "encounter-diagnosis", "Encounter Diagnosis")
        ],
        "code": concept(
            ICD10,
            assessment.diagnosis,
            assessment.get_diagnosis_display().partition(" ")[2],
            text=assessment.get_diagnosis_display(),
        ),
        "bodySite": [zone_concept(zone) for zone in assessment.zones] or [concept(*SCALP)],
        "subject": patient_reference(assessment.patient),
        "recordedDate": day(assessment.assessed_on),
        "recorder": user_reference(assessment.clinician),
        "stage": [
            {
                "summary": concept(
                    SCALE,
                    f"{scale.value}-{assessment.scale_value}",
                    f"{scale.label} {assessment.scale_value}",
                ),
                "type": concept(SCALE, scale.value, scale.label),
            }
        ],
        "note": [{"text": assessment.notes}] if assessment.notes else [],
    }
    return build("Condition", drop_empty(data))


def care_plan_resource(plan: TreatmentPlan) -> dict:
    therapies = [
        label
        for flag, label in (
            (plan.prp_alternating, "PRP on alternate sessions"),
            (plan.microneedling, "microneedling"),
            (plan.topical_minoxidil, "topical minoxidil"),
        )
        if flag
    ]
    description = (
        f"{plan.number_of_sessions} sessions every {plan.interval_days} days, "
        f"{plan.get_technique_display()} with {plan.get_device_display()} "
        f"at {plan.target_depth_mm} mm"
    )
    if therapies:
        description += "; with " + ", ".join(therapies)
    data = {
        "id": fhir_id(PLAN, plan.pk),
        "meta": meta(plan, plan.created_at),
        "status": PLAN_STATUS[plan.status],
        "intent": "plan",
        "title": plan.indication,
        "description": description,
        "subject": patient_reference(plan.patient),
        "created": instant(plan.created_at),
        "author": practitioner_reference(plan.created_by),
        "addresses": [condition_reference(plan.assessment)] if plan.assessment_id else [],
        "activity": [
            {
                "detail": {
                    "kind": "MedicationRequest",
                    "code": concept(PROCEDURE, *MESOTHERAPY),
                    "status": {
                        "draft": "not-started",
                        "active": "in-progress",
                        "completed": "completed",
                        "revoked": "stopped",
                    }[PLAN_STATUS[plan.status]],
                    "statusReason": {"text": plan.stopped_reason} if plan.stopped_reason else None,
                    "productReference": version_medication_reference(plan.formulation_version),
                    "description": description,
                }
            }
        ],
    }
    data["activity"][0]["detail"] = drop_empty(data["activity"][0]["detail"])
    return build("CarePlan", drop_empty(data))


def appointment_resource(session: TreatmentSession) -> dict:
    status = APPOINTMENT_STATUS[session.status]
    participants = [
        {"actor": patient_reference(session.patient), "status": "accepted"},
        {"actor": practitioner_reference(session.clinician), "status": "accepted"},
        {"actor": location_reference(session.room), "status": "accepted"},
    ]
    data = {
        "id": fhir_id(SESSION, session.pk),
        "meta": meta(session, session.created_at),
        "status": status,
        "cancelationReason": {"text": session.status_reason}
        if status == "cancelled" and session.status_reason
        else None,
        "serviceType": [
            concept(SESSION_KIND, session.kind, SessionKind(session.kind).label, text="Hair clinic")
        ],
        "description": (
            f"Session {session.sequence} of {session.plan.number_of_sessions}"
            if session.plan_id and session.sequence
            else SessionKind(session.kind).label
        ),
        "start": instant(session.starts_at),
        "end": instant(session.ends_at),
        "created": instant(session.created_at),
        "supportingInformation": [care_plan_reference(session.plan)] if session.plan_id else [],
        "participant": participants,
    }
    return build("Appointment", drop_empty(data))


def procedure_resource(record: SessionRecord, *, lot_uses: list) -> dict:
    """A signed record as a completed procedure: body sites per zone injected, the lots used, the
    aftercare given, and each signed addendum as a note."""
    session = record.session
    zones = [injection.zone for injection in record.injections.all()]
    notes = []
    if record.notes:
        notes.append({"text": record.notes, "time": instant(record.signed_at)})
    for addendum in record.addenda.all():
        notes.append(
            {
                "authorReference": practitioner_reference(addendum.signed_by),
                "time": instant(addendum.signed_at),
                "text": f"Addendum: {addendum.text}",
            }
        )
    combined = [
        label
        for flag, label in (
            (record.prp_given, "PRP"),
            (record.microneedling_given, "microneedling"),
            (record.lllt_given, "LLLT"),
            (record.topical_minoxidil_given, "topical minoxidil"),
        )
        if flag
    ]
    if combined:
        notes.append({"text": "Combined therapy the same day: " + ", ".join(combined)})
    data = {
        "id": fhir_id(RECORD, record.pk),
        "meta": meta(record, record.signed_at),
        "basedOn": [care_plan_reference(session.plan)] if session.plan_id else [],
        "status": "completed",
        "code": concept(PROCEDURE, *MESOTHERAPY),
        "subject": patient_reference(session.patient),
        "performedPeriod": {"start": instant(session.starts_at), "end": instant(session.ends_at)},
        "recorder": practitioner_reference(record.clinician),
        "performer": [{"actor": practitioner_reference(record.clinician)}],
        "location": location_reference(session.room),
        "bodySite": [zone_concept(zone) for zone in zones],
        "usedReference": [lot_medication_reference(use.lot) for use in lot_uses]
        or [version_medication_reference(record.formulation_version)],
        "followUp": [{"text": record.aftercare_given}] if record.aftercare_given else [],
        "note": notes,
    }
    return build("Procedure", drop_empty(data))
