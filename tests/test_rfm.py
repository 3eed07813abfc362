"""RFM on a hand-built set of ten customers, with every score and segment written out.

Tie rule (ops_core.rfm): score = 1 + floor(5 × (customers strictly worse) / n); with n = 10 that is
1 + (min-rank - 1) // 2, so min-ranks 1-2 -> 1, 3-4 -> 2, 5-6 -> 3, 7-8 -> 4, 9-10 -> 5, and tied
customers share the lower score. FM = (F + M + 1) // 2 (the mean rounded half up).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select

from ops_core import rfm, writes
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.errors import UsageError
from tests.factories import make_customer

AS_OF = dt.date(2025, 6, 30)
D = dt.date

# customer: (days since last order, orders, total cents)
PROFILE = {
    1: (0, 6, 9_000_000),
    2: (10, 1, 500_000),
    3: (10, 4, 2_000_000),
    4: (40, 4, 2_000_000),
    5: (100, 2, 300_000),
    6: (200, 5, 8_000_000),
    7: (200, 1, 500_000),
    8: (200, 1, 100_000),
    9: (400, 3, 7_000_000),
    10: (800, 1, 200_000),
}

# R: recency ascending by "worse first": 800 (c10) rank 1, 400 (c9) 2, 200 ×3 (c6-8) 3, 100 (c5) 6,
#    40 (c4) 7, 10 ×2 (c2, c3) 8, 0 (c1) 10  -> 1, 1, 2, 2, 2, 3, 4, 4, 4, 5.
# F: 1 ×4 (c2, c7, c8, c10) rank 1, 2 (c5) 5, 3 (c9) 6, 4 ×2 (c3, c4) 7, 5 (c6) 9, 6 (c1) 10.
# M: 100k (c8) 1, 200k (c10) 2, 300k (c5) 3, 500k ×2 (c2, c7) 4, 2M ×2 (c3, c4) 6, 7M (c9) 8, 8M (c6) 9, 9M (c1) 10.
EXPECTED = pd.DataFrame.from_records([
    # id, R, F, M, segment
    (1, 5, 5, 5, "champions"),             # FM (5+5+1)//2 = 5; R5 FM5
    (2, 4, 1, 2, "potential_loyalists"),   # FM (1+2+1)//2 = 2; R4 FM2
    (3, 4, 4, 3, "champions"),             # FM (4+3+1)//2 = 4 (3.5 rounds up); R4 FM4
    (4, 4, 4, 3, "champions"),             # same F, M as c3 (tied money); recency 40 is still R4
    (5, 3, 3, 2, "need_attention"),        # FM (3+2+1)//2 = 3; R3 FM3
    (6, 2, 5, 5, "at_risk"),               # FM 5; R2 FM5 (Putler: can't lose them needs R <= 1)
    (7, 2, 1, 2, "hibernating"),           # FM 2; R2 FM2
    (8, 2, 1, 1, "hibernating"),           # FM 1; R2 FM1
    (9, 1, 3, 4, "cant_lose_them"),        # FM (3+4+1)//2 = 4; R1 FM4
    (10, 1, 1, 1, "lost"),                 # FM 1; R1 FM1
], columns=["customer_id", "r_score", "f_score", "m_score", "segment"]).set_index("customer_id")


def orders_for(profile: dict[int, tuple[int, int, int]]) -> pd.DataFrame:
    """Each customer's last order carries the rest of the total; earlier ones are 10,000 cents, 30 days apart."""
    rows = []
    for customer, (recency, count, total) in profile.items():
        last = AS_OF - dt.timedelta(days=recency)
        rows.append((customer, last, total - (count - 1) * 10_000))
        rows += [(customer, last - dt.timedelta(days=30 * i), 10_000) for i in range(1, count)]
    return pd.DataFrame(rows, columns=["customer_id", "signed_on", "amount_cents"])


def test_rfm_frame_scores_and_segments_ten_customers_by_hand():
    orders = orders_for(PROFILE)
    orders.loc[len(orders)] = (2, AS_OF + dt.timedelta(days=1), 99_999_999)  # signed after as_of: ignored
    table = rfm.rfm_frame(orders, AS_OF)
    assert list(table.columns) == list(rfm.RFM_COLUMNS)
    assert table["recency_days"].to_dict() == {c: p[0] for c, p in PROFILE.items()}
    assert table["frequency"].to_dict() == {c: p[1] for c, p in PROFILE.items()}
    assert table["monetary_cents"].to_dict() == {c: p[2] for c, p in PROFILE.items()}
    pd.testing.assert_frame_equal(table[["r_score", "f_score", "m_score", "segment"]], EXPECTED, check_dtype=False)


def test_scores_do_not_depend_on_row_order():
    orders = orders_for(PROFILE)
    shuffled = orders.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(rfm.rfm_frame(shuffled, AS_OF), rfm.rfm_frame(orders, AS_OF))


@pytest.mark.parametrize(("values", "higher_is_better", "expected"), [
    ([10, 20, 30, 40, 50], True, [1, 2, 3, 4, 5]),                 # n = 5: one per quintile
    ([7, 7, 7, 7], True, [1, 1, 1, 1]),                           # all tied: nobody is strictly better
    ([1, 2, 2, 3], True, [1, 2, 2, 4]),                           # 1 + floor(5·k/4) for k = 0, 1, 1, 3
    ([0, 5, 5, 100], False, [4, 2, 2, 1]),                        # recency: fewer days is better
], ids=["distinct", "all-tied", "tie-in-middle", "reversed"])
def test_quintile_scores_share_the_lower_score_on_ties(values, higher_is_better, expected):
    assert rfm.quintile_scores(pd.Series(values), higher_is_better).tolist() == expected


@pytest.mark.parametrize(("r", "f", "m", "segment"), [
    (5, 1, 1, "new"), (4, 1, 1, "promising"), (5, 2, 3, "loyal"), (3, 1, 1, "about_to_sleep"), (3, 1, 2, "need_attention"),
    (3, 5, 4, "loyal"), (2, 3, 3, "at_risk"), (1, 5, 5, "cant_lose_them"), (1, 2, 1, "lost"),
], ids=["new", "promising", "loyal-recent-FM-2.5-rounds-up", "about-to-sleep", "need-attention-FM-1.5-rounds-up", "loyal-older", "at-risk", "cant-lose", "lost"])
def test_default_segment_grid_cells(r, f, m, segment):
    assert rfm.rfm_segments(pd.Series([r]), pd.Series([f]), pd.Series([m])).iloc[0] == segment


def test_segment_config_overrides_only_the_cells_it_names():
    config = {(4, 4): "rising_star", (1, 1): "gone"}
    table = rfm.rfm_frame(orders_for(PROFILE), AS_OF, segment_config=config)
    expected = EXPECTED["segment"].copy()
    expected[[3, 4]] = "rising_star"   # R4 FM4
    expected[10] = "gone"              # R1 FM1
    assert table["segment"].to_dict() == expected.to_dict()  # c1 (R5 FM5) keeps "champions"


def test_segment_config_refuses_cells_outside_the_grid():
    with pytest.raises(UsageError, match=r"\(6, 1\)"):
        rfm.rfm_frame(orders_for(PROFILE), AS_OF, segment_config={(6, 1): "x"})


def test_rfm_frame_names_the_missing_column():
    with pytest.raises(UsageError, match="'amount_cents'"):
        rfm.rfm_frame(pd.DataFrame({"customer_id": [1], "signed_on": [AS_OF]}), AS_OF)


def test_rfm_frame_of_no_orders_is_empty():
    empty = pd.DataFrame({"customer_id": pd.Series(dtype="int64"), "signed_on": pd.Series(dtype="datetime64[ns]"),
                          "amount_cents": pd.Series(dtype="int64")})
    table = rfm.rfm_frame(empty, AS_OF)
    assert table.empty and list(table.columns) == list(rfm.RFM_COLUMNS)


def test_rfm_table_aggregates_contracts_in_sql_like_the_pure_transform(fresh_engine):
    orders = orders_for(PROFILE)
    with transaction(fresh_engine) as s:
        ids = {c: make_customer(s)["id"] for c in PROFILE}
        make_customer(s)  # no contract: not in the RFM table
        for n, row in enumerate(orders.itertuples(index=False)):
            writes.create(s, writes.LOCAL_ADMIN, "contracts", {
                "code": f"R{n:03d}", "customer_id": ids[row.customer_id], "kind": "new", "product_line": "MES",
                "signed_on": row.signed_on, "start_date": row.signed_on, "end_date": row.signed_on + dt.timedelta(days=364),
                "amount_cents": row.amount_cents})
        writes.create(s, writes.LOCAL_ADMIN, "contracts", {  # signed after as_of: not an order yet
            "code": "LATE", "customer_id": ids[10], "kind": "renewal", "product_line": "MES", "signed_on": D(2025, 7, 1),
            "start_date": D(2025, 7, 1), "end_date": D(2026, 6, 30), "amount_cents": 50_000_000})
    with fresh_engine.connect() as conn:
        table = rfm.rfm_table(conn, AS_OF)
    expected = rfm.rfm_frame(orders.assign(customer_id=orders["customer_id"].map(ids)), AS_OF)
    pd.testing.assert_frame_equal(table, expected, check_index_type=False, check_names=False)
    assert table.loc[ids[1], "monetary_cents"] == 9_000_000   # exact cents: 8,950,000 + 5 × 10,000
    assert table.loc[ids[10], "segment"] == "lost"


def test_rfm_table_on_an_empty_store_is_empty(fresh_engine):
    with fresh_engine.connect() as conn:
        table = rfm.rfm_table(conn, AS_OF)
    assert table.empty and list(table.columns) == list(rfm.RFM_COLUMNS)


def test_rfm_table_on_the_demo_company_scores_every_ordering_customer(demo_engine):
    with demo_engine.connect() as conn:
        contracts = TABLES["contracts"]
        as_of = conn.execute(select(func.max(contracts.c.signed_on))).scalar_one()  # the demo's end moves with today
        table = rfm.rfm_table(conn, as_of)
        ordering = conn.execute(select(func.count(contracts.c.customer_id.distinct()))).scalar_one()
    assert len(table) == ordering
    for column in ("r_score", "f_score", "m_score"):
        assert set(table[column]) <= {1, 2, 3, 4, 5}
    assert (table["recency_days"] >= 0).all()
    assert table["segment"].notna().all() and set(table["segment"]) <= set(rfm.SEGMENTS)
    # Monetary has few ties, so each quintile holds about a fifth of the customers.
    share = table["m_score"].value_counts(normalize=True)
    assert share.between(0.15, 0.25).all(), share
