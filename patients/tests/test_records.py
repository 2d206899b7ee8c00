from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from clinic.refusals import PatientRefused
from clinic.roles import Role
from patients.clearance import treatment_clearance
from patients.models import Allergy, Medication
from patients.records import allergy_record, clinical_record_void, medication_record
from patients.tests.factories import (
    AllergyFactory,
    MedicationFactory,
    PatientFactory,
    ScreeningFactory,
)

NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


def test_a_voided_allergy_is_kept_with_its_reason_and_history(clinician_user):
    allergy = AllergyFactory()

    clinical_record_void(record=allergy, by=clinician_user, reason="Wrong patient", now=NOW)

    allergy.refresh_from_db()
    assert (allergy.voided_at, allergy.void_reason) == (NOW, "Wrong patient")
    assert Allergy.objects.count() == 1
    assert allergy.history.count() == 2


def test_voiding_needs_a_reason_and_a_clinician(clinician_user, reception_user):
    medication = MedicationFactory()
    with pytest.raises(PatientRefused, match="why"):
        clinical_record_void(record=medication, by=clinician_user, reason=" ", now=NOW)
    with pytest.raises(PermissionDenied):
        clinical_record_void(record=medication, by=reception_user, reason="x", now=NOW)


def test_voiding_the_only_screening_means_screen_again(clinic, clinician_user):
    screening = ScreeningFactory(screened_on=date(2026, 11, 10))
    clinical_record_void(record=screening, by=clinician_user, reason="Wrong form", now=NOW)
    clearance = treatment_clearance(
        patient=screening.patient, formulation_version=None, on_date=date(2026, 11, 16)
    )
    assert clearance.next_step == "screen"


def test_the_void_button_removes_the_row_from_the_clinical_tab(client_as):
    allergy = AllergyFactory(substance="Nickel")
    client = client_as(Role.CLINICIAN)
    url = f"/patients/{allergy.patient.pk}/allergies/{allergy.pk}/void/"

    response = client.post(url, {"reason": "Entered in error"}, follow=True)

    assert "Record voided" in response.content.decode()
    assert "Nickel" not in response.content.decode()


def test_reception_cannot_void(client_as):
    allergy = AllergyFactory()
    url = f"/patients/{allergy.patient.pk}/allergies/{allergy.pk}/void/"
    assert client_as(Role.RECEPTION).post(url, {"reason": "x"}).status_code == 403
    assert Allergy.objects.get().voided_at is None


@time_machine.travel(NOW, tick=False)
def test_a_stopped_anticoagulant_no_longer_blocks_from_the_next_day(client_as, clinic):
    medication = MedicationFactory(name="Warfarin", started_on=date(2026, 1, 1))
    ScreeningFactory(patient=medication.patient, screened_on=date(2026, 11, 10))
    client = client_as(Role.CLINICIAN)

    response = client.post(
        f"/patients/{medication.patient.pk}/medications/{medication.pk}/stop/",
        {"stopped_on": "2026-11-11"},
        follow=True,
    )

    assert "Medicine recorded as stopped" in response.content.decode()
    gate = treatment_clearance(
        patient=medication.patient, formulation_version=None, on_date=date(2026, 11, 12)
    )
    assert gate.cleared


@time_machine.travel(NOW, tick=False)
def test_a_medicine_cannot_stop_before_it_started(client_as):
    medication = MedicationFactory(started_on=date(2026, 6, 1))
    response = client_as(Role.CLINICIAN).post(
        f"/patients/{medication.patient.pk}/medications/{medication.pk}/stop/",
        {"stopped_on": "2026-05-01"},
        follow=True,
    )
    assert "cannot stop before it started" in response.content.decode()
    medication.refresh_from_db()
    assert medication.stopped_on is None


def test_an_allergy_is_recorded_with_who_recorded_it(clinician_user):
    patient = PatientFactory()

    allergy = allergy_record(
        patient=patient, allergy=Allergy(substance="Biotin"), by=clinician_user
    )

    assert (allergy.patient, allergy.recorded_by) == (patient, clinician_user)
    assert patient.allergies.get().substance == "Biotin"


def test_reception_cannot_record_a_clinical_row(reception_user):
    with pytest.raises(PermissionDenied):
        medication_record(
            patient=PatientFactory(), medication=Medication(name="Warfarin"), by=reception_user
        )
