"""Caches keyed by what they read: every write bumps its tables' counters in the same transaction,
and a read knows the tables it used, so a value is kept exactly until one of them is written."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from ops_core import demand, events, feedback, metrics, risk, scoring, settings, writes
from ops_core.db import bulk, versions
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from tests.conftest import small_company
from tests.factories import make_customer

ADMIN = writes.LOCAL_ADMIN


def counters(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return versions.snapshot(conn)


def test_a_migrated_store_starts_with_no_counter_and_a_write_bumps_its_table_and_the_audit_log(fresh_engine):
    assert counters(fresh_engine) == {}  # the migrations' own writes are not changes of data
    with transaction(fresh_engine) as s:
        make_customer(s, code="C1")
        make_customer(s, code="C2")
    assert counters(fresh_engine) == {"customers": 1, "audit_log": 1}  # one bump per transaction, however many rows
    with transaction(fresh_engine) as s:
        make_customer(s, code="C3")
    assert counters(fresh_engine) == {"customers": 2, "audit_log": 2}


def test_a_write_rolled_back_bumps_nothing(fresh_engine):
    with pytest.raises(RuntimeError), transaction(fresh_engine) as s:
        make_customer(s, code="C1")
        raise RuntimeError("the save fails after the insert")
    assert counters(fresh_engine) == {}


def test_a_bulk_load_through_the_drivers_own_cursor_is_counted(fresh_engine):
    with fresh_engine.begin() as conn:
        bulk.bulk_insert(conn, "csms", ["id", "name", "team", "level", "active", "version"],
                         [(1, "王芳", "East", "senior", True, 1)])
    assert counters(fresh_engine) == {"csms": 1}


def test_a_recording_names_the_tables_a_read_used_and_nested_recordings_share_them(fresh_engine):
    with versions.recording() as outer:
        with versions.recording() as inner, fresh_engine.connect() as conn:
            scoring.derive_features(conn, dt.date(2026, 1, 1))
        versions.note({"settings"})   # a value served from a cache tells the enclosing recording what it read
    assert {"customers", "contracts", "invoices", "payments"} <= inner
    assert "feedback" not in inner and "table_versions" not in inner
    assert outer == inner | {"settings"}


def test_fresh_holds_until_a_read_table_moves_and_for_a_value_newer_than_the_view():
    kept = {"contracts": 3, "customers": 5}
    assert versions.fresh(kept, {"contracts": 3, "customers": 5, "feedback": 9})
    assert not versions.fresh(kept, {"contracts": 4, "customers": 5})
    assert versions.fresh(kept, {"contracts": 2})   # computed after a write this view has not seen yet


# --- a write invalidates exactly the reads that depend on it ----------------------------------------

@pytest.fixture(scope="module")
def company(new_store_url) -> Engine:
    engine = make_engine(small_company(new_store_url))
    yield engine
    engine.dispose()


def _today(engine: Engine) -> dt.date:
    with engine.connect() as conn:
        return conn.execute(select(TABLES["contracts"].c.start_date).order_by(TABLES["contracts"].c.start_date.desc())
                            .limit(1)).scalar_one()


READS: dict[str, Callable[[Any, dt.date], Any]] = {
    "indicators": lambda c, day: metrics.compute(c, "month", day - dt.timedelta(days=90), day),
    "customer features": lambda c, day: scoring.derive_features(c, day),
    # The customer page caches each source of the features and of the renewal risk on its own.
    **{f"features: {source}": (lambda c, day, source=source: scoring.feature_source(c, day, source))
       for source in scoring.FEATURE_SOURCES},
    "risk: contracts due": lambda c, day: risk.contracts_up_for_renewal(c, day, 90),
    "risk: usage change": lambda c, day: risk.usage_change(c, day),
    "risk: usage sums": lambda c, day: risk.usage_sums(c, day),
    "risk: customers in force": lambda c, day: risk.customers_in_force(c, day),
    "risk: overdue invoices": lambda c, day: risk.overdue_by_customer(c, day),
    "risk: key contacts who left": lambda c, day: risk.key_contact_changes(c, day, 180),
    "feedback items": lambda c, day: feedback.load_items(c, dt.date(1970, 1, 1), day),
    "demand board": lambda c, day: demand.load_board(c, as_of=day),
    "events": lambda c, day: events.load(c, day - dt.timedelta(days=365), day).events,
}


def _triage_one(s: Any) -> None:
    item = s.execute(select(TABLES["feedback"]).where(TABLES["feedback"].c.status != "closed")
                     .order_by(TABLES["feedback"].c.id)).mappings().first()
    if item is None:  # the demo's open items depend on the day it was built up to
        customer = s.execute(select(TABLES["customers"].c.id).limit(1)).scalar_one()
        item = feedback.submit(s, ADMIN, {"customer_id": customer, "channel": "email", "text": "报表打不开",
                                          "product_area": "reports", "severity": "high", "importance": "important",
                                          "received_at": dt.datetime(2026, 1, 5, 9, 0)})
    feedback.triage(s, ADMIN, item["id"], item["version"], "bug", "critical", item["product_area"],
                    now=dt.datetime(2026, 1, 5, 10, 0))


def _raise_a_contract(s: Any) -> None:
    contract = s.execute(select(TABLES["contracts"]).order_by(TABLES["contracts"].c.id.desc())).mappings().first()
    writes.update(s, ADMIN, "contracts", contract["id"], contract["version"],
                  {"amount_cents": int(contract["amount_cents"]) + 1_200_000})


def _change_a_setting(s: Any) -> None:
    settings.change(s, ADMIN, "events.attribution_window_days", 120, 0)


WRITES: dict[str, Callable[[Any], None]] = {
    "triage a feedback item": _triage_one,
    "raise a contract's amount": _raise_a_contract,
    "change the attribution window": _change_a_setting,
}

# What an ops lead expects (issue: caches that survive unrelated writes): triage cools the feedback
# list and the demand board (it counts each demand's feedback), never the indicators or the customers;
# a contract cools the reads of money, and of the customer page's sources only those that read
# contracts (not the customers' own fields, the overdue invoices or the key contacts); a setting none
# of these reads cools none.
EXPECTED_STALE = {
    "triage a feedback item": {"feedback items", "demand board"},
    "raise a contract's amount": {"indicators", "customer features", "features: orders", "features: referrals",
                                  "features: lines", "risk: contracts due", "risk: usage change",
                                  "risk: customers in force"},
    "change the attribution window": set(),
}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame | pd.Series | pd.Index):
        return a.equals(b)
    return bool(a == b)


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_retires_exactly_the_reads_of_its_tables_and_no_kept_read_is_stale(company, write):
    """Each read is run with its tables recorded, the write is made, and the read run again: a read
    the counters say still holds gives the same answer as before (nothing stale is served), and the
    reads retired are the ones an ops lead expects."""
    day = _today(company)
    before: dict[str, tuple[Any, dict[str, int]]] = {}
    now = counters(company)
    for name, read in READS.items():
        with versions.recording() as tables, company.connect() as conn:
            value = read(conn, day)
        before[name] = (value, {t: now.get(t, 0) for t in tables})
    with transaction(company) as s:
        WRITES[write](s)
    after = counters(company)
    stale = set()
    for name, read in READS.items():
        value, kept = before[name]
        with company.connect() as conn:
            again = read(conn, day)
        if versions.fresh(kept, after):
            assert _same(value, again), f"{name} was kept after '{write}' but its answer changed"
        else:
            stale.add(name)
    assert stale == EXPECTED_STALE[write]



def test_pages_stay_warm_after_a_write_they_do_not_read_and_read_again_after_one_they_do(company, monkeypatch):
    """The app over the store: after a colleague triages feedback, the indicator and customer pages
    are drawn again from the cache (the one query is the counters, read once per page visit); after a
    contract changes, they read the store again."""
    from sqlalchemy import event
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT, ok

    monkeypatch.setenv("OPS_DATABASE_URL", company.url.render_as_string(hide_password=False))
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    app = ok(AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run())
    pages = ["pages/indicators.py", "pages/customers.py"]
    for page in pages:
        ok(app.switch_page(page).run())

    seen: dict[str, list[str]] = {}

    def revisit() -> dict[str, int]:
        queries = {}
        for page in pages:
            ok(app.switch_page("pages/home.py").run())
            statements.clear()
            ok(app.switch_page(page).run())
            queries[page], seen[page] = len(statements), list(statements)
        return queries

    event.listen(Engine, "before_cursor_execute", count)
    try:
        with transaction(company) as s:
            _triage_one(s)
        assert revisit() == {page: 1 for page in pages}
        assert all("table_versions" in s for s in statements)
        with transaction(company) as s:
            _raise_a_contract(s)
        assert all(n > 1 for n in revisit().values())
        # The customer page reads the contracts again, but not the invoices, the contacts or the
        # customers' own fields: their reads are kept (ui.customer_features, ui.renewal_risk).
        read = "\n".join(seen["pages/customers.py"])
        assert "FROM contracts" in read
        assert "FROM invoices" not in read and "FROM contacts" not in read and "FROM usage_monthly" not in read
        assert "FROM customers LEFT OUTER JOIN csms" not in read
    finally:
        event.remove(Engine, "before_cursor_execute", count)
