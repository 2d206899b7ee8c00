"""The comparison chart: mean density change from baseline in the treated zone at week 0 and the
clinic's two time points, one line per group with its 95 % interval as whiskers, and the
occipital control as a dashed line in the same colour. Laid out here as coordinates; the
template draws inline SVG (no JavaScript, no CDN), as patients/progress_chart.py does."""

from __future__ import annotations

from dataclasses import dataclass, field

from patients.progress_chart import PALETTE, Tick
from sessions.records.outcome_report import CONTROL_ZONE, GroupReport, ReportSettings

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 16, 40
FONT_PX = 11
DODGE_PX = 7


@dataclass
class ChartPoint:
    x: float
    y: float
    low_y: float | None
    high_y: float | None
    n: int
    text: str

    @property
    def cap_left(self) -> float:
        return self.x - 4

    @property
    def cap_right(self) -> float:
        return self.x + 4


@dataclass
class ChartSeries:
    label: str
    colour: str
    dashed: bool
    points: list[ChartPoint]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class ComparisonChart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    bottom_edge: int = HEIGHT - BOTTOM
    font_px: int = FONT_PX
    zero_y: float = 0.0
    series: list[ChartSeries] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any(len(s.points) > 1 for s in self.series)


def comparison_chart(*, groups: list[GroupReport], settings: ReportSettings) -> ComparisonChart:
    """Only groups large enough to report: a suppressed time point is left out of its line."""
    chart = ComparisonChart()
    weeks = [0, settings.early_week, settings.late_week]
    raw = []
    for index, group in enumerate(groups):
        colour = PALETTE[index % len(PALETTE)]
        for key, dashed, suffix in (
            ("treated_pct", False, "treated zone"),
            (("density_pct", CONTROL_ZONE), True, "occipital control"),
        ):
            row = group.row(key)
            if row is None:
                continue
            points = [(0, 0.0, None, None, group.patients)]
            for week, summary in ((weeks[1], row.early), (weeks[2], row.late)):
                if not summary.suppressed:
                    points.append((week, summary.mean, summary.ci_low, summary.ci_high, summary.n))
            if len(points) > 1:
                raw.append((f"{group.label}: {suffix}", colour, dashed, points, index))
    if not raw:
        return chart
    values = [
        v for *_, pts, _ in raw for _, m, lo, hi, _ in pts for v in (m, lo, hi) if v is not None
    ]
    low, high = min(min(values), 0.0), max(max(values), 0.0)
    if high - low < 1:
        high = low + 1
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x_of(week: int, group: int | None = None) -> float:
        # Groups sit a few pixels apart at a time point, so their whiskers do not overlap.
        dodge = 0 if group is None or week == 0 else (group - (len(groups) - 1) / 2) * DODGE_PX
        return LEFT + plot_w * week / weeks[-1] + dodge

    def y_of(value: float) -> float:
        return TOP + plot_h * (high - value) / (high - low)

    chart.zero_y = y_of(0.0)
    for label, colour, dashed, points, group_index in raw:
        chart.series.append(
            ChartSeries(
                label=label,
                colour=colour,
                dashed=dashed,
                points=[
                    ChartPoint(
                        x=x_of(week, group_index),
                        y=y_of(mean),
                        low_y=None if lo is None else y_of(lo),
                        high_y=None if hi is None else y_of(hi),
                        n=n,
                        text=f"week {week}: {mean:+.1f} % (n = {n})",
                    )
                    for week, mean, lo, hi, n in points
                ],
            )
        )
    chart.x_ticks = [Tick(x_of(w), f"week {w}") for w in weeks]
    digits = 0 if high - low >= 10 else 1
    for step in range(5):
        value = low + (high - low) * step / 4
        text = f"{value:+.{digits}f} %".replace("-0 %", "0 %").replace("+0 %", "0 %")
        chart.y_ticks.append(Tick(y_of(value), text))
    return chart
