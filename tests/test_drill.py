"""The rows behind a number, on the hand-built company of tests/test_indicators.py (its table of MRR by
month and its renewals are the source of every expected row here)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ops_core import drill, indicators
from ops_core.periods import parse_period
from ops_core.vocab import Grain
from tests.test_indicators import FEB_2026, build


@pytest.fixture
def company(fresh_engine):
    build(fresh_engine)
    return fresh_engine


def month(label: str):
    return parse_period(label, Grain.month)


@pytest.mark.parametrize(("label", "expected"), [
    # B1 2.4M renewed by B3 at 3.0M (the add-on rolled in): larger; G1 1.8M by G2 1.2M: smaller
    ("2025-12", [("HT003", "B", 2_400_000, "HT005", 3_000_000, "larger"), ("HT012", "G", 1_800_000, "HT013", 1_200_000, "smaller")]),
    # A1 renewed flat; E1 (inside June: ARR 0) never renewed
    ("2025-06", [("HT001", "A", 1_200_000, "HT002", 1_200_000, "same"), ("HT009", "E", 0, None, None, "not_renewed")]),
    # L1 1.2M: its renewal L2 was signed 5 Mar, after as_of; H1 0.72M renewed by H3 at 0.96M
    ("2026-02", [("HT020", "L", 1_200_000, None, None, "not_renewed"), ("HT014", "H", 720_000, "HT016", 960_000, "larger")]),
])
def test_the_renewal_rates_contracts_and_how_each_renewed(company, label, expected):
    with company.connect() as conn:
        found = drill.rows(conn, "renewals", month(label), as_of=FEB_2026)
    got = [(r.contract_code, r.customer_code, r.arr_cents, None if pd.isna(r.renewal_code) else r.renewal_code,
            None if pd.isna(r.renewal_arr_cents) else int(r.renewal_arr_cents), r.outcome) for r in found.itertuples()]
    assert got == expected
    with company.connect() as conn:  # the list is the renewal rate's numerator and denominator
        level = indicators.level1(conn, [month(label)], as_of=FEB_2026).iloc[0]
    assert (len(found), int((found["outcome"] != "not_renewed").sum())) == (level["renewals_due"], level["renewed"])


def test_the_paying_accounts_without_usage_make_the_activity_rate(company):
    # October 2025: seven pay (A B D G H I L), A B D used the product: G, L, H, I did not, largest MRR first
    with company.connect() as conn:
        found = drill.rows(conn, "inactive", month("2025-10"))
        level = indicators.level1(conn, [month("2025-10")]).iloc[0]
    assert [(r.code, r.end_mrr) for r in found.itertuples()] == [("G", 150_000), ("L", 100_000), ("H", 80_000),
                                                                  ("I", 40_000)]
    assert len(found) == level["paying_accounts"] - level["active_accounts"]
    # last active: none of the four ever used it; November: A used it, the others (B D G H I L) had their last
    # month in October or never
    with company.connect() as conn:
        november = drill.rows(conn, "inactive", month("2025-11"))
    last = dict(zip(november["code"], november["last_active"], strict=True))
    assert last["B"] == dt.date(2025, 10, 1) and last["D"] == dt.date(2025, 10, 1) and pd.isna(last["G"])


def test_every_level_one_rate_opens_its_lists_and_nrr_opens_its_three_movements():
    assert drill.lists_for("nrr") == ("expansion", "contraction", "churn")
    assert drill.lists_for("logo_churn") == ("churn",)
    assert drill.lists_for("renewal_rate") == ("renewals",) and drill.lists_for("activity_rate") == ("inactive",)
    from ops_core import metrics
    missing = [m.key for m in metrics.LEVEL1 if m.key not in ("repurchase_rate",) and not drill.lists_for(m.key)]
    assert missing == []


def test_the_churn_list_adds_up_to_the_churned_mrr(company):
    with company.connect() as conn:
        lost = drill.rows(conn, "churn", month("2025-05"))
        bridge = indicators.mrr_movements(conn, [month("2025-05")]).iloc[0]
    assert lost["code"].tolist() == ["D"] and -lost["change"].sum() == bridge["churn"] == 100_000


def test_nrr_opens_the_three_movements_that_drive_it():
    from ops_core import metrics
    assert [m.key for m in metrics.components("nrr")] == ["mrr_expansion", "mrr_contraction", "mrr_churn"]
    assert [m.key for m in metrics.components("grr")] == ["mrr_contraction", "mrr_churn"]


def test_the_waterfall_steps_from_the_start_to_the_end_of_the_bridge(company):
    # 2025-10 by hand (tests/test_indicators.py BRIDGE): 880 + 20 expansion - 100 churn = 800 (thousands of cents)
    with company.connect() as conn:
        bridge = indicators.mrr_movements(conn, [month("2025-10")]).iloc[0]
    steps = drill.waterfall(bridge).set_index("step")
    k = 1_000
    assert steps.loc["start_mrr", ["low", "high"]].tolist() == [0, 880 * k]
    assert steps.loc["expansion", ["low", "high", "amount", "kind"]].tolist() == [880 * k, 900 * k, 20 * k, "up"]
    assert steps.loc["churn", ["low", "high", "amount", "kind"]].tolist() == [800 * k, 900 * k, -100 * k, "down"]
    assert steps.loc["end_mrr", ["low", "high"]].tolist() == [0, 800 * k]


def test_trailing_twelve_month_nrr_and_grr_by_hand(company):
    # The twelve months to February 2026 start on 1 March 2025; paying the day before (28 Feb 2025):
    # A 100, B 200, C 50, D 100, F 100, G 150 = 700 (thousands of cents). On 28 Feb 2026: A 100, B 250
    # (expanded 50), C 0 and F 0 (churned 150), D 80 (lapsed in April, back in September: counted at 80 ->
    # contraction 20 over the year), G 100 (contraction 50). NRR = (700 + 50 - 70 - 150) / 700 = 530 / 700;
    # GRR = 1 - 220 / 700. New customers of the year (H, I, K, L) are left out.
    with company.connect() as conn:
        found = drill.trailing_retention(conn, month("2026-02"))
    assert found["start"] == dt.date(2025, 3, 1) and found["end"] == dt.date(2026, 2, 28)
    assert found["nrr"] == pytest.approx(530 / 700) and found["grr"] == pytest.approx(1 - 220 / 700)


def test_a_customers_mrr_timeline_month_by_month(company):
    # D (tests/test_indicators.py): D1 100 to April 2025, nothing May-August, D2 80 from September
    with company.connect() as conn:
        line = drill.customer_timeline(conn, "D", month("2025-10"), months=8)
    assert line["month"].tolist() == [dt.date(2025, m, 1) for m in range(3, 11)]
    assert (line["mrr"] // 1_000).tolist() == [100, 100, 0, 0, 0, 0, 80, 80]
