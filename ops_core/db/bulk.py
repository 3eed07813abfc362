"""Loading many rows fast: the driver's own bulk path, indexes built after, sequences reset.

SQLAlchemy Core ``insert()`` runs 5-20x below what the drivers can do (STACK-NOTES.md, "Bulk
loading"), so big loads (demo generation, imports) go through here: the raw DBAPI ``executemany``
on SQLite and psycopg 3 ``COPY ... FROM STDIN`` with a text buffer on PostgreSQL. Values are given
the way both drivers and the ORM read back: dates as 'YYYY-MM-DD', datetimes as
'YYYY-MM-DD HH:MM:SS', booleans as Python bools (0/1 on SQLite, t/f in the COPY text), money as int.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Index, select, text
from sqlalchemy.sql.functions import max as sql_max

from ops_core.db import versions
from ops_core.db.models import TABLES
from ops_core.errors import UsageError

# Rows per COPY buffer / executemany call: big enough to amortise the call, small enough to keep
# the text buffer at a few tens of MB.
_BATCH = 100_000
# COPY text format escapes (backslash first so the others are not escaped twice).
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def begin_sqlite_transaction(conn: Connection) -> None:
    """Make sure pysqlite has really opened a transaction before any DDL.

    The stdlib driver only issues BEGIN before INSERT/UPDATE/DELETE, so an index dropped as the
    first statement would be dropped for good even if the load later rolls back.
    """
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN")


@contextmanager
def large_cache(conn: Connection, mebibytes: int = 256) -> Iterator[None]:
    """Give SQLite a big page cache for the duration of a load, then the default back.

    The default 2 MB cache makes the primary-key B-tree and the roll-up's GROUP BY spill to
    disk; a load of millions of rows runs markedly faster with a few hundred MB. No-op on PostgreSQL.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{int(mebibytes) * 1024}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


def _check(table_name: str, columns: Sequence[str]) -> None:
    table = TABLES.get(table_name)
    if table is None:
        raise UsageError(f"unknown table '{table_name}'")
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise UsageError(f"{table_name} has no column(s) {', '.join(unknown)}")


def bulk_insert(conn: Connection, table_name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) through the driver's bulk path; returns the count.

    Runs in the caller's transaction. Table and column names are checked against the models, so
    they are safe to place in the statement text.
    """
    _check(table_name, columns)
    versions.written(conn, table_name)  # the driver's own cursor passes no engine listener
    if is_postgresql(conn):
        return _copy_postgresql(conn, table_name, columns, rows)
    return _executemany_sqlite(conn, table_name, columns, rows)


def _batches(rows: Iterable[Sequence[Any]]) -> Iterable[list[Sequence[Any]]]:
    if isinstance(rows, list):
        for start in range(0, len(rows), _BATCH):
            yield rows[start:start + _BATCH]
        return
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_value(value: Any) -> Any:
    # The stdlib's default date adapters are deprecated (3.12): store the ISO text SQLAlchemy reads.
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _executemany_sqlite(conn: Connection, table_name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    sql = f'INSERT INTO "{table_name}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    count = 0
    try:
        for batch in _batches(rows):
            if batch and any(isinstance(v, dt.date) for v in batch[0]):
                batch = [tuple(_sqlite_value(v) for v in row) for row in batch]
            cursor.executemany(sql, batch)
            count += len(batch)
    finally:
        cursor.close()
    return count


def copy_text(value: Any) -> str:
    """One value in PostgreSQL COPY text format (NULL as \\N, backslash escapes)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _copy_postgresql(conn: Connection, table_name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    sql = f'COPY "{table_name}" ({", ".join(columns)}) FROM STDIN'
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    count = 0
    try:
        with cursor.copy(sql) as copy:
            for batch in _batches(rows):
                copy.write("".join(["\t".join([copy_text(v) for v in row]) + "\n" for row in batch]))
                count += len(batch)
    finally:
        cursor.close()
    return count


# --- around a big load ---------------------------------------------------------------------------


def secondary_indexes(table_name: str) -> list[Index]:
    """The declared non-unique indexes of a table (the primary key stays: it orders the load)."""
    return sorted((ix for ix in TABLES[table_name].indexes if not ix.unique), key=lambda ix: ix.name or "")


def drop_secondary_indexes(conn: Connection, table_name: str) -> list[Index]:
    """Drop the table's secondary indexes (if present); returns them for ``create_indexes``."""
    dropped = []
    for index in secondary_indexes(table_name):
        index.drop(conn, checkfirst=True)
        dropped.append(index)
    return dropped


def create_indexes(conn: Connection, indexes: Iterable[Index]) -> None:
    for index in indexes:
        index.create(conn, checkfirst=True)


def reset_sequences(conn: Connection, table_names: Iterable[str]) -> None:
    """After explicit ids were inserted, move PostgreSQL's id sequences past them (no-op on SQLite).

    SQLite's INTEGER PRIMARY KEY takes max(id)+1 by itself.
    """
    if not is_postgresql(conn):
        return
    for name in table_names:
        table = TABLES[name]
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        top = conn.execute(select(sql_max(table.c.id))).scalar()
        if top is None:
            conn.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), 1, false)"), {"t": name})
        else:
            conn.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, true)"), {"t": name, "v": top})


def refresh_statistics(conn: Connection) -> None:
    """Give PostgreSQL's planner row counts after a bulk load. Without them (autovacuum may be off or
    not yet run) it guesses, and the indicator queries picked plans 10x slower on a fresh 50,000-customer
    store. ANALYZE runs inside the load's transaction; SQLite plans well from its indexes alone."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE")
