"""The roll-ups (ops_core.db.rollups) hold what the raw tables hold, on random stores, after every kind of write.

The references are the raw computations: the MRR bridge joining every contract to every period
(``indicators._bridge_from_contracts``, the path the product-line and tier segments still take), the
roll-ups recomputed from scratch (``rollups.differences``) and, for usage, the daily rows summed here
with pandas. Both engines (``OPS_TEST_DATABASE_URL``).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, insert, select, update

from ops_core import indicators, usage
from ops_core.db import rollups
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.filters import Filters
from ops_core.periods import periods_between
from tests.factories import make_csm, make_customer

D = dt.date
contracts, usage_daily = TABLES["contracts"], TABLES["usage_daily"]
LINES = ("MES", "EAM", "QMS")
INDUSTRIES = ("manufacturing", "retail", "energy")
FIRST, LAST = D(2023, 1, 1), D(2025, 12, 31)
_codes = iter(range(1, 10**9))


def _contract_rows(rng: np.random.Generator, customer_id: int) -> list[dict]:
    """A customer's history: terms of any length (some inside one month, some across a leap day), renewals
    after a gap or none, flat or not, add-ons over part of a term, now and then a second product line."""
    rows, day = [], FIRST + dt.timedelta(days=int(rng.integers(0, 400)))
    for _ in range(int(rng.integers(1, 5))):
        term = int(rng.choice([12, 20, 31, 90, 180, 365, 366, 400, 730]))
        end = day + dt.timedelta(days=term - 1)
        amount = int(rng.choice([0, 99, 120_000, 1_000_000, 2_400_000, int(rng.integers(1, 5_000_000))]))
        line = str(rng.choice(LINES))
        rows.append(dict(customer_id=customer_id, kind="new" if not rows else "renewal", product_line=line,
                         start_date=day, end_date=end, amount_cents=amount))
        if rng.random() < 0.3 and term > 60:  # an add-on over the rest of the term
            start = day + dt.timedelta(days=int(rng.integers(1, term - 1)))
            rows.append(dict(customer_id=customer_id, kind="expansion", product_line=line, start_date=start,
                             end_date=end, amount_cents=int(rng.integers(1, 900_000))))
        if rng.random() < 0.2:  # another line alongside
            rows.append(dict(customer_id=customer_id, kind="new", product_line=str(rng.choice(LINES)), start_date=day,
                             end_date=end, amount_cents=int(rng.integers(1, 3_000_000))))
        day = end + dt.timedelta(days=int(rng.choice([1, 1, 1, 15, 45, 200])))
        if day > LAST:
            break
    for row in rows:
        row.update(code=f"R{next(_codes):07d}", signed_on=row["start_date"])
    return rows


def _usage_rows(rng: np.random.Generator, customer_id: int) -> list[dict]:
    days = sorted({FIRST + dt.timedelta(days=int(d)) for d in rng.integers(0, (LAST - FIRST).days, int(rng.integers(0, 60)))})
    return [dict(customer_id=customer_id, day=day, active_users=int(rng.integers(0, 9)), sessions=int(rng.integers(0, 20)),
                 page_views=int(rng.integers(0, 80)), unique_visitors=int(rng.integers(0, 9)),
                 feature_events=int(rng.integers(0, 3))) for day in days]


def _random_store(engine, seed: int, customers: int = 14) -> tuple[np.random.Generator, list[int]]:
    rng = np.random.default_rng(seed)
    with transaction(engine) as s:
        csm = make_csm(s)
        ids = [make_customer(s, industry=str(rng.choice(INDUSTRIES)), csm_id=csm["id"] if rng.random() < 0.5 else None)["id"]
               for _ in range(customers)]
    with engine.begin() as conn:
        for customer in ids:
            conn.execute(insert(contracts), _contract_rows(rng, customer))
            if rows := _usage_rows(rng, customer):
                conn.execute(insert(usage_daily), rows)
        rollups.refresh_usage(conn)
    return rng, ids


def _assert_current(engine) -> None:
    with engine.connect() as conn:
        assert rollups.differences(conn) == {"mrr_changes": 0, "usage_periods": 0, "mrr_totals": 0, "mrr_segment_totals": 0,
                                                   "usage_totals": 0}
        assert conn.execute(select(func.count()).select_from(TABLES["rollup_pending"])).scalar_one() == 0


def _assert_bridges_agree(engine) -> None:
    """The bridge from the roll-ups equals the bridge from the contracts, cent for cent, for every grain,
    the whole company, a segment and a filter (ARR, an unrounded sum, to a hundredth of a cent)."""
    spans = {"month": ("2023-01", "2025-12"), "quarter": ("2023-Q1", "2026-Q1"), "week": ("2024-W01", "2024-W30")}
    with engine.connect() as conn:
        for grain, (first, last) in spans.items():
            periods = periods_between(grain, first, last)
            for segment, filters in ((None, None), ("industry", None), ("csm", None),
                                     (None, Filters(FIRST, LAST, industries=("retail", "energy")))):
                rolled = indicators._bridge_from_rollups(conn, periods, filters, segment, activity=True)
                raw = indicators._bridge_from_contracts(conn, periods, filters, segment, activity=True)
                columns = [c for c in raw.columns if c not in ("idx", "segment")]
                # On the grid every caller puts them on: every period x every segment value, zeros where nothing happened.
                got, want = (indicators._on_grid(periods, segment, [frame]).set_index(["period", "segment"])[columns].astype(float)
                             for frame in (rolled, raw))
                assert got.index.equals(want.index), (grain, segment)
                exact = [c for c in columns if c != "arr"]
                pd.testing.assert_frame_equal(got[exact], want[exact], check_exact=True, obj=f"{grain} {segment} {filters}")
                assert (got["arr"] - want["arr"]).abs().max() < 0.01


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_roll_ups_of_a_random_store_equal_the_raw_computation(fresh_engine, seed):
    _random_store(fresh_engine, seed)
    _assert_current(fresh_engine)
    _assert_bridges_agree(fresh_engine)


def test_every_kind_of_contract_write_keeps_the_roll_ups_current_at_its_commit(fresh_engine):
    rng, ids = _random_store(fresh_engine, 11)
    with fresh_engine.begin() as conn:  # new contracts for two customers
        conn.execute(insert(contracts), _contract_rows(rng, ids[0]) + _contract_rows(rng, ids[1]))
    _assert_current(fresh_engine)
    with fresh_engine.begin() as conn:  # a term cut short, an amount changed, a contract moved to another customer
        first = conn.execute(select(contracts.c.id, contracts.c.start_date).where(contracts.c.customer_id == ids[2])
                             .order_by(contracts.c.id)).all()
        cut = pd.Timestamp(first[0].start_date).date() + dt.timedelta(days=40)
        conn.execute(update(contracts).where(contracts.c.id == first[0].id).values(end_date=cut))
        conn.execute(update(contracts).where(contracts.c.customer_id == ids[3]).values(amount_cents=777_777))
        conn.execute(update(contracts).where(contracts.c.id == first[-1].id).values(customer_id=ids[4]))
    _assert_current(fresh_engine)
    with fresh_engine.begin() as conn:  # a customer's contracts deleted
        conn.execute(delete(contracts).where(contracts.c.customer_id == ids[5]))
    _assert_current(fresh_engine)
    customers = TABLES["customers"]
    with fresh_engine.begin() as conn:  # customers moved to another industry, region, size band or CSM (or none)
        conn.execute(update(customers).where(customers.c.id.in_(ids[6:9])).values(industry="energy", region="south_china"))
        conn.execute(update(customers).where(customers.c.id.in_(ids[9:12])).values(csm_id=None, size_band="large"))
    _assert_current(fresh_engine)
    with fresh_engine.connect() as conn:  # an update that moves nothing notes nobody
        conn.execute(update(customers).where(customers.c.id == ids[0]).values(name="改名不改行业"))
        assert conn.execute(select(func.count()).select_from(TABLES["rollup_pending"])).scalar_one() == 0
        conn.rollback()
    _assert_bridges_agree(fresh_engine)
    with fresh_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TABLES["mrr_changes"])
                            .where(TABLES["mrr_changes"].c.customer_id == ids[5])).scalar_one() == 0


def test_a_rolled_back_write_leaves_the_roll_ups_as_they_were(fresh_engine):
    _, ids = _random_store(fresh_engine, 12)
    changes = TABLES["mrr_changes"]
    with fresh_engine.connect() as conn:
        before = conn.execute(select(func.count(), func.sum(changes.c.mrr_after))).one()
        conn.execute(delete(contracts).where(contracts.c.customer_id.in_(ids[:5])))
        conn.rollback()
        assert conn.execute(select(func.count(), func.sum(changes.c.mrr_after))).one() == before
    _assert_current(fresh_engine)


def test_a_usage_load_refreshes_the_accounts_it_loaded(fresh_engine):
    _, ids = _random_store(fresh_engine, 13)
    with fresh_engine.begin() as conn:
        conn.execute(delete(usage_daily).where(usage_daily.c.customer_id == ids[0]))
        conn.execute(delete(usage_daily).where(usage_daily.c.customer_id == ids[1], usage_daily.c.day == D(2024, 2, 29)))
        conn.execute(insert(usage_daily).values(customer_id=ids[1], day=D(2024, 2, 29), active_users=5, sessions=1,
                                                page_views=1, unique_visitors=1, feature_events=0))
        rollups.refresh_usage(conn, [ids[0], ids[1]])
    _assert_current(fresh_engine)


def _usage_oracle(daily: pd.DataFrame, periods) -> pd.DataFrame:
    """usage_by_period's definitions applied to the daily rows with pandas: one row per period."""
    rows = []
    for p in periods:
        part = daily[(daily["day"] >= p.start) & (daily["day"] <= p.end)]
        accounts = part.groupby("customer_id").agg(user_days=("active_users", "sum"), peak=("active_users", "max"),
                                                   sessions=("sessions", "sum"), page_views=("page_views", "sum"),
                                                   events=("feature_events", "sum"))
        peaked = accounts[accounts["peak"] > 0]
        rows.append({"period": p.label, "active_accounts": len(accounts), "dau": accounts["user_days"].sum() / p.days,
                     "period_active_users": int(accounts["peak"].sum()), "sessions": int(accounts["sessions"].sum()),
                     "page_views": int(accounts["page_views"].sum()),
                     "stickiness": (peaked["user_days"] / p.days / peaked["peak"]).mean() if len(peaked) else np.nan,
                     "adopting_accounts": int((accounts["events"] > 0).sum())})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("grain,first,last", [("week", "2024-W01", "2024-W20"), ("month", "2023-01", "2025-12"),
                                              ("quarter", "2023-Q1", "2025-Q4")])
def test_usage_by_period_from_the_roll_ups_equals_the_daily_rows(fresh_engine, grain, first, last):
    _random_store(fresh_engine, 21, customers=10)
    periods = periods_between(grain, first, last)
    with fresh_engine.connect() as conn:
        daily = pd.DataFrame(conn.execute(select(usage_daily)).mappings().all())
        company = usage.usage_by_period(conn, periods)                         # from usage_totals
        one_filter = usage.usage_by_period(conn, periods, Filters(FIRST, LAST, industries=INDUSTRIES))  # every account, from usage_periods
    daily["day"] = pd.to_datetime(daily["day"]).dt.date
    want = _usage_oracle(daily, periods)
    for got in (company, one_filter):
        for column in ("active_accounts", "period_active_users", "sessions", "page_views", "adopting_accounts"):
            assert got[column].tolist() == want[column].tolist(), column
        np.testing.assert_allclose(got["dau"], want["dau"], rtol=1e-12)
        np.testing.assert_allclose(got["stickiness"], want["stickiness"], rtol=1e-12)


def test_rebuild_and_check_commands(fresh_engine, capsys):
    _random_store(fresh_engine, 31, customers=6)
    url = fresh_engine.url.render_as_string(hide_password=False)
    with fresh_engine.begin() as conn:  # a roll-up row spoiled behind the tool's back
        conn.execute(update(TABLES["mrr_totals"]).values(mrr=TABLES["mrr_totals"].c.mrr + 1))
    assert rollups.main(["check", "--database-url", url]) == 1
    assert "mrr_totals: " in capsys.readouterr().out
    assert rollups.main(["rebuild", "--database-url", url]) == 0
    assert "rebuilt: usage_monthly" in capsys.readouterr().out
    assert rollups.main(["check", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == ("mrr_changes: 0 rows differ; usage_periods: 0 rows differ; "
                                               "mrr_totals: 0 rows differ; mrr_segment_totals: 0 rows differ; "
                                               "usage_totals: 0 rows differ")


def test_files_imported_through_the_importer_leave_the_roll_ups_current(fresh_engine):
    from ops_core import importer, writes
    from tests.test_importer import CONTRACTS, CUSTOMERS_ZH

    with transaction(fresh_engine) as s:
        make_csm(s, name="王芳")
    for entity, text in (("customers", CUSTOMERS_ZH), ("contracts", CONTRACTS),
                         ("usage", "Customer code,Day,Active users\nC2025001,2025-04-07,3\nC2025001,2025-04-08,5\n")):
        outcome = importer.run(fresh_engine, writes.LOCAL_ADMIN, entity, text.encode("utf-8"), "file.csv")
        assert outcome.problems == [], entity
    _assert_current(fresh_engine)
    changes, periods = TABLES["mrr_changes"], TABLES["usage_periods"]
    with fresh_engine.connect() as conn:
        whole = conn.execute(select(changes.c.day, changes.c.mrr_before, changes.c.mrr_after)
                             .where(changes.c.product_line == "").order_by(changes.c.day)).all()
        month = conn.execute(select(periods.c.user_days, periods.c.peak_users, periods.c.paying)
                             .where(periods.c.grain == "month")).all()
    # HT-1: ¥86,800 over 12 months = 723,333.33 cents a month; its renewal HT-2: ¥86,800.50 / 12 = 723,337.5, rounded
    # half up to 723,338; nothing after 2027-03-31.
    assert [(pd.Timestamp(d).date(), b, a) for d, b, a in whole] == [
        (D(2025, 4, 1), 0, 723_333), (D(2026, 4, 1), 723_333, 723_338), (D(2027, 4, 1), 723_338, 0)]
    assert [tuple(r) for r in month] == [(8, 5, True)]  # 3 + 5 user-days, peak 5, paying in April 2025
