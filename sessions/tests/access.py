"""Who may open each of the sessions app's pages: read by clinic/tests/test_access_matrix.py."""

from clinic.roles import Role

ALL_STAFF = frozenset(Role)
CLINICAL = frozenset({Role.CLINICIAN, Role.CLINIC_ADMIN})
DESK = frozenset({Role.RECEPTION, Role.CLINIC_ADMIN})

EXPECTED = {
    "treatment_sessions:calendar": ALL_STAFF,
    "treatment_sessions:session_new": ALL_STAFF,
    "treatment_sessions:session_detail": ALL_STAFF,
    "treatment_sessions:session_confirm": ALL_STAFF,
    "treatment_sessions:session_check_in": ALL_STAFF,
    "treatment_sessions:session_no_show": ALL_STAFF,
    "treatment_sessions:session_cancel": ALL_STAFF,
    "treatment_sessions:session_move": ALL_STAFF,
    "treatment_sessions:plan_new": CLINICAL,
    "treatment_sessions:plan_detail": ALL_STAFF,
    "treatment_sessions:plan_book": ALL_STAFF,
    "treatment_sessions:plan_stop": CLINICAL,
    "treatment_sessions:plan_complete": CLINICAL,
    "treatment_sessions:maintenance": ALL_STAFF,
    "treatment_sessions:maintenance_contact": DESK,
}
