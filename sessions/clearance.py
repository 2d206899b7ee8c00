"""One clearance: may this patient be treated with this formulation version on this day?

Booking (plan creation, booking a treatment session) and records (starting and signing a session
record) both ask it, so it lives beside the models, below both subpackages. It composes what the
apps below know — the screening and its findings (patients.clearance), the signed consents
(patients.consent), the lots usable that day (formulations.lots) — with what only sessions know:
the 7–14-day spacing to the plan's neighbouring sessions.

Each step asks for what it needs (Step):
- PLAN and BOOKING refuse a patient never screened, an absolute finding (an allergy to the
  version's ingredients is one), or a red flag no dermatologist has cleared. A lapsed screening
  only notes "re-screen on the day", and a relative finding waits for the clinician's override.
- RECORD_START needs everything known before the needle: a valid screening, today's re-check, no
  blocking finding (a relative one only with an override), the signed consents, and the spacing
  to the plan's neighbours (or a clinician's override of it). Lots are judged as they are added
  to the record (records.record_lot_add) and again at signing.
- SIGNING needs the same again, plus every lot on the record usable on the session's day. The
  caller runs it inside the signing transaction with `lock=True`, so a pregnancy, allergy or red
  flag recorded after the start blocks the signature. Its `snapshot()` is frozen with the record.

An assessment (consultation) needs no clearance: nothing is injected, so no step asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from django.urls import reverse

from clinic.models import Clinic
from formulations.lots import lot_usability
from formulations.models import FormulationVersion, Lot
from patients.clearance import (
    RECEPTION_CLINICIAN,
    latest_screening,
    screening_judgement,
    screening_lapses_on,
)
from patients.consent import consent_missing
from patients.models import (
    ConsentSignature,
    Patient,
    RuleOutcome,
    Screening,
)
from sessions.models import TreatmentPlan, TreatmentSession, plan_spacing


class Step(StrEnum):
    PLAN = "plan"  # writing a treatment plan
    BOOKING = "booking"  # booking or moving a treatment session
    RECORD_START = "record_start"  # opening the record of a checked-in session
    SIGNING = "signing"  # signing the record: everything, under locks


BEFORE_THE_DAY = (Step.PLAN, Step.BOOKING)


@dataclass(frozen=True)
class Unmet:
    """One prerequisite not met: the rule, why (in a clinician's words), and where to fix it."""

    rule: str
    message: str
    fix_url: str = ""
    fix_label: str = ""
    # The same refusal for reception: the rule's kind, never the patient's clinical detail.
    reception: str = RECEPTION_CLINICIAN


@dataclass(frozen=True)
class TreatmentClearance:
    step: str
    on_date: date
    unmet: tuple[Unmet, ...] = ()
    # What does not block this step but must be done by the day ("re-screen on the day").
    notes: tuple[str, ...] = ()
    screening: Screening | None = field(default=None, compare=False)
    data: dict = field(default_factory=dict, compare=False)

    @property
    def cleared(self) -> bool:
        return not self.unmet

    @property
    def first(self) -> Unmet | None:
        return self.unmet[0] if self.unmet else None

    @property
    def message(self) -> str:
        """Every unmet prerequisite, in one paragraph (for a refusal)."""
        return " ".join(u.message for u in self.unmet)

    def snapshot(self) -> dict:
        """What the clearance was judged on, as JSON, to freeze with a signed record."""
        return {
            **self.data,
            "step": str(self.step),
            "day": self.on_date.isoformat(),
            "cleared": self.cleared,
            "unmet": [{"rule": u.rule, "message": u.message} for u in self.unmet],
            "notes": list(self.notes),
        }


# The clearance --------------------------------------------------------------------------------


def treatment_clearance(
    *,
    patient: Patient,
    formulation_version: FormulationVersion | None,
    on_date: date,
    step: Step,
    session: TreatmentSession | None = None,
    lots: list[Lot] | None = None,
    lock: bool = False,
) -> TreatmentClearance:
    """Everything known against treating `patient` with `formulation_version` on `on_date`,
    as far as `step` needs it. `session` is the session being started or signed (its plan gives
    the neighbours); `lots` the lots on the record at signing.

    With `lock=True` (inside the caller's transaction) the patient, the screening and the plan
    are locked first, so nothing they depend on changes between this check and the commit."""
    if lock:
        Patient.objects.select_for_update().get(pk=patient.pk)
    unmet: list[Unmet] = []
    notes: list[str] = []
    data: dict = {"patient": patient.pk, "version": getattr(formulation_version, "pk", None)}
    on_the_day = step not in BEFORE_THE_DAY
    screening = latest_screening(patient=patient, on_date=on_date)
    if screening is not None and lock:
        Screening.objects.select_for_update().get(pk=screening.pk)
    if screening is None:
        unmet.append(
            Unmet(
                "screening",
                "No contraindication screening is on record: a clinician must screen the "
                "patient before treatment.",
                reverse("patients:screening_new", args=[patient.pk]),
                "Screen the patient",
                "This patient has never been screened for contraindications: a clinician must "
                "screen them before treatment.",
            )
        )
    else:
        _screening_checks(
            screening=screening,
            formulation_version=formulation_version,
            on_date=on_date,
            on_the_day=on_the_day,
            unmet=unmet,
            notes=notes,
            data=data,
        )
    if on_the_day:
        _consent_check(patient, formulation_version, unmet, data)
        if session is not None:
            _spacing_check(session, lock, unmet, data)
        if step == Step.SIGNING:
            _lot_checks(lots or [], formulation_version, on_date, unmet, data)
    return TreatmentClearance(
        step=step,
        on_date=on_date,
        unmet=tuple(unmet),
        notes=tuple(notes),
        screening=screening,
        data=data,
    )


def _screening_checks(*, screening, formulation_version, on_date, on_the_day, unmet, notes, data):
    patient_id = screening.patient_id
    lapses_on = screening_lapses_on(screening=screening)
    screening_url = reverse("patients:screening", args=[patient_id, screening.pk])
    data["screening"] = {
        "id": screening.pk,
        "screened_on": screening.screened_on.isoformat(),
        "lapses_on": lapses_on.isoformat(),
        "clinician": screening.clinician_id,
    }
    lapsed = on_date >= lapses_on
    if lapsed:
        why = (
            f"The last screening ({screening.screened_on:%d %b %Y}) lapsed on "
            f"{lapses_on:%d %b %Y}: a clinician must screen the patient again"
        )
        if on_the_day:
            unmet.append(
                Unmet(
                    "screening_lapsed",
                    why + " before treatment.",
                    reverse("patients:screening_new", args=[patient_id]),
                    "Screen the patient again",
                )
            )
        else:
            notes.append(why + " on the day, before treatment.")
    judged = screening_judgement(
        screening=screening, formulation_version=formulation_version, on_date=on_date
    )
    overrides, cleared = judged.overrides, judged.referral_clearances
    blocking = {f.rule_code for f in judged.blocking}
    data["findings"] = [
        _finding_data(f, f.rule_code in blocking, overrides, cleared) for f in judged.findings
    ]
    for finding in judged.blocking:
        what = f"Blocked by screening rule “{finding.name}”"
        if finding.outcome == RuleOutcome.ABSOLUTE:
            unmet.append(
                Unmet(
                    finding.rule_code,
                    f"{what} (absolute contraindication): {finding.reason} It can never be "
                    "overridden: do not treat.",
                    screening_url,
                    "Open the screening",
                    "The screening shows an absolute contraindication (a clinician can see which "
                    "on the screening page): the patient must not be treated.",
                )
            )
        elif finding.outcome == RuleOutcome.REFERRAL:
            unmet.append(
                Unmet(
                    finding.rule_code,
                    f"{what} (red flag): {finding.reason} Refer the patient to a dermatologist; "
                    "treatment stays blocked until a clinician records the dermatologist's "
                    "clearance.",
                    screening_url,
                    "Record the dermatologist's clearance",
                    "The screening shows a red flag: a dermatologist must clear the patient "
                    "before treatment.",
                )
            )
        elif on_the_day:
            unmet.append(
                Unmet(
                    finding.rule_code,
                    f"{what} (relative contraindication): {finding.reason} A clinician may "
                    "proceed only by recording an override with a written reason.",
                    screening_url,
                    "Record an override with a reason",
                )
            )
    recheck = judged.recheck
    data["recheck"] = {"id": recheck.pk, "checked_on": on_date.isoformat()} if recheck else None
    if on_the_day and not lapsed and recheck is None:
        unmet.append(
            Unmet(
                "recheck",
                "Today's re-check is not recorded: before the session a clinician must ask "
                "what changed since the last visit (new medicines, pregnancy, scalp infection).",
                reverse("patients:screening_recheck", args=[patient_id, screening.pk]),
                "Record today's re-check",
            )
        )


def _person(user) -> str:
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else user.get_username()


def _finding_data(finding, blocks: bool, overrides: dict, cleared: dict) -> dict:
    override = overrides.get(finding.rule_code)
    clearance = cleared.get(finding.rule_code)
    return {
        **finding.as_dict(),
        "blocking": blocks,
        "override": {
            "by": override.clinician_id,
            "by_name": _person(override.clinician),
            "at": override.created_at.isoformat(),
            "reason": override.reason,
        }
        if override and finding.outcome == RuleOutcome.RELATIVE
        else None,
        "referral_clearance": {
            "dermatologist": clearance.cleared_by,
            "on": clearance.cleared_on.isoformat(),
            "recorded_by": clearance.recorded_by_id,
            "recorded_by_name": _person(clearance.recorded_by),
        }
        if clearance and finding.outcome == RuleOutcome.REFERRAL
        else None,
    }


def _consent_check(patient, formulation_version, unmet, data):
    missing = consent_missing(patient=patient, formulation_version=formulation_version)
    signed = ConsentSignature.objects.filter(patient=patient, withdrawal__isnull=True)
    data["consents"] = [
        {"id": pk, "signed_at": at.isoformat()} for pk, at in signed.values_list("pk", "signed_at")
    ]
    if missing:
        url = reverse("patients:consent_new", args=[patient.pk])
        if formulation_version is not None:
            # The consent form then shows this version and, for a prescription drug, the
            # off-label statement to sign with it.
            url += f"?version={formulation_version.pk}"
        unmet.append(
            Unmet(
                "consent",
                f"The patient has not signed {' and '.join(missing)}. Nothing may be injected "
                "until the patient has signed it in front of a clinician.",
                url,
                "Take the patient's consent",
            )
        )


def _spacing_check(session, lock, unmet, data):
    clinic = Clinic.current()
    if session.plan_id is None or clinic is None:
        return
    if lock:
        TreatmentPlan.objects.select_for_update().get(pk=session.plan_id)
    spacing = plan_spacing(
        clinic=clinic, plan=session.plan, starts_at=session.starts_at, exclude_pk=session.pk
    )
    data["spacing"] = {
        "previous": spacing.before.starts_at.isoformat() if spacing.before else None,
        "next": spacing.after.starts_at.isoformat() if spacing.after else None,
        "override": session.interval_override_reason,
    }
    if spacing.too_close and not session.interval_override_reason.strip():
        unmet.append(
            Unmet(
                "interval",
                spacing.refusal(clinic=clinic) + " Move the session, or a clinician may "
                "override the shortest gap with a reason.",
                reverse("treatment_sessions:session_detail", args=[session.pk]),
                "Open the session to move it",
            )
        )


def _lot_checks(lots, formulation_version, on_date, unmet, data):
    data["lots"] = []
    for lot in lots:
        usable, why = lot_usability(lot=lot, on_date=on_date, version=formulation_version)
        data["lots"].append(
            {
                "id": lot.pk,
                "lot_number": lot.lot_number,
                "supplier": lot.supplier,
                "expires_on": lot.expires_on.isoformat(),
                "usable_until": lot.usable_until.isoformat(),
                "status": lot.status,
                "corrections": [
                    {"field": c.field, "new_value": c.new_value, "reason": c.reason}
                    for c in lot.corrections.all()
                ],
                "usable": usable,
            }
        )
        if not usable:
            unmet.append(Unmet("lot", why))
