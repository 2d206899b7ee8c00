"""With DEBUG off, every page sends a strict Content-Security-Policy and a Permissions-Policy, and
no page needs inline script or style: the demo clinic is crawled from the dashboard as each role."""

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command

from clinic.roles import Role

LINK = re.compile(r'href="(/[^"#]*)"')
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I
)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE = re.compile(r"<style\b|\sstyle=\"", re.I)
SKIP = ("/accounts/logout/", "/static/", "/admin/", "/media/")
MAX_PAGES = 60


@pytest.fixture
def demo_clinic(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False


def crawl(client, start="/"):
    # Count pages visited, not links seen: a page listing dozens of patients (the demo cohort)
    # would otherwise end the crawl after a handful of pages.
    seen, queue, visited = {start}, deque([start]), 0
    while queue and visited < MAX_PAGES:
        url = queue.popleft()
        visited += 1
        response = client.get(url)
        yield url, response
        if "text/html" not in response.get("Content-Type", ""):
            continue
        for href in LINK.findall(response.content.decode()):
            target = urljoin(url, href.replace("&amp;", "&"))
            path = urlsplit(target).path
            if path not in seen and not path.startswith(SKIP) and "format=" not in target:
                seen.add(path)
                queue.append(target)


def assert_strict_headers(response):
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value.replace(" ", "-"))
def test_every_page_is_strict_and_needs_no_inline_code(demo_clinic, client_as, role):
    client = client_as(role)
    pages = 0
    for url, response in crawl(client):
        assert_strict_headers(response)
        if response.status_code == 200 and "text/html" in response["Content-Type"]:
            html = response.content.decode()
            assert not INLINE_SCRIPT.search(html), url
            assert not EVENT_HANDLER.search(html), url
            assert not STYLE.search(html), url
            pages += 1
    assert pages >= 8


def test_the_login_lockout_and_enrolment_pages_are_strict_too(client, staff, settings):
    settings.DEBUG = False
    for response in (client.get("/accounts/login/"), client.get("/healthz")):
        assert_strict_headers(response)
    assert not INLINE_SCRIPT.search(client.get("/accounts/login/").content.decode())
    client.force_login(staff(Role.CLINICIAN).user, second_factor=False)
    enrolment = client.get("/accounts/two-factor/")
    assert_strict_headers(enrolment)
    html = enrolment.content.decode()
    assert "<svg" in html and not STYLE.search(html) and not INLINE_SCRIPT.search(html)
