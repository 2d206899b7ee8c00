"""Adverse events: recorded at or after the session, updated as they evolve, voided not deleted;
a serious event reaches every clinic admin by email and on their dashboard."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from clinic.refusals import RecordRefused
from clinic.roles import Role
from clinic.tests.factories import RoomFactory
from formulations.tests.factories import LotFactory
from sessions.models import AdverseEvent, SessionStatus
from sessions.records.adverse_events import (
    adverse_event_acknowledge,
    adverse_event_record,
    adverse_event_update,
    adverse_event_void,
    serious_events_notify_admins,
)
from sessions.tests.factories import (
    AdverseEventFactory,
    RecordLotFactory,
    SessionRecordFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)

# The session is on Monday 23 November 2026 at 10:00 London; the patient calls back on Thursday.
THURSDAY = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)

MILD_PAIN = {
    "event_type": "pain",
    "onset_on": date(2026, 11, 23),
    "severity": "mild",
    "ctcae_grade": 1,
    "serious": False,
    "causality": "probable",
    "outcome": "ongoing",
}
ANAPHYLAXIS = {
    **MILD_PAIN,
    "event_type": "hypersensitivity",
    "severity": "severe",
    "ctcae_grade": 4,
    "serious": True,
}


@pytest.fixture
def doctor(staff):
    return staff(Role.CLINICIAN, display_name="Dr Nadia Noor")


@pytest.fixture
def session(clinic, doctor):
    return TreatmentSessionFactory(
        clinician=doctor,
        room=RoomFactory(clinic=clinic),
        status=SessionStatus.COMPLETED,
        patient__given_name="Priya",
        patient__family_name="Patel",
    )


@pytest.fixture(autouse=True)
def eager_tasks():
    """Run Celery tasks in the test process, so nothing is left queued under var/."""
    from clinic.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def admins(staff):
    first = staff(Role.CLINIC_ADMIN, display_name="Ada Admin").user
    second = staff(Role.CLINIC_ADMIN, display_name="Ben Admin").user
    no_email = staff(Role.CLINIC_ADMIN, display_name="Cy Admin").user
    no_email.email = ""
    no_email.save(update_fields=["email"])
    gone = staff(Role.CLINIC_ADMIN, display_name="Dee Admin").user
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    return first, second


def test_a_patient_calling_back_days_later_gets_an_event_on_the_session(session, doctor):
    event = adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **MILD_PAIN)

    assert event.patient == session.patient
    assert event.reported_at == THURSDAY
    assert list(session.adverse_events.all()) == [event]


def test_any_number_of_events_can_follow_one_session(session, doctor):
    adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **MILD_PAIN)
    adverse_event_record(
        session=session, by=doctor.user, now=THURSDAY, **{**MILD_PAIN, "event_type": "erythema"}
    )

    assert session.adverse_events.count() == 2


def test_an_onset_before_the_session_day_is_refused(session, doctor):
    with pytest.raises(RecordRefused, match="before the session"):
        adverse_event_record(
            session=session,
            by=doctor.user,
            now=THURSDAY,
            **{**MILD_PAIN, "onset_on": date(2026, 11, 22)},
        )


def test_an_onset_in_the_future_is_refused(session, doctor):
    with pytest.raises(RecordRefused, match="future"):
        adverse_event_record(
            session=session,
            by=doctor.user,
            now=THURSDAY,
            **{**MILD_PAIN, "onset_on": date(2026, 11, 27)},
        )


def test_a_session_the_patient_never_attended_cannot_carry_an_event(session, doctor):
    session.status = SessionStatus.NO_SHOW
    session.save(update_fields=["status"])

    with pytest.raises(RecordRefused, match="attended"):
        adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **MILD_PAIN)


@pytest.mark.parametrize("grade", [4, 5])
def test_grade_4_or_5_must_be_serious(session, doctor, grade):
    with pytest.raises(RecordRefused, match="serious by definition"):
        adverse_event_record(
            session=session,
            by=doctor.user,
            now=THURSDAY,
            **{**ANAPHYLAXIS, "ctcae_grade": grade, "serious": False},
        )


def test_a_grade_outside_1_to_5_is_refused(session, doctor):
    with pytest.raises(RecordRefused):
        adverse_event_record(
            session=session, by=doctor.user, now=THURSDAY, **{**MILD_PAIN, "ctcae_grade": 6}
        )


def test_the_lot_must_be_one_the_record_used(session, doctor):
    used = RecordLotFactory(record=SessionRecordFactory(session=session, clinician=doctor))
    other = LotFactory(version=used.lot.version)

    with pytest.raises(RecordRefused, match="lot used in this session"):
        adverse_event_record(
            session=session, by=doctor.user, now=THURSDAY, **{**MILD_PAIN, "lot": other}
        )
    event = adverse_event_record(
        session=session, by=doctor.user, now=THURSDAY, **{**MILD_PAIN, "lot": used.lot}
    )
    assert event.lot == used.lot


def test_without_a_record_any_lot_of_the_plans_version_may_be_named(session, doctor):
    plan = TreatmentPlanFactory(patient=session.patient, created_by=doctor)
    session.plan = plan
    session.save(update_fields=["plan"])
    same_version = LotFactory(version=plan.formulation_version)
    other_version = LotFactory()

    event = adverse_event_record(
        session=session, by=doctor.user, now=THURSDAY, **{**MILD_PAIN, "lot": same_version}
    )
    assert event.lot == same_version
    with pytest.raises(RecordRefused, match="lot used in this session"):
        adverse_event_record(
            session=session, by=doctor.user, now=THURSDAY, **{**MILD_PAIN, "lot": other_version}
        )


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.CLINIC_ADMIN])
def test_only_clinicians_record_events(session, staff, role):
    with pytest.raises(PermissionDenied):
        adverse_event_record(session=session, by=staff(role).user, now=THURSDAY, **MILD_PAIN)


def test_the_outcome_evolves_and_history_keeps_every_step(session, doctor):
    event = adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **MILD_PAIN)

    adverse_event_update(event=event, by=doctor.user, now=THURSDAY, outcome="resolving")
    adverse_event_update(event=event, by=doctor.user, now=THURSDAY, outcome="resolved")

    event.refresh_from_db()
    assert event.outcome == "resolved"
    steps = list(event.history.order_by("history_date").values_list("outcome", flat=True))
    assert steps == ["ongoing", "resolving", "resolved"]


def test_a_voided_event_stays_with_its_reason_and_cannot_change(session, doctor):
    event = adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **MILD_PAIN)

    with pytest.raises(RecordRefused, match="why"):
        adverse_event_void(event=event, by=doctor.user, reason="  ", now=THURSDAY)
    adverse_event_void(event=event, by=doctor.user, reason="Wrong patient", now=THURSDAY)

    event.refresh_from_db()
    assert event.voided_at == THURSDAY
    assert event.void_reason == "Wrong patient"
    with pytest.raises(RecordRefused, match="voided"):
        adverse_event_update(event=event, by=doctor.user, now=THURSDAY, outcome="resolved")


def test_a_serious_event_emails_every_active_admin_without_the_patients_name(
    session, doctor, admins
):
    event = adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **ANAPHYLAXIS)

    announced = serious_events_notify_admins(now=THURSDAY + timedelta(minutes=1))

    assert announced == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in admins)
    message = mail.outbox[0]
    assert session.patient.record_number in message.subject
    assert reverse("treatment_sessions:adverse_event_detail", args=[event.pk]) in message.body
    for private in ("Priya", "Patel", session.patient.email):
        assert private not in message.subject + message.body


def test_the_next_sweep_does_not_email_the_same_event_again(session, doctor, admins):
    adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **ANAPHYLAXIS)

    serious_events_notify_admins(now=THURSDAY + timedelta(minutes=1))
    again = serious_events_notify_admins(now=THURSDAY + timedelta(minutes=2))

    assert again == 0
    assert len(mail.outbox) == len(admins)


def test_recording_a_serious_event_does_not_wait_on_the_broker(session, doctor, admins):
    # The clinician's form must not fail or hang when Redis is down: recording publishes no
    # Celery message at all, the beat sweep sends the email.
    from unittest import mock

    with mock.patch("kombu.Producer.publish") as publish:
        adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **ANAPHYLAXIS)

    publish.assert_not_called()
    assert mail.outbox == []


def test_a_mail_server_error_leaves_the_event_for_the_next_sweep(
    session, doctor, admins, monkeypatch
):
    adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **ANAPHYLAXIS)

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("sessions.records.adverse_events.send_mass_mail", refused)
    assert serious_events_notify_admins(now=THURSDAY + timedelta(minutes=1)) == 0
    monkeypatch.undo()

    assert serious_events_notify_admins(now=THURSDAY + timedelta(minutes=2)) == 1
    assert len(mail.outbox) == len(admins)


def test_a_mild_event_emails_nobody(session, doctor, admins):
    adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **MILD_PAIN)

    assert serious_events_notify_admins(now=THURSDAY + timedelta(minutes=1)) == 0
    assert mail.outbox == []


def test_an_event_that_becomes_serious_notifies_the_admins(session, doctor, admins):
    event = adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **MILD_PAIN)
    serious_events_notify_admins(now=THURSDAY + timedelta(minutes=1))

    adverse_event_update(event=event, by=doctor.user, now=THURSDAY, serious=True)
    serious_events_notify_admins(now=THURSDAY + timedelta(minutes=2))

    assert len(mail.outbox) == 2


def test_beat_runs_the_notification_sweep_every_minute(settings):
    from clinic.celery import app

    app.loader.import_default_modules()
    name = "sessions.tasks.notify_serious_adverse_events"
    assert name in app.tasks
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule[name] == 60.0


def test_a_serious_event_waits_on_the_admin_dashboard_until_acknowledged(
    client, session, doctor, admins
):
    event = adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **ANAPHYLAXIS)
    admin = admins[0]
    client.force_login(admin)

    page = client.get("/").content.decode()
    assert session.patient.record_number in page
    assert reverse("treatment_sessions:adverse_event_detail", args=[event.pk]) in page
    assert "Hypersensitivity" in page

    response = client.post(reverse("treatment_sessions:adverse_event_acknowledge", args=[event.pk]))
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.acknowledged_by == admin
    page = client.get("/").content.decode()
    assert session.patient.record_number not in page
    assert "None waiting." in page


def test_clinicians_and_reception_see_no_serious_event_panel(client, session, doctor, staff):
    adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **ANAPHYLAXIS)
    for user in (doctor.user, staff(Role.RECEPTION).user):
        client.force_login(user)
        assert 'data-testid="serious-adverse-events"' not in client.get("/").content.decode()


def test_only_an_admin_acknowledges_and_only_once(session, doctor, admins):
    event = adverse_event_record(session=session, by=doctor.user, now=THURSDAY, **ANAPHYLAXIS)

    with pytest.raises(PermissionDenied):
        adverse_event_acknowledge(event=event, by=doctor.user, now=THURSDAY)
    adverse_event_acknowledge(event=event, by=admins[0], now=THURSDAY)
    with pytest.raises(RecordRefused, match="already acknowledged"):
        adverse_event_acknowledge(event=event, by=admins[1], now=THURSDAY)


def test_reception_cannot_open_an_event_by_any_url(client, session, staff):
    event = AdverseEventFactory(session=session)
    client.force_login(staff(Role.RECEPTION).user)
    urls = [
        reverse("treatment_sessions:adverse_event_new", args=[session.pk]),
        reverse("treatment_sessions:adverse_event_detail", args=[event.pk]),
        reverse("treatment_sessions:adverse_event_update", args=[event.pk]),
        reverse("treatment_sessions:adverse_event_void", args=[event.pk]),
        reverse("treatment_sessions:adverse_event_acknowledge", args=[event.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403


def test_a_clinician_records_an_event_through_the_form(client, session, doctor):
    client.force_login(doctor.user)
    url = reverse("treatment_sessions:adverse_event_new", args=[session.pk])

    assert client.get(url).status_code == 200
    response = client.post(url, {**MILD_PAIN, "notes": "Tender for two days"})

    event = AdverseEvent.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "treatment_sessions:adverse_event_detail", args=[event.pk]
    )
    assert event.reported_by == doctor.user


def test_the_form_shows_why_an_early_onset_is_refused(client, session, doctor):
    client.force_login(doctor.user)
    url = reverse("treatment_sessions:adverse_event_new", args=[session.pk])

    response = client.post(url, {**MILD_PAIN, "onset_on": "2026-11-01"})

    assert response.status_code == 200
    assert "before the session" in response.content.decode()
    assert not AdverseEvent.objects.exists()


def test_a_clinician_updates_the_outcome_on_the_event_page(client, session, doctor):
    event = AdverseEventFactory(session=session, outcome="ongoing")
    client.force_login(doctor.user)

    response = client.post(
        reverse("treatment_sessions:adverse_event_update", args=[event.pk]),
        {**MILD_PAIN, "onset_on": event.onset_on.isoformat(), "outcome": "resolving"},
    )

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Resolving" in page


def test_an_admin_reads_the_event_without_the_update_form(client, session, admins):
    event = AdverseEventFactory(session=session)
    client.force_login(admins[0])

    page = client.get(reverse("treatment_sessions:adverse_event_detail", args=[event.pk]))

    assert page.status_code == 200
    assert "Update as it evolves" not in page.content.decode()
