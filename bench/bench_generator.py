"""How far the demo generator is from the floor: a raw bulk insert of the same rows.

For each size and backend: time ``demo.generate`` into a new store (schema applied first, not timed),
then time the floor: the same rows, already generated in memory batch by batch, inserted with the
bare driver (stdlib sqlite3 ``executemany`` / psycopg ``COPY`` from a text buffer) into another new
store with the same schema, every secondary index dropped before and built after. PostgreSQL runs
use scratch databases created and dropped here; no other database is touched.

    .venv/bin/python bench/bench_generator.py --sizes 2000,10000 --backends sqlite,postgresql
"""
from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.schema import CreateIndex, DropIndex

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops_core import demo
from ops_core.config import parse_url
from ops_core.db import bulk
from ops_core.db.engine import make_engine
from ops_core.db.schema import upgrade

END = dt.date(2025, 6, 30)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_store(backend: str, pg_url: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty store; a PostgreSQL scratch database is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    admin = create_engine(parse_url(pg_url), isolation_level="AUTOCOMMIT")
    name = f"ops_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield parse_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrated(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def time_generator(url: str, customers: int, seed: int) -> tuple[float, int]:
    engine = _migrated(url)
    began = time.perf_counter()
    counts = demo.generate(engine, customers=customers, years=3, seed=seed, end=END)
    elapsed = time.perf_counter() - began
    engine.dispose()
    return elapsed, sum(counts.values())


def _index_sql(engine: Engine, tables: list[str]) -> tuple[list[str], list[str]]:
    drops, creates = [], []
    for name in tables:
        for index in bulk.secondary_indexes(name):
            drops.append(str(DropIndex(index).compile(dialect=engine.dialect)))
            creates.append(str(CreateIndex(index).compile(dialect=engine.dialect)))
    return drops, creates


def time_floor(url: str, customers: int, seed: int) -> tuple[float, int]:
    """Raw driver inserts of the generator's rows; only the inserts, index builds and commit are timed."""
    engine = _migrated(url)
    drops, creates = _index_sql(engine, list(demo.DEMO_TABLES))
    timed = 0.0
    rows = 0
    if engine.dialect.name == "sqlite":
        raw = sqlite3.connect(engine.url.database)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("PRAGMA foreign_keys=ON")
        cur = raw.cursor()

        def insert(batch: demo.Batch) -> None:
            cur.executemany(f'INSERT INTO "{batch.table}" ({", ".join(batch.columns)}) VALUES ({", ".join("?" * len(batch.columns))})', batch.rows)

        run: Callable[[str], object] = cur.execute
        commit = raw.commit
        cur.execute("BEGIN")
    else:
        raw = psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
        cur = raw.cursor()

        def insert(batch: demo.Batch) -> None:
            with cur.copy(f'COPY "{batch.table}" ({", ".join(batch.columns)}) FROM STDIN') as copy:
                copy.write("".join("\t".join([bulk.copy_text(v) for v in row]) + "\n" for row in batch.rows))

        run, commit = cur.execute, raw.commit
    for sql in drops:
        run(sql)
    for batch in demo.iter_batches(customers, years=3, seed=seed, end=END):
        began = time.perf_counter()
        insert(batch)
        timed += time.perf_counter() - began
        rows += len(batch.rows)
    began = time.perf_counter()
    for sql in creates:
        run(sql)
    commit()
    timed += time.perf_counter() - began
    raw.close()
    engine.dispose()
    return timed, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,10000,50000", help="customer counts, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="server to create scratch databases on")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print(f"{'customers':>9} {'backend':>10} {'rows':>11} {'generator s':>11} {'gen rows/s':>11} {'floor s':>8} "
          f"{'floor rows/s':>12} {'ratio':>6}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ops-bench-") as tmp:
        for size in sizes:
            for backend in backends:
                with scratch_store(backend, args.pg_url, Path(tmp)) as url:
                    gen_s, gen_rows = time_generator(url, size, args.seed)
                with scratch_store(backend, args.pg_url, Path(tmp)) as url:
                    floor_s, floor_rows = time_floor(url, size, args.seed)
                print(f"{size:>9,} {backend:>10} {gen_rows:>11,} {gen_s:>11.1f} {gen_rows / gen_s:>11,.0f} {floor_s:>8.1f} "
                      f"{floor_rows / floor_s:>12,.0f} {gen_s / floor_s:>6.2f}", flush=True)
                for path in Path(tmp).glob("*.db*"):
                    path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
