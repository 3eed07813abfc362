"""Every page and every tab, in English and in Chinese, as a person reads it under AppTest.

A table header, metric label, widget label or option that is snake_case or a stored column name, a
cell holding a raw vocabulary code or the text "None", and a money column in cents (a header that
says yuan over values 100 times too large) are all failures, wherever they appear.
"""
from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest

from cockpit import customer_tabs, demand_tabs, event_tabs, feedback_tabs, indicator_tabs
from ops_core import indicators, overview, present, scoring
from ops_core.db.engine import make_engine
from ops_core.filters import Filters
from ops_core.i18n import LABELLED_VOCABULARIES, t
from tests.conftest import ROOT, ok, open_page

SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
STORED_NAMES = (set(present.CATALOGUE) | set(present.HIDDEN)) - {"L"}
# Codes no person should read: every vocabulary value with a label other than itself, and the codes
# the presentation layer labels by a key prefix.
CODES_WITH_UNDERSCORE = {v.value for enum in LABELLED_VOCABULARIES for v in enum if "_" in v.value}

# The field's acronyms, the only Latin words a Chinese header may hold (R, F, M: the RFM scores; L: level).
ACRONYMS = {"ARR", "MRR", "NRR", "GRR", "KA", "RFM", "ROI", "CSM", "SLA", "FAQ", "DAU", "MAU", "PV", "UV", "RICE",
            "R", "F", "M", "L", "U", "W"}  # U, W: the U- and W-shaped models

PAGES: dict[str, tuple[str, dict] | None] = {
    "pages/home.py": None,
    "pages/indicators.py": ("i_tab", indicator_tabs.TABS),
    "pages/customers.py": ("c_tab", customer_tabs.TABS),
    "pages/demands.py": ("d_tab", demand_tabs.TABS),
    "pages/feedback.py": ("f_tab", feedback_tabs.TABS),
    "pages/events.py": ("e_tab", event_tabs.TABS),
    "pages/data.py": None,
    "pages/accounts.py": None,
}


def money_bound_yuan(url: str) -> float:
    """The largest amount any page may show, in yuan: the whole company's highest monthly ARR.

    One customer's ARR, a movement, an event's cost or a segment's total all stay below it; a
    column of cents is 100 times larger and goes over it (see the test of the bound below)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        bound = float(overview.monthly_trend(conn, Filters.default(dt.date.today()))["arr"].max())
    engine.dispose()
    return bound


def vocabulary_headers(lang: str) -> dict[str, present.Column]:
    """Shown header -> the catalogue column of a vocabulary, for the codes to look for under it."""
    return {present.header(name, lang): spec for name, spec in present.CATALOGUE.items()
            if spec.kind == present.Kind.vocabulary and not isinstance(spec.vocabulary, str)}


def raw_codes(spec: present.Column, lang: str) -> set[str]:
    return {v.value for v in spec.vocabulary if present.label_of(v.value, spec.vocabulary, lang) != v.value}


def table_problems(frame: pd.DataFrame, where: str, lang: str, bound: float) -> list[str]:
    found: list[str] = []
    by_header = vocabulary_headers(lang)
    for header in frame.columns:
        text = str(header)
        if SNAKE.match(text) or text in STORED_NAMES:
            found.append(f"{where}: header {text!r}")
        elif lang == "en" and text[:1].islower() and " " not in text:
            found.append(f"{where}: header {text!r} is a stored name, not a heading")
        elif lang == "zh" and set(re.findall(r"[A-Za-z]+", text)) - ACRONYMS:
            found.append(f"{where}: header {text!r} is not in Chinese")
        values = frame[header]
        if isinstance(values, pd.DataFrame):  # a header shown twice
            found.append(f"{where}: header {text!r} appears twice")
            continue
        cells = {str(v) for v in values.dropna() if isinstance(v, str)}
        if "None" in cells or "nan" in cells:
            found.append(f"{where}: column {text!r} shows 'None'")
        stray = cells & CODES_WITH_UNDERSCORE
        if text in by_header:
            stray |= cells & raw_codes(by_header[text], lang)
        if stray:
            found.append(f"{where}: column {text!r} shows codes {sorted(stray)[:5]}")
        if text in present.CATALOGUE and present.CATALOGUE[text].kind == present.Kind.money:
            found.append(f"{where}: column {text!r} holds cents under the stored name")
        money = ("¥" in text or "元" in text) and pd.api.types.is_numeric_dtype(values) and values.notna().any()
        if money and values.abs().max() > bound:
            found.append(f"{where}: column {text!r} holds cents (max {values.abs().max():,.0f} > {bound:,.0f} yuan)")
    return found


def label_problems(text: str, where: str) -> list[str]:
    bare = str(text).strip()
    if SNAKE.match(bare) or bare in STORED_NAMES or bare in CODES_WITH_UNDERSCORE:
        return [f"{where}: {bare!r}"]
    return []


WIDGETS = ("selectbox", "multiselect", "radio", "slider", "select_slider", "number_input", "text_input", "text_area",
           "checkbox", "toggle", "date_input", "time_input", "button", "color_picker")


def encodings(spec: object) -> list[tuple[str, dict]]:
    """Every (channel, encoding) of a Vega-Lite spec, layers and tooltip lists included."""
    found: list[tuple[str, dict]] = []
    if isinstance(spec, dict):
        for channel, value in (spec.get("encoding") or {}).items():
            for one in value if isinstance(value, list) else [value]:
                if isinstance(one, dict):
                    found.append((channel, one))
        for key in ("layer", "hconcat", "vconcat", "concat"):
            for part in spec.get(key) or []:
                found += encodings(part)
        if isinstance(spec.get("spec"), dict):
            found += encodings(spec["spec"])
    return found


def chart_problems(element, where: str, lang: str) -> list[str]:
    """A chart's axis, legend and tooltip titles (a field without a title is shown by its name) and
    the text values of its data."""
    import pyarrow as pa

    found: list[str] = []
    spec = json.loads(element.proto.spec)
    for channel, encoding in encodings(spec):
        field = encoding.get("field")
        if field is None or channel in ("order", "xOffset", "yOffset", "theta", "x2", "y2"):  # x2, y2 share x, y
            continue
        shown = encoding.get("title", field)
        if shown is not None and (SNAKE.match(str(shown)) or str(shown) in STORED_NAMES - {"L"}):
            found.append(f"{where}: {channel} titled {shown!r}")
    for dataset in element.proto.datasets:
        data = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
        for column in data.columns:
            cells = {v for v in data[column].dropna() if isinstance(v, str)}
            stray = cells & CODES_WITH_UNDERSCORE
            spec_column = present.CATALOGUE.get(str(column))
            if spec_column is not None and spec_column.kind == present.Kind.vocabulary and \
                    not isinstance(spec_column.vocabulary, str):
                stray |= cells & raw_codes(spec_column, lang)
            if stray:
                found.append(f"{where}: chart data {column!r} shows codes {sorted(stray)[:5]}")
    return found


def what_a_person_reads(app, where: str, lang: str, bound: float) -> list[str]:
    found: list[str] = []
    for i, element in enumerate(app.dataframe):
        found += table_problems(element.value, f"{where} table {i}", lang, bound)
    charts = [e for e in app.main if getattr(e, "type", "") in ("vega_lite_chart", "arrow_vega_lite_chart")]
    for i, element in enumerate(charts):
        found += chart_problems(element, f"{where} chart {i}", lang)
    for element in app.metric:
        found += label_problems(element.label, f"{where} metric label")
    for kind in WIDGETS:
        for element in getattr(app, kind):
            found += label_problems(getattr(element, "label", ""), f"{where} {kind} label")
            for option in getattr(element, "options", None) or ():
                found += label_problems(option, f"{where} {kind} option")
    return found


def open_in(url: str, page: str, lang: str, monkeypatch, state: dict | None = None):
    """The app opened in ``lang`` from the start (as a link with ``?lang=zh`` does), on ``page``, with
    ``state`` (an open tab) set before it runs. One run per view: AppTest formats a rerun's widget
    options outside the script, where the chosen language is not known."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OPS_DATABASE_URL", url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.query_params["lang"] = lang
    for key, value in (state or {}).items():
        app.session_state[key] = value
    ok(app.run())
    app.switch_page(page)
    return ok(app.run())


@pytest.fixture(scope="module")
def bound(demo_url) -> float:
    return money_bound_yuan(demo_url)


def test_the_cents_bound_tells_yuan_from_cents(demo_engine, bound):
    # The largest customer's ARR on the demo company: in yuan under the bound, in cents over it.
    with demo_engine.connect() as conn:
        largest = float(scoring.derive_features(conn, dt.date.today())["arr_cents"].max())
    assert largest / 100 <= bound < largest


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_tab_reads_in_yuan_labels_and_the_readers_language(demo_url, monkeypatch, bound, page, lang):
    app = open_in(demo_url, page, lang, monkeypatch)
    found = what_a_person_reads(app, page, lang, bound)
    tabs = PAGES[page]
    if tabs is not None:
        key, shows = tabs
        for text in list(shows)[1:]:  # the first tab is the one open above
            state = {key: t(text, lang)}
            app = open_in(demo_url, page, lang, monkeypatch, state)
            found += what_a_person_reads(app, f"{page} [{t(text, lang)}]", lang, bound)
    if page == "pages/indicators.py":  # the scorecard's drill-down lists the customers behind a movement
        app = open_in(demo_url, page, lang, monkeypatch, {"i_metric": "mrr_churn"})
        found += what_a_person_reads(app, f"{page} [churn]", lang, bound)
    assert found == [], "\n".join(found)


def test_the_churn_drill_down_lists_yuan_as_ops_core_computes_them(demo_url, demo_engine, monkeypatch):
    app = open_page(demo_url, "pages/indicators.py", monkeypatch)
    app.session_state["i_metric"] = "mrr_churn"
    ok(app.run())
    period = app.selectbox(key="i_period").value
    with demo_engine.connect() as conn:
        expected = indicators.movement_customers(conn, period, "churn", Filters.default(dt.date.today())).head(200)
    drill = [d.value for d in app.dataframe if "Change (¥)" in d.value.columns]
    assert len(drill) == 1 and len(expected) > 0
    shown = drill[0]
    assert list(shown.columns) == ["Code", "Customer", "Industry", "MRR at the start (¥)", "MRR at the end (¥)",
                                   "Change (¥)"]
    assert shown["Code"].tolist() == expected["code"].tolist()
    # ops_core keeps cents; the page shows yuan: 6,462,500 cents read 64,625.00.
    assert shown["MRR at the start (¥)"].tolist() == (expected["start_mrr"] / 100).tolist()
    assert shown["Change (¥)"].tolist() == (expected["change"] / 100).tolist()
    assert shown["Industry"].tolist() == [t(f"industry.{v}") for v in expected["industry"]]
