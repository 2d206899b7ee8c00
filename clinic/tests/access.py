"""Who may open each of the clinic app's pages: read by test_access_matrix.py.

Each app keeps its own table in <app>/tests/access.py: URL name -> PUBLIC or the set of roles
that may open it. Every named URL of the project must appear in exactly one table.
"""

from clinic.roles import Role

PUBLIC = "public"
ALL_STAFF = frozenset(Role)

EXPECTED = {
    "dashboard": ALL_STAFF,
    "healthz": PUBLIC,
    "login": PUBLIC,
    "logout": PUBLIC,
    "password_change": ALL_STAFF,
    "password_change_done": ALL_STAFF,
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC,
    "second_factor_verify": ALL_STAFF,
    "second_factor_setup": ALL_STAFF,
    "recovery_codes": ALL_STAFF,
    "keepalive": ALL_STAFF,
}
