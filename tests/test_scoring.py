"""Value scoring: the nine dimensions on a hand-built store, normalisation, scores, explanations, the command line."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ops_core import scoring, writes
from ops_core.db.engine import transaction
from ops_core.errors import UsageError
from ops_core.scoring import DIMENSION_KEYS, Method, MethodSpec
from tests.conftest import DEMO_CUSTOMERS
from tests.factories import make_csm, make_customer

D = dt.date
AS_OF = D(2025, 6, 30)  # windows: recent (2024-06-30, 2025-06-30], prior (2023-06-30, 2024-06-30]


# --- normalisation on known inputs ---------------------------------------------------------------

X = pd.Series([0.0, 1.0, 3.0, 3.0, 10.0], name="x")
L11 = math.log(11)


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param(MethodSpec(Method.minmax), [0, 0.1, 0.3, 0.3, 1], id="minmax: (x-0)/(10-0)"),
    # average ranks 1, 2, 3.5, 3.5, 5 -> (rank-1)/4
    pytest.param(MethodSpec(Method.percentile), [0, 0.25, 0.625, 0.625, 1], id="percentile: ties share the average rank"),
    # log1p: 0, ln2, ln4, ln4, ln11 -> divided by ln11
    pytest.param(MethodSpec(Method.log_minmax), [0, math.log(2) / L11, math.log(4) / L11, math.log(4) / L11, 1],
                 id="log then minmax"),
    # quantiles 0.25 and 0.75 of [0,1,3,3,10] are 1 and 3 (positions 1 and 3) -> clip [1,1,3,3,3] -> (x-1)/2
    pytest.param(MethodSpec(Method.winsorised, winsor_pct=0.75), [0, 0, 1, 1, 1], id="winsorised at 75%"),
    # clip to [0,5] -> [0,1,3,3,5] -> /5
    pytest.param(MethodSpec(Method.bounded, floor=0, ceiling=5), [0, 0.2, 0.6, 0.6, 1], id="bounded 0..5"),
    # clip to [2,4] -> [2,2,3,3,4] -> (x-2)/2
    pytest.param(MethodSpec(Method.bounded, floor=2, ceiling=4), [0, 0, 0.5, 0.5, 1], id="bounded 2..4 clamps both ends"),
])
def test_each_method_maps_known_inputs_to_the_expected_values(spec, expected):
    assert scoring.normalise_series(X, spec).tolist() == pytest.approx(expected)


def test_log_method_accepts_negative_values_symmetrically():
    # sign(x)·log1p(|x|): -ln10, 0, ln10 -> min-max -> 0, 0.5, 1
    out = scoring.normalise_series(pd.Series([-9.0, 0.0, 9.0]), MethodSpec(Method.log_minmax))
    assert out.tolist() == pytest.approx([0, 0.5, 1])


def test_mapping_reads_the_table_and_leaves_unknown_categories_missing():
    raw = pd.Series(["standard", "platform", "bespoke", None])
    out = scoring.normalise_series(raw, MethodSpec(Method.mapping), scoring.DEFAULT_MAPPINGS["demand_type"])
    assert out.tolist()[:2] == [0.25, 1.0]
    assert out.isna().tolist() == [False, False, True, True]


@pytest.mark.parametrize("spec", [MethodSpec(m) for m in Method if m is not Method.mapping]
                         + [MethodSpec(Method.bounded, floor=7, ceiling=7.0001)], ids=lambda s: s.describe())
def test_a_constant_column_normalises_to_one_half(spec):
    out = scoring.normalise_series(pd.Series([7.0, 7.0, 7.0]), spec)
    if spec.floor is None:
        assert out.tolist() == [0.5, 0.5, 0.5]
    else:  # user bounds: 7 sits at the floor, a real position, not "constant"
        assert out.tolist() == [0.0, 0.0, 0.0]


def test_a_single_customer_normalises_to_one_half_without_dividing_by_zero():
    for method in (Method.minmax, Method.percentile, Method.log_minmax, Method.winsorised):
        assert scoring.normalise_series(pd.Series([42.0]), MethodSpec(method)).tolist() == [0.5]


def test_bounded_with_ceiling_not_above_floor_is_a_usage_error():
    with pytest.raises(UsageError, match="ceiling 3 must be above floor 5"):
        scoring.normalise_series(pd.Series([1.0, 2.0], name="brand"), MethodSpec(Method.bounded, floor=5, ceiling=3))


def test_method_spec_round_trips_through_a_dict():
    spec = MethodSpec(Method.bounded, 0.9, -1.0, 1.0)
    assert MethodSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(UsageError, match="unknown normalisation method 'cubic'"):
        MethodSpec.from_dict({"method": "cubic"})


def features_frame(**columns: list) -> pd.DataFrame:
    """Three customers with every dimension set to a harmless default, overridden per column."""
    base = {k: [1.0, 2.0, 3.0] for k in DIMENSION_KEYS} | {"demand_type": ["standard", "configured", "platform"]}
    return pd.DataFrame(base | columns, index=pd.Index([11, 12, 13], name="customer_id"))


def test_missing_values_score_zero_and_are_counted():
    features = features_frame(growth=[np.nan, 0.0, np.nan], demand_type=["standard", "unheard-of", "platform"])
    result = scoring.normalise(features, {"growth": MethodSpec(Method.minmax)})
    assert result.missing_counts["growth"] == 2
    assert result.missing_counts["demand_type"] == 1
    assert result.missing_counts["order_amount"] == 0
    # growth: only one known value (0.0) -> constant -> 0.5; the two missing -> 0
    assert result.values["growth"].tolist() == [0.0, 0.5, 0.0]
    assert result.values["demand_type"].tolist() == [0.25, 0.0, 1.0]


def test_payment_is_flipped_so_less_overdue_scores_higher_and_missing_still_scores_zero():
    features = features_frame(payment=[0.0, 50.0, 100.0])
    flipped = scoring.normalise(features, {"payment": MethodSpec(Method.minmax)}).values["payment"]
    assert flipped.tolist() == [1.0, 0.5, 0.0]  # minmax 0, .5, 1 -> 1 - x
    features = features_frame(payment=[0.0, np.nan, 100.0])
    assert scoring.normalise(features, {"payment": MethodSpec(Method.minmax)}).values["payment"].tolist() == [1.0, 0.0, 0.0]


def test_a_categorical_dimension_refuses_a_numeric_method():
    with pytest.raises(UsageError, match="'demand_type' is categorical"):
        scoring.normalise(features_frame(), {"demand_type": MethodSpec(Method.minmax)})
    with pytest.raises(UsageError, match="features lack the dimension column"):
        scoring.normalise(features_frame().drop(columns="brand"))


def test_editable_mapping_overrides_the_default_table():
    table = {"standard": 0.0, "configured": 0.1, "platform": 0.9}
    out = scoring.normalise(features_frame(), mappings={"demand_type": table}).values["demand_type"]
    assert out.tolist() == [0.0, 0.1, 0.9]


# --- scores ---------------------------------------------------------------------------------

# Five customers, normalised matrix given directly (columns in DIMENSION_KEYS order:
# order, size, gp, demand, coop, influence, brand, payment, growth).
MATRIX = pd.DataFrame([
    [1.0, 1.0, 1.0, 1.00, 1.0, 1.0, 1.0, 1.0, 1.0],
    [0.0, 0.0, 0.0, 0.00, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.5, 0.0, 1.0, 0.25, 0.9, 0.3, 0.0, 1.0, 0.7],
    [0.2, 0.6, 0.1, 0.75, 0.0, 0.0, 1.0, 0.0, 0.0],
    [1.0, 0.0, 0.0, 0.50, 1.0, 1.0, 0.5, 0.5, 1.0],
], columns=list(DIMENSION_KEYS), index=pd.Index([1, 2, 3, 4, 5], name="customer_id"))
# Weights sum to 10, so shares are w/10; cooperation, influence and growth weigh nothing.
WEIGHTS = {"order_amount": 4, "company_size": 1, "gross_profit": 2, "demand_type": 1, "cooperation": 0,
           "influence": 0, "brand": 1, "payment": 1, "growth": 0}


def test_score_of_five_customers_matches_the_hand_computation():
    # c1: every x = 1                                  -> 100
    # c2: every x = 0                                  -> 0
    # c3: (4×.5 + 1×0 + 2×1 + 1×.25 + 1×0 + 1×1)/10     = 5.25/10 -> 52.5
    # c4: (4×.2 + 1×.6 + 2×.1 + 1×.75 + 1×1 + 1×0)/10   = 3.35/10 -> 33.5
    # c5: (4×1 + 0 + 0 + 1×.5 + 1×.5 + 1×.5)/10         = 5.5/10  -> 55.0
    scores = scoring.score(MATRIX, WEIGHTS)
    assert scores.tolist() == pytest.approx([100.0, 0.0, 52.5, 33.5, 55.0])
    assert scores.index.tolist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("weights", [
    pytest.param(dict.fromkeys(DIMENSION_KEYS, 0), id="all zero"),
    pytest.param({}, id="none given"),
    pytest.param({"order_amount": -1, "brand": 1}, id="negative"),
    pytest.param({"order_amount": float("nan")}, id="not a number"),
    pytest.param({"shoe_size": 1}, id="unknown dimension"),
])
def test_weights_that_cannot_be_normalised_are_a_usage_error(weights):
    with pytest.raises(UsageError):
        scoring.score(MATRIX, weights)


def test_all_zero_weights_say_so_plainly():
    with pytest.raises(UsageError, match="all weights are zero"):
        scoring.score(MATRIX, dict.fromkeys(DIMENSION_KEYS, 0.0))


def test_default_weights_cover_every_dimension_in_order():
    assert tuple(scoring.DEFAULT_WEIGHTS) == DIMENSION_KEYS == (
        "order_amount", "company_size", "gross_profit", "demand_type", "cooperation", "influence", "brand",
        "payment", "growth")
    assert sum(scoring.DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)
    assert all(d.definition for d in scoring.DIMENSIONS)


unit = st.floats(0.0, 1.0, allow_nan=False)
weight = st.floats(0.0, 1e6, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(matrix=arrays(np.float64, st.tuples(st.integers(1, 12), st.just(9)), elements=unit),
       weights=st.lists(weight, min_size=9, max_size=9).filter(lambda w: sum(w) > 0),
       column=st.integers(0, 8), raise_by=st.floats(1e-6, 1e6))
def test_raising_a_weight_never_lowers_a_customer_at_the_maximum_of_that_dimension(matrix, weights, column, raise_by):
    # score = 100·S/W with S = Σ wᵢxᵢ ≤ W; with x_j = 1, raising w_j by δ gives 100·(S+δ)/(W+δ) ≥ 100·S/W.
    matrix[0, column] = 1.0
    values = pd.DataFrame(matrix, columns=list(DIMENSION_KEYS))
    before = dict(zip(DIMENSION_KEYS, weights, strict=True))
    after = before | {DIMENSION_KEYS[column]: before[DIMENSION_KEYS[column]] + raise_by}
    assert scoring.score(values, after).iloc[0] >= scoring.score(values, before).iloc[0] - 1e-9


@settings(max_examples=150, deadline=None)
@given(matrix=arrays(np.float64, st.tuples(st.integers(0, 12), st.just(9)), elements=unit),
       weights=st.lists(st.floats(0.0, 1e300, allow_nan=False), min_size=9, max_size=9).filter(lambda w: sum(w) > 0))
def test_scores_stay_between_0_and_100(matrix, weights):
    scores = scoring.score(pd.DataFrame(matrix, columns=list(DIMENSION_KEYS)), dict(zip(DIMENSION_KEYS, weights, strict=True)))
    assert ((scores >= 0) & (scores <= 100)).all()


# --- explanation ------------------------------------------------------------------------------


def test_explanation_points_sum_to_the_score_and_show_raw_values():
    features = MATRIX * 10  # any raw values; explain only shows them
    table = scoring.explain(features, MATRIX, WEIGHTS, 3, tier_floors={"KA": 80, "standard": 60, "small": 40})
    assert table["key"].tolist() == list(DIMENSION_KEYS)
    assert table["points"].sum() == pytest.approx(scoring.score(MATRIX, WEIGHTS)[3]) == pytest.approx(52.5)
    assert table["weight_share"].sum() == pytest.approx(1.0)
    assert table.set_index("key").loc["order_amount", "raw"] == 5.0
    # 52.5 is in "small" (>= 40); next is "standard" at 60: 7.5 points short. Headroom 100·w·(1−x):
    # order .4×.5 = 20, size .1×1 = 10, demand .1×.75 = 7.5, brand .1×1 = 10, gp/payment 0 -> order_amount.
    assert table.attrs == {"score": pytest.approx(52.5), "tier": "small", "next_tier": "standard",
                           "gap_points": pytest.approx(7.5), "closes_gap_fastest": "order_amount"}


def test_gap_to_next_tier_rules():
    row = MATRIX.loc[4]
    # c4 scores 33.5; headroom: order .4×.8 = 32, size .1×.4 = 4, gp .2×.9 = 18, demand .1×.25 = 2.5, brand 0, payment 10
    assert scoring.gap_to_next_tier(33.5, 40, row, WEIGHTS) == (pytest.approx(6.5), "order_amount")
    assert scoring.gap_to_next_tier(100.0, 80, MATRIX.loc[1], WEIGHTS) == (0.0, None)  # already above
    # equal headroom (every weight equal, every x = 0): the first dimension wins the tie
    assert scoring.gap_to_next_tier(0.0, 10, MATRIX.loc[2], dict.fromkeys(DIMENSION_KEYS, 1)) == (10.0, "order_amount")
    # no headroom left at all
    assert scoring.gap_to_next_tier(50.0, 60, MATRIX.loc[1], WEIGHTS) == (10.0, None)


def test_explaining_an_unknown_customer_is_a_usage_error():
    with pytest.raises(UsageError, match="no customer with id 99"):
        scoring.explain(MATRIX, MATRIX, WEIGHTS, 99)


# --- deriving the raw dimensions from the store ---------------------------------------------------


def _contract(s, customer, code, signed, start, end, amount, delivery=0, service=0, **extra):
    return writes.create(s, writes.LOCAL_ADMIN, "contracts", {
        "code": code, "customer_id": customer["id"], "kind": "new", "product_line": "MES", "signed_on": signed,
        "start_date": start, "end_date": end, "amount_cents": amount, "delivery_cost_cents": delivery,
        "service_cost_cents": service} | extra)


def _invoice(s, customer, number, issued, due, amount):
    return writes.create(s, writes.LOCAL_ADMIN, "invoices", {
        "number": number, "customer_id": customer["id"], "issued_on": issued, "due_on": due, "amount_cents": amount})


def _pay(s, invoice, paid_on, amount):
    writes.create(s, writes.LOCAL_ADMIN, "payments", {"invoice_id": invoice["id"], "paid_on": paid_on, "amount_cents": amount})


def _refer(s, referrer, referred, name, on):
    writes.create(s, writes.LOCAL_ADMIN, "referrals", {
        "referrer_id": referrer["id"], "referred_customer_id": referred and referred["id"], "referred_name": name,
        "referred_on": on})


def build_store(engine) -> dict[str, int]:
    """Four customers existing on AS_OF and one created later; the numbers are worked out in the test."""
    with transaction(engine) as s:
        csm = make_csm(s, name="王芳")
        a = make_customer(s, code="A", employees=500, demand_type="customised", partnership_level="gold",
                          reference_case=True, fortune500=True, listed=True, csm_id=csm["id"], created_on=D(2022, 1, 1))
        b = make_customer(s, code="B", employees=50, demand_type="standard", created_on=D(2024, 8, 15))
        c = make_customer(s, code="C", employees=2000, demand_type="platform", partnership_level="strategic",
                          high_valuation=True, created_on=D(2020, 1, 1))
        d = make_customer(s, code="D", demand_type="configured", created_on=D(2025, 5, 1))
        make_customer(s, code="E", created_on=D(2025, 8, 1))  # does not exist yet on AS_OF
        _contract(s, a, "A1", D(2023, 1, 10), D(2023, 1, 15), D(2024, 1, 14), 1_000_000)  # before both windows
        _contract(s, a, "A2", D(2024, 1, 10), D(2024, 1, 15), D(2025, 1, 14), 2_000_000, 300_000, 100_000)  # prior
        _contract(s, a, "A3", D(2025, 1, 10), D(2025, 1, 15), D(2026, 1, 14), 3_000_000, 500_000, 200_000)  # recent
        _contract(s, a, "A4", D(2025, 3, 1), D(2025, 3, 1), D(2026, 1, 14), 600_000, 0, 60_000,
                  kind="expansion", product_line="IoT")  # recent
        _contract(s, a, "A5", D(2025, 7, 5), D(2025, 7, 5), D(2026, 7, 4), 9_999_999)  # signed after AS_OF
        _contract(s, b, "B1", D(2024, 9, 1), D(2024, 9, 1), D(2025, 8, 31), 1_200_000, 200_000, 100_000,
                  product_line="SCM")
        _contract(s, c, "C1", D(2021, 1, 1), D(2021, 1, 1), D(2023, 12, 31), 5_000_000)
        _contract(s, d, "D1", D(2025, 8, 1), D(2025, 8, 1), D(2026, 7, 31), 800_000)  # after AS_OF
        ia1 = _invoice(s, a, "IA1", D(2025, 1, 15), D(2025, 2, 14), 1_000_000)
        _pay(s, ia1, D(2025, 3, 1), 400_000)
        _pay(s, ia1, D(2025, 7, 10), 100_000)  # after AS_OF: still unpaid on AS_OF
        _invoice(s, a, "IA2", D(2025, 6, 20), D(2025, 7, 10), 500_000)  # not yet due
        ia3 = _invoice(s, a, "IA3", D(2025, 1, 15), D(2025, 3, 1), 200_000)
        _pay(s, ia3, D(2025, 4, 1), 200_000)  # paid in full (late, but settled)
        _invoice(s, c, "IC1", D(2023, 1, 1), D(2023, 1, 31), 300_000)  # never paid
        _refer(s, a, b, "B", D(2024, 8, 1))            # B signed 2024-09-01: counts
        _refer(s, a, None, "Prospect X", D(2024, 10, 1))  # never signed
        _refer(s, a, d, "D", D(2025, 5, 1))            # D signs only 2025-08-01: not yet
    return {"a": a["id"], "b": b["id"], "c": c["id"], "d": d["id"]}


def test_every_raw_dimension_matches_the_hand_computation(fresh_engine):
    ids = build_store(fresh_engine)
    with fresh_engine.connect() as conn:
        f = scoring.derive_features(conn, AS_OF)
    a, b, c, d = (f.loc[ids[k]] for k in "abcd")
    assert f.index.tolist() == [ids["a"], ids["b"], ids["c"], ids["d"]]  # E (created 2025-08-01) is left out
    # order amount: A3 + A4 signed in the recent window; A1, A2 outside; A5 after AS_OF
    assert (a.order_amount, b.order_amount, c.order_amount, d.order_amount) == (3_600_000, 1_200_000, 0, 0)
    # gross profit: A (3,000,000 − 500,000 − 200,000) + (600,000 − 0 − 60,000) = 2,840,000; B 1,200,000 − 300,000
    assert (a.gross_profit, b.gross_profit, c.gross_profit) == (2_840_000, 900_000, 0)
    assert (a.company_size, b.company_size, c.company_size) == (500, 50, 2000)
    assert (a.demand_type, b.demand_type, c.demand_type, d.demand_type) == ("customised", "standard", "platform", "configured")
    # cooperation = 0.6·level + 0.4·min(years/5, 1); days since the first contract start up to AS_OF:
    # A gold, 2023-01-15 -> 897 days; B basic, 2024-09-01 -> 302; C strategic, 2021-01-01 -> 1641; D none started
    assert a.cooperation == pytest.approx(0.6 * 0.75 + 0.4 * (897 / 365.25 / 5))
    assert b.cooperation == pytest.approx(0.6 * 0.25 + 0.4 * (302 / 365.25 / 5))
    assert c.cooperation == pytest.approx(0.6 * 1.0 + 0.4 * (1641 / 365.25 / 5))
    assert d.cooperation == pytest.approx(0.6 * 0.25)
    # influence: A referred B (signed) = 1, plus 2 for the reference case; X never signed, D signed too late
    assert (a.influence, b.influence, c.influence) == (3.0, 0.0, 0.0)
    # brand: A Fortune 500 (3) + listed (2); C high valuation (1)
    assert (a.brand, b.brand, c.brand) == (5.0, 0.0, 1.0)
    # payment (overdue yuan-days): A IA1 unpaid 6,000 yuan × 136 days (2025-02-14 -> 06-30) = 816,000;
    # C IC1 3,000 yuan × 881 days (2023-01-31 -> 2025-06-30) = 2,643,000; IA2 not due, IA3 settled
    assert (a.payment, b.payment, c.payment) == (pytest.approx(816_000), 0.0, pytest.approx(2_643_000))
    # growth: A (3,600,000 − 2,000,000) / 2,000,000 = 0.8; B no prior orders -> missing; C and D no orders in
    # either window -> 0 (flat)
    assert a.growth == pytest.approx(0.8)
    assert math.isnan(b.growth)
    assert (c.growth, d.growth) == (0.0, 0.0)
    # ARR in force on AS_OF = 12 × amount / months: A3 15 Jan 2025..14 Jan 2026 is 12 months, 3,000,000;
    # A4 1 Mar 2025..14 Jan 2026 is 10 months + 14/31 of January: 12 × 600,000 / (10 + 14/31) = 688,888.9;
    # together 3,688,888.9 -> 3,688,889. B 1,200,000 over twelve months: 1,200,000.
    assert (a.arr_cents, b.arr_cents, c.arr_cents, d.arr_cents) == (3_688_889, 1_200_000, 0, 0)
    assert (a.product_lines, b.product_lines, c.product_lines) == ("IoT,MES", "SCM", "")
    assert (a.code, a.csm_name, b.csm_name) == ("A", "王芳", "")


def test_derived_features_flow_through_normalise_and_score(fresh_engine):
    ids = build_store(fresh_engine)
    with fresh_engine.connect() as conn:
        f = scoring.derive_features(conn, AS_OF)
    result = scoring.normalise(f)
    assert result.missing_counts["growth"] == 1  # B
    # brand is bounded 0..6: A 5/6, C 1/6
    assert result.values.loc[ids["a"], "brand"] == pytest.approx(5 / 6)
    # payment: log then min-max over 0, 0, 816,000, 2,643,000 and flipped: A = 1 − ln(816,001)/ln(2,643,001)
    assert result.values.loc[ids["a"], "payment"] == pytest.approx(1 - math.log1p(816_000) / math.log1p(2_643_000))
    assert result.values.loc[ids["b"], "payment"] == 1.0
    scores = scoring.score(result.values, scoring.DEFAULT_WEIGHTS)
    assert scores.idxmax() == ids["a"]


def test_derive_features_on_the_demo_company_gives_one_complete_row_per_customer(demo_engine):
    with demo_engine.connect() as conn:
        f = scoring.derive_features(conn, dt.date.today())  # the demo fixture was generated up to today
    assert len(f) == DEMO_CUSTOMERS
    assert f.index.is_unique
    assert list(f.columns) == [*scoring.DESCRIPTIVE_COLUMNS, *DIMENSION_KEYS]
    assert not f[list(scoring.DESCRIPTIVE_COLUMNS)].isna().any().any()
    assert not f[[k for k in DIMENSION_KEYS if k != "growth"]].isna().any().any()  # only growth may be missing
    scores = scoring.score(scoring.normalise(f).values, scoring.DEFAULT_WEIGHTS)
    assert scores.between(0, 100).all() and scores.nunique() > DEMO_CUSTOMERS // 2


# --- command line -----------------------------------------------------------------------------


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _read_export(path: Path) -> tuple[list[str], pd.DataFrame]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    notes = [row[0] for row in rows if len(row) == 1 and row[0].startswith("# ")]
    return notes, pd.read_csv(path, encoding="utf-8-sig", skiprows=len(notes))


def test_score_command_writes_every_customer_with_dimensions_score_and_tier(fresh_engine, tmp_path):
    pytest.importorskip("ops_core.tiers")
    build_store(fresh_engine)
    out = tmp_path / "scores.csv"
    assert scoring.main(["score", "--as-of", "2025-06-30", "--output", str(out), "--database-url", _url(fresh_engine)]) == 0
    notes, table = _read_export(out)
    assert len(table) == 4
    assert sorted(table["Code"]) == ["A", "B", "C", "D"]
    for d in scoring.DIMENSIONS:  # each dimension by its name, raw and normalised, never a column name
        assert any(c.startswith(d.name_en) and not c.endswith("(0-1)") for c in table.columns), d.key
        assert f"{d.name_en} (0-1)" in table.columns
    assert "Order amount (12 months) (¥)" in table.columns and "Gross profit (12 months) (¥)" in table.columns
    assert {"Customer", "Industry", "Region", "Size band", "CSM", "Score", "Tier"} <= set(table.columns)
    assert not set(table.columns) & set(DIMENSION_KEYS)
    assert table["Score"].between(0, 100).all() and table["Tier"].notna().all()
    assert table["Score"].is_monotonic_decreasing
    assert "as of 2025-06-30" in notes[0] and any(n.startswith("# Weights:") for n in notes)
    assert any(n.startswith("# Methods:") for n in notes) and not any("cents" in n for n in notes)


def test_score_command_in_chinese_reads_in_chinese(fresh_engine, tmp_path):
    build_store(fresh_engine)
    out = tmp_path / "得分.csv"
    assert scoring.main(["score", "--as-of", "2025-06-30", "--output", str(out), "--lang", "zh",
                         "--database-url", _url(fresh_engine)]) == 0
    notes, table = _read_export(out)
    assert notes[0].startswith("# 运营驾驶舱客户得分，截至 2025-06-30，4 个客户，默认权重")
    assert {"编号", "客户", "订单金额（近12个月）（元）", "订单金额（近12个月）（0-1）", "得分", "层级"} <= set(table.columns)
    english = [c for c in list(table.columns) + notes if re.search("[a-z]{3,}", c)]
    assert english == []                                    # no English word in the headers or the notes


def test_score_command_with_a_preset_uses_the_preset_s_category_mapping(fresh_engine, tmp_path):
    # A: customised, B: standard, C: platform, D: configured. The preset values them 0.9 / 0.1 / 0.6 / 0.3.
    from ops_core import tiers

    build_store(fresh_engine)
    mapping = {"demand_type": {"standard": 0.1, "configured": 0.3, "customised": 0.9, "platform": 0.6}}
    with transaction(fresh_engine) as s:
        tiers.save_preset(s, writes.LOCAL_ADMIN, "行业版", scoring.DEFAULT_WEIGHTS, {}, tiers.TierRules(),
                          mappings=mapping)
    out = tmp_path / "scores.csv"
    assert scoring.main(["score", "--preset", "行业版", "--as-of", "2025-06-30", "--output", str(out),
                         "--database-url", _url(fresh_engine)]) == 0
    notes, table = _read_export(out)
    assert dict(zip(table["Code"], table["Product demand type (0-1)"], strict=True)) == {"A": 0.9, "B": 0.1, "C": 0.6, "D": 0.3}
    assert dict(zip(table["Code"], table["Product demand type"], strict=True)) == {
        "A": "Customised", "B": "Standard product", "C": "Platform", "D": "Configured"}   # labels, not codes
    assert "# Mappings: Product demand type Standard product 0.1, Configured 0.3, Customised 0.9, Platform 0.6" in notes


def test_rfm_command_writes_the_rfm_table(fresh_engine, tmp_path):
    pytest.importorskip("ops_core.rfm")
    build_store(fresh_engine)
    out = tmp_path / "rfm.csv"
    assert scoring.main(["rfm", "--as-of", "2025-06-30", "--output", str(out), "--database-url", _url(fresh_engine)]) == 0
    notes, table = _read_export(out)
    assert "as of 2025-06-30" in notes[0]
    assert {"Code", "Days since last order", "Orders", "Order amount (¥)", "R", "F", "M", "Segment"} <= set(table.columns)


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["score", "--as-of", "30/06/2025"], "--as-of must be a date like 2025-06-30", id="bad date"),
    pytest.param(["score", "--output-suffix"], "use a .csv or .xlsx file name", id="bad output name"),
    pytest.param(["rfm", "--database-url", "sqlite:////no/such/folder/ops.db"], "does not exist", id="unreachable store"),
])
def test_command_line_problems_exit_2_with_one_clear_line(args, message, tmp_path, capsys):
    output = tmp_path / ("scores.txt" if "--output-suffix" in args else "scores.csv")
    argv = [a for a in args if a != "--output-suffix"] + ["--output", str(output)]
    if "--database-url" not in argv:
        argv += ["--database-url", f"sqlite:///{tmp_path / 'ops.db'}"]
    assert scoring.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not output.exists()


@pytest.mark.parametrize(("weights", "positions"), [
    (scoring.DEFAULT_WEIGHTS, {k: round(100 * w) for k, w in scoring.DEFAULT_WEIGHTS.items()}),  # shares -> percent
    ({"order_amount": 20, "payment": 10}, {"order_amount": 20, "payment": 10}),  # positions stay as they are
    ({"order_amount": 1, "payment": 0}, {"order_amount": 100, "payment": 0}),  # all <= 1: same proportions in percent
    ({"order_amount": 250, "payment": -5}, {"order_amount": 100, "payment": 0}),  # clamped to the slider's range
], ids=["default-shares", "kept-positions", "unit-weights", "out-of-range"])
def test_slider_positions_never_multiply_positions_again(weights, positions):
    assert scoring.slider_positions(weights) == positions


def test_a_customers_product_lines_in_force_are_named_in_order(fresh_engine):
    from sqlalchemy import insert

    from ops_core.db.models import TABLES

    with transaction(fresh_engine) as s:
        two, ended, none = (make_customer(s)["id"] for _ in range(3))
    rows = [(two, "MES", dt.date(2025, 1, 1), dt.date(2026, 12, 31)), (two, "EAM", dt.date(2025, 6, 1), dt.date(2026, 5, 31)),
            (two, "MES", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),  # a second MES contract names MES once
            (ended, "QMS", dt.date(2024, 1, 1), dt.date(2024, 12, 31))]
    with fresh_engine.begin() as conn:
        conn.execute(insert(TABLES["contracts"]), [
            dict(code=f"K{i}", customer_id=c, kind="new", product_line=line, signed_on=start, start_date=start, end_date=end,
                 amount_cents=1_200_000) for i, (c, line, start, end) in enumerate(rows)])
        features = scoring.derive_features(conn, dt.date(2026, 3, 1))
    assert features.loc[[two, ended, none], "product_lines"].tolist() == ["EAM,MES", "", ""]
