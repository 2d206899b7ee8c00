"""The sending sweep: beat runs `dispatch_due_reminders` every minute.

It marks stale leases `unknown`, cancels the rows of patients whose processing is restricted,
adds the periodic prompts, then claims due rows (SKIP LOCKED on PostgreSQL, the IMMEDIATE
transaction on SQLite) by stamping `claimed_at`, commits, and works through them in groups: at
most MARK_EVERY rows, about GROUP_SECONDS of sends at the pace this sweep has measured. A group
begins in one commit (`group_begin`): each row is judged first, with what the claim read and the
sweep's clock: one inside the patient's quiet hours (the hours they have now) is handed back due
at their end; one whose appointment started, was cancelled or whose patient may no longer be
messaged on its channel ends expired or cancelled, with the reason. The rest turn `sending` in
one conditional UPDATE that takes only rows still `pending` under this sweep's claim, so a row a
booking change cancelled (or another sweep took) after the claim is never sent. Then each row
that turned `sending` is sent, and the group is marked `sent` in one conditional UPDATE
(SentMarks) before the next group begins. A booking changed after its row's group began finds
the row `sending`, counts it as possibly told (rows.MAY_HAVE_REACHED) and queues its own notice:
the window is one group's sends, not one row's, which is why a group holds about a second of
sends (MARK_EVERY rows with a fast provider, a few with a slow one).

A worker killed mid-group leaves that group `sending`, sent or not: after the lease those rows
become `unknown` and are never resent automatically, since the provider may have delivered them
and a patient texted twice is the failure mode this design exists to avoid. That is at most
MARK_EVERY rows, as many as the rows a per-row begin left sent but not yet marked. The claimed
rows of later groups are still `pending`: their claim lapses after claim.CLAIM_SECONDS and the next
sweep takes them. A sweep that stops on its own (its time budget, a soft time limit, an error)
hands back at once every row it claimed or began but did not try. Never Celery eta/countdown.
"""

import logging
import time as monotonic_clock
import traceback
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction

from clinic.models import Clinic
from patients.models import Channel

from ..models import (
    PlanStatus,
    Reminder,
    ReminderKind,
    ReminderStatus,
)
from . import messaging
from .claim import claim_due_reminders
from .messages import Message, reminders_prepare_links, render_reminder
from .preferences import channel_refusal, send_after_for
from .prompts import reminders_generate_periodic
from .rows import AFTERCARE_WITHIN, APPOINTMENT_KINDS, BOOKED, EXPIRING_KINDS, clinic_or_current

logger = logging.getLogger(__name__)


# Rows claimed per transaction. A worker killed mid-batch strands none of them: a claimed row
# stays `pending` until its group begins, and its claim lapses after claim.CLAIM_SECONDS. Large,
# because the claim's fixed cost (one joined read, one UPDATE, one commit) is shared by them all.
BATCH_SIZE = 200
# Rows turned `sending` in one commit just before they are sent, and marked `sent` in one commit
# after. A worker killed in between leaves at most this many for staff to check (`unknown`):
# small, since each of those may have reached the patient; large enough that the two commits
# cost little per row.
MARK_EVERY = 50
# Between a group's begin and a row's own send a booking change no longer stops that row (it is
# already `sending`), so a group holds about this many seconds of sends, at the pace measured
# so far in the sweep: MARK_EVERY rows when the provider answers in milliseconds, two or three
# when a text takes half a second. The first group of a sweep, before any send is timed, is
# FIRST_GROUP rows.
GROUP_SECONDS = 1.0
FIRST_GROUP = 5
# A sweep stops claiming after this many seconds so it ends well inside Celery's soft time
# limit (60 s): rows it did not reach wait for the next minute instead of being cut off mid-send.
SWEEP_BUDGET_SECONDS = 40
# Retry after 1, 2, 4, 8… minutes, never more than an hour apart.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)


def recipient(reminder: Reminder):
    """Who the row goes to: the patient, or for an online booking's one-time code the person
    who typed the address at /book/ (both carry `email` and `mobile`)."""
    return reminder.patient if reminder.patient_id is not None else reminder.online_booking


def deliver_message(*, reminder: Reminder, message: Message, clinic: Clinic) -> str:
    """The one place a reminder leaves the system; returns the provider's id.

    `reminder` is a row the claim read (its `sms_to` is the claim's). The reminder id is the
    provider idempotency key. Tests replace this function to make the provider slow or
    failing."""
    key = str(reminder.pk)
    if reminder.channel == Channel.SMS:
        # The stored E.164 text the claim read (claim.SMS_TO), not a parsed number.
        return messaging.send_sms(to=reminder.sms_to, body=message.sms, idempotency_key=key)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        to=[recipient(reminder).email],
        reply_to=[clinic.email] if clinic.email else None,
        headers={"X-Mesotrack-Reminder": key},
    )
    email.attach_alternative(message.html, "text/html")
    if message.ics is not None:
        method = "CANCEL" if reminder.kind == ReminderKind.CANCELLATION else "REQUEST"
        email.attach("appointment.ics", message.ics, f"text/calendar; method={method}")
    return messaging.send_email(message=email, idempotency_key=key)


@dataclass
class SweepResult:
    sent: int = 0
    deferred: int = 0  # the provider failed; another attempt is scheduled
    expired: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    quiet: int = 0  # reached during the patient's quiet hours: moved to their end

    def add(self, outcome: str, count: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + count)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def mark_stale_leases_unknown(*, now: datetime, clinic: Clinic | None = None) -> int:
    """Rows left `sending` past the lease (a worker killed mid-send) become `unknown`: the
    provider may have delivered them, so staff check before anything is resent."""
    clinic = clinic_or_current(clinic)
    cutoff = now - timedelta(minutes=clinic.reminder_lease_minutes)
    return Reminder.objects.filter(status=ReminderStatus.SENDING, claimed_at__lt=cutoff).update(
        status=ReminderStatus.UNKNOWN,
        last_error=(
            f"Still sending after {clinic.reminder_lease_minutes} minutes: it may or may not "
            "have reached the patient. Check before sending it again."
        ),
        updated_at=now,
    )


RESTRICTED_REASON = "Not sent: the patient's processing is restricted (erasure request)."


def reminders_cancel_restricted(*, now: datetime) -> int:
    """Pending reminders of patients whose processing is restricted are cancelled, not sent."""
    return Reminder.objects.filter(
        status=ReminderStatus.PENDING, patient__processing_restricted_at__isnull=False
    ).update(status=ReminderStatus.CANCELLED, last_error=RESTRICTED_REASON, updated_at=now)


def _finish(reminder: Reminder, *, now: datetime, **changes) -> bool:
    """Conditional update: only a row still `sending` (not marked unknown meanwhile) changes."""
    changed = Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING).update(
        updated_at=now, **changes
    )
    for name, value in changes.items():
        setattr(reminder, name, value)
    return changed == 1


def _skip_reason(*, reminder: Reminder, now: datetime) -> tuple[str, str] | None:
    """(outcome, reason) when the row must not be sent, judged as its group begins."""
    session = reminder.session
    if session is not None and reminder.kind in EXPIRING_KINDS and session.starts_at <= now:
        return ReminderStatus.EXPIRED, "The appointment had started before this could be sent."
    if (
        session is not None
        and reminder.kind == ReminderKind.AFTERCARE
        and now - session.starts_at > AFTERCARE_WITHIN
    ):
        return ReminderStatus.EXPIRED, "The aftercare period had passed before this could be sent."
    if session is not None and reminder.kind in APPOINTMENT_KINDS and session.status not in BOOKED:
        return ReminderStatus.CANCELLED, "The appointment is no longer booked."
    if reminder.plan is not None and reminder.plan.status == PlanStatus.STOPPED:
        return ReminderStatus.CANCELLED, "The treatment plan was stopped."
    if reminder.patient_id is None:
        # A one-time code the person asked for a moment ago: no consent or opt-out to weigh.
        return None
    refusal = channel_refusal(
        patient=reminder.patient, channel=reminder.channel, mobile=reminder.sms_to
    )
    if refusal:
        return ReminderStatus.CANCELLED, refusal
    return None


def _quiet_until(*, reminder: Reminder, clinic: Clinic, now: datetime) -> datetime | None:
    """When the patient's quiet hours end, if the row reached the sweep inside them: judged as
    its group begins with the patient's current hours, so hours changed after the row was
    queued (or a row made before they applied) still hold. None when it may go now, including
    a reminder that would only arrive after its appointment has started (send_after_for's rule)."""
    if reminder.patient_id is None:
        return None  # a one-time code the person is waiting for at /book/
    session = reminder.session
    appointment_at = session.starts_at if session and reminder.kind in EXPIRING_KINDS else None
    goes_at = send_after_for(
        patient=reminder.patient, clinic=clinic, due_at=now, appointment_at=appointment_at
    )
    return goes_at if goes_at > now else None


@dataclass
class GroupStart:
    """What `group_begin` did with a group of claimed rows."""

    # Turned `sending` by this sweep, in claim order: send each, and only these.
    sending: list[Reminder] = field(default_factory=list)
    # Rows ended without a send, by SweepResult field: "quiet" (handed back due at the end of
    # the patient's quiet hours), "expired", "cancelled".
    settled: Counter = field(default_factory=Counter)


def group_begin(*, reminders: list[Reminder], now: datetime, clinic: Clinic) -> GroupStart:
    """Begin the send of a group of rows this sweep claimed: the ones that may go turn
    `sending` in one conditional UPDATE, its own commit, before any of them is sent.

    Each row is judged first: inside the patient's quiet hours it is handed back due at their
    end; expired, cancelled or refused it ends so, with the reason (one UPDATE per reason).
    Every change is conditional on the row being still `pending` under this sweep's claim, in
    the UPDATE itself: a row a booking change cancelled meanwhile, or whose claim lapsed and
    another sweep took, is left alone and is in neither result. That condition is what makes a
    send exactly-once: only the sweep whose claim still stands moves a row to `sending`, and
    only a row it moved is sent."""
    claims = {r.claimed_at for r in reminders}
    if not reminders or None in claims:
        # Rows never claimed are nothing to begin.
        return GroupStart()
    quiet: dict[datetime, list[int]] = {}
    skipped: dict[tuple[str, str], list[int]] = {}
    to_send: list[Reminder] = []
    for reminder in reminders:
        until = _quiet_until(reminder=reminder, clinic=clinic, now=now)
        if until is not None:
            quiet.setdefault(until, []).append(reminder.pk)
            continue
        skip = _skip_reason(reminder=reminder, now=now)
        if skip is not None:
            skipped.setdefault(skip, []).append(reminder.pk)
            continue
        to_send.append(reminder)
    start = GroupStart()
    # Each UPDATE is its own commit: the ones ending rows first (rare), then the one that
    # begins the sends, committed before any of them is made.
    ours = Reminder.objects.filter(status=ReminderStatus.PENDING, claimed_at__in=claims)
    for until, ids in quiet.items():
        start.settled["quiet"] += ours.filter(pk__in=ids).update(
            send_after=until, claimed_at=None, updated_at=now
        )
    for (status, reason), ids in skipped.items():
        start.settled[str(status)] += ours.filter(pk__in=ids).update(
            status=status, last_error=reason, updated_at=now
        )
    stamp = connection.ops.adapt_datetimefield_value
    began = _update_returning_ids(
        ids=[r.pk for r in to_send],
        assignments="status = %s, claimed_at = %s, updated_at = %s",
        params=[ReminderStatus.SENDING.value, stamp(now), stamp(now)],
        condition=f"status = %s AND claimed_at IN ({', '.join(['%s'] * len(claims))})",
        condition_params=[ReminderStatus.PENDING.value, *(stamp(c) for c in claims)],
    )
    start.sending = [r for r in to_send if r.pk in began]
    for reminder in start.sending:
        reminder.status, reminder.claimed_at = ReminderStatus.SENDING, now
    return start


def _update_returning_ids(
    *, ids: list[int], assignments: str, params: list, condition: str, condition_params: list
) -> set[int]:
    """`UPDATE … SET <assignments> WHERE id IN (ids) AND <condition>`; returns the ids it
    changed. One statement (`RETURNING id`), so one commit, where the database has it, as
    PostgreSQL and SQLite 3.35+ do; else a read, then the write, in one transaction (on SQLite
    an IMMEDIATE one, so no other writer comes in between).

    Written out rather than built by the ORM, which has no UPDATE … RETURNING: the sweep runs
    two of these per group, and on a busy machine each round trip to the database costs more
    than the rows' own work."""
    if not ids:
        return set()
    table = connection.ops.quote_name(Reminder._meta.db_table)
    where = f"id IN ({', '.join(['%s'] * len(ids))}) AND {condition}"
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:  # the same release as UPDATE's
            cursor.execute(
                f"UPDATE {table} SET {assignments} WHERE {where} RETURNING id",  # noqa: S608
                [*params, *ids, *condition_params],
            )
            return {row[0] for row in cursor.fetchall()}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {where}", [*ids, *condition_params])  # noqa: S608
        taken = [row[0] for row in cursor.fetchall()]
        if taken:
            listed = ", ".join(["%s"] * len(taken))
            cursor.execute(
                f"UPDATE {table} SET {assignments} WHERE id IN ({listed})",  # noqa: S608
                [*params, *taken],
            )
    return set(taken)


def backoff(*, attempts: int) -> timedelta:
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


class SentMarks:
    """Rows the provider accepted, marked `sent` together: one conditional UPDATE per group
    instead of one commit per reminder. Until `flush` they stay `sending`, so a worker killed
    in between leaves them to the lease (`unknown`), like the rest of its group: a reminder
    that may have gone out is never sent twice."""

    def __init__(self):
        self.provider_ids: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.provider_ids)

    def add(self, reminder: Reminder, provider_id: str) -> None:
        self.provider_ids[reminder.pk] = str(provider_id)[:100]

    def flush(self, *, now: datetime) -> list[int]:
        """Mark the rows still `sending` as sent; returns the ids that were not (the lease ran
        out meanwhile and they are `unknown` now: left for staff)."""
        if not self.provider_ids:
            return []
        ids = list(self.provider_ids)
        stamp = connection.ops.adapt_datetimefield_value
        # The same guard as _finish, for the whole group: only rows still `sending` (the lease
        # may have turned one unknown meanwhile) are marked. The provider ids are a plain CASE:
        # an ORM Case/When of one branch per row cost as much to compile as to run.
        still = _update_returning_ids(
            ids=ids,
            assignments=(
                "status = %s, sent_at = %s, provider_id = CASE id "
                + " ".join(["WHEN %s THEN %s"] * len(ids))
                + " END, attempts = attempts + 1, last_error = '', updated_at = %s"
            ),
            params=[
                ReminderStatus.SENT.value,
                stamp(now),
                *(v for pk in ids for v in (pk, self.provider_ids[pk])),
                stamp(now),
            ],
            condition="status = %s",
            condition_params=[ReminderStatus.SENDING.value],
        )
        self.provider_ids.clear()
        lapsed = sorted(set(ids) - set(still))
        for pk in lapsed:
            logger.warning("Reminder %s was sent after its lease ran out", pk)
        return lapsed


def send_reminder(
    *,
    reminder: Reminder,
    now: datetime,
    clinic: Clinic | None = None,
    marks: SentMarks | None = None,
) -> str:
    """Send one row `group_begin` turned `sending`; returns the SweepResult field it counts
    under. With `marks`, a sent row is marked with the others of its group when the caller
    flushes them."""
    clinic = clinic_or_current(clinic)
    try:
        message = render_reminder(reminder=reminder, clinic=clinic, now=now)
        provider_id = deliver_message(reminder=reminder, message=message, clinic=clinic)
    except messaging.DeliveryFailed as exc:
        return _failed(reminder, clinic=clinic, now=now, reason=exc.reason)
    except SoftTimeLimitExceeded:
        # Cut off mid-call: the provider may have the message. The row stays `sending` and its
        # lease turns it `unknown`; retrying here could text the patient twice.
        raise
    except Exception as exc:  # noqa: BLE001 — any provider error is a failed attempt
        # The exception text may quote an address or a phone number: log its type and where it
        # was raised (the frames), never its message.
        logger.error(
            "Reminder %s could not be sent (%s)\n%s",
            reminder.pk,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return _failed(
            reminder, clinic=clinic, now=now, reason=f"Sending failed ({type(exc).__name__})."
        )
    if marks is not None:
        marks.add(reminder, provider_id)
        return "sent"
    if not _finish(
        reminder,
        now=now,
        status=ReminderStatus.SENT,
        sent_at=now,
        provider_id=str(provider_id)[:100],
        attempts=reminder.attempts + 1,
        last_error="",
    ):
        # Marked unknown while we were sending (the lease ran out): leave it for staff.
        logger.warning("Reminder %s was sent after its lease ran out", reminder.pk)
        return "unknown"
    return "sent"


def _failed(reminder: Reminder, *, clinic: Clinic, now: datetime, reason: str) -> str:
    attempts = reminder.attempts + 1
    if attempts >= clinic.reminder_max_attempts:
        _finish(
            reminder,
            now=now,
            status=ReminderStatus.FAILED,
            attempts=attempts,
            last_error=f"{reason} Gave up after {attempts} attempts.",
        )
        return "failed"
    retry_at = now + backoff(attempts=attempts)
    session = reminder.session
    appointment_at = session.starts_at if session and reminder.kind in EXPIRING_KINDS else None
    _finish(
        reminder,
        now=now,
        status=ReminderStatus.PENDING,
        attempts=attempts,
        last_error=reason,
        claimed_at=None,
        send_after=retry_at
        if reminder.patient_id is None
        else send_after_for(
            patient=reminder.patient, clinic=clinic, due_at=retry_at, appointment_at=appointment_at
        ),
    )
    return "deferred"


def _release(ids: list[int], *, now: datetime) -> None:
    """Give up the rows this sweep claimed, or began in its current group, and did not try (a
    soft time limit, an error, the budget), so the next sweep need not wait for claim.CLAIM_SECONDS
    nor leave a begun row to the lease. Safe for a `sending` row only because this process
    never called the provider for it. A SIGKILL skips this: the claim lapses, and the begun
    group becomes `unknown`."""
    if ids:
        Reminder.objects.filter(
            pk__in=ids,
            status__in=(ReminderStatus.PENDING, ReminderStatus.SENDING),
            claimed_at=now,
        ).update(status=ReminderStatus.PENDING, claimed_at=None, updated_at=now)


def _flush(marks: SentMarks, *, now: datetime, result: SweepResult) -> None:
    lapsed = marks.flush(now=now)
    result.sent -= len(lapsed)
    result.unknown += len(lapsed)


def group_size(*, sends: int, send_seconds: float, most: int) -> int:
    """How many rows the next group begins: about GROUP_SECONDS of sends at the pace of the
    `sends` this sweep made in `send_seconds`, between 1 and `most`."""
    if sends == 0:
        return min(FIRST_GROUP, most)
    if send_seconds <= 0:
        return most
    return max(1, min(most, int(GROUP_SECONDS * sends / send_seconds)))


def dispatch_due_reminders(
    *,
    now: datetime,
    batch_size: int | None = None,
    budget_seconds: float = SWEEP_BUDGET_SECONDS,
    mark_every: int | None = None,
) -> SweepResult:
    """One sweep: stale leases → unknown, periodic prompts, then claim in batches and send
    each batch in groups (begin, send, mark)."""
    result = SweepResult()
    # Read at call time, so a test can make batches and groups small.
    batch_size = batch_size or BATCH_SIZE
    mark_every = mark_every or MARK_EVERY
    clinic = Clinic.current()
    if clinic is None:
        return result
    result.unknown += mark_stale_leases_unknown(now=now, clinic=clinic)
    reminders_cancel_restricted(now=now)
    reminders_generate_periodic(now=now, clinic=clinic)
    started = monotonic_clock.monotonic()
    sends, send_seconds = 0, 0.0  # the provider's pace so far, which sizes the groups
    while monotonic_clock.monotonic() - started < budget_seconds:
        batch = claim_due_reminders(now=now, limit=batch_size)
        if not batch:
            break
        reminders_prepare_links(reminders=batch, now=now)
        untried = {r.pk for r in batch}
        marks = SentMarks()
        try:
            first = 0
            while first < len(batch):
                if monotonic_clock.monotonic() - started >= budget_seconds:
                    break  # out of time: the rest of the batch is handed back below
                size = group_size(sends=sends, send_seconds=send_seconds, most=mark_every)
                group = batch[first : first + size]
                first += size
                start = group_begin(reminders=group, now=now, clinic=clinic)
                for outcome, count in start.settled.items():
                    result.add(outcome, count)
                # Rows settled or lost at the begin are no longer this sweep's to hand back.
                untried.difference_update(r.pk for r in group)
                untried.update(r.pk for r in start.sending)
                for reminder in start.sending:
                    if monotonic_clock.monotonic() - started >= budget_seconds:
                        break
                    untried.discard(reminder.pk)
                    tick = monotonic_clock.monotonic()
                    result.add(
                        send_reminder(reminder=reminder, now=now, clinic=clinic, marks=marks)
                    )
                    sends, send_seconds = (
                        sends + 1,
                        send_seconds + monotonic_clock.monotonic() - tick,
                    )
                _flush(marks, now=now, result=result)
        finally:
            # A soft time limit or a crash mid-group: the rows sent so far are marked, the row
            # being sent stays `sending` (its fate is unknown), the ones not yet tried, begun or
            # only claimed, are handed back at once.
            _flush(marks, now=now, result=result)
            _release(sorted(untried), now=now)
        if len(batch) < batch_size:
            break
    return result


def oldest_unsent_due_at(*, now: datetime) -> datetime | None:
    """When the longest-waiting reminder that is due now became sendable (for /healthz): a sweep
    that keeps up keeps this within a minute or two."""
    return (
        Reminder.objects.filter(status=ReminderStatus.PENDING, send_after__lte=now)
        .order_by("send_after")
        .values_list("send_after", flat=True)
        .first()
    )
