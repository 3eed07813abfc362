"""A contract's MRR as the field computes it: its amount over its term in calendar months (whole months
from the start day, a partial month by its share of days), so a flat renewal is never a movement.

The textbook company below (ten customers, fourteen contracts) is worked by hand into quarterly MRR,
NRR, GRR, logo churn and ARR for 2025, on the test engine (SQLite, and PostgreSQL when the suite runs
on it). Amounts are in cents; every contract's MRR is written beside it.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from alembic import command
from sqlalchemy import Date, insert, select, text

from ops_core import indicators, periods
from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from ops_core.db.queries import months_spanned, rows_table, term_months
from ops_core.db.schema import alembic_config, upgrade
from ops_core.overview import contracts as contract_table
from ops_core.overview import monthly_cents
from ops_core.periods import parse_period
from ops_core.vocab import Grain

D = dt.date

CONTRACTS = [  # (code, customer, kind, start, end, amount, renews, MRR by hand)
    ("A1", "A", "new", D(2024, 1, 1), D(2024, 12, 31), 1_200_000, None, 100_000),  # 366 days, still 12 months
    ("A2", "A", "renewal", D(2025, 1, 1), D(2025, 12, 31), 1_200_000, "A1", 100_000),  # flat renewal: no movement
    ("B1", "B", "new", D(2024, 6, 15), D(2025, 6, 14), 2_400_000, None, 200_000),  # mid-month start: 12 months
    ("C1", "C", "new", D(2024, 12, 1), D(2024, 12, 31), 30_000, None, 30_000),  # a one-month contract
    ("D1", "D", "new", D(2024, 7, 1), D(2025, 6, 30), 1_200_000, None, 100_000),
    # an add-on for the rest of D1's term: 15 Feb..15 Jun is 4 months, 15..30 June 16/30 of June: 68/15
    # months; 204,000 / (68/15) = 45,000
    ("D2", "D", "expansion", D(2025, 2, 15), D(2025, 6, 30), 204_000, None, 45_000),
    ("D3", "D", "renewal", D(2025, 7, 1), D(2026, 6, 30), 1_740_000, "D1", 145_000),  # D1 + D2 renewed as one: flat
    ("E1", "E", "new", D(2025, 5, 5), D(2025, 5, 20), 80_000, None, 0),  # starts and ends in May: never counted
    ("F1", "F", "new", D(2025, 4, 10), D(2026, 4, 9), 960_000, None, 80_000),
    ("G1", "G", "new", D(2024, 10, 1), D(2025, 9, 30), 1_800_000, None, 150_000),
    ("G2", "G", "renewal", D(2025, 10, 1), D(2026, 9, 30), 1_440_000, "G1", 120_000),  # renewed smaller
    ("H1", "H", "new", D(2024, 4, 1), D(2025, 3, 31), 600_000, None, 50_000),  # lapses, then H2 wins it back
    ("H2", "H", "new", D(2025, 8, 1), D(2026, 7, 31), 720_000, None, 60_000),
    ("I1", "I", "new", D(2024, 3, 1), D(2026, 2, 28), 2_400_000, None, 100_000),  # two years: 24 months
    ("J1", "J", "new", D(2024, 2, 10), D(2025, 2, 9), 1_200_000, None, 100_000),  # across 29 Feb 2024: 12 months
    ("J2", "J", "renewal", D(2025, 2, 10), D(2026, 2, 9), 1_200_000, "J1", 100_000),
]

# MRR in thousands of cents at 31 Dec 2024, 31 Mar, 30 Jun, 30 Sep and 31 Dec 2025:
#   A 100 100 100 100 100     B 200 200   0   0   0     C  30   0   0   0   0     D 100 145 145 145 145
#   F   0   0  80  80  80     G 150 150 150 150 120     H  50  50   0  60  60     I 100 100 100 100 100
#   J 100 100 100 100 100     E   0 everywhere
#   total                       830 845 675 735 705
QUARTERS = {  # quarter: (start, new, expansion, reactivation, contraction, churn, end), thousands of cents
    "2025-Q1": (830, 0, 45, 0, 0, 30, 845),  # D's add-on; C's one month ends
    "2025-Q2": (845, 80, 0, 0, 0, 250, 675),  # F new; B (200) and H (50) churn
    "2025-Q3": (675, 0, 0, 60, 0, 0, 735),  # H returns: a reactivation; D renews flat: nothing
    "2025-Q4": (735, 0, 0, 0, 30, 0, 705),  # G renews 150 -> 120
}
# quarter: (NRR, GRR, customers churned / paying at the start, ARR in cents)
RATES = {
    "2025-Q1": ((830 + 45 - 30) / 830, 1 - 30 / 830, (1, 8), 12 * 845_000),
    "2025-Q2": ((845 - 250) / 845, 1 - 250 / 845, (2, 7), 12 * 675_000),
    "2025-Q3": (675 / 675, 1.0, (0, 6), 12 * 735_000),
    "2025-Q4": ((735 - 30) / 735, 1 - 30 / 735, (0, 7), 12 * 705_000),
}
K = 1_000
Q2025 = [parse_period(f"2025-Q{q}", Grain.quarter) for q in range(1, 5)]


@pytest.fixture
def textbook(fresh_engine):
    t = TABLES
    codes = sorted({c[1] for c in CONTRACTS})
    with fresh_engine.begin() as conn:
        conn.execute(insert(t["customers"]), [
            {"id": n, "code": code, "name": f"客户 {code}", "industry": "manufacturing", "region": "east_china",
             "size_band": "medium", "employees": 500, "partnership_level": "basic", "demand_type": "standard",
             "created_on": D(2024, 1, 1)} for n, code in enumerate(codes, 1)])
        ids = {code: n for n, code in enumerate(codes, 1)}
        numbers = {c[0]: n for n, c in enumerate(CONTRACTS, 1)}
        conn.execute(insert(t["contracts"]), [
            {"id": numbers[code], "code": code, "customer_id": ids[customer], "kind": kind, "product_line": "MES",
             "signed_on": start, "start_date": start, "end_date": end, "amount_cents": amount,
             "renewal_of_id": numbers.get(renews)}
            for code, customer, kind, start, end, amount, renews, _ in CONTRACTS])
    return fresh_engine


def test_each_contracts_mrr_is_its_amount_over_its_months(textbook):
    with textbook.connect() as conn:
        found = dict(conn.execute(select(contract_table.c.code, monthly_cents())).all())
    assert found == pytest.approx({code: mrr for code, *_, mrr in CONTRACTS}, abs=1e-6)


def test_quarterly_bridge_by_hand(textbook):
    with textbook.connect() as conn:
        frame = indicators.mrr_movements(conn, Q2025)
    got = {r["period"]: tuple(r[c] / K for c in ("start_mrr", "new", "expansion", "reactivation", "contraction",
                                                  "churn", "end_mrr")) for r in frame.to_dict("records")}
    assert got == {q: tuple(float(v) for v in row) for q, row in QUARTERS.items()}


def test_quarterly_nrr_grr_logo_churn_and_arr_by_hand(textbook):
    with textbook.connect() as conn:
        frame = indicators.level1(conn, Q2025).set_index("period")
    for quarter, (nrr, grr, (churned, paying), arr) in RATES.items():
        r = frame.loc[quarter]
        assert r["nrr"] == pytest.approx(nrr) and r["grr"] == pytest.approx(grr), quarter
        assert (r["customers_churned"], r["logo_count_start"]) == (churned, paying), quarter
        assert r["arr"] == arr, quarter


def test_a_flat_renewal_across_a_leap_day_is_no_movement(textbook):
    """J renews on 10 Feb 2025 after a year holding 29 Feb 2024 (366 days): same MRR, nothing moves;
    A's 2024 (366 days) and 2025 (365) are the same 100,000 a month."""
    months = [parse_period(label, Grain.month) for label in ("2025-01", "2025-02")]
    with textbook.connect() as conn:
        frame = indicators.mrr_movements(conn, months).set_index("period")
    # February: D's add-on only (45,000); J's renewal neither expands nor contracts
    assert frame.loc["2025-02", ["expansion", "contraction", "churn", "new"]].tolist() == [45_000, 0, 0, 0]
    assert frame.loc["2025-01", ["expansion", "contraction", "churn", "new"]].tolist() == [0, 0, 30_000, 0]  # C only


def test_a_contract_inside_one_month_is_in_no_movement(textbook):
    may = parse_period("2025-05", Grain.month)
    with textbook.connect() as conn:
        frame = indicators.mrr_movements(conn, [may])
        listed = indicators.movement_customers(conn, may, "new")
    assert frame.iloc[0]["new"] == 0 and frame.iloc[0]["churn"] == 0
    assert "E" not in set(listed.get("code", []))


@pytest.mark.parametrize(("first", "last", "months"), [
    (D(2025, 6, 15), D(2026, 6, 14), 12),          # the example
    (D(2024, 1, 1), D(2024, 12, 31), 12),          # a leap year
    (D(2024, 2, 10), D(2025, 2, 9), 12),           # across 29 February
    (D(2025, 3, 1), D(2025, 3, 31), 1),            # one calendar month
    (D(2025, 3, 15), D(2025, 4, 14), 1),           # one month from mid-month
    (D(2025, 1, 31), D(2025, 2, 27), 1),           # 31 Jan + one month ends on 28 Feb
    (D(2025, 6, 15), D(2026, 6, 30), 12 + 16 / 30),  # twelve months, then 15..30 June
    (D(2025, 2, 15), D(2025, 6, 30), 4 + 16 / 30),   # the add-on above
    (D(2025, 3, 15), D(2025, 4, 10), 27 / 31),       # less than a month across a month end: 27 of March's 31
])
def test_term_months_by_hand_in_sql_and_in_python(fresh_engine, first, last, months):
    with fresh_engine.connect() as conn:
        found = conn.execute(select(term_months(first, last))).scalar_one()
    assert found == pytest.approx(months) and periods.term_months(first, last) == pytest.approx(months)


def test_the_sql_rule_and_the_python_rule_agree_on_random_terms(fresh_engine):
    """600 terms from a fixed seed, month ends and leap days among them."""
    rng = np.random.default_rng(7)
    firsts = [D(2023, 1, 1) + dt.timedelta(days=int(n)) for n in rng.integers(0, 1500, 600)]
    lasts = [f + dt.timedelta(days=int(n)) for f, n in zip(firsts, rng.integers(0, 800, 600), strict=True)]
    pairs, found = list(zip(firsts, lasts, strict=True)), []
    with fresh_engine.connect() as conn:
        for at in range(0, len(pairs), 200):  # SQLite allows 500 terms in one compound SELECT
            terms = rows_table([("f", Date()), ("l", Date())], pairs[at:at + 200])
            found += conn.execute(select(terms.c.f, terms.c.l, term_months(terms.c.f, terms.c.l),
                                         months_spanned(terms.c.f, terms.c.l))).all()
    for first, last, months, spanned in found:
        first, last = (d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in (first, last))
        assert months == pytest.approx(periods.term_months(first, last)), (first, last)
        assert spanned == periods.months_spanned(first, last), (first, last)



def test_a_store_with_contracts_gains_each_ones_mrr_when_it_is_upgraded(new_store_url):
    """A store made before the column (revision 0006) holding invoices that point at its contracts: the
    upgrade rebuilds the contracts table on SQLite (keys checked) and fills every row's MRR by the rule."""
    engine = make_engine(new_store_url())
    command.upgrade(alembic_config(engine), "0006")
    with engine.begin() as conn:
        conn.execute(insert(TABLES["customers"]), [
            {"id": 1, "code": "A", "name": "客户 A", "industry": "manufacturing", "region": "east_china",
             "size_band": "medium", "employees": 500, "partnership_level": "basic", "demand_type": "standard",
             "created_on": D(2024, 1, 1), "version": 1}])
        conn.execute(text("INSERT INTO contracts (id, code, customer_id, kind, product_line, signed_on, start_date, "
                          "end_date, amount_cents, delivery_cost_cents, service_cost_cents, renewal_of_id, version) "
                          "VALUES (:id, :code, 1, 'new', 'MES', :start, :start, :end, :amount, 0, 0, :renews, 1)"),
                     [{"id": n, "code": code, "start": start, "end": end, "amount": amount, "renews": 1 if n > 1 else None}
                      for n, (code, _, _, start, end, amount, *_) in enumerate(CONTRACTS[:3], 1)])
        conn.execute(text("INSERT INTO invoices (number, customer_id, contract_id, issued_on, due_on, amount_cents, "
                          "version) VALUES ('F1', 1, 2, :day, :day, 100, 1)"), {"day": D(2025, 1, 1)})
    upgrade(engine)
    with engine.connect() as conn:
        found = dict(conn.execute(select(contract_table.c.code, contract_table.c.unrounded_mrr)).all())
        linked = conn.execute(text("SELECT contract_id FROM invoices")).scalar_one()
    engine.dispose()
    assert found == pytest.approx({code: mrr for code, *_, mrr in CONTRACTS[:3]}) and linked == 2
