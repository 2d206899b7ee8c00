"""The clinician's session record: started once the patient is cleared for the day, filled in,
signed, and from then on only corrected by signed addenda (DESIGN.md, decision 3).

Every change to a record passes through one function here. A rule that refuses raises
RecordRefused with the rule's name and a sentence that says why; the model and queryset guards
(and on PostgreSQL a trigger) stop whatever tries to go round these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from clinic.models import Clinic, StaffProfile
from clinic.refusals import RecordRefused
from clinic.roles import Role
from formulations.lots import lot_usability
from formulations.models import FormulationVersion, Lot, VersionStatus
from formulations.units import IngredientDose, decimal_text, ingredient_doses
from sessions.booking.maintenance import maintenance_reschedule
from sessions.clearance import Step, Unmet, treatment_clearance
from sessions.models import (
    ClearanceSnapshot,
    Device,
    Injection,
    PlanStatus,
    RecordAddendum,
    RecordLot,
    SessionKind,
    SessionRecord,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)
from sessions.outreach.rows import reminders_on_session_completed
from sessions.records.usage import usage_record_signed

SIGN_PERMISSION = "treatment_sessions.sign_sessionrecord"
ADDENDUM_PERMISSION = "treatment_sessions.add_recordaddendum"
# DOMAIN.md "Contraindication screening": dutasteride stays in the blood for months, so no blood
# donation for 6 months after the last dose (put on the aftercare sheet).
DUTASTERIDE_AFTERCARE = "Do not donate blood for 6 months after your last dutasteride dose."
# DOMAIN.md: depth within 1–4 mm, never deeper than 4 mm.
MAX_DEPTH_MM = Decimal("4")
NEEDLE_FREE = (Device.PRESSURE, Device.ELECTROPORATION)


def depth_refusal(depth_mm) -> str:
    return (
        f"Depth {decimal_text(Decimal(depth_mm))} mm is deeper than the "
        f"{decimal_text(MAX_DEPTH_MM)} mm safety limit for scalp mesotherapy (injections go "
        "1–4 mm deep)."
    )


# Helpers --------------------------------------------------------------------------------------


def session_local_date(*, session: TreatmentSession) -> date:
    """The session's day on the clinic's calendar (lots and clearance are judged on it)."""
    clinic = Clinic.current()
    zone = clinic.zone if clinic else None
    return session.starts_at.astimezone(zone).date()


def _refuse_signed(record: SessionRecord) -> None:
    if record.signed_at is not None:
        raise RecordRefused(
            "signed",
            "This record is signed, so it can never be changed. Add a signed addendum instead.",
        )


def _signing_clinician(by, permission: str, action: str) -> StaffProfile:
    """The acting user's clinician profile, or a refusal: only clinicians write records."""
    clinician = getattr(by, "staff_profile", None) if by is not None else None
    if clinician is None or clinician.role != Role.CLINICIAN or not by.has_perm(permission):
        raise RecordRefused("clinician", f"Only a clinician may {action}.")
    return clinician


def _validation_refusal(exc: ValidationError) -> RecordRefused:
    if hasattr(exc, "message_dict"):
        parts = []
        for field, errors in exc.message_dict.items():
            text = " ".join(errors)
            parts.append(text if field == "__all__" else f"{field.replace('_', ' ')}: {text}")
        return RecordRefused("invalid", " ".join(parts))
    return RecordRefused("invalid", " ".join(exc.messages))


def _locked_record(record: SessionRecord) -> SessionRecord:
    return (
        SessionRecord.objects.select_for_update(of=("self",))
        .select_related("session", "formulation_version__formulation")
        .get(pk=record.pk)
    )


# The pre-session gate -------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordGate:
    """Whether a record may be started; if not, every prerequisite still unmet (each with its
    rule, why and where to fix it), so the page lists them all at once."""

    allowed: bool
    unmet: tuple[Unmet, ...] = ()

    @property
    def rule(self) -> str:
        return self.unmet[0].rule if self.unmet else ""

    @property
    def message(self) -> str:
        return " ".join(u.message for u in self.unmet)

    @property
    def fix_url(self) -> str:
        return self.unmet[0].fix_url if self.unmet else ""

    @property
    def fix_label(self) -> str:
        return self.unmet[0].fix_label if self.unmet else ""


def record_gate(
    *,
    session: TreatmentSession,
    on_date: date,
    formulation_version: FormulationVersion | None = None,
) -> RecordGate:
    """A record starts only for a checked-in treatment session whose patient is cleared today
    (sessions/clearance.py, step RECORD_START: screening, re-check, findings, consent, a usable
    lot, spacing)."""
    if session.kind != SessionKind.TREATMENT:
        return RecordGate(
            False,
            (
                Unmet(
                    "kind",
                    "This is an assessment appointment: nothing is injected, so it has no "
                    "session record.",
                ),
            ),
        )
    unmet = []
    if session.status != SessionStatus.CHECKED_IN:
        unmet.append(
            Unmet(
                "checked_in",
                f"The session is {session.get_status_display().lower()}: a record can only be "
                "started once the patient is checked in.",
                reverse("treatment_sessions:session_detail", args=[session.pk]),
                "Open the session to check the patient in",
            )
        )
    version = formulation_version or (session.plan.formulation_version if session.plan else None)
    clearance = treatment_clearance(
        patient=session.patient,
        formulation_version=version,
        on_date=on_date,
        step=Step.RECORD_START,
        session=session,
    )
    unmet.extend(clearance.unmet)
    return RecordGate(not unmet, tuple(unmet))


def record_sign_blockers(*, record: SessionRecord) -> tuple[Unmet, ...]:
    """What would stop the signature if it were given now (the same clearance record_sign runs
    under lock), so the page lists it while the record is being written."""
    session = record.session
    return treatment_clearance(
        patient=session.patient,
        formulation_version=record.formulation_version,
        on_date=session_local_date(session=session),
        step=Step.SIGNING,
        session=session,
        lots=[use.lot for use in record.lots_used.select_related("lot")],
    ).unmet


# Starting and filling in a record -------------------------------------------------------------


def record_start(
    *,
    session: TreatmentSession,
    clinician: StaffProfile,
    now: datetime,
    formulation_version: FormulationVersion | None = None,
) -> SessionRecord:
    """Open the record of a checked-in session (or return the one already open)."""
    _signing_clinician(
        clinician.user if clinician else None,
        "treatment_sessions.add_sessionrecord",
        "start a record",
    )
    with transaction.atomic():
        session = (
            TreatmentSession.objects.select_for_update(of=("self",))
            .select_related("plan__formulation_version", "patient")
            .get(pk=session.pk)
        )
        existing = SessionRecord.objects.filter(session=session).first()
        if existing is not None:
            return existing
        version = formulation_version or (
            session.plan.formulation_version if session.plan else None
        )
        if version is None:
            raise RecordRefused(
                "formulation", "Choose the formulation version that will be injected."
            )
        if version.status != VersionStatus.PUBLISHED:
            raise RecordRefused(
                "formulation",
                f"{version} is {version.get_status_display().lower()}: only a published "
                "version may be injected.",
            )
        clinic = Clinic.current()
        today = now.astimezone(clinic.zone if clinic else None).date()
        gate = record_gate(session=session, on_date=today, formulation_version=version)
        if not gate.allowed:
            raise RecordRefused(gate.rule, gate.message)
        record = SessionRecord(session=session, clinician=clinician, formulation_version=version)
        record.full_clean()
        record.save()
    return record


RECORD_FIELDS = (
    "pain_score",
    "prp_given",
    "microneedling_given",
    "lllt_given",
    "topical_minoxidil_given",
    "notes",
)


def record_update(*, record: SessionRecord, **fields) -> SessionRecord:
    """Pain score, combined therapy given that day and notes of an unsigned record."""
    unknown = set(fields) - set(RECORD_FIELDS)
    if unknown:
        raise TypeError(f"record_update() does not set {sorted(unknown)}")
    with transaction.atomic():
        record = _locked_record(record)
        _refuse_signed(record)
        for name, value in fields.items():
            setattr(record, name, value.strip() if isinstance(value, str) else value)
        try:
            record.full_clean()
        except ValidationError as exc:
            raise _validation_refusal(exc) from exc
        record.save(update_fields=list(fields))
    return record


INJECTION_FIELDS = (
    "zone",
    "volume_ml",
    "depth_mm",
    "technique",
    "device",
    "needle_gauge",
    "injection_points",
)


def _check_injection(injection: Injection) -> None:
    if injection.depth_mm is not None and Decimal(injection.depth_mm) > MAX_DEPTH_MM:
        raise RecordRefused("depth", depth_refusal(injection.depth_mm))
    if injection.device in NEEDLE_FREE and injection.needle_gauge:
        raise RecordRefused(
            "needle_gauge", "A needle-free device has no needle gauge: leave the gauge empty."
        )
    try:
        injection.full_clean()
    except ValidationError as exc:
        raise _validation_refusal(exc) from exc


def injection_add(*, record: SessionRecord, **fields) -> Injection:
    """What went into one scalp zone; each zone once per record."""
    with transaction.atomic():
        record = _locked_record(record)
        _refuse_signed(record)
        if record.injections.filter(zone=fields.get("zone")).exists():
            raise RecordRefused(
                "zone",
                "This zone is already recorded: remove it first or change its entry.",
            )
        injection = Injection(record=record, **fields)
        _check_injection(injection)
        injection.save()
    return injection


def injection_change(*, injection: Injection, **fields) -> Injection:
    unknown = set(fields) - set(INJECTION_FIELDS)
    if unknown:
        raise TypeError(f"injection_change() does not set {sorted(unknown)}")
    with transaction.atomic():
        record = _locked_record(injection.record)
        _refuse_signed(record)
        injection = Injection.objects.get(pk=injection.pk, record=record)
        for name, value in fields.items():
            setattr(injection, name, value)
        _check_injection(injection)
        try:
            injection.save(update_fields=list(fields))
        except IntegrityError as exc:
            raise RecordRefused("zone", "This zone is already recorded on the record.") from exc
    return injection


def injection_remove(*, injection: Injection) -> None:
    """Take an injection off an unsigned record (a slip while filling it in)."""
    with transaction.atomic():
        record = _locked_record(injection.record)
        _refuse_signed(record)
        Injection.objects.filter(pk=injection.pk, record=record).delete()


def record_lot_add(
    *, record: SessionRecord, lot: Lot, volume_ml: Decimal, units_used: int = 1
) -> RecordLot:
    """A lot used in the record: only a usable lot of the record's version on the session's
    day (DOMAIN.md: an expired or recalled lot can never be recorded as injected)."""
    with transaction.atomic():
        record = _locked_record(record)
        _refuse_signed(record)
        lot = Lot.objects.select_related("version__formulation").get(pk=lot.pk)
        usable, why = lot_usability(
            lot=lot,
            on_date=session_local_date(session=record.session),
            version=record.formulation_version,
        )
        if not usable:
            raise RecordRefused("lot", why)
        if record.lots_used.filter(lot=lot).exists():
            raise RecordRefused(
                "lot", f"Lot {lot.lot_number} is already on this record: remove it to change it."
            )
        if units_used and units_used > lot.quantity_remaining:
            raise RecordRefused(
                "stock",
                f"Lot {lot.lot_number} has only {lot.quantity_remaining} left, not {units_used}.",
            )
        use = RecordLot(record=record, lot=lot, volume_ml=volume_ml, units_used=units_used)
        try:
            use.full_clean()
        except ValidationError as exc:
            raise _validation_refusal(exc) from exc
        use.save()
    return use


def record_lot_remove(*, record_lot: RecordLot) -> None:
    with transaction.atomic():
        record = _locked_record(record_lot.record)
        _refuse_signed(record)
        RecordLot.objects.filter(pk=record_lot.pk, record=record).delete()


# Dose -----------------------------------------------------------------------------------------


def record_volumes(*, injections, uses) -> tuple[Decimal, Decimal]:
    """(mL injected, mL drawn from the lots) of a record's rows: signing needs them equal."""
    injected = sum((i.volume_ml for i in injections), Decimal("0"))
    return injected, sum((u.volume_ml for u in uses), Decimal("0"))


def record_total_volume(*, record: SessionRecord) -> Decimal:
    return record_volumes(injections=record.injections.all(), uses=())[0]


def record_doses(*, record: SessionRecord) -> list[IngredientDose]:
    """Per ingredient, volume injected × strength (DOMAIN.md "Dose per session")."""
    return ingredient_doses(
        version=record.formulation_version, volume_ml=record_total_volume(record=record)
    )


# Signing --------------------------------------------------------------------------------------


def _contains_dutasteride(version: FormulationVersion) -> bool:
    return any(
        "dutasteride" in name
        for line in version.lines.select_related("ingredient")
        for name in line.ingredient.all_names()
    )


def record_aftercare(*, record: SessionRecord, clinic: Clinic | None) -> str:
    """The clinic's aftercare advice, plus the blood-donation line after any dutasteride."""
    lines = [clinic.aftercare_template.strip()] if clinic and clinic.aftercare_template else []
    if _contains_dutasteride(record.formulation_version):
        lines.append(DUTASTERIDE_AFTERCARE)
    return "\n".join(lines)


def _completeness_problems(record: SessionRecord, injections, uses) -> list[str]:
    problems = []
    if not injections:
        problems.append("Record at least one injection (zone, volume and depth).")
    if not uses:
        problems.append("Record at least one lot used.")
    injected, from_lots = record_volumes(injections=injections, uses=uses)
    if injections and uses and injected != from_lots:
        problems.append(
            f"The lots add up to {decimal_text(from_lots)} mL but the injections to "
            f"{decimal_text(injected)} mL: "
            "the two totals must match."
        )
    return problems


REGISTRATION_REFUSAL = (
    "Add your professional registration number to your staff profile before signing (ask a "
    "clinic admin)."
)


def _refuse_unless_registered(signer: StaffProfile) -> None:
    # A signature on a clinical record must identify the professional accountable for it, on
    # their register (GMC, NMC…): a display name alone does not.
    if not signer.registration_number.strip():
        raise RecordRefused("registration_number", REGISTRATION_REFUSAL)


def signer_registration_number(*, signer: StaffProfile, at: datetime) -> str:
    """The signer's registration number as it stood when they signed (the profile's history
    keeps it), so a later change of register never rewrites a signed record's signature."""
    then = (
        signer.history.filter(history_date__lte=at)
        .order_by("-history_date", "-history_id")
        .values_list("registration_number", flat=True)
        .first()
    )
    return then if then is not None else signer.registration_number


def record_sign(*, record: SessionRecord, by, now: datetime) -> SessionRecord:
    """Sign the record: it is checked complete, the lots' stock goes down, the session is
    completed and, after the last session of a course, the plan too. From then on the record
    never changes. All or nothing."""
    signer = _signing_clinician(by, SIGN_PERMISSION, "sign a session record")
    _refuse_unless_registered(signer)
    clinic = Clinic.current()
    with transaction.atomic():
        record = _locked_record(record)
        _refuse_signed(record)
        # The plan before its sessions, as bookings lock them, so the two never deadlock.
        plan_id = TreatmentSession.objects.values_list("plan_id", flat=True).get(
            pk=record.session_id
        )
        if plan_id is not None:
            TreatmentPlan.objects.select_for_update().get(pk=plan_id)
        session = (
            TreatmentSession.objects.select_for_update(of=("self",))
            .select_related("patient", "plan")
            .get(pk=record.session_id)
        )
        if session.status != SessionStatus.CHECKED_IN:
            raise RecordRefused(
                "checked_in",
                f"The session is {session.get_status_display().lower()}: only the record of a "
                "checked-in session can be signed.",
            )
        injections = list(record.injections.all())
        uses = list(record.lots_used.order_by("lot_id"))
        problems = _completeness_problems(record, injections, uses)
        if problems:
            raise RecordRefused(
                "incomplete", "The record cannot be signed yet. " + " ".join(problems)
            )
        # Lock the lots in a fixed order so two signatures never deadlock on them.
        lots = {
            lot.pk: lot
            for lot in Lot.objects.select_for_update()
            .filter(pk__in=[u.lot_id for u in uses])
            .order_by("pk")
        }
        for use in uses:
            lot = lots[use.lot_id]
            if lot.quantity_remaining < use.units_used:
                raise RecordRefused(
                    "stock",
                    f"Lot {lot.lot_number} has only {lot.quantity_remaining} left in stock, but "
                    f"{use.units_used} are recorded as opened. Check the stock or the record.",
                )
        # Everything the clearance depends on is locked and checked again: a pregnancy, an
        # allergy or a red flag recorded since the start, a withdrawn consent or a recalled
        # lot stops the signature here. What it was judged on is frozen with the record.
        day = session_local_date(session=session)
        clearance = treatment_clearance(
            patient=session.patient,
            formulation_version=record.formulation_version,
            on_date=day,
            step=Step.SIGNING,
            session=session,
            lots=[lots[u.lot_id] for u in uses],
            lock=True,
        )
        if not clearance.cleared:
            raise RecordRefused(
                clearance.first.rule, "The record cannot be signed. " + clearance.message
            )
        # Stored as judged: were the check above ever lost, the database still refuses a
        # signature whose snapshot does not say cleared.
        ClearanceSnapshot.objects.create(
            record=record, cleared=clearance.cleared, taken_at=now, data=clearance.snapshot()
        )
        for use in uses:
            lot = lots[use.lot_id]
            lot.quantity_remaining -= use.units_used
            lot.save(update_fields=["quantity_remaining"])

        record.aftercare_given = record_aftercare(record=record, clinic=clinic)
        record.signed_at, record.signed_by = now, signer
        record.save(update_fields=["aftercare_given", "signed_at", "signed_by"])
        # The usage report's totals, counted with the signature (all or nothing with it).
        usage_record_signed(record=record, session=session)

        session.status, session.status_changed_by = SessionStatus.COMPLETED, by
        session.save(update_fields=["status", "status_changed_by"])
        # The aftercare message commits with the signature (reminder outbox, issue 7).
        reminders_on_session_completed(session=session, now=now, clinic=clinic)
        if session.plan_id is not None:
            _complete_course_if_last(session=session, now=now)
        if clinic is not None:
            # The course's last session, or a maintenance visit: maintenance is due again
            # from this visit (the one rule, booking/maintenance.py).
            maintenance_reschedule(clinic=clinic, patient_id=session.patient_id, visit_on=day)
    return record


def _complete_course_if_last(*, session: TreatmentSession, now) -> None:
    plan = TreatmentPlan.objects.select_for_update().get(pk=session.plan_id)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.ACTIVE):
        return
    sessions = plan.sessions.all()
    completed = sessions.filter(status=SessionStatus.COMPLETED).count()
    still_to_come = sessions.filter(
        status__in=(SessionStatus.SCHEDULED, SessionStatus.CONFIRMED, SessionStatus.CHECKED_IN)
    ).exists()
    last_of_course = session.sequence is not None and session.sequence == plan.number_of_sessions
    if not (last_of_course or (not still_to_come and completed >= plan.number_of_sessions)):
        return
    plan.status = PlanStatus.COMPLETED
    plan.completed_at = now
    plan.save(update_fields=["status", "completed_at"])


# Addenda --------------------------------------------------------------------------------------


def addendum_add(*, record: SessionRecord, text: str, by, now: datetime) -> RecordAddendum:
    """A signed, timestamped correction of a signed record; the record itself never changes."""
    signer = _signing_clinician(by, ADDENDUM_PERMISSION, "add an addendum to a record")
    _refuse_unless_registered(signer)
    if not text.strip():
        raise RecordRefused("text", "Write the correction or addition.")
    record = SessionRecord.objects.get(pk=record.pk)
    if record.signed_at is None:
        raise RecordRefused(
            "unsigned", "The record is not signed yet: change it directly, then sign it."
        )
    return RecordAddendum.objects.create(
        record=record, text=text.strip(), signed_at=now, signed_by=signer
    )


# Dashboard ------------------------------------------------------------------------------------

UNSIGNED_FLAG_AFTER = timedelta(hours=24)  # issue 6: flag records left unsigned for a day


def unsigned_records_overdue(*, clinician: StaffProfile, now: datetime):
    """The clinician's own records still unsigned 24 hours after they were started."""
    return (
        SessionRecord.objects.filter(
            clinician=clinician, signed_at__isnull=True, created_at__lte=now - UNSIGNED_FLAG_AFTER
        )
        .select_related("session__patient")
        .order_by("created_at", "pk")
    )
