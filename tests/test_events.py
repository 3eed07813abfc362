"""Event ROI: a hand-computed fixture of 3 events and 10 leads, attribution, the standard, reviews, the command."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ops_core import events, writes
from ops_core.config import SETTINGS_BY_KEY
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.errors import PermissionDenied, StaleVersion, UsageError
from ops_core.events import LeadStandard, Model
from ops_core.vocab import Role

AS_OF = dt.date(2025, 9, 30)
WINDOW = 180
DEFAULT = LeadStandard()


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day) + dt.timedelta(hours=hour)


# The fixture. Costs in cents; E3 has no cost line at all.
#   E1 offline exhibition, sponsored, 2025-01-10..12: 12_000_033 + 6_000_033 + 1_999_934 = 20_000_000
#   E2 online webinar, self-hosted, 2025-02-20:         1_000_050 +   999_950             =  2_000_000
#   E3 offline salon, joint, 2025-06-15:                                                   =          0
# Leads (title, employees, industry, budget; touches; opportunity; win):
#   L1  manager   500  mfg       E1 01-10               opp 02-01  won 04-10  50_000_000
#   L2  director 1000  mfg       E1 01-11, E2 02-20     opp 03-01  won 05-01  30_000_001
#   L3  executive 300  mfg       E1 01-10, E1 01-12, E3 06-15  opp 04-01  won 07-01  9_000_000
#   L4  staff      50  mfg       E1 01-11
#   L5  manager    80  mfg       E1 01-11               opp 04-15 (20_000_000), open
#   L6  director 2000  energy    E2 02-20               opp 06-01  won 09-01 (193 days: outside 180) 40_000_000
#   L7  staff    5000  mfg       E2 02-20
#   L8  manager   150  mfg budget E3 06-15              opp 07-15 (10_000_000), open
#   L9  executive 100  mfg       E3 06-15
#   L10 staff      20  mfg       E3 06-15
# Every time is 10:00, so day counts are whole. L2 and L3 are the leads touched by two events.
LEADS = {
    "L1": ("manager", 500, "manufacturing", False, [("E1", "2025-01-10")], ("2025-02-01", 50_000_000), ("2025-04-10", 50_000_000)),
    "L2": ("director", 1000, "manufacturing", False, [("E1", "2025-01-11"), ("E2", "2025-02-20")],
           ("2025-03-01", 30_000_001), ("2025-05-01", 30_000_001)),
    "L3": ("executive", 300, "manufacturing", False, [("E1", "2025-01-10"), ("E1", "2025-01-12"), ("E3", "2025-06-15")],
           ("2025-04-01", 9_000_000), ("2025-07-01", 9_000_000)),
    "L4": ("staff", 50, "manufacturing", False, [("E1", "2025-01-11")], None, None),
    "L5": ("manager", 80, "manufacturing", False, [("E1", "2025-01-11")], ("2025-04-15", 20_000_000), None),
    "L6": ("director", 2000, "energy", False, [("E2", "2025-02-20")], ("2025-06-01", 40_000_000), ("2025-09-01", 40_000_000)),
    "L7": ("staff", 5000, "manufacturing", False, [("E2", "2025-02-20")], None, None),
    "L8": ("manager", 150, "manufacturing", True, [("E3", "2025-06-15")], ("2025-07-15", 10_000_000), None),
    "L9": ("executive", 100, "manufacturing", False, [("E3", "2025-06-15")], None, None),
    "L10": ("staff", 20, "manufacturing", False, [("E3", "2025-06-15")], None, None),
}


def build_store(engine) -> tuple[dict[str, int], dict[str, int]]:
    """The fixture above, written through the write path; returns the event and lead ids by name."""
    ev: dict[str, int] = {}
    ld: dict[str, int] = {}
    with transaction(engine) as s:
        def make_event(key, name, fmt, kind, org, start, end, costs, **goals):
            ev[key] = writes.create(s, writes.LOCAL_ADMIN, "events", {
                "name": name, "format": fmt, "kind": kind, "organisation": org, "start_date": start, "end_date": end,
                "location": "上海" if fmt == "offline" else "线上 / Online", "purposes": "acquisition,conversion",
                "budget_cents": 25_000_000 if key == "E1" else 1_500_000, **goals})["id"]
            for category, cents in costs:
                writes.create(s, writes.LOCAL_ADMIN, "event_costs", {"event_id": ev[key], "category": category, "amount_cents": cents})

        make_event("E1", "2025 Industrial Automation Expo", "offline", "exhibition", "sponsored", "2025-01-10", "2025-01-12",
                   [("venue", 12_000_033), ("sponsorship", 6_000_033), ("travel", 1_999_934)],
                   goal_leads=4, goal_effective_leads=4, goal_opportunities=2, goal_conversions=2, goal_revenue_cents=100_000_000)
        make_event("E2", "Webinar: Quality Management #1", "online", "webinar", "self_hosted", "2025-02-20", "2025-02-20",
                   [("advertising", 1_000_050), ("staff", 999_950)])
        make_event("E3", "数字化工厂沙龙 第1期", "offline", "salon", "joint", "2025-06-15", "2025-06-15", [], goal_leads=10)
        for key, (title, size, industry, budget, touches, opp, won) in LEADS.items():
            ld[key] = writes.create(s, writes.LOCAL_ADMIN, "leads", {
                "company": f"{key} 精密制造有限公司", "contact_name": "张伟", "phone": "13812345678",
                "email": f"{key.lower()}@example.com.cn", "title_level": title, "company_size": size, "industry": industry,
                "budget_confirmed": budget, "created_at": at(touches[0][1]),
                "opportunity_at": at(opp[0]) if opp else None, "opportunity_amount_cents": opp[1] if opp else None,
                "won_at": at(won[0]) if won else None, "won_amount_cents": won[1] if won else None})["id"]
            for event_key, day in touches:
                writes.create(s, writes.LOCAL_ADMIN, "lead_touches", {"lead_id": ld[key], "event_id": ev[event_key], "touched_at": at(day)})
    return ev, ld


@pytest.fixture
def store(fresh_engine):
    ev, ld = build_store(fresh_engine)
    with fresh_engine.connect() as conn:
        data = events.load(conn)
    return fresh_engine, data, ev, ld


def metrics(data, model=Model.linear, standard=DEFAULT, window=WINDOW, as_of=AS_OF):
    return events.event_metrics(data, standard, model, window, as_of)


# --- loading and costs -------------------------------------------------------------------------


def test_costs_are_summed_in_sql_to_the_exact_cent(store):
    _, data, ev, _ = store
    cost = data.events["cost_cents"]
    # 12_000_033 + 6_000_033 + 1_999_934 = 20_000_000; 1_000_050 + 999_950 = 2_000_000; no lines = 0
    assert cost.to_dict() == {ev["E1"]: 20_000_000, ev["E2"]: 2_000_000, ev["E3"]: 0}
    assert cost.dtype == "int64"
    assert data.costs.groupby("event_id")["amount_cents"].sum().sum() == 22_000_000
    assert len(data.leads) == 10 and len(data.touches) == 13
    breakdown = events.cost_breakdown(data.costs, ev["E1"])
    assert breakdown["category"].tolist() == ["venue", "sponsorship", "travel"]
    assert breakdown["amount_cents"].sum() == 20_000_000


def test_a_date_range_keeps_each_leads_whole_path(store):
    engine, full, ev, ld = store
    with engine.connect() as conn:
        data = events.load(conn, date_from=dt.date(2025, 2, 1))
    assert list(data.events.index) == [ev["E2"], ev["E3"]]
    # leads touched by E2 or E3: L2, L3, L6, L7, L8, L9, L10; their E1 touches stay, so the split is unchanged
    assert set(data.leads["id"]) == {ld[k] for k in ("L2", "L3", "L6", "L7", "L8", "L9", "L10")}
    assert (data.touches["event_id"] == ev["E1"]).sum() == 3  # L2 once, L3 twice
    ranged, whole = metrics(data), metrics(full)
    assert ranged.loc[ev["E2"], "attributed_revenue_cents"] == whole.loc[ev["E2"], "attributed_revenue_cents"] == 15_000_000
    assert ranged.loc[ev["E3"], "attributed_revenue_cents"] == 3_000_000
    with engine.connect() as conn, pytest.raises(UsageError, match="after it ends"):
        events.load(conn, dt.date(2025, 3, 1), dt.date(2025, 2, 1))


# --- counts, ratios, ROI -----------------------------------------------------------------------


def test_counts_per_event_match_the_hand_computation(store):
    _, data, ev, _ = store
    m = metrics(data)
    # leads: E1 L1-L5; E2 L2, L6, L7; E3 L3, L8, L9, L10
    # effective (manager+, >= 100 employees): E1 L1, L2, L3; E2 L2, L6; E3 L3, L8, L9 (100 is enough)
    # opportunities: E1 L1, L2, L3, L5; E2 L2, L6; E3 L3, L8
    # conversions (won within 180 days of a touch of the event): E1 L1, L2, L3; E2 L2 (L6 too late); E3 L3
    # too early (not won, last touch + 180 days after 2025-09-30): E3 L8, L9, L10 (touched 06-15 -> open to 12-12)
    expected = {
        "E1": (5, 3, 4, 3, 0),
        "E2": (3, 2, 2, 1, 0),
        "E3": (4, 3, 2, 1, 3),
    }
    for key, counts in expected.items():
        row = m.loc[ev[key]]
        assert (row.leads, row.effective_leads, row.opportunities, row.conversions, row.too_early) == counts, key
    assert m.loc[ev["E1"], "effective_rate"] == pytest.approx(3 / 5)
    # days from the first in-window touch of the event to the win:
    # E1: L1 01-10 -> 04-10 = 90, L2 01-11 -> 05-01 = 110, L3 01-10 -> 07-01 = 172: median 110
    # E2: L2 02-20 -> 05-01 = 70; E3: L3 06-15 -> 07-01 = 16
    assert m["median_days_to_conversion"].to_dict() == {ev["E1"]: 110.0, ev["E2"]: 70.0, ev["E3"]: 16.0}


# Revenue won inside the window: L1 50_000_000 + L2 30_000_001 + L3 9_000_000 = 89_000_001 (L6 is outside).
# first:  every lead's first touch is E1                                       E1 89_000_001, E2 0, E3 0
# last:   L1 -> E1, L2 -> E2, L3 -> E3                                         E1 50_000_000, E2 30_000_001, E3 9_000_000
# linear: L2 30_000_001 / 2 = 15_000_000.5 each, the odd cent to the earlier touch (E1);
#         L3 9_000_000 / 3 = 3_000_000 a touch, E1 has two touches           E1 50_000_000 + 15_000_001 + 6_000_000 = 71_000_001
#                                                                              E2 15_000_000, E3 3_000_000
# u:      L2 two touches 50/50 as linear; L3 E1 first 40 % + middle 20 % = 60 % = 5_400_000, E3 last 40 % = 3_600_000
#                                                                              E1 50_000_000 + 15_000_001 + 5_400_000 = 70_400_001
#                                                                              E2 15_000_000, E3 3_600_000
# w:      L2 E1 first, E2 opened the opportunity (02-20, before 03-01) and is the last: no other touch, thirds
#         by role: E1 1/3 = 10_000_000.33, E2 2/3 = 20_000_000.67, the odd cent to E2's larger remainder;
#         L3 E1 01-10 first, E1 01-12 opened the opportunity (by 04-01), E3 last: a third each
#                                                                              E1 50_000_000 + 10_000_000 + 6_000_000 = 66_000_000
#                                                                              E2 20_000_001, E3 3_000_000
# decay:  half-life 7 days; weights round(1e6 × 2^(-days before the win / 7)), at least 1.
#         L2 E1 110 days (19), E2 70 days (2^-10: 977): 30_000_001 × 19/996 = 572_289.18, × 977/996 = 29_427_711.82,
#         the odd cent to E2; L3 E1 172 and 170 days (1 each), E3 16 days (205_084) of 205_086:
#         9_000_000 / 205_086 = 43.88 per E1 touch, E3 8_999_912.23; the two cents left to E1's touches
#                                                                              E1 50_000_000 + 572_289 + 88 = 50_572_377
#                                                                              E2 29_427_712, E3 8_999_912
# ROI = (revenue - cost) / cost with cost E1 20_000_000, E2 2_000_000, E3 0 (n/a):
REVENUE = {
    Model.first: ((89_000_001, 0, 0), (69_000_001 / 20_000_000, -1.0)),          # 3.45000005, -1
    Model.last: ((50_000_000, 30_000_001, 9_000_000), (1.5, 28_000_001 / 2_000_000)),  # 1.5, 14.0000005
    Model.linear: ((71_000_001, 15_000_000, 3_000_000), (51_000_001 / 20_000_000, 6.5)),  # 2.55000005, 6.5
    Model.u: ((70_400_001, 15_000_000, 3_600_000), (50_400_001 / 20_000_000, 6.5)),  # 2.52000005, 6.5
    Model.w: ((66_000_000, 20_000_001, 3_000_000), (2.3, 18_000_001 / 2_000_000)),  # 2.3, 9.0000005
    Model.decay: ((50_572_377, 29_427_712, 8_999_912), (30_572_377 / 20_000_000, 27_427_712 / 2_000_000)),
}


@pytest.mark.parametrize("model", list(Model), ids=[m.value for m in Model])
def test_each_model_credits_revenue_and_roi_as_computed_by_hand(store, model):
    _, data, ev, _ = store
    m = metrics(data, model)
    revenue, (roi_e1, roi_e2) = REVENUE[model]
    assert tuple(m.loc[[ev["E1"], ev["E2"], ev["E3"]], "attributed_revenue_cents"]) == revenue
    assert m["attributed_revenue_cents"].dtype == "int64"
    assert m.loc[ev["E1"], "roi"] == pytest.approx(roi_e1) and m.loc[ev["E2"], "roi"] == pytest.approx(roi_e2)
    assert math.isnan(m.loc[ev["E3"], "roi"])
    # every model credits exactly the revenue won inside the window, to the cent
    assert m["attributed_revenue_cents"].sum() == 89_000_001
    assert m["attributed_conversions"].sum() == pytest.approx(3.0)


def test_cost_ratios_match_the_hand_computation(store):
    _, data, ev, _ = store
    m = metrics(data)
    # E1 20_000_000 / 5 leads, / 3 effective, / 4 opportunities, / 3 conversions
    assert m.loc[ev["E1"], ["cost_per_lead", "cost_per_effective_lead", "cost_per_opportunity", "cost_per_conversion"]].tolist() == \
        pytest.approx([4_000_000, 20_000_000 / 3, 5_000_000, 20_000_000 / 3])
    # E2 2_000_000 / 3 leads, / 2 effective, / 2 opportunities, / 1 conversion
    assert m.loc[ev["E2"], ["cost_per_lead", "cost_per_effective_lead", "cost_per_opportunity", "cost_per_conversion"]].tolist() == \
        pytest.approx([2_000_000 / 3, 1_000_000, 1_000_000, 2_000_000])


def test_a_zero_cost_event_has_roi_na_never_infinity(store, tmp_path):
    engine, data, ev, _ = store
    m = metrics(data)
    e3 = m.loc[ev["E3"]]
    assert math.isnan(e3["roi"]) and math.isnan(e3["pipeline_roi"])
    assert e3["cost_per_lead"] == 0.0  # nothing spent: each lead cost nothing (the count is not 0)
    assert not m.select_dtypes("number").isin([math.inf, -math.inf]).any().any()
    markdown = events.review_markdown(data.events.loc[ev["E3"]], e3, None, DEFAULT)
    assert "ROI n/a" in markdown


def test_a_lead_won_outside_the_window_brings_no_conversion_or_revenue(store):
    _, data, ev, ld = store
    # L6: touched by E2 on 02-20, won 09-01: 193 days, outside 180
    credit = events.attribute(data.touches, data.leads, Model.linear, WINDOW)
    assert ld["L6"] not in set(credit["lead_id"])
    assert metrics(data).loc[ev["E2"], ["conversions", "attributed_revenue_cents"]].tolist() == [1, 15_000_000]
    # a 200-day window takes it in: E2 gets L6's 40_000_000 in full (one touch)
    wide = metrics(data, window=200).loc[ev["E2"]]
    assert (wide.conversions, wide.attributed_revenue_cents) == (2, 55_000_000)


def test_pipeline_is_open_opportunities_split_by_the_model_and_a_lost_one_drops_out(store):
    engine, data, ev, ld = store
    # open on 09-30: L5 (E1, opened 04-15) and L8 (E3, opened 07-15); L6 was won, so not open
    m = metrics(data)
    assert m["pipeline_cents"].to_dict() == {ev["E1"]: 20_000_000, ev["E2"]: 0, ev["E3"]: 10_000_000}
    # pipeline ROI: E1 (20_000_000 - 20_000_000) / 20_000_000 = 0; E2 (0 - 2_000_000) / 2_000_000 = -1
    assert m.loc[ev["E1"], "pipeline_roi"] == 0.0 and m.loc[ev["E2"], "pipeline_roi"] == -1.0
    # on 12-31 L5's opportunity is 260 days old and still open: age alone never takes it out
    late = metrics(data, as_of=dt.date(2025, 12, 31))
    assert late["pipeline_cents"].to_dict() == {ev["E1"]: 20_000_000, ev["E2"]: 0, ev["E3"]: 10_000_000}
    # L5 lost on 10-15: still open on 09-30, gone from E1's pipeline on 12-31
    with transaction(engine) as s:
        writes.update(s, writes.LOCAL_ADMIN, "leads", ld["L5"], 1, {"lost_at": at("2025-10-15")})
    with engine.connect() as conn:
        lost = events.load(conn)
    assert metrics(lost)["pipeline_cents"].to_dict() == m["pipeline_cents"].to_dict()
    after = metrics(lost, as_of=dt.date(2025, 12, 31))
    assert after["pipeline_cents"].to_dict() == {ev["E1"]: 0, ev["E2"]: 0, ev["E3"]: 10_000_000}


def test_what_happens_after_as_of_is_not_yet_counted(store):
    _, data, ev, _ = store
    m = metrics(data, as_of=dt.date(2025, 4, 30))
    # won by 04-30: only L1 (E1, 50_000_000); L2 (05-01) and L3 (07-01) are open opportunities then:
    # L2 30_000_001 over E1 01-11 and E2 02-20 -> 15_000_001 / 15_000_000; L3 9_000_000 over E1 twice; L5 20_000_000 on E1
    assert m.loc[ev["E1"], ["conversions", "attributed_revenue_cents", "pipeline_cents"]].tolist() == [1, 50_000_000, 44_000_001]
    assert m.loc[ev["E2"], "pipeline_cents"] == 15_000_000
    # E3 happens 06-15: no leads yet; every unwon lead of E1 (L2-L5) and E2 (L2, L6, L7) is too early to judge
    assert m.loc[ev["E3"], "leads"] == 0
    assert m["too_early"].to_dict() == {ev["E1"]: 4, ev["E2"]: 3, ev["E3"]: 0}


# --- attribution, pure -------------------------------------------------------------------------


def _path(*touches: tuple[int, str], amount: int = 1000, won: str = "2025-06-01"):
    t = pd.DataFrame({"lead_id": 1, "event_id": [e for e, _ in touches], "touched_at": [at(d) for _, d in touches]})
    leads = pd.DataFrame({"id": [1], "won_at": [at(won)], "won_amount_cents": [amount]})
    return t, leads


def test_u_shape_gives_40_20_40_and_falls_back_to_halves_and_whole():
    t, leads = _path((1, "2025-01-01"), (2, "2025-02-01"), (3, "2025-03-01"), (4, "2025-04-01"))
    credit = events.attribute(t, leads, Model.u, WINDOW).set_index("event_id")["credit"]
    assert credit.to_dict() == pytest.approx({1: 0.4, 2: 0.1, 3: 0.1, 4: 0.4})  # the middle two share 20 %
    two = events.attribute(*_path((1, "2025-01-01"), (2, "2025-02-01")), Model.u, WINDOW)
    assert two["credit"].tolist() == [0.5, 0.5]
    one = events.attribute(*_path((7, "2025-01-01")), Model.u, WINDOW)
    assert one[["event_id", "credit", "revenue_cents"]].values.tolist() == [[7, 1.0, 1000]]


def _opened(path, opportunity: str | None):
    t, leads = path
    return t, leads.assign(opportunity_at=[at(opportunity) if opportunity else pd.NaT])


@pytest.mark.parametrize(("opportunity", "expected"), [
    # first (01-01), opportunity (02-01, the last touch by 02-15), last (05-01) 300 each; 03-01 and 04-01 share 100
    pytest.param("2025-02-15", {1: 300, 2: 300, 3: 50, 4: 50, 5: 300}, id="five touches"),
    # the first touch opened the opportunity: 600; the last 300; three others share 100, 33.3 each, the
    # left-over cent to the earliest of them
    pytest.param("2025-01-15", {1: 600, 2: 34, 3: 33, 4: 33, 5: 300}, id="first opened it"),
])
def test_w_shape_gives_30_30_30_and_10_to_the_rest(opportunity, expected):
    t, leads = _opened(_path((1, "2025-01-01"), (2, "2025-02-01"), (3, "2025-03-01"), (4, "2025-04-01"),
                             (5, "2025-05-01")), opportunity)
    credit = events.attribute(t, leads, Model.w, WINDOW).set_index("event_id")["revenue_cents"]
    assert credit.to_dict() == expected


def test_w_shape_spreads_a_missing_position_in_proportion():
    # no opportunity time: first and last 30 parts each, the middle 10: 3/7, 1/7, 3/7 of 1000 =
    # 428.57, 142.86, 428.57; the two left-over cents to the largest remainders (the middle, then the first)
    t, leads = _path((1, "2025-01-01"), (2, "2025-02-01"), (3, "2025-03-01"))
    credit = events.attribute(t, leads, Model.w, WINDOW).set_index("event_id")["revenue_cents"]
    assert credit.to_dict() == {1: 429, 2: 143, 3: 428}
    # three touches, the middle one opened the opportunity: no "other" touch, a third each
    opened = events.attribute(*_opened(_path((1, "2025-01-01"), (2, "2025-02-01"), (3, "2025-03-01")), "2025-02-02"),
                              Model.w, WINDOW)
    assert opened.set_index("event_id")["revenue_cents"].to_dict() == {1: 334, 2: 333, 3: 333}


def test_time_decay_halves_a_touchs_weight_every_half_life_before_the_win():
    # on the win day, 7 and 14 days before, half-life 7: weights 1, 1/2, 1/4 -> 4/7, 2/7, 1/7 of 1000 =
    # 571.43, 285.71, 142.86; the two left-over cents to the two largest remainders (the older touches)
    t, leads = _path((1, "2025-06-01"), (2, "2025-05-25"), (3, "2025-05-18"))
    credit = events.attribute(t, leads, Model.decay, WINDOW).set_index("event_id")["revenue_cents"]
    assert credit.to_dict() == {1: 571, 2: 286, 3: 143}
    # a half-life of 14 days: the touch 14 days before weighs half: 2/3 and 1/3
    two = events.attribute(*_path((1, "2025-06-01"), (3, "2025-05-18")), Model.decay, WINDOW, half_life_days=14)
    assert two.set_index("event_id")["revenue_cents"].to_dict() == {1: 667, 3: 333}


@pytest.mark.parametrize(("model", "expected"), [
    pytest.param(Model.first, {3: 1000}, id="first"),
    pytest.param(Model.last, {9: 1000}, id="last"),
    pytest.param(Model.linear, {3: 334, 5: 333, 9: 333}, id="linear"),  # 1000 / 3: the left-over cent to the earliest
    pytest.param(Model.u, {3: 400, 5: 200, 9: 400}, id="u"),
])
def test_touches_at_the_same_moment_are_ordered_by_event_id(model, expected):
    # events 9, 3 and 5 touched at the same moment: the order is 3, 5, 9
    t, leads = _path((9, "2025-03-01"), (3, "2025-03-01"), (5, "2025-03-01"))
    credit = events.attribute(t, leads, model, WINDOW)
    assert credit.set_index("event_id")["revenue_cents"].to_dict() == expected


def test_touches_after_the_win_or_before_the_window_get_no_credit():
    t, leads = _path((1, "2024-11-01"), (2, "2025-05-01"), (3, "2025-06-02"), won="2025-06-01")
    credit = events.attribute(t, leads, Model.linear, WINDOW)  # 2024-11-01 is 212 days before the win
    assert credit[["event_id", "revenue_cents"]].values.tolist() == [[2, 1000]]


def test_attribute_names_a_missing_column_and_an_unknown_model():
    t, leads = _path((1, "2025-01-01"))
    with pytest.raises(UsageError, match="won_amount_cents"):
        events.attribute(t, leads.drop(columns="won_amount_cents"), Model.first, WINDOW)
    with pytest.raises(UsageError, match="unknown attribution model 'z'"):
        events.attribute(t, leads, "z", WINDOW)


paths = st.lists(st.tuples(st.integers(0, 10**12), st.lists(st.tuples(st.integers(1, 6), st.integers(0, 300)), min_size=1, max_size=8)),
                 min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(paths=paths, window=st.integers(0, 365), model=st.sampled_from(list(Model)))
def test_credited_revenue_sums_to_revenue_won_on_random_paths(paths, window, model):
    won = at("2025-12-31")
    leads = pd.DataFrame({"id": range(1, len(paths) + 1), "won_at": won, "won_amount_cents": [a for a, _ in paths]})
    t = pd.DataFrame([(i, e, won - dt.timedelta(days=d)) for i, (_, touches) in enumerate(paths, 1) for e, d in touches],
                     columns=["lead_id", "event_id", "touched_at"])
    credit = events.attribute(t, leads, model, window)
    in_window = t[t["touched_at"] >= won - dt.timedelta(days=window)].groupby("lead_id").size().index
    by_lead = credit.groupby("lead_id")[["credit", "revenue_cents"]].sum()
    assert sorted(by_lead.index) == sorted(in_window)
    assert by_lead["credit"].to_numpy() == pytest.approx(1.0)
    amounts = leads.set_index("id")["won_amount_cents"]
    assert (by_lead["revenue_cents"] == amounts.loc[by_lead.index]).all()  # exactly, in integer cents
    assert (credit["revenue_cents"] >= 0).all()


# --- the effective-lead standard ---------------------------------------------------------------


@pytest.mark.parametrize(("standard", "effective", "e1_cost_per_effective"), [
    # default: see test_counts_per_event_match_the_hand_computation
    pytest.param(DEFAULT, (3, 2, 3), 20_000_000 / 3, id="default"),
    # director or executive, any size: E1 L2, L3; E2 L2, L6; E3 L3, L9
    pytest.param(LeadStandard(("director", "executive"), 0), (2, 2, 2), 10_000_000, id="directors-up"),
    # budget confirmed as well: only L8 (E3)
    pytest.param(LeadStandard(budget_confirmed=True), (0, 0, 1), math.nan, id="budget-required"),
    # energy only: only L6 (E2)
    pytest.param(LeadStandard(industries=("energy",)), (0, 1, 0), math.nan, id="energy-only"),
])
def test_the_standard_decides_effective_counts_and_cost_per_effective_lead(store, standard, effective, e1_cost_per_effective):
    _, data, ev, _ = store
    m = metrics(data, standard=standard)
    assert tuple(m.loc[[ev["E1"], ev["E2"], ev["E3"]], "effective_leads"]) == effective
    assert m.loc[ev["E1"], "cost_per_effective_lead"] == pytest.approx(e1_cost_per_effective, nan_ok=True)
    assert m.attrs["standard"] == standard.describe()


def test_the_standard_is_a_versioned_setting_with_a_plain_english_description(fresh_engine):
    assert SETTINGS_BY_KEY[events.STANDARD_KEY].default == LeadStandard().to_dict()
    assert DEFAULT.describe() == ("Effective lead: title level manager, director or executive; company of at least 100 "
                                  "employees (unknown size does not count); any industry; budget confirmation not required.")
    stricter = LeadStandard(("executive", "director"), 500, ("energy", "manufacturing"), True)
    assert stricter.title_levels == ("director", "executive")  # vocabulary order
    assert LeadStandard.from_dict(stricter.to_dict()) == stricter
    with fresh_engine.connect() as conn:
        assert events.lead_standard(conn) == DEFAULT and events.lead_standard_version(conn) == 0
    with transaction(fresh_engine) as s:
        events.save_lead_standard(s, writes.LOCAL_ADMIN, stricter, expected_version=0)
    with fresh_engine.connect() as conn:
        assert events.lead_standard(conn) == stricter and events.lead_standard_version(conn) == 1
    with pytest.raises(StaleVersion), transaction(fresh_engine) as s:
        events.save_lead_standard(s, writes.LOCAL_ADMIN, DEFAULT, expected_version=0)
    with pytest.raises(PermissionDenied), transaction(fresh_engine) as s:
        events.save_lead_standard(s, writes.Actor("ed", Role.editor), DEFAULT, expected_version=1)


@pytest.mark.parametrize(("values", "message"), [
    pytest.param({"title_levels": ["boss"]}, "unknown title level", id="title"),
    pytest.param({"title_levels": []}, "at least one title level", id="no titles"),
    pytest.param({"industries": ["space"]}, "unknown industry", id="industry"),
    pytest.param({"min_company_size": -1}, "whole number >= 0", id="size"),
    pytest.param({"colour": "red"}, "unknown effective-lead criteria", id="criterion"),
])
def test_a_bad_standard_is_refused_with_a_reason(values, message):
    with pytest.raises(UsageError, match=message):
        LeadStandard.from_dict(values)


# --- groups, models, funnel, goals, timeline ---------------------------------------------------


def test_group_roi_and_cost_per_effective_lead_are_recomputed_from_sums(store):
    _, data, _, _ = store
    g = events.group_metrics(metrics(data), "format").set_index("format")
    # offline = E1 + E3: cost 20_000_000, revenue 71_000_001 + 3_000_000 = 74_000_001, effective 3 + 3
    offline = g.loc["offline"]
    assert (offline.events, offline.cost_cents, offline.attributed_revenue_cents, offline.leads) == (2, 20_000_000, 74_000_001, 9)
    assert offline.roi == pytest.approx(54_000_001 / 20_000_000)  # not the mean of 2.55 and n/a
    assert offline.cost_per_effective_lead == pytest.approx(20_000_000 / 6)
    assert g.loc["online", "roi"] == pytest.approx(6.5)
    total = events.group_metrics(metrics(data).assign(all="all"), "all").iloc[0]
    # all three: (89_000_001 - 22_000_000) / 22_000_000 under linear; cost per effective lead 22_000_000 / 8
    assert total.roi == pytest.approx(67_000_001 / 22_000_000)
    assert total.cost_per_effective_lead == pytest.approx(22_000_000 / 8)
    with pytest.raises(UsageError, match="lacks the column"):
        events.group_metrics(metrics(data), "city")


def test_model_comparison_shows_the_ranking_change(store):
    _, data, ev, _ = store
    c = events.model_comparison(data, DEFAULT, WINDOW, AS_OF)
    rank = c.pivot(index="event_id", columns="model", values="rank")
    # first touch: E1 3.45 beats E2 -1; last touch: E2 14.0 beats E1 1.5 (W: 9.0 and 2.3; decay: 13.7 and 1.5);
    # E3 (n/a) last everywhere
    assert rank.loc[ev["E1"]].to_dict() == {"first": 1, "last": 2, "linear": 2, "u": 2, "w": 2, "decay": 2}
    assert rank.loc[ev["E2"]].to_dict() == {"first": 2, "last": 1, "linear": 1, "u": 1, "w": 1, "decay": 1}
    assert set(rank.loc[ev["E3"]]) == {3}
    assert (c.groupby("model")["attributed_revenue_cents"].sum() == 89_000_001).all()
    table = events.rank_table(c, [ev["E1"], ev["E2"]])  # re-ranked among the two; most model-dependent first
    assert table["event_id"].tolist() == [ev["E1"], ev["E2"]]
    assert table.set_index("event_id").loc[ev["E1"], ["rank_first", "rank_last", "rank_linear", "rank_u", "spread"]].tolist() == [1, 2, 2, 2, 1]


def test_funnel_and_goals_against_results(store):
    _, data, ev, _ = store
    row = metrics(data).loc[ev["E1"]]
    f = events.funnel(row)
    # 5 leads -> 3 effective (L1 L2 L3) -> 3 of them opportunities -> 3 of them won; L5's opportunity is
    # below the standard: counted apart, so no step is larger than the one before
    assert f["step"].tolist() == ["leads", "effective", "opportunity", "won"]
    assert f["count"].tolist() == [5, 3, 3, 3]
    assert f["rate_from_previous"].tolist()[1:] == pytest.approx([3 / 5, 1.0, 1.0])
    assert math.isnan(f["rate_from_previous"].iloc[0])
    assert f["rate_from_top"].tolist() == pytest.approx([1, 3 / 5, 3 / 5, 3 / 5])
    assert events.funnel_apart(row) == (1, 0)
    goals = events.goals_vs_results(data.events.loc[ev["E1"]], row).set_index("goal")
    assert goals.loc["leads", ["target", "actual"]].tolist() == [4, 5]
    assert goals.loc["revenue_cents", "share"] == pytest.approx(71_000_001 / 100_000_000)
    no_goals = events.goals_vs_results(data.events.loc[ev["E2"]], metrics(data).loc[ev["E2"]])
    assert no_goals["target"].isna().all() and no_goals["share"].isna().all()


def test_timeline_marks_planned_and_past_events_with_budget_against_cost(store):
    _, data, ev, _ = store
    t = events.timeline(data, dt.date(2025, 3, 1)).set_index("event_id")
    assert t["status"].to_dict() == {ev["E1"]: "past", ev["E2"]: "past", ev["E3"]: "planned"}
    assert t.loc[ev["E1"], "variance_cents"] == 20_000_000 - 25_000_000


def test_list_filters_by_format_kind_organisation_and_purpose(store):
    _, data, ev, _ = store
    assert events.has_purpose(data.events, "conversion").all() and not events.has_purpose(data.events, "promotion").any()
    m = metrics(data)
    assert list(events.select_events(m, data.events)) == list(m) and len(events.select_events(m, data.events)) == 3
    assert list(events.select_events(m, data.events, formats=["offline"]).index) == [ev["E1"], ev["E3"]]
    assert list(events.select_events(m, data.events, ["offline"], organisations=["joint"]).index) == [ev["E3"]]
    assert events.select_events(m, data.events, purposes=["promotion"]).empty
    assert len(events.select_events(m, data.events, purposes=["promotion", "acquisition"])) == 3


# --- reviews -----------------------------------------------------------------------------------


def test_reviews_are_created_updated_and_a_stale_version_is_refused(store):
    engine, _, ev, _ = store
    e1 = ev["E1"]
    with engine.connect() as conn:
        assert events.load_review(conn, e1) is None
    when = dt.datetime(2025, 10, 8, 9, 30)
    with transaction(engine) as s:
        saved = events.save_review(s, writes.LOCAL_ADMIN, e1, {"evaluation": "Leads above goal."}, None, at=when)
    assert (saved["version"], saved["updated_by"], saved["updated_at"]) == (1, "local-admin", when)
    with transaction(engine) as s:
        events.save_review(s, writes.Actor("li.na", Role.editor), e1, {"causes": "Booth by the entrance."}, 1)
    with engine.connect() as conn:
        review = events.load_review(conn, e1)
    assert (review["evaluation"], review["causes"], review["version"], review["updated_by"]) == \
        ("Leads above goal.", "Booth by the entrance.", 2, "li.na")
    with pytest.raises(StaleVersion), transaction(engine) as s:
        events.save_review(s, writes.LOCAL_ADMIN, e1, {"patterns": "late"}, 1)
    with pytest.raises(StaleVersion), transaction(engine) as s:  # "create" when someone else already did
        events.save_review(s, writes.LOCAL_ADMIN, e1, {"patterns": "late"}, None)
    with pytest.raises(PermissionDenied), transaction(engine) as s:
        events.save_review(s, writes.Actor("v", Role.viewer), e1, {"patterns": "x"}, 2)
    with pytest.raises(UsageError, match="not mood"), transaction(engine) as s:
        events.save_review(s, writes.LOCAL_ADMIN, e1, {"mood": "x"}, 2)
    with engine.connect() as conn:
        audit = TABLES["audit_log"]
        actions = conn.execute(select(audit.c.action, audit.c.actor).where(audit.c.entity == "event_reviews")
                               .order_by(audit.c.id)).all()
        assert events.load_review(conn, e1)["patterns"] is None
    assert [tuple(a) for a in actions] == [("create", "local-admin"), ("update", "li.na")]


def test_review_markdown_has_four_steps_with_step_one_from_the_data(store):
    _, data, ev, _ = store
    m = metrics(data, Model.u)
    review = {"goals_vs_results": "Revenue below goal.", "evaluation": "Good leads.", "causes": None, "patterns": "",
              "updated_by": "li.na", "updated_at": dt.datetime(2025, 10, 8, 9, 30), "version": 3}
    text = events.review_markdown(data.events.loc[ev["E1"]], m.loc[ev["E1"]], review, DEFAULT)
    for heading in ("## 1. Goals vs results", "## 2. Evaluation of the results", "## 3. Analysis of causes",
                    "## 4. Patterns to keep"):
        assert heading in text
    assert "| leads | 4 | 5 | 125.0% |" in text
    assert "| revenue (yuan) | 1,000,000.00 | 704,000.01 | 70.4% |" in text  # u: 70_400_001 cents
    assert "U-shaped 40/20/40" in text and "window 180 days" in text and "As of: 2025-09-30" in text
    assert DEFAULT.describe() in text and "Revenue below goal." in text and "_(not written yet)_" in text
    assert "li.na" in text and "version 3" in text


def test_the_review_file_names_the_event_by_labels_and_shows_roi_as_a_percentage(store):
    _, data, ev, _ = store
    m = metrics(data, Model.u)
    text = events.review_markdown(data.events.loc[ev["E1"]], m.loc[ev["E1"]], None, DEFAULT)
    # E1 is stored as offline / exhibition / sponsored; a reader sees the labels, not the codes.
    assert "Offline Industry exhibition, Sponsored; 2025-01-10 to 2025-01-12;" in text
    # ROI = (70_400_001 - 20_000_000) / 20_000_000 = 2.52 under the U-shaped model: 252.0 %, not "2.52".
    assert "ROI 252.0%;" in text


def test_a_chinese_review_reads_in_chinese_but_for_the_events_own_data(store):
    """Seen: the review download wholly in English on the Chinese page; the event's name and
    location and the people's texts stay as entered."""
    from tests.wording import english_words

    _, data, ev, _ = store
    m = metrics(data, Model.u)
    event = data.events.loc[ev["E1"]]
    saved = {"evaluation": "线索质量好", "updated_by": "local-admin", "version": 2,
             "updated_at": dt.datetime(2026, 3, 2, 14, 5, 33, 123456)}
    text = events.review_markdown(event, m.loc[ev["E1"]], saved, DEFAULT, lang="zh")
    assert "_最近由 本机管理员 于 2026-03-02 14:05 保存（版本 2）。_" in text  # the built-in admin in words, to the minute
    assert "## 1. 目标与结果对比" in text and "| 线索 | 4 | 5 | 125.0% |" in text and "_（尚未填写）_" in text
    assert DEFAULT.describe("zh") in text and "线索质量好" in text
    shapes = ["U"]  # the U-shaped model is called U 型 in Chinese too
    assert english_words(text, [event["name"], event.get("location") or "", *shapes]) == []


# --- command line ------------------------------------------------------------------------------


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _read_export(path):
    data = path.read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    notes = [row[0] for row in rows if len(row) == 1 and row[0].startswith("# ")]
    return notes, pd.read_csv(path, encoding="utf-8-sig", skiprows=len(notes), keep_default_na=False)  # keep "n/a" as written


def test_report_command_writes_one_row_per_event_with_the_basis_in_the_notes(store, tmp_path):
    engine, _, ev, _ = store
    out = tmp_path / "events.csv"
    assert events.main(["report", "--model", "last", "--as-of", "2025-09-30", "--output", str(out),
                        "--database-url", _url(engine)]) == 0
    notes, table = _read_export(out)
    assert len(table) == 3
    assert {"Event", "Cost (¥)", "Leads", "Effective leads", "Opportunities", "Conversions", "Attributed revenue (¥)",
            "ROI", "Cost per lead (¥)", "Cost per effective lead (¥)", "Cost per opportunity (¥)",
            "Cost per conversion (¥)"} <= set(table.columns)
    row = table.set_index("Event").astype(str)
    e1, e2, e3 = "2025 Industrial Automation Expo", "Webinar: Quality Management #1", "数字化工厂沙龙 第1期"
    # 30,000,001 cents credited to E2 against a cost of 2,000,000: ROI 14.0, in yuan and per cent
    assert row.loc[e2, "Attributed revenue (¥)"] == "300000.01" and row.loc[e2, "ROI"] == "1400.0%"
    assert row.loc[e1, "Cost per effective lead (¥)"] == "66666.67"  # 20_000_000 cents / 3, to the fen
    assert row.loc[e3, "ROI"] == ""                                  # no cost: no ROI
    assert "as of 2025-09-30" in notes[0] and "last touch" in notes[1] and "180 days" in notes[1]
    assert any("Effective lead:" in n for n in notes) and not any("cents" in n for n in notes)
    ranged = tmp_path / "ranged.xlsx"
    assert events.main(["report", "--model", "u", "--as-of", "2025-09-30", "--from", "2025-02-01", "--to", "2025-03-01",
                        "--output", str(ranged), "--database-url", _url(engine)]) == 0
    assert ranged.stat().st_size > 0


@pytest.mark.parametrize(("model", "e2_revenue", "named"), [
    pytest.param("w", "200000.01", "W-shaped", id="w"),
    pytest.param("decay", "294277.12", "half-life 7 days", id="decay"),  # the hand figures of REVENUE above, in yuan
])
def test_the_report_command_takes_the_w_shaped_and_time_decay_models(store, tmp_path, model, e2_revenue, named):
    engine, _, ev, _ = store
    out = tmp_path / f"{model}.csv"
    assert events.main(["report", "--model", model, "--as-of", "2025-09-30", "--output", str(out),
                        "--database-url", _url(engine)]) == 0
    notes, table = _read_export(out)
    assert table.set_index("Event").astype(str).loc["Webinar: Quality Management #1", "Attributed revenue (¥)"] == e2_revenue
    assert named in notes[1]


def test_the_report_command_writes_chinese_headers_labels_and_notes(store, tmp_path):
    engine, _, _, _ = store
    out = tmp_path / "活动.xlsx"
    assert events.main(["report", "--model", "linear", "--as-of", "2025-09-30", "--output", str(out), "--lang", "zh",
                        "--database-url", _url(engine)]) == 0
    from openpyxl import load_workbook

    book = load_workbook(out)
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["活动", "形式", "类型", "组织方式", "开始日期", "费用（元）"]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["活动"].value == "2025 Industrial Automation Expo" and row["类型"].value == "行业展会"
    assert (row["费用（元）"].value, row["费用（元）"].number_format) == (200000.0, "#,##0.00")  # 20,000,000 cents
    notes = [r[0].value for r in book.worksheets[1].iter_rows()]
    assert notes[0] == "活动 ROI 报告，截至 2025-09-30：3 场活动（全部活动）"
    assert notes[1].startswith("归因：线性") and "窗口 180 天" in notes[1]
    assert not any(re.search("[A-Za-z]{3,}", n.replace("ROI", "")) for n in notes)


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--model", "v"], "unknown attribution model 'v'", id="bad model"),
    pytest.param(["--model", "u", "--as-of", "30/09/2025"], "--as-of must be a date", id="bad date"),
    pytest.param(["--model", "u", "--database-url", "sqlite:////no/such/folder/ops.db"], "does not exist", id="unreachable store"),
])
def test_report_problems_exit_2_with_one_clear_line(args, message, tmp_path, capsys):
    output = tmp_path / "events.csv"
    argv = ["report", *args, "--output", str(output)]
    if "--database-url" not in argv:
        argv += ["--database-url", f"sqlite:///{tmp_path / 'ops.db'}"]
    assert events.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not output.exists()


# --- the demo company --------------------------------------------------------------------------


def test_every_model_runs_on_the_demo_company_and_credits_exactly_the_revenue_won_in_the_window(demo_engine):
    with demo_engine.connect() as conn:
        data = events.load(conn)
        standard = events.lead_standard(conn)
    as_of = data.leads["won_at"].max().date()
    # oracle: won leads with at least one touch on or before the win and at most 180 days before it
    t = data.touches.merge(data.leads[["id", "won_at", "won_amount_cents"]].dropna(), left_on="lead_id", right_on="id")
    t = t[(t["touched_at"] <= t["won_at"]) & (t["touched_at"] >= t["won_at"] - pd.Timedelta(days=WINDOW))]
    expected = int(t.drop_duplicates("lead_id")["won_amount_cents"].sum())
    assert expected > 0
    for model in Model:
        m = events.event_metrics(data, standard, model, WINDOW, as_of)
        assert len(m) == len(data.events) and m["attributed_revenue_cents"].sum() == expected, model
        assert (m["effective_leads"] <= m["leads"]).all() and (m["conversions"] <= m["leads"]).all()
        assert not m.select_dtypes("number").isin([math.inf, -math.inf]).any().any()
    for by in events.GROUP_BY:
        assert events.group_metrics(m, by)["leads"].sum() == m["leads"].sum()
