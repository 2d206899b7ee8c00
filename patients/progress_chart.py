"""The progress chart: change in hair density from baseline per zone over time, laid out here
as plain coordinates so the template draws it as inline SVG (no JavaScript, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .outcomes import ZoneProgress

# Colour-blind-safe palette (Okabe & Ito 2008), one colour per zone in scalp order.
PALETTE = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
    "#999999",
]

WIDTH, HEIGHT = 640, 260
FONT_PX = 11
# The widest glyph of a date label ("17 Jul 26") in an 11 px sans-serif is about 0.62 em; the
# labels are centred under their dates, so each side of the plot keeps room for half the widest
# label, or the first and last dates are cut off at the edge of the SVG.
LABEL_CHAR_PX = 0.62 * FONT_PX
DATE_LABEL_CHARS = len("17 Jul 26")
HALF_DATE_LABEL_PX = LABEL_CHAR_PX * DATE_LABEL_CHARS / 2
LEFT, TOP, BOTTOM = 56, 16, 36
RIGHT = round(HALF_DATE_LABEL_PX) + 8


@dataclass
class Point:
    x: float
    y: float
    on: date
    change: Decimal

    @property
    def label(self) -> str:
        sign = "+" if self.change > 0 else ""
        return f"{sign}{self.change.normalize():f}"


@dataclass
class Series:
    label: str
    colour: str
    points: list[Point]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class Tick:
    position: float
    text: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    series: list[Series] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    zero_y: float = 0.0
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    font_px: int = FONT_PX
    unit: str = "hairs/cm²"

    @property
    def is_empty(self) -> bool:
        return not any(len(s.points) > 0 for s in self.series)


def density_chart(*, progress: list[ZoneProgress]) -> Chart:
    """Density change from baseline per zone; zones without a density reading are left out."""
    chart = Chart()
    measured = [zone for zone in progress if zone.density]
    if not measured:
        return chart
    days = sorted({on for zone in measured for on, _ in zone.density})
    changes = [change for zone in measured for _, change in zone.density]
    low, high = min(min(changes), Decimal(0)), max(max(changes), Decimal(0))
    if low == high:
        high = low + 1
    first, last = days[0], days[-1]
    span = max((last - first).days, 1)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x_of(on: date) -> float:
        if first == last:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (on - first).days / span

    def y_of(value: Decimal) -> float:
        return TOP + plot_h * float((high - value) / (high - low))

    chart.zero_y = y_of(Decimal(0))
    for index, zone in enumerate(measured):
        chart.series.append(
            Series(
                label=zone.label,
                colour=PALETTE[index % len(PALETTE)],
                points=[Point(x_of(on), y_of(ch), on, ch) for on, ch in zone.density],
            )
        )
    for step in range(5):
        value = low + (high - low) * Decimal(step) / 4
        chart.y_ticks.append(Tick(y_of(value), f"{value.quantize(Decimal('0.1')).normalize():f}"))
    for on in _spread(days, 6):
        chart.x_ticks.append(Tick(x_of(on), f"{on:%d %b %y}"))
    return chart


def _spread(days: list[date], most: int) -> list[date]:
    if len(days) <= most:
        return days
    step = (len(days) - 1) / (most - 1)
    return [days[round(i * step)] for i in range(most)]
