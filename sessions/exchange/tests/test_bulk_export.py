"""The bulk export job: NDJSON per resource type, every line valid R4 whose references resolve
within the export; progress counted per patient; a job cut off by a restart fails."""

import json
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from clinic.models import ExportJob, ExportStatus
from patients.tests.factories import PatientFactory, UserFactory
from sessions.exchange.bulk_export import export_job_claim, export_job_request, export_jobs_sweep
from sessions.exchange.bundle import references_in
from sessions.exchange.tests.conftest import NOW
from sessions.exchange.tests.fhir_schema import schema_errors


def _lines(job):
    out = []
    for _, entry in job.file_entries:
        text = (Path(settings.MEDIA_ROOT) / entry["file"]).read_text(encoding="utf-8")
        out += [json.loads(line) for line in text.splitlines()]
    return out


def test_the_export_writes_valid_ndjson_whose_references_resolve(treated):
    PatientFactory(given_name="Quiet", family_name="Newcomer")
    job = export_job_request(by=UserFactory(), now=NOW)

    assert export_jobs_sweep(clock=lambda: NOW) == 1

    job.refresh_from_db()
    assert job.status == ExportStatus.READY
    assert (job.patients_done, job.patients_total, job.percent_done) == (2, 2, 100)
    resources = _lines(job)
    assert all(entry["count"] > 0 for _, entry in job.file_entries)
    assert [e for r in resources for e in schema_errors(r)] == []
    present = {(r["resourceType"], r["id"]) for r in resources}
    assert {ref for r in resources for ref in references_in(r)} - present == set()


def test_a_job_left_running_past_its_lease_fails_and_the_next_one_runs(db):
    stuck = export_job_request(by=UserFactory(), now=NOW)
    ExportJob.objects.filter(pk=stuck.pk).update(status=ExportStatus.RUNNING, started_at=NOW)

    claimed = export_job_claim(now=NOW + timedelta(hours=3))

    stuck.refresh_from_db()
    assert claimed is None
    assert stuck.status == ExportStatus.FAILED
    assert "worker restarted" in stuck.error
