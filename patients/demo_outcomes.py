"""Demo outcomes and adverse events for `seed_demo`, so the clinical tab shows a progress chart:
baseline and follow-up measurements across zones for two patients whose courses are completed,
and two resolved adverse events. Runs after every app's demo (it needs their completed, signed
sessions) and is idempotent: a patient who already has measurements, or a session that already
has events, is left alone.

Demo seeding composes apps: the demo adverse events are recorded through the sessions app.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from sessions.models import AdverseEvent, SessionStatus, TreatmentSession
from sessions.records.adverse_events import adverse_event_record

from .models import OutcomeMeasurement, Patient
from .outcomes import outcome_record

# Density (hairs/cm²) at each completed session of the course, per zone: a plausible response
# to treatment in the androgen-sensitive zones, the occipital reference steady.
DENSITY_CURVES = {
    "vertex": [112, 114, 119, 123, 127, 131],
    "frontal": [128, 129, 133, 136, 138, 141],
    "occipital": [205, 204, 206, 205, 207, 206],
}
SHAFT_DIAMETER_UM = [58, 58, 60, 61, 63, 64]


def seed(*, clinic) -> None:

    clinician = get_user_model().objects.filter(username="clinician").first()
    if clinician is None:
        return
    now = timezone.now()
    completed = (
        TreatmentSession.objects.filter(
            status=SessionStatus.COMPLETED,
            record__signed_at__isnull=False,
            room__clinic=clinic,
        )
        .select_related("patient", "room__clinic")
        .order_by("patient_id", "starts_at")
    )
    by_patient: dict[int, list] = {}
    for session in completed:
        by_patient.setdefault(session.patient_id, []).append(session)
    chosen = [sessions for sessions in by_patient.values() if len(sessions) >= 2][:2]
    visits: list[tuple[Patient, list[tuple[date, object]]]] = [
        (
            sessions[0].patient,
            [(s.starts_at.astimezone(clinic.zone).date(), s) for s in sessions],
        )
        for sessions in chosen
    ]
    if len(visits) < 2:
        # Too few finished courses in the demo: a patient on a running course had measurements
        # at the consultations before it (a fortnight apart), not tied to a session.
        taken = {patient.pk for patient, _ in visits}
        extra = (
            Patient.objects.filter(treatment_plans__isnull=False)
            .exclude(pk__in=taken)
            .order_by("pk")
            .first()
        )
        if extra is not None:
            today = timezone.localdate()
            visits.append((extra, [(today - timedelta(days=14 * k), None) for k in (3, 2, 1)]))
    for patient, days in visits:
        if OutcomeMeasurement.objects.filter(patient=patient).exists():
            continue
        for index, (day, session) in enumerate(days[: len(SHAFT_DIAMETER_UM)]):
            for zone, curve in DENSITY_CURVES.items():
                outcome_record(
                    patient=patient,
                    by=clinician,
                    zone=zone,
                    measured_on=day,
                    now=now,
                    session=session,
                    density_per_cm2=Decimal(curve[index]),
                    shaft_diameter_um=Decimal(SHAFT_DIAMETER_UM[index])
                    if zone == "vertex"
                    else None,
                    global_assessment=min(index, 2) if index and zone == "vertex" else None,
                    pull_test_hairs=max(8 - 2 * index, 1) if zone == "vertex" else None,
                )
    if not chosen:
        return
    first_course = chosen[0]
    session = first_course[1] if len(first_course) > 1 else first_course[0]
    if AdverseEvent.objects.filter(session=session).exists():
        return
    onset = session.starts_at.astimezone(clinic.zone).date()
    # The lot the record names, so the safety report can tie the events to it.
    used = getattr(session, "record", None)
    lot = used.lots_used.first().lot if used is not None and used.lots_used.exists() else None
    common = {
        "onset_on": onset,
        "causality": "probable",
        "outcome": "resolved",
        "serious": False,
        "lot": lot,
    }
    adverse_event_record(
        session=session,
        by=clinician,
        now=now,
        event_type="pain",
        severity="mild",
        ctcae_grade=1,
        notes="Stinging during nappage at the vertex; settled within the hour.",
        **common,
    )
    adverse_event_record(
        session=session,
        by=clinician,
        now=now,
        event_type="erythema",
        severity="moderate",
        ctcae_grade=2,
        notes="Redness over the treated area for two days; cool compresses.",
        **common,
    )
