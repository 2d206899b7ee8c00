"""Bad input never gives a 500: every form on every page without ids in its URL, posted with NUL
bytes and with oversized values in every field, as each role, on the demo clinic."""

import itertools
import re
from html import unescape

import pytest
from django.core.management import call_command

from clinic.roles import Role
from clinic.tests.test_access_matrix import TABLE, URLS

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)
ACTION = re.compile(r"action=\"([^\"]*)\"", re.I)
PAGES = [(name, url) for name, url in URLS if re.fullmatch(r"[a-z/_-]*", url)]
NASTY = {"nul": "a\x00b", "huge": "9" * 20_000}


@pytest.fixture
def demo_clinic(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)


def post_forms(html: str, page_url: str):
    for attrs, body in FORM.findall(html):
        if 'method="post"' not in attrs.lower():
            continue
        action = ACTION.search(attrs)
        yield (
            (unescape(action.group(1)) if action and action.group(1) else page_url),
            sorted(set(FIELD.findall(body)) - {"csrfmiddlewaretoken"}),
        )


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value.replace(" ", "-"))
def test_every_form_answers_bad_input_without_a_server_error(demo_clinic, client_as, role):
    client = client_as(role)
    posted = 0
    for (name, url), kind in itertools.product(PAGES, sorted(NASTY)):
        allowed = TABLE.get(name)
        if not isinstance(allowed, frozenset) or role not in allowed or name == "logout":
            continue
        page = client.get(url)
        assert page.status_code < 500, (url, page.status_code)
        if page.status_code != 200 or "text/html" not in page["Content-Type"]:
            continue
        for action, fields in post_forms(page.content.decode(), url):
            if action.startswith("/accounts/logout"):
                continue
            response = client.post(action, dict.fromkeys(fields, NASTY[kind]))
            assert response.status_code < 500, (action, kind, response.status_code)
            posted += 1
            # in case the post logged this client out or changed its password
            client = client_as(role)
    assert posted > 0
