"""The customer-tiers page's view model (ops_core/customer_view.py) on twelve hand-built customers.

Scores come from two dimensions only: weights order_amount 60 and company_size 20 (sliders), so the
shares are 75 % / 25 % and score = 75·x_order + 25·x_size. The other seven dimensions are 0 with
weight 0. Worked out by hand (id: x_order, x_size -> score):

    101: 1.00, 1.00 -> 75 + 25      = 100      107: 0.90, 0.60 -> 67.5 + 15  = 82.5
    102: 0.80, 0.40 -> 60 + 10      = 70       108: 0.50, 0.50 -> 37.5 + 12.5 = 50
    103: 0.60, 1.00 -> 45 + 25      = 70       109: 0.30, 0.10 -> 22.5 + 2.5 = 25
    104: 0.40, 0.80 -> 30 + 20      = 50       110: 0.70, 0.20 -> 52.5 + 5   = 57.5
    105: 0.20, 0.20 -> 15 + 5       = 20       111: 0.10, 0.90 -> 7.5 + 22.5 = 30
    106: 0.00, 0.00 -> 0                       112: 0.05, 0.05 -> 3.75 + 1.25 = 5

List order (score desc, then lower id): 101, 107, 102, 103, 110, 104, 108, 111, 109, 105, 112, 106.
Default quota tiers over n = 12: cumulative bounds round_half_up(12 × 0.05, 0.25, 0.60) = 1, 3, 7, so
KA = {101}; standard = {107, 102}; small = {103, 110, 104, 108}; micro = the other five. 102 and 103
tie at 70 across the standard/small bound: the lower id (102) takes the higher tier.
"""
from __future__ import annotations

import datetime as dt
import re
import urllib.parse

import numpy as np
import pandas as pd
import pytest

from ops_core import customer_view as view
from ops_core import scoring, tiers
from ops_core.contacts import KEY_CONTACT_COLUMNS
from ops_core.filters import Filters

AS_OF = dt.date(2025, 6, 30)
WEIGHTS = {"order_amount": 60, "company_size": 20}
RULES = tiers.TierRules()  # quota 5 % / 20 % / 35 % / rest: KA, standard, small, micro
ALL = Filters(dt.date(2024, 7, 1), AS_OF)

# id, code, name, industry, region, size_band, product_lines, x_order, x_size
CUSTOMERS = [
    (101, "C0101", "华东精密制造有限公司", "manufacturing", "east_china", "large", "MES,QMS", 1.00, 1.00),
    (102, "C0102", "Acme Energy", "energy", "north_china", "medium", "EAM", 0.80, 0.40),
    (103, "C0103", "北方能源集团", "energy", "north_china", "enterprise", "EAM,IoT", 0.60, 1.00),
    (104, "C0104", "Delta Logistics", "logistics", "south_china", "small", "SCM", 0.40, 0.80),
    (105, "C0105", "南方物流", "logistics", "south_china", "micro", "", 0.20, 0.20),
    (106, "C0106", "Zero Retail", "retail", "overseas", "micro", "", 0.00, 0.00),
    (107, "C0107", "苏州汽车零部件", "manufacturing", "east_china", "large", "MES", 0.90, 0.60),
    (108, "C0108", "ACME Manufacturing", "manufacturing", "central_china", "medium", "MES,SCM", 0.50, 0.50),
    (109, "C0109", "成都医疗器械", "healthcare", "southwest_china", "small", "QMS", 0.30, 0.10),
    (110, "C0110", "Omega Chemicals", "chemicals", "east_china", "medium", "IoT", 0.70, 0.20),
    (111, "C0111", "杭州电子科技", "electronics", "east_china", "enterprise", "MES,IoT", 0.10, 0.90),
    (112, "C0112", "Tiny Foods", "food", "northeast_china", "micro", "SCM", 0.05, 0.05),
]
EXPECTED_SCORES = {101: 100.0, 102: 70.0, 103: 70.0, 104: 50.0, 105: 20.0, 106: 0.0, 107: 82.5, 108: 50.0,
                   109: 25.0, 110: 57.5, 111: 30.0, 112: 5.0}
EXPECTED_TIERS = {101: "KA", 107: "standard", 102: "standard", 103: "small", 110: "small", 104: "small",
                  108: "small", 111: "micro", 109: "micro", 105: "micro", 112: "micro", 106: "micro"}
LIST_ORDER = [101, 107, 102, 103, 110, 104, 108, 111, 109, 105, 112, 106]
# Renewal risk rows (one per contract up for renewal): 101 has a low and a high one -> high.
RISK_ROWS = [(101, "low"), (101, "high"), (102, "medium"), (102, "low"), (104, "low"), (107, "medium"),
             (107, "medium"), (110, "high")]


def features() -> pd.DataFrame:
    frame = pd.DataFrame(
        [{"customer_id": c[0], "code": c[1], "name": c[2], "industry": c[3], "region": c[4], "size_band": c[5],
          "csm_id": 1 + c[0] % 2, "csm_name": "王芳" if c[0] % 2 else "李雷", "product_lines": c[6],
          "arr_cents": 1_000_00 * (c[0] - 100)} for c in CUSTOMERS]).set_index("customer_id")
    frame["csm_id"] = frame["csm_id"].astype("Int64")
    return frame


def normalised() -> pd.DataFrame:
    values = pd.DataFrame(0.0, index=pd.Index([c[0] for c in CUSTOMERS], name="customer_id"),
                          columns=list(scoring.DIMENSION_KEYS))
    values["order_amount"] = [c[7] for c in CUSTOMERS]
    values["company_size"] = [c[8] for c in CUSTOMERS]
    return values


def risk_table() -> pd.DataFrame:
    return pd.DataFrame(RISK_ROWS, columns=["customer_id", "risk_level"])


@pytest.fixture
def table() -> pd.DataFrame:
    return view.scored_customers(features(), normalised(), WEIGHTS, RULES, view.customer_risk_levels(risk_table()))


def ids(frame: pd.DataFrame) -> list[int]:
    return [int(i) for i in frame.index]


# --- ViewFilters and the shareable link -----------------------------------------------------------


@pytest.mark.parametrize("filters", [
    view.ViewFilters(),
    view.ViewFilters(tiers=("KA", "standard")),
    view.ViewFilters(product_lines=("MES", "IoT"), risk_levels=("high", "medium")),
    view.ViewFilters(score_min=20.0, score_max=80.5),
    view.ViewFilters(text="华东"),
    view.ViewFilters(("KA",), ("SCM",), ("low",), 0.0, 99.0, "acme"),
], ids=["default", "tiers", "lines-and-risk", "score-range", "chinese-text", "everything"])
def test_view_filters_round_trip_through_a_link(filters):
    params = filters.to_query_params()
    assert all(key.startswith("c_") for key in params)
    # Through a real address, as a shared link travels (percent-encoded Chinese, commas).
    travelled = dict(urllib.parse.parse_qsl(urllib.parse.urlencode(params)))
    assert view.ViewFilters.from_query_params(travelled) == filters


def test_default_view_filters_put_nothing_in_the_link():
    assert view.ViewFilters().to_query_params() == {}


@pytest.mark.parametrize(("params", "expected"), [
    ({"c_score": "abc"}, view.ViewFilters()),
    ({"c_score": "80"}, view.ViewFilters()),                            # no dash: no range
    ({"c_score": "-5-200"}, view.ViewFilters()),                        # "" is not a number
    ({"c_score": "90-10"}, view.ViewFilters(score_min=10.0, score_max=90.0)),   # swapped back
    ({"c_score": "150-300"}, view.ViewFilters(score_min=100.0, score_max=100.0)),  # clamped to 0..100
    ({"c_risk": "high,extreme,,low"}, view.ViewFilters(risk_levels=("high", "low"))),
    ({"c_tiers": ",,"}, view.ViewFilters()),
    ({"c_q": "x" * 500}, view.ViewFilters(text="x" * 100)),
], ids=["score-not-a-number", "score-one-number", "score-negative", "score-swapped", "score-out-of-range",
        "unknown-risk-level", "empty-tier-list", "overlong-search"])
def test_a_malformed_link_falls_back_to_no_restriction(params, expected):
    assert view.ViewFilters.from_query_params(params) == expected


# --- risk, scoring and tiers ----------------------------------------------------------------------


def test_customer_risk_levels_pick_the_worst_level():
    levels = view.customer_risk_levels(risk_table())
    assert levels.to_dict() == {101: "high", 102: "medium", 104: "low", 107: "medium", 110: "high"}


def test_customer_risk_levels_of_no_contracts_is_empty():
    assert view.customer_risk_levels(pd.DataFrame(columns=["customer_id", "risk_level"])).empty


def test_scored_customers_scores_tiers_and_risk(table):
    assert table["score"].to_dict() == EXPECTED_SCORES
    assert table["tier"].to_dict() == EXPECTED_TIERS
    assert view.tier_counts(table, RULES.names) == {"KA": 1, "standard": 2, "small": 4, "micro": 5}
    assert table.loc[101, "risk_level"] == "high"
    assert pd.isna(table.loc[103, "risk_level"])  # no contract up for renewal
    assert list(table.index) == [c[0] for c in CUSTOMERS]  # every customer, in the features' order


def test_filtering_the_view_never_changes_a_customers_tier(table):
    # Manufacturing alone is 101 (100), 107 (82.5), 108 (50). Re-tiered on its own (n = 3: bounds
    # round_half_up(0.15, 0.75, 1.8) = 0, 1, 2) nobody would be KA and 101 would drop to standard;
    # ranked over all twelve, each keeps the tier it has in the whole list.
    shown = view.apply_filters(table, Filters(ALL.date_from, ALL.date_to, industries=("manufacturing",)),
                               view.ViewFilters())
    assert shown["tier"].to_dict() == {101: "KA", 107: "standard", 108: "small"}
    alone = tiers.assign_tiers(shown["score"], RULES)  # 3 customers: bounds 0, 1, 2 -> standard, small, micro
    assert alone.to_dict() == {101: "standard", 107: "small", 108: "micro"}
    assert view.tier_counts(shown, RULES.names) == {"KA": 1, "standard": 1, "small": 1, "micro": 0}


# --- filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shared", "own", "expected"), [
    ({}, {}, LIST_ORDER),
    ({"industries": ("manufacturing",)}, {}, [101, 107, 108]),
    ({"industries": ("manufacturing", "energy")}, {"tiers": ("standard",)}, [107, 102]),
    ({"regions": ("east_china",)}, {"product_lines": ("MES",)}, [101, 107, 111]),
    ({}, {"product_lines": ("SCM", "IoT")}, [103, 110, 104, 108, 111, 112]),
    ({}, {"risk_levels": ("high",)}, [101, 110]),
    ({}, {"risk_levels": ("high", "medium")}, [101, 107, 102, 110]),
    ({"size_bands": ("micro",)}, {}, [105, 112, 106]),
    ({"csms": (1,)}, {}, [102, 104, 106, 108, 110, 112]),   # csm_id = 1 + id % 2: even ids
    ({}, {"score_min": 50.0, "score_max": 70.0}, [102, 103, 110, 104, 108]),  # 70, 70, 57.5, 50, 50: ends inclusive
    ({}, {"score_min": 100.0, "score_max": 100.0}, [101]),
    ({}, {"text": "acme"}, [102, 108]),                       # case-insensitive: "Acme", "ACME"
    ({}, {"text": "  制造 "}, [101]),                         # Chinese, trimmed: 华东精密制造有限公司
    ({}, {"text": "c0107"}, [107]),                           # the code matches too
    ({"industries": ("energy",)}, {"text": "能源", "tiers": ("small",)}, [103]),
    ({"industries": ("retail",)}, {"tiers": ("KA",)}, []),
], ids=["nothing", "industry", "industries-and-tier", "region-and-line", "any-of-two-lines", "high-risk",
        "high-or-medium-risk", "size-band", "csm", "score-range", "score-exactly-100", "text-latin",
        "text-chinese", "text-code", "everything-at-once", "nothing-left"])
def test_apply_filters_combines_the_sidebar_and_the_page_filters(table, shared, own, expected):
    shown = view.apply_filters(table, Filters(ALL.date_from, ALL.date_to, **shared), view.ViewFilters(**own))
    assert sorted(ids(shown)) == sorted(expected)


def test_chinese_search_matches_a_part_of_a_name(table):
    # 苏州汽车零部件 and 华东精密制造有限公司: "汽车" is in one name only, "有限公司" in one, "州" in one.
    assert ids(view.apply_filters(table, ALL, view.ViewFilters(text="汽车"))) == [107]
    assert ids(view.apply_filters(table, ALL, view.ViewFilters(text="州"))) == [107, 111]  # 苏州, 杭州


# --- summaries ------------------------------------------------------------------------------------


def test_score_histogram_counts_every_row_in_bins_from_0_to_100(table):
    bins = view.score_histogram(table, RULES.names)
    assert bins["customers"].sum() == len(table)
    assert bins["score_from"].min() == 0.0 and bins["score_to"].max() == 100.0  # 106 scores 0, 101 scores 100
    assert set(np.diff(np.linspace(0, 100, 41))) == {2.5}


def test_score_histogram_by_hand_with_four_bins(table):
    # Edges 0, 25, 50, 75, 100; a bin holds [from, to) except the last, which also holds 100.
    # [0, 25): 105 (20), 112 (5), 106 (0), all micro. [25, 50): 111 (30), 109 (25), micro.
    # [50, 75): 102 (70) standard; 103 (70), 110 (57.5), 104 (50), 108 (50) small.
    # [75, 100]: 101 (100) KA, 107 (82.5) standard.
    bins = view.score_histogram(table, RULES.names, bins=4)
    rows = list(bins[["score_from", "score_to", "tier", "customers"]].itertuples(index=False, name=None))
    assert rows == [(0.0, 25.0, "micro", 3), (25.0, 50.0, "micro", 2), (50.0, 75.0, "standard", 1),
                    (50.0, 75.0, "small", 4), (75.0, 100.0, "KA", 1), (75.0, 100.0, "standard", 1)]


def test_score_histogram_of_an_empty_view_is_empty(table):
    assert view.score_histogram(table.iloc[:0], RULES.names).empty


def test_tier_by_industry_sums_to_the_rows(table):
    counts = view.tier_by_industry(table, RULES.names)
    assert counts["customers"].sum() == len(table)
    by_pair = {(r.industry, r.tier): r.customers for r in counts.itertuples()}
    # manufacturing: 101 KA, 107 standard, 108 small; energy: 102 standard, 103 small.
    assert by_pair[("manufacturing", "KA")] == 1
    assert by_pair[("manufacturing", "standard")] == 1
    assert by_pair[("manufacturing", "small")] == 1
    assert by_pair[("energy", "standard")] == 1 and by_pair[("energy", "small")] == 1
    assert counts.groupby("industry")["customers"].sum().to_dict() == {
        "chemicals": 1, "electronics": 1, "energy": 2, "food": 1, "healthcare": 1, "logistics": 2,
        "manufacturing": 3, "retail": 1}
    assert set(counts["tier_rank"]) <= {0, 1, 2, 3}


def test_tier_floors_are_the_lowest_score_in_each_tier(table):
    # KA {100}; standard {82.5, 70}; small {70, 57.5, 50, 50}; micro {30, 25, 20, 5, 0}.
    assert view.tier_floors(table) == {"KA": 100.0, "standard": 70.0, "small": 50.0, "micro": 0.0}


# --- paging ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "expected"), [
    (1, [101, 107, 102, 103, 110]),
    (2, [104, 108, 111, 109, 105]),   # 104 before 108: both 50, lower id first
    (3, [112, 106]),
    (4, []),
    (0, [101, 107, 102, 103, 110]),   # below 1: the first page
], ids=["first", "second", "last-partial", "past-the-end", "page-zero"])
def test_page_of_orders_by_score_then_lower_id(table, number, expected):
    page = view.page_of(table.sample(frac=1.0, random_state=3), number, 5)  # input order must not matter
    assert ids(page) == expected
    assert list(page.columns) == list(view.TABLE_COLUMNS)


# --- export ---------------------------------------------------------------------------------------


def key_contacts() -> pd.DataFrame:
    rows = [(107, "张伟", "CEO", "boss", "13812341234", "zhang.wei@suzhou-auto.cn"),
            (101, "Alice Wong", "CIO", "veto_head", "+86 21 6123 4567", "alice@hd-precision.cn")]
    return pd.DataFrame(rows, columns=["customer_id", *KEY_CONTACT_COLUMNS]).set_index("customer_id")


def test_export_frame_keeps_list_order_and_chosen_columns_and_joins_key_contacts(table):
    shown = view.apply_filters(table, Filters(ALL.date_from, ALL.date_to, industries=("manufacturing",)),
                               view.ViewFilters())
    columns = ["code", "tier", "key_contact", "score", "key_contact_email", "not_a_column"]
    out = view.export_frame(shown.iloc[::-1], key_contacts(), columns)
    assert list(out.columns) == ["code", "tier", "key_contact", "score", "key_contact_email"]
    assert out["code"].tolist() == ["C0101", "C0107", "C0108"]  # list order: 100, 82.5, 50
    assert out["key_contact"].tolist()[:2] == ["Alice Wong", "张伟"]
    assert pd.isna(out.loc[2, "key_contact"])  # 108 has no key contact: an empty cell, still listed
    assert out["key_contact_email"].tolist()[:2] == ["alice@hd-precision.cn", "zhang.wei@suzhou-auto.cn"]


def test_export_frame_without_chosen_columns_uses_the_defaults(table):
    out = view.export_frame(table, key_contacts(), [])
    assert list(out.columns) == list(view.EXPORT_DEFAULT_COLUMNS)
    assert out["code"].tolist() == [f"C0{i}" for i in LIST_ORDER]


def test_export_frame_of_an_empty_view_has_the_columns_and_no_rows(table):
    out = view.export_frame(table.iloc[:0], key_contacts(), list(view.EXPORT_COLUMNS))
    assert out.empty and list(out.columns) == list(view.EXPORT_COLUMNS)


def test_export_notes_name_everything_the_list_was_made_with():
    shared = ALL.describe("en")
    own = view.ViewFilters(tiers=("KA",), text="华东")
    notes = view.export_notes(WEIGHTS, scoring.DEFAULT_METHODS, RULES, shared, own.describe("en"), "Q3 plan",
                              dt.datetime(2025, 7, 1, 9, 30), AS_OF)
    text = "\n".join(notes)
    assert "made 2025-07-01 09:30 UTC" in notes[0] and "as of 2025-06-30" in notes[0]
    # 60 and 20 of 80 -> 75 % and 25 %; every other dimension 0 %; the shares add up to 100 %.
    weights_line = next(n for n in notes if n.startswith("Weights:"))
    assert "Order amount (12 months) 75.0%" in weights_line and "Company size 25.0%" in weights_line
    shares = [float(s) for s in re.findall(r"(\d+\.\d)%", weights_line)]
    assert len(shares) == len(scoring.DIMENSION_KEYS) and sum(shares) == 100
    assert "Order amount (12 months) log, then min-max" in text and "Gross profit (12 months) winsorised 95%" in text
    assert "Brand image bounded 0..6" in text
    # no mapping given: the default demand-type table (scoring.DEFAULT_MAPPINGS) is named
    assert "Mappings: Product demand type Standard product 0.25, Configured 0.5, Customised 0.75, Platform 1" in text
    assert "Tiers: quota KA 5%, standard 20%, small 35%, micro the rest" in text
    assert f"Filters: {shared}; " in text and "KA" in text and "华东" in text
    assert notes[-1] == "Preset: Q3 plan"


def test_export_notes_of_unsaved_sliders_and_cutoff_tiers_within_industries():
    rules = tiers.TierRules(mode="cutoff", cutoffs=(85.0, 60.5, 40.0))
    by_industry = tiers.TierRules(by_industry=True)
    notes = view.export_notes(WEIGHTS, {}, rules, "all customers", "", None, dt.datetime(2025, 7, 1), AS_OF,
                              mappings={"demand_type": {"standard": 0.1, "platform": 0.9}})
    assert "Mappings: Product demand type Standard product 0.1, Platform 0.9" in notes  # an edited table replaces the default one
    assert "Tiers: cut-offs KA >= 85, standard >= 60.5, small >= 40, micro below" in notes
    assert "Filters: all customers" in notes  # no view filters: no trailing separator
    assert notes[-1] == "Preset: (unsaved sliders)"
    notes = view.export_notes(WEIGHTS, {}, by_industry, "all", "", None, dt.datetime(2025, 7, 1), AS_OF)
    assert any(n.startswith("Tiers: quota") and n.endswith("within each industry") for n in notes)


def test_export_notes_in_chinese_name_dimensions_methods_categories_and_tiers_in_chinese():
    """Seen: the Chinese customer file's notes in English with weight, method and mapping codes."""
    from tests.wording import english_words

    own = view.ViewFilters(tiers=("KA",), text="华东")
    notes = view.export_notes(WEIGHTS, scoring.DEFAULT_METHODS, RULES, ALL.describe("zh"), own.describe("zh"), "Q3 plan",
                              dt.datetime(2025, 7, 1, 9, 30), AS_OF, lang="zh")
    text = "\n".join(notes)
    assert notes[0] == "运营驾驶舱客户清单，生成于 2025-07-01 09:30（UTC），得分截至 2025-06-30"
    assert "类别映射：产品需求类型 标准化产品 0.25、配置型 0.5、定制型 0.75、平台型 1" in notes
    assert "分层：配额 KA 5%、标准 20%、小型 35%，其余为微型" in notes
    assert notes[-1] == "方案：Q3 plan"
    assert english_words(text, ["KA", "Q3 plan", "UTC"]) == []
