"""Level-1 indicators on a hand-built company of twelve customers over 2025-01 .. 2026-02, with the
arithmetic written next to every expected number, plus the bridge and ARR on the demo company.

MRR of a contract = amount / its term in months (ops_core.periods.term_months). Every long contract
below runs twelve whole months, so amount / 12 is its MRR: 1,200,000 -> 100,000. The add-ons run the
five whole months to their main contract's end: 250,000 -> MRR 50,000. E1 starts and ends inside
June: it counts for no MRR at all (as ProfitWell leaves out a sign-up that churns the same month).

MRR (thousands of cents) at each boundary: the day before 2025-01 (31 Dec 2024), then month ends.

    cust  line  contracts                                       2024-12-31 J  F  M  A  M  J  J  A  S  O  N  D  J26 F26
    A     MES   A1 2024-07..2025-06, renewed by A2 to 2026-06        100  100 ...................................... 100
    B     MES   B1 2025, add-on B2 (EAM) 1 Aug..31 Dec 2025,           0  200 200 200 200 200 200 200 250 250 250 250 250 250 250
                renewed by B3 2026 at 250 (the add-on rolled in)
    C     MES   C1 2024-04..2025-03, not renewed (energy)             50   50  50  50   0 ...
    D     MES   D1 2024-05..2025-04, lapses; D2 2025-09.. (win-back) 100  100 100 100 100   0   0   0   0  80  80  80  80  80  80
    E     MES   E1 5..20 June 2025 only                                0 everywhere: in and out inside June
    F     MES   F1 2024-10..2025-09, "renewed" by F2 at amount 0     100  ... 100 (Sep)   0 from Oct: a contraction to zero
    G     MES   G1 2025 at 150, renewed by G2 2026 at 100              0  150 ... 150 (Dec)  100 100
    H     MES   H1 2025-03..2026-02 at 60, add-on H2 (IoT) 1 Oct..    0    0   0  60  60  60  60  60  60  60  80  80  80  80  80
                28 Feb at 20; renewed by H3 (signed 10 Feb 2026)
    I     MES   I1 2025-05..2026-04 at 40                              0    0   0   0   0  40  40 ................... 40
    J     -     no contract at all                                     0
    K     MES   K1 100 + K2 (QMS) 50 from Feb 2026 (energy)            0 ................................... 0  150
    L     MES   L1 2025-03..2026-02 at 100; renewal L2 signed 5 Mar  0    0   0 100 ............................. 100
                2026, after the default as_of
    month end total                                                 350 700 700 860 810 750 750 750 800 880 800 800 800 750 900
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select

from ops_core import indicators, periods
from ops_core.db.models import TABLES
from ops_core.db.rollups import refresh_usage
from ops_core.errors import UsageError
from ops_core.filters import Filters
from ops_core.periods import Period, parse_period, period_of, periods_between
from ops_core.vocab import Grain

D = dt.date
K = 1_000  # the table above is in thousands of cents
MONTHS = periods_between(Grain.month, "2025-01", "2026-02")
FEB_2026 = D(2026, 2, 28)


def month(label: str) -> Period:
    return parse_period(label, Grain.month)


# --- the hand-built company ---------------------------------------------------------------------------


CUSTOMERS = {  # id: (code, industry)
    1: ("A", "manufacturing"), 2: ("B", "manufacturing"), 3: ("C", "energy"), 4: ("D", "manufacturing"),
    5: ("E", "manufacturing"), 6: ("F", "manufacturing"), 7: ("G", "manufacturing"), 8: ("H", "manufacturing"),
    9: ("I", "manufacturing"), 10: ("J", "manufacturing"), 11: ("K", "energy"), 12: ("L", "manufacturing"),
}
CONTRACTS = [  # (id, customer, kind, line, signed, start, end, amount, renews)
    (1, 1, "new", "MES", D(2024, 6, 15), D(2024, 7, 1), D(2025, 6, 30), 1_200_000, None),      # A1: MRR 100k
    (2, 1, "renewal", "MES", D(2025, 6, 10), D(2025, 7, 1), D(2026, 6, 30), 1_200_000, 1),     # A2: MRR 100k
    (3, 2, "new", "MES", D(2024, 12, 15), D(2025, 1, 1), D(2025, 12, 31), 2_400_000, None),    # B1: MRR 200k
    (4, 2, "expansion", "EAM", D(2025, 7, 25), D(2025, 8, 1), D(2025, 12, 31), 250_000, None),  # B2: 5 months, MRR 50k
    (5, 2, "renewal", "MES", D(2025, 12, 15), D(2026, 1, 1), D(2026, 12, 31), 3_000_000, 3),   # B3: MRR 250k
    (6, 3, "new", "MES", D(2024, 3, 20), D(2024, 4, 1), D(2025, 3, 31), 600_000, None),        # C1: MRR 50k
    (7, 4, "new", "MES", D(2024, 4, 20), D(2024, 5, 1), D(2025, 4, 30), 1_200_000, None),      # D1: MRR 100k
    (8, 4, "new", "MES", D(2025, 8, 20), D(2025, 9, 1), D(2026, 8, 31), 960_000, None),        # D2: MRR 80k (win-back)
    (9, 5, "new", "MES", D(2025, 6, 1), D(2025, 6, 5), D(2025, 6, 20), 16_000, None),          # E1: within June, MRR 0
    (10, 6, "new", "MES", D(2024, 9, 20), D(2024, 10, 1), D(2025, 9, 30), 1_200_000, None),    # F1: MRR 100k
    (11, 6, "renewal", "MES", D(2025, 9, 15), D(2025, 10, 1), D(2026, 9, 30), 0, 10),          # F2: free, MRR 0
    (12, 7, "new", "MES", D(2025, 1, 2), D(2025, 1, 1), D(2025, 12, 31), 1_800_000, None),     # G1: MRR 150k
    (13, 7, "renewal", "MES", D(2025, 12, 20), D(2026, 1, 1), D(2026, 12, 31), 1_200_000, 12), # G2: MRR 100k
    (14, 8, "new", "MES", D(2025, 2, 20), D(2025, 3, 1), D(2026, 2, 28), 720_000, None),       # H1: MRR 60k
    (15, 8, "expansion", "IoT", D(2025, 9, 25), D(2025, 10, 1), D(2026, 2, 28), 100_000, None), # H2: 5 months, MRR 20k
    (16, 8, "renewal", "MES", D(2026, 2, 10), D(2026, 3, 1), D(2027, 2, 28), 960_000, 14),     # H3: MRR 80k
    (17, 9, "new", "MES", D(2025, 4, 25), D(2025, 5, 1), D(2026, 4, 30), 480_000, None),       # I1: MRR 40k
    (18, 11, "new", "MES", D(2026, 1, 20), D(2026, 2, 1), D(2027, 1, 31), 1_200_000, None),    # K1: MRR 100k
    (19, 11, "new", "QMS", D(2026, 1, 20), D(2026, 2, 1), D(2027, 1, 31), 600_000, None),      # K2: MRR 50k
    (20, 12, "new", "MES", D(2025, 2, 15), D(2025, 3, 1), D(2026, 2, 28), 1_200_000, None),    # L1: MRR 100k
    (21, 12, "renewal", "MES", D(2026, 3, 5), D(2026, 3, 1), D(2027, 2, 28), 1_200_000, 20),   # L2: signed after as_of
]
USAGE_DAYS = [(1, D(2025, 10, 8)), (2, D(2025, 10, 13)), (4, D(2025, 10, 20)), (6, D(2025, 10, 2)), (1, D(2025, 11, 5))]
SCORES = [(D(2025, 1, 1), 1, "KA"), (D(2025, 6, 1), 1, "standard"), (D(2025, 1, 1), 2, "KA")]


def build(engine) -> None:
    """The company of the module docstring, written with Core inserts."""
    t = TABLES
    with engine.begin() as conn:
        conn.execute(insert(t["csms"]), [{"id": 1, "name": "王芳", "level": "senior"}])
        conn.execute(insert(t["customers"]), [
            {"id": cid, "code": code, "name": f"客户 {code}", "industry": industry, "region": "east_china",
             "size_band": "medium", "employees": 500, "partnership_level": "basic", "demand_type": "standard",
             "created_on": D(2024, 1, 1), "csm_id": 1 if code in "AB" else None}
            for cid, (code, industry) in CUSTOMERS.items()])
        conn.execute(insert(t["contracts"]), [
            {"id": cid, "code": f"HT{cid:03d}", "customer_id": cust, "kind": kind, "product_line": line,
             "signed_on": signed, "start_date": start, "end_date": end, "amount_cents": amount, "renewal_of_id": renews}
            for cid, cust, kind, line, signed, start, end, amount, renews in CONTRACTS])
        conn.execute(insert(t["usage_daily"]), [
            {"customer_id": cust, "day": day, "active_users": 3, "sessions": 5, "page_views": 40, "unique_visitors": 3,
             "feature_events": 7} for cust, day in USAGE_DAYS])
        refresh_usage(conn)
        conn.execute(insert(t["score_snapshots"]), [
            {"month": m, "customer_id": cust, "score": 80.0, "tier": tier} for m, cust, tier in SCORES])


@pytest.fixture
def company(fresh_engine):
    build(fresh_engine)
    return fresh_engine


def row(frame: pd.DataFrame, label: str, segment: str = "all") -> dict:
    found = frame[(frame["period"] == label) & (frame["segment"] == segment)]
    assert len(found) == 1, f"no single row for {label} / {segment}"
    return found.iloc[0].to_dict()


def assert_bridge_holds(frame: pd.DataFrame) -> None:
    bridge = (frame["start_mrr"] + frame["new"] + frame["expansion"] + frame["reactivation"]
              - frame["contraction"] - frame["churn"])
    bad = frame[bridge != frame["end_mrr"]]
    assert bad.empty, bad


# --- the MRR bridge -----------------------------------------------------------------------------------

# period: (start, new, expansion, reactivation, contraction, churn, end), thousands of cents
BRIDGE = {
    "2025-01": (350, 350, 0, 0, 0, 0, 700),      # A100+C50+D100+F100 = 350; B 200 + G 150 new (no earlier contract)
    "2025-02": (700, 0, 0, 0, 0, 0, 700),
    "2025-03": (700, 160, 0, 0, 0, 0, 860),      # H 60 + L 100 new
    "2025-04": (860, 0, 0, 0, 0, 50, 810),       # C churns 50 (its last day, 31 Mar, is the start boundary)
    "2025-05": (810, 40, 0, 0, 0, 100, 750),     # I 40 new; D 100 churns
    "2025-06": (750, 0, 0, 0, 0, 0, 750),        # E in and out inside June: nowhere
    "2025-07": (750, 0, 0, 0, 0, 0, 750),        # A renews at the same amount
    "2025-08": (750, 0, 50, 0, 0, 0, 800),       # B's add-on: 200 -> 250
    "2025-09": (800, 0, 0, 80, 0, 0, 880),       # D returns at 80: reactivation, not new
    "2025-10": (880, 0, 20, 0, 0, 100, 800),     # H's add-on 60 -> 80; F 100 -> 0 is churn, not contraction
    "2025-11": (800, 0, 0, 0, 0, 0, 800),
    "2025-12": (800, 0, 0, 0, 0, 0, 800),
    "2026-01": (800, 0, 0, 0, 50, 0, 750),       # G renews 150 -> 100; B renews 250 -> 250
    "2026-02": (750, 150, 0, 0, 0, 0, 900),      # K new with two lines, 100 + 50
}


def test_mrr_bridge_per_month_by_hand(company):
    with company.connect() as conn:
        frame = indicators.mrr_movements(conn, MONTHS)
    assert frame["period"].tolist() == [p.label for p in MONTHS]
    assert frame["period_start"].tolist() == [p.start for p in MONTHS]
    got = {r["period"]: tuple(r[c] // K for c in ("start_mrr", "new", "expansion", "reactivation", "contraction",
                                                  "churn", "end_mrr")) for r in frame.to_dict("records")}
    assert got == BRIDGE
    assert_bridge_holds(frame)
    assert frame["end_mrr"].dtype == "int64"


def test_customer_counts_per_month(company):
    with company.connect() as conn:
        frame = indicators.mrr_movements(conn, MONTHS).set_index("period")
    columns = ["customers_start", "customers_end", "customers_new", "customers_reactivated", "customers_churned"]
    assert frame.loc["2025-01", columns].tolist() == [4, 6, 2, 0, 0]     # A C D F; + B G
    assert frame.loc["2025-05", columns].tolist() == [7, 7, 1, 0, 1]     # A B D F G H L; I in, D out
    assert frame.loc["2025-06", columns].tolist() == [7, 7, 0, 0, 0]     # E counts nowhere
    assert frame.loc["2025-09", columns].tolist() == [7, 8, 0, 1, 0]     # D reactivated
    assert frame.loc["2025-10", columns].tolist() == [8, 7, 0, 0, 1]     # F: paying 0 after its free renewal
    assert frame.loc["2026-02", columns].tolist() == [7, 8, 1, 0, 0]     # K is one customer with two lines
    assert (frame.loc["2025-10", "customers_expanded"], frame.loc["2026-01", "customers_contracted"]) == (1, 1)


def test_a_quarter_compares_its_first_and_last_boundary_only(company):
    with company.connect() as conn:
        frame = indicators.mrr_movements(conn, [parse_period("2025-Q4", Grain.quarter)])
    q4 = row(frame, "2025-Q4")
    # 30 Sep: A100 B250 D80 F100 G150 H60 I40 L100 = 880; 31 Dec: F gone, H 80 = 800.
    assert (q4["start_mrr"], q4["expansion"], q4["churn"], q4["end_mrr"]) == (880 * K, 20 * K, 100 * K, 800 * K)


def test_a_period_before_any_customer_is_all_zero(company):
    with company.connect() as conn:
        frame = indicators.mrr_movements(conn, [month("2023-01")])
    assert frame.drop(columns=["period", "period_start", "segment"]).to_numpy().sum() == 0
    assert row(frame, "2023-01")["segment"] == "all"


# --- drill-down ---------------------------------------------------------------------------------------


def test_movement_customers_lists_the_customers_behind_a_movement_largest_first(company):
    with company.connect() as conn:
        new = indicators.movement_customers(conn, month("2025-01"), "new")
        churn = indicators.movement_customers(conn, month("2025-10"), "churn")
        back = indicators.movement_customers(conn, month("2025-09"), "reactivation")
        june = indicators.movement_customers(conn, month("2025-06"), "new")
    assert new[["code", "start_mrr", "end_mrr", "change"]].values.tolist() == [
        ["B", 0, 200 * K, 200 * K], ["G", 0, 150 * K, 150 * K]]     # 200 + 150 = the bridge's 350 new
    assert churn[["code", "change"]].values.tolist() == [["F", -100 * K]]
    assert back[["code", "change"]].values.tolist() == [["D", 80 * K]]
    assert june.empty                                                 # E joined and left in June
    assert list(new.columns) == ["customer_id", "code", "name", "industry", "start_mrr", "end_mrr", "change"]


def test_drill_down_adds_up_to_the_bridge_in_every_month(company):
    with company.connect() as conn:
        frame = indicators.mrr_movements(conn, MONTHS).set_index("period")
        for period in MONTHS:
            for movement in indicators.MOVEMENTS:
                listed = indicators.movement_customers(conn, period, movement)["change"].abs().sum()
                assert listed == frame.loc[period.label, movement], (period.label, movement)


def test_an_unknown_movement_or_segment_is_refused(company):
    with company.connect() as conn:
        with pytest.raises(UsageError, match="unknown movement"):
            indicators.movement_customers(conn, month("2025-01"), "upsell")
        with pytest.raises(UsageError, match="unknown segment"):
            indicators.mrr_movements(conn, MONTHS, segment="country")
        with pytest.raises(UsageError, match="no periods"):
            indicators.level1(conn, [])


# --- level 1 ------------------------------------------------------------------------------------------


def test_nrr_grr_logo_churn_and_expansion_by_hand(company):
    with company.connect() as conn:
        frame = indicators.level1(conn, MONTHS)
    oct_ = row(frame, "2025-10")
    assert oct_["nrr"] == pytest.approx((880 + 20 - 0 - 100) / 880)   # 0.909: F churns, H expands
    assert oct_["retained_mrr"] == 800 * K
    assert oct_["grr"] == pytest.approx(1 - (100 + 0) / 880)          # 0.886
    assert oct_["lost_mrr"] == 100 * K
    assert oct_["logo_churn"] == pytest.approx(1 / 8)                 # F of A B D F G H I L
    assert oct_["expansion_rate"] == pytest.approx(20 / 880)
    aug = row(frame, "2025-08")
    assert aug["nrr"] == pytest.approx((750 + 50) / 750)              # 1.067: above 1 with expansion ...
    assert aug["grr"] == 1.0                                          # ... GRR never is
    sep = row(frame, "2025-09")
    assert (sep["nrr"], sep["grr"]) == (1.0, 1.0)                     # D's reactivation is not retention
    jan = row(frame, "2025-01")
    assert jan["nrr"] == 1.0                                          # 350 of new logos left out
    jan26 = row(frame, "2026-01")
    assert jan26["nrr"] == pytest.approx((800 - 50) / 800)            # G contracts 150 -> 100
    assert jan26["grr"] == pytest.approx(1 - 50 / 800)
    assert jan26["logo_churn"] == 0.0
    may = row(frame, "2025-05")
    assert may["logo_churn"] == pytest.approx(1 / 7)                  # D of A B D F G H L
    assert (may["customers_churned"], may["logo_count_start"]) == (1, 7)


def test_arr_is_the_annual_value_in_force_on_the_last_day(company):
    with company.connect() as conn:
        frame = indicators.level1(conn, MONTHS)
    feb = row(frame, "2026-02")
    # A2 1.2M + B3 3.0M + D2 0.96M + G2 1.2M + H1 0.72M + H2 100,000 × 12/5 + I1 0.48M + K1 1.2M + K2 0.6M + L1 1.2M
    assert feb["arr"] == 1_200_000 + 3_000_000 + 960_000 + 1_200_000 + 720_000 + 240_000 + 480_000 + 1_200_000 + 600_000 + 1_200_000
    assert feb["arr"] == 12 * feb["mrr_end"]                          # round numbers: no rounding gap
    assert (feb["mrr_start"], feb["mrr_end"]) == (750 * K, 900 * K)


# period: (due, renewed, due ARR, renewed ARR) with the default as_of, 28 Feb 2026
RENEWALS = {
    "2025-03": (1, 0, 600_000, 0),                        # C1 lapses
    "2025-04": (1, 0, 1_200_000, 0),                      # D1 lapses (D2 is a win-back, not its renewal)
    "2025-06": (2, 1, 1_200_000, 1_200_000),              # A1 renewed; E1 (inside June: ARR 0) not
    "2025-09": (1, 1, 1_200_000, 1_200_000),              # F1 renewed, at 0: renewed by count and by expiring ARR
    "2025-12": (2, 2, 2_400_000 + 1_800_000, 4_200_000),  # B1, G1; B's add-on B2 ends too but is not due
    "2026-02": (2, 1, 720_000 + 1_200_000, 720_000),      # H1 renewed on 10 Feb; L2 signed 5 Mar, after as_of
}


def test_renewal_rate_by_count_and_by_arr(company):
    with company.connect() as conn:
        frame = indicators.level1(conn, MONTHS)
    for label in (p.label for p in MONTHS):
        r = row(frame, label)
        due, renewed, due_arr, renewed_arr = RENEWALS.get(label, (0, 0, 0, 0))
        assert (r["renewals_due"], r["renewed"], r["renewals_due_arr"], r["renewed_arr"]) == (due, renewed, due_arr, renewed_arr), label
        if due:
            assert r["renewal_rate"] == pytest.approx(renewed / due)
            assert r["renewal_rate_arr"] == pytest.approx(renewed_arr / due_arr)
        else:
            assert math.isnan(r["renewal_rate"]) and math.isnan(r["renewal_rate_arr"])
    assert row(frame, "2025-06")["renewal_rate_arr"] == pytest.approx(1_200_000 / 1_200_000)   # E1 weighs nothing
    assert row(frame, "2026-02")["renewal_rate_arr"] == pytest.approx(720_000 / 1_920_000)     # 0.375


def test_a_renewal_signed_after_as_of_counts_once_as_of_moves(company):
    with company.connect() as conn:
        later = indicators.level1(conn, [month("2026-02")], as_of=D(2026, 3, 31))
        earlier = indicators.level1(conn, [month("2026-02")], as_of=D(2026, 2, 9))
    assert (row(later, "2026-02")["renewed"], row(later, "2026-02")["renewal_rate"]) == (2, 1.0)   # L2 signed 5 Mar
    assert row(earlier, "2026-02")["renewed"] == 0                                                  # H3 signed 10 Feb


# period: (first orders, repurchased within 365 days by 28 Feb 2026)
REPURCHASE = {
    "2025-01": (1, 1),   # G1 on 2 Jan; G2 (its renewal) on 20 Dec: 352 days later
    "2025-02": (2, 1),   # H1 20 Feb -> H2 25 Sep (217 days); L1 15 Feb -> L2 only on 5 Mar 2026
    "2025-04": (1, 0),   # I1, nothing since
    "2025-06": (1, 0),   # E1
    "2026-01": (1, 0),   # K1 and K2 signed the same day: one order
}


def test_repurchase_rate_by_hand(company):
    with company.connect() as conn:
        frame = indicators.level1(conn, MONTHS)
    for label in (p.label for p in MONTHS):
        r = row(frame, label)
        first, again = REPURCHASE.get(label, (0, 0))
        assert (r["first_orders"], r["repurchased"]) == (first, again), label
        # judged only once the 365-day window has closed by as_of (28 Feb 2026): months up to Feb 2025
        judged = first and MONTHS[[p.label for p in MONTHS].index(label)].end + dt.timedelta(days=365) <= D(2026, 2, 28)
        assert (r["repurchase_rate"] == pytest.approx(again / first)) if judged else math.isnan(r["repurchase_rate"]), label


def test_repurchase_window_is_a_parameter(company):
    with company.connect() as conn:
        frame = indicators.level1(conn, MONTHS, window_days=200)
    assert (row(frame, "2025-01")["repurchased"], row(frame, "2025-02")["repurchased"]) == (0, 0)   # 352 and 217 > 200


def test_activity_rate_reads_the_monthly_roll_up_and_daily_rows_for_a_week(company):
    week = period_of(Grain.week, D(2025, 10, 8))                         # 2025-W41, 6..12 Oct
    with company.connect() as conn:
        months = indicators.level1(conn, [month("2025-10"), month("2025-11")])
        weeks = indicators.level1(conn, [week])
        quarter = indicators.level1(conn, [parse_period("2025-Q4", Grain.quarter)])
    oct_, nov = row(months, "2025-10"), row(months, "2025-11")
    # Paying on 31 Oct: A B D G H I L = 7 (F pays 0). Used in October: A, B, D (and F, not paying).
    assert (oct_["active_accounts"], oct_["paying_accounts"], oct_["activity_rate"]) == (3, 7, pytest.approx(3 / 7))
    assert (nov["active_accounts"], nov["paying_accounts"]) == (1, 7)  # only A on 5 Nov
    w41 = row(weeks, "2025-W41")
    assert (w41["active_accounts"], w41["paying_accounts"]) == (1, 7)  # A on 8 Oct; B's 13 Oct is the next week
    q4 = row(quarter, "2025-Q4")
    assert (q4["active_accounts"], q4["paying_accounts"]) == (3, 7)    # A B D over Oct-Dec


def test_a_period_with_no_customers_at_the_start_gives_na_not_an_error(company):
    april_2024 = month("2024-04")                                      # C1 starts 1 Apr 2024: the first contract in force
    with company.connect() as conn:
        frame = indicators.level1(conn, [april_2024], as_of=D(2026, 2, 28))  # late enough to judge repurchase
    r = row(frame, "2024-04")
    assert (r["mrr_start"], r["new"], r["logo_count_start"]) == (0, 50 * K, 0)
    for rate in ("nrr", "grr", "logo_churn", "expansion_rate", "renewal_rate", "renewal_rate_arr"):
        assert math.isnan(r[rate]), rate
    assert r["activity_rate"] == 0.0                                   # C pays but has no usage rows
    assert (r["first_orders"], r["repurchase_rate"]) == (1, 0.0)       # D1 signed 20 Apr 2024; D2 487 days later


def test_an_empty_store_gives_a_row_per_period_and_no_error(fresh_engine):
    with fresh_engine.connect() as conn:
        frame = indicators.level1(conn, MONTHS[:3])
        drill = indicators.movement_customers(conn, MONTHS[0], "new")
    assert frame["period"].tolist() == ["2025-01", "2025-02", "2025-03"]
    assert (frame["arr"] == 0).all() and frame["nrr"].isna().all() and frame["activity_rate"].isna().all()
    assert drill.empty


def test_periods_of_one_call_share_a_grain(company):
    with company.connect() as conn, pytest.raises(UsageError, match="one grain"):
        indicators.level1(conn, [month("2025-10"), parse_period("2025-Q4", Grain.quarter)])


# --- filters and segments -----------------------------------------------------------------------------


def test_filters_restrict_the_customers(company):
    energy = Filters(D(2025, 1, 1), FEB_2026, industries=("energy",))   # C and K
    with company.connect() as conn:
        frame = indicators.mrr_movements(conn, MONTHS, filters=energy)
        level = indicators.level1(conn, MONTHS, filters=energy)
        drill = indicators.movement_customers(conn, month("2026-02"), "new", filters=energy)
    assert_bridge_holds(frame)
    apr, feb = row(frame, "2025-04"), row(frame, "2026-02")
    assert (apr["start_mrr"], apr["churn"], apr["end_mrr"]) == (50 * K, 50 * K, 0)      # C
    assert (feb["start_mrr"], feb["new"], feb["end_mrr"]) == (0, 150 * K, 150 * K)      # K
    assert frame["new"].sum() == 150 * K and frame["churn"].sum() == 50 * K
    assert row(level, "2025-03")["renewals_due"] == 1 and row(level, "2025-06")["renewals_due"] == 0   # C1; not A1, E1
    assert row(level, "2026-01")["first_orders"] == 1                   # K
    assert drill["code"].tolist() == ["K"]


def test_product_line_segment_counts_each_customer_and_line(company):
    with company.connect() as conn:
        frame = indicators.mrr_movements(conn, MONTHS, segment="product_line")
        drill = indicators.movement_customers(conn, month("2026-01"), "churn", segment="product_line", value="EAM")
    assert_bridge_holds(frame)
    assert sorted(frame["segment"].unique()) == ["EAM", "IoT", "MES", "QMS"]
    mes, eam, iot = row(frame, "2026-01", "MES"), row(frame, "2026-01", "EAM"), row(frame, "2026-01", "IoT")
    # MES on 31 Dec: A100 B200 D80 G150 H60 I40 L100 = 730; B's renewal grows MES 200 -> 250, G shrinks 150 -> 100.
    assert (mes["start_mrr"], mes["expansion"], mes["contraction"], mes["end_mrr"]) == (730 * K, 50 * K, 50 * K, 730 * K)
    assert (eam["start_mrr"], eam["churn"], eam["end_mrr"]) == (50 * K, 50 * K, 0)      # B's add-on line ends
    assert (iot["start_mrr"], iot["end_mrr"]) == (20 * K, 20 * K)
    assert mes["end_mrr"] + eam["end_mrr"] + iot["end_mrr"] == 750 * K                  # = the whole company
    # A line new for a customer is new in its segment: H's add-on in October, K's QMS in February.
    assert (row(frame, "2025-10", "IoT")["new"], row(frame, "2025-10", "MES")["expansion"]) == (20 * K, 0)
    assert (row(frame, "2026-02", "QMS")["new"], row(frame, "2026-02", "QMS")["customers_new"]) == (50 * K, 1)
    assert drill[["code", "segment", "change"]].values.tolist() == [["B", "EAM", -50 * K]]


def test_every_period_lists_every_segment_value(company):
    with company.connect() as conn:
        frame = indicators.level1(conn, MONTHS, segment="industry")
    assert len(frame) == len(MONTHS) * 2                                # energy and manufacturing in every month
    mar = row(frame, "2025-03", "energy")
    assert (mar["mrr_end"], mar["renewals_due"], mar["renewal_rate"]) == (50 * K, 1, 0.0)   # C1 lapses
    assert math.isnan(row(frame, "2025-05", "energy")["nrr"])          # nobody in energy at the start of May


def test_tier_segment_uses_the_tier_at_the_period_end(company):
    with company.connect() as conn:
        frame = indicators.mrr_movements(conn, [month("2025-05"), month("2025-06")], segment="tier")
    assert_bridge_holds(frame)
    # A is KA until its June snapshot says standard; B stays KA; the rest were never scored.
    assert row(frame, "2025-05", "KA")["start_mrr"] == (100 + 200) * K
    assert row(frame, "2025-06", "KA")["start_mrr"] == 200 * K
    assert row(frame, "2025-06", "standard")["start_mrr"] == 100 * K
    assert row(frame, "2025-06", "unscored")["end_mrr"] == (750 - 300) * K
    assert row(frame, "2025-05", "standard")["start_mrr"] == 0        # a value seen in any period gets a row


def test_csm_segment_names_the_csm_or_unassigned(company):
    with company.connect() as conn:
        frame = indicators.mrr_movements(conn, [month("2025-10")], segment="csm")
    assert row(frame, "2025-10", "王芳")["end_mrr"] == (100 + 250) * K    # A and B
    assert row(frame, "2025-10", "unassigned")["end_mrr"] == (800 - 350) * K


# --- the demo company ---------------------------------------------------------------------------------


def demo_history(conn) -> list[Period]:
    first, last = conn.execute(select(func.min(TABLES["contracts"].c.start_date),
                                      func.max(TABLES["contracts"].c.signed_on))).one()
    return periods_between(Grain.month, first, last)


def test_demo_bridge_holds_in_every_month_of_its_history(demo_engine):
    with demo_engine.connect() as conn:
        months = demo_history(conn)
        whole = indicators.mrr_movements(conn, months)
        by_industry = indicators.mrr_movements(conn, months, segment="industry")
        by_line = indicators.mrr_movements(conn, months, segment="product_line")
    assert len(whole) == len(months) > 36
    for frame in (whole, by_industry, by_line):
        assert_bridge_holds(frame)
    # Consecutive months chain, and a customer-level segment adds up to the whole.
    assert (whole["start_mrr"].iloc[1:].to_numpy() == whole["end_mrr"].iloc[:-1].to_numpy()).all()
    summed = by_industry.groupby("period", sort=False)[list(indicators._BRIDGE_MONEY)].sum()
    assert (summed.to_numpy() == whole.set_index("period")[list(indicators._BRIDGE_MONEY)].to_numpy()).all()
    assert whole["reactivation"].sum() > 0 and whole["churn"].sum() > 0 and whole["contraction"].sum() > 0


def contract_mrr(contracts: pd.DataFrame) -> pd.Series:
    """Each contract's MRR in cents by the Python twin of the SQL rule, one contract at a time (an oracle)."""
    return pd.Series([amount / periods.term_months(first, last) if periods.months_spanned(first, last) >= 1 else 0.0
                      for amount, first, last in zip(contracts["amount_cents"], contracts["start_date"],
                                                     contracts["end_date"], strict=True)], index=contracts.index)


def demo_contracts(conn) -> pd.DataFrame:
    contracts = pd.DataFrame([dict(r) for r in conn.execute(select(TABLES["contracts"])).mappings()])
    for column in ("start_date", "end_date"):
        contracts[column] = pd.to_datetime(contracts[column]).dt.date
    contracts["mrr"] = contract_mrr(contracts)
    return contracts


def test_demo_arr_of_the_last_month_equals_the_python_rule(demo_engine):
    with demo_engine.connect() as conn:
        last = demo_history(conn)[-1]
        frame = indicators.level1(conn, [last])
        contracts = demo_contracts(conn)
    live = contracts[(contracts["start_date"] <= last.end) & (contracts["end_date"] >= last.end)]
    assert abs(row(frame, last.label)["arr"] - 12 * live["mrr"].sum()) <= 1
    assert row(frame, last.label)["arr"] > 0


def test_demo_bridge_matches_a_per_customer_computation_in_pandas(demo_engine):
    """An independent oracle on a small store: MRR per customer at both boundaries, classified in pandas."""
    with demo_engine.connect() as conn:
        contracts = demo_contracts(conn)
        months = demo_history(conn)[-13:]
        frame = indicators.mrr_movements(conn, months).set_index("period")

    def mrr_at(day: dt.date) -> pd.Series:
        live = contracts[(contracts["start_date"] <= day) & (contracts["end_date"] >= day)]
        return np.floor(live.groupby("customer_id")["mrr"].sum() + 0.5)   # whole cents, halves up

    first_start = contracts.groupby("customer_id")["start_date"].min()
    for period in months:
        both = pd.concat({"s": mrr_at(period.start - dt.timedelta(days=1)), "e": mrr_at(period.end)}, axis=1).fillna(0)
        s, e = both["s"], both["e"]
        arrived = (s == 0) & (e > 0)
        fresh = arrived & (first_start.reindex(both.index) >= period.start)
        expected = {
            "start_mrr": s.sum(), "new": e[fresh].sum(), "reactivation": e[arrived & ~fresh].sum(),
            "expansion": (e - s)[(s > 0) & (e > s)].sum(), "contraction": (s - e)[(e > 0) & (e < s)].sum(),
            "churn": s[(s > 0) & (e == 0)].sum(), "end_mrr": e.sum(), "customers_churned": ((s > 0) & (e == 0)).sum(),
        }
        got = frame.loc[period.label, list(expected)]
        # Half-cent ties may round differently between engines' sums: allow one cent per customer moved.
        for key, value in expected.items():
            assert abs(int(got[key]) - int(value)) <= 2, (period.label, key, int(got[key]), int(value))
