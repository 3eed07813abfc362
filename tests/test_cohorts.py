"""Customer cohorts (logo and revenue) and user retention on hand-built stores, and on the demo company."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from ops_core import cohorts
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.errors import UsageError
from ops_core.filters import Filters
from ops_core.periods import term_months
from tests.factories import make_customer

D = dt.date
NAN = float("nan")
MRR = 36_500  # every contract below runs whole calendar months at 36,500 cents a month (times its price)


def any_filters(**chosen) -> Filters:
    return Filters(D(2020, 1, 1), D(2030, 1, 1), **chosen)


# Customers (cohort = month the first contract with an MRR starts; contracts, each MRR 36,500 cents; payments
# are recorded but do not place anyone):
#   A retail  01-01..02-28 (cohort 2025-01); lapses in March; back 04-01..04-30 at twice the price (MRR 73,000):
#             a returning customer, still in cohort 2025-01
#   B retail  paid 2025-01-31 in advance for 02-01..2026-01-31: cohort 2025-02, the month its contract starts
#   C retail  03-01..12-31 (cohort 2025-03), plus an expansion 04-01..12-31 (MRR 36,500 more)
#   E energy  02-01..03-31 (cohort 2025-02), then gone
#   P retail  2024-12-01..2025-11-30 (cohort 2024-12: before the range)
#   F retail  01-01..12-31, invoiced, never paid: cohort 2025-01 all the same (its MRR counts, as in the bridge)
CUSTOMERS = {
    "A": ("retail", [("2025-01-20", D(2025, 1, 1), D(2025, 2, 28), 1), ("2025-04-05", D(2025, 4, 1), D(2025, 4, 30), 2)]),
    "B": ("retail", [("2025-01-31", D(2025, 2, 1), D(2026, 1, 31), 1)]),
    "C": ("retail", [("2025-03-10", D(2025, 3, 1), D(2025, 12, 31), 1), ("2025-04-02", D(2025, 4, 1), D(2025, 12, 31), 1)]),
    "E": ("energy", [("2025-02-10", D(2025, 2, 1), D(2025, 3, 31), 1)]),
    "P": ("retail", [("2024-12-15", D(2024, 12, 1), D(2025, 11, 30), 1)]),
    "F": ("retail", [(None, D(2025, 1, 1), D(2025, 12, 31), 1)]),
}


def build_customers(engine) -> None:
    with transaction(engine) as s:
        ids = {key: make_customer(s, industry=industry)["id"] for key, (industry, _) in CUSTOMERS.items()}
    t = TABLES
    with engine.begin() as conn:
        for key, (_, deals) in CUSTOMERS.items():
            for n, (paid, start, end, price) in enumerate(deals):
                amount = round(term_months(start, end)) * MRR * price  # whole months: 2, 1, 12, 10, 9, 2, 12, 12
                contract = conn.execute(insert(t["contracts"]).values(
                    code=f"K{key}{n}", customer_id=ids[key], kind="new" if n == 0 else "expansion", product_line="MES",
                    signed_on=start, start_date=start, end_date=end, amount_cents=amount)).inserted_primary_key[0]
                invoice = conn.execute(insert(t["invoices"]).values(
                    number=f"I{key}{n}", customer_id=ids[key], contract_id=contract, issued_on=start - dt.timedelta(days=5),
                    due_on=start + dt.timedelta(days=30), amount_cents=amount)).inserted_primary_key[0]
                if paid:
                    conn.execute(insert(t["payments"]).values(invoice_id=invoice, paid_on=D.fromisoformat(paid),
                                                              amount_cents=amount))


def cells(frame: pd.DataFrame, since: str = "months_since") -> dict[tuple[str, int], tuple[int, int, float]]:
    return {(r.cohort, getattr(r, since)): (r.cohort_size, r.retained, r.share) for r in frame.itertuples()}


def assert_cells(frame, expected, since="months_since"):
    got = cells(frame, since)
    assert sorted(got) == sorted(expected)
    for key, (size, retained, share) in expected.items():
        assert got[key][:2] == (size, retained), key
        np.testing.assert_allclose(got[key][2], share, equal_nan=True, err_msg=str(key))


def test_logo_cohorts_by_hand(fresh_engine):
    build_customers(fresh_engine)
    with fresh_engine.connect() as conn:
        out = cohorts.customer_cohorts(conn, D(2025, 1, 1), D(2025, 4, 1), "logo", as_of=D(2025, 4, 30))
    assert list(out.columns) == cohorts.CUSTOMER_COLUMNS
    assert_cells(out, {
        # 2025-01 = {A, F}. Jan 31 and Feb 28: both; Mar 31: F (A lapsed); Apr 30: both (A is back).
        ("2025-01", 0): (2, 2, 1.0), ("2025-01", 1): (2, 2, 1.0), ("2025-01", 2): (2, 1, 0.5), ("2025-01", 3): (2, 2, 1.0),
        # 2025-02 = {B, E}: both paying at Feb and Mar ends; at Apr 30 only B (E ended 03-31).
        ("2025-02", 0): (2, 2, 1.0), ("2025-02", 1): (2, 2, 1.0), ("2025-02", 2): (2, 1, 0.5),
        # 2025-03 = {C}.
        ("2025-03", 0): (1, 1, 1.0), ("2025-03", 1): (1, 1, 1.0),
        # 2025-04: A paid again in April but stays in its first cohort, so April has nobody.
        ("2025-04", 0): (0, 0, NAN),
    })


def test_revenue_cohorts_compare_with_the_mrr_at_the_end_of_month_0(fresh_engine):
    build_customers(fresh_engine)
    with fresh_engine.connect() as conn:
        out = cohorts.customer_cohorts(conn, D(2025, 1, 1), D(2025, 3, 31), "revenue", as_of=D(2025, 4, 30))
    assert_cells(out, {
        # 2025-01 {A, F}: Jan 31 MRR = A + F = 73,000. Feb: the same (1.0); Mar: F = 36,500 (0.5);
        # Apr: A 73,000 + F 36,500 (1.5).
        ("2025-01", 0): (2 * MRR, 2 * MRR, 1.0), ("2025-01", 1): (2 * MRR, 2 * MRR, 1.0),
        ("2025-01", 2): (2 * MRR, MRR, 0.5), ("2025-01", 3): (2 * MRR, 3 * MRR, 1.5),
        # 2025-02 {B, E}: 73,000 at Feb and Mar ends; Apr: B = 36,500 (0.5).
        ("2025-02", 0): (2 * MRR, 2 * MRR, 1.0), ("2025-02", 1): (2 * MRR, 2 * MRR, 1.0), ("2025-02", 2): (2 * MRR, MRR, 0.5),
        # 2025-03: C 36,500, then its expansion doubles it (2.0: revenue retention can exceed 1).
        ("2025-03", 0): (MRR, MRR, 1.0), ("2025-03", 1): (MRR, 2 * MRR, 2.0),
    })


def test_cohorts_are_observed_up_to_the_end_of_the_range_by_default(fresh_engine):
    build_customers(fresh_engine)
    with fresh_engine.connect() as conn:
        out = cohorts.customer_cohorts(conn, D(2025, 1, 15), D(2025, 3, 15))
    matrix = cohorts.cohort_matrix(out)
    # Observed until 2025-03-31: the triangle 3, 2, 1 cells; the missing corner is NaN, not 0.
    assert matrix.index.tolist() == ["2025-01", "2025-02", "2025-03"]
    assert matrix["cohort_size"].tolist() == [2, 2, 1]
    np.testing.assert_allclose(matrix[[0, 1, 2]].to_numpy(), [[1.0, 1.0, 0.5], [1.0, 1.0, NAN], [1.0, NAN, NAN]],
                               equal_nan=True)


def test_cohorts_follow_the_filters(fresh_engine):
    build_customers(fresh_engine)
    with fresh_engine.connect() as conn:
        out = cohorts.customer_cohorts(conn, D(2025, 1, 1), D(2025, 3, 1), "logo", any_filters(industries=("energy",)),
                                       as_of=D(2025, 4, 30))
    sizes = out.drop_duplicates("cohort").set_index("cohort")["cohort_size"].to_dict()
    assert sizes == {"2025-01": 0, "2025-02": 1, "2025-03": 0}
    assert out.loc[out["cohort"] != "2025-02", "share"].isna().all()


def test_an_empty_range_gives_nan_shares(fresh_engine):
    build_customers(fresh_engine)
    with fresh_engine.connect() as conn:
        logo = cohorts.customer_cohorts(conn, D(2030, 1, 1), D(2030, 2, 1))
        revenue = cohorts.customer_cohorts(conn, D(2030, 1, 1), D(2030, 2, 1), "revenue")
        users = cohorts.user_retention(conn, D(2030, 1, 1), D(2030, 1, 31))
    for out in (logo, revenue, users):
        assert len(out) and (out["cohort_size"] == 0).all() and out["share"].isna().all()


def test_a_cell_not_yet_ended_is_left_out(fresh_engine):
    build_customers(fresh_engine)
    with fresh_engine.connect() as conn:
        out = cohorts.customer_cohorts(conn, D(2025, 3, 1), D(2025, 3, 1), as_of=D(2025, 3, 30))
    assert out.empty and list(out.columns) == cohorts.CUSTOMER_COLUMNS   # March ends on the 31st


@pytest.mark.parametrize(("call", "message"), [
    (lambda c: cohorts.customer_cohorts(c, D(2025, 1, 1), D(2025, 2, 1), "arr"), "basis"),
    (lambda c: cohorts.customer_cohorts(c, D(2025, 2, 1), D(2025, 1, 1)), "after it ends"),
    (lambda c: cohorts.user_retention(c, D(2025, 1, 1), D(2025, 2, 1), "within"), "mode"),
    (lambda c: cohorts.user_retention(c, D(2025, 1, 1), D(2025, 2, 1), weeks=-1), "weeks"),
], ids=["basis", "range", "mode", "weeks"])
def test_bad_arguments_get_a_clear_message(fresh_engine, call, message):
    with fresh_engine.connect() as conn, pytest.raises(UsageError, match=message):
        call(conn)


# Users (cohort = ISO week of registration; as_of 2025-02-09, the Sunday ending W06):
#   W02 (Mon 01-06): U1 retail reg 01-06, active 01-06 (week 0) and 01-20 (week 2)
#                    U2 retail reg 01-08, active 01-13 (week 1) and 02-03 (week 4)
#                    U3 retail reg Sun 01-12, never active
#                    U5 energy reg 01-07, active 01-06 (week 0)
#   W03 (Mon 01-13): U4 retail reg 01-14, active 01-13 (week 0), 01-27 (week 2) and 02-10 (after as_of)
USERS = [
    ("retail", D(2025, 1, 6), [D(2025, 1, 6), D(2025, 1, 20)]),
    ("retail", D(2025, 1, 8), [D(2025, 1, 13), D(2025, 2, 3)]),
    ("retail", D(2025, 1, 12), []),
    ("retail", D(2025, 1, 14), [D(2025, 1, 13), D(2025, 1, 27), D(2025, 2, 10)]),
    ("energy", D(2025, 1, 7), [D(2025, 1, 6)]),
]
WEEKS = (D(2025, 1, 6), D(2025, 1, 13))
AS_OF = D(2025, 2, 9)


def build_users(engine) -> None:
    with transaction(engine) as s:
        ids = {"retail": make_customer(s, industry="retail")["id"], "energy": make_customer(s, industry="energy")["id"]}
    with engine.begin() as conn:
        for industry, registered, weeks in USERS:
            user = conn.execute(insert(TABLES["account_users"]).values(
                customer_id=ids[industry], registered_on=registered, activated_on=registered)).inserted_primary_key[0]
            for week in weeks:
                conn.execute(insert(TABLES["account_user_weeks"]).values(account_user_id=user, week=week))


def test_retention_on_week_n(fresh_engine):
    build_users(fresh_engine)
    with fresh_engine.connect() as conn:
        out = cohorts.user_retention(conn, *WEEKS, "on", weeks=3, as_of=AS_OF)
    assert list(out.columns) == cohorts.USER_COLUMNS
    assert_cells(out, {
        # W02 = U1, U2, U3, U5. Week 0: U1, U5; week 1: U2; week 2: U1; week 3: nobody.
        ("2025-W02", 0): (4, 2, 0.5), ("2025-W02", 1): (4, 1, 0.25), ("2025-W02", 2): (4, 1, 0.25), ("2025-W02", 3): (4, 0, 0.0),
        # W03 = U4: weeks 0 and 2; week 3 (02-03..02-09) has just ended by as_of.
        ("2025-W03", 0): (1, 1, 1.0), ("2025-W03", 1): (1, 0, 0.0), ("2025-W03", 2): (1, 1, 1.0), ("2025-W03", 3): (1, 0, 0.0),
    }, "weeks_since")


def test_retention_on_or_after_week_n_never_rises(fresh_engine):
    build_users(fresh_engine)
    with fresh_engine.connect() as conn:
        out = cohorts.user_retention(conn, *WEEKS, "on_or_after", weeks=3, as_of=AS_OF)
    assert_cells(out, {
        # Last active week: U1 2, U2 4, U3 never, U5 0. >= 0: U1, U2, U5; >= 1 and >= 2: U1, U2; >= 3: U2.
        ("2025-W02", 0): (4, 3, 0.75), ("2025-W02", 1): (4, 2, 0.5), ("2025-W02", 2): (4, 2, 0.5), ("2025-W02", 3): (4, 1, 0.25),
        # U4's last week before as_of is week 2 (02-10 has not happened yet).
        ("2025-W03", 0): (1, 1, 1.0), ("2025-W03", 1): (1, 1, 1.0), ("2025-W03", 2): (1, 1, 1.0), ("2025-W03", 3): (1, 0, 0.0),
    }, "weeks_since")


def test_retention_by_default_knows_only_the_range_and_follows_filters(fresh_engine):
    build_users(fresh_engine)
    with fresh_engine.connect() as conn:
        default = cohorts.user_retention(conn, *WEEKS, "on_or_after", weeks=3)
        retail = cohorts.user_retention(conn, *WEEKS, "on", any_filters(industries=("retail",)), weeks=3, as_of=AS_OF)
    # Known until Sunday 01-19: W02 weeks 0-1, W03 week 0. U1's week 2 (01-20) is not known yet: >= 1 is U2 only.
    assert_cells(default, {("2025-W02", 0): (4, 3, 0.75), ("2025-W02", 1): (4, 1, 0.25), ("2025-W03", 0): (1, 1, 1.0)},
                 "weeks_since")
    # Retail W02 = U1, U2, U3: week 0 U1, week 1 U2, week 2 U1, week 3 nobody.
    assert retail.loc[retail["cohort"] == "2025-W02", "share"].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0.0])


def test_cohort_matrix_pivots_weeks_too(fresh_engine):
    build_users(fresh_engine)
    with fresh_engine.connect() as conn:
        out = cohorts.user_retention(conn, *WEEKS, "on", weeks=1, as_of=AS_OF)
    matrix = cohorts.cohort_matrix(out)
    assert list(matrix.columns) == ["cohort_size", 0, 1]
    assert matrix.loc["2025-W02"].tolist() == [4, 0.5, 0.25]


def test_demo_cohorts_are_sane(demo_engine):
    with demo_engine.connect() as conn:
        end = conn.execute(select(TABLES["usage_daily"].c.day).order_by(TABLES["usage_daily"].c.day.desc()).limit(1)).scalar_one()
        year_ago = end - dt.timedelta(days=365)
        logo = cohorts.customer_cohorts(conn, year_ago, end - dt.timedelta(days=60), "logo", as_of=end)
        revenue = cohorts.customer_cohorts(conn, year_ago, end - dt.timedelta(days=60), "revenue", as_of=end)
        on = cohorts.user_retention(conn, year_ago, end - dt.timedelta(days=90), "on", as_of=end)
        after = cohorts.user_retention(conn, year_ago, end - dt.timedelta(days=90), "on_or_after", as_of=end)
    assert logo["cohort_size"].sum() > 0 and on["cohort_size"].sum() > 0
    for out in (logo, on, after):
        shares = out["share"].dropna()
        assert len(shares) and ((shares >= 0) & (shares <= 1)).all()
    assert (revenue["share"].dropna() >= 0).all()
    # Everyone in a cohort is paying at the end of the month it became paying, by the cohort's definition.
    month_0 = logo[(logo["months_since"] == 0) & (logo["cohort_size"] > 0)]
    assert len(month_0) and (month_0["retained"] == month_0["cohort_size"]).all()
    # On or after week N never rises with N, and is never below "on" week N.
    wide = cohorts.cohort_matrix(after).drop(columns="cohort_size")
    assert (wide.diff(axis=1).iloc[:, 1:].fillna(0) <= 1e-12).all().all()
    merged = on.merge(after, on=["cohort", "weeks_since"], suffixes=("_on", "_after")).dropna(subset=["share_on"])
    assert (merged["retained_after"] >= merged["retained_on"]).all()
