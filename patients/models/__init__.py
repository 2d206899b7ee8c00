"""Models of the patients app, one module per part of the patient's file: patient.py (identity
and contact), clinical.py (allergies, medications, assessments), screening.py (versioned rules
and screenings), consent.py, outcomes.py (measures and photos), data_rights.py (erasure, the
patient's copy) and intake.py (what patients report themselves). The rest of the project imports
them from here, as `from patients.models import Patient`."""

from .clinical import (
    SCALE_VALUES,
    Allergy,
    Assessment,
    ClinicalQuerySet,
    Diagnosis,
    Medication,
    MedicationClass,
    Scale,
    ScalpZone,
    Severity,
    Voidable,
    scale_value_error,
)
from .consent import (
    SIGNED_CONSENT_MESSAGE,
    ConsentKind,
    ConsentSignature,
    ConsentSignatureQuerySet,
    ConsentText,
    ConsentWithdrawal,
    SignedConsentError,
)
from .data_rights import (
    CopyChannel,
    ErasureRequest,
    ErasureStatus,
    PatientCopy,
    PatientCopyDelivery,
)
from .intake import (
    PatientReport,
)
from .outcomes import (
    VIEW_ZONES,
    ClinicalPhoto,
    OutcomeMeasurement,
    PhotoProtocolView,
    PhotoView,
    clinical_photo_path,
)
from .patient import (
    Channel,
    Patient,
    SexAtBirth,
)
from .screening import (
    RULE_EDITABLE_FIELDS,
    RULE_IN_PLACE_MESSAGE,
    RULE_NAMES,
    RULE_TRIGGER_FIELDS,
    ReferralClearance,
    RuleOutcome,
    RuleTrigger,
    RuleVersionError,
    Screening,
    ScreeningOverride,
    ScreeningRecheck,
    ScreeningRule,
    ScreeningRuleQuerySet,
    absolute_rule_weakening,
)

__all__ = [
    "SexAtBirth",
    "Channel",
    "Patient",
    "ClinicalQuerySet",
    "Voidable",
    "Severity",
    "Allergy",
    "MedicationClass",
    "Medication",
    "Diagnosis",
    "Scale",
    "SCALE_VALUES",
    "ScalpZone",
    "scale_value_error",
    "Assessment",
    "RuleOutcome",
    "RuleTrigger",
    "RuleVersionError",
    "RULE_TRIGGER_FIELDS",
    "RULE_EDITABLE_FIELDS",
    "RULE_IN_PLACE_MESSAGE",
    "absolute_rule_weakening",
    "RULE_NAMES",
    "ScreeningRuleQuerySet",
    "ScreeningRule",
    "Screening",
    "ScreeningRecheck",
    "ScreeningOverride",
    "ReferralClearance",
    "ConsentKind",
    "ConsentText",
    "SignedConsentError",
    "SIGNED_CONSENT_MESSAGE",
    "ConsentSignatureQuerySet",
    "ConsentSignature",
    "ConsentWithdrawal",
    "OutcomeMeasurement",
    "PhotoView",
    "VIEW_ZONES",
    "PhotoProtocolView",
    "clinical_photo_path",
    "ClinicalPhoto",
    "ErasureStatus",
    "ErasureRequest",
    "CopyChannel",
    "PatientCopy",
    "PatientCopyDelivery",
    "PatientReport",
]
