"""The report's arithmetic against values worked out by hand (no database)."""

import math
from decimal import Decimal

import pytest

from sessions.records.statistics import percent_change, proportion, summarise, t_975


def test_mean_median_and_t_interval_match_the_hand_computation():
    # given 2, 4, 4, 5, 10: mean 5, median 4, s² = (9 + 1 + 1 + 0 + 25) / 4 = 9, s = 3,
    # standard error 3/√5 = 1.34164, t(0.975, 4) = 2.776, half-width 3.72440
    summary = summarise([2, 4, 4, 5, 10], min_group=5)

    assert summary.n == 5
    assert summary.mean == 5
    assert summary.median == 4
    assert summary.ci_low == pytest.approx(5 - 3.72440, abs=1e-4)
    assert summary.ci_high == pytest.approx(5 + 3.72440, abs=1e-4)


def test_decimals_from_the_database_are_summarised_as_numbers():
    summary = summarise([Decimal("10.5"), Decimal("12.5")], min_group=2)
    # s = √2, se = 1, t(0.975, 1) = 12.706
    assert summary.mean == 11.5
    assert summary.ci_low == pytest.approx(11.5 - 12.706 * math.sqrt(2) / math.sqrt(2))


def test_a_group_below_the_minimum_shows_its_count_only():
    summary = summarise([12.0, 14.0, 9.0, 30.0], min_group=5)

    assert summary.n == 4
    assert summary.suppressed
    assert summary.mean is None and summary.median is None and summary.ci_low is None


def test_an_empty_group_is_suppressed_even_with_no_minimum():
    assert summarise([], min_group=0).suppressed


def test_t_quantiles_come_from_the_table_then_the_expansion():
    assert t_975(1) == 12.706
    assert t_975(30) == 2.042
    # Table values at 40 and 120 degrees of freedom: 2.021 and 1.980.
    assert t_975(40) == pytest.approx(2.021, abs=1e-3)
    assert t_975(120) == pytest.approx(1.980, abs=1e-3)
    with pytest.raises(ValueError):
        t_975(0)


def test_responder_rate_has_the_wilson_interval():
    # 3 of 5: p = 0.6, z² = 3.8415; centre (0.6 + 0.38415) / 1.76829 = 0.55655,
    # half-width 1.95996 · √(0.048 + 0.038415) / 1.76829 = 0.32583
    rate = proportion(count=3, n=5, min_group=5)

    assert rate.rate == 0.6
    assert rate.ci_low == pytest.approx(0.2307, abs=1e-4)
    assert rate.ci_high == pytest.approx(0.8824, abs=1e-4)


def test_wilson_interval_stays_inside_0_and_1_at_the_extremes():
    none, all_ = proportion(count=0, n=8, min_group=5), proportion(count=8, n=8, min_group=5)
    assert none.ci_low == 0.0 and 0 < none.ci_high < 0.4
    assert all_.ci_high == 1.0 and 0.6 < all_.ci_low < 1


def test_a_small_group_gets_no_responder_count():
    rate = proportion(count=2, n=3, min_group=5)
    assert rate.suppressed and rate.count is None and rate.n == 3


def test_a_count_larger_than_its_group_is_refused():
    with pytest.raises(ValueError):
        proportion(count=6, n=5, min_group=1)


def test_percent_change_is_relative_to_the_baseline():
    assert percent_change(baseline=Decimal("120.0"), value=Decimal("132.0")) == pytest.approx(10)
    assert percent_change(baseline=200, value=190) == pytest.approx(-5)
    assert percent_change(baseline=0, value=10) is None
