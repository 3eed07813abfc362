"""How a chart reads: the axis range and tick format chosen from the values it draws.

Pure functions over plain numbers; the UI hands their results to Altair (``scale=alt.Scale(domain=...)``,
``axis=alt.Axis(format=..., tickMinStep=...)``); ops_core never imports altair. The chart locale (month
and day names, number format of each language) is in the translation table, ``i18n.chart_locale``.

- A rate's axis spans its values with a margin, not 0..100 % (a retention line between 97 % and
  100 % drawn on 0..100 % is flat).
- Ticks never repeat a label: the format carries as many decimals as the data's range needs, and
  the smallest tick step (``tickMinStep``) is one unit of the last decimal shown, so two ticks
  always differ in what they print.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

DENSEST = 20        # span / DENSEST is finer than any step Vega picks for up to ten ticks
MARGIN = 0.1        # share of the values' span added below and above


def _finite(values: Iterable[object]) -> list[float]:
    out = []
    for v in values:
        try:
            number = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out.append(number)
    return out


def value_domain(values: Iterable[object], *, floor: float | None = None) -> list[float] | None:
    """The axis range of ``values``: their span with a margin (never below ``floor`` when every value
    is at or above it); None when there is no finite value (the chart picks its own)."""
    known = _finite(values)
    if not known:
        return None
    low, high = min(known), max(known)
    span = high - low
    pad = span * MARGIN if span else max(abs(high) * 0.05, 0.01)
    start, end = low - pad, high + pad
    if floor is not None and low >= floor:
        start = max(start, floor)
    return [start, end]


@dataclass(frozen=True)
class Ticks:
    """An axis's tick format (d3) and smallest tick step, both from the data."""

    format: str
    min_step: float
    decimals: int


def ticks(values: Iterable[object], *, percent: bool) -> Ticks:
    """Tick format and smallest step for an axis over ``values`` (ratios when ``percent``).

    Vega draws up to about ten ticks (one per 40 pixels) at a step of 1, 2 or 5 times a power of ten,
    never less than 0.63 of span / ticks; ``DENSEST`` steps over the span is finer than any such
    step, so showing its decimals tells every tick apart (a span of 0.3 percentage points: two
    decimals). The smallest step, one unit of the last decimal shown, keeps Vega from going finer."""
    known = _finite(values)
    scale = 100.0 if percent else 1.0
    span = (max(known) - min(known)) * scale if len(known) > 1 else 0.0
    if not span:
        span = max((abs(v) * scale for v in known), default=1.0) or 1.0
    step = span / DENSEST
    decimals = max(0, -math.floor(math.log10(step)))
    unit = 10.0 ** -decimals / scale
    return Ticks(f".{decimals}%" if percent else f",.{decimals}f", unit, decimals)
