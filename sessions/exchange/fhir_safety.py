"""Harm: AdverseEvent with seriousness, severity and outcome in HL7's code systems, the CTCAE grade
as an extension (R4 has no element for it), and the lot involved as the suspect entity."""

from __future__ import annotations

from sessions.models import AdverseEvent, AdverseEventOutcome, AdverseEventType, Causality

from .codes import ADVERSE_EVENT_TYPE, CAUSALITY, CTCAE_GRADE_EXTENSION, HL7, concept
from .fhir_base import build, day, drop_empty, fhir_id, instant, meta
from .fhir_medication import lot_medication_reference, version_medication_reference
from .fhir_patient import patient_reference, user_reference

ADVERSE_EVENT = "adverse-event"

# R4 adverse-event-outcome: "recovering" is FHIR's word for resolving.
OUTCOME = {
    AdverseEventOutcome.RESOLVED: ("resolved", "Resolved"),
    AdverseEventOutcome.RESOLVING: ("recovering", "Recovering"),
    AdverseEventOutcome.ONGOING: ("ongoing", "Ongoing"),
    AdverseEventOutcome.SEQUELAE: ("resolvedWithSequelae", "Resolved with Sequelae"),
}


def adverse_event_resource(event: AdverseEvent) -> dict:
    record = getattr(event.session, "record", None)
    if event.lot_id:
        suspect = lot_medication_reference(event.lot)
    elif record is not None:
        suspect = version_medication_reference(record.formulation_version)
    else:
        suspect = None
    suspects = []
    if suspect is not None:
        suspects.append(
            {
                "instance": suspect,
                "causality": [
                    {
                        "assessment": concept(
                            CAUSALITY, event.causality, Causality(event.causality).label
                        ),
                        "author": user_reference(event.reported_by),
                    }
                ],
            }
        )
    seriousness = ("serious", "Serious") if event.serious else ("non-serious", "Non-serious")
    label = AdverseEventType(event.event_type).label
    data = {
        "id": fhir_id(ADVERSE_EVENT, event.pk),
        "meta": meta(event, event.reported_at),
        # CTCAE v5 grade 1–5 (1 mild … 5 death).
        "extension": [{"url": CTCAE_GRADE_EXTENSION, "valueInteger": event.ctcae_grade}],
        "actuality": "actual",
        "event": concept(ADVERSE_EVENT_TYPE, event.event_type, label, text=label),
        "subject": patient_reference(event.patient),
        "date": day(event.onset_on),
        "recordedDate": instant(event.reported_at),
        "seriousness": concept(f"{HL7}/adverse-event-seriousness", *seriousness),
        "severity": concept(
            f"{HL7}/adverse-event-severity", event.severity, event.get_severity_display()
        ),
        "outcome": concept(f"{HL7}/adverse-event-outcome", *OUTCOME[event.outcome]),
        "recorder": user_reference(event.reported_by),
        "suspectEntity": suspects,
    }
    return build("AdverseEvent", drop_empty(data))
