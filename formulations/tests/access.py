"""Who may open each formulations page: read by clinic/tests/test_access_matrix.py."""

from clinic.roles import Role

ADMIN = frozenset({Role.CLINIC_ADMIN})
CLINICAL = frozenset({Role.CLINICIAN, Role.CLINIC_ADMIN})
ALL_STAFF = frozenset(Role)

EXPECTED = {
    "formulations:list": CLINICAL,
    "formulations:create": ADMIN,
    "formulations:ingredients": CLINICAL,
    "formulations:usage": ADMIN,
    "formulations:compare": ADMIN,
    "formulations:detail": CLINICAL,
    "formulations:edit": ADMIN,
    "formulations:history": ADMIN,
    "formulations:version_create": ADMIN,
    "formulations:version_edit": ADMIN,
    "formulations:line_add": ADMIN,
    "formulations:version_publish": ADMIN,
    "formulations:version_retire": ADMIN,
    "formulations:version_new_from": ADMIN,
    "formulations:version_delete": ADMIN,
    "formulations:sheet": ALL_STAFF,
    "formulations:lot_receive": ADMIN,
    "formulations:line_edit": ADMIN,
    "formulations:line_remove": ADMIN,
    "formulations:lot_recall": ADMIN,
    "formulations:lot_hold": ADMIN,
    "formulations:lot_correct": ADMIN,
}
