"""Usage per period on a hand-built store (daily rows for weeks, roll-up rows for months), and on the demo company."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select

from ops_core import indicators, usage
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.db.rollups import refresh_usage_periods
from ops_core.errors import UsageError
from ops_core.filters import Filters
from ops_core.periods import parse_period, period_of, periods_between
from tests.factories import make_csm, make_customer

D = dt.date
NAN = float("nan")

# The weekly numbers come from usage_daily and the monthly ones from usage_monthly (through their roll-up by
# period, ops_core.db.rollups.refresh_usage_periods); the two tables below do not
# agree with each other on purpose, so each test also shows which table its grain reads.
#   usage_daily   (customer, day,  active users, sessions, pv, uv, feature events)
DAILY = [
    ("A", D(2025, 1, 6), 4, 5, 20, 5, 3),
    ("A", D(2025, 1, 7), 2, 2, 10, 2, 0),
    ("B", D(2025, 1, 8), 1, 1, 4, 1, 0),
    ("A", D(2025, 1, 13), 3, 3, 9, 3, 1),
]
#   usage_monthly (customer, month, active days, active user-days, peak users, sessions, pv, uv, feature events)
MONTHLY = [
    ("A", D(2025, 1, 1), 10, 62, 5, 70, 300, 65, 12),
    ("B", D(2025, 1, 1), 2, 3, 2, 3, 12, 3, 0),
    ("A", D(2025, 2, 1), 8, 56, 8, 60, 250, 57, 5),
]
#   account users registered: A 01-07 and 01-13, B 01-12, A 2025-02-20
REGISTERED = [("A", D(2025, 1, 7)), ("B", D(2025, 1, 12)), ("A", D(2025, 1, 13)), ("A", D(2025, 2, 20))]


def build(engine) -> None:
    """A: retail, CSM 王芳, MES all year and QMS from 01-15, tier KA (Dec) then standard (Feb). B: energy, no CSM,
    no contract, never scored."""
    with transaction(engine) as s:
        csm = make_csm(s)
        ids = {"A": make_customer(s, industry="retail", csm_id=csm["id"])["id"], "B": make_customer(s, industry="energy")["id"]}
    t = TABLES
    with engine.begin() as conn:
        for customer, day, *values in DAILY:
            conn.execute(insert(t["usage_daily"]).values(dict(zip(
                ("customer_id", "day", "active_users", "sessions", "page_views", "unique_visitors", "feature_events"),
                (ids[customer], day, *values), strict=True))))
        for customer, month, *values in MONTHLY:
            conn.execute(insert(t["usage_monthly"]).values(dict(zip(
                ("customer_id", "month", "active_days", "active_user_days", "peak_active_users", "sessions", "page_views",
                 "unique_visitors", "feature_events"), (ids[customer], month, *values), strict=True))))
        for customer, day in REGISTERED:
            conn.execute(insert(t["account_users"]).values(customer_id=ids[customer], registered_on=day))
        for code, line, start, end in (("K1", "MES", D(2024, 7, 1), D(2025, 6, 30)), ("K2", "QMS", D(2025, 1, 15), D(2025, 12, 31))):
            conn.execute(insert(t["contracts"]).values(code=code, customer_id=ids["A"], kind="new", product_line=line,
                                                       signed_on=start, start_date=start, end_date=end, amount_cents=1_000_000))
        for month, tier in ((D(2024, 12, 1), "KA"), (D(2025, 2, 1), "standard")):
            conn.execute(insert(t["score_snapshots"]).values(month=month, customer_id=ids["A"], score=70.0, tier=tier))
        refresh_usage_periods(conn)  # weeks from usage_daily, months and quarters from usage_monthly as given


def row(frame: pd.DataFrame, period: str, segment: str | None = None) -> dict:
    chosen = frame[frame["period"] == period]
    if segment is not None:
        chosen = chosen[chosen["segment"] == segment]
    assert len(chosen) == 1, (period, segment)
    return chosen.iloc[0].to_dict()


def assert_row(got: dict, **expected) -> None:
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, equal_nan=True, err_msg=name)


def test_weeks_read_the_daily_rows(fresh_engine):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        out = usage.usage_by_period(conn, periods_between("week", "2025-W02", "2025-W04"))
    assert list(out.columns) == usage.COLUMNS
    assert out["period"].tolist() == ["2025-W02", "2025-W03", "2025-W04"]
    assert out["period_start"].tolist() == [D(2025, 1, 6), D(2025, 1, 13), D(2025, 1, 20)]
    # W02 (01-06..01-12, 7 days): A 4 + 2 user-days, peak 4; B 1, peak 1.
    assert_row(row(out, "2025-W02"), active_accounts=2,
               dau=(4 + 2 + 1) / 7,
               period_active_users=4 + 1,
               stickiness=((6 / 7) / 4 + (1 / 7) / 1) / 2,     # = 5/28: each account's DAU over its peak day, averaged
               sessions=5 + 2 + 1, page_views=20 + 10 + 4, unique_visitors=5 + 2 + 1,
               new_users=2,                                    # A 01-07, B 01-12
               adopting_accounts=1, feature_adoption=1 / 2)    # only A has feature events
    # W03: A alone on 01-13 with 3 users.
    assert_row(row(out, "2025-W03"), active_accounts=1, dau=3 / 7, period_active_users=3, stickiness=(3 / 7) / 3,
               page_views=9, new_users=1, feature_adoption=1.0)
    # W04: nothing happened: zeros, and NaN for the ratios.
    assert_row(row(out, "2025-W04"), active_accounts=0, dau=0.0, period_active_users=0, stickiness=NAN, page_views=0,
               new_users=0, feature_adoption=NAN)


def test_months_and_quarters_read_the_roll_up(fresh_engine):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        months = usage.usage_by_period(conn, periods_between("month", "2025-01", "2025-02"))
        quarter = usage.usage_by_period(conn, [parse_period("2025-Q1", "quarter")])
    # January (31 days): A 62 user-days, peak 5; B 3, peak 2.
    assert_row(row(months, "2025-01"), active_accounts=2, dau=(62 + 3) / 31, period_active_users=5 + 2,
               stickiness=((62 / 31) / 5 + (3 / 31) / 2) / 2,   # (0.4 + 0.0484) / 2
               sessions=73, page_views=312, unique_visitors=68, new_users=3, feature_adoption=1 / 2)
    # February (28 days): A 56 user-days, peak 8.
    assert_row(row(months, "2025-02"), active_accounts=1, dau=56 / 28, period_active_users=8, stickiness=(56 / 28) / 8,
               page_views=250, new_users=1, feature_adoption=1.0)
    # Q1 (90 days): A counted once, 62 + 56 = 118 user-days, peak day max(5, 8) = 8; B 3 user-days, peak 2.
    assert_row(row(quarter, "2025-Q1"), active_accounts=2, dau=(118 + 3) / 90, period_active_users=8 + 2,
               stickiness=((118 / 90) / 8 + (3 / 90) / 2) / 2, page_views=562, new_users=4, adopting_accounts=1,
               feature_adoption=1 / 2)


@pytest.mark.parametrize(("segment", "expected"), [
    pytest.param("industry", {"retail": (1, 2), "energy": (1, 1)}, id="industry"),
    pytest.param("csm", {"王芳": (1, 2), indicators.NO_CSM: (1, 1)}, id="csm"),
    # A has MES and QMS contracts in January, so it is in both lines; B has no contract.
    pytest.param("product_line", {"MES": (1, 2), "QMS": (1, 2), usage.NO_PRODUCT_LINE: (1, 1)}, id="product-line"),
    # A's newest snapshot by 01-31 is December's KA; B was never scored.
    pytest.param("tier", {"KA": (1, 2), indicators.UNSCORED: (1, 1)}, id="tier"),
])
def test_january_by_segment(fresh_engine, segment, expected):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        out = usage.usage_by_period(conn, [parse_period("2025-01", "month")], segment=segment)
    assert list(out.columns) == usage.COLUMNS
    got = {r.segment: (r.active_accounts, r.new_users) for r in out.itertuples()}   # (active accounts, new users)
    assert got == expected


def test_the_tier_segment_follows_each_period_end(fresh_engine):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        out = usage.usage_by_period(conn, periods_between("month", "2025-01", "2025-02"), segment="tier")
    # Every period x every tier seen: A is KA in January, standard in February (its February snapshot).
    got = {(r.period, r.segment): r.active_accounts for r in out.itertuples()}
    assert got == {("2025-01", "KA"): 1, ("2025-01", "standard"): 0, ("2025-01", "unscored"): 1,
                   ("2025-02", "KA"): 0, ("2025-02", "standard"): 1, ("2025-02", "unscored"): 0}
    assert_row(row(out, "2025-01", "KA"), dau=62 / 31, stickiness=0.4)
    assert_row(row(out, "2025-02", "KA"), dau=0.0, stickiness=NAN, feature_adoption=NAN)


def test_usage_follows_the_filters(fresh_engine):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        out = usage.usage_by_period(conn, periods_between("month", "2025-01", "2025-02"),
                                    Filters(D(2020, 1, 1), D(2030, 1, 1), industries=("energy",)))
    assert_row(row(out, "2025-01"), active_accounts=1, dau=3 / 31, page_views=12, new_users=1, feature_adoption=0.0)
    assert_row(row(out, "2025-02"), active_accounts=0, new_users=0, stickiness=NAN, feature_adoption=NAN)


@pytest.mark.parametrize(("periods", "segment", "message"), [
    pytest.param([parse_period("2025-01", "month"), parse_period("2025-Q1", "quarter")], None, "one grain", id="mixed-grains"),
    pytest.param([parse_period("2025-01", "month")], "colour", "unknown segment", id="segment"),
    pytest.param([], None, "no periods", id="no-periods"),
])
def test_bad_periods_and_segments_are_refused(fresh_engine, periods, segment, message):
    with fresh_engine.connect() as conn, pytest.raises(UsageError, match=message):
        usage.usage_by_period(conn, periods, segment=segment)


def test_a_period_without_usage_gets_zeros_and_nan_ratios(fresh_engine):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        out = usage.usage_by_period(conn, periods_between("month", "2030-01", "2030-02"))
    assert out["segment"].tolist() == ["all", "all"]
    assert (out[["active_accounts", "period_active_users", "page_views", "new_users"]] == 0).all().all()
    assert out["stickiness"].isna().all() and out["feature_adoption"].isna().all() and (out["dau"] == 0).all()


def test_demo_usage_is_sane_and_the_grains_agree(demo_engine):
    daily = TABLES["usage_daily"]
    with demo_engine.connect() as conn:
        end = conn.execute(select(func.max(daily.c.day))).scalar_one()
        end = end if isinstance(end, dt.date) else D.fromisoformat(end)
        months = periods_between("month", end - dt.timedelta(days=400), end - dt.timedelta(days=40))
        quarters = periods_between("quarter", months[0].start, months[-1].end)
        by_month = usage.usage_by_period(conn, months)
        by_quarter = usage.usage_by_period(conn, quarters)
        weeks = usage.usage_by_period(conn, periods_between("week", months[-1].start, months[-1].end))
        by_industry = usage.usage_by_period(conn, months[-2:], segment="industry")
        oracle = conn.execute(select(func.sum(daily.c.page_views), func.sum(daily.c.active_users))
                              .where(daily.c.day >= months[-1].start, daily.c.day <= months[-1].end)).one()
    for out in (by_month, by_quarter, weeks, by_industry):
        assert (out["active_accounts"] > 0).all()
        for share in ("stickiness", "feature_adoption"):
            assert out[share].between(0, 1).all(), share   # NaN would fail here too: every row has active accounts
        assert (out["dau"] <= out["period_active_users"]).all()
    # The roll-up holds what the daily rows hold: the last month's PV and user-days (DAU x days) match them.
    assert by_month["page_views"].iloc[-1] == oracle[0]
    assert by_month["dau"].iloc[-1] * months[-1].days == pytest.approx(oracle[1])
    # A quarter's page views are its months' page views (for the quarters wholly inside the months).
    monthly = by_month.assign(quarter=[period_of("quarter", p.start).label for p in months])
    sums = monthly.groupby("quarter")["page_views"].sum()
    counts = monthly.groupby("quarter").size()
    for q in by_quarter.itertuples():
        if counts.get(q.period) == 3:
            assert q.page_views == sums[q.period]
    # Segments split the accounts: industries add up to the whole.
    assert by_industry.groupby("period")["active_accounts"].sum().tolist() == by_month["active_accounts"].iloc[-2:].tolist()
