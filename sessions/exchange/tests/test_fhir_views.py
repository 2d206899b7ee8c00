"""The FHIR endpoints as a client sees them: $everything for clinical roles, logged; the bulk
export kick-off, status and manifest for clinic admins; errors as OperationOutcome."""

import json

from clinic.models import AccessLog, ExportJob
from clinic.roles import Role
from sessions.exchange.bulk_export import export_jobs_sweep
from sessions.exchange.tests.conftest import NOW

FHIR_JSON = "application/fhir+json"


def test_a_clinician_downloads_a_patients_everything_and_the_view_is_logged(client_as, treated):
    client = client_as(Role.CLINICIAN)

    response = client.get(f"/fhir/Patient/patient-{treated.pk}/$everything?download=1")

    assert response.status_code == 200
    assert response["Content-Type"] == FHIR_JSON
    assert "attachment" in response["Content-Disposition"]
    bundle = json.loads(response.content)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert bundle["entry"][0]["resource"]["name"][0]["family"] == "Patel"
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/Patient/patient-{treated.pk}"
    log = AccessLog.objects.get(patient=treated)
    assert log.page == "exchange:patient_everything"
    assert "Patel" not in log.path


def test_reception_gets_an_operation_outcome_saying_why(client_as, treated):
    response = client_as(Role.RECEPTION).get(f"/fhir/Patient/{treated.pk}/$everything")

    assert response.status_code == 403
    outcome = json.loads(response.content)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "forbidden"
    assert "reception role does not give access" in outcome["issue"][0]["diagnostics"]
    assert not AccessLog.objects.exists()


def test_an_unknown_patient_or_a_write_is_an_operation_outcome(client_as, treated):
    client = client_as(Role.CLINICIAN)

    missing = client.get("/fhir/Patient/patient-999999/$everything")
    write = client.post(f"/fhir/Patient/{treated.pk}/$everything")

    assert missing.status_code == 404
    assert json.loads(missing.content)["issue"][0]["code"] == "not-found"
    assert write.status_code == 405
    assert missing["Content-Type"] == write["Content-Type"] == FHIR_JSON


def test_a_bulk_data_client_kicks_off_polls_and_reads_the_manifest(client_as, treated):
    client = client_as(Role.CLINIC_ADMIN)

    kick_off = client.get("/fhir/$export", headers={"Prefer": "respond-async"})
    status_url = kick_off["Content-Location"]
    waiting = client.get(status_url, headers={"Accept": "application/json"})
    export_jobs_sweep(clock=lambda: NOW)
    done = client.get(status_url, headers={"Accept": "application/json"})

    assert kick_off.status_code == 202
    assert waiting.status_code == 202 and waiting["X-Progress"].startswith("0%")
    assert done.status_code == 200
    manifest = json.loads(done.content)
    types = {entry["type"] for entry in manifest["output"]}
    assert {"Patient", "Medication", "AdverseEvent", "Consent"} <= types
    patient_file = next(e["url"] for e in manifest["output"] if e["type"] == "Patient")
    download = client.get(patient_file)
    assert download["Content-Type"] == "application/fhir+ndjson"
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"patient-{treated.pk}"]


def test_only_one_export_at_a_time(client_as, db):
    client = client_as(Role.CLINIC_ADMIN)

    first = client.post("/fhir/$export")
    second = client.post("/fhir/$export", follow=True)

    assert first.status_code == 302
    assert ExportJob.objects.count() == 1
    assert "already queued or running" in second.content.decode()
