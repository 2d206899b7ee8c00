"""One patient's whole record as FHIR resources, and the Bundle `$everything` returns.

`patient_record` reads every row of the patient's record in a fixed number of queries;
`patient_resources` maps it; `supporting_resources` adds whatever those resources reference
(practitioners, the clinic and its rooms, medications, substances, the questionnaire), so every
reference in a Bundle resolves to an entry of the same Bundle.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Prefetch

from clinic.models import Clinic, Room, StaffProfile
from formulations.models import FormulationVersion, Ingredient, IngredientLine, Lot
from patients.models import (
    Allergy,
    Assessment,
    ConsentSignature,
    OutcomeMeasurement,
    Patient,
    Screening,
    ScreeningRecheck,
    ScreeningRule,
)
from sessions.models import (
    AdverseEvent,
    Injection,
    RecordAddendum,
    RecordLot,
    SessionRecord,
    TreatmentPlan,
    TreatmentSession,
)

from . import fhir_medication, fhir_patient
from .fhir_base import instant, with_last_change
from .fhir_medication import (
    doses_per_ml,
    lot_medication_resource,
    medication_administration_resource,
    substance_resource,
    version_medication_resource,
)
from .fhir_outcomes import outcome_observations, pain_observation
from .fhir_patient import (
    location_resource,
    organization_resource,
    patient_resource,
    practitioner_resource,
)
from .fhir_safety import adverse_event_resource
from .fhir_screening import (
    allergy_resource,
    consent_resource,
    questionnaire_resource,
    questionnaire_response_resource,
    recheck_response_resource,
)
from .fhir_treatment import (
    appointment_resource,
    care_plan_resource,
    condition_resource,
    procedure_resource,
)


@dataclass
class PatientRecord:
    """Every current (not voided) row of one patient's record; only signed session records."""

    patient: Patient
    clinic: Clinic | None
    assessments: list[Assessment]
    plans: list[TreatmentPlan]
    sessions: list[TreatmentSession]
    records: list[SessionRecord]
    adverse_events: list[AdverseEvent]
    allergies: list[Allergy]
    screenings: list[Screening]
    rechecks: list[ScreeningRecheck]
    consents: list[ConsentSignature]
    outcomes: list[OutcomeMeasurement]
    questions: dict[str, str]


def _lines():
    return Prefetch("lines", queryset=IngredientLine.objects.select_related("ingredient"))


def patient_record(*, patient: Patient, clinic: Clinic | None) -> PatientRecord:
    """About fifteen queries whatever the length of the record."""
    patient = with_last_change(Patient.objects.filter(pk=patient.pk)).get()
    user_staff = ("clinician__staff_profile",)
    records = list(
        with_last_change(
            SessionRecord.objects.filter(session__patient=patient, signed_at__isnull=False)
        )
        .select_related(
            "session__patient",
            "session__room",
            "session__plan",
            "clinician__user",
            "formulation_version__formulation",
        )
        .prefetch_related(
            Prefetch("injections", queryset=with_last_change(Injection.objects.order_by("pk"))),
            Prefetch(
                "lots_used",
                queryset=RecordLot.objects.select_related("lot__version__formulation").order_by(
                    "pk"
                ),
            ),
            Prefetch("addenda", queryset=RecordAddendum.objects.select_related("signed_by")),
            Prefetch(
                "formulation_version__lines",
                queryset=IngredientLine.objects.select_related("ingredient"),
            ),
        )
        .order_by("session__starts_at")
    )
    return PatientRecord(
        patient=patient,
        clinic=clinic,
        assessments=list(
            with_last_change(Assessment.objects.filter(patient=patient).current())
            .select_related("patient", *user_staff)
            .order_by("assessed_on", "pk")
        ),
        plans=list(
            with_last_change(TreatmentPlan.objects.filter(patient=patient))
            .select_related(
                "patient", "assessment", "created_by", "formulation_version__formulation"
            )
            .order_by("created_at", "pk")
        ),
        sessions=list(
            with_last_change(TreatmentSession.objects.filter(patient=patient))
            .select_related("patient", "clinician", "room", "plan")
            .order_by("starts_at", "pk")
        ),
        records=records,
        adverse_events=list(
            with_last_change(AdverseEvent.objects.filter(patient=patient, voided_at__isnull=True))
            .select_related(
                "patient",
                "lot__version__formulation",
                "session__record__formulation_version__formulation",
                "reported_by__staff_profile",
            )
            .order_by("onset_on", "pk")
        ),
        allergies=list(
            with_last_change(Allergy.objects.filter(patient=patient).current())
            .select_related("patient", "ingredient", "recorded_by__staff_profile")
            .order_by("pk")
        ),
        screenings=list(
            with_last_change(Screening.objects.filter(patient=patient).current())
            .select_related("patient", *user_staff)
            .order_by("screened_on", "pk")
        ),
        rechecks=list(
            with_last_change(
                ScreeningRecheck.objects.filter(
                    screening__patient=patient, screening__voided_at__isnull=True
                )
            )
            .select_related("screening__patient", *user_staff)
            .order_by("checked_on", "pk")
        ),
        consents=list(
            with_last_change(ConsentSignature.objects.filter(patient=patient))
            .select_related(
                "patient",
                "withdrawal",
                "witness__staff_profile",
                "formulation_version__formulation",
            )
            .prefetch_related("texts")
            .order_by("signed_at", "pk")
        ),
        outcomes=list(
            with_last_change(OutcomeMeasurement.objects.filter(patient=patient).current())
            .select_related("patient", "recorded_by__staff_profile")
            .order_by("measured_on", "zone", "pk")
        ),
        questions=dict(
            ScreeningRule.objects.exclude(question_key="").values_list("question_key", "question")
        ),
    )


def patient_resources(record: PatientRecord) -> list[dict]:
    """The patient's compartment: every resource about this patient, in reading order."""
    resources = [patient_resource(record.patient, clinic=record.clinic)]
    resources += [condition_resource(a) for a in record.assessments]
    resources += [care_plan_resource(p) for p in record.plans]
    resources += [appointment_resource(s) for s in record.sessions]
    per_ml: dict[int, list] = {}
    for signed in record.records:
        version = signed.formulation_version
        if version.pk not in per_ml:
            per_ml[version.pk] = doses_per_ml(version)
        lot_uses = list(signed.lots_used.all())
        resources.append(procedure_resource(signed, lot_uses=lot_uses))
        resources += [
            medication_administration_resource(
                i, record=signed, lot_uses=lot_uses, per_ml=per_ml[version.pk]
            )
            for i in signed.injections.all()
        ]
        pain = pain_observation(signed)
        if pain is not None:
            resources.append(pain)
    for measurement in record.outcomes:
        resources += outcome_observations(measurement)
    resources += [adverse_event_resource(e) for e in record.adverse_events]
    resources += [allergy_resource(a) for a in record.allergies]
    resources += [
        questionnaire_response_resource(s, questions=record.questions) for s in record.screenings
    ]
    resources += [recheck_response_resource(r, questions=record.questions) for r in record.rechecks]
    resources += [consent_resource(c, clinic=record.clinic) for c in record.consents]
    return resources


_REFERENCE = re.compile(r"^([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")


def references_in(value) -> Iterator[tuple[str, str]]:
    """Every (resource type, id) that a resource's `reference` elements name."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                match = _REFERENCE.match(item)
                if match:
                    yield match.group(1), match.group(2)
            else:
                yield from references_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from references_in(item)


def _pks(keys: Iterable[str], prefix: str) -> set[int]:
    return {int(key.removeprefix(f"{prefix}-")) for key in keys if key.startswith(f"{prefix}-")}


def supporting_resources(resources: list[dict]) -> list[dict]:
    """What `resources` reference outside the patient's compartment, closed over its own
    references (a lot's Medication names its Substances; a room names the clinic)."""
    have = {(r["resourceType"], r["id"]) for r in resources}
    wanted = {ref for r in resources for ref in references_in(r)}
    return referenced_resources(wanted=wanted, have=have)


def referenced_resources(*, wanted: set[tuple[str, str]], have: set[tuple[str, str]]) -> list:
    """The resources named in `wanted` that are not in `have`, and what they name in turn."""
    have = set(have)
    found: list[dict] = []
    missing = wanted - have
    while missing:
        by_type: dict[str, set[str]] = {}
        for kind, key in missing:
            by_type.setdefault(kind, set()).add(key)
        batch = _resolve(by_type)
        have |= missing | {(r["resourceType"], r["id"]) for r in batch}
        found += batch
        missing = {ref for r in batch for ref in references_in(r)} - have
    return found


def _resolve(wanted: dict[str, set[str]]) -> list[dict]:
    out: list[dict] = []
    if keys := wanted.get("Practitioner"):
        staff = StaffProfile.objects.filter(pk__in=_pks(keys, fhir_patient.STAFF))
        out += [practitioner_resource(s) for s in with_last_change(staff).select_related("user")]
    if keys := wanted.get("Organization"):
        clinics = Clinic.objects.filter(pk__in=_pks(keys, fhir_patient.CLINIC))
        out += [organization_resource(c) for c in with_last_change(clinics)]
    if keys := wanted.get("Location"):
        rooms = Room.objects.filter(pk__in=_pks(keys, fhir_patient.ROOM))
        out += [location_resource(r) for r in with_last_change(rooms).select_related("clinic")]
    if keys := wanted.get("Medication"):
        versions = FormulationVersion.objects.filter(
            pk__in=_pks(keys, fhir_medication.VERSION)
        ).select_related("formulation")
        out += [
            version_medication_resource(v)
            for v in with_last_change(versions).prefetch_related(_lines())
        ]
        lots = Lot.objects.filter(pk__in=_pks(keys, fhir_medication.LOT)).select_related(
            "version__formulation"
        )
        out += [
            lot_medication_resource(lot)
            for lot in with_last_change(lots).prefetch_related(
                Prefetch(
                    "version__lines", queryset=IngredientLine.objects.select_related("ingredient")
                )
            )
        ]
    if keys := wanted.get("Substance"):
        ingredients = Ingredient.objects.filter(
            pk__in=_pks(keys, fhir_medication.INGREDIENT_PREFIX)
        )
        out += [substance_resource(i) for i in with_last_change(ingredients)]
    return out


def screening_questionnaire() -> dict:
    """The rule table as a Questionnaire. Rules come from data migrations (no history rows) and
    change afterwards only through the admin (with history): the later of the two is its last
    update."""
    loaded = (
        MigrationRecorder.Migration.objects.filter(app="patients")
        .order_by("-applied")
        .values_list("applied", flat=True)
        .first()
    )
    rules = list(with_last_change(ScreeningRule.objects.all()))
    return questionnaire_resource(rules, loaded_at=loaded)


def bundle_of(
    *,
    matches: list[dict],
    includes: list[dict],
    base_url: str,
    self_url: str,
    now: datetime,
) -> dict:
    """A searchset Bundle: `matches` are the patient's resources, `includes` what they refer
    to. fullUrl is base_url/Type/id, so the relative references resolve inside the Bundle."""

    def entry(resource: dict, mode: str) -> dict:
        return {
            "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": mode},
        }

    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(now)},
        "type": "searchset",
        "timestamp": instant(now),
        "total": len(matches),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [entry(r, "match") for r in matches] + [entry(r, "include") for r in includes],
    }


def patient_everything(
    *, patient: Patient, clinic: Clinic | None, base_url: str, now: datetime
) -> dict:
    """`Patient/<id>/$everything`: the patient's compartment, with the questionnaire their
    screening answered and everything else the record refers to."""
    matches = patient_resources(patient_record(patient=patient, clinic=clinic))
    includes = [screening_questionnaire(), *supporting_resources(matches)]
    self_url = f"{base_url}/Patient/{matches[0]['id']}/$everything"
    return bundle_of(
        matches=matches, includes=includes, base_url=base_url, self_url=self_url, now=now
    )
