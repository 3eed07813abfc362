"""The customer-tiers page under AppTest: sliders re-tier exactly as ops_core computes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ops_core import customer_view as view
from ops_core import risk, scoring, tiers, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.filters import Filters
from tests.conftest import DEMO_CUSTOMERS, SMALL_CUSTOMERS, ok, open_page, small_company

PAGE_WEIGHTS = {k: round(100 * w) for k, w in scoring.DEFAULT_WEIGHTS.items()}  # the sliders' integer starts


@pytest.fixture
def page(demo_url, monkeypatch) -> AppTest:
    return open_page(demo_url, "pages/customers.py", monkeypatch)


def expected_counts(demo_engine, weights: dict[str, float]) -> dict[str, str]:
    """The metric row as ops_core computes it, independently of the page."""
    as_of = dt.date.today()  # the page scores as of today unless told otherwise
    with demo_engine.connect() as conn:
        features = scoring.derive_features(conn, as_of)
        rules = tiers.tier_rules(conn)
    table = view.scored_customers(features, scoring.normalise(features).values, weights, rules)
    counts = view.tier_counts(table, rules.names)
    return {f"{name} customers": f"{count:,}" for name, count in counts.items()} | {"Customers": f"{DEMO_CUSTOMERS:,}"}


def shown_counts(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_the_page_opens_with_the_counts_ops_core_computes(page, demo_engine):
    assert shown_counts(page) == expected_counts(demo_engine, PAGE_WEIGHTS)


def test_moving_a_weight_slider_changes_the_tier_counts_as_ops_core_says(page, demo_engine):
    before = shown_counts(page)
    page.slider(key="c_weight_order_amount").set_value(100).run()
    page.slider(key="c_weight_payment").set_value(0).run()
    assert [e.value for e in page.exception] == []
    after = shown_counts(page)
    assert after == expected_counts(demo_engine, PAGE_WEIGHTS | {"order_amount": 100, "payment": 0})
    assert after != before, "with cut-off tiers, putting all weight on order amount must move customers"


def test_all_weights_zero_gives_a_clear_message_not_an_error(page):
    for key in PAGE_WEIGHTS:
        page.slider(key=f"c_weight_{key}").set_value(0)
    page.run()
    assert [e.value for e in page.exception] == []
    assert "All weights are zero" in page.warning[0].value


def test_a_tier_filter_narrows_the_list_but_never_changes_a_customers_tier(page):
    all_counts = shown_counts(page)
    page.multiselect(key="c_f_tiers").set_value(["KA"]).run()
    filtered = shown_counts(page)
    assert filtered["KA customers"] == all_counts["KA customers"]
    assert filtered["Customers"] == all_counts["KA customers"]
    assert filtered["standard customers"] == "0"


def test_a_slider_move_never_queries_the_database(page, demo_url):
    """Features, risk and presets come from caches keyed by the store's change counter, which is
    read once per page visit: re-weighting runs in memory only."""
    from sqlalchemy import event

    from cockpit import ui

    engine = ui._engine(demo_url)  # the app's own engine (a process-wide cached resource)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        page.slider(key="c_weight_brand").set_value(40).run()
        page.slider(key="c_weight_growth").set_value(30).run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [e.value for e in page.exception] == []
    assert statements == []


def test_a_method_chosen_in_the_expander_still_applies_once_it_is_closed(page, demo_engine):
    page.session_state["c_methods_open"] = True
    page.run()
    page.selectbox(key="c_method_order_amount").set_value("minmax").run()
    opened = shown_counts(page)
    page.session_state["c_methods_open"] = False
    page.run()
    assert [e.value for e in page.exception] == []
    assert shown_counts(page) == opened  # closing the expander keeps the method

    as_of = dt.date.today()
    with demo_engine.connect() as conn:
        features = scoring.derive_features(conn, as_of)
        rules = tiers.tier_rules(conn)
    methods = dict(scoring.DEFAULT_METHODS) | {"order_amount": scoring.MethodSpec(scoring.Method.minmax)}
    table = view.scored_customers(features, scoring.normalise(features, methods).values, PAGE_WEIGHTS, rules)
    counts = view.tier_counts(table, rules.names)
    assert {k: v for k, v in opened.items() if k != "Customers"} == {f"{n} customers": f"{c:,}" for n, c in counts.items()}


CUSTOMER_TABS = ["Tiers and service models", "Explanation", "Presets and comparison", "Decision-chain gaps",
                 "Renewal risk", "RFM", "Next actions per CSM", "Export"]


@pytest.mark.parametrize("tab", CUSTOMER_TABS)
def test_every_customer_tab_draws_without_an_exception(page, tab):
    page.session_state["c_tab"] = tab
    ok(page.run())


def test_a_preset_saved_published_and_frozen_on_the_page_lands_in_the_store(new_store_url, monkeypatch):
    # Each of the three buttons is one transaction; its message is the flash the page shows after it.
    url = small_company(new_store_url)
    engine = make_engine(url)
    page = open_page(url, "pages/customers.py", monkeypatch)
    page.session_state["c_tab"] = "Presets and comparison"
    ok(page.run())
    page.text_input(key="c_preset_name").set_value("季度方案 Q4")
    page.button(key="c_preset_save").click()
    ok(page.run())
    assert [s.value for s in page.success] == ["Saved preset 季度方案 Q4."]
    with engine.connect() as conn:
        saved = tiers.load_preset(conn, "季度方案 Q4")
    assert saved.weights == {k: float(w) for k, w in PAGE_WEIGHTS.items()}  # the sliders as they stood
    assert not saved.published

    page.selectbox(key="c_preset_pick").set_value("季度方案 Q4")
    ok(page.run())
    page.button(key="c_publish").click()
    ok(page.run())
    assert [s.value for s in page.success] == ["Published 季度方案 Q4 as the tier assignment."]
    with engine.connect() as conn:
        assert tiers.published_preset(conn).name == "季度方案 Q4"

    page.button(key="c_snapshot").click()
    ok(page.run())
    month = dt.date.today().replace(day=1)
    assert [s.value for s in page.success] == [f"Saved {SMALL_CUSTOMERS} scores for {month:%Y-%m}."]
    with engine.connect() as conn:
        history = tiers.tier_counts_history(conn)
    frozen = history[pd.to_datetime(history["month"]).dt.date == month]
    assert int(frozen["count"].sum()) == SMALL_CUSTOMERS  # one snapshot row per customer of the small company
    engine.dispose()


def test_the_explanation_shows_raw_money_in_yuan_and_growth_as_a_percentage(page, demo_engine):
    # Features hold money in cents; a person reads yuan. The explained customer is the one in the picker.
    page.session_state["c_tab"] = "Explanation"
    ok(page.run())
    code = page.selectbox(key="c_explain").value
    with demo_engine.connect() as conn:
        features = scoring.derive_features(conn, dt.date.today())
    row = features.loc[features["code"] == code].iloc[0]
    shown = page.dataframe[-1].value.set_index("Dimension")["Raw value"]
    assert shown["Order amount (12 months)"] == f"¥{row['order_amount'] / 100:,.0f}"  # e.g. 83570000 cents -> ¥835,700
    assert shown["Company size"] == f"{row['company_size']:,.0f} employees"
    growth = row["growth"]
    assert shown["Growth potential"] == ("no orders in the prior 12 months" if pd.isna(growth) else f"{growth:+.0%}")
    assert shown["Product demand type"] in {"Standard product", "Configured", "Customised", "Platform"}


def test_loading_a_preset_brings_its_category_mapping_and_the_counts_follow(new_store_url, monkeypatch):
    url = small_company(new_store_url)
    engine = make_engine(url)
    mapping = {"demand_type": {"standard": 1.0, "configured": 0.0, "customised": 0.0, "platform": 0.0}}
    rules = tiers.TierRules(mode="cutoff", cutoffs=(60.0, 45.0, 30.0))
    with transaction(engine) as s:
        tiers.save_preset(s, writes.LOCAL_ADMIN, "标准品优先", PAGE_WEIGHTS, {}, rules, mappings=mapping)
    page = open_page(url, "pages/customers.py", monkeypatch)
    page.session_state["c_tab"] = "Presets and comparison"
    ok(page.run())
    page.text_input(key="c_preset_name").set_value("typed before loading").run()
    page.selectbox(key="c_preset_pick").set_value("标准品优先")
    ok(page.run())
    assert page.text_input(key="c_preset_name").value == "标准品优先"  # the name field follows the loaded preset
    assert page.session_state["c_kept_mappings"] == mapping  # the other pages score with it too

    with engine.connect() as conn:
        features = scoring.derive_features(conn, dt.date.today())
    table = view.scored_customers(features, scoring.normalise(features, {}, mapping).values, PAGE_WEIGHTS, rules)
    expected = {f"{n} customers": f"{c:,}" for n, c in view.tier_counts(table, rules.names).items()}
    assert {k: v for k, v in shown_counts(page).items() if k != "Customers"} == expected
    default_table = view.scored_customers(features, scoring.normalise(features).values, PAGE_WEIGHTS, rules)
    assert not table["score"].equals(default_table["score"])  # the mapping matters for these customers
    engine.dispose()


def _scored_table(demo_engine, as_of: dt.date) -> pd.DataFrame:
    """Every customer scored and tiered as the page does with its start weights (ops_core, not the page)."""
    with demo_engine.connect() as conn:
        features = scoring.derive_features(conn, as_of)
        rules = tiers.tier_rules(conn)
    return view.scored_customers(features, scoring.normalise(features).values, PAGE_WEIGHTS, rules)


def _busiest_csm(demo_engine, as_of: dt.date) -> tuple[int, str]:
    """The CSM with the most contracts up for renewal within 90 days: a choice with rows to check."""
    with demo_engine.connect() as conn:
        table = risk.renewal_risk(conn, as_of, 90)
    csm_id = int(table["csm_id"].value_counts().idxmax())
    return csm_id, table.loc[table["csm_id"] == csm_id, "csm_name"].iloc[0]


@dataclass(frozen=True)
class OneCsm:
    page: AppTest
    as_of: dt.date
    csm_id: int
    csm_name: str
    filters: Filters           # the sidebar's filter for that CSM alone
    table: pd.DataFrame        # every customer scored as the page scores them (ops_core, not the page)


@pytest.fixture
def one_csm(page, demo_engine) -> OneCsm:
    """The customer page with the sidebar's CSM filter set to the CSM with the most renewals due."""
    as_of = dt.date.today()
    csm_id, csm_name = _busiest_csm(demo_engine, as_of)
    page.multiselect(key="ops_filter_csms").set_value([csm_id])
    return OneCsm(page, as_of, csm_id, csm_name, Filters(as_of, as_of, csms=(csm_id,)), _scored_table(demo_engine, as_of))


def test_the_sidebar_csm_filter_narrows_the_renewal_risk_list_to_that_csm(one_csm, demo_engine):
    one_csm.page.session_state["c_tab"] = "Renewal risk"
    ok(one_csm.page.run())
    shown = one_csm.page.dataframe[-1].value
    with demo_engine.connect() as conn:
        everyone = risk.renewal_risk(conn, one_csm.as_of, 90)
    expected = one_csm.filters.customer_rows(everyone, one_csm.table)
    assert set(shown["CSM"]) == {one_csm.csm_name}       # every row is the chosen CSM's
    assert len(shown) == len(expected) < len(everyone)   # and all of that CSM's, out of every CSM's list


def test_the_sidebar_csm_filter_narrows_next_actions_which_say_why_what_to_do_and_what_the_priority_means(one_csm, demo_engine):
    page, as_of, table = one_csm.page, one_csm.as_of, one_csm.table
    page.session_state["c_tab"] = "Next actions per CSM"
    ok(page.run())
    shown = page.dataframe[-1].value
    with demo_engine.connect() as conn:
        items = risk.next_actions(table["tier"], risk.decision_chain(conn, as_of), risk.renewal_risk(conn, as_of, 90),
                                  risk.overdue_by_customer(conn, as_of), risk.usage_change(conn, as_of))
    mine = one_csm.filters.customer_rows(items, table)
    assert set(shown["CSM"]) == {one_csm.csm_name}
    assert len(shown) == len(mine) > 0 and len(mine) < len(items)
    assert list(shown.columns) == ["CSM", "Code", "Customer", "Tier", "Priority", "Why", "What to do", "Why this priority"]
    assert set(shown["Priority"]) <= {"Urgent", "High", "Medium", "Low"}
    assert f"{len(mine)} actions (CSM: {one_csm.csm_name})." in [c.value for c in page.caption]  # whose, without dates
    assert ("Priority: Urgent (1) = renewal at risk; High (2) = overdue invoices; Medium (3) = decision-chain gap; "
            "Low (4) = usage drop.") in [c.value for c in page.caption]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_next_actions_on_the_page_show_no_codes_in_either_language(page, lang):
    import re

    page.session_state["ops_lang"] = lang
    ok(page.run())
    page.session_state["c_tab"] = "Next actions per CSM" if lang == "en" else "客户成功经理待办"
    ok(page.run())
    shown = page.dataframe[-1].value
    assert len(shown) > 0
    cells = [str(c) for c in shown.drop(columns=shown.columns[1:3]).to_numpy().ravel()]  # customer codes and names are data
    codes = sorted({w for c in cells for w in re.findall(r"[A-Za-z_]+", c) if "_" in w})
    assert codes == []  # no chain_gap, veto_head, renewal_risk
    if lang == "zh":
        why = shown["原因"].str.replace(r"HT[-\w]*", "", regex=True)  # contract codes are data
        assert not why.str.contains(r"[A-Za-z]").any()


def test_in_chinese_the_default_tier_names_read_in_chinese_on_tiles_legends_and_rule_labels(page, demo_engine):
    """Seen: "standard / small / micro" left in English on the Chinese page. The default names are
    translated (KA is the field's own word); the counts stay ops_core's."""
    from tests import vega

    page.session_state["ops_lang"] = "zh"
    ok(page.run())
    english = expected_counts(demo_engine, PAGE_WEIGHTS)
    assert shown_counts(page) == {
        "KA客户": english["KA customers"], "标准客户": english["standard customers"],
        "小型客户": english["small customers"], "微型客户": english["micro customers"], "客户数": english["Customers"]}
    legends = [layer["encoding"]["color"]["scale"]["domain"] for spec, _ in vega.charts(page)
               for layer in vega.layers(spec) if "scale" in layer["encoding"].get("color", {})]
    assert legends and all(domain == ["KA", "标准", "小型", "微型"] for domain in legends)


def test_a_tier_name_a_user_typed_is_shown_as_entered_and_a_default_name_translated():
    from ops_core import present

    assert [present.tier_label(n, "zh") for n in ("KA", "standard", "small", "micro", "成长型", "Growth")] == [
        "KA", "标准", "小型", "微型", "成长型", "Growth"]
    assert [present.tier_label(n, "en") for n in ("KA", "standard", "Growth")] == ["KA", "standard", "Growth"]


@pytest.mark.parametrize(("lang", "message"), [
    ("en", "quota shares must sum to less than 1 so that micro keeps the rest; they sum to 1.05"),
    ("zh", "各配额比例之和须小于 1，剩余的客户归入微型；现合计 1.05")])
def test_tier_rules_the_product_refuses_are_said_in_the_readers_language(page, lang, message):
    # The default quotas are 0.05, 0.2 and 0.35 (setting tiers.quotas); 0.5 + 0.2 + 0.35 = 1.05 leaves micro none.
    page.session_state["c_rules_open"] = True  # opened, then the language chosen: the rules stay open
    page.run()
    page.selectbox(key="ops_lang").set_value(lang).run()
    page.radio(key="c_mode" if lang == "en" else "c_mode.zh").set_value("quota").run()  # one picker per language
    page.number_input(key="c_quota_0").set_value(0.5).run()
    assert [e.value for e in page.exception] == []
    assert [e.value for e in page.error] == [message]


def test_a_next_action_opens_its_customers_explanation(one_csm):
    page = one_csm.page
    page.session_state["c_tab"] = "Next actions per CSM"
    ok(page.run())
    listed = page.dataframe[-1].value
    code, name = listed["Code"].iloc[-1], listed["Customer"].iloc[-1]  # the last action on the list
    page.selectbox(key="c_action_customer").set_value(code).run()
    page.button(key="c_action_open").click().run()
    ok(page)
    assert page.session_state["c_tab"] == "Explanation"
    explained = page.selectbox(key="c_explain")
    assert explained.options[explained.index] == f"{code} · {name}"
    row = one_csm.table.loc[one_csm.table["code"] == code].iloc[0]  # as ops_core scores it with the page's weights
    assert f"Score {row['score']:.1f}, tier {row['tier']}." in [m.value for m in page.markdown]


def test_a_new_reference_date_shows_its_own_numbers_and_none_of_the_previous_dates(page, demo_url, monkeypatch):
    """After a change of reference date the page shows one set of tiles, the same as a page opened on that
    date. (That the old tiles go while the new ones are computed, ui.view_area, shows only in a browser.)"""
    earlier = dt.date.today() - dt.timedelta(days=400)
    before = [(m.label, m.value) for m in page.metric]
    page.date_input(key="c_as_of").set_value(earlier).run()
    ok(page)
    fresh = open_page(demo_url, "pages/customers.py", monkeypatch)
    fresh.date_input(key="c_as_of").set_value(earlier).run()
    after = [(m.label, m.value) for m in page.metric]
    assert len(after) == len(before) == 5  # four tiers and all customers, once
    assert after == [(m.label, m.value) for m in ok(fresh).metric]
    assert after != before  # 400 days earlier, other customers are scored into the tiers
