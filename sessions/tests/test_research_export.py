"""The de-identified research export: what it holds, what it never holds, and how it is built."""

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from clinic.models import AccessLog
from clinic.refusals import RecordRefused
from clinic.roles import Role
from clinic.tests.factories import RoomFactory
from formulations.tests.factories import (
    FormulationVersionFactory,
    IngredientFactory,
    IngredientLineFactory,
    LotFactory,
)
from formulations.units import StrengthUnit
from patients.models import Patient
from sessions.models import ResearchExport, ResearchExportStatus, StudyPseudonym
from sessions.records import research_export_views
from sessions.records.research_export import (
    DICTIONARY,
    research_export_files,
    research_export_request,
    research_exports_build_queued,
)
from sessions.tasks import build_research_exports
from sessions.tests.factories import AdverseEventFactory
from sessions.tests.report_fixtures import START, bulk_courses, signed_course

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
REASON = "Dr Lee's retrospective cohort study, ethics ref. REC 26/LO/0042."


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def admin(staff):
    return staff(Role.CLINIC_ADMIN).user


@pytest.fixture
def doctor(staff):
    return staff(Role.CLINICIAN, display_name="Dr Olwen Quist")


@pytest.fixture
def treated(doctor):
    """A patient with every kind of identifier and free text Mesotrack holds."""
    patient = Patient.objects.create(
        record_number="MT-IDENT-7731",
        given_name="Zebedee",
        family_name="Quillfeather",
        date_of_birth=date(1931, 2, 14),
        sex_at_birth="male",
        pronouns="he/him",
        email="zebedee.quillfeather@example.org",
        mobile="+447700900987",
    )
    version = FormulationVersionFactory(formulation__name="DHT-block scalp cocktail", number=3)
    IngredientLineFactory(
        version=version,
        ingredient=IngredientFactory(name="Dutasteride", category="5ari"),
        amount=Decimal("0.01"),
        unit=StrengthUnit.PERCENT_WV,
        per_volume_ml=None,
    )
    plan = signed_course(
        patient=patient,
        versions=[version, version],
        clinician=doctor,
        density={"vertex": [(0, 100), (168, 112)], "occipital": [(0, 200), (168, 201)]},
    )
    plan.stopped_reason = "Moved to Inverness to live with his daughter Maud"
    plan.indication = "Quillfeather family pattern"
    plan.save()
    patient.outcomes.update(notes="Zebedee says his barber Ffion noticed")
    session = plan.sessions.order_by("starts_at").first()
    lot = LotFactory(version=version, lot_number="DHT-2501")
    record = session.record
    AdverseEventFactory(
        session=session,
        lot=lot,
        event_type="erythema",
        notes="Rang from his flat at 12 Mulberry Lane",
    )
    return patient, plan, record


def build(admin) -> dict[str, list[dict]]:
    export = research_export_request(by=admin, reason=REASON, now=NOW)
    assert research_exports_build_queued(now=NOW) == 1
    export.refresh_from_db()
    assert export.status == ResearchExportStatus.READY
    with zipfile.ZipFile(export.file.open("rb")) as archive:
        raw = {name: archive.read(name).decode() for name in archive.namelist()}
    return raw


def rows(raw: dict, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(raw[name])))


@pytest.mark.django_db
def test_no_direct_identifier_survives_the_export(treated, admin):
    # given a patient whose name, contact, record number, birth date and notes are on record
    patient, plan, record = treated
    # The secret shift is random; one that is a multiple of the 14-day course gap would move a
    # visit onto another's real date and make this check fail by chance (about 1 run in 14), so
    # this patient's shift is set to one that cannot.
    StudyPseudonym.objects.create(patient=patient, date_shift_days=-37)
    record_dates = [s.starts_at.date().isoformat() for s in plan.sessions.all()] + [
        START.isoformat(),
        (START + timedelta(days=168)).isoformat(),
    ]

    # when
    raw = build(admin)

    # then none of them is anywhere in any file
    everything = "\n".join(raw.values()).lower()
    identifiers = [
        "zebedee",
        "quillfeather",
        "mt-ident-7731",
        "7731",
        "zebedee.quillfeather@example.org",
        "447700900987",
        "07700 900987",
        "1931-02-14",
        "14/02/1931",
        "he/him",
        "inverness",
        "maud",
        "ffion",
        "mulberry",
        "olwen",
        "quist",
        "gmc",
    ]
    for identifier in identifiers:
        assert identifier not in everything, identifier
    # nor the real dates of the visits, nor a database id of the patient, plan or session
    for day in record_dates:
        assert day not in everything, day
    (patient_row,) = rows(raw, "patients.csv")
    assert list(patient_row) == [column for column, _ in DICTIONARY["patients.csv"]]
    assert patient_row["age_band"] == "90 or over"  # 94 at the first treatment
    assert re.fullmatch(r"S-[2-9A-HJKMNP-Z]{10}", patient_row["study_id"])
    assert all(r["course_id"].startswith("C") for r in rows(raw, "courses.csv"))


@pytest.mark.django_db
def test_the_export_holds_sessions_doses_outcomes_and_events(treated, admin):
    raw = build(admin)

    assert set(raw) == {
        "patients.csv",
        "courses.csv",
        "sessions.csv",
        "session_doses.csv",
        "outcomes.csv",
        "adverse_events.csv",
        "data_dictionary.csv",
        "README.txt",
    }
    sessions = rows(raw, "sessions.csv")
    assert [(s["session_number"], s["day_of_course"], s["version"]) for s in sessions] == [
        ("1", "0", "3"),
        ("2", "14", "3"),
    ]
    assert sessions[0]["volume_ml"] == "2"
    # 0.01 % w/v = 0.1 mg/mL, × 2 mL = 0.2 mg dutasteride
    doses = rows(raw, "session_doses.csv")
    assert (doses[0]["ingredient"], doses[0]["dose"], doses[0]["unit"]) == (
        "Dutasteride",
        "0.2",
        "mg",
    )
    outcomes = rows(raw, "outcomes.csv")
    assert {(o["zone"], o["day_of_first_course"], o["density_per_cm2"]) for o in outcomes} == {
        ("vertex", "0", "100"),
        ("vertex", "168", "112"),
        ("occipital", "0", "200"),
        ("occipital", "168", "201"),
    }
    (event,) = rows(raw, "adverse_events.csv")
    assert (event["event_type"], event["lot"], event["days_after_session"]) == (
        "erythema",
        "DHT-2501",
        "0",
    )
    # Every file's columns are in the data dictionary.
    dictionary = {(r["file"], r["column"]) for r in rows(raw, "data_dictionary.csv")}
    for name in ("patients.csv", "sessions.csv", "outcomes.csv", "adverse_events.csv"):
        header = raw[name].splitlines()[0].split(",")
        assert {(name, column) for column in header} <= dictionary


@pytest.mark.django_db
def test_study_ids_and_date_shifts_are_stable_across_exports(treated, admin):
    first = rows(build(admin), "courses.csv")[0]
    second = rows(build(admin), "courses.csv")[0]

    assert (first["study_id"], first["started_on"]) == (second["study_id"], second["started_on"])
    pseudonym = StudyPseudonym.objects.get()
    shifted = START + timedelta(days=pseudonym.date_shift_days)
    assert first["started_on"] == shifted.isoformat() != START.isoformat()


@pytest.mark.django_db
def test_the_reason_is_recorded_and_each_exported_patient_logs_the_export(treated, admin):
    patient, *_ = treated
    build(admin)

    export = ResearchExport.objects.get()
    assert export.reason == REASON and export.requested_by == admin
    log = AccessLog.objects.get(patient=patient, page="treatment_sessions:research_export")
    assert log.user == admin and str(export.pk) in log.path


@pytest.mark.django_db
def test_an_export_needs_a_reason_and_an_admin(admin, doctor):
    with pytest.raises(RecordRefused, match="who the data is for"):
        research_export_request(by=admin, reason="  study ", now=NOW)
    with pytest.raises(PermissionDenied):
        research_export_request(by=doctor.user, reason=REASON, now=NOW)


@pytest.mark.django_db
def test_a_claimed_export_is_not_built_twice_and_a_stuck_one_fails(admin):
    export = research_export_request(by=admin, reason=REASON, now=NOW)
    ResearchExport.objects.filter(pk=export.pk).update(
        status=ResearchExportStatus.RUNNING, started_at=NOW - timedelta(hours=1)
    )

    assert research_exports_build_queued(now=NOW) == 0

    export.refresh_from_db()
    assert export.status == ResearchExportStatus.FAILED and "Interrupted" in export.error


@pytest.mark.django_db
def test_the_page_queues_shows_progress_and_offers_the_file(client, treated, admin, monkeypatch):
    kicked = []
    monkeypatch.setattr(research_export_views, "kick_worker", lambda: kicked.append(True))
    client.force_login(admin)

    refused = client.post(reverse("treatment_sessions:research_exports"), {"reason": ""})
    assert refused.status_code == 400

    response = client.post(reverse("treatment_sessions:research_exports"), {"reason": REASON})
    export = ResearchExport.objects.get()
    assert response.status_code == 302 and kicked == [True]
    page = client.get(reverse("treatment_sessions:research_export", args=[export.pk]))
    assert 'http-equiv="refresh"' in page.content.decode()
    assert (
        client.get(
            reverse("treatment_sessions:research_export_download", args=[export.pk])
        ).status_code
        == 404
    )

    research_exports_build_queued(now=NOW)

    download = client.get(reverse("treatment_sessions:research_export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert zipfile.is_zipfile(io.BytesIO(b"".join(download.streaming_content)))


@pytest.mark.django_db
def test_the_worker_task_takes_no_arguments():
    assert build_research_exports.run() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("courses", [10, 300])
def test_building_the_files_takes_the_same_queries_at_any_size(
    staff, clinic, courses, django_assert_max_num_queries
):
    doctor = staff(Role.CLINICIAN)
    versions = [FormulationVersionFactory(), FormulationVersionFactory()]
    bulk_courses(
        count=courses, versions=versions, clinician=doctor, room=RoomFactory(clinic=clinic)
    )

    with django_assert_max_num_queries(13):
        files, patients = research_export_files(zone=clinic.zone)

    assert len(patients) == courses and len(files["sessions.csv"]) == courses


@pytest.mark.django_db
def test_a_patient_whose_processing_is_restricted_is_left_out(treated, admin):
    patient, *_ = treated
    Patient.objects.filter(pk=patient.pk).update(processing_restricted_at=NOW)

    raw = build(admin)

    assert rows(raw, "patients.csv") == [] and rows(raw, "sessions.csv") == []
