"""The sweep's claim: which due rows a sweep takes, and what it reads of them.

A claimed row is stamped `claimed_at` and committed, so no other sweep takes it until the claim
lapses; it stays `pending` until its group begins (sweep.py)."""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, CharField, Prefetch, Q, Value, When
from django.db.models.functions import Cast, Coalesce

from ..models import PatientLink, Reminder, ReminderStatus

# A claim lapses after this long: longer than a sweep can run (Celery's hard time limit, 90 s),
# so two live sweeps never hold one row, short enough that a killed sweep's rows go out soon.
CLAIM_SECONDS = 120


def _of(relation: str, *names: str) -> tuple[str, ...]:
    return tuple(f"{relation}__{name}" for name in names)


# What the sweep reads of a claimed row and the rows behind it: what judges it (status, the
# appointment's time and state, the plan's state, the patient's consent, opt-outs and quiet
# hours), addresses it and fills its message. Nothing else of the patient (birth date, address,
# GP, emergency contact) is read to send a reminder, and each column left out is one fewer
# value to convert per row: the patient alone has three phone numbers, each parsed on load. Not
# even the mobile is loaded as a number: see SMS_TO.
CLAIM_FIELDS = (
    "kind", "channel", "patient", "online_booking", "waitlist_offer", "session", "plan",
    "due_at", "send_after", "status", "attempts", "claimed_at",
    *_of(
        "patient", "given_name", "email", "preferred_channel", "time_zone",
        "email_consent_at", "sms_consent_at", "email_opt_out_at", "sms_opt_out_at",
        "quiet_hours_start", "quiet_hours_end", "processing_restricted_at",
    ),
    *_of("session", "patient", "clinician", "room", "plan", "kind", "status", "starts_at",
         "ends_at"),
    *_of("session__record", "session", "aftercare_given", "signed_at"),
    *_of("plan", "status"),
    *_of("online_booking", "public_id", "code_nonce", "given_name", "email"),
    *_of("waitlist_offer", "public_id", "status", "starts_at", "expires_at"),
)  # fmt: skip


def _mobile_text(relation: str):
    return Coalesce(Cast(f"{relation}__mobile", CharField()), Value(""))


# `sms_to` on every claimed row: the recipient's mobile (the patient's, or for a one-time code
# the person's who asked at /book/) as the text it is stored as, E.164, which is what SMS
# providers take; "" when there is none. Read as a phone number field, each row would be parsed
# by phonenumbers on load, emails included: that parse cost a third as much as all the rest of
# a row's load.
SMS_TO = Case(
    When(patient__isnull=False, then=_mobile_text("patient")),
    default=_mobile_text("online_booking"),
)


def claim_due_reminders(*, now: datetime, limit: int) -> list[Reminder]:
    """Claim up to `limit` due rows: stamp `claimed_at` and commit, so no other sweep takes them
    until the claim lapses. They stay `pending` until their group begins.

    PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED lets two sweeps claim disjoint rows at once.
    SQLite: the settings make every transaction IMMEDIATE, so the whole claim holds the write
    lock and two sweeps claim one after the other. Either way the rows read here are this
    sweep's alone until the commit, so the ones returned are exactly the ones it marked."""
    live_links = PatientLink.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
    claim_lapsed = Q(claimed_at__isnull=True) | Q(
        claimed_at__lt=now - timedelta(seconds=CLAIM_SECONDS)
    )
    with transaction.atomic():
        due = (
            # A patient whose processing is restricted (an erasure request) gets no message,
            # even one queued before the request: reminders_cancel_restricted ends those.
            Reminder.objects.filter(
                claim_lapsed,
                status=ReminderStatus.PENDING,
                send_after__lte=now,
                patient__processing_restricted_at__isnull=True,
            )
            .select_related(
                "patient", "session", "session__record", "plan", "online_booking", "waitlist_offer"
            )
            .only(*CLAIM_FIELDS)
            .annotate(sms_to=SMS_TO)
            .prefetch_related(
                Prefetch("session__patient_links", queryset=live_links, to_attr="live_links")
            )
            .order_by("send_after", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            # of=("self",): lock the reminder rows only; the joined rows (the session, the
            # nullable plan) are read, not claimed.
            due = due.select_for_update(skip_locked=True, of=("self",))
        claimed = list(due[:limit])
        if not claimed:
            return []
        Reminder.objects.filter(pk__in=[r.pk for r in claimed]).update(
            claimed_at=now, updated_at=now
        )
    for reminder in claimed:
        reminder.claimed_at = now
    return claimed
