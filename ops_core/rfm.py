"""RFM: recency, frequency and monetary value of each customer's orders, scored 1-5 and named.

An order is a contract (any kind) signed on or before ``as_of``. Recency is the whole days from the
last order to ``as_of``; frequency the number of orders; monetary the sum of their amounts in cents
(exact integers). Customers without an order by ``as_of`` are left out: RFM has nothing to say about
them (the scoring page lists them elsewhere).

Scores follow Hughes' quintile method (A. M. Hughes, *Strategic Database Marketing*, 1994): each
measure is cut into fifths of the customers, 5 the best fifth. Tie rule: a customer's score is
``1 + floor(5 × share of customers with a strictly worse value)``, so equal values always share a
score (the lower one: a tie never lifts anyone above a customer who is strictly better) and the
result does not depend on row order or ids. Worse means longer recency, fewer orders, less money.

Segments come from the R × FM grid of Putler's RFM segment table ("RFM Analysis for successful
customer segmentation", putler.com/rfm-analysis: champions R 4-5 / FM 4-5, loyal R 2-5 / FM 3-5,
... lost R ≤ 2 / FM ≤ 2), where FM is the mean of the F and M scores rounded half up. Putler's ranges
overlap; the default grid below resolves each cell to the more specific range. A caller overrides
cells with ``segment_config`` (the lifetimes / pymc-marketing ``rfm_segments(segment_config=None)``
pattern).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd
from sqlalchemy import BigInteger, Connection, cast, func, select

from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.errors import UsageError, require_columns

contracts = TABLES["contracts"]

SEGMENTS = ("champions", "loyal", "potential_loyalists", "new", "promising", "need_attention", "about_to_sleep",
            "at_risk", "cant_lose_them", "hibernating", "lost")

# Rows: R score 5 (most recent) down to 1; columns: FM score 1..5.
_GRID = {
    5: ("new", "potential_loyalists", "loyal", "champions", "champions"),
    4: ("promising", "potential_loyalists", "loyal", "champions", "champions"),
    3: ("about_to_sleep", "need_attention", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "at_risk"),
    1: ("lost", "lost", "at_risk", "cant_lose_them", "cant_lose_them"),
}
DEFAULT_SEGMENTS: dict[tuple[int, int], str] = {(r, fm): name for r, row in _GRID.items() for fm, name in enumerate(row, 1)}
"""(R score, FM score) -> segment code; the page translates codes."""

ORDER_COLUMNS = ("customer_id", "signed_on", "amount_cents")
SUMMARY_COLUMNS = ("last_order_on", "frequency", "monetary_cents")
RFM_COLUMNS = ("recency_days", "frequency", "monetary_cents", "r_score", "f_score", "m_score", "segment")


def quintile_scores(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """1-5 by quintile: ``1 + floor(5 × share strictly worse)``; ties share the lower score."""
    n = len(values)
    if n == 0:
        return pd.Series([], index=values.index, dtype="int64")
    ranked = (values if higher_is_better else -values).rank(method="min").astype("int64")  # 1 + count strictly worse
    return (1 + (5 * (ranked - 1)) // n).astype("int64").rename(values.name)


def _segment_map(segment_config: Mapping[tuple[int, int], str] | None) -> dict[tuple[int, int], str]:
    grid = dict(DEFAULT_SEGMENTS)
    for cell, name in (segment_config or {}).items():
        if cell not in DEFAULT_SEGMENTS:
            raise UsageError(f"segment_config cell {cell!r} is not an (R score, FM score) pair of 1..5")
        grid[cell] = str(name)
    return grid


def rfm_segments(r_score: pd.Series, f_score: pd.Series, m_score: pd.Series,
                 segment_config: Mapping[tuple[int, int], str] | None = None) -> pd.Series:
    """Segment per customer from R and FM = round-half-up((F + M) / 2); cells not in the config keep the default."""
    grid = _segment_map(segment_config)
    fm = (f_score + m_score + 1) // 2
    keys = r_score.astype("int64") * 10 + fm.astype("int64")
    lookup = {r * 10 + c: name for (r, c), name in grid.items()}
    return keys.map(lookup).astype(object).rename("segment")


def rfm_scores(summary: pd.DataFrame, as_of: dt.date,
               segment_config: Mapping[tuple[int, int], str] | None = None) -> pd.DataFrame:
    """Per-customer summary (index customer_id; last_order_on, frequency, monetary_cents) -> RFM_COLUMNS."""
    require_columns(summary, SUMMARY_COLUMNS, "rfm_scores")
    last = pd.to_datetime(summary["last_order_on"])
    out = pd.DataFrame(index=summary.index)
    out["recency_days"] = (pd.Timestamp(as_of) - last).dt.days.astype("int64")
    out["frequency"] = summary["frequency"].astype("int64")
    out["monetary_cents"] = summary["monetary_cents"].astype("int64")
    out["r_score"] = quintile_scores(out["recency_days"], higher_is_better=False)
    out["f_score"] = quintile_scores(out["frequency"])
    out["m_score"] = quintile_scores(out["monetary_cents"])
    out["segment"] = rfm_segments(out["r_score"], out["f_score"], out["m_score"], segment_config)
    return out.sort_index()


def rfm_frame(orders: pd.DataFrame, as_of: dt.date,
              segment_config: Mapping[tuple[int, int], str] | None = None) -> pd.DataFrame:
    """Orders (customer_id, signed_on, amount_cents; one row each) -> RFM table indexed by customer_id.

    Orders signed after ``as_of`` are ignored, as in :func:`rfm_table`.
    """
    require_columns(orders, ORDER_COLUMNS, "rfm_frame")
    signed = pd.to_datetime(orders["signed_on"])
    kept = orders.loc[signed <= pd.Timestamp(as_of)].assign(signed_on=signed)
    summary = kept.groupby("customer_id").agg(
        last_order_on=("signed_on", "max"), frequency=("signed_on", "size"), monetary_cents=("amount_cents", "sum"))
    return rfm_scores(summary, as_of, segment_config)


def rfm_table(conn: Connection, as_of: dt.date,
              segment_config: Mapping[tuple[int, int], str] | None = None) -> pd.DataFrame:
    """RFM of every customer with an order by ``as_of``: one GROUP BY in the database, scored in pandas."""
    rows = conn.execute(
        select(contracts.c.customer_id, func.max(contracts.c.signed_on), func.count(),
               cast(func.sum(contracts.c.amount_cents), BigInteger))
        .where(contracts.c.signed_on <= as_of)
        .group_by(contracts.c.customer_id)
    ).all()
    summary = frame_of(rows, columns=["customer_id", *SUMMARY_COLUMNS]).set_index("customer_id")
    return rfm_scores(summary, as_of, segment_config)
