"""The double funnel on a hand-built store (accounts and users written out below), and on the demo company."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from ops_core import demo, funnel
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.errors import UsageError
from ops_core.events import LeadStandard
from ops_core.filters import Filters
from tests.factories import make_customer

D = dt.date
FIRST, LAST = D(2025, 1, 1), D(2025, 3, 31)
NAN = float("nan")


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day) + dt.timedelta(hours=hour)


def any_filters(**chosen) -> Filters:
    return Filters(D(2020, 1, 1), D(2030, 1, 1), **chosen)


# Accounts (company names as typed; the account is the trimmed, case-folded name):
#   "Alpha Co"  L1 manager 500      2025-01-10  opp 02-01  won 03-01 -> customer A (retail, east), renewal signed 2026-01-10
#   "alpha co " L2 staff 20         2025-02-01                       (same account as L1)
#   "Beta Ltd"  L3 staff 50         2025-01-15  opp 02-10  won 04-01 -> customer B (energy, north), expansion signed 04-01
#                                   (the same day as the win: not "later", so not renewed; no effective lead)
#   "Gamma"     L4 director 1000    2025-02-20                       + referral "GAMMA" on 01-05 (same account)
#   "Delta"     L5 executive (size unknown) 2025-03-05               (unknown size is below the standard)
#   "Epsilon"   L6 2024-12-31 23:00 and L7 2025-04-01 00:00          (both outside the range)
#   "Zeta"      referral only, 2025-03-01                            (a target account without a lead)
#   "Eta"       referral only, 2025-04-02                            (outside the range)
LEADS = [
    # company, title, size, industry, created, opportunity, won, customer
    ("Alpha Co", "manager", 500, "manufacturing", at("2025-01-10"), at("2025-02-01"), at("2025-03-01"), "A"),
    ("alpha co ", "staff", 20, "retail", at("2025-02-01"), None, None, None),
    ("Beta Ltd", "staff", 50, "energy", at("2025-01-15"), at("2025-02-10"), at("2025-04-01"), "B"),
    ("Gamma", "director", 1000, "retail", at("2025-02-20"), None, None, None),
    ("Delta", "executive", None, "manufacturing", at("2025-03-05"), None, None, None),
    ("Epsilon", "manager", 300, "retail", at("2024-12-31", 23), None, None, None),
    ("Epsilon", "manager", 300, "retail", at("2025-04-01", 0), None, None, None),
]
REFERRALS = [("GAMMA", D(2025, 1, 5)), ("Zeta", D(2025, 3, 1)), ("Eta", D(2025, 4, 2))]


def build_accounts(engine) -> None:
    with transaction(engine) as s:
        ids = {"A": make_customer(s, industry="retail", region="east_china")["id"],
               "B": make_customer(s, industry="energy", region="north_china")["id"]}
    with engine.begin() as conn:
        t = TABLES
        for company, title, size, industry, created, opp, won, customer in LEADS:
            conn.execute(insert(t["leads"]).values(
                company=company, contact_name="张伟", title_level=title, company_size=size, industry=industry,
                budget_confirmed=False, created_at=created, opportunity_at=opp, won_at=won,
                won_amount_cents=1_000_000 if won else None, customer_id=ids[customer] if customer else None))
        for name, day in REFERRALS:
            conn.execute(insert(t["referrals"]).values(referrer_id=ids["A"], referred_name=name, referred_on=day))
        for code, customer, kind, signed, start, end in (
            ("K1", "A", "new", D(2025, 3, 1), D(2025, 3, 1), D(2026, 2, 28)),
            ("K2", "A", "renewal", D(2026, 1, 10), D(2026, 3, 1), D(2027, 2, 28)),
            ("K3", "B", "new", D(2025, 4, 1), D(2025, 4, 1), D(2026, 3, 31)),
            ("K4", "B", "expansion", D(2025, 4, 1), D(2025, 5, 1), D(2026, 3, 31)),
        ):
            conn.execute(insert(t["contracts"]).values(
                code=code, customer_id=ids[customer], kind=kind, product_line="MES", signed_on=signed, start_date=start,
                end_date=end, amount_cents=1_200_000))


def check(frame: pd.DataFrame, counts: list[int], from_previous: list[float], from_top: list[float]) -> None:
    assert frame["count"].tolist() == counts
    np.testing.assert_allclose(frame["from_previous"].to_numpy(), from_previous, equal_nan=True)
    np.testing.assert_allclose(frame["from_top"].to_numpy(), from_top, equal_nan=True)


def test_account_funnel_counts_each_account_up_to_the_furthest_step_it_reached(fresh_engine):
    build_accounts(fresh_engine)
    with fresh_engine.connect() as conn:
        out = funnel.account_funnel(conn, FIRST, LAST, standard=LeadStandard())
    assert out["step"].tolist() == list(funnel.ACCOUNT_STEPS)
    # target: alpha, beta, gamma, delta, zeta = 5; leads: all but zeta = 4; effective: alpha (L1), gamma (L4) and
    # beta (went on to win without an effective lead) = 3; opportunities: alpha, beta = 2; paying: alpha, beta = 2;
    # renewed: alpha (K2 signed after the win) = 1; beta's expansion was signed on the day it was won.
    check(out, [5, 4, 3, 2, 2, 1],
          [NAN, 4 / 5, 3 / 4, 2 / 3, 2 / 2, 1 / 2],
          [1.0, 4 / 5, 3 / 5, 2 / 5, 2 / 5, 1 / 5])
    assert out.attrs["skipped_effective"] == 1          # beta
    assert out.attrs["lead_records"] == 5               # L1-L5
    assert out.attrs["effective_lead_records"] == 2     # L1, L4


def test_account_funnel_reads_the_standard_in_force_by_default(fresh_engine):
    build_accounts(fresh_engine)
    with fresh_engine.connect() as conn:
        stored = funnel.account_funnel(conn, FIRST, LAST)
        given = funnel.account_funnel(conn, FIRST, LAST, standard=LeadStandard())
    pd.testing.assert_frame_equal(stored, given)
    assert "manager, director or executive" in stored.attrs["standard"]


def test_a_different_standard_changes_the_effective_step(fresh_engine):
    build_accounts(fresh_engine)
    staff_only = LeadStandard(title_levels=("staff",), min_company_size=0)
    with fresh_engine.connect() as conn:
        out = funnel.account_funnel(conn, FIRST, LAST, standard=staff_only)
    # effective leads are now L2 (alpha) and L3 (beta); gamma's director no longer counts: 2 accounts.
    check(out, [5, 4, 2, 2, 2, 1], [NAN, 0.8, 0.5, 1.0, 1.0, 0.5], [1.0, 0.8, 0.4, 0.4, 0.4, 0.2])
    assert out.attrs["skipped_effective"] == 0


def test_account_funnel_as_of_a_day_ignores_what_happened_later(fresh_engine):
    build_accounts(fresh_engine)
    with fresh_engine.connect() as conn:
        out = funnel.account_funnel(conn, FIRST, LAST, standard=LeadStandard(), as_of=D(2025, 3, 15))
    # beta's win (04-01) and alpha's renewal (2026) have not happened: beta stops at opportunity, alpha at paying.
    check(out, [5, 4, 3, 2, 1, 0], [NAN, 0.8, 0.75, 2 / 3, 0.5, 0.0], [1.0, 0.8, 0.6, 0.4, 0.2, 0.0])


@pytest.mark.parametrize(("chosen", "counts"), [
    # L1 takes customer A's industry (retail), L2 and L4 are retail leads; beta is energy, zeta has no industry.
    pytest.param({"industries": ("retail",)}, [2, 2, 2, 1, 1, 1], id="industry-alpha-and-gamma"),
    # Only L1 is linked to an east-China customer; prospects have no region.
    pytest.param({"regions": ("east_china",)}, [1, 1, 1, 1, 1, 1], id="region-only-linked-leads"),
    # Unlinked leads take the band of their company size: gamma's 1,000 employees are "large".
    pytest.param({"size_bands": ("large",)}, [1, 1, 1, 0, 0, 0], id="size-band-from-company-size"),
])
def test_account_funnel_follows_the_filters(fresh_engine, chosen, counts):
    build_accounts(fresh_engine)
    with fresh_engine.connect() as conn:
        out = funnel.account_funnel(conn, FIRST, LAST, any_filters(**chosen), standard=LeadStandard())
    assert out["count"].tolist() == counts


def test_an_empty_range_gives_zero_counts_and_nan_shares(fresh_engine):
    build_accounts(fresh_engine)
    with fresh_engine.connect() as conn:
        accounts = funnel.account_funnel(conn, D(2030, 1, 1), D(2030, 12, 31), standard=LeadStandard())
        users = funnel.user_funnel(conn, D(2030, 1, 1), D(2030, 12, 31))
    for out in (accounts, users):
        assert out["count"].sum() == 0
        assert out["from_previous"].isna().all() and out["from_top"].isna().all()


def test_a_range_that_ends_before_it_starts_is_refused(fresh_engine):
    with fresh_engine.connect() as conn, pytest.raises(UsageError, match="after it ends"):
        funnel.account_funnel(conn, LAST, FIRST)


@pytest.mark.parametrize("standard", [
    LeadStandard(),
    LeadStandard(title_levels=("staff",), min_company_size=0),
    LeadStandard(title_levels=("manager", "staff"), min_company_size=50, industries=("retail", "energy")),
    LeadStandard(title_levels=("staff", "manager", "director", "executive"), min_company_size=0, budget_confirmed=True),
], ids=["default", "staff-any-size", "industries", "budget"])
def test_the_sql_standard_agrees_with_the_pandas_mask(fresh_engine, standard):
    build_accounts(fresh_engine)
    leads = TABLES["leads"]
    with fresh_engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(select(leads.c.id, leads.c.title_level, leads.c.company_size, leads.c.industry,
                                                 leads.c.budget_confirmed).order_by(leads.c.id)).mappings().all())
        in_sql = {row[0] for row in conn.execute(select(leads.c.id).where(funnel.effective_clause(standard)))}
    assert set(frame.loc[standard.mask(frame), "id"]) == in_sql


def test_lead_size_bands_use_the_customer_size_bounds():
    floors = sorted(floor for _, floor in funnel.SIZE_FLOORS)
    assert tuple(floors) == demo.SIZE_BOUNDS
    assert [band for band, _ in funnel.SIZE_FLOORS] == list(reversed(demo.SIZE_BANDS[1:]))


# Users, range January 2025, retained = active 4+ weeks after the registration week:
#   U1 A reg Mon 01-06 (W02), activated 01-07, active W02 and 02-03 (week 4)          -> retained
#   U2 A reg Wed 01-08 (W02), activated 01-20, active 01-13 only (before activation)  -> activated
#   U3 A reg Sun 01-12 (W02), activated 01-12, active 01-27 (week 3)                  -> active
#   U4 B reg 01-20, never activated, never active                                     -> registered
#   U5 B reg 01-21 (W04), never marked activated, active 02-24 (week 5)               -> retained (activity shows it activated)
#   U6 A reg 2024-12-31 and U7 A reg 2025-02-01                                       -> outside the range
USERS = [
    ("A", D(2025, 1, 6), D(2025, 1, 7), [D(2025, 1, 6), D(2025, 2, 3)]),
    ("A", D(2025, 1, 8), D(2025, 1, 20), [D(2025, 1, 13)]),
    ("A", D(2025, 1, 12), D(2025, 1, 12), [D(2025, 1, 27)]),
    ("B", D(2025, 1, 20), None, []),
    ("B", D(2025, 1, 21), None, [D(2025, 2, 24)]),
    ("A", D(2024, 12, 31), D(2024, 12, 31), [D(2025, 2, 3)]),
    ("A", D(2025, 2, 1), D(2025, 2, 1), [D(2025, 2, 3)]),
]


def build_users(engine) -> None:
    with transaction(engine) as s:
        ids = {"A": make_customer(s, industry="retail")["id"], "B": make_customer(s, industry="energy")["id"]}
    with engine.begin() as conn:
        for customer, registered, activated, weeks in USERS:
            user = conn.execute(insert(TABLES["account_users"]).values(
                customer_id=ids[customer], registered_on=registered, activated_on=activated)).inserted_primary_key[0]
            for week in weeks:
                conn.execute(insert(TABLES["account_user_weeks"]).values(account_user_id=user, week=week))


JANUARY = (D(2025, 1, 1), D(2025, 1, 31))


def test_user_funnel_by_hand(fresh_engine):
    build_users(fresh_engine)
    with fresh_engine.connect() as conn:
        out = funnel.user_funnel(conn, *JANUARY)
    assert out["step"].tolist() == list(funnel.USER_STEPS)
    # registered U1-U5 = 5; activated U1, U2, U3, U5 = 4; active U1, U3, U5 = 3; retained U1, U5 = 2.
    check(out, [5, 4, 3, 2], [NAN, 4 / 5, 3 / 4, 2 / 3], [1.0, 4 / 5, 3 / 5, 2 / 5])


def test_user_funnel_as_of_a_day_and_filtered(fresh_engine):
    build_users(fresh_engine)
    with fresh_engine.connect() as conn:
        early = funnel.user_funnel(conn, *JANUARY, as_of=D(2025, 2, 2))
        energy = funnel.user_funnel(conn, *JANUARY, any_filters(industries=("energy",)))
    # By 02-02: U1 active (W02) but week 4 not reached; U2 activated; U3 active (01-27); U4, U5 registered only.
    check(early, [5, 3, 2, 0], [NAN, 3 / 5, 2 / 3, 0.0], [1.0, 3 / 5, 2 / 5, 0.0])
    # Energy: U4 and U5 only; U5 went all the way.
    check(energy, [2, 1, 1, 1], [NAN, 0.5, 1.0, 1.0], [1.0, 0.5, 0.5, 0.5])


def test_user_funnel_retained_weeks_is_a_setting(fresh_engine):
    build_users(fresh_engine)
    with fresh_engine.connect() as conn:
        week0 = funnel.user_funnel(conn, *JANUARY, retained_weeks=0)
        week5 = funnel.user_funnel(conn, *JANUARY, retained_weeks=5)
        with pytest.raises(UsageError, match="retained_weeks"):
            funnel.user_funnel(conn, *JANUARY, retained_weeks=-1)
    assert week0["count"].tolist() == [5, 4, 3, 3]   # any active week counts: U1, U3, U5
    assert week5["count"].tolist() == [5, 4, 3, 1]   # U1's week 4 is too early; U5's week 5 is enough


def assert_sane(out: pd.DataFrame) -> None:
    counts = out["count"].tolist()
    assert counts[0] > 0
    assert all(a >= b for a, b in zip(counts, counts[1:], strict=False)), counts
    shares = pd.concat([out["from_previous"].iloc[1:], out["from_top"]]).dropna()
    assert ((shares >= 0) & (shares <= 1)).all()
    assert out["from_top"].iloc[0] == 1.0 and math.isnan(out["from_previous"].iloc[0])


def test_demo_funnels_narrow_step_by_step(demo_engine):
    with demo_engine.connect() as conn:
        end = conn.execute(select(TABLES["usage_daily"].c.day).order_by(TABLES["usage_daily"].c.day.desc()).limit(1)).scalar_one()
        first = end - dt.timedelta(days=540)
        accounts = funnel.account_funnel(conn, first, end - dt.timedelta(days=180))
        users = funnel.user_funnel(conn, first, end - dt.timedelta(days=180))
        everyone = funnel.account_funnel(conn, first, end)
        one_industry = funnel.account_funnel(conn, first, end, any_filters(industries=("manufacturing",)))
    for out in (accounts, users, everyone, one_industry):
        assert_sane(out)
    assert accounts["count"].iloc[4] > 0 and users["count"].iloc[3] > 0   # somebody paid, somebody stayed
    assert one_industry["count"].iloc[0] < everyone["count"].iloc[0]
