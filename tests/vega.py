"""What a chart shows, read from a page under AppTest: its Vega-Lite spec, its data, and the tick
labels Vega would print (d3's tick algorithm, written out here as an independent oracle)."""
from __future__ import annotations

import json
import math

import pandas as pd
import pyarrow as pa


def charts(app) -> list[tuple[dict, dict[str, pd.DataFrame]]]:
    """Each Altair chart of the page: (spec, data sets by name)."""
    out = []
    for element in app.get("vega_lite_chart"):
        data = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in element.proto.datasets}
        out.append((json.loads(element.proto.spec), data))
    return out


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def d3_ticks(start: float, stop: float, count: int) -> list[float]:
    """d3-array's ticks(start, stop, count): steps of 1, 2 or 5 times a power of ten."""
    step = (stop - start) / count
    power = math.floor(math.log10(step))
    error = step / 10 ** power
    factor = 10 if error >= math.sqrt(50) else 5 if error >= math.sqrt(10) else 2 if error >= math.sqrt(2) else 1
    increment = factor * 10 ** power
    first, last = math.ceil(start / increment), math.floor(stop / increment)
    return [i * increment for i in range(first, last + 1)]


def tick_labels(start: float, stop: float, fmt: str, count: int, min_step: float | None = None) -> list[str]:
    """The labels Vega prints for ``count`` ticks over [start, stop] in d3 format ``fmt`` (".1%", ",.0f"),
    the count capped by ``tickMinStep`` as Vega caps it."""
    if min_step:
        count = min(count, math.floor((stop - start) / min_step) + 1)
    decimals = int(fmt.rstrip("%f").split(".")[1])
    if fmt.endswith("%"):
        return [f"{v * 100:.{decimals}f}%" for v in d3_ticks(start, stop, count)]
    return [f"{v:,.{decimals}f}" for v in d3_ticks(start, stop, count)]
