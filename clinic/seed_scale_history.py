"""The signed history and the outbox of the generated clinic (see clinic/seed_scale.py): lots,
signed records with their injections, re-checks, outcomes and adverse events, and reminders in
every state. Bulk inserts in the order signing keeps, so the database's guards hold. A seeding
module: it composes the formulations, patients and sessions apps."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import F, OuterRef, Subquery

from formulations.models import Lot, LotStatus
from patients.models import OutcomeMeasurement, Screening, ScreeningRecheck
from sessions.booking.maintenance import add_months, maintenance_prompt_on
from sessions.models import (
    AdverseEvent,
    ClearanceSnapshot,
    Device,
    Injection,
    RecordLot,
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionRecord,
    SessionStatus,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)

SCALE_SUPPLIER = "Scale Compounding Pharmacy"
LOT_EVERY_DAYS = 120
LOT_SHELF_DAYS = 365
BATCH = 2000
ZONES = [("vertex", Decimal("2.0"), 40), ("mid_scalp", Decimal("1.5"), 30)]


class ScaleHistory:
    """Part of the generated clinic's builder: expects its clinic, staff, rng, visits and
    `_bulk` (clinic/seed_scale.py)."""

    # Signed records ------------------------------------------------------------------------

    def _lots(self, days_by_version: dict[int, list[date]]) -> dict[tuple[int, date], Lot]:
        """A lot of each version every four months, received before the first session it
        serves and expiring a year later; the lot of a day is the newest one received by it."""
        lot_of: dict[tuple[int, date], Lot] = {}
        for version in (self.nutrient, self.dht):
            days = sorted(set(days_by_version.get(version.pk, [])))
            if not days:
                continue
            received = days[0] - timedelta(days=10)
            lots, n = [], 0
            while received <= days[-1]:
                n += 1
                lots.append(
                    Lot(
                        version=version,
                        lot_number=f"SC{version.pk}-{received:%y%m}-{n:03d}",
                        supplier=SCALE_SUPPLIER,
                        received_on=received,
                        expires_on=received + timedelta(days=LOT_SHELF_DAYS),
                        quantity_received=0,
                        quantity_remaining=0,
                    )
                )
                received += timedelta(days=LOT_EVERY_DAYS)
            lots = self._bulk(Lot, lots)
            current = 0
            for day in days:
                while current + 1 < len(lots) and lots[current + 1].received_on <= day:
                    current += 1
                lot_of[(version.pk, day)] = lots[current]
        return lot_of

    def _records(self, sessions, plans, plan_rows, *, now) -> None:
        signed = [
            s
            for s in sessions
            if s.pk in self.visit_of and self.visit_of[s.pk].status == "completed"
        ]
        version_of = {p.pk: p.formulation_version for p in plan_rows}
        patient_version = {p.patient_id: p.formulation_version for p in plan_rows}

        def version_for(session):
            return version_of.get(session.plan_id) or patient_version[session.patient_id]

        days_by_version: dict[int, list[date]] = {}
        for session in signed:
            days_by_version.setdefault(version_for(session).pk, []).append(
                self.visit_of[session.pk].day
            )
        lot_of = self._lots(days_by_version)
        rng = self.rng
        # 1. The records, unsigned, as record_start opens them.
        records = self._bulk(
            SessionRecord,
            [
                SessionRecord(
                    session=s,
                    clinician=self.clinicians[self.visit_of[s.pk].clinician],
                    formulation_version=version_for(s),
                    pain_score=rng.choice([1, 2, 2, 3, 3, 4, 5]),
                    aftercare_given=self.clinic.aftercare_template,
                )
                for s in signed
            ],
        )
        # 2. Their injections and lots (stock comes off as signing takes it).
        screening_on = self._screenings_for(signed)
        injections, uses, taken = [], [], {}
        rechecks = []
        for record, session in zip(records, signed, strict=True):
            version = record.formulation_version
            lot = lot_of[(version.pk, self.visit_of[session.pk].day)]
            zones = ZONES if version.pk == self.nutrient.pk else ZONES[:1]
            volume = Decimal("0")
            for zone, zone_volume, points in zones:
                zone_volume = zone_volume if version.pk == self.nutrient.pk else Decimal("1.0")
                volume += zone_volume
                injections.append(
                    Injection(
                        record=record,
                        zone=zone,
                        volume_ml=zone_volume,
                        depth_mm=Decimal("2.0"),
                        technique=Technique.NAPPAGE,
                        device=Device.MESOGUN,
                        needle_gauge=32,
                        injection_points=points,
                    )
                )
            uses.append(RecordLot(record=record, lot=lot, volume_ml=volume, units_used=1))
            taken[lot.pk] = taken.get(lot.pk, 0) + 1
            rechecks.append(
                ScreeningRecheck(
                    screening=screening_on[session.pk],
                    checked_on=self.visit_of[session.pk].day,
                    answers={},
                    clinician=record.clinician.user,
                )
            )
        self._bulk(Injection, injections)
        self._bulk(RecordLot, uses)
        self._bulk(ScreeningRecheck, rechecks)
        lots = list(Lot.objects.filter(pk__in=taken))
        for lot in lots:
            # Each lot was ordered to cover its four months with a little to spare.
            lot.quantity_received = taken[lot.pk] + 10
            lot.quantity_remaining = 10
        Lot.objects.bulk_update(lots, ["quantity_received", "quantity_remaining"])
        # 3. The clearance each record is signed against, frozen before the signature as
        # record_sign does (the database refuses signed_at without a cleared snapshot). The
        # generated clinic's patients were screened, re-checked and consented above.
        self._bulk(
            ClearanceSnapshot,
            [
                ClearanceSnapshot(
                    record=record,
                    cleared=True,
                    taken_at=s.ends_at,
                    data={
                        "generated_by": "seed_scale",
                        "lots": [
                            lot_of[(record.formulation_version_id, self.visit_of[s.pk].day)].pk
                        ],
                    },
                )
                for record, s in zip(records, signed, strict=True)
            ],
        )
        # The sessions complete in the same step as their signature (a session with a signed
        # record never changes after it, so its status is set first).
        TreatmentSession.objects.filter(pk__in=[s.pk for s in signed]).update(
            status=SessionStatus.COMPLETED
        )
        # 4. The signature: one UPDATE of records still unsigned, as record_sign's last step.
        ids = [r.pk for r in records]
        ends = TreatmentSession.objects.filter(pk=OuterRef("session_id")).values("ends_at")
        for start in range(0, len(ids), BATCH):
            SessionRecord.objects.filter(
                pk__in=ids[start : start + BATCH], signed_at__isnull=True
            ).update(signed_at=Subquery(ends), signed_by=F("clinician"))
        # A recall, after the signatures: the oldest lot of the nutrient cocktail.
        oldest = Lot.objects.filter(supplier=SCALE_SUPPLIER).order_by("received_on").first()
        if oldest is not None:
            Lot.objects.filter(pk=oldest.pk).update(
                status=LotStatus.RECALLED,
                status_reason="Supplier recall: sterility not assured.",
                recalled_on=oldest.expires_on - timedelta(days=30),
                recalled_by=self.admin.user,
            )
        self._outcomes_and_events(signed, records)

    def _screenings_for(self, signed) -> dict[int, Screening]:
        """The screening each signed visit was re-checked against: the patient's latest one,
        and a new screening on the day of a visit once the last one has lapsed."""
        valid = timedelta(days=self.clinic.screening_valid_days)
        by_patient = sorted(signed, key=lambda s: (s.patient_id, s.starts_at))
        latest = {pid: s.screened_on for pid, s in self.screenings.items()}
        new_on: dict[int, date] = {}
        for session in by_patient:
            day = self.visit_of[session.pk].day
            if day - latest[session.patient_id] >= valid:
                latest[session.patient_id] = day
                new_on[session.pk] = day
        join = next(iter(self.screenings.values()))
        fresh = self._bulk(
            Screening,
            [
                Screening(
                    patient_id=by_session.patient_id,
                    screened_on=day,
                    clinician_id=join.clinician_id,
                    answers=join.answers,
                    findings=[],
                )
                for by_session, day in ((s, new_on[s.pk]) for s in by_patient if s.pk in new_on)
            ],
        )
        fresh_of = {(f.patient_id, f.screened_on): f for f in fresh}
        current = dict(self.screenings)
        screening_on = {}
        for session in by_patient:
            if session.pk in new_on:
                current[session.patient_id] = fresh_of[(session.patient_id, new_on[session.pk])]
            screening_on[session.pk] = current[session.patient_id]
        return screening_on

    def _outcomes_and_events(self, signed, records) -> None:
        rng = self.rng
        outcomes, events = [], []
        for record, session in zip(records, signed, strict=True):
            visit = self.visit_of[session.pk]
            if visit.sequence == 1 or (visit.sequence is not None and visit.sequence % 6 == 0):
                outcomes.append(
                    OutcomeMeasurement(
                        patient_id=session.patient_id,
                        measured_on=visit.day,
                        zone="vertex",
                        session=session,
                        density_per_cm2=Decimal(rng.randint(110, 170)),
                        global_assessment=None if visit.sequence == 1 else rng.randint(0, 2),
                        is_baseline=visit.sequence == 1,
                        recorded_by=record.clinician.user,
                    )
                )
            if rng.random() < 0.03:
                serious = rng.random() < 0.03
                reported = session.ends_at + timedelta(hours=rng.randint(1, 72))
                events.append(
                    AdverseEvent(
                        session=session,
                        patient_id=session.patient_id,
                        event_type=rng.choice(["pain", "erythema", "oedema", "bruising"]),
                        onset_on=visit.day,
                        severity="severe" if serious else "mild",
                        ctcae_grade=3 if serious else 1,
                        serious=serious,
                        causality="probable",
                        outcome="resolved",
                        lot=None,
                        reported_at=reported,
                        reported_by=record.clinician.user,
                        admins_notified_at=reported if serious else None,
                        acknowledged_at=reported + timedelta(hours=2) if serious else None,
                        acknowledged_by=self.admin.user if serious else None,
                    )
                )
        # A patient has one baseline per zone: only their first course's first visit.
        seen, baselines = set(), []
        for outcome in outcomes:
            if outcome.is_baseline:
                if outcome.patient_id in seen:
                    continue
                seen.add(outcome.patient_id)
            baselines.append(outcome)
        self._bulk(OutcomeMeasurement, baselines)
        self._bulk(AdverseEvent, events)

    # The outbox ----------------------------------------------------------------------------

    def _reminders(self, sessions, plans, plan_rows, patients, *, now) -> None:
        """Every booking's reminders as the sweep left them: sent (a few failed, expired,
        cancelled or of unknown fate) before now, pending after."""
        rng = self.rng
        channel_of = {p.pk: p.preferred_channel for p in patients}
        rows = []

        def add(kind, session, due_at, *, plan=None, past_status=ReminderStatus.SENT):
            patient_id = session.patient_id if session is not None else plan.patient_id
            row = Reminder(
                kind=kind,
                channel=channel_of[patient_id],
                patient_id=patient_id,
                session=session,
                plan=plan,
                due_at=due_at,
                send_after=due_at,
            )
            if due_at <= now:
                roll = rng.random()
                status = past_status
                if status == ReminderStatus.SENT:
                    if roll < 0.02:
                        status = ReminderStatus.FAILED
                    elif roll < 0.03:
                        status = ReminderStatus.UNKNOWN
                    elif roll < 0.04:
                        status = ReminderStatus.EXPIRED
                row.status = status
                row.attempts = 5 if status == ReminderStatus.FAILED else 1
                row.claimed_at = due_at
                if status == ReminderStatus.SENT:
                    row.sent_at = due_at
                    row.provider_id = f"scale-{len(rows)}"
                elif status == ReminderStatus.FAILED:
                    row.last_error = "The provider refused the message. Gave up after 5 attempts."
                elif status == ReminderStatus.UNKNOWN:
                    row.last_error = "Still sending after 10 minutes."
            rows.append(row)

        confirmed_plans = set()
        for session in sessions:
            if session.status == SessionStatus.CANCELLED_BY_PATIENT:
                add(
                    ReminderKind.APPOINTMENT,
                    session,
                    session.starts_at - timedelta(hours=24),
                    past_status=ReminderStatus.CANCELLED,
                )
                add(ReminderKind.CANCELLATION, session, session.cancelled_at)
                continue
            if session.plan_id is not None and session.plan_id not in confirmed_plans:
                confirmed_plans.add(session.plan_id)
                add(ReminderKind.BOOKING_CONFIRMATION, session, session.starts_at - timedelta(7))
            add(ReminderKind.APPOINTMENT, session, session.starts_at - timedelta(hours=24))
            if session.starts_at > now:
                add(ReminderKind.APPOINTMENT, session, session.starts_at - timedelta(hours=48))
            if self.visit_of.get(session.pk) and self.visit_of[session.pk].status == "completed":
                add(ReminderKind.AFTERCARE, session, session.ends_at)
        # The latest maintenance prompt each due course has had; the next one waits its turn.
        prompted = []
        for plan in plan_rows:
            if plan.maintenance_due_on is not None and plan.maintenance_due_on <= self.today:
                day = maintenance_prompt_on(clinic=self.clinic, plan=plan, today=self.today)
                due_at = datetime.combine(day, time(10), tzinfo=self.zone)
                add(ReminderKind.MAINTENANCE, None, due_at, plan=plan)
                plan.maintenance_prompt_on = add_months(day, self.months)
                prompted.append(plan)
        TreatmentPlan.objects.bulk_update(prompted, ["maintenance_prompt_on"], batch_size=BATCH)
        self._bulk(Reminder, rows)
