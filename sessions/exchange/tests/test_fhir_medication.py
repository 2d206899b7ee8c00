"""What was injected survives the trip through FHIR: the dose worked out from the exported
MedicationAdministration and Medication equals the record's, and the lot number and expiry are
the lot's."""

from decimal import Decimal

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationadministration import MedicationAdministration

from formulations.models import Lot
from formulations.units import ingredient_doses
from sessions.exchange.bundle import patient_everything
from sessions.exchange.tests.conftest import NOW
from sessions.models import Injection

BASE = "http://clinic.test/fhir"


def _parsed(patient, clinic):
    bundle = patient_everything(patient=patient, clinic=clinic, base_url=BASE, now=NOW)
    # Through JSON text and the library, as a receiving system would read it.
    parsed = Bundle.model_validate_json(Bundle.model_validate(bundle).model_dump_json())
    by_ref = {f"{e.resource.get_resource_type()}/{e.resource.id}": e.resource for e in parsed.entry}
    return parsed, by_ref


def test_the_dose_per_ingredient_and_the_lot_survive_the_round_trip(treated, clinic):
    # given the exported record, parsed back by fhir.resources
    parsed, by_ref = _parsed(treated, clinic)
    administrations = [r for r in by_ref.values() if isinstance(r, MedicationAdministration)]

    # when each dose is worked out from the export alone: volume × numerator / denominator
    for administration in administrations:
        medication = by_ref[administration.medicationReference.reference]
        assert isinstance(medication, Medication)
        volume = Decimal(str(administration.dosage.dose.value))
        exported = {}
        for line in medication.ingredient:
            substance = by_ref[line.itemReference.reference]
            ratio = line.strength
            per_ml = Decimal(str(ratio.numerator.value)) / Decimal(str(ratio.denominator.value))
            exported[substance.code.text] = (per_ml * volume, ratio.numerator.code)

        # then it equals the record's dose arithmetic (DOMAIN.md: volume × strength)
        injection = Injection.objects.get(pk=int(administration.id.removeprefix("injection-")))
        expected = ingredient_doses(
            version=injection.record.formulation_version, volume_ml=injection.volume_ml
        )
        assert {d.ingredient.name: d.amount for d in expected} == {
            name: amount * (1000 if code == "g" else 1) for name, (amount, code) in exported.items()
        }
        # and the lot number and expiry are the lot's
        lot = Lot.objects.get(lot_number="DHT-7001")
        assert medication.batch.lotNumber == "DHT-7001"
        assert medication.batch.expirationDate.isoformat() == lot.expires_on.isoformat()
    assert sorted(Decimal(str(a.dosage.dose.value)) for a in administrations) == [
        Decimal("0.5"),
        Decimal("1.25"),
    ]
    # 1.25 mL of 0.01 % w/v dutasteride is 0.125 mg (1 % w/v = 10 mg/mL).
    vertex = next(a for a in administrations if a.dosage.site.text == "Vertex")
    assert "Dutasteride 0.125 mg" in vertex.dosage.text
