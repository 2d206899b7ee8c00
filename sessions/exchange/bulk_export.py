"""The clinic's whole record as FHIR NDJSON, one file per resource type, in the spirit of FHIR Bulk
Data (`$export`). A clinic admin asks for it (a job row); the beat sweep claims queued jobs with a
conditional update and writes the files, counting patients done, so the status page can show
progress and the files once ready. Task arguments never carry more than ids (DESIGN.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F

from clinic.models import Clinic, ExportJob, ExportStatus
from clinic.refusals import ExchangeRefused
from patients.models import Patient

from .bundle import (
    patient_record,
    patient_resources,
    referenced_resources,
    references_in,
    screening_questionnaire,
)

EXPORT_DIR = "fhir-exports"
# A job still running after this was cut off (a worker restart): it is failed, never resumed,
# so no half-written file is ever offered as complete.
RUNNING_LEASE = timedelta(hours=2)


def export_job_request(*, by, now: datetime) -> ExportJob:
    """Queue an export; one at a time, since each reads the whole clinic."""
    with transaction.atomic(durable=True):
        active = ExportJob.objects.select_for_update().filter(
            status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
        )
        if active.exists():
            raise ExchangeRefused(
                "export_running",
                "An export is already queued or running; it will be ready in a few minutes.",
            )
        return ExportJob.objects.create(requested_by=by, requested_at=now)


def export_job_claim(*, now: datetime) -> ExportJob | None:
    """Take the oldest queued job; a conditional update, so two sweeps never run one job."""
    stale = ExportJob.objects.filter(
        status=ExportStatus.RUNNING, started_at__lt=now - RUNNING_LEASE
    )
    stale.update(
        status=ExportStatus.FAILED,
        finished_at=now,
        error="The export stopped before it finished (the worker restarted). Start a new one.",
    )
    job = ExportJob.objects.filter(status=ExportStatus.QUEUED).order_by("requested_at").first()
    if job is None:
        return None
    claimed = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=now
    )
    return ExportJob.objects.get(pk=job.pk) if claimed else None


def export_directory(job: ExportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / EXPORT_DIR / str(job.pk)


class _Writer:
    """One NDJSON file per resource type, opened as the first resource of the type arrives."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.files: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        self.have: set[tuple[str, str]] = set()
        self.wanted: set[tuple[str, str]] = set()

    def write(self, resource: dict) -> None:
        kind = resource["resourceType"]
        if kind not in self.files:
            self.files[kind] = (self.directory / f"{kind}.ndjson").open("w", encoding="utf-8")
            self.counts[kind] = 0
        self.files[kind].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
        self.files[kind].write("\n")
        self.counts[kind] += 1
        self.have.add((kind, resource["id"]))
        self.wanted.update(references_in(resource))

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


def export_job_run(*, job: ExportJob, clock: Callable[[], datetime]) -> ExportJob:
    """Write every patient's compartment, then whatever it references, then mark the job ready
    with the list of files. Any failure marks the job failed with the error's type only (a
    message could quote patient data). `clock` stamps the end: an export takes a while."""
    directory = export_directory(job)
    directory.mkdir(parents=True, exist_ok=True)
    clinic = Clinic.current()
    patients = Patient.objects.order_by("pk")
    ExportJob.objects.filter(pk=job.pk).update(patients_total=patients.count())
    writer = _Writer(directory)
    try:
        for patient in patients.iterator(chunk_size=200):
            for resource in patient_resources(patient_record(patient=patient, clinic=clinic)):
                writer.write(resource)
            ExportJob.objects.filter(pk=job.pk).update(patients_done=F("patients_done") + 1)
        writer.write(screening_questionnaire())
        for resource in referenced_resources(wanted=writer.wanted, have=writer.have):
            writer.write(resource)
    except Exception as exc:
        writer.close()
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED,
            finished_at=clock(),
            error=f"The export failed ({type(exc).__name__}); start a new one or see the log.",
        )
        raise
    writer.close()
    files = {
        kind: {"file": f"{EXPORT_DIR}/{job.pk}/{kind}.ndjson", "count": count}
        for kind, count in sorted(writer.counts.items())
    }
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.READY, finished_at=clock(), files=files
    )
    job.refresh_from_db()
    return job


def export_jobs_sweep(*, clock: Callable[[], datetime]) -> int:
    """Run every queued export (the beat task calls this); returns how many ran."""
    ran = 0
    while (job := export_job_claim(now=clock())) is not None:
        export_job_run(job=job, clock=clock)
        ran += 1
    return ran


def export_file_path(*, job: ExportJob, resource_type: str) -> Path | None:
    """The file of one resource type of a ready job, or None."""
    entry = job.files.get(resource_type) if job.status == ExportStatus.READY else None
    if entry is None:
        return None
    path = Path(settings.MEDIA_ROOT) / entry["file"]
    return path if path.is_file() else None
