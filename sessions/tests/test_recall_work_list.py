"""The recall work list (issue 15 point 3): windows, contact columns, contact attempts, CSV."""

import csv
import io
from datetime import date

import pytest
import time_machine

from clinic.roles import Role
from clinic.spreadsheet import csv_cell
from sessions.booking.maintenance import RecallWindow, maintenance_due, recall_window_due_by
from sessions.models import ContactAttempt
from sessions.tests.conftest import MONDAY
from sessions.tests.factories import ContactAttemptFactory
from sessions.tests.test_maintenance import TODAY, completed_course


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY, tick=False):  # Monday 23 November 2026, 08:00 UTC
        yield


def test_each_window_ends_where_reception_would_expect():
    assert recall_window_due_by(window=RecallWindow.OVERDUE, today=TODAY) == date(2026, 11, 22)
    assert recall_window_due_by(window=RecallWindow.MONTH, today=TODAY) == date(2026, 11, 30)
    assert recall_window_due_by(window=RecallWindow.QUARTER, today=TODAY) == date(2027, 2, 23)
    # the last day of a short month three months on
    assert recall_window_due_by(window=RecallWindow.QUARTER, today=date(2026, 11, 30)) == date(
        2027, 2, 28
    )


def test_the_windows_nest_and_each_boundary_day_falls_on_the_right_side(clinic):
    # last visits four months before each due date
    due = {
        "yesterday": completed_course(clinic, date(2026, 7, 22)),  # due 22 Nov
        "today": completed_course(clinic, date(2026, 7, 23)),  # due 23 Nov
        "month end": completed_course(clinic, date(2026, 7, 30)),  # due 30 Nov
        "next month": completed_course(clinic, date(2026, 8, 1)),  # due 1 Dec
        "3 months on": completed_course(clinic, date(2026, 10, 23)),  # due 23 Feb
        "a day later": completed_course(clinic, date(2026, 10, 24)),  # due 24 Feb
    }

    def names(window):
        plans = [
            r.plan for r in maintenance_due(clinic=clinic, today=TODAY, now=MONDAY, window=window)
        ]
        return [name for name, plan in due.items() if plan in plans]

    assert names(RecallWindow.OVERDUE) == ["yesterday"]
    assert names(RecallWindow.MONTH) == ["yesterday", "today", "month end"]
    assert names(RecallWindow.QUARTER) == [
        "yesterday",
        "today",
        "month end",
        "next month",
        "3 months on",
    ]


def test_the_page_offers_each_window_with_its_count_and_shows_the_chosen_one(client_as, clinic):
    completed_course(clinic, date(2026, 7, 1))  # overdue
    completed_course(clinic, date(2026, 7, 28))  # due 28 Nov
    completed_course(clinic, date(2026, 9, 1))  # due 1 Jan
    client = client_as(Role.RECEPTION)

    default = client.get("/maintenance/").content.decode()
    quarter = client.get("/maintenance/?window=3months").content.decode()
    nonsense = client.get("/maintenance/?window=forever").content.decode()

    assert default.count('data-testid="maintenance-row"') == 2
    assert (
        'aria-current="page">This month <span class="badge rounded-pill text-bg-light">2' in default
    )
    assert "Overdue <span" in default and ">1</span>" in default
    assert quarter.count('data-testid="maintenance-row"') == 3
    assert "<strong>3</strong> due, <strong>1</strong> of them overdue" in quarter
    assert nonsense.count('data-testid="maintenance-row"') == 2


def test_a_patient_overdue_longer_than_the_clinic_recalls_is_lapsed_not_recalled(client_as, clinic):
    # given: due yesterday, 12 months ago to the day (still recalled), 12 months and a day ago
    # and three years ago (lapsed), with the clinic's default of 12 months
    yesterday = completed_course(clinic, date(2026, 7, 22))  # due 22 Nov 2026
    year = completed_course(clinic, date(2025, 7, 23))  # due 23 Nov 2025
    lapsed = completed_course(clinic, date(2025, 7, 22))  # due 22 Nov 2025
    long_gone = completed_course(clinic, date(2023, 7, 1))  # due 1 Nov 2023

    def plans(window):
        rows = maintenance_due(clinic=clinic, today=TODAY, now=MONDAY, window=window)
        return [r.plan for r in rows]

    # then: the recall windows stop at the horizon, Lapsed holds the rest, latest first
    assert plans(RecallWindow.OVERDUE) == [year, yesterday]
    assert plans(RecallWindow.QUARTER) == [year, yesterday]
    assert plans(RecallWindow.LAPSED) == [lapsed, long_gone]
    page = client_as(Role.RECEPTION).get("/maintenance/").content.decode()
    assert "<strong>2</strong> due, <strong>2</strong> of them overdue" in page
    assert "has lapsed" in page and "(due before 23 Nov 2025)" in page
    assert 'href="?window=lapsed">Lapsed</a>' in page  # counted only when shown
    shown = client_as(Role.RECEPTION).get("/maintenance/?window=lapsed").content.decode()
    assert shown.count('data-testid="maintenance-row"') == 2
    assert "<strong>2</strong> lapsed, latest first" in shown
    assert shown.count("Lapsed</span>") == 2 and "Overdue</span>" not in shown
    # and a clinic that recalls for longer recalls them again
    clinic.recall_lapse_months = 60
    clinic.save()
    assert plans(RecallWindow.OVERDUE) == [long_gone, lapsed, year, yesterday]


def test_each_row_shows_phone_email_a_link_to_the_patient_and_the_last_contact(
    client_as, clinic, staff
):
    plan = completed_course(clinic, date(2026, 7, 1))
    plan.patient.mobile, plan.patient.email = "+447700900123", "ann@patients.example"
    plan.patient.save()
    older = staff(Role.RECEPTION, display_name="Olu Older").user
    ContactAttemptFactory(plan=plan, by=older, attempted_at=MONDAY.replace(day=18))
    ContactAttemptFactory(
        plan=plan, by=older, outcome="call_back", attempted_at=MONDAY.replace(day=20)
    )

    page = client_as(Role.RECEPTION).get("/maintenance/").content.decode()

    assert f'href="/patients/{plan.patient.pk}/">{plan.patient.full_name}</a>' in page
    assert 'href="tel:+447700900123">07700 900123</a>' in page
    assert 'href="mailto:ann@patients.example"' in page
    assert (
        "<strong>Reached: will call back</strong><br><small>20 Nov 2026 08:00 · Phone · Olu Older"
        in page
    )
    assert "<summary>1 earlier</summary>" in page


def test_a_receptionist_logs_an_attempt_and_it_becomes_the_last_contact_with_their_name(
    client_as, clinic, staff
):
    plan = completed_course(clinic, date(2026, 8, 10))  # due 10 Dec: next 3 months only
    reception = staff(Role.RECEPTION, display_name="Rita Reception")
    client = client_as(Role.RECEPTION)
    client.force_login(reception.user)

    response = client.post(
        f"/maintenance/{plan.pk}/contact/",
        {"channel": "phone", "outcome": "booked", "note": "", "window": "3months", "page": "1"},
        follow=True,
    )

    attempt = ContactAttempt.objects.get()
    assert (attempt.by, attempt.outcome, attempt.channel) == (reception.user, "booked", "phone")
    assert response.redirect_chain == [("/maintenance/?window=3months&page=1", 302)]
    page = response.content.decode()
    assert "Contact attempt logged" in page
    assert "<strong>Reached: booked maintenance</strong><br><small>23 Nov 2026" in page
    assert "Rita Reception" in page
    # the attempt is in the contact log's history too
    assert attempt.history.count() == 1


def test_the_csv_has_contact_columns_and_cannot_run_a_formula(client_as, clinic, staff):
    plan = completed_course(clinic, date(2026, 7, 1))
    patient = plan.patient
    patient.given_name = '=HYPERLINK("http://evil.example","Click")'
    patient.family_name = "Smith"
    patient.email = "+cmd@patients.example"
    patient.save()
    ContactAttemptFactory(
        plan=plan, by=staff(Role.RECEPTION, display_name="@Rita").user, outcome="no_answer"
    )

    response = client_as(Role.RECEPTION).get("/maintenance/download/?window=3months")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="maintenance-3months-2026-11-23.csv"' in response["Content-Disposition"]
    header, row = list(csv.reader(io.StringIO(response.content.decode())))
    assert header[:4] == ["record number", "patient", "mobile", "email"]
    assert dict(zip(header, row, strict=True)) == {
        "record number": patient.record_number,
        "patient": '\'=HYPERLINK("http://evil.example","Click") Smith',
        "mobile": "07700 900123",
        "email": "'+cmd@patients.example",
        "preferred channel": "Email",
        "last visit": "2026-07-01",
        "maintenance due": "2026-11-01",
        "overdue": "yes",
        "last contact": "2026-11-20 10:00",
        "last outcome": "No answer",
        "last contact by": "'@Rita",
        "contact attempts": "1",
    }


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+44", "'+44"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ann = Smith", "Ann = Smith"),
        (None, ""),
    ],
)
def test_a_cell_that_could_start_a_formula_gets_a_leading_quote(value, cell):
    assert csv_cell(value) == cell


def test_reception_works_the_list_a_clinician_only_reads_it_and_a_stranger_logs_in(
    client, client_as, clinic
):
    plan = completed_course(clinic, date(2026, 7, 1))

    anonymous = client.get("/maintenance/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")

    clinician = client_as(Role.CLINICIAN)
    page = clinician.get("/maintenance/").content.decode()
    assert page.count('data-testid="maintenance-row"') == 1
    assert 'data-testid="contact-form"' not in page and "Download CSV" not in page
    assert clinician.get("/maintenance/download/").status_code == 403
    refused = clinician.post(
        f"/maintenance/{plan.pk}/contact/", {"channel": "phone", "outcome": "booked"}
    )
    assert refused.status_code == 403 and not ContactAttempt.objects.exists()

    reception = client_as(Role.RECEPTION)
    page = reception.get("/maintenance/").content.decode()
    assert 'data-testid="contact-form"' in page and "Download CSV (This month)" in page
