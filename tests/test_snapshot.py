"""Month-close snapshots: frozen values, replaced on a second close, differences marked against today."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from ops_core import demo, metrics, snapshot, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.db.schema import upgrade
from ops_core.errors import PermissionDenied
from ops_core.periods import parse_period
from ops_core.vocab import Role

END = dt.date(2026, 10, 31)
OCTOBER = parse_period("2026-10", "month")


@pytest.fixture
def store(new_store_url):
    """A small company of its own (snapshots write)."""
    engine = make_engine(new_store_url())
    upgrade(engine)
    demo.generate(engine, customers=60, years=1, seed=5, end=END)
    yield engine
    engine.dispose()


def test_a_snapshot_freezes_every_metric_overall_and_per_segment(store):
    with transaction(store) as session:
        rows = snapshot.take(session, writes.SYSTEM, "month", OCTOBER)
    with store.connect() as conn:
        frozen = snapshot.reported(conn, "month", [OCTOBER.start])
        today = metrics.compute(conn, "month", OCTOBER.start, OCTOBER.end)
        kinds = conn.execute(select(func.count(func.distinct(TABLES["metric_snapshots"].c.segment_kind)))).scalar_one()
    assert kinds == 1 + len(metrics.SEGMENTS)   # overall plus each segment kind
    assert len(frozen) == len(metrics.REGISTRY)  # overall: one value per metric
    assert rows > len(metrics.REGISTRY)
    compared = snapshot.against_today(today, frozen)
    assert not compared["differs"].any()
    assert compared["taken_at"].notna().all()


def test_a_corrected_contract_shows_as_a_difference_and_a_second_close_replaces_the_first(store):
    with transaction(store) as session:
        first = snapshot.take(session, writes.SYSTEM, "month", OCTOBER)
    contracts = TABLES["contracts"]
    with store.begin() as conn:  # a late correction: every contract in force at the end of October doubles
        conn.execute(update(contracts).where(contracts.c.start_date <= OCTOBER.end, contracts.c.end_date >= OCTOBER.end)
                     .values(amount_cents=contracts.c.amount_cents * 2))
    with store.connect() as conn:
        today = metrics.compute(conn, "month", OCTOBER.start, OCTOBER.end)
        compared = snapshot.against_today(today, snapshot.reported(conn, "month", [OCTOBER.start])).set_index("metric")
    assert compared.loc["arr", "differs"]
    assert compared.loc["arr", "value"] == pytest.approx(2 * compared.loc["arr", "reported"], rel=1e-6)
    assert not compared.loc["renewals_due", "differs"]  # a count the correction did not touch
    with transaction(store) as session:
        second = snapshot.take(session, writes.SYSTEM, "month", OCTOBER)
    with store.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(TABLES["metric_snapshots"])).scalar_one()
        again = snapshot.against_today(metrics.compute(conn, "month", OCTOBER.start, OCTOBER.end),
                                       snapshot.reported(conn, "month", [OCTOBER.start]))
    assert stored == second == first
    assert not again["differs"].any()


def test_a_viewer_may_not_freeze_a_period(store):
    with pytest.raises(PermissionDenied), transaction(store) as session:
        snapshot.take(session, writes.Actor("li.viewer", Role.viewer), "month", OCTOBER)


def test_the_command_freezes_a_period_and_refuses_a_bad_one(store, capsys):
    url = store.url.render_as_string(hide_password=False)
    assert snapshot.main(["--period", "2026-10", "--database-url", url]) == 0
    assert "froze" in capsys.readouterr().out
    assert snapshot.main(["--period", "October", "--database-url", url]) == 2
    assert "write it like 2026-10" in capsys.readouterr().err
