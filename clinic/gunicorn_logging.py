"""Gunicorn's access log without patient data: no query strings (a search is a name or a phone
number) and no tokens of patient links or password-reset links in paths.

Used through clinic/gunicorn_conf.py (`gunicorn -c python:clinic.gunicorn_conf clinic.wsgi`).
"""

import re

from gunicorn.glogging import Logger

# Path segments that are secrets: the patient's link (/r/<token>/...) and the password reset
# link (/accounts/reset/<uid>/<token>/).
SECRET_PATHS = [
    (re.compile(r"^/r/[^/]+"), "/r/<token>"),
    (re.compile(r"^/accounts/reset/[^/]+/[^/]+"), "/accounts/reset/<uid>/<token>"),
]
# Method, path without query string, status, bytes, milliseconds.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def path_for_log(path: str) -> str:
    for pattern, replacement in SECRET_PATHS:
        path = pattern.sub(replacement, path)
    return path


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = path_for_log(environ.get("PATH_INFO") or "")
        # Whatever format an operator configures, the query string, the raw request line and
        # the referer (which may hold both) never reach the log.
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = "-"
        atoms["f"] = "-"
        for key in [k for k in atoms if k.startswith("{") and k != "{x-request-id}i"]:
            atoms[key] = "-"
        return atoms
