"""The indicator page under AppTest: the numbers shown are the registry's, for every grain and segment."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ops_core import metrics, present, reports, snapshot
from ops_core.db.engine import make_engine
from ops_core.filters import Filters
from ops_core.periods import period_of, previous
from tests import vega
from tests.conftest import open_page, small_company


@pytest.fixture
def page(demo_url, monkeypatch) -> AppTest:
    return open_page(demo_url, "pages/indicators.py", monkeypatch)


def expected_tiles(url: str, grain: str) -> dict[str, str]:
    """The level-1 tiles recomputed from ops_core: the last complete period of the default sidebar range."""
    today = dt.date.today()
    period = previous(period_of(grain, today + dt.timedelta(days=1)))
    engine = make_engine(url)
    with engine.connect() as conn:
        card = metrics.scorecard(conn, grain, period, Filters.default(today))
    engine.dispose()
    # Money compact as on the home page's tiles (present.money: ¥60.12M), everything else as the reports write it.
    return {metrics.BY_KEY[k].name_en: present.money(v, "en") if metrics.BY_KEY[k].unit is metrics.Unit.cents
            else reports.format_value(metrics.BY_KEY[k], v)
            for k, v, level in zip(card["metric"], card["value"], card["level"], strict=True) if level == 1}


def tiles(app: AppTest) -> dict[str, str]:
    return {m.label.split(" ", 1)[1]: m.value for m in app.metric}  # the label starts with the status dot


@pytest.mark.parametrize("grain", ["month", "quarter", "week"])
def test_the_scorecard_shows_the_registry_values_for_each_grain(page, demo_url, grain):
    page.selectbox(key="i_grain").set_value(grain).run()
    assert [e.value for e in page.exception] == []
    assert tiles(page) == expected_tiles(demo_url, grain)
    assert len(page.metric) == len(metrics.LEVEL1)
    repurchase = next(m for m in page.metric if m.label.endswith("Repurchase rate"))
    if repurchase.value == "n/a":  # a window still open: the tile says when it closes (365 days after the period)
        period = previous(period_of(grain, dt.date.today() + dt.timedelta(days=1)))
        assert repurchase.delta == f"judged on {(period.end + dt.timedelta(days=365)).isoformat()}"


def test_a_money_tile_is_compact_and_its_help_gives_the_exact_figure(page, demo_url):
    """A tile is too narrow for ¥10,685,230,123 (at 50,000 customers it showed "¥10,685,23…"): ARR reads
    ¥X.XXM (¥X.XX亿 in Chinese), and the tile's help starts with the exact yuan."""
    today = dt.date.today()
    period = previous(period_of("month", today + dt.timedelta(days=1)))
    engine = make_engine(demo_url)
    with engine.connect() as conn:
        arr = metrics.scorecard(conn, "month", period, Filters.default(today)).set_index("metric").at["arr", "value"]
    engine.dispose()
    tile = next(m for m in page.metric if m.label.endswith(" ARR"))
    assert tile.value == f"¥{arr / 100 / 1e6:,.2f}M"  # the demo company's ARR is millions of yuan
    assert tile.proto.help.startswith(f"**¥{arr / 100:,.0f}** · ")
    page.session_state["ops_lang"] = "zh"
    page.run()
    tile = next(m for m in page.metric if "ARR" in m.label or "年度经常性收入" in m.label)
    assert tile.value == (f"¥{arr / 100 / 1e8:,.2f}亿" if arr / 100 >= 1e8 else f"¥{arr / 100 / 1e4:,.1f}万")


def test_changing_the_segment_keeps_the_numbers_and_draws_the_breakdown(page, demo_url):
    before = tiles(page)
    page.selectbox(key="i_segment").set_value("region").run()
    page.selectbox(key="i_metric").set_value("arr").run()
    assert [e.value for e in page.exception] == []
    assert tiles(page) == before == expected_tiles(demo_url, "month")
    assert any("Region" in m.value for m in page.markdown)
    assert any("Moved it most" in c.value for c in page.caption)


def test_tiers_without_any_snapshot_say_how_to_get_them_instead_of_one_unscored_bar(page):
    # The demo store holds no score snapshot, so every customer is "unscored" in every period.
    page.selectbox(key="i_segment").set_value("tier").run()
    page.selectbox(key="i_metric").set_value("arr").run()
    assert [e.value for e in page.exception] == []
    assert any("publish a preset and take the month's snapshot" in i.value for i in page.info)
    assert not any("Moved it most" in c.value for c in page.caption)


def test_tiers_with_a_snapshot_break_the_metric_down_by_tier(new_store_url, monkeypatch):
    from ops_core import scoring, tiers, writes
    from ops_core.db.engine import transaction

    url = small_company(new_store_url)
    engine = make_engine(url)
    today = dt.date.today()
    month = previous(period_of("month", today + dt.timedelta(days=1)))  # the page's default period
    for frozen in (previous(month), month):  # the period and the one it is compared with
        with engine.connect() as conn:
            features = scoring.derive_features(conn, frozen.end)
        scores = scoring.score(scoring.normalise(features).values, scoring.DEFAULT_WEIGHTS)
        with transaction(engine) as s:
            tiers.snapshot_month(s, writes.LOCAL_ADMIN, frozen.start, scores, tiers.assign_tiers(scores), None)
    engine.dispose()
    page = open_page(url, "pages/indicators.py", monkeypatch)
    page.selectbox(key="i_segment").set_value("tier").run()
    page.selectbox(key="i_metric").set_value("arr").run()
    assert [e.value for e in page.exception] == []
    assert not any("take the month's snapshot" in i.value for i in page.info)
    moved = next(c.value for c in page.caption if "Moved it most" in c.value)
    assert any(name in moved for name in ("KA", "standard", "small", "micro"))  # every customer was tiered by then


@pytest.mark.parametrize("tab", ["Double funnel", "Cohort retention", "Metric catalogue", "History", "Reports"])
def test_every_tab_draws_without_an_exception(page, tab):
    page.session_state["i_tab"] = tab
    page.run()
    assert [e.value for e in page.exception] == []


def test_the_customer_cohorts_end_with_the_last_month_that_is_over(page):
    """Seen: the range ending today drew this month's cohort at month 0 with 100 %, a month not over yet (the
    contracts in force at its end, days ahead). Cells stop at the range's last day; month 0 of every cohort shown
    is 100 % of its customers (a cohort is the month its customers' first contract with an MRR starts)."""
    from tests import vega

    page.session_state["i_tab"] = "Cohort retention"
    page.run()
    assert [e.value for e in page.exception] == []
    heat = [frame for spec, data in vega.charts(page) for frame in data.values() if "months_since" in frame]
    assert len(heat) == 1
    cells = heat[0]
    this_month = dt.date.today().strftime("%Y-%m")
    last_over = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    assert this_month not in set(cells["cohort"]) and last_over in set(cells["cohort"])
    month_0 = cells[(cells["months_since"] == 0) & (cells["cohort_size"] > 0)]
    assert len(month_0) >= 6 and (month_0["share"] == 1.0).all()


@pytest.fixture(scope="module")
def own_url(new_store_url) -> str:
    """A small company of its own: these tests write targets and snapshots."""
    return small_company(new_store_url)


def drill_into(page: AppTest, lang: str, metric: str, grain: str | None = None) -> str:
    """The page in ``lang``, at ``grain`` if given, drilled into ``metric``; returns the suffix of the
    pickers' keys in that language (one picker per language, ui.language_key)."""
    page.session_state["ops_lang"] = lang
    page.run()
    suffix = "" if lang == "en" else ".zh"
    if grain is not None:
        page.selectbox(key=f"i_grain{suffix}").set_value(grain).run()
    page.selectbox(key=f"i_metric{suffix}").set_value(metric).run()
    assert [e.value for e in page.exception] == []
    return suffix


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_quarters_churn_target_is_the_monthly_one_restated_and_says_so(page, lang):
    """The default 2 % monthly logo-churn target, restated for a quarter: 1 - 0.98^3 = 5.9 % (one decimal
    as the page formats a rate), with the rule beside it in the reader's language."""
    drill_into(page, lang, "logo_churn", grain="quarter")
    shown = [c.value for c in page.caption if c.value.startswith(("Target: ", "目标："))]
    assert shown == (["Target: the monthly target 2.0% restated for this period: 1 − (1 − m)^3 (what stays compounds)"]
                     if lang == "en" else ["目标：由月度目标 2.0% 换算为本期目标：1 −（1 − m）^3（留存部分按月复合）"])
    churn = next(m for m in page.metric if m.label.endswith(("Logo churn", "客户流失率")))
    assert "5.9%" in churn.help


def test_freezing_a_period_and_setting_a_target_from_the_page(own_url, monkeypatch):
    page = open_page(own_url, "pages/indicators.py", monkeypatch)
    period = page.selectbox(key="i_period").value
    page.number_input(key=f"i_t_arr_month_{period.start}_target").set_value(123.0)   # ARR, the metric drilled into by default
    page.button(key="i_t_save").click().run()
    assert [e.value for e in page.exception] == [] and [e.value for e in page.error] == []
    assert any("Saved." in s.value for s in page.success)
    engine = make_engine(own_url)
    with engine.connect() as conn:
        goals = metrics.targets(conn, "month", [period]).set_index("metric")
    assert goals.loc["arr", "target"] == 123.0
    page.session_state["i_tab"] = "History"
    page.run()
    page.button(key="i_snapshot").click().run()
    assert [e.value for e in page.exception] == [] and [e.value for e in page.error] == []
    with engine.connect() as conn:
        frozen = snapshot.reported(conn, "month", [period.start])
    engine.dispose()
    assert len(frozen) == len(metrics.REGISTRY)
    assert any(s.value.startswith("Froze ") and s.value.endswith(f" values of {period.label}.") for s in page.success)


# --- charts as a reader sees them: the axis of a rate, tick labels, month names ----------------------


def trend_chart(app: AppTest) -> tuple[dict, pd.DataFrame]:
    """The chosen metric's trend chart: its line layer's spec and the values it draws."""
    for spec, data in vega.charts(app):
        line = vega.layers(spec)[0]
        if line["encoding"].get("y", {}).get("field") == "value" and line["mark"]["type"] == "line":
            return line, data[line["data"]["name"]]
    raise AssertionError("no trend chart on the page")


def test_a_rate_trend_spans_its_values_not_zero_to_one_hundred_percent(page):
    """Seen: NRR drawn on 0..100 % is a flat line at the top. The axis spans the values drawn."""
    page.selectbox(key="i_metric").set_value("nrr").run()
    line, data = trend_chart(page)
    low, high = data["value"].min(), data["value"].max()
    domain = line["encoding"]["y"]["scale"]["domain"]
    assert low >= domain[0] > 0.5 and high <= domain[1] < 1.5
    assert domain[1] - domain[0] < 3 * (high - low) + 0.02  # the margin is a fraction of the span


@pytest.mark.parametrize("metric", [m.key for m in metrics.LEVEL1 if m.unit is metrics.Unit.ratio
                                    and m.key != "repurchase_rate"])  # recent periods not complete: nothing drawn
def test_no_chart_of_a_rate_repeats_a_tick_label(page, metric):
    """Seen: "-0.1%, -0.1%" under the contribution bars. Every quantitative axis of the trend and the
    breakdown, for each tick count Vega draws (2 to 10), prints distinct labels."""
    page.selectbox(key="i_segment").set_value("region").run()
    page.selectbox(key="i_metric").set_value(metric).run()
    checked = 0
    for spec, data in vega.charts(page):
        for layer in vega.layers(spec):
            values = data[layer["data"]["name"]]
            for channel in ("x", "y"):
                encoding = layer["encoding"].get(channel, {})
                fmt = encoding.get("axis", {}).get("format")
                # d3 fixed-point formats (".1f", ".1%"); the waterfall's yuan axis ("~s") abbreviates instead
                if (encoding.get("type") != "quantitative" or not fmt or "." not in fmt
                        or values[encoding["field"]].dropna().empty):
                    continue
                drawn = values[encoding["field"]].dropna()
                low, high = encoding.get("scale", {}).get("domain") or (min(0.0, drawn.min()), max(0.0, drawn.max()))
                if high <= low:
                    continue
                for count in range(2, 11):
                    labels = vega.tick_labels(low, high, fmt, count, encoding["axis"].get("tickMinStep"))
                    assert len(labels) == len(set(labels)), (metric, channel, count, labels)
                checked += 1
    assert checked >= 2  # the trend and the breakdown


def test_chinese_charts_name_months_in_chinese(page):
    page.selectbox(key="i_metric").set_value("nrr").run()
    page.session_state["ops_lang"] = "zh"
    page.run()
    assert [e.value for e in page.exception] == []
    locales = [spec.get("config", {}).get("locale", {}) for spec, _ in vega.charts(page)]
    assert locales and all(loc["time"]["months"][0] == "一月" and loc["time"]["shortMonths"][11] == "12月" for loc in locales)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_renewal_rate_opens_its_contracts_with_how_each_renewed_in_words_and_yuan(page, demo_url, lang):
    from ops_core import drill

    suffix = drill_into(page, lang, "renewal_rate")
    period = page.selectbox(key=f"i_period{suffix}").value if f"i_period{suffix}" in page.session_state else None
    shown = next(d.value for d in page.dataframe if ("Renewal" if lang == "en" else "续约情况") in d.value.columns)
    engine = make_engine(demo_url)
    with engine.connect() as conn:
        rows = drill.rows(conn, "renewals", period or previous(period_of("month", dt.date.today() + dt.timedelta(days=1))),
                          Filters.default(dt.date.today()))
    engine.dispose()
    words = {"en": ["Contract", "Code", "Customer", "Ends", "ARR (¥)", "Renewed by", "ARR renewed (¥)", "ARR change (¥)",
                    "Renewal"],
             "zh": ["合同", "编号", "客户", "到期日", "ARR（元）", "续约合同", "续约 ARR（元）", "ARR 变动（元）", "续约情况"]}
    assert list(shown.columns) == words[lang]
    assert len(shown) == min(len(rows), 200)
    if len(rows):
        assert float(shown.iloc[0, 4]) == pytest.approx(rows.iloc[0]["arr_cents"] / 100)  # yuan, not cents
    outcomes = drill.outcome_counts(rows)
    caption = [c.value for c in page.caption if c.value.startswith(("Renewed larger", "增额续约"))]
    assert caption == [(f"Renewed larger {outcomes['larger']} · flat {outcomes['same']} · smaller {outcomes['smaller']} · "
                        f"not renewed {outcomes['not_renewed']}") if lang == "en" else
                       (f"增额续约 {outcomes['larger']} · 平价续约 {outcomes['same']} · 降额续约 {outcomes['smaller']} · "
                        f"未续约 {outcomes['not_renewed']}")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_nrr_shows_its_trailing_year_its_waterfall_and_three_lists(page, demo_url, lang):
    from ops_core import drill, indicators

    drill_into(page, lang, "nrr")
    period = previous(period_of("month", dt.date.today() + dt.timedelta(days=1)))
    engine = make_engine(demo_url)
    with engine.connect() as conn:
        ttm = drill.trailing_retention(conn, period, Filters.default(dt.date.today()))
        bridge = indicators.mrr_movements(conn, [period], Filters.default(dt.date.today())).iloc[0]
    engine.dispose()
    nrr, grr = (reports.format_value(metrics.BY_KEY[k], ttm[k], lang) for k in ("nrr", "grr"))
    expected = (f"Trailing twelve months ({ttm['start']} to {ttm['end']}): NRR {nrr}, GRR {grr}." if lang == "en"
                else f"近十二个月（{ttm['start']} 至 {ttm['end']}）：NRR {nrr}，GRR {grr}。")
    assert expected in [c.value for c in page.caption]
    steps = {"en": ["Start", "New", "Expansion", "Reactivation", "Contraction", "Churn", "End"],
             "zh": ["期初", "新增", "增购", "回流", "缩减", "流失", "期末"]}[lang]
    drawn = next(data for _, frames in vega.charts(page) for data in frames.values()
                 if "label" in data and list(data["label"]) == steps)
    assert drawn["high"].iloc[0] == pytest.approx(bridge["start_mrr"] / 100)   # yuan
    assert drawn["high"].iloc[-1] == pytest.approx(bridge["end_mrr"] / 100)
    lists = {"en": ["Customers who expanded", "Customers who contracted", "Customers lost"],
             "zh": ["增购客户", "缩减客户", "流失客户"]}[lang]
    labels = [t.label for t in page.tabs]
    assert any(labels[i:i + 3] == lists for i in range(len(labels))), labels


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_segment_of_the_breakdown_narrows_the_lists_and_stands_in_the_breadcrumb(page, demo_url, lang):
    """Metric › period › segment: ARR by industry, kept to the industry with most new customers, lists
    only that industry's new customers (drill.rows with the industry added to the view's filters)."""
    from ops_core import drill
    from ops_core.i18n import label
    from ops_core.vocab import Industry

    suffix = drill_into(page, lang, "arr")
    period = previous(period_of("month", dt.date.today() + dt.timedelta(days=1)))
    view = Filters.default(dt.date.today())
    engine = make_engine(demo_url)
    with engine.connect() as conn:
        new = drill.rows(conn, "new", period, view)
        industry = str(new["industry"].value_counts().index[0])
        kept = drill.rows(conn, "new", period, dataclasses.replace(view, industries=(industry,)))
    engine.dispose()
    assert 0 < len(kept) < len(new)   # the demo wins customers in several industries every month
    picker = page.selectbox(key=f"i_drill_segment_arr_industry{suffix}")
    assert picker.value is None
    picker.set_value(industry).run()
    assert [e.value for e in page.exception] == []
    name = {"en": "ARR", "zh": "年度经常性收入"}[lang]
    assert f"{name} › {period.label} › {label(Industry, industry, lang)}" in [c.value for c in page.caption]
    counts = [c.value for c in page.caption if c.value.startswith((f"{len(kept):,} rows", f"共 {len(kept):,} 行"))]
    assert counts, [c.value for c in page.caption]
    new_list = next(d.value for d in page.dataframe if len(d.value) == len(kept))
    assert set(new_list.iloc[:, 0]) == set(kept["code"])
