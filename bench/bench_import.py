"""How far importing a person's file is from the floor: a raw bulk insert of the same rows.

Files are generated here, deterministically, into a temporary folder, as our own export writes them
(Chinese headers, yuan, labels, customer codes):

- customers: ``--customers`` rows (default 50,000), codes C0000001...;
- usage: one row per customer and day for the first ``--usage-customers`` customers over ``--days``
  days (defaults 5,000 x 200 = 1,000,000 rows);
- contracts: ``--contracts`` rows (default 50,000) of those customers, amounts like ``86,800.50``,
  ISO dates, one in five renewing a contract higher up the file.

For each store (``--database-url``, repeatable; by default a new SQLite file and a scratch
PostgreSQL database at the default server, created and dropped here) two identical stores are
prepared: the customers are imported into one, which is then copied (file copy, ``CREATE DATABASE
... TEMPLATE``). Each measured step runs in a child process of its own so that its peak resident
memory (``ru_maxrss``, C allocations included) is its own:

- import: ``importer.run`` of the usage file, then of the contracts file, into the first store
  (the usage import includes rebuilding the monthly roll-up of the customers it touched);
- floor: the same file read with the csv module, each row turned into a typed tuple (codes to ids
  through one dict, yuan to cents, labels to codes, ISO dates), and inserted with the driver's
  ``executemany`` in one transaction into the same table of the second store: no checks at all;
- preview: ``importer.run(..., dry_run=True)`` of the customer file (with one row in ten changed)
  against the store holding its 50,000 customers; its floor reads the same file with the csv module
  and looks every code up in one query of the stored codes.

    .venv/bin/python bench/bench_import.py
    .venv/bin/python bench/bench_import.py --database-url sqlite:///tmp/x.db --profile usage
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text

from ops_core import cells, entity_files, importer, vocab, writes
from ops_core.config import parse_url
from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from ops_core.db.schema import upgrade
from ops_core.fileschema import SCHEMAS

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FIRST_DAY = dt.date(2025, 1, 1)
ADMIN = writes.LOCAL_ADMIN


def headers(entity: str) -> list[str]:
    return [f.header("zh") for f in SCHEMAS[entity].fields]


def zh(vocabulary: type, code: str) -> str:
    return cells.write_choice(code, vocabulary, "zh")


# --- files ------------------------------------------------------------------------------------------


def code_of(i: int) -> str:
    return f"C{i + 1:07d}"


def write_customers(path: Path, n: int, seed: int, changed_every: int = 0) -> None:
    """Customers as our export writes them; with ``changed_every``, every such row has one more employee."""
    rng = random.Random(seed)
    industries, regions = list(vocab.Industry), list(vocab.Region)
    levels = list(vocab.PartnershipLevel)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        w = csv.writer(out)
        w.writerow(headers("customers"))
        for i in range(n):
            employees = rng.randint(5, 20_000) + (1 if changed_every and i % changed_every == 0 else 0)
            w.writerow([code_of(i), f"客户{i + 1:07d}有限公司", zh(vocab.Industry, rng.choice(industries)),
                        zh(vocab.Region, rng.choice(regions)), employees, "", zh(vocab.PartnershipLevel, rng.choice(levels)),
                        "", "否", "是" if rng.random() < 0.1 else "否", "否", "否", "否", "",
                        (dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(1800))).isoformat()])


def write_usage(path: Path, customers: int, days: int, seed: int) -> int:
    """One row per customer and day (customer by customer, as the export orders them)."""
    rng = random.Random(seed)
    dates = [(FIRST_DAY + dt.timedelta(days=d)).isoformat() for d in range(days)]
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        w = csv.writer(out)
        w.writerow(headers("usage"))
        for c in range(customers):
            code = code_of(c)
            scale = rng.randint(1, 400)
            for day in dates:
                active = rng.randint(0, scale)
                w.writerow((code, day, active, active * 3, active * 11, active + 2, active * 7))
    return customers * days


def write_contracts(path: Path, n: int, customers: int, seed: int) -> int:
    """Contracts of the first ``customers`` customers; one in five renews a contract above it."""
    rng = random.Random(seed)
    kinds = {k: zh(vocab.ContractKind, k.value) for k in vocab.ContractKind}
    lines = [zh(vocab.ProductLine, p.value) for p in vocab.ProductLine]
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        w = csv.writer(out)
        w.writerow(headers("contracts"))
        for i in range(n):
            start = FIRST_DAY + dt.timedelta(days=rng.randrange(700))
            renews = f"HT{rng.randrange(i) + 1:07d}" if i > 10 and rng.random() < 0.2 else ""
            amount = rng.randrange(100_000, 50_000_000)   # cents
            w.writerow([f"HT{i + 1:07d}", code_of(rng.randrange(customers)),
                        kinds[vocab.ContractKind.renewal if renews else vocab.ContractKind.new], rng.choice(lines),
                        start.isoformat(), start.isoformat(), (start + dt.timedelta(days=364)).isoformat(),
                        f"{amount // 100:,}.{amount % 100:02d}", f"{amount // 1000 // 100:,}.00", "0.00", renews])
    return n


# --- stores -----------------------------------------------------------------------------------------


@contextmanager
def store_pair(url: str, folder: Path) -> Iterator[tuple[str, str, str]]:
    """(label, url of the import's store, url of the floor's store): two new empty stores; PostgreSQL
    scratch databases are dropped afterwards."""
    if url.startswith("sqlite"):
        stem = uuid.uuid4().hex[:8]
        yield "SQLite", f"sqlite:///{folder / f'{stem}-import.db'}", f"sqlite:///{folder / f'{stem}-floor.db'}"
        return
    admin = create_engine(parse_url(url), isolation_level="AUTOCOMMIT")
    names = [f"ops_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with admin.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one().split()[0].split(".")[0]
    try:
        yield (f"PostgreSQL {version}", *(parse_url(url).set(database=n).render_as_string(hide_password=False)
                                          for n in names))
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def copy_store(source: str, target: str) -> None:
    """The floor's store: the same schema and customers as the import's store."""
    if source.startswith("sqlite"):
        shutil.copyfile(source.removeprefix("sqlite:///"), target.removeprefix("sqlite:///"))
        return
    src, dst = parse_url(source).database, parse_url(target).database
    admin = create_engine(parse_url(source).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dst}" TEMPLATE "{src}"'))
    admin.dispose()


# --- measured steps (each in a child process) --------------------------------------------------------


def child(step: str, url: str, entity: str, path: str, profile: str | None) -> dict[str, object]:
    """Runs one step and says its time and this process's peak memory."""
    engine = make_engine(url)
    with engine.connect() as conn:   # connected and warmed before the clock starts, on both sides
        conn.execute(select(1))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    from ops_core.db import rollups
    refresh, spent = rollups.refresh_usage_monthly, [0.0]

    def timed_refresh(*args: object, **kwargs: object) -> int:   # the usage import's roll-up, timed apart
        began = time.perf_counter()
        try:
            return refresh(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - began
    rollups.refresh_usage_monthly = timed_refresh
    began, cpu = time.perf_counter(), _cpu()
    if step == "import" or step == "preview":
        outcome = importer.run(engine, ADMIN, entity, path, os.path.basename(path), dry_run=step == "preview",
                               lang="zh")
        result: dict[str, object] = {"rows": outcome.rows, "added": outcome.added, "updated": outcome.updated,
                                     "unchanged": outcome.unchanged, "rejected": outcome.rejected,
                                     "problems": [p.text("en") for p in outcome.problems[:3]]}
    elif step == "floor":
        result = {"rows": FLOORS[entity](engine, path)}
    else:
        result = {"rows": preview_floor(engine, path)}
    result["seconds"], result["cpu"], result["rollup"] = time.perf_counter() - began, _cpu() - cpu, spent[0]
    if profiler is not None:
        import pstats
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["before_mb"] = before / 1024
    engine.dispose()
    return result


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _ids(conn, table: str, column: str) -> dict[str, int]:
    t = TABLES[table]
    return {code: ident for ident, code in conn.execute(text(f"SELECT id, {column} FROM {t.name}"))}


def _insert(engine, table: str, columns: list[str], rows: Iterator[tuple]) -> int:
    """executemany in batches of 2,000 in one transaction, with the bare driver."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        sql = f'INSERT INTO {table} ({", ".join(columns)}) VALUES ({", ".join([mark] * len(columns))})'
        count, batch = 0, []
        for row in rows:
            batch.append(row)
            if len(batch) == 2000:
                cur.executemany(sql, batch)
                count, batch = count + len(batch), []
        if batch:
            cur.executemany(sql, batch)
            count += len(batch)
        raw.commit()
        return count
    finally:
        raw.close()


def _csv_rows(path: str) -> Iterator[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        yield from reader


def usage_floor(engine, path: str) -> int:
    with engine.connect() as conn:
        ids = _ids(conn, "customers", "code")
    date = dt.date.fromisoformat
    rows = ((ids[r[0]], date(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in _csv_rows(path))
    return _insert(engine, "usage_daily", ["customer_id", "day", "active_users", "sessions", "page_views",
                                           "unique_visitors", "feature_events"], rows)


def _cents(text_: str) -> int:
    whole, _, fraction = text_.replace(",", "").partition(".")
    return int(whole) * 100 + int(fraction.ljust(2, "0") or 0)


def contracts_floor(engine, path: str) -> int:
    """Ids given here (the row's number) so that a renewal names its contract in the same executemany."""
    with engine.connect() as conn:
        ids = _ids(conn, "customers", "code")
    kinds = {zh(vocab.ContractKind, k.value): k.value for k in vocab.ContractKind}
    lines = {zh(vocab.ProductLine, p.value): p.value for p in vocab.ProductLine}
    date = dt.date.fromisoformat
    numbers: dict[str, int] = {}

    def typed() -> Iterator[tuple]:
        for n, r in enumerate(_csv_rows(path), start=1):
            numbers[r[0]] = n
            yield (n, r[0], ids[r[1]], kinds[r[2]], lines[r[3]], date(r[4]), date(r[5]), date(r[6]), _cents(r[7]),
                   _cents(r[8]), _cents(r[9]), numbers[r[10]] if r[10] else None, 1)
    return _insert(engine, "contracts", ["id", "code", "customer_id", "kind", "product_line", "signed_on", "start_date",
                                         "end_date", "amount_cents", "delivery_cost_cents", "service_cost_cents",
                                         "renewal_of_id", "version"], typed())


FLOORS = {"usage": usage_floor, "contracts": contracts_floor}


def preview_floor(engine, path: str) -> int:
    """The file read with the csv module and every code looked up in one query of the stored codes."""
    with engine.connect() as conn:
        stored = {code for (code,) in conn.execute(text("SELECT code FROM customers"))}
    found = 0
    for r in _csv_rows(path):
        found += r[0] in stored
    return found


def in_child(step: str, url: str, entity: str, path: Path, profile: bool = False) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", step, url, entity, str(path)] + (["--child-profile"] if profile else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{step} {entity} failed:\n{done.stderr[-4000:]}")
    if profile:
        print(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the run ----------------------------------------------------------------------------------------


def line(label: str, what: str, project: dict, floor: dict) -> str:
    rows = int(project["rows"])
    ratio = project["seconds"] / floor["seconds"]
    return (f"{label:<15} {what:<28} {rows:>10,} {project['seconds']:>9.1f} s {rows / project['seconds']:>9,.0f}"
            f" {floor['seconds']:>8.1f} s {rows / floor['seconds']:>9,.0f} {ratio:>6.2f}x"
            f" {project['peak_mb']:>8.0f} MB {floor['peak_mb']:>8.0f} MB"
            f" {project['cpu']:>8.1f} s {floor['cpu']:>7.1f} s {project['cpu'] / floor['cpu']:>6.2f}x"
            f" {project['rollup']:>8.1f} s")


def bench_store(url: str, folder: Path, args: argparse.Namespace, files: dict[str, Path]) -> list[str]:
    out = []
    with store_pair(url, folder) as (label, import_url, floor_url):
        if not import_url.startswith("sqlite"):
            admin = create_engine(parse_url(url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{parse_url(import_url).database}"'))
            admin.dispose()
        engine = make_engine(import_url)
        upgrade(engine)
        with engine.connect() as conn:   # the files' headers are those our export writes
            for entity in ("customers", "usage", "contracts"):
                assert list(entity_files.export_file(conn, entity, "zh").columns) == headers(entity), entity
        engine.dispose()
        loaded = in_child("import", import_url, "customers", files["customers"])
        assert loaded["added"] == args.customers, loaded
        copy_store(import_url, floor_url)
        print(f"{label}: {args.customers:,} customers imported in {loaded['seconds']:.1f} s "
              f"(peak {loaded['peak_mb']:.0f} MB)", flush=True)

        preview = in_child("preview", import_url, "customers", files["refreshed"])
        expected_changes = len(range(0, args.customers, 10))
        assert (preview["updated"], preview["unchanged"]) == (expected_changes, args.customers - expected_changes), preview
        preview_base = in_child("preview-floor", import_url, "customers", files["refreshed"])
        out.append(line(label, "preview customers", preview, preview_base))
        print(out[-1], flush=True)

        for entity in ("usage", "contracts"):
            floor = in_child("floor", floor_url, entity, files[entity])
            project = in_child("import", import_url, entity, files[entity], profile=args.profile == entity)
            assert project["added"] == floor["rows"] and not project["problems"], project
            out.append(line(label, f"import {entity}", project, floor))
            print(out[-1], flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        step, url, entity, path = argv[1:5]
        print(json.dumps(child(step, url, entity, path, "--child-profile" in argv)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", action="append",
                        help="a store to measure (repeatable); default: a new SQLite file and " + DEFAULT_PG)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--usage-customers", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--contracts", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--profile", choices=("usage", "contracts"), help="print a cProfile of that import")
    args = parser.parse_args(argv)
    urls = args.database_url or ["sqlite", DEFAULT_PG]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        files = {name: folder / f"{name}.csv" for name in ("customers", "refreshed", "usage", "contracts")}
        began = time.perf_counter()
        write_customers(files["customers"], args.customers, args.seed)
        write_customers(files["refreshed"], args.customers, args.seed, changed_every=10)
        usage_rows = write_usage(files["usage"], args.usage_customers, args.days, args.seed)
        write_contracts(files["contracts"], args.contracts, args.usage_customers, args.seed)
        sizes = ", ".join(f"{name} {path.stat().st_size / 2**20:.1f} MB" for name, path in files.items())
        print(f"files written in {time.perf_counter() - began:.1f} s: {sizes}; {usage_rows:,} usage rows;"
              f" CPUs {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
        print(f"{'store':<15} {'what':<28} {'rows':>10} {'project':>11} {'rows/s':>9} {'floor':>10} {'rows/s':>9}"
              f" {'ratio':>7} {'peak':>11} {'floor peak':>11} {'cpu':>10} {'floor cpu':>9} {'ratio':>7} {'roll-up':>10}")
        results = []
        for url in urls:
            results += bench_store(url, folder, args, files)
        print("\n".join(["", *results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
