"""Demo ingredients, formulations, versions and lots for `seed_demo`. Idempotent: a second run
finds everything by name and changes nothing. Dates are relative to today, so the demo stays
valid."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from .lots import lot_receive
from .models import (
    Formulation,
    FormulationVersion,
    Ingredient,
    IngredientCategory,
    Lot,
    LotStatus,
    StrengthUnit,
    VersionStatus,
)
from .versioning import line_add, version_create_draft, version_publish, version_retire

C = IngredientCategory
# name, category, prescription drug, synonyms, known side effects, evidence notes
INGREDIENTS = [
    (
        "Dutasteride",
        C.FIVE_ALPHA_REDUCTASE_INHIBITOR,
        True,
        "Avodart\nDutasteridum",
        "Scalp pain or burning at injection; rarely reduced libido or other sexual side effects. "
        "Do not give blood for 6 months after the last dose.",
        "Intradermal 0.01 % × 1 mL every 3 months improved hair density in male androgenetic "
        "alopecia.",
        "Saceda-Corralo D et al. 2017, 2022.",
    ),
    (
        "Finasteride",
        C.FIVE_ALPHA_REDUCTASE_INHIBITOR,
        True,
        "Propecia\nProscar",
        "Scalp pain at injection; rarely sexual side effects or low mood.",
        "Small trials of scalp injection; evidence weaker than for oral use.",
        "",
    ),
    ("Biotin", C.VITAMIN, False, "Vitamin B7\nVitamin H", "Injection-site redness.", "", ""),
    ("Vitamin B complex", C.VITAMIN, False, "B vitamins", "Injection-site redness.", "", ""),
    ("Niacinamide", C.VITAMIN, False, "Nicotinamide\nVitamin B3", "Flushing, redness.", "", ""),
    ("Hyaluronic acid", C.HYALURONIC_ACID, False, "Sodium hyaluronate", "Swelling.", "", ""),
    ("Caffeine", C.STIMULANT, False, "", "Stinging at injection.", "", ""),
    ("Amino-acid complex", C.AMINO_ACID, False, "", "Injection-site redness.", "", ""),
    ("Peptide complex", C.PEPTIDE, False, "", "Injection-site redness.", "", ""),
    ("Copper peptide", C.PEPTIDE, False, "GHK-Cu", "Injection-site redness.", "", ""),
    ("Glutathione", C.ANTIOXIDANT, False, "", "Injection-site redness.", "", ""),
    ("Zinc", C.MINERAL, False, "Zinc sulfate", "Stinging at injection.", "", ""),
    ("Coenzyme Q10", C.COENZYME, False, "Ubiquinone", "Injection-site redness.", "", ""),
    ("Growth factor complex", C.GROWTH_FACTOR, False, "", "Swelling, redness.", "", ""),
    ("Exosomes", C.EXOSOME, False, "Stem-cell derived exosomes", "Swelling, redness.", "", ""),
]

D = Decimal
NUTRIENT_V1 = [
    ("Biotin", D("0.5"), StrengthUnit.MG, D("5")),
    ("Amino-acid complex", D("50"), StrengthUnit.MG, D("5")),
    ("Peptide complex", D("10"), StrengthUnit.MG, D("5")),
    ("Hyaluronic acid", D("0.5"), StrengthUnit.PERCENT_WV, None),
]
NUTRIENT_V2 = [*NUTRIENT_V1, ("Caffeine", D("20"), StrengthUnit.MG, D("5"))]
DHT_BLOCK = [("Dutasteride", D("0.01"), StrengthUnit.PERCENT_WV, None)]
DHT_BLOCK_V2 = [*DHT_BLOCK, ("Caffeine", D("4"), StrengthUnit.MG, D("1"))]
DHT_BLOCK_V3 = [*DHT_BLOCK_V2, ("Copper peptide", D("1"), StrengthUnit.MG, D("1"))]
# Lots the demo's past courses (sessions/demo.py) injected: received over a year ago, so every
# session of those courses falls inside their shelf life. Lot number, version key.
COHORT_LOTS = [
    ("NSC-2404", "nutrient_v2"),
    ("DHT-2404", "dht_v1"),
    ("DHT-2409", "dht_v2"),
    ("DHT-2411", "dht_v3"),
]
COHORT_LOT_RECEIVED_DAYS_AGO = 420


def seed(*, clinic) -> None:
    ingredients = {}
    for name, category, rx, synonyms, side_effects, evidence, references in INGREDIENTS:
        ingredient, _ = Ingredient.objects.get_or_create(
            name=name,
            defaults={
                "category": category,
                "is_prescription_drug": rx,
                "synonyms": synonyms,
                "known_side_effects": side_effects,
                "evidence_notes": evidence,
                "references": references,
            },
        )
        ingredients[name] = ingredient

    today = timezone.localdate()
    nutrient, _ = Formulation.objects.get_or_create(
        name="Nutrient scalp cocktail",
        defaults={
            "purpose": "Nutrient support for thinning hair.",
            "technique_notes": "Nappage 2–4 mm over the thinning area.",
        },
    )
    v1 = _version(nutrient, 1, NUTRIENT_V1, ingredients, D("5"), "")
    if v1.status == VersionStatus.PUBLISHED:
        version_retire(version=v1)
    v2 = _version(nutrient, 2, NUTRIENT_V2, ingredients, D("5"), "Adds caffeine 20 mg per vial.")
    dht, _ = Formulation.objects.get_or_create(
        name="DHT-block scalp cocktail",
        defaults={
            "purpose": "Local 5-alpha-reductase inhibition for androgenetic alopecia.",
            "technique_notes": "Papule 1–2 mm; 1 mL per session every 3 months.",
        },
    )
    dht_v1 = _version(dht, 1, DHT_BLOCK, ingredients, D("1"), "")
    dht_v2 = _version(
        dht, 2, DHT_BLOCK_V2, ingredients, D("1"), "Adds caffeine 4 mg/mL for the hair shaft."
    )
    dht_v3 = _version(
        dht, 3, DHT_BLOCK_V3, ingredients, D("1"), "Adds copper peptide (GHK-Cu) 1 mg/mL."
    )
    by_key = {"nutrient_v2": v2, "dht_v1": dht_v1, "dht_v2": dht_v2, "dht_v3": dht_v3}
    received = today - timedelta(days=COHORT_LOT_RECEIVED_DAYS_AGO)
    for number, key in COHORT_LOTS:
        if not Lot.objects.filter(supplier="Demo Compounding Pharmacy", lot_number=number).exists():
            lot_receive(
                version=by_key[key],
                lot_number=number,
                supplier="Demo Compounding Pharmacy",
                received_on=received,
                expires_on=received + timedelta(days=730),
                quantity_received=400,
            )

    # lot number, version, received days ago, expires in days, remaining, status, reason
    lots = [
        ("NSC-2401", v1, 200, -20, 4, LotStatus.AVAILABLE, ""),  # expired by date
        ("NSC-2502", v2, 30, 335, 40, LotStatus.AVAILABLE, ""),
        ("NSC-2503", v2, 10, 355, 50, LotStatus.QUARANTINED, "Supplier certificate awaited."),
        ("DHT-2501", dht_v1, 20, 160, 25, LotStatus.AVAILABLE, ""),
    ]
    for number, version, received_ago, expires_in, remaining, status, reason in lots:
        Lot.objects.get_or_create(
            supplier="Demo Compounding Pharmacy",
            lot_number=number,
            defaults={
                "version": version,
                "received_on": today - timedelta(days=received_ago),
                "expires_on": today + timedelta(days=expires_in),
                "quantity_received": 50,
                "quantity_remaining": remaining,
                "status": status,
                "status_reason": reason,
            },
        )


def _version(formulation, number, lines, ingredients, unit_volume_ml, change_note):
    version = FormulationVersion.objects.filter(formulation=formulation, number=number).first()
    if version is not None:
        return version
    version = version_create_draft(
        formulation=formulation,
        unit_volume_ml=unit_volume_ml,
        vehicle="Sterile water for injection",
        instructions="Use one vial per session; discard any remainder.",
        change_note=change_note,
    )
    for name, amount, unit, per_volume_ml in lines:
        line_add(
            version=version,
            ingredient=ingredients[name],
            amount=amount,
            unit=unit,
            per_volume_ml=per_volume_ml,
        )
    return version_publish(version=version, by=None)
