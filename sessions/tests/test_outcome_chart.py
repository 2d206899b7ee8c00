"""The comparison chart's layout: suppressed time points left out, groups apart, zero drawn."""

from sessions.records.outcome_chart import comparison_chart
from sessions.records.outcome_report import GroupReport, MeasureRow, ReportSettings
from sessions.records.statistics import Proportion, Summary

SETTINGS = ReportSettings()


def group(label, late_mean, early_n=10):
    def row(key, mean):
        return MeasureRow(
            key=key,
            label=str(key),
            unit="%",
            is_control=key != "treated_pct",
            early=Summary(n=early_n, mean=mean / 2, median=mean / 2, ci_low=0, ci_high=mean)
            if early_n >= 5
            else Summary(n=early_n),
            late=Summary(n=10, mean=mean, median=mean, ci_low=mean - 3, ci_high=mean + 3),
        )

    return GroupReport(
        key=label,
        label=label,
        mixed=False,
        versions=[],
        courses=[],
        rows=[row("treated_pct", late_mean), row(("density_pct", "occipital"), 0.2)],
        responders=Proportion(n=10),
    )


def test_each_group_has_a_treated_line_and_a_dashed_control():
    chart = comparison_chart(groups=[group("A", 14), group("B", 4)], settings=SETTINGS)

    assert [(s.label, s.dashed) for s in chart.series] == [
        ("A: treated zone", False),
        ("A: occipital control", True),
        ("B: treated zone", False),
        ("B: occipital control", True),
    ]
    a, b = chart.series[0], chart.series[2]
    # the larger gain is drawn higher, and the two groups sit apart at week 24
    assert a.points[-1].y < b.points[-1].y
    assert a.points[-1].x != b.points[-1].x
    assert a.points[0].x == b.points[0].x  # week 0 is shared
    assert min(t.position for t in chart.y_ticks) <= chart.zero_y


def test_a_suppressed_time_point_is_left_out_of_the_line():
    chart = comparison_chart(groups=[group("A", 14, early_n=3)], settings=SETTINGS)

    treated = chart.series[0]
    assert [p.text.split(":")[0] for p in treated.points] == ["week 0", "week 24"]


def test_no_reportable_group_draws_nothing():
    empty = GroupReport(
        key="x",
        label="x",
        mixed=False,
        versions=[],
        courses=[],
        rows=[],
        responders=Proportion(n=0),
    )
    assert comparison_chart(groups=[empty], settings=SETTINGS).is_empty
