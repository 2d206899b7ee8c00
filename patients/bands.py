"""Bands that group patients for reports and research data without naming them: age bands (with
everyone over 89 in one, HIPAA Safe Harbor's rule, 45 CFR 164.514(b)(2)(i)(C)) and a severity band
read from the assessment's scale."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from .models import Scale

# (lowest age, label); each band runs to the next one's lowest age.
AGE_BANDS = [
    (0, "under 18"),
    (18, "18–29"),
    (30, "30–39"),
    (40, "40–49"),
    (50, "50–59"),
    (60, "60–69"),
    (70, "70–79"),
    (80, "80–89"),
    (90, "90 or over"),
]


def age_on(*, date_of_birth: date, day: date) -> int:
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def age_band(age: int) -> str:
    label = AGE_BANDS[0][1]
    for lowest, name in AGE_BANDS:
        if age >= lowest:
            label = name
    return label


class SeverityBand:
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    CHOICES = [(MILD, "Mild"), (MODERATE, "Moderate"), (SEVERE, "Severe")]


# Practice default reading of each scale as mild / moderate / severe, the split DOMAIN.md uses to
# pick a plan (mild/moderate 4–6 sessions, severe 8–10). SALT follows the S-classes of Olsen 2004
# (S1 < 25 % loss mild, S2 25–49 % moderate, S3+ ≥ 50 % severe).
_SCALE_BANDS = {
    Scale.NORWOOD: {
        "I": SeverityBand.MILD,
        "II": SeverityBand.MILD,
        "IIa": SeverityBand.MILD,
        "III": SeverityBand.MODERATE,
        "IIIa": SeverityBand.MODERATE,
        "III-vertex": SeverityBand.MODERATE,
        "IV": SeverityBand.MODERATE,
        "IVa": SeverityBand.MODERATE,
        "V": SeverityBand.SEVERE,
        "Va": SeverityBand.SEVERE,
        "VI": SeverityBand.SEVERE,
        "VII": SeverityBand.SEVERE,
    },
    Scale.LUDWIG: {"I": SeverityBand.MILD, "II": SeverityBand.MODERATE, "III": SeverityBand.SEVERE},
    Scale.SINCLAIR: {
        "1": SeverityBand.MILD,
        "2": SeverityBand.MILD,
        "3": SeverityBand.MODERATE,
        "4": SeverityBand.SEVERE,
        "5": SeverityBand.SEVERE,
    },
    Scale.SAVIN: {
        "I-1": SeverityBand.MILD,
        "I-2": SeverityBand.MILD,
        "I-3": SeverityBand.MILD,
        "I-4": SeverityBand.MODERATE,
        "II-1": SeverityBand.MODERATE,
        "II-2": SeverityBand.MODERATE,
        "III": SeverityBand.SEVERE,
        "advanced": SeverityBand.SEVERE,
        "frontal": SeverityBand.MODERATE,
    },
}


def severity_band(*, scale: str, value: str) -> str | None:
    """Mild, moderate or severe for a reading of `scale`; None for an unreadable value."""
    if scale == Scale.SALT:
        try:
            loss = Decimal(value)
        except (InvalidOperation, ValueError):
            return None
        if loss < 25:
            return SeverityBand.MILD
        return SeverityBand.MODERATE if loss < 50 else SeverityBand.SEVERE
    return _SCALE_BANDS.get(scale, {}).get(value)
