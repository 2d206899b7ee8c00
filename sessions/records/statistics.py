"""Summary statistics of the outcome reports: plain Python on plain numbers, no Django, so the
arithmetic is tested against hand-computed values on its own.

The 95 % confidence interval of a mean is Student's t interval (mean ± t₀.₉₇₅,ₙ₋₁ · s/√n): it
needs no random numbers, so a page shows the same interval every time it is opened, and with the
small groups a clinic has (5–50 patients) it is the textbook choice. A proportion (the responder
rate) gets the Wilson score interval, which stays inside 0–100 % and behaves at 0/n and n/n where
the plain normal interval does not (Brown, Cai & DasGupta 2001).

A group smaller than the clinic's minimum shows its count only (DOMAIN.md "Outcome reporting":
means of two people mislead and re-identify)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist, fmean, median, stdev

# Two-sided 95 %: the 0.975 quantile of Student's t for 1–30 degrees of freedom (any statistics
# table, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2). Above 30 the Cornish–Fisher expansion below
# agrees with the table to three decimals.
T_975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)
Z_975 = NormalDist().inv_cdf(0.975)

Number = int | float | Decimal


def t_975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom."""
    if df < 1:
        raise ValueError("Student's t needs at least one degree of freedom.")
    if df <= len(T_975):
        return T_975[df - 1]
    # Cornish–Fisher expansion of t in terms of the normal quantile (Abramowitz & Stegun 26.7.5).
    z = Z_975
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


@dataclass(frozen=True)
class Summary:
    """n, mean, median and the 95 % t interval of a group, or only n when it is too small."""

    n: int
    mean: float | None = None
    median: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def suppressed(self) -> bool:
        return self.mean is None


def summarise(values: Iterable[Number], *, min_group: int) -> Summary:
    numbers = [float(value) for value in values]
    n = len(numbers)
    if n == 0 or n < min_group:
        return Summary(n=n)
    mean = fmean(numbers)
    if n == 1:
        # One value has no spread: no interval to give.
        return Summary(n=n, mean=mean, median=numbers[0])
    half = t_975(n - 1) * stdev(numbers) / math.sqrt(n)
    return Summary(n=n, mean=mean, median=median(numbers), ci_low=mean - half, ci_high=mean + half)


@dataclass(frozen=True)
class Proportion:
    """How many of n met a criterion, with the 95 % Wilson interval; only n when too small."""

    n: int
    count: int | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def suppressed(self) -> bool:
        return self.count is None

    @property
    def rate(self) -> float | None:
        return None if self.count is None or not self.n else self.count / self.n


def proportion(*, count: int, n: int, min_group: int) -> Proportion:
    if not 0 <= count <= n:
        raise ValueError("A count cannot be negative or larger than its group.")
    if n == 0 or n < min_group:
        return Proportion(n=n)
    z2 = Z_975**2
    p = count / n
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = Z_975 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return Proportion(
        n=n, count=count, ci_low=max(0.0, centre - half), ci_high=min(1.0, centre + half)
    )


def percent_change(*, baseline: Number, value: Number) -> float | None:
    """Change from baseline in % of the baseline; None when the baseline is zero."""
    if not baseline:
        return None
    return (float(value) - float(baseline)) * 100 / float(baseline)
