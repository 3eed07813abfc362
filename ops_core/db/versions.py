"""How often each table has been written, kept in the store, and which tables a read used.

A cached read stays good until a table it read is written. To know both sides without asking every
writer and every reader to declare them, two listeners sit on every engine:

- each INSERT, UPDATE or DELETE notes its table on the connection, and at commit the connection
  bumps those tables' counters in ``table_versions`` (sorted, so two committing writers never wait
  on each other in a circle); the counters move in the same transaction as the rows, so every app
  instance over one database sees a change exactly when its rows are there; a rollback drops them;
- while a read is being recorded (``recording``), every statement's tables are noted, so the cache
  learns what a function read by running it.

Migrations write through a connection marked ``MIGRATING``: their copies are not changes of data.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session

from ops_core.db import rollups
from ops_core.db.models import TABLES

VERSIONS = TABLES["table_versions"]
MIGRATING = "ops_migrating"       # Connection.info flag: the writes are a schema migration's
_WRITTEN = "ops_written"          # Connection.info: the tables this transaction wrote

_WRITE = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_NAMES = re.compile(r'\b(' + "|".join(sorted((re.escape(n) for n in TABLES if n != VERSIONS.name), key=len, reverse=True))
                    + r')\b')
_recorders: ContextVar[tuple[set[str], ...]] = ContextVar("ops_recorders", default=())
_installed = False


def install() -> None:
    """Put the two listeners on every engine (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(Engine, "after_cursor_execute", _after_execute)
    event.listen(Engine, "commit", _bump)
    event.listen(Engine, "rollback", _forget)
    _installed = True


def written(conn: Connection, table: str) -> None:
    """Note that this transaction writes ``table`` (the listener does it for statements; a bulk load
    through the driver's own cursor says so itself)."""
    if table in TABLES and table != VERSIONS.name and not conn.info.get(MIGRATING):
        conn.info.setdefault(_WRITTEN, set()).add(table)


def _after_execute(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                   executemany: bool) -> None:
    found = _WRITE.match(statement)
    if found:
        written(conn, found.group(1))
    recorders = _recorders.get()
    if recorders:
        names = set(_NAMES.findall(statement))
        for recorder in recorders:
            recorder.update(names)


def _bump(conn: Connection) -> None:
    if not conn.info.get(_WRITTEN) or not _has_counters(conn):  # a store not yet at the revision that keeps counters
        conn.info.pop(_WRITTEN, None)
        return
    if {"contracts", "customers"} & conn.info[_WRITTEN] and _has_table(conn, "rollup_pending"):
        rollups.settle(conn)  # the roll-ups move with the contracts, and their counters with them
    written = conn.info.pop(_WRITTEN)
    upsert = ("INSERT INTO table_versions (name, version) VALUES ({name}, 1) "
              "ON CONFLICT (name) DO UPDATE SET version = table_versions.version + 1")
    name = "?" if conn.dialect.paramstyle == "qmark" else "%(name)s"
    for table in sorted(written):
        conn.exec_driver_sql(upsert.format(name=name), (table,) if name == "?" else {"name": table})


def _has_counters(conn: Connection) -> bool:
    return _has_table(conn, VERSIONS.name)


def _has_table(conn: Connection, name: str) -> bool:
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    else:
        found = conn.exec_driver_sql("SELECT to_regclass(%(name)s)", {"name": name})
    return found.scalar() is not None


def _forget(conn: Connection) -> None:
    conn.info.pop(_WRITTEN, None)


@contextmanager
def recording() -> Iterator[set[str]]:
    """The tables every statement run inside the block read or wrote (nested blocks add to the outer)."""
    tables: set[str] = set()
    token = _recorders.set((*_recorders.get(), tables))
    try:
        yield tables
    finally:
        _recorders.reset(token)


def note(tables: Iterable[str]) -> None:
    """Tell the enclosing recordings about tables read without a statement (a value from a cache)."""
    for recorder in _recorders.get():
        recorder.update(tables)


def snapshot(conn: Connection | Session) -> dict[str, int]:
    """Every table's counter (a table never written has none: read it as 0)."""
    return {name: int(version) for name, version in conn.execute(select(VERSIONS.c.name, VERSIONS.c.version))}


def fresh(kept: Mapping[str, int], now: Mapping[str, int]) -> bool:
    """Whether a value computed when the counters of the tables it read were ``kept`` still holds at
    ``now``: none of those tables has been written since (a value newer than ``now`` holds too)."""
    return all(version >= now.get(table, 0) for table, version in kept.items())
