"""Moving and keeping a whole store: a copy between SQLite and PostgreSQL, a backup of a running SQLite file.

``copy_store`` copies every table of the models (the audit log included) into an empty store of either
engine, in foreign-key order, streamed in chunks through the driver's bulk path, in one transaction on
the target. Before that transaction commits it compares, table by table, the row count and the sum of
every numeric column on both sides; any difference rolls the whole copy back.

``backup_sqlite`` uses SQLite's online backup API, which reads through the same pager as the app and so
includes what committed transactions left in the WAL file (a plain file copy misses those rows).

Command line (``python -m ops_core.io copy|backup``, see ``ops_core.io``)::

    python -m ops_core.io copy --to URL [--database-url SOURCE] [--replace]
    python -m ops_core.io backup FILE [--database-url SOURCE]
"""
from __future__ import annotations

import datetime as dt
import math
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL

from ops_core.config import database_url, parse_url, redact_url
from ops_core.db import bulk
from ops_core.db.models import TABLES, Base, entered_columns
from ops_core.errors import OpsError, UsageError

# Rows fetched from the source per round trip; the target receives them through bulk_insert, which
# groups them in its own batches, so memory stays bounded by a batch whatever the table's size.
CHUNK = 10_000
_SUMMED_TYPES = (Integer, BigInteger, Float, Numeric)


class CopyMismatch(OpsError):
    """The target does not hold what the source holds: the copy was rolled back."""


# --- what is copied, in which order ------------------------------------------------------------


_OWN = ("table_versions", "rollup_pending")  # each store's own bookkeeping, never copied


def copy_order() -> list[Table]:
    """Every table of the models, each after the tables it refers to (self-references aside); not the
    write counters, which are each store's own (the copy's writes move the target's), nor the list of
    customers whose roll-ups wait for the commit (the roll-ups are copied as they are)."""
    return [t for t in Base.metadata.sorted_tables if t.name not in _OWN]


def self_references(table: Table) -> list[str]:
    """Columns pointing into their own table (contracts.renewal_of_id, ...): filled in after the load,
    so a row may point to a row stored after it."""
    return sorted(fk.parent.name for fk in table.foreign_keys if fk.column.table is table)


def _source_columns(table: Table) -> list[Any]:
    # JSON travels as its text: no parse and re-serialise, and a stored SQL NULL stays NULL (the JSON
    # type would write Python None back as the JSON text 'null').
    return [cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c for c in entered_columns(table)]


def source_rows(conn: Connection, table: Table) -> Iterator[tuple[Any, ...]]:
    """The table's rows in primary-key order, streamed (a server-side cursor on PostgreSQL).

    SQLite rows come as stored (dates and times as ISO text, booleans 0/1, JSON as text), straight from
    the driver: both targets take those forms as they are, and parsing every date into an object only
    to print it again took most of a copy's time."""
    if conn.dialect.name == "sqlite":
        yield from _sqlite_rows(conn, table)
        return
    query = select(*_source_columns(table)).order_by(*table.primary_key.columns)
    result = conn.execute(query, execution_options={"yield_per": CHUNK})
    for partition in result.partitions():
        yield from (tuple(row) for row in partition)


def _sqlite_rows(conn: Connection, table: Table) -> Iterator[tuple[Any, ...]]:
    columns = ", ".join(f'"{c.name}"' for c in entered_columns(table))  # names from the models, not from input
    order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f'SELECT {columns} FROM "{table.name}" ORDER BY {order}')
        while chunk := cursor.fetchmany(CHUNK):
            yield from chunk
    finally:
        cursor.close()


def _datetime_text(value: dt.datetime) -> str:
    # Seconds as the bulk loaders write them; microseconds (audit times) kept when there are any.
    return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")


def _converter(table: Table, source: str, target: str) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """Turn read values into what the target's bulk path stores, or None when nothing needs it.

    Rows from SQLite already hold text. From PostgreSQL, bulk_insert would cut microseconds and, on
    SQLite, only converts dates when the first row has one; handing it text for every date and time
    keeps both exact."""
    if source == "sqlite":
        return None
    columns = entered_columns(table)
    stamps = [i for i, c in enumerate(columns) if isinstance(c.type, DateTime)]
    days = [i for i, c in enumerate(columns) if isinstance(c.type, Date) and not isinstance(c.type, DateTime)]
    if target != "sqlite":
        days = []  # COPY writes a date as str(date), its ISO form
    if not stamps and not days:
        return None

    def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for i in stamps:
            if values[i] is not None:
                values[i] = _datetime_text(values[i])
        for i in days:
            if values[i] is not None:
                values[i] = values[i].isoformat()
        return tuple(values)

    return convert


def _copy_table(source: Connection, target: Connection, table: Table) -> int:
    """Load one table; self-references are set in a second streamed pass once every row exists."""
    columns = [c.name for c in entered_columns(table)]
    later = self_references(table)
    blank = [columns.index(name) for name in later]
    convert = _converter(table, source.dialect.name, target.dialect.name)

    def rows() -> Iterator[tuple[Any, ...]]:
        for row in source_rows(source, table):
            if convert is not None:
                row = convert(row)
            if blank:
                row = tuple(None if i in blank else v for i, v in enumerate(row))
            yield row

    count = bulk.bulk_insert(target, table.name, columns, rows())
    for name in later:
        (key,) = table.primary_key.columns
        column = table.c[name]
        statement = update(table).where(key == bindparam("b_key")).values({name: bindparam("b_value")})
        links = source.execute(select(key, column).where(column.is_not(None)).order_by(key),
                               execution_options={"yield_per": CHUNK})
        for partition in links.partitions():
            target.execute(statement, [{"b_key": k, "b_value": v} for k, v in partition])
    return count


# --- the check -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableCheck:
    """One table's row count and numeric column sums on both sides."""

    table: str
    source_rows: int
    target_rows: int
    source_sums: dict[str, int | float | None]
    target_sums: dict[str, int | float | None]

    def differences(self) -> list[str]:
        """'customers.employees: source 123, target 122' for every figure that differs."""
        out = []
        if self.source_rows != self.target_rows:
            out.append(f"{self.table} rows: source {self.source_rows}, target {self.target_rows}")
        for name, mine in self.source_sums.items():
            theirs = self.target_sums.get(name)
            if not _same(mine, theirs):
                out.append(f"{self.table}.{name} sum: source {mine}, target {theirs}")
        return out


def _same(a: int | float | None, b: int | float | None) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) or isinstance(b, float):  # summed in a different order on each engine
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def summed_columns(table: Table) -> list[str]:
    return [c.name for c in table.c if isinstance(c.type, _SUMMED_TYPES)]


def table_figures(conn: Connection, table: Table) -> tuple[int, dict[str, int | float | None]]:
    """Row count and the sum of every numeric column, in one query."""
    names = summed_columns(table)
    row = conn.execute(select(func.count(), *(func.sum(table.c[n]) for n in names)).select_from(table)).one()

    def plain(value: Any) -> int | float | None:
        if isinstance(value, Decimal):  # PostgreSQL sums bigint as numeric
            return int(value) if value == value.to_integral_value() else float(value)
        return value

    return int(row[0]), {name: plain(value) for name, value in zip(names, row[1:], strict=True)}


def check_table(source: Connection, target: Connection, table: Table) -> TableCheck:
    count_source, sums_source = table_figures(source, table)
    count_target, sums_target = table_figures(target, table)
    return TableCheck(table.name, count_source, count_target, sums_source, sums_target)


def check_lines(checks: Sequence[TableCheck]) -> list[str]:
    """The check as a table a person reads: one line per table."""
    width = max([len("table"), *(len(c.table) for c in checks)])
    lines = [f"{'table':<{width}}  {'rows (source)':>13}  {'rows (target)':>13}  {'sums compared':>13}  result"]
    for c in checks:
        result = "ok" if not c.differences() else "DIFFERENT"
        lines.append(f"{c.table:<{width}}  {c.source_rows:>13,}  {c.target_rows:>13,}  {len(c.source_sums):>13}  {result}")
    return lines


# --- the copy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyReport:
    source: str
    target: str
    head: str
    rows: int
    seconds: float
    checks: tuple[TableCheck, ...]

    def summary(self) -> str:
        return (f"copied {self.rows:,} rows in {len(self.checks)} tables from {self.source} to {self.target} "
                f"in {self.seconds:.1f} s (schema {self.head}); row counts and sums match")


def _head(conn: Connection) -> str:
    return ",".join(sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()))


# Tables a migration fills: a new store holds the company's lists as seeded (built-in values plus
# "other"). A target holding only that seed counts as empty; the copy replaces it with the source's lists.
SEEDED = ("company_lists",)


def _only_seed(conn: Connection, table: Table) -> bool:
    from ops_core.i18n import SEEDED_LISTS

    count, newest = conn.execute(select(func.count(), func.coalesce(func.max(table.c.version), 0))
                                 .select_from(table)).one()
    return count == sum(len(values) for values in SEEDED_LISTS.values()) and newest <= 1


def first_table_with_rows(conn: Connection) -> tuple[str, int] | None:
    for table in copy_order():
        if table.name in SEEDED and _only_seed(conn, table):
            continue
        if conn.execute(select(1).select_from(table).limit(1)).first() is not None:
            return table.name, conn.execute(select(func.count()).select_from(table)).scalar_one()
    return None


def _same_store(a: URL, b: URL) -> bool:
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return bool(a.database) and bool(b.database) and Path(a.database).resolve() == Path(b.database).resolve()
    return (a.host, a.port, a.database) == (b.host, b.port, b.database)


def copy_store(source_url: str | None, target_url: str, *, replace: bool = False,
               say: Callable[[str], None] = print) -> CopyReport:
    """Copy the whole store at ``source_url`` into the store at ``target_url``, all or nothing.

    Both stores are migrated to the newest schema first (the target gets every table and the same
    alembic head). The target must have no rows unless ``replace``, which empties it inside the copy's
    transaction. Raises UsageError for a non-empty target, CopyMismatch when the check finds a
    difference; in both cases the target is left as it was. ``say`` receives the check table's lines.
    """
    from ops_core.db.engine import make_engine
    from ops_core.db.schema import upgrade

    source_parsed, target_parsed = parse_url(database_url(source_url)), parse_url(target_url)
    if _same_store(source_parsed, target_parsed):
        raise UsageError(f"the source and the target are the same store ({redact_url(target_parsed)})")
    if source_parsed.get_backend_name() == "sqlite" and not sqlite_path(source_parsed).is_file():
        # Opening it would create an empty store and copy nothing.
        raise UsageError(f"there is no store at {sqlite_path(source_parsed)} ({redact_url(source_parsed)})")
    started = time.perf_counter()
    source_engine, target_engine = make_engine(source_url), make_engine(target_url)
    shown_source, shown_target = redact_url(source_engine.url), redact_url(target_engine.url)
    try:
        upgrade(source_engine)
        upgrade(target_engine)
        with source_engine.connect() as source, target_engine.connect() as target:
            if source.dialect.name == "postgresql":  # one snapshot for the whole copy and its check
                source = source.execution_options(isolation_level="REPEATABLE READ")
            with source.begin(), target.begin():
                bulk.begin_sqlite_transaction(source)  # SQLite: the read snapshot starts at BEGIN
                bulk.begin_sqlite_transaction(target)
                head = _head(source)
                if _head(target) != head:
                    raise UsageError(f"the source's schema is {head} but the target's is {_head(target)}")
                occupied = first_table_with_rows(target)
                if occupied and not replace:
                    raise UsageError(
                        f"the target {shown_target} is not empty: table {occupied[0]} has {occupied[1]:,} "
                        f"{'row' if occupied[1] == 1 else 'rows'}; "
                        "copy into a new, empty store or pass --replace to empty it first; nothing was written")
                for table in reversed(copy_order()):
                    if occupied or table.name in SEEDED:
                        target.execute(delete(table))
                rows = 0
                with bulk.large_cache(target):
                    for table in copy_order():
                        indexes = bulk.drop_secondary_indexes(target, table.name)
                        rows += _copy_table(source, target, table)
                        bulk.create_indexes(target, indexes)
                    # The contracts' trigger noted every copied customer; their roll-ups came with the copy.
                    target.execute(delete(TABLES["rollup_pending"]))
                    checks = tuple(check_table(source, target, table) for table in copy_order())
                for line in check_lines(checks):
                    say(line)
                differences = [d for c in checks for d in c.differences()]
                if differences:
                    shown = "; ".join(differences[:5]) + (f"; and {len(differences) - 5} more" if len(differences) > 5 else "")
                    raise CopyMismatch(f"the copy differs from the source ({shown}); "
                                       f"it was rolled back: nothing was written to {shown_target}")
                bulk.reset_sequences(target, [t.name for t in copy_order()])
                bulk.refresh_statistics(target)
    finally:
        source_engine.dispose()
        target_engine.dispose()
    return CopyReport(shown_source, shown_target, head, rows, time.perf_counter() - started, checks)


# --- the backup ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupReport:
    source: str
    file: Path
    size: int
    seconds: float

    def summary(self) -> str:
        return (f"backed up {self.source} to {self.file} ({self.size / 1_048_576:,.1f} MB) in {self.seconds:.1f} s; "
                "to restore, stop the app and copy this file over the store's file")


def sqlite_path(url: URL) -> Path:
    database = (url.database or "").removeprefix("file:").split("?", 1)[0]
    if not database or database == ":memory:":
        raise UsageError(f"the store {redact_url(url)} lives in memory: there is no file to back up")
    return Path(database)


def backup_sqlite(source_url: str | None, file: str | os.PathLike[str]) -> BackupReport:
    """A consistent copy of the SQLite store (the app may keep running), written beside ``file`` and renamed.

    The backup API copies the database as one reader sees it, WAL content included, in a single step
    (a read transaction: the app's writers go on in WAL mode). The copy is left in rollback-journal
    mode so that it is one self-contained file; the app turns WAL on again when it opens it.
    """
    parsed = parse_url(database_url(source_url))
    shown = redact_url(parsed)
    if parsed.get_backend_name() != "sqlite":
        raise UsageError(f"backup copies the embedded SQLite store; {shown} is PostgreSQL: use "
                         "pg_dump -Fc (README, 'Backups and moving a store')")
    source = sqlite_path(parsed)
    if not source.is_file():
        raise UsageError(f"there is no store at {source} ({shown})")
    target = Path(file)
    if target.is_dir():
        raise UsageError(f"cannot write the backup to '{target}': it is a folder; name a file")
    if not target.parent.is_dir():
        raise UsageError(f"cannot write the backup to '{target}': the folder {target.parent} does not exist")
    if target.exists() and target.resolve() == source.resolve():
        raise UsageError(f"the backup file {target} is the store itself; name another file")
    started = time.perf_counter()
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    os.chmod(temp, source.stat().st_mode & 0o777)  # readable by whoever may read the store, no more
    try:
        reader = sqlite3.connect(source, timeout=30)
        try:
            reader.execute("PRAGMA busy_timeout=30000")
            copy = sqlite3.connect(temp)
            try:
                reader.backup(copy)  # all pages in one step: one consistent snapshot
                copy.execute("PRAGMA journal_mode=DELETE")
                problem = copy.execute("PRAGMA quick_check").fetchone()[0]
                if problem != "ok":
                    raise UsageError(f"the backup of {shown} failed its check: {problem}")
            finally:
                copy.close()
        finally:
            reader.close()
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, target)
    except sqlite3.Error as exc:
        raise UsageError(f"cannot back up {shown}: {exc}") from None
    finally:
        Path(temp).unlink(missing_ok=True)
    return BackupReport(shown, target, target.stat().st_size, time.perf_counter() - started)


# --- command line (the subcommands of python -m ops_core.io) -------------------------------------


def main(args: Any) -> int:
    """Run ``copy`` or ``backup`` from ``ops_core.io``'s parsed arguments; 0, or 2 with one clear line."""
    from ops_core import cli

    def body() -> int:
        if args.command == "backup":
            print(backup_sqlite(args.database_url, args.file).summary())
        else:
            print(copy_store(args.database_url, args.to, replace=args.replace).summary())
        return 0

    return cli.run(body, getattr(args, "file", None))
