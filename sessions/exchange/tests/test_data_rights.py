"""Erasure that respects retention: a request restricts processing at once (no reminders, contact
cut to the preferred channel, flagged on the patient's pages); anonymisation only after the
retention period, by two clinic admins; an anonymised patient keeps their signed records in the
safety report but shows no name or contact anywhere."""

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from django.forms.models import model_to_dict

from clinic.refusals import ExchangeRefused
from clinic.roles import Role
from patients.models import Channel, ErasureStatus, Patient, PatientReport
from sessions.exchange.bundle import patient_everything
from sessions.exchange.data_rights import (
    anonymisation_confirm,
    anonymisation_propose,
    erasure_request_record,
    retention_ends_on,
)
from sessions.exchange.tests.conftest import NOW
from sessions.models import OnlineBooking, ReminderStatus
from sessions.outreach.claim import claim_due_reminders
from sessions.outreach.sweep import reminders_cancel_restricted
from sessions.records.safety import safety_report
from sessions.tests.factories import ReminderFactory, TreatmentSessionFactory

# The treated patient's last treatment is 23 November 2026: the default 8 years end in 2034.
AFTER_RETENTION = datetime(2034, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def admins(staff):
    return staff(Role.CLINIC_ADMIN).user, staff(Role.CLINIC_ADMIN).user


def test_retention_runs_eight_years_from_the_last_treatment(treated, clinic):
    assert retention_ends_on(patient=treated, clinic=clinic, now=NOW) == date(2034, 11, 23)


def test_a_booked_future_session_is_not_a_treatment_retention_counts_from(clinic):
    # given a patient registered on 20 November with only a session booked for December
    registered = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    session = TreatmentSessionFactory(starts_at=NOW + timedelta(days=7))
    Patient.objects.filter(pk=session.patient_id).update(created_at=registered)

    patient = Patient.objects.get(pk=session.patient_id)

    ends = retention_ends_on(patient=patient, clinic=clinic, now=NOW)

    assert ends == date(2034, 11, 20)


def test_an_erasure_request_inside_retention_restricts_processing_and_says_why(
    treated, clinic, admins
):
    # given a reminder waiting to go out
    upcoming = TreatmentSessionFactory(patient=treated, starts_at=NOW + timedelta(days=3))
    reminder = ReminderFactory(session=upcoming, send_after=NOW - timedelta(minutes=1))
    treated.preferred_channel = Channel.EMAIL
    treated.save()

    request = erasure_request_record(
        patient=treated, clinic=clinic, by=admins[0], how_received="Email", now=NOW
    )

    treated.refresh_from_db()
    reminder.refresh_from_db()
    assert request.status == ErasureStatus.RESTRICTED
    assert "kept until 23 November 2034" in request.why_kept
    assert "17(3)(c)" in request.why_kept
    assert treated.processing_restricted_at == NOW
    assert (treated.email, str(treated.mobile)) == ("priya@example.org", "")
    assert treated.email_consent_at is None and treated.sms_consent_at is None
    assert reminder.status == ReminderStatus.CANCELLED
    assert claim_due_reminders(now=NOW, limit=10) == []


def test_the_sweep_never_sends_to_a_restricted_patient(treated):
    # given a reminder queued for a patient restricted by a path that skipped the action
    reminder = ReminderFactory(patient=treated, send_after=NOW - timedelta(minutes=1))
    Patient.objects.filter(pk=treated.pk).update(processing_restricted_at=NOW)

    claimed = claim_due_reminders(now=NOW, limit=10)
    cancelled = reminders_cancel_restricted(now=NOW)

    reminder.refresh_from_db()
    assert claimed == [] and cancelled == 1
    assert reminder.status == ReminderStatus.CANCELLED


def test_anonymisation_inside_retention_is_refused_with_the_date(treated, clinic, admins):
    request = erasure_request_record(
        patient=treated, clinic=clinic, by=admins[0], how_received="Letter", now=NOW
    )

    with pytest.raises(ExchangeRefused) as refusal:
        anonymisation_propose(request=request, clinic=clinic, by=admins[0], now=NOW)

    assert refusal.value.rule == "inside_retention"
    assert "kept until 23 November 2034" in refusal.value.message


def test_after_retention_two_admins_anonymise_and_one_alone_cannot(treated, clinic, admins):
    first, second = admins
    request = erasure_request_record(
        patient=treated, clinic=clinic, by=first, how_received="Letter", now=NOW
    )
    request = anonymisation_propose(request=request, clinic=clinic, by=first, now=AFTER_RETENTION)

    with pytest.raises(ExchangeRefused) as refusal:
        anonymisation_confirm(request=request, by=first, now=AFTER_RETENTION)
    assert refusal.value.rule == "two_person"

    request = anonymisation_confirm(request=request, by=second, now=AFTER_RETENTION)

    treated.refresh_from_db()
    assert request.status == ErasureStatus.ANONYMISED
    assert request.anonymise_confirmed_by == second
    assert treated.anonymised_at == AFTER_RETENTION
    assert treated.full_name == f"Anonymised patient {treated.study_id}"
    assert treated.record_number == treated.study_id
    assert (treated.given_name, treated.email, str(treated.mobile)) == ("", "", "")
    assert treated.date_of_birth.month == treated.date_of_birth.day == 1
    history_names = set(treated.history.values_list("family_name", flat=True))
    assert history_names == {""}
    # Nothing signed was deleted or changed.
    assert treated.consents.get().typed_name
    assert treated.treatment_sessions.get().record.signed_at is not None


@pytest.fixture
def anonymised(treated, clinic, admins):
    request = erasure_request_record(
        patient=treated, clinic=clinic, by=admins[0], how_received="Letter", now=NOW
    )
    anonymisation_propose(request=request, clinic=clinic, by=admins[0], now=AFTER_RETENTION)
    anonymisation_confirm(request=request, by=admins[1], now=AFTER_RETENTION)
    treated.refresh_from_db()
    return treated


def test_an_anonymised_patient_still_counts_in_the_safety_report(anonymised, clinic):
    report = safety_report(
        date_from=date(2026, 11, 1), date_to=date(2026, 11, 30), zone=clinic.zone
    )

    row = next(r for r in report.versions if r.version is not None)
    assert (row.sessions, row.events) == (1, 1)
    assert [lot.lot.lot_number for lot in report.lots] == ["DHT-7001"]


def test_an_anonymised_patient_shows_no_name_or_contact_anywhere(anonymised, client_as, clinic):
    client = client_as(Role.CLINIC_ADMIN)
    session = anonymised.treatment_sessions.get()
    consent = anonymised.consents.get()
    pages = [
        "/patients/",
        f"/patients/{anonymised.pk}/",
        f"/patients/{anonymised.pk}/clinical/",
        f"/patients/{anonymised.pk}/consent/{consent.pk}/",
        f"/patients/{anonymised.pk}/data-rights/",
        f"/sessions/{session.pk}/",
        f"/sessions/{session.pk}/record/",
        "/reports/safety/?date_from=2026-11-01&date_to=2026-11-30",
        f"/fhir/Patient/{anonymised.pk}/$everything",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for identity in ["Priya", "Patel", "priya@example.org", "7700900123"]:
            assert identity not in body, (url, identity)
    detail = client.get(f"/patients/{anonymised.pk}/").content.decode()
    assert f"Anonymised patient {anonymised.study_id}" in detail
    assert 'data-testid="data-rights-flag"' in detail
    exported = patient_everything(patient=anonymised, clinic=clinic, base_url="x", now=NOW)
    patient = exported["entry"][0]["resource"]
    assert "name" not in patient and "telecom" not in patient
    assert patient["birthDate"] == str(anonymised.date_of_birth.year)


def test_a_restricted_patient_is_flagged_on_their_pages(treated, clinic, admins, client_as):
    erasure_request_record(
        patient=treated, clinic=clinic, by=admins[0], how_received="Call", now=NOW
    )
    client = client_as(Role.RECEPTION)
    session = treated.treatment_sessions.get()

    for url in [f"/patients/{treated.pk}/", f"/sessions/{session.pk}/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "Processing restricted" in body, url


def test_recording_a_request_through_the_page_needs_an_admin(client_as, treated):
    clinician = client_as(Role.CLINICIAN).post(
        f"/patients/{treated.pk}/erasure/", {"erasure-how": "Email"}
    )

    assert clinician.status_code == 403
    assert not treated.erasure_requests.exists()


def _online_booking(session, **details):
    return OnlineBooking.objects.create(
        public_id=secrets.token_urlsafe(12),
        code_nonce=secrets.token_urlsafe(12),
        code_expires_at=NOW,
        code_channel="sms",
        clinician=session.clinician,
        room=session.room,
        starts_at=session.starts_at,
        **details,
    )


def _every_value(rows) -> str:
    return " ".join(str(value) for row in rows for value in model_to_dict(row).values())


def test_anonymisation_clears_what_the_patient_typed_themselves(treated, clinic, admins):
    # given two online bookings the patient made (one verified, one never), an intake report
    # naming them, and someone else's unverified booking
    session = treated.treatment_sessions.get()
    born = treated.date_of_birth
    mine = {
        "given_name": "Priya",
        "family_name": "Patel",
        "date_of_birth": born,
        "email": "Priya@Example.org",
        "mobile": "+447700900123",
    }
    _online_booking(session, patient=treated, status="approved", **mine)
    _online_booking(session, status="abandoned", **mine)
    other = _online_booking(
        session,
        status="abandoned",
        given_name="Olga",
        family_name="Other",
        date_of_birth=date(1970, 5, 5),
        email="olga@example.org",
        mobile="+447700900999",
    )
    PatientReport.objects.create(
        patient=treated,
        submitted_at=NOW,
        answers={"pregnant": False},
        contact={"email": "priya@example.org", "mobile": "+447700900123"},
        medical_history="Priya Patel had eczema as a child at Patel Road school",
        allergies="Penicillin (rash, 2019)",
        medications="Spironolactone 50 mg",
    )
    request = erasure_request_record(
        patient=treated, clinic=clinic, by=admins[0], how_received="Letter", now=NOW
    )
    anonymisation_propose(request=request, clinic=clinic, by=admins[0], now=AFTER_RETENTION)

    # when
    anonymisation_confirm(request=request, by=admins[1], now=AFTER_RETENTION)

    # then no identifier survives in them
    rows = [*OnlineBooking.objects.exclude(pk=other.pk), *PatientReport.objects.all()]
    values = _every_value(rows).casefold()
    for identifier in ("priya", "patel", "example.org", "7700900123", born.isoformat()):
        assert identifier not in values, identifier
    assert {b.date_of_birth for b in OnlineBooking.objects.exclude(pk=other.pk)} == {
        date(born.year, 1, 1)
    }
    report = PatientReport.objects.get()
    assert report.answers == {"pregnant": False}  # the screening answers stay, nameless
    # someone else's booking is untouched
    other.refresh_from_db()
    assert (other.given_name, other.email) == ("Olga", "olga@example.org")
