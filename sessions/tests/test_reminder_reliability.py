"""Reliability of the reminder sweep on PostgreSQL (SKIP LOCKED), with real workers on Redis.

Two sweeps at once (two beat ticks overlapping, or two workers) must send each reminder once.
SQLite serialises writers with its IMMEDIATE transactions, so only PostgreSQL runs the claims
truly in parallel. The broker tests then run the production path end to end: a booking while
Redis is down, a worker SIGKILLed mid-send (its group of rows ends `unknown`, even a redelivered
task does not resend them), and a provider that keeps failing (retries with backoff, then `failed`).
"""

import os
import shutil
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from time import monotonic as monotonic_clock

import pytest
from celery import Celery
from django.db import connection, connections
from django.utils import timezone
from django.utils import timezone as django_timezone
from kombu import Connection

from clinic.celery import app as celery_app
from clinic.models import Clinic
from conftest import skip_unless_ci
from patients.tests.factories import ScreenedPatientFactory
from sessions.booking.scheduling import session_book
from sessions.models import (
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionKind,
    TreatmentSession,
)
from sessions.outreach import sweep
from sessions.tests.conftest import MONDAY
from sessions.tests.factories import TreatmentSessionFactory
from sessions.tests.sms_backends import marks, writers
from sessions.tests.workers import (
    DISPATCH_TASK,
    RedisServer,
    free_port,
    purge_queue,
    threaded_worker,
    wait_until,
    worker_process,
)

CONSENTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DUE = 120


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_send_each_reminder_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("parallel claims need PostgreSQL (SQLite serialises writers)")
    # given: 120 due email reminders and a provider slow enough for the sweeps to overlap
    Clinic.objects.create(name="Race Clinic", time_zone="Europe/London")
    first = TreatmentSessionFactory(starts_at=MONDAY + timedelta(days=3))
    for n in range(DUE):
        patient = ScreenedPatientFactory(email_consent_at=CONSENTED)
        session = TreatmentSession.objects.create(
            patient=patient,
            clinician=first.clinician,
            room=first.room,
            starts_at=MONDAY + timedelta(days=3, minutes=60 + n),
            ends_at=MONDAY + timedelta(days=3, minutes=61 + n),
        )
        Reminder.objects.create(
            kind=ReminderKind.APPOINTMENT,
            channel="email",
            patient=patient,
            session=session,
            due_at=MONDAY,
            send_after=MONDAY,
        )
    delivered: list[int] = []
    lock = threading.Lock()

    def slow_provider(*, reminder, message, clinic):
        time.sleep(0.005)
        with lock:
            delivered.append(reminder.pk)
        return f"fake-{reminder.pk}"

    monkeypatch.setattr(sweep, "deliver_message", slow_provider)
    start = threading.Barrier(2)
    results = []

    def one_sweep():
        try:
            start.wait()
            results.append(sweep.dispatch_due_reminders(now=MONDAY, batch_size=10))
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=one_sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: every reminder went out exactly once, and both sweeps did part of the work
    assert Counter(delivered).most_common(1)[0][1] == 1
    assert len(delivered) == DUE
    assert sum(r.sent for r in results) == DUE
    assert all(r.sent > 0 for r in results)
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.SENT}


# With a real Celery worker and Redis ------------------------------------------------------------
#
# These run the production path: the task goes through a Redis broker to a real worker, which
# sweeps with the real clock unless a test sets it. SMS deliveries go through the dotted-path
# backends of sessions/tests/sms_backends.py, which leave one marker file per event, so a test
# counts them even across processes and after a SIGKILL.

RECORDING = "sessions.tests.sms_backends.RecordingSmsBackend"
HANGING = "sessions.tests.sms_backends.HangingSmsBackend"
REFUSING = "sessions.tests.sms_backends.RefusingSmsBackend"


def needs_postgres_and_redis() -> None:
    if connection.vendor != "postgresql":
        skip_unless_ci("needs DATABASE_URL=postgres://… (the real-worker tests run on PostgreSQL)")
    if not celery_app.conf.broker_url.startswith("redis://"):
        skip_unless_ci("needs CELERY_BROKER_URL=redis://… (the real-worker tests run on Redis)")


@pytest.fixture
def sms_outbox(settings, tmp_path):
    """Texts of this process go to the recording backend, markers to a folder of this test."""
    folder = tmp_path / "sms"
    folder.mkdir()
    settings.SMS_BACKEND = RECORDING
    settings.SMS_FILE_PATH = folder
    return folder


def texted_patient(**kwargs):
    # No quiet hours: these tests run on the real clock, at whatever hour CI runs them.
    return ScreenedPatientFactory(
        preferred_channel="sms",
        sms_consent_at=CONSENTED,
        quiet_hours_start=time_of_day(0),
        quiet_hours_end=time_of_day(0),
        **kwargs,
    )


def due_sms(*, session, now) -> Reminder:
    return Reminder.objects.create(
        kind=ReminderKind.APPOINTMENT,
        channel="sms",
        patient=session.patient,
        session=session,
        due_at=now - timedelta(minutes=1),
        send_after=now - timedelta(minutes=1),
    )


def upcoming_session(*, clinician, room, patient, starts_at) -> TreatmentSession:
    return TreatmentSession.objects.create(
        patient=patient,
        clinician=clinician,
        room=room,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=1),
    )


def statuses(*reminders: Reminder) -> list[str]:
    return [Reminder.objects.get(pk=r.pk).status for r in reminders]


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_two_dispatch_tasks_run_at_once_by_a_real_worker_text_each_patient_once(
    sms_outbox, clinician, room, monkeypatch
):
    needs_postgres_and_redis()
    # given: 120 due texts (more than two claim batches of 50), and two sweeps already in the
    # queue, as when a beat tick arrives while the last sweep is still running
    monkeypatch.setattr(sweep, "BATCH_SIZE", 50)
    now = timezone.now()
    due = [
        due_sms(
            session=upcoming_session(
                clinician=clinician,
                room=room,
                patient=texted_patient(),
                starts_at=now + timedelta(days=3, minutes=n),
            ),
            now=now,
        )
        for n in range(DUE)
    ]
    purge_queue(celery_app)
    celery_app.send_task(DISPATCH_TASK)
    celery_app.send_task(DISPATCH_TASK)

    # when: a worker that runs two tasks at once takes both
    with threaded_worker(celery_app, concurrency=2) as finished:
        finished.wait_for(2)

    # then: every patient got exactly one text, every row is sent, and both sweeps did part of
    # the work (so they really ran side by side, not one after the other)
    delivered = marks(sms_outbox, "delivered")
    assert sorted(delivered) == sorted(r.pk for r in due)
    assert set(delivered.values()) == {1}
    assert set(statuses(*due)) == {ReminderStatus.SENT}
    assert len(writers(sms_outbox, "delivered")) == 2


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_booking_while_redis_is_down_succeeds_and_its_confirmation_goes_out_when_redis_returns(
    sms_outbox, tmp_path, clinician, room, desk_user, monkeypatch
):
    needs_postgres_and_redis()
    if shutil.which("redis-server") is None:
        skip_unless_ci("redis-server is not installed (apt-get install -y redis-server)")
    # given: a private Redis (the machine's one serves other tests), a worker on it, a patient
    redis = RedisServer(port=free_port(), folder=tmp_path)
    redis.start()
    try:
        broker = Celery("reminders-redis-down", set_as_current=False)
        broker.config_from_object("django.conf:settings", namespace="CELERY")
        broker.conf.broker_url = redis.url
        patient = texted_patient()
        clinic = Clinic.current()
        with threaded_worker(broker) as finished:
            # when: Redis goes down and reception books a session
            redis.stop()
            published = []
            monkeypatch.setattr(
                Celery, "send_task", lambda app, name, *a, **kw: published.append(name)
            )
            now = timezone.now()
            started = monotonic_clock()
            session = session_book(
                clinic=clinic,
                patient=patient,
                clinician=clinician,
                room=room,
                starts_at=next_weekday_at_ten(clinic=clinic, after=now + timedelta(days=3)),
                by=desk_user,
                now=now,
                kind=SessionKind.ASSESSMENT,
            )
            took = monotonic_clock() - started
            monkeypatch.undo()

            # then: the booking committed with its reminders and never asked the broker for
            # anything, so it could neither fail nor wait on it
            assert published == []
            assert took < 5  # only a guard against hanging; the assertion above is the point
            assert TreatmentSession.objects.filter(pk=session.pk).exists()
            confirmation = Reminder.objects.get(
                session=session, kind=ReminderKind.BOOKING_CONFIRMATION
            )
            assert confirmation.status == ReminderStatus.PENDING
            assert Reminder.objects.filter(session=session, kind=ReminderKind.APPOINTMENT).count()
            assert marks(sms_outbox, "delivered") == Counter()

            # when: Redis is back and beat's next sweep goes through it to the same worker
            redis.start()
            broker.send_task(DISPATCH_TASK)
            finished.wait_for(1, timeout=45)

        # then: the confirmation went out, once
        assert statuses(confirmation) == [ReminderStatus.SENT]
        assert marks(sms_outbox, "delivered") == Counter({confirmation.pk: 1})
    finally:
        redis.stop()


def next_weekday_at_ten(*, clinic, after):
    """10:00 clinic time on the first Monday–Friday after `after` (the clinician's hours)."""
    day = after.astimezone(clinic.zone).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time_of_day(10), tzinfo=clinic.zone)


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_leaves_its_group_unknown_and_never_resends_it(
    sms_outbox, tmp_path, clinic, clinician, room
):
    needs_postgres_and_redis()
    # given: one group of due texts and two more in the same claim, and a worker process whose
    # provider takes the first text and hangs
    now = timezone.now()

    def book(minutes):
        return upcoming_session(
            clinician=clinician,
            room=room,
            patient=texted_patient(),
            starts_at=now + timedelta(days=3, minutes=minutes),
        )

    # (A sweep's first group, before it has timed any send, is FIRST_GROUP rows.)
    reminder, *group = [due_sms(session=book(n), now=now) for n in range(sweep.FIRST_GROUP)]
    untried = [due_sms(session=book(sweep.FIRST_GROUP + n), now=now) for n in (0, 1)]
    broker_url = celery_app.conf.broker_url
    log = tmp_path / "worker.log"
    purge_queue(celery_app)
    with worker_process(
        broker_url=broker_url, sms_backend=HANGING, sms_path=sms_outbox, log=log
    ) as worker:
        task_id = celery_app.send_task(DISPATCH_TASK).id
        wait_until(
            lambda: (
                marks(sms_outbox, "started")[reminder.pk] == 1
                and statuses(reminder) == [ReminderStatus.SENDING]
            ),
            timeout=30,
            what=f"the worker to start sending (log: {log})",
        )

        # when: the worker is killed mid-send, with no chance to clean up
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    # then: the group whose send had begun is `sending`, the row being sent and the ones the
    # worker never reached alike; the two it had claimed for the next group are still pending,
    # and go out once their claim lapses
    assert set(statuses(reminder, *group)) == {ReminderStatus.SENDING}
    assert statuses(*untried) == [ReminderStatus.PENDING] * 2
    lease = timedelta(minutes=clinic.reminder_lease_minutes)
    result = sweep.dispatch_due_reminders(now=now + lease + timedelta(minutes=1))
    assert result.unknown == sweep.FIRST_GROUP
    assert result.sent == 2
    assert statuses(*untried) == [ReminderStatus.SENT] * 2
    assert set(statuses(reminder, *group)) == {ReminderStatus.UNKNOWN}
    assert (
        "may or may not have reached the patient" in Reminder.objects.get(pk=reminder.pk).last_error
    )

    # when: the dispatch task the killed worker never acknowledged (acks_late) is redelivered,
    # as Redis does after the visibility timeout, to a new worker; a second due text shows
    # that this worker's sweep really ran
    witness = due_sms(session=book(sweep.FIRST_GROUP + 2), now=timezone.now())
    queue = celery_app.conf.task_default_queue
    with Connection(broker_url, transport_options={"visibility_timeout": 0}) as conn:
        waiting = conn.default_channel.client.llen(queue)
        conn.default_channel.qos.restore_visible(num=100)
        # The killed worker's dispatch task (and at times the heartbeat it had prefetched).
        assert conn.default_channel.client.llen(queue) > waiting
    with worker_process(broker_url=broker_url, sms_backend=RECORDING, sms_path=sms_outbox, log=log):
        wait_until(
            lambda: statuses(witness) == [ReminderStatus.SENT],
            timeout=30,
            what=f"the new worker's sweep (log: {log})",
        )

    # then: the new worker ran the very task the killed one had taken, and the killed send was
    # attempted once and never again, nor any other of its group; staff decide what to do
    assert log.read_text().count(f"[{task_id}] received") == 2
    assert marks(sms_outbox, "started") == Counter({reminder.pk: 1})
    assert marks(sms_outbox, "delivered") == Counter({r.pk: 1 for r in [*untried, witness]})
    assert set(statuses(reminder, *group)) == {ReminderStatus.UNKNOWN}


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_failing_provider_is_retried_with_backoff_through_the_worker_then_the_reminder_fails(
    sms_outbox, settings, clinic, clinician, room, monkeypatch
):
    needs_postgres_and_redis()
    # given: a provider that refuses every text, and a clock the test moves (the task reads it)
    settings.SMS_BACKEND = REFUSING
    clock = [timezone.now()]
    monkeypatch.setattr(django_timezone, "now", lambda: clock[0])
    reminder = due_sms(
        session=upcoming_session(
            clinician=clinician,
            room=room,
            patient=texted_patient(),
            starts_at=clock[0] + timedelta(days=3),
        ),
        now=clock[0],
    )
    limit = clinic.reminder_max_attempts
    purge_queue(celery_app)
    sweeps = 0

    with threaded_worker(celery_app) as finished:

        def sweep_at(moment):
            nonlocal sweeps
            clock[0] = moment
            celery_app.send_task(DISPATCH_TASK)
            sweeps += 1
            finished.wait_for(sweeps)
            return Reminder.objects.get(pk=reminder.pk)

        # when: beat's sweeps arrive just before and just after each backoff ends
        row = sweep_at(clock[0])
        for attempt in range(1, limit):
            # then: each refusal schedules the next attempt 1, 2, 4… minutes later
            assert (row.status, row.attempts) == (ReminderStatus.PENDING, attempt)
            assert row.send_after == clock[0] + sweep.backoff(attempts=attempt)
            early = sweep_at(row.send_after - timedelta(seconds=1))
            assert early.attempts == attempt
            row = sweep_at(row.send_after)

    # then: after the clinic's limit it is failed, with the reason, and no further attempt
    assert row.status == ReminderStatus.FAILED
    assert row.attempts == limit
    assert f"Gave up after {limit} attempts" in row.last_error
    assert "refused" in row.last_error
    assert marks(sms_outbox, "refused") == Counter({reminder.pk: limit})
