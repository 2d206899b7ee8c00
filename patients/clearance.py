"""The clearance gate: may this patient be treated with this formulation on this day?

Booking (scheduling) asks treatment_clearance; the clinician starting a session record asks
pre_session_clearance, which also needs that day's re-check. Both say which rule blocks and
what to do next, with a separate message that reception may read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import FilteredRelation, OuterRef, Q, QuerySet, Subquery

from clinic.models import Clinic

from .models import (
    Patient,
    ReferralClearance,
    RuleOutcome,
    Screening,
    ScreeningOverride,
    ScreeningRecheck,
)
from .screening import ScreeningFinding, evaluate_screening

DEFAULT_SCREENING_VALID_DAYS = 90  # practice default (DOMAIN.md); the clinic setting wins

NEXT_SCREEN = "screen"
NEXT_RECHECK = "re-check"
NEXT_OVERRIDE = "override"
NEXT_REFER = "refer"

RECEPTION_SCREEN = "Screen before treatment: a clinician must screen this patient first."
RECEPTION_CLINICIAN = "Needs a clinician: a clinician must review this patient before treatment."


@dataclass(frozen=True)
class Clearance:
    cleared: bool
    findings: tuple[ScreeningFinding, ...] = ()
    # The findings that block (a subset of findings: overridden or cleared ones don't).
    blocking: tuple[ScreeningFinding, ...] = ()
    next_step: str = ""
    message: str = ""
    reception_message: str = ""
    recheck_required: bool = False
    screening: Screening | None = field(default=None, compare=False)
    # What the judgement read, for a caller that shows it (sessions/clearance.py): that day's
    # re-check, and the overrides and dermatologist's clearances by rule code. Only those that
    # can matter are read: overrides when a relative finding fired, clearances when a red flag.
    recheck: ScreeningRecheck | None = field(default=None, compare=False)
    overrides: dict = field(default_factory=dict, compare=False)
    referral_clearances: dict = field(default_factory=dict, compare=False)


def _valid_days() -> int:
    clinic = Clinic.current()
    return clinic.screening_valid_days if clinic else DEFAULT_SCREENING_VALID_DAYS


def latest_screening(
    *, patient: Patient, on_date: date, screenings: list[Screening] | None = None
) -> Screening | None:
    """The patient's latest screening on or before `on_date` that is not voided. `screenings`:
    every screening of the patient, when the caller has read them all (the clinical tab)."""
    if screenings is None:
        screening = (
            Screening.objects.filter(
                patient=patient, voided_at__isnull=True, screened_on__lte=on_date
            )
            .order_by("-screened_on", "-pk")
            .first()
        )
    else:
        screening = max(
            (
                s
                for s in screenings
                if s.patient_id == patient.pk and s.voided_at is None and s.screened_on <= on_date
            ),
            key=lambda s: (s.screened_on, s.pk),
            default=None,
        )
    if screening is not None:
        # The caller's row (and whatever it has prefetched) serves the evaluation: no re-read.
        screening.patient = patient
    return screening


def screening_lapses_on(*, screening: Screening) -> date:
    """The first day on which the screening no longer counts."""
    return screening.screened_on + timedelta(days=_valid_days() + 1)


def treatment_clearance(
    *, patient: Patient, formulation_version, on_date: date, screenings=None
) -> Clearance:
    """Whether the patient may be booked for treatment with this formulation on on_date.
    `screenings`: all the patient's screenings, if the caller has them (see latest_screening)."""
    screening = latest_screening(patient=patient, on_date=on_date, screenings=screenings)
    if screening is None:
        return _needs_screening(
            "No contraindication screening is on record. A clinician must screen the patient "
            "before treatment can be booked."
        )
    lapses_on = screening_lapses_on(screening=screening)
    if on_date >= lapses_on:
        return _needs_screening(
            f"The last screening ({screening.screened_on:%d %b %Y}) lapsed on "
            f"{lapses_on:%d %b %Y}: a screening is valid for {_valid_days()} days. A clinician "
            "must screen the patient again before treatment.",
            screening=screening,
        )
    return screening_judgement(
        screening=screening, formulation_version=formulation_version, on_date=on_date
    )


def pre_session_clearance(*, patient: Patient, formulation_version, on_date: date) -> Clearance:
    """treatment_clearance plus the short re-check that must be recorded on the day itself."""
    clearance = treatment_clearance(
        patient=patient, formulation_version=formulation_version, on_date=on_date
    )
    if clearance.next_step == NEXT_SCREEN or not clearance.recheck_required:
        return clearance
    if clearance.cleared:
        return Clearance(
            cleared=False,
            findings=clearance.findings,
            next_step=NEXT_RECHECK,
            message=(
                "Before today's session a clinician must record the short re-check (anything "
                "changed since the last visit: new medicines, pregnancy, scalp infection)."
            ),
            reception_message=RECEPTION_CLINICIAN,
            recheck_required=True,
            screening=clearance.screening,
        )
    return clearance


def screening_judgement(*, screening: Screening, formulation_version, on_date: date) -> Clearance:
    """The findings of `screening` (with that day's re-check) judged for this version, whether or
    not the screening has lapsed: a lapsed screening that found a pregnancy still blocks."""
    return _judge(
        screening=screening,
        answers=screening.answers,
        formulation_version=formulation_version,
        on_date=on_date,
        recheck=_recheck_on(screening, on_date),
    )


def screenings_with_recheck(screenings: QuerySet[Screening], *, on_date: date) -> list[Screening]:
    """The screenings, each with its latest re-check of `on_date` (if any) read in the same
    query, for a page that judges the latest one (the clinical tab)."""
    latest = (
        ScreeningRecheck.objects.filter(screening=OuterRef("pk"), checked_on=on_date)
        .order_by("-pk")
        .values("pk")[:1]
    )
    rows = list(
        screenings.annotate(
            recheck_of_day=FilteredRelation("rechecks", condition=Q(rechecks__pk=Subquery(latest)))
        ).select_related("recheck_of_day")
    )
    for row in rows:
        # select_related sets the attribute only when the join found a row.
        row.recheck_read = (on_date, getattr(row, "recheck_of_day", None))
    return rows


def _recheck_on(screening: Screening, on_date: date) -> ScreeningRecheck | None:
    read_on, recheck = getattr(screening, "recheck_read", (None, None))
    if read_on == on_date:
        return recheck
    return screening.rechecks.filter(checked_on=on_date).order_by("-pk").first()


def _needs_screening(message: str, *, screening: Screening | None = None) -> Clearance:
    return Clearance(
        cleared=False,
        next_step=NEXT_SCREEN,
        message=message,
        reception_message=RECEPTION_SCREEN,
        recheck_required=True,
        screening=screening,
    )


def _by_rule(findings, outcome: str, model, screening: Screening) -> dict:
    """The screening's overrides (or dermatologist's clearances) by rule code, read only when a
    finding they could lift fired: none can lift an absolute finding, so none is asked then."""
    if not any(f.outcome == outcome for f in findings):
        return {}
    who = "clinician" if model is ScreeningOverride else "recorded_by"
    rows = model.objects.filter(screening=screening).select_related("rule", f"{who}__staff_profile")
    return {row.rule.code: row for row in rows}


def _judge(
    *, screening: Screening, answers: dict, formulation_version, on_date: date, recheck
) -> Clearance:
    if recheck is not None:
        # What changed since the screening replaces what was said then.
        answers = {**answers, **recheck.answers}
    findings = evaluate_screening(
        patient=screening.patient,
        answers=answers,
        formulation_version=formulation_version,
        on_date=on_date,
    )
    overrides = _by_rule(findings, RuleOutcome.RELATIVE, ScreeningOverride, screening)
    referred_ok = _by_rule(findings, RuleOutcome.REFERRAL, ReferralClearance, screening)
    blocking = tuple(
        f
        for f in findings
        if f.outcome == RuleOutcome.ABSOLUTE
        or (f.outcome == RuleOutcome.REFERRAL and f.rule_code not in referred_ok)
        or (f.outcome == RuleOutcome.RELATIVE and f.rule_code not in overrides)
    )
    common = {
        "findings": tuple(findings),
        "blocking": blocking,
        "recheck_required": recheck is None,
        "screening": screening,
        "recheck": recheck,
        "overrides": overrides,
        "referral_clearances": referred_ok,
    }
    if not blocking:
        return Clearance(cleared=True, **common)
    first = blocking[0]
    if first.outcome == RuleOutcome.ABSOLUTE:
        next_step = NEXT_SCREEN
        todo = (
            "This is an absolute contraindication: it cannot be overridden. Do not treat; "
            "screen again only if the situation has changed (for example after pregnancy or "
            "once an infection has healed)."
        )
    elif first.outcome == RuleOutcome.REFERRAL:
        next_step = NEXT_REFER
        todo = (
            "Refer the patient to a dermatologist; treatment stays blocked until a clinician "
            "records the dermatologist's clearance."
        )
    else:
        next_step = NEXT_OVERRIDE
        todo = (
            "A clinician may proceed only by recording an override with a written reason "
            "(it is audited)."
        )
    others = len(blocking) - 1
    more = (
        f" {others} more finding{'s' if others > 1 else ''} also block{'s' if others == 1 else ''}."
        if others
        else ""
    )
    message = (
        f"Blocked by screening rule “{first.name}” ({first.outcome_label.lower()}): "
        f"{first.reason} {todo}{more}"
    )
    return Clearance(
        cleared=False,
        next_step=next_step,
        message=message,
        reception_message=RECEPTION_CLINICIAN,
        **common,
    )
