"""Who may open each of the patients app's pages: read by clinic/tests/test_access_matrix.py."""

from clinic.roles import Role

ALL_STAFF = frozenset(Role)
CLINICAL = frozenset({Role.CLINICIAN, Role.CLINIC_ADMIN})
ADMINS = frozenset({Role.CLINIC_ADMIN})
CLINICIANS = frozenset({Role.CLINICIAN})

EXPECTED = {
    "patients:list": ALL_STAFF,
    "patients:new": ALL_STAFF,
    "patients:detail": ALL_STAFF,
    "patients:edit": ALL_STAFF,
    "patients:clinical": CLINICAL,
    "patients:report_reviewed": CLINICAL,
    "patients:allergy_new": CLINICAL,
    "patients:medication_new": CLINICAL,
    "patients:medication_stop": CLINICAL,
    "patients:assessment_new": CLINICAL,
    "patients:screening_new": CLINICAL,
    "patients:screening": CLINICAL,
    "patients:screening_override": CLINICAL,
    "patients:referral_clearance": CLINICAL,
    "patients:screening_recheck": CLINICAL,
    "patients:consent_new": CLINICAL,
    "patients:consent": CLINICAL,
    "patients:consent_withdraw": CLINICAL,
    "patients:record_void": CLINICAL,
    # Outcomes and clinical photos (issue 6): clinicians record, admins read.
    "patients:outcomes": CLINICAL,
    "patients:outcome_new": CLINICIANS,
    "patients:outcome_void": CLINICIANS,
    "patients:photo_new": CLINICIANS,
    "patients:photo_file": CLINICAL,
    "patients:photo_checklist": CLINICAL,
    "patients:photo_compare": CLINICAL,
    "patients:photo_void": CLINICIANS,
    "patients:access_log": ADMINS,
    "patients:access_log_user": ADMINS,
}
