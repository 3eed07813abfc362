"""Moving a store between engines and backing up a running SQLite store (``python -m ops_core.io copy|backup``).

The copy tests read a small demo company in SQLite to which rows the demo lacks were added: JSON values
(one a stored SQL NULL), floats, an audit time with microseconds and self-references that point
forward (a contract renewing a later contract, a demand merged into a later demand, feedback
duplicating later feedback), so the order of the load cannot satisfy them by luck.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, func, insert, null, select, text, update
from sqlalchemy.exc import OperationalError

from ops_core import demo, io, store_copy, writes
from ops_core.config import parse_url
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.db.schema import alembic_config, upgrade
from tests.conftest import ROOT, SMALL_CUSTOMERS
from tests.factories import make_customer

PG_ADMIN_URL = os.environ.get("OPS_TEST_DATABASE_URL", "").strip() or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
HEAD = ScriptDirectory.from_config(alembic_config(None)).get_current_head()  # type: ignore[arg-type]


def cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m ops_core.io ARGS`` from the repository root, as the README shows it."""
    environment = {k: v for k, v in os.environ.items() if k != "OPS_DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "ops_core.io", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=600)


def every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every copied table's rows as the app reads them (dates, times, JSON parsed), in primary-key order
    (the write counters are each store's own: store_copy.copy_order)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in store_copy.copy_order()}
    finally:
        engine.dispose()


def head_of(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def add_rows_the_demo_lacks(engine: Engine) -> None:
    contracts, demands, feedback = TABLES["contracts"], TABLES["demands"], TABLES["feedback"]
    with engine.begin() as conn:
        conn.execute(insert(TABLES["settings"]), [{"key": "tiers.cutoffs", "value": [70.5, 50.0, 30.25], "version": 1}])
        conn.execute(insert(TABLES["weight_presets"]), [
            {"name": "季度复盘", "weights": {"amount": 0.3, "growth": 0.7}, "methods": {"amount": "minmax"},
             "mappings": null(), "tier_rules": {"mode": "cutoff"}, "published": True, "created_by": "local-admin",
             "created_at": dt.datetime(2026, 3, 1, 9, 30), "version": 1}])
        conn.execute(insert(TABLES["metric_targets"]), [
            {"metric_key": "nrr", "grain": "month", "period_start": dt.date(2026, 1, 1), "minimum": 0.1 + 0.2,
             "target": 1.05, "stretch": None, "version": 1}])
        conn.execute(insert(TABLES["audit_log"]), [
            {"at": dt.datetime(2026, 3, 1, 9, 30, 15, 123456), "actor": "local-admin", "action": "update",
             "entity": "customers", "entity_id": "1", "old_values": {"name": "旧\tname\\n"}, "new_values": None}])
        for table, column in ((contracts, "renewal_of_id"), (demands, "merged_into_id"), (feedback, "duplicate_of_id")):
            first, last = conn.execute(select(func.min(table.c.id), func.max(table.c.id))).one()
            conn.execute(update(table).where(table.c.id == first).values({column: last}))


@pytest.fixture(scope="module")
def sqlite_company(tmp_path_factory) -> str:
    """A SQLite store with a small demo company (``SMALL_CUSTOMERS``, one year) and the rows above; read only."""
    url = f"sqlite:///{tmp_path_factory.mktemp('source') / 'ops.db'}"
    engine = make_engine(url)
    upgrade(engine)
    demo.generate(engine, customers=SMALL_CUSTOMERS, years=1, seed=5)
    add_rows_the_demo_lacks(engine)
    engine.dispose()
    return url


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A new, empty PostgreSQL database of this test, dropped at its end."""
    admin = create_engine(parse_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"ops_copy_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {parse_url(PG_ADMIN_URL).render_as_string()}: {exc.orig}")
    try:
        yield parse_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.one_engine
def test_copy_to_postgresql_and_back_keeps_every_row_of_every_table(sqlite_company, postgresql_url, tmp_path):
    original = every_row(sqlite_company)
    assert all(original[name] for name in ("settings", "weight_presets", "metric_targets", "audit_log", "contracts"))

    there = cli("copy", "--to", postgresql_url, "--database-url", sqlite_company)
    assert there.returncode == 0, there.stderr
    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    back = cli("copy", "--to", back_url, "--database-url", postgresql_url)
    assert back.returncode == 0, back.stderr

    total = sum(len(rows) for rows in original.values())
    assert there.stdout.splitlines()[-1] == (
        f"copied {total:,} rows in {len(store_copy.copy_order())} tables from {sqlite_company} to {postgresql_url} "
        f"in {there.stdout.split(' in ')[-1].split(' s ')[0]} s (schema {HEAD}); row counts and sums match")
    payments = len(original["payments"])   # the demo is built up to today: its count varies by day
    assert f"payments{' ' * 22}{payments:<15}{payments:<17}3  ok" in there.stdout.splitlines()
    assert every_row(postgresql_url) == original
    assert every_row(back_url) == original
    assert head_of(postgresql_url) == head_of(back_url) == [HEAD]
    for url in (postgresql_url, back_url):  # a stored SQL NULL stays NULL, not the JSON text 'null'
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM weight_presets WHERE mappings IS NULL")).scalar() == 1
        engine.dispose()

    # The sequences moved past the copied ids: the next customer takes the next free id.
    engine = make_engine(postgresql_url)
    with transaction(engine) as session:
        created = make_customer(session)
    engine.dispose()
    assert created["id"] == max(row[0] for row in original["customers"]) + 1


def test_copy_refuses_a_target_with_rows_and_writes_nothing(sqlite_company, new_store_url, capsys):
    target_url = new_store_url()
    engine = make_engine(target_url)
    upgrade(engine)
    with transaction(engine) as session:
        make_customer(session, code="MINE-1", name="我的客户")
    engine.dispose()
    before = every_row(target_url)

    assert io.main(["copy", "--to", target_url, "--database-url", sqlite_company]) == 2
    shown = parse_url(target_url).render_as_string(hide_password=True)
    # The first table in copy order with rows is the audit log: creating the customer wrote one audit row.
    assert capsys.readouterr().err == (
        f"error: the target {shown} is not empty: table audit_log has 1 row; copy into a new, empty store or "
        "pass --replace to empty it first; nothing was written\n")
    assert every_row(target_url) == before

    assert io.main(["copy", "--to", target_url, "--database-url", sqlite_company, "--replace"]) == 0
    assert every_row(target_url) == every_row(sqlite_company)


def test_the_check_catches_a_table_copied_wrong_and_rolls_the_copy_back(sqlite_company, new_store_url, monkeypatch, capsys):
    target_url = new_store_url()
    read = store_copy.source_rows

    def one_cent_more(conn, table):
        """The payments table arrives with its first payment one cent higher."""
        rows = read(conn, table)
        if table.name != "payments":
            yield from rows
            return
        amount = [c.name for c in table.c].index("amount_cents")
        first = next(rows)
        yield first[:amount] + (first[amount] + 1,) + first[amount + 1:]
        yield from rows

    monkeypatch.setattr(store_copy, "source_rows", one_cent_more)
    assert io.main(["copy", "--to", target_url, "--database-url", sqlite_company]) == 2
    amount = list(TABLES["payments"].c.keys()).index("amount_cents")
    paid = sum(row[amount] for row in every_row(sqlite_company)["payments"])
    shown = parse_url(target_url).render_as_string(hide_password=True)
    out, err = capsys.readouterr()
    payments = len(every_row(sqlite_company)["payments"])
    assert f"payments{' ' * 22}{payments:<15}{payments:<17}3  DIFFERENT" in out.splitlines()
    assert err == (f"error: the copy differs from the source (payments.amount_cents sum: source {paid}, target {paid + 1}); "
                   f"it was rolled back: nothing was written to {shown}\n")
    engine = make_engine(target_url)
    with engine.connect() as conn:
        assert store_copy.first_table_with_rows(conn) is None
    engine.dispose()


@pytest.mark.one_engine
def test_copy_refuses_to_copy_a_store_onto_itself(sqlite_company, capsys):
    assert io.main(["copy", "--to", sqlite_company, "--database-url", sqlite_company]) == 2
    assert capsys.readouterr().err == f"error: the source and the target are the same store ({sqlite_company})\n"


@pytest.mark.one_engine
def test_copy_from_a_missing_sqlite_file_creates_nothing(tmp_path, capsys):
    missing, target = tmp_path / "typo.db", tmp_path / "target.db"
    assert io.main(["copy", "--to", f"sqlite:///{target}", "--database-url", f"sqlite:///{missing}"]) == 2
    assert capsys.readouterr().err == f"error: there is no store at {missing} (sqlite:///{missing})\n"
    assert list(tmp_path.iterdir()) == []


# --- backup --------------------------------------------------------------------------------------


def fifty_customers(path: Path) -> sqlite3.Connection:
    """A second writer, as the running app is: 50 customers committed and left in the WAL (no checkpoint).

    Returned open: closing the last connection would checkpoint the WAL into the file."""
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    with writer:
        writer.executemany(
            "INSERT INTO customers (code, name, industry, region, size_band, employees, fortune500, listed, "
            "high_valuation, partnership_level, reference_case, demand_type, competitor_price_cut, created_on, version) "
            "VALUES (?, ?, 'manufacturing', 'east_china', 'medium', 500, 0, 0, 0, 'basic', 0, 'standard', 0, "
            "'2026-01-05', 1)",
            [(f"W{n:03d}", f"新客户 {n}") for n in range(1, 51)])
    return writer


def customers_in(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM customers").fetchone()[0]


@pytest.mark.one_engine
def test_backup_of_a_running_store_keeps_the_rows_still_in_the_wal(tmp_path):
    store = tmp_path / "ops.db"
    engine = make_engine(f"sqlite:///{store}")
    upgrade(engine)  # the app's engine: WAL mode
    engine.dispose()
    writer = fifty_customers(store)
    try:
        assert (tmp_path / "ops.db-wal").stat().st_size > 0
        naive = tmp_path / "copied-file.db"
        shutil.copyfile(store, naive)  # what lost the 50 rows: the file alone, without its WAL
        assert customers_in(naive) == 0

        result = cli("backup", str(tmp_path / "backup.db"), "--database-url", f"sqlite:///{store}")
        assert result.returncode == 0, result.stderr
    finally:
        writer.close()
    assert result.stdout.startswith(f"backed up sqlite:///{store} to {tmp_path / 'backup.db'} (")
    assert result.stdout.rstrip().endswith("s; to restore, stop the app and copy this file over the store's file")
    assert customers_in(tmp_path / "backup.db") == 50
    # One self-contained file: no WAL of its own to carry along, no half-written file left beside it.
    with sqlite3.connect(tmp_path / "backup.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.one_engine
def test_a_backup_opens_under_the_app_with_every_row_and_the_schema_at_head(sqlite_company, tmp_path):
    backup = tmp_path / "restored" / "ops_cockpit.db"
    backup.parent.mkdir()
    report = store_copy.backup_sqlite(sqlite_company, backup)
    assert report.file == backup
    url = f"sqlite:///{backup}"
    engine = make_engine(url)
    upgrade(engine)  # as the app does on start: nothing to do
    engine.dispose()
    assert head_of(url) == [HEAD]
    assert every_row(url) == every_row(sqlite_company)
    engine = make_engine(url)  # and the restored store takes writes
    with transaction(engine) as session:
        writes.create(session, writes.LOCAL_ADMIN, "csms", {"name": "李雷", "level": "senior"})
    engine.dispose()


@pytest.mark.one_engine
def test_backup_points_a_postgresql_store_to_pg_dump_without_showing_its_password(tmp_path, capsys):
    url = "postgresql+psycopg://ops:s3cret@127.0.0.1:1/ops"
    assert io.main(["backup", str(tmp_path / "b.db"), "--database-url", url]) == 2
    assert capsys.readouterr().err == (
        "error: backup copies the embedded SQLite store; postgresql+psycopg://ops:***@127.0.0.1:1/ops is "
        "PostgreSQL: use pg_dump -Fc (README, 'Backups and moving a store')\n")
    assert list(tmp_path.iterdir()) == []
