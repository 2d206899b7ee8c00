"""The staff reminders page: tabs, filters, retry of failed and unknown reminders, who may open
it, and a bounded number of queries however many rows it lists."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from clinic.roles import Role
from patients.tests.factories import PatientFactory
from sessions.models import Reminder, ReminderStatus
from sessions.outreach.reminder_actions import reminder_retry
from sessions.tests.conftest import MONDAY
from sessions.tests.factories import ReminderFactory, TreatmentSessionFactory

pytestmark = pytest.mark.django_db

URL = "/reminders/"


def reminder_for(patient=None, *, starts_at=None, **kwargs) -> Reminder:
    session = TreatmentSessionFactory(
        patient=patient or PatientFactory(),
        starts_at=starts_at or datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    )
    return ReminderFactory(session=session, **kwargs)


def rows(response) -> int:
    return response.content.decode().count('data-testid="reminder-row"')


@pytest.fixture
def desk(client_as):
    return client_as(Role.RECEPTION)


def test_reception_and_admins_see_reminders_in_the_navigation(client_as):
    for role, shown in ((Role.RECEPTION, True), (Role.CLINIC_ADMIN, True), (Role.CLINICIAN, False)):
        page = client_as(role).get("/").content.decode()
        assert ('href="/reminders/"' in page) is shown, role


def test_the_navigation_keeps_its_contract_order(client_as):
    page = client_as(Role.CLINIC_ADMIN).get("/").content.decode()
    labels = ["Patients", "Calendar", "Formulations", "Reminders", "Reports"]
    positions = [page.index(f">{label}</a>") for label in labels]
    assert positions == sorted(positions)


def test_clinicians_are_refused_with_a_reason(client_as):
    response = client_as(Role.CLINICIAN).get(URL)
    assert response.status_code == 403
    assert "does not give access" in response.content.decode()


def test_the_upcoming_tab_lists_pending_reminders_with_patient_and_due_time(desk):
    patient = PatientFactory(given_name="Priya", family_name="Patel")
    reminder_for(patient)
    reminder_for(status=ReminderStatus.SENT)
    page = desk.get(URL).content.decode()
    assert "Patel, Priya" in page
    assert patient.record_number in page
    assert "Appointment reminder" in page
    assert "Tue 24 Nov 2026 10:00" in page
    assert page.count('data-testid="reminder-row"') == 1


def test_each_reminder_links_to_the_appointment_it_is_about(desk):
    reminder = reminder_for(starts_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC))

    page = desk.get(URL).content.decode()

    assert f'href="/sessions/{reminder.session_id}/">Wed 25 Nov 10:00</a>' in page


@pytest.mark.parametrize(
    ("tab", "status"),
    [
        ("sent", ReminderStatus.SENT),
        ("failed", ReminderStatus.FAILED),
        ("unknown", ReminderStatus.UNKNOWN),
        ("closed", ReminderStatus.EXPIRED),
        ("closed", ReminderStatus.CANCELLED),
    ],
)
def test_each_tab_lists_only_its_statuses(desk, tab, status):
    reminder_for(status=status)
    reminder_for(status=ReminderStatus.PENDING)
    assert rows(desk.get(URL, {"tab": tab})) == 1


def test_failed_reminders_show_attempts_and_the_last_error(desk):
    reminder_for(status=ReminderStatus.FAILED, attempts=5, last_error="Provider said: 21211")
    page = desk.get(URL, {"tab": "failed"}).content.decode()
    assert "Provider said: 21211" in page
    assert "<td>5</td>" in page


def test_the_patient_filter_finds_by_name_or_record_number(desk):
    priya = PatientFactory(given_name="Priya", family_name="Patel")
    reminder_for(priya)
    reminder_for(PatientFactory(given_name="Omar", family_name="Okafor"))
    assert rows(desk.get(URL, {"q": "patel"})) == 1
    assert rows(desk.get(URL, {"q": priya.record_number})) == 1
    assert rows(desk.get(URL, {"q": "nobody"})) == 0


def test_the_date_filter_uses_due_days_in_the_clinic_zone(desk):
    reminder_for(starts_at=datetime(2026, 11, 25, 10, tzinfo=UTC))  # due Tue 24 Nov
    reminder_for(starts_at=datetime(2026, 11, 28, 10, tzinfo=UTC))  # due Fri 27 Nov
    assert rows(desk.get(URL, {"date_from": "2026-11-24", "date_to": "2026-11-24"})) == 1
    assert rows(desk.get(URL, {"date_from": "2026-11-25"})) == 1
    assert rows(desk.get(URL, {"date_to": "2026-11-30"})) == 2


def test_a_reversed_date_range_is_explained_not_a_crash(desk):
    response = desk.get(URL, {"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert desk.get(URL, {"date_from": "not-a-date"}).status_code == 200


@pytest.mark.parametrize("count", [1, 50])
def test_the_page_needs_the_same_number_of_queries_for_1_and_50_rows(
    desk, count, django_assert_max_num_queries
):
    for _ in range(count):
        reminder_for(status=ReminderStatus.FAILED)
    with django_assert_max_num_queries(10):
        response = desk.get(URL, {"tab": "failed"})
    assert rows(response) == count


def test_the_list_is_paginated(desk):
    patient = PatientFactory()
    session = TreatmentSessionFactory(patient=patient)
    for hours in range(51):
        ReminderFactory(session=session, due_at=session.starts_at - timedelta(hours=hours + 1))
    assert rows(desk.get(URL)) == 50
    assert rows(desk.get(URL, {"page": 2})) == 1


# Retry -------------------------------------------------------------------------------------


@time_machine.travel(MONDAY, tick=False)
def test_retrying_a_failed_reminder_puts_it_back_in_the_queue(desk):
    reminder = reminder_for(status=ReminderStatus.FAILED, attempts=5, last_error="Timeout")
    response = desk.post(f"/reminders/{reminder.pk}/retry/", {"next": "/reminders/?tab=failed"})
    assert response.status_code == 302
    assert response["Location"] == "/reminders/?tab=failed"
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.send_after == MONDAY
    assert reminder.attempts == 0
    assert "Timeout" in reminder.last_error


@time_machine.travel(MONDAY, tick=False)
def test_retrying_an_unknown_reminder_needs_the_duplicate_warning_accepted(desk):
    reminder = reminder_for(status=ReminderStatus.UNKNOWN)
    response = desk.post(f"/reminders/{reminder.pk}/retry/", follow=True)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.UNKNOWN
    assert "may already have reached the patient" in response.content.decode()
    desk.post(f"/reminders/{reminder.pk}/retry/", {"duplicate_risk_accepted": "on"})
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.PENDING


def test_the_unknown_tab_offers_retry_with_the_duplicate_warning(desk):
    reminder_for(status=ReminderStatus.UNKNOWN)
    page = desk.get(URL, {"tab": "unknown"}).content.decode()
    assert "retrying may send it twice" in page
    assert "never resent automatically" in page


@pytest.mark.parametrize("status", [ReminderStatus.SENT, ReminderStatus.PENDING])
def test_only_failed_and_unknown_reminders_can_be_retried(desk, reception_user, status):
    reminder = reminder_for(status=status)
    with pytest.raises(match="Only failed or unknown"):
        reminder_retry(reminder=reminder, by=reception_user, now=MONDAY)
    response = desk.post(f"/reminders/{reminder.pk}/retry/", follow=True)
    assert "Not retried: Only failed or unknown" in response.content.decode()


def test_a_reminder_whose_appointment_started_is_not_retried(reception_user):
    reminder = reminder_for(status=ReminderStatus.FAILED)
    with pytest.raises(match="already started"):
        reminder_retry(
            reminder=reminder, by=reception_user, now=reminder.session.starts_at + timedelta(1)
        )


def test_a_patient_who_opted_out_is_not_retried(reception_user):
    reminder = reminder_for(status=ReminderStatus.FAILED)
    reminder.patient.sms_opt_out_at = MONDAY
    reminder.patient.save()
    with pytest.raises(match="opted out of SMS"):
        reminder_retry(reminder=reminder, by=reception_user, now=MONDAY)


def test_retry_is_post_only_and_refused_to_clinicians(client_as):
    reminder = reminder_for(status=ReminderStatus.FAILED)
    assert client_as(Role.RECEPTION).get(f"/reminders/{reminder.pk}/retry/").status_code == 405
    assert client_as(Role.CLINICIAN).post(f"/reminders/{reminder.pk}/retry/").status_code == 403
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.FAILED


def test_retry_never_redirects_off_the_reminders_page(desk):
    reminder = reminder_for(status=ReminderStatus.FAILED)
    response = desk.post(f"/reminders/{reminder.pk}/retry/", {"next": "https://evil.example/"})
    assert response["Location"] == "/reminders/"


# The patient's page: communication log and opt-outs -----------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_the_patients_communication_log_without_clinical_content(client_as, role):
    reminder = reminder_for(status=ReminderStatus.SENT, sent_at=MONDAY)
    page = client_as(role).get(f"/patients/{reminder.patient_id}/").content.decode()
    assert 'data-testid="communication"' in page
    assert page.count('data-testid="communication-row"') == 1
    assert "Appointment reminder" in page
    assert "23 Nov 2026 08:00" in page  # sent at


@pytest.mark.parametrize("count", [1, 50])
def test_the_patient_page_queries_do_not_grow_with_reminders(
    client_as, count, django_assert_max_num_queries
):
    patient = PatientFactory()
    session = TreatmentSessionFactory(patient=patient)
    for hours in range(count):
        ReminderFactory(session=session, due_at=session.starts_at - timedelta(hours=hours + 1))
    client = client_as(Role.RECEPTION)
    with django_assert_max_num_queries(15):
        response = client.get(f"/patients/{patient.pk}/")
    assert response.content.decode().count('data-testid="communication-row"') == count


@time_machine.travel(MONDAY, tick=False)
def test_reception_records_a_verbal_sms_opt_out_and_opt_in(desk):
    reminder = reminder_for()
    patient = reminder.patient
    url = f"/patients/{patient.pk}/communication/"
    response = desk.post(url, {"channel": "sms", "action": "opt_out"}, follow=True)
    page = response.content.decode()
    assert "No more SMS reminders for this patient; 1 pending SMS reminder(s) cancelled." in page
    assert "Opted out 23 Nov 2026 08:00" in page
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    desk.post(url, {"channel": "sms", "action": "opt_in"})
    patient.refresh_from_db()
    assert patient.sms_opt_out_at is None
    last = patient.history.first()
    assert last.history_change_reason == "Opt-in to SMS recorded by staff"
    assert last.history_user is not None


def test_a_bad_opt_out_request_says_what_is_missing(desk):
    patient = PatientFactory()
    response = desk.post(f"/patients/{patient.pk}/communication/", {"channel": "fax"})
    assert response.status_code == 400
    assert "Choose a channel" in response.content.decode()


def test_quiet_hours_are_edited_on_the_patient_form(desk):
    patient = PatientFactory(given_name="Priya")
    form = {
        "given_name": "Priya",
        "family_name": patient.family_name,
        "date_of_birth": "1985-05-17",
        "sex_at_birth": "male",
        "email": patient.email,
        "mobile": "+447911123456",
        "preferred_channel": "sms",
        "sms_consent": "on",
        "quiet_hours_start": "21:30",
        "quiet_hours_end": "07:00",
    }
    assert desk.post(f"/patients/{patient.pk}/edit/", form).status_code == 302
    patient.refresh_from_db()
    assert (patient.quiet_hours_start.hour, patient.quiet_hours_start.minute) == (21, 30)
    assert patient.quiet_hours_end.hour == 7
    response = desk.post(f"/patients/{patient.pk}/edit/", {**form, "quiet_hours_end": "21:30"})
    assert "Quiet hours must end at a different time." in response.content.decode()


def test_an_opted_out_patient_form_says_so_beside_consent(desk):
    patient = PatientFactory(sms_opt_out_at=MONDAY, sms_consent_at=MONDAY)
    page = desk.get(f"/patients/{patient.pk}/edit/").content.decode()
    assert "Opted out 23 Nov 2026 08:00: no reminders by SMS" in page
