"""The record leaving the clinic: FHIR R4 resources (one mapping module per resource family), the
Bundle of one patient (`$everything`), the bulk export, the patient's own copy and the data-rights
workflow (erasure that respects medical-record retention)."""
