"""Booking, move, session and plan pages through HTTP, as reception and clinicians use them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from clinic.roles import Role
from formulations.tests.factories import FormulationVersionFactory
from patients.tests.factories import ScreeningFactory
from sessions.models import PlanKind, PlanTemplate, SessionStatus, TreatmentPlan
from sessions.tests.conftest import MONDAY, at
from sessions.tests.factories import (
    SessionRecordFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY, tick=False):
        yield


def booking(patient, clinician, room, day, hhmm, **extra):
    return {
        "patient": patient.pk,
        "kind": "treatment",
        "clinician": clinician.pk,
        "room": room.pk,
        "date": day,
        "time": hhmm,
        **extra,
    }


def test_reception_books_a_session_from_the_form(client_as, patient, clinician, room):
    response = client_as(Role.RECEPTION).post(
        "/sessions/new/", booking(patient, clinician, room, "2026-11-23", "10:00")
    )

    session = patient.treatment_sessions.get()
    assert response.status_code == 302
    assert response["Location"] == f"/sessions/{session.pk}/"
    assert session.starts_at == at(session.room.clinic, 2026, 11, 23, 10)


def test_a_refused_booking_says_why_and_suggests_free_slots(client_as, patient, clinician, room):
    TreatmentSessionFactory(clinician=clinician, starts_at=at(room.clinic, 2026, 11, 23, 10))

    response = client_as(Role.RECEPTION).post(
        "/sessions/new/", booking(patient, clinician, room, "2026-11-23", "10:15")
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Dr Nadia Noor already has a session from 10:00 to 10:45" in page
    assert 'data-testid="suggestions"' in page
    assert "Mon 23 Nov 2026, 10:45" in page
    assert not patient.treatment_sessions.exists()


def test_the_seven_day_rule_holds_through_the_booking_form(client_as, plan, clinician, room):
    TreatmentSessionFactory(
        plan=plan, patient=plan.patient, starts_at=at(room.clinic, 2026, 11, 23, 10)
    )
    data = booking(plan.patient, clinician, room, "2026-11-26", "10:00", plan=plan.pk)

    response = client_as(Role.RECEPTION).post(
        "/sessions/new/", {**data, "override_reason": "Travelling"}
    )

    assert "at least 7 days apart" in response.content.decode()
    assert "Only a clinician can record the override" in response.content.decode()
    assert plan.sessions.count() == 1


def test_a_clinician_overrides_the_seven_day_rule_in_the_booking_form(
    client, plan, clinician, room
):
    TreatmentSessionFactory(
        plan=plan, patient=plan.patient, starts_at=at(room.clinic, 2026, 11, 23, 10)
    )
    client.force_login(clinician.user)
    data = booking(plan.patient, clinician, room, "2026-11-26", "10:00", plan=plan.pk)

    response = client.post("/sessions/new/", {**data, "override_reason": "Low-dose formula"})

    assert response.status_code == 302
    assert plan.sessions.filter(interval_override_reason="Low-dose formula").exists()


def test_the_clearance_gate_holds_through_the_booking_form(client_as, plan, clinician, room):
    plan.patient.sex_at_birth = "female"
    plan.patient.save()
    ScreeningFactory(
        patient=plan.patient, screened_on=date(2026, 11, 20), answers={"pregnant": True}
    )

    response = client_as(Role.RECEPTION).post(
        "/sessions/new/",
        booking(plan.patient, clinician, room, "2026-11-23", "10:00", plan=plan.pk),
    )

    page = response.content.decode()
    assert "Treatment cannot be booked" in page
    # Reception reads the reception-safe wording, never the clinical reason.
    assert "pregnan" not in page.lower()
    assert not plan.sessions.exists()


def test_the_booking_form_prefills_a_suggested_slot(client_as, patient, clinician, room):
    response = client_as(Role.RECEPTION).get(
        f"/sessions/new/?patient={patient.pk}&clinician={clinician.pk}&room={room.pk}&date=2026-11-24"
    )

    page = response.content.decode()
    assert "Tue 24 Nov 2026, 09:00" in page


def test_the_seven_day_rule_holds_through_the_move_form(client_as, plan, clinician, room):
    first = TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        clinician=clinician,
        room=room,
        starts_at=at(room.clinic, 2026, 11, 23, 10),
    )
    TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        clinician=clinician,
        room=room,
        starts_at=at(room.clinic, 2026, 12, 7, 10),
    )
    client = client_as(Role.RECEPTION)

    response = client.post(
        f"/sessions/{first.pk}/move/",
        {"date": "2026-12-03", "time": "10:00", "clinician": clinician.pk, "room": room.pk},
    )

    assert "at least 7 days apart" in response.content.decode()
    first.refresh_from_db()
    assert first.starts_at == at(room.clinic, 2026, 11, 23, 10)


def test_the_clearance_gate_holds_through_the_move_form(client_as, plan, clinician, room):
    session = TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        clinician=clinician,
        room=room,
        starts_at=at(room.clinic, 2026, 11, 23, 10),
    )
    ScreeningFactory(
        patient=plan.patient, screened_on=date(2026, 11, 20), answers={"scalp_infection": True}
    )

    response = client_as(Role.RECEPTION).post(
        f"/sessions/{session.pk}/move/",
        {"date": "2026-11-24", "time": "10:00", "clinician": clinician.pk, "room": room.pk},
    )

    assert "Treatment cannot be booked" in response.content.decode()


def test_the_move_form_proposes_and_applies_the_reflow(client_as, plan, clinician, room):
    first = TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        clinician=clinician,
        room=room,
        starts_at=at(room.clinic, 2026, 11, 23, 10),
    )
    second = TreatmentSessionFactory(
        plan=plan,
        patient=plan.patient,
        clinician=clinician,
        room=room,
        starts_at=at(room.clinic, 2026, 12, 7, 10),
    )
    client = client_as(Role.RECEPTION)

    proposal = client.get(f"/sessions/{first.pk}/move/?date=2026-11-30&time=10:00").content.decode()
    response = client.post(
        f"/sessions/{first.pk}/move/",
        {
            "date": "2026-11-30",
            "time": "10:00",
            "clinician": clinician.pk,
            "room": room.pk,
            f"later_{second.pk}_date": "2026-12-14",
            f"later_{second.pk}_time": "11:00",
            f"later_{second.pk}_accept": "on",
        },
    )

    assert 'value="2026-12-14"' in proposal
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.starts_at == at(room.clinic, 2026, 12, 14, 11)


def test_reception_confirms_and_checks_in_from_the_session_page(
    client_as, patient, clinician, room
):
    session = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, starts_at=at(room.clinic, 2026, 11, 23, 10)
    )
    client = client_as(Role.RECEPTION)

    client.post(f"/sessions/{session.pk}/confirm/")
    client.post(f"/sessions/{session.pk}/check-in/")

    session.refresh_from_db()
    assert session.status == SessionStatus.CHECKED_IN


def test_a_no_show_before_the_start_is_refused_with_the_reason(client_as, patient, clinician, room):
    session = TreatmentSessionFactory(
        patient=patient, clinician=clinician, room=room, starts_at=at(room.clinic, 2026, 11, 23, 10)
    )

    response = client_as(Role.RECEPTION).post(f"/sessions/{session.pk}/no-show/", follow=True)

    assert "only be recorded after the session" in response.content.decode()
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


def test_cancelling_from_the_page_needs_who_and_why(client_as, patient, clinician, room):
    session = TreatmentSessionFactory(patient=patient, clinician=clinician, room=room)
    client = client_as(Role.RECEPTION)

    empty = client.post(
        f"/sessions/{session.pk}/cancel/", {"cancelled_by": "patient", "reason": ""}
    )
    done = client.post(
        f"/sessions/{session.pk}/cancel/", {"cancelled_by": "patient", "reason": "Flu"}
    )

    assert empty.status_code == 200
    assert done.status_code == 302
    session.refresh_from_db()
    assert (session.status, session.status_reason) == (SessionStatus.CANCELLED_BY_PATIENT, "Flu")


def test_actions_are_post_only(client_as, patient, clinician, room):
    session = TreatmentSessionFactory(patient=patient, clinician=clinician, room=room)

    response = client_as(Role.RECEPTION).get(f"/sessions/{session.pk}/confirm/")

    assert response.status_code == 405


def test_the_session_page_shows_no_clinical_record_content(client_as, patient, clinician, room):
    session = TreatmentSessionFactory(patient=patient, clinician=clinician, room=room)
    record = SessionRecordFactory(session=session)
    version_name = str(record.formulation_version)

    page = client_as(Role.RECEPTION).get(f"/sessions/{session.pk}/").content.decode()

    assert "Priya Patel" in page
    assert version_name not in page


def test_a_clinician_writes_a_plan_from_a_template(client, patient, clinician):
    client.force_login(clinician.user)
    version = FormulationVersionFactory()

    response = client.post(
        f"/patients/{patient.pk}/plans/new/",
        {
            "template": PlanTemplate.objects.get(kind=PlanKind.SEVERE).pk,
            "indication": "L64 Norwood V",
            "formulation_version": version.pk,
            "technique": "nappage",
            "device": "mesogun",
            "target_depth_mm": "2.5",
            "price_per_session": "150",
        },
    )

    plan = TreatmentPlan.objects.get(patient=patient)
    assert response["Location"] == f"/plans/{plan.pk}/"
    assert (plan.number_of_sessions, plan.target_depth_mm) == (10, Decimal("2.5"))


def test_a_plan_deeper_than_four_millimetres_is_refused_on_the_form(client, patient, clinician):
    client.force_login(clinician.user)

    response = client.post(
        f"/patients/{patient.pk}/plans/new/",
        {
            "template": PlanTemplate.objects.get(kind=PlanKind.SEVERE).pk,
            "indication": "L64",
            "formulation_version": FormulationVersionFactory().pk,
            "technique": "nappage",
            "device": "mesogun",
            "target_depth_mm": "6",
        },
    )

    assert response.status_code == 200
    assert "less than or equal to 4" in response.content.decode()
    assert not TreatmentPlan.objects.exists()


def test_reception_proposes_and_books_a_course_from_the_plan_page(
    client_as, clinician, room, patient
):
    plan = TreatmentPlanFactory(patient=patient, number_of_sessions=3, status="draft")
    client = client_as(Role.RECEPTION)

    page = client.get(
        f"/plans/{plan.pk}/?clinician={clinician.pk}&room={room.pk}&date=2026-11-24&time=11:00"
    ).content.decode()
    response = client.post(
        f"/plans/{plan.pk}/book/",
        {
            "clinician": clinician.pk,
            "room": room.pk,
            "start": ["2026-11-24T11:00", "2026-12-08T11:00", "2026-12-22T11:00"],
        },
    )

    assert 'value="2026-12-08T11:00"' in page
    assert 'data-testid="shifted"' not in page
    assert response.status_code == 302
    assert [s.sequence for s in plan.sessions.order_by("starts_at")] == [1, 2, 3]


def test_a_proposal_that_moves_a_requested_date_says_so(
    client_as, open_clinic, clinician, room, patient
):
    plan = TreatmentPlanFactory(patient=patient, number_of_sessions=2, status="draft")
    TreatmentSessionFactory(clinician=clinician, starts_at=at(open_clinic, 2026, 11, 24, 11))

    page = (
        client_as(Role.RECEPTION)
        .get(
            f"/plans/{plan.pk}/?clinician={clinician.pk}&room={room.pk}&date=2026-11-24&time=11:00"
        )
        .content.decode()
    )

    assert page.count('data-testid="shifted"') == 1
    assert "Moved from Tue 24 Nov 11:00: not free then" in page


def test_a_mistyped_course_date_books_nothing_and_says_why(client_as, clinician, room, plan):
    response = client_as(Role.RECEPTION).post(
        f"/plans/{plan.pk}/book/",
        {"clinician": clinician.pk, "room": room.pk, "start": ["2026-11-24T11:00", "tomorrow"]},
        follow=True,
    )

    assert "is not a date and time" in response.content.decode()
    assert not plan.sessions.exists()


def test_the_dashboard_shows_reception_panels(client_as, open_clinic, patient, clinician, room):
    TreatmentSessionFactory(
        starts_at=at(open_clinic, 2026, 11, 23, 10), status=SessionStatus.CONFIRMED
    )
    TreatmentSessionFactory(patient=patient, starts_at=at(open_clinic, 2026, 11, 24, 10))

    page = client_as(Role.RECEPTION).get("/").content.decode()

    assert 'data-testid="reception-panels"' in page
    assert "Confirmed: <strong>1</strong>" in page
    assert "Priya Patel" in page


def test_the_calendar_is_in_the_navigation_for_reception(client_as, open_clinic):
    page = client_as(Role.RECEPTION).get("/").content.decode()

    assert 'href="/calendar/"' in page


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        (SessionStatus.SCHEDULED, {"Confirm", "Check in", "Move", "Cancel…"}),
        (SessionStatus.CONFIRMED, {"Check in", "Move", "Cancel…"}),
        (SessionStatus.CHECKED_IN, set()),
    ],
)
def test_the_session_page_offers_only_what_its_status_allows(
    client_as, patient, clinician, room, status, buttons
):
    session = TreatmentSessionFactory(
        patient=patient,
        clinician=clinician,
        room=room,
        status=status,
        starts_at=MONDAY + timedelta(days=1),
    )

    page = client_as(Role.RECEPTION).get(f"/sessions/{session.pk}/").content.decode()

    offered = {b for b in ("Confirm", "Check in", "Move", "Cancel…", "No-show") if f">{b}<" in page}
    assert offered == buttons
