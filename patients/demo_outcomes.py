"""Demo outcomes and adverse events for `seed_demo`, so the clinical tab shows a progress chart:
baseline and follow-up measurements across zones for two patients whose courses are completed,
and two resolved adverse events. Runs after every app's demo (it needs their completed, signed
sessions) and is idempotent: a patient who already has measurements, or a session that already
has events, is left alone.

Demo seeding composes apps: the demo adverse events are recorded through the sessions app.
"""

from __future__ import annotations

import io
import random
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw
from simple_history.utils import bulk_create_with_history

from sessions.demo_cohort import COHORT_INDICATION
from sessions.models import (
    AdverseEvent,
    SessionKind,
    SessionStatus,
    TreatmentPlan,
    TreatmentSession,
)
from sessions.records.adverse_events import adverse_event_record

from .consent import consent_digest, consent_document, consent_sign, consent_texts_for
from .models import ConsentKind, OutcomeMeasurement, Patient, PhotoView
from .outcomes import outcome_record, photo_add

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
    _showcase(clinic=clinic, clinician=clinician)
    cohort_outcomes(clinic=clinic, clinician=clinician)


def _showcase(*, clinic, clinician) -> None:
    now = timezone.now()
    completed = (
        TreatmentSession.objects.filter(
            status=SessionStatus.COMPLETED,
            record__signed_at__isnull=False,
            room__clinic=clinic,
        )
        # The cohort of past courses gets its own outcomes (cohort_outcomes below).
        .exclude(plan__indication__startswith=COHORT_INDICATION)
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
            .exclude(treatment_plans__indication__startswith=COHORT_INDICATION)
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


# The cohort (sessions/demo.py): outcomes at baseline, week 12 and week 24 ------------------------
# Mean density gain at week 24 in the treated zones, per version (practice-plausible figures:
# dutasteride mesotherapy reports 10–20 % gains, nutrient cocktails less), with between-patient
# noise; week 12 shows a little over half of it. The occipital reference barely moves.
WEEK_24_GAIN = {
    ("DHT-block scalp cocktail", 1): 8.0,
    ("DHT-block scalp cocktail", 2): 10.0,
    ("DHT-block scalp cocktail", 3): 14.0,
    ("Nutrient scalp cocktail", 2): 4.0,
}
GAIN_SD = 6.0
OUTCOME_SEED = 24


def cohort_outcomes(*, clinic, clinician) -> None:
    """Measurements for each cohort course; a patient who has some already is left alone."""
    rng = random.Random(OUTCOME_SEED)
    now = timezone.now()
    plans = (
        TreatmentPlan.objects.filter(indication__startswith=COHORT_INDICATION)
        .select_related("patient")
        .prefetch_related("sessions__record__formulation_version__formulation")
        .order_by("pk")
    )
    photographed = False
    rows: list[OutcomeMeasurement] = []
    for plan in plans:
        patient = plan.patient
        if OutcomeMeasurement.objects.filter(patient=patient).exists():
            continue
        treated = sorted(
            (s for s in plan.sessions.all() if hasattr(s, "record")), key=lambda s: s.starts_at
        )
        versions = [
            (s.record.formulation_version.formulation.name, s.record.formulation_version.number)
            for s in treated
        ]
        gain = sum(WEEK_24_GAIN[v] for v in versions) / len(versions) + rng.gauss(0, GAIN_SD)
        follow_ups = list(
            TreatmentSession.objects.filter(
                patient=patient, kind=SessionKind.ASSESSMENT, status=SessionStatus.COMPLETED
            ).order_by("starts_at")
        )
        visits = [(treated[0], 0.0)] + list(
            zip(follow_ups, (gain * rng.uniform(0.45, 0.7), gain), strict=False)
        )
        baseline = {
            "vertex": rng.gauss(122, 16),
            "frontal": rng.gauss(135, 14),
            "occipital": rng.gauss(198, 18),
        }
        shaft, pull = rng.gauss(60, 5), rng.randint(5, 11)
        for session, pct in visits:
            day = session.starts_at.astimezone(clinic.zone).date()
            grade = 2 if pct >= 15 else 1 if pct >= 6 else 0 if pct >= -3 else -1
            for zone, base in baseline.items():
                change = pct if zone == "vertex" else 0.7 * pct if zone == "frontal" else 0
                if zone == "occipital" and session is not treated[0]:
                    change = rng.gauss(0, 1.5)
                vertex = zone == "vertex"
                later = session is not treated[0]
                rows.append(
                    OutcomeMeasurement(
                        patient=patient,
                        recorded_by=clinician,
                        zone=zone,
                        measured_on=day,
                        session=session,
                        # The first visit is each zone's first measurement: its baseline.
                        is_baseline=not later,
                        density_per_cm2=Decimal(f"{base * (1 + change / 100):.1f}"),
                        shaft_diameter_um=Decimal(f"{shaft + 0.35 * pct:.1f}") if vertex else None,
                        pull_test_hairs=max(pull - round(pct / 5) + rng.randint(-1, 1), 0)
                        if vertex
                        else None,
                        global_assessment=grade if vertex and later else None,
                        self_assessment=max(min(grade + rng.choice([-1, 0, 0, 1]), 3), -3)
                        if vertex and later
                        else None,
                    )
                )
        if not photographed and versions[-1] == ("DHT-block scalp cocktail", 3) and follow_ups:
            photographed = _cohort_photos(
                patient=patient, clinician=clinician, visits=visits, baseline=baseline, now=now
            )
    # Hundreds of rows in one insert, with their history (outcome_record() would take a
    # transaction and a re-baseline per row): the values are inside outcomes.RANGES, and each
    # zone's first visit is marked as its baseline, as outcome_record() would.
    bulk_create_with_history(rows, OutcomeMeasurement, default_user=clinician)


def _cohort_photos(*, patient, clinician, visits, baseline, now) -> bool:
    """Standard photos of one patient at baseline and week 24 (drawn, not real), signed for
    under the photography consent; the week-24 visit lacks the temples, so the checklist shows
    what is missing."""
    texts = consent_texts_for(kind=ConsentKind.PHOTOGRAPHY)
    if not texts:
        return False
    first_session = visits[0][0]
    consent_sign(
        patient=patient,
        witness=clinician,
        typed_name=patient.full_name,
        confirmed=True,
        text_digest=consent_digest(document=consent_document(texts=texts)),
        kind=ConsentKind.PHOTOGRAPHY,
        now=first_session.starts_at - timedelta(minutes=10),
    )
    last_session, last_pct = visits[-1]
    shots = [
        (first_session, 0.0, ["vertex", "frontal_hairline", "temple_left", "temple_right"]),
        (last_session, last_pct, ["vertex", "frontal_hairline", "midline_part"]),
    ]
    for number, (session, pct, views) in enumerate(shots):
        for view in views:
            density = baseline["vertex"] * (1 + pct / 100)
            picture = _scalp_picture(
                density=density, seed=patient.pk * 100 + PhotoView.values.index(view)
            )
            photo_add(
                patient=patient,
                view=view,
                taken_on=timezone.localtime(session.starts_at).date(),
                session=session,
                upload=SimpleUploadedFile(f"demo-{number}-{view}.jpg", picture, "image/jpeg"),
                by=clinician,
                now=now,
            )
    return True


def _scalp_picture(*, density: float, seed: int) -> bytes:
    """A drawn stand-in for a scalp photo: hairs on skin, as many as the density says, laid out
    from the same seed, so baseline and later photos differ only by the hairs gained."""
    rng = random.Random(seed)
    image = Image.new("RGB", (640, 480), (224, 186, 160))
    draw = ImageDraw.Draw(image)
    hairs = []
    for _ in range(2200):
        x, y = rng.uniform(0, 640), rng.uniform(0, 480)
        angle = rng.uniform(-0.6, 0.6)
        hairs.append((x, y, x + 18 * angle, y - 18, rng.randint(1, 2)))
    # Density 100 hairs/cm² shows about 1,100 hairs; each later hair sits on top of the first.
    for x1, y1, x2, y2, width in hairs[: min(len(hairs), int(density * 11))]:
        draw.line((x1, y1, x2, y2), fill=(58, 40, 30), width=width)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()
