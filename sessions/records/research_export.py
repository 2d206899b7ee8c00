"""The de-identified research export (DOMAIN.md "Keeping and giving back records"): CSV files of
treated patients, their courses, sessions (version, lots, dose per ingredient), outcomes and
adverse events, with a data dictionary, zipped for a researcher.

What leaves the clinic, and what does not (HIPAA Safe Harbor, 45 CFR 164.514(b)(2), as the
model): names, contact details, record numbers, exact dates of birth, staff names and every free
text field (notes, indications, reasons, aftercare) are dropped. Each patient is a random study
id that stays the same in every export; each patient's dates are moved by their own secret
number of days (intervals within a patient survive, calendar dates do not); ages are banded at
the first treatment and everyone over 89 is "90 or over". Courses and sessions get ids of this
export only, never the clinic's own.

An export is asked for with a reason (kept on the export row, the audit trail of what left the
clinic, and named in the access log of every patient it holds), then built by the worker; the
page shows its progress and offers the file when it is ready.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum

from clinic.models import AccessLog, Clinic
from clinic.refusals import RecordRefused
from formulations.models import IngredientLine
from formulations.units import DOSE_UNITS, decimal_text
from patients.bands import age_band, age_on, severity_band
from patients.models import OutcomeMeasurement, Patient
from sessions.models import (
    AdverseEvent,
    Injection,
    RecordLot,
    ResearchExport,
    ResearchExportStatus,
    SessionRecord,
    StudyPseudonym,
    TreatmentPlan,
)

PERMISSION = "treatment_sessions.export_research_data"
# A worker killed mid-build leaves its export running; after this it is marked failed, so the
# admin asks again instead of waiting forever (practice default, far above a real build).
BUILD_LEASE = timedelta(minutes=30)

# file -> [(column, meaning)]: the data dictionary, and the columns each file has, in order.
DICTIONARY: dict[str, list[tuple[str, str]]] = {
    "patients.csv": [
        ("study_id", "Random study id of the patient; the same in every export from this clinic."),
        ("sex_at_birth", "female, male, intersex or unknown."),
        ("age_band", "Age at the first treated session, in bands; over 89 is '90 or over'."),
        ("diagnosis", "ICD-10 code of the assessment the first course treated."),
        ("severity_scale", "norwood, ludwig, sinclair, savin or salt."),
        ("severity_value", "The reading on that scale (SALT: % of scalp hair lost)."),
        ("severity_band", "mild, moderate or severe (practice default reading of the scale)."),
    ],
    "courses.csv": [
        ("study_id", "The patient."),
        ("course_id", "Id of the course (treatment plan) in this export only."),
        ("started_on", "Date of the first signed session, shifted by the patient's offset."),
        ("diagnosis", "ICD-10 code of the assessment the course treats."),
        ("severity_band", "mild, moderate or severe."),
        ("planned_formulation", "Formulation named on the plan."),
        ("planned_version", "Version number named on the plan."),
        ("sessions_planned", "Number of sessions prescribed."),
        ("interval_days", "Days planned between sessions."),
        ("technique", "nappage, papule or micropapule."),
        ("device", "syringe, mesogun, mesoinjector, pressure or electroporation."),
        ("target_depth_mm", "Planned injection depth in mm (1–4)."),
        ("prp_alternating", "PRP planned on alternate sessions (true/false)."),
        ("microneedling", "Microneedling planned (true/false)."),
        ("topical_minoxidil", "Topical minoxidil planned (true/false)."),
        ("status", "draft, active, completed or stopped."),
        ("versions_used", "Versions named by the course's signed records, e.g. 'DHT v3'."),
    ],
    "sessions.csv": [
        ("study_id", "The patient."),
        ("course_id", "The course; empty for a session outside a course."),
        ("session_id", "Id of the signed session in this export only."),
        ("session_number", "Place in the course (1 = first)."),
        ("session_on", "Date of the session, shifted by the patient's offset."),
        ("day_of_course", "Days since the course's first signed session (0 = that session)."),
        ("formulation", "Formulation injected."),
        ("version", "Version number injected; the exact strengths are in session_doses.csv."),
        ("lots", "Lot numbers injected, separated by ';'."),
        ("volume_ml", "Total volume injected (mL), the sum over zones."),
        ("zones", "Scalp zones injected, separated by ';'."),
        ("pain_score", "Pain 0–10 as scored at the session; empty if not scored."),
        ("prp_given", "true/false."),
        ("microneedling_given", "true/false."),
        ("lllt_given", "true/false."),
        ("topical_minoxidil_given", "true/false."),
    ],
    "session_doses.csv": [
        ("session_id", "The session (sessions.csv)."),
        ("ingredient", "Ingredient name."),
        ("category", "Ingredient category, e.g. vitamin, 5ari."),
        ("dose", "Amount injected: volume × the version's strength."),
        ("unit", "mg, µg or IU."),
    ],
    "outcomes.csv": [
        ("study_id", "The patient."),
        ("measured_on", "Date of the measurement, shifted by the patient's offset."),
        ("day_of_first_course", "Days since the patient's first treated session."),
        ("session_id", "The session it was taken at, if any."),
        ("zone", "Scalp zone measured; occipital is the androgen-insensitive reference."),
        ("is_baseline", "The zone's first measurement (true/false)."),
        ("density_per_cm2", "Hair density, hairs/cm²."),
        ("shaft_diameter_um", "Shaft diameter, µm."),
        ("terminal_vellus_ratio", "Terminal:vellus ratio."),
        ("anagen_percent", "Anagen hairs, %."),
        ("pull_test_hairs", "Hairs out of about 50 pulled; positive above 5."),
        ("global_assessment", "Global photographic assessment, −3 (very much worse) … +3."),
        ("self_assessment", "Patient self-assessment, −3 … +3."),
    ],
    "adverse_events.csv": [
        ("study_id", "The patient."),
        ("session_id", "The session the event followed (empty if it had no signed record)."),
        ("onset_on", "Onset date, shifted by the patient's offset."),
        ("days_after_session", "Days from the session to the onset."),
        ("event_type", "pain, erythema, oedema, … (DOMAIN adverse event types)."),
        ("severity", "mild, moderate or severe (as FHIR)."),
        ("ctcae_grade", "CTCAE v5 grade 1–5."),
        ("serious", "true/false."),
        ("causality", "unrelated, possible, probable or definite."),
        ("outcome", "resolved, resolving, ongoing or sequelae."),
        ("treatment_stopped", "Treatment was stopped because of the event (true/false)."),
        ("lot", "Lot number named as involved, if known."),
    ],
}
README = """De-identified research export from Mesotrack.

Observational clinic data, not a trial: no randomisation, no blinding, formulations chosen by
the clinic. Patients are random study ids (stable across exports of this clinic); every date
of a patient is shifted by a secret number of days of that patient (1 to 182, either way), so
intervals within a patient are true and calendar dates are not. Ages are banded, over 89
grouped. Names, contact details, record numbers, birth dates, staff and every free-text note
are left out. data_dictionary.csv describes every column.
"""


# Asking -----------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def research_export_request(*, by, reason: str, now: datetime) -> ResearchExport:
    """Queue an export; the worker builds it. The reason is kept with it for the audit trail."""
    if not by.has_perm(PERMISSION):
        raise PermissionDenied("Only a clinic admin can export research data.")
    reason = reason.strip()
    if len(reason) < 10:
        raise RecordRefused(
            "research_export_reason",
            "Say who the data is for and why (the study or protocol), in a sentence.",
            field="reason",
        )
    return ResearchExport.objects.create(requested_by=by, reason=reason, requested_at=now)


def research_export_may_download(*, export: ResearchExport, user) -> bool:
    return user.has_perm(PERMISSION) and export.status == ResearchExportStatus.READY


# Building ---------------------------------------------------------------------------------------


def research_exports_build_queued(*, now: datetime) -> int:
    """The worker's sweep: mark builds past their lease failed, then claim and build each queued
    export (a conditional update, so two workers never build one twice). Returns how many were
    built."""
    ResearchExport.objects.filter(
        status=ResearchExportStatus.RUNNING, started_at__lt=now - BUILD_LEASE
    ).update(status=ResearchExportStatus.FAILED, finished_at=now, error="Interrupted: ask again.")
    built = 0
    for pk in ResearchExport.objects.filter(status=ResearchExportStatus.QUEUED).values_list(
        "pk", flat=True
    ):
        claimed = ResearchExport.objects.filter(pk=pk, status=ResearchExportStatus.QUEUED).update(
            status=ResearchExportStatus.RUNNING, started_at=now, progress_percent=1
        )
        if claimed == 1:
            research_export_build(export=ResearchExport.objects.get(pk=pk), now=now)
            built += 1
    return built


def research_export_build(*, export: ResearchExport, now: datetime) -> ResearchExport:
    clinic = Clinic.current()
    zone = clinic.zone if clinic else ZoneInfo("UTC")

    def progress(percent: int) -> None:
        ResearchExport.objects.filter(pk=export.pk).update(progress_percent=percent)

    try:
        files, patient_ids = research_export_files(zone=zone, progress=progress)
        content = _zip(files)
        with transaction.atomic():
            export.file.save(f"research-export-{export.pk}.zip", ContentFile(content), save=False)
            export.status = ResearchExportStatus.READY
            export.patient_count = len(patient_ids)
            export.finished_at = now
            export.progress_percent = 100
            export.save(
                update_fields=[
                    "file",
                    "status",
                    "patient_count",
                    "finished_at",
                    "progress_percent",
                ]
            )
            path = f"/reports/research-exports/{export.pk}/"
            AccessLog.objects.bulk_create(
                AccessLog(
                    user_id=export.requested_by_id,
                    patient_id=pk,
                    page="treatment_sessions:research_export",
                    path=path,
                    viewed_at=now,
                )
                for pk in sorted(patient_ids)
            )
    except Exception as exc:
        # Only the type: a message could quote the data being exported.
        ResearchExport.objects.filter(pk=export.pk).update(
            status=ResearchExportStatus.FAILED, finished_at=now, error=type(exc).__name__
        )
        raise
    return export


def _zip(files: dict[str, list[dict]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in files.items():
            columns = [column for column, _ in DICTIONARY[name]]
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            archive.writestr(name, text.getvalue())
        dictionary = io.StringIO()
        writer = csv.writer(dictionary, lineterminator="\n")
        writer.writerow(["file", "column", "meaning"])
        for name, columns in DICTIONARY.items():
            writer.writerows([name, column, meaning] for column, meaning in columns)
        archive.writestr("data_dictionary.csv", dictionary.getvalue())
        archive.writestr("README.txt", README)
    return out.getvalue()


def study_pseudonyms(*, patient_ids: set[int]) -> dict[int, StudyPseudonym]:
    """Each patient's study id and date shift, made the first time they are exported."""
    existing = {p.patient_id: p for p in StudyPseudonym.objects.filter(patient_id__in=patient_ids)}
    missing = patient_ids - existing.keys()
    if missing:
        StudyPseudonym.objects.bulk_create(
            [StudyPseudonym(patient_id=pk) for pk in sorted(missing)], ignore_conflicts=True
        )
        existing = {
            p.patient_id: p for p in StudyPseudonym.objects.filter(patient_id__in=patient_ids)
        }
    return existing


def _flag(value) -> str:
    return "true" if value else "false"


def _number(value) -> str:
    if value is None:
        return ""
    return decimal_text(value) if isinstance(value, Decimal) else str(value)


def research_export_files(*, zone: ZoneInfo, progress=lambda percent: None) -> tuple[dict, set]:
    """(file name -> rows, the patients in it); dates are local to the clinic's `zone`. Eleven
    queries whatever the clinic's size."""
    signed = (
        # A patient whose erasure request restricts processing (GDPR Art. 18) is left out.
        SessionRecord.objects.filter(
            signed_at__isnull=False, session__patient__processing_restricted_at__isnull=True
        )
        .select_related("session", "formulation_version__formulation")
        .order_by("session__starts_at", "pk")
    )
    records = list(signed)
    patient_ids = {r.session.patient_id for r in records}
    pseudonyms = study_pseudonyms(patient_ids=patient_ids)
    progress(10)

    def shifted(patient_id: int, day: date) -> str:
        return (day + timedelta(days=pseudonyms[patient_id].date_shift_days)).isoformat()

    def local(moment: datetime) -> date:
        return moment.astimezone(zone).date()

    # Courses: numbered in the order they started.
    course_start: dict[int, date] = {}
    course_versions: dict[int, set[str]] = defaultdict(set)
    first_treated: dict[int, date] = {}
    for r in records:
        day = local(r.session.starts_at)
        first_treated.setdefault(r.session.patient_id, day)
        if r.session.plan_id is not None:
            course_start.setdefault(r.session.plan_id, day)
            course_versions[r.session.plan_id].add(
                f"{r.formulation_version.formulation.name} v{r.formulation_version.number}"
            )
    plans = (
        TreatmentPlan.objects.filter(pk__in=course_start)
        .select_related("assessment", "template", "formulation_version__formulation")
        .order_by("pk")
    )
    plans = sorted(plans, key=lambda p: (course_start[p.pk], p.pk))
    course_ids = {plan.pk: f"C{n:05d}" for n, plan in enumerate(plans, start=1)}
    session_ids = {r.session_id: f"V{n:06d}" for n, r in enumerate(records, start=1)}
    progress(30)

    patients_rows = []
    first_plan: dict[int, TreatmentPlan] = {}
    for plan in plans:
        first_plan.setdefault(plan.patient_id, plan)
    people = Patient.objects.filter(pk__in=patient_ids).only("pk", "sex_at_birth", "date_of_birth")
    for patient in sorted(people, key=lambda p: pseudonyms[p.pk].study_id):
        plan = first_plan.get(patient.pk)
        assessment = plan.assessment if plan else None
        patients_rows.append(
            {
                "study_id": pseudonyms[patient.pk].study_id,
                "sex_at_birth": patient.sex_at_birth,
                "age_band": age_band(
                    age_on(date_of_birth=patient.date_of_birth, day=first_treated[patient.pk])
                ),
                "diagnosis": assessment.diagnosis if assessment else "",
                "severity_scale": assessment.scale if assessment else "",
                "severity_value": assessment.scale_value if assessment else "",
                "severity_band": (
                    severity_band(scale=assessment.scale, value=assessment.scale_value) or ""
                )
                if assessment
                else "",
            }
        )
    courses_rows = []
    for plan in plans:
        assessment = plan.assessment
        courses_rows.append(
            {
                "study_id": pseudonyms[plan.patient_id].study_id,
                "course_id": course_ids[plan.pk],
                "started_on": shifted(plan.patient_id, course_start[plan.pk]),
                "diagnosis": assessment.diagnosis if assessment else "",
                "severity_band": (
                    severity_band(scale=assessment.scale, value=assessment.scale_value) or ""
                )
                if assessment
                else "",
                "planned_formulation": plan.formulation_version.formulation.name,
                "planned_version": plan.formulation_version.number,
                "sessions_planned": plan.number_of_sessions,
                "interval_days": plan.interval_days,
                "technique": plan.technique,
                "device": plan.device,
                "target_depth_mm": _number(plan.target_depth_mm),
                "prp_alternating": _flag(plan.prp_alternating),
                "microneedling": _flag(plan.microneedling),
                "topical_minoxidil": _flag(plan.topical_minoxidil),
                "status": plan.status,
                "versions_used": "; ".join(sorted(course_versions[plan.pk])),
            }
        )
    progress(45)

    volumes: dict[int, object] = {}
    zones: dict[int, list[str]] = defaultdict(list)
    for record_id, zone_name, volume in (
        Injection.objects.filter(record_id__in=signed.values("pk"))
        .values("record_id", "zone")
        .annotate(volume=Sum("volume_ml"))
        .values_list("record_id", "zone", "volume")
        .order_by("record_id", "zone")
    ):
        volumes[record_id] = volumes.get(record_id, 0) + volume
        zones[record_id].append(zone_name)
    lots: dict[int, list[str]] = defaultdict(list)
    for record_id, lot_number in (
        RecordLot.objects.filter(record_id__in=signed.values("pk"))
        .values_list("record_id", "lot__lot_number")
        .order_by("record_id", "lot__lot_number")
    ):
        lots[record_id].append(lot_number)
    lines: dict[int, list[IngredientLine]] = defaultdict(list)
    for line in (
        IngredientLine.objects.filter(version_id__in={r.formulation_version_id for r in records})
        .select_related("ingredient")
        .order_by("version_id", "position", "pk")
    ):
        lines[line.version_id].append(line)
    progress(60)

    sessions_rows, doses_rows = [], []
    for r in records:
        session = r.session
        patient_id = session.patient_id
        day = local(session.starts_at)
        start = course_start.get(session.plan_id)
        sessions_rows.append(
            {
                "study_id": pseudonyms[patient_id].study_id,
                "course_id": course_ids.get(session.plan_id, ""),
                "session_id": session_ids[session.pk],
                "session_number": session.sequence or "",
                "session_on": shifted(patient_id, day),
                "day_of_course": (day - start).days if start else "",
                "formulation": r.formulation_version.formulation.name,
                "version": r.formulation_version.number,
                "lots": ";".join(lots[r.pk]),
                "volume_ml": _number(volumes.get(r.pk)),
                "zones": ";".join(zones[r.pk]),
                "pain_score": _number(r.pain_score),
                "prp_given": _flag(r.prp_given),
                "microneedling_given": _flag(r.microneedling_given),
                "lllt_given": _flag(r.lllt_given),
                "topical_minoxidil_given": _flag(r.topical_minoxidil_given),
            }
        )
        volume = volumes.get(r.pk)
        for line in lines[r.formulation_version_id] if volume else []:
            doses_rows.append(
                {
                    "session_id": session_ids[session.pk],
                    "ingredient": line.ingredient.name,
                    "category": line.ingredient.category,
                    "dose": decimal_text(line.concentration * volume),
                    "unit": DOSE_UNITS[line.concentration_unit],
                }
            )
    progress(75)

    outcomes_rows = []
    for m in (
        OutcomeMeasurement.objects.filter(voided_at__isnull=True, patient_id__in=patient_ids)
        .order_by("patient_id", "measured_on", "pk")
        .iterator()
    ):
        outcomes_rows.append(
            {
                "study_id": pseudonyms[m.patient_id].study_id,
                "measured_on": shifted(m.patient_id, m.measured_on),
                "day_of_first_course": (m.measured_on - first_treated[m.patient_id]).days,
                "session_id": session_ids.get(m.session_id, ""),
                "zone": m.zone,
                "is_baseline": _flag(m.is_baseline),
                "density_per_cm2": _number(m.density_per_cm2),
                "shaft_diameter_um": _number(m.shaft_diameter_um),
                "terminal_vellus_ratio": _number(m.terminal_vellus_ratio),
                "anagen_percent": _number(m.anagen_percent),
                "pull_test_hairs": _number(m.pull_test_hairs),
                "global_assessment": _number(m.global_assessment),
                "self_assessment": _number(m.self_assessment),
            }
        )
    progress(85)
    events_rows = []
    for event in (
        AdverseEvent.objects.filter(voided_at__isnull=True, patient_id__in=patient_ids)
        .select_related("session", "lot")
        .order_by("patient_id", "onset_on", "pk")
    ):
        session_day = local(event.session.starts_at)
        events_rows.append(
            {
                "study_id": pseudonyms[event.patient_id].study_id,
                "session_id": session_ids.get(event.session_id, ""),
                "onset_on": shifted(event.patient_id, event.onset_on),
                "days_after_session": (event.onset_on - session_day).days,
                "event_type": event.event_type,
                "severity": event.severity,
                "ctcae_grade": event.ctcae_grade,
                "serious": _flag(event.serious),
                "causality": event.causality,
                "outcome": event.outcome,
                "treatment_stopped": _flag(event.treatment_stopped),
                "lot": event.lot.lot_number if event.lot else "",
            }
        )
    progress(95)
    files = {
        "patients.csv": patients_rows,
        "courses.csv": courses_rows,
        "sessions.csv": sessions_rows,
        "session_doses.csv": doses_rows,
        "outcomes.csv": outcomes_rows,
        "adverse_events.csv": events_rows,
    }
    return files, patient_ids
