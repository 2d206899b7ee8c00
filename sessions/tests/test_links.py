"""Signed patient links: who can use them, when they die, and what the patient's page lets them
do (confirm, cancel before the cutoff, read the ingredient sheet) without ever logging in."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.test import Client, override_settings

from clinic.models import Clinic
from sessions.booking.scheduling import session_cancel, session_move
from sessions.models import PatientLink, SessionStatus
from sessions.outreach.links import (
    PatientLinkInvalid,
    patient_link_issue,
    patient_link_resolve,
    patient_link_revoke,
    patient_links_revoke_for_session,
)
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import TreatmentSessionFactory

pytestmark = pytest.mark.django_db

# Sessions are on Wednesday 25 November 2026 at 10:00 (London = UTC in November).
STARTS = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def session(plan, clinician, room):
    return TreatmentSessionFactory(
        patient=plan.patient, plan=plan, clinician=clinician, room=room, starts_at=STARTS
    )


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def path_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


@pytest.fixture
def anon():
    # enforce_csrf_checks: the patient's forms must work with real CSRF protection on.
    return Client(enforce_csrf_checks=True)


def csrf_post(client, url, data=None):
    page = client.get(url.rsplit("/", 2)[0] + "/")
    token = page.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token})


# The rules ---------------------------------------------------------------------------------


def test_an_issued_link_is_absolute_and_resolves_to_its_session(session, settings):
    settings.SITE_URL = "https://clinic.example"
    url = patient_link_issue(session=session, now=MONDAY)
    assert url.startswith("https://clinic.example/r/")
    assert patient_link_resolve(token=token_of(url), now=MONDAY).session == session


def test_a_live_link_is_reused_rather_than_piling_up(session):
    first = patient_link_issue(session=session, now=MONDAY)
    second = patient_link_issue(session=session, now=MONDAY + timedelta(hours=1))
    assert PatientLink.objects.filter(session=session).count() == 1
    assert patient_link_resolve(token=token_of(first), now=MONDAY).pk == (
        patient_link_resolve(token=token_of(second), now=MONDAY).pk
    )


def test_the_token_is_short_enough_for_a_text_message(session, settings):
    # An SMS segment is 160 characters; the link must leave room for the message around it.
    settings.SITE_URL = "https://clinic.example"
    url = patient_link_issue(session=session, now=MONDAY)
    assert len(url) <= 110


def test_the_url_carries_no_patient_data(session):
    url = patient_link_issue(session=session, now=MONDAY)
    for detail in ("Priya", "Patel", session.patient.record_number, "447700900123"):
        assert detail not in url


def test_a_token_signed_with_another_salt_is_refused(session):
    patient_link_issue(session=session, now=MONDAY)
    link = PatientLink.objects.get()
    forged = signing.TimestampSigner(salt="some.other.salt", sep="~").sign(
        f"{link.public_id}.{link.nonce}"
    )
    with pytest.raises(PatientLinkInvalid) as refused:
        patient_link_resolve(token=forged, now=MONDAY)
    assert refused.value.kind == PatientLinkInvalid.BAD_SIGNATURE


def test_a_tampered_token_is_refused(session):
    token = token_of(patient_link_issue(session=session, now=MONDAY))
    # Another first character: "A" + token[1:] was no change for the 1 token in 64 that starts so.
    tampered = ("B" if token[0] == "A" else "A") + token[1:]
    with pytest.raises(PatientLinkInvalid) as refused:
        patient_link_resolve(token=tampered, now=MONDAY)
    assert refused.value.kind == PatientLinkInvalid.BAD_SIGNATURE


def test_a_revoked_link_is_refused(session):
    token = token_of(patient_link_issue(session=session, now=MONDAY))
    patient_link_revoke(link=PatientLink.objects.get(), now=MONDAY)
    with pytest.raises(PatientLinkInvalid) as refused:
        patient_link_resolve(token=token, now=MONDAY)
    assert refused.value.kind == PatientLinkInvalid.REVOKED


def test_a_link_whose_nonce_changed_is_refused(session):
    token = token_of(patient_link_issue(session=session, now=MONDAY))
    PatientLink.objects.update(nonce="a-new-nonce")
    with pytest.raises(PatientLinkInvalid) as refused:
        patient_link_resolve(token=token, now=MONDAY)
    assert refused.value.kind == PatientLinkInvalid.NONCE_MISMATCH


def test_a_link_dies_when_the_appointment_starts(session):
    token = token_of(patient_link_issue(session=session, now=MONDAY))
    assert patient_link_resolve(token=token, now=STARTS - timedelta(seconds=1))
    with pytest.raises(PatientLinkInvalid) as refused:
        patient_link_resolve(token=token, now=STARTS)
    assert refused.value.kind == PatientLinkInvalid.EXPIRED


def test_an_unknown_link_is_refused(session, settings):
    token = signing.TimestampSigner(salt=settings.PATIENT_LINK_SALT, sep="~").sign("nope.nope")
    with pytest.raises(PatientLinkInvalid) as refused:
        patient_link_resolve(token=token, now=MONDAY)
    assert refused.value.kind == PatientLinkInvalid.UNKNOWN


def test_cancelling_the_session_revokes_its_links(session, open_clinic, desk_user):
    token = token_of(patient_link_issue(session=session, now=MONDAY))
    session_cancel(
        clinic=open_clinic,
        session=session,
        by_patient=False,
        reason="Clinician ill",
        by=desk_user,
        now=MONDAY,
    )
    with pytest.raises(PatientLinkInvalid) as refused:
        patient_link_resolve(token=token, now=MONDAY)
    assert refused.value.kind == PatientLinkInvalid.REVOKED


def test_moving_the_session_revokes_its_links_and_a_new_one_is_issued(
    session, open_clinic, desk_user
):
    old = token_of(patient_link_issue(session=session, now=MONDAY))
    moved = session_move(
        clinic=open_clinic,
        session=session,
        starts_at=at(open_clinic, 2026, 11, 25, 14),
        by=desk_user,
        now=MONDAY,
    )
    with pytest.raises(PatientLinkInvalid):
        patient_link_resolve(token=old, now=MONDAY)
    new = token_of(patient_link_issue(session=moved, now=MONDAY))
    assert patient_link_resolve(token=new, now=MONDAY).expires_at == moved.starts_at


def test_revoking_for_a_session_counts_only_live_links(session):
    patient_link_issue(session=session, now=MONDAY)
    assert patient_links_revoke_for_session(session=session, now=MONDAY) == 1
    assert patient_links_revoke_for_session(session=session, now=MONDAY) == 0


# The patient's page ------------------------------------------------------------------------


@pytest.fixture
def link_path(session):
    return path_of(patient_link_issue(session=session, now=MONDAY))


@time_machine.travel(MONDAY, tick=False)
def test_the_page_shows_the_appointment_without_staff_navigation(anon, link_path, session):
    session.patient.time_zone = "America/New_York"
    session.patient.save()
    response = anon.get(link_path)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Hello Priya" in page
    assert "Patel" not in page
    assert "Test Hair Clinic" in page
    assert "Dr Nadia Noor" in page
    # 10:00 in London, where the visit is, and 05:00 in New York, the patient's own zone.
    assert "Wednesday 25 November 2026 at 10:00" in page
    assert "the clinic's time (Europe/London)" in page
    assert "Wednesday 25 November at 05:00 where you are (America/New_York time)" in page
    assert "Scheduled" in page
    assert 'data-testid="main-nav"' not in page
    assert "Log out" not in page


@time_machine.travel(MONDAY, tick=False)
def test_opening_the_page_changes_nothing(anon, link_path, session):
    anon.get(link_path)
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED
    assert PatientLink.objects.get().last_used_at is None


@time_machine.travel(MONDAY, tick=False)
@pytest.mark.parametrize("action", ["confirm", "cancel"])
def test_confirm_and_cancel_refuse_a_get(anon, link_path, session, action):
    response = anon.get(f"{link_path}{action}/")
    session.refresh_from_db()
    assert response.status_code == 405
    assert session.status == SessionStatus.SCHEDULED


@time_machine.travel(MONDAY, tick=False)
def test_the_patient_confirms_with_a_post(anon, link_path, session):
    response = csrf_post(anon, f"{link_path}confirm/")
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == SessionStatus.CONFIRMED
    assert session.status_changed_by is None
    # no staff member acted: the history says who did
    latest = session.history.order_by("-history_id").first()
    assert latest.history_change_reason == "By the patient, through their reminder link"
    page = anon.get(link_path).content.decode()
    assert "your appointment is confirmed" in page
    assert "Confirm I will come" not in page


@time_machine.travel(MONDAY, tick=False)
def test_a_post_without_the_csrf_token_is_refused(anon, link_path, session):
    response = anon.post(f"{link_path}confirm/")
    session.refresh_from_db()
    assert response.status_code == 403
    assert session.status == SessionStatus.SCHEDULED


@time_machine.travel(MONDAY, tick=False)
def test_the_patient_cancels_before_the_cutoff_and_the_link_then_dies(anon, link_path, session):
    response = csrf_post(anon, f"{link_path}cancel/", {"reason": "Away on business"})
    assert response.status_code == 200
    assert "Your appointment is cancelled" in response.content.decode()
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED_BY_PATIENT
    assert "Away on business" in session.status_reason
    assert session.history.order_by("-history_id").first().history_change_reason == (
        "By the patient, through their reminder link"
    )
    assert anon.get(link_path).status_code == 410


def test_after_the_cutoff_cancelling_is_refused_and_the_phone_is_shown(anon, link_path, session):
    # The clinic's cutoff is 24 hours; this is 20 hours before the 10:00 start.
    with time_machine.travel(STARTS - timedelta(hours=20), tick=False):
        page = anon.get(link_path).content.decode()
        assert "Cancel my appointment" not in page
        assert "too late to cancel online" in page
        assert "+44 20 7946 0000" in page
        response = csrf_post(anon, f"{link_path}cancel/", {"reason": "Ill"})
    session.refresh_from_db()
    assert response.status_code == 409
    assert "24 hours before" in response.content.decode()
    assert session.status == SessionStatus.SCHEDULED


def test_the_clinic_setting_moves_the_cutoff(anon, link_path, session):
    Clinic.objects.update(patient_cancel_cutoff_hours=12)
    with time_machine.travel(STARTS - timedelta(hours=20), tick=False):
        assert "Cancel my appointment" in anon.get(link_path).content.decode()


@time_machine.travel(MONDAY, tick=False)
def test_the_ingredient_sheet_opens_from_the_link(anon, link_path, session):
    version = session.plan.formulation_version
    response = anon.get(f"{link_path}ingredients/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "What is in your treatment" in page
    assert version.formulation.name in page
    assert 'data-testid="main-nav"' not in page
    assert "Back to your appointment" in page


@pytest.mark.parametrize(
    ("mangle", "status"),
    [
        (lambda p: p.replace("/r/", "/r/X"), 404),
        (lambda p: p, 410),
    ],
    ids=["bad-signature", "revoked"],
)
@time_machine.travel(MONDAY, tick=False)
def test_a_dead_link_shows_the_clinic_phone_and_no_patient_data(
    anon, link_path, session, mangle, status
):
    if status == 410:
        patient_links_revoke_for_session(session=session, now=MONDAY)
    for suffix in ("", "ingredients/"):
        response = anon.get(mangle(link_path) + suffix)
        page = response.content.decode()
        assert response.status_code == status
        assert "This link no longer works" in page
        assert "+44 20 7946 0000" in page
        assert "Priya" not in page
        assert "Dr Nadia Noor" not in page


def test_an_expired_link_is_gone(anon, link_path):
    with time_machine.travel(STARTS + timedelta(minutes=1), tick=False):
        response = anon.get(link_path)
    assert response.status_code == 410
    assert "Priya" not in response.content.decode()


@override_settings(SITE_URL="https://clinic.example/")
def test_a_trailing_slash_in_the_site_url_makes_no_double_slash(session):
    assert "example//" not in patient_link_issue(session=session, now=MONDAY)
