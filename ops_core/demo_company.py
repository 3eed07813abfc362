"""Which rows are the demo company's, how the store was started, and removing the demo company.

The demo builder (``ops_core.demo.generate``) writes explicit ids, 1 upwards, into every table it
fills and resets the sequences after it, so each table's demo rows are one id range. It records
those ranges in the store (the setting ``demo.company``, the *marker*) in its own transaction, so
whether a store holds the demo company is read, never guessed.

Removing the demo company deletes, in one transaction and set-based (``DELETE ... WHERE``):
- every row in a recorded id range (customers, contracts, ... demands, FAQ, releases, events, leads);
- every row that cannot live without a removed row (a non-null reference to it: usage and its
  monthly roll-up, account users and their weeks, score snapshots, histories, event reviews; also a
  team's own row that names a demo customer, for example feedback about one);
- the month-close snapshots taken since the demo company was built (they add up demo rows).
It keeps users, settings (the marker aside), presets, targets, the audit log and every own row; an
own row's optional link to a removed row (an own demand's target release) is cleared, and a demo
CSM who looks after an own customer is kept. One audit row says who removed what, with the rows
per table.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, Integer, Table, delete, false, func, insert, not_, select, update
from sqlalchemy.sql.elements import ColumnElement

from ops_core import settings, writes
from ops_core.db import rollups
from ops_core.db.models import TABLES
from ops_core.errors import UsageError
from ops_core.vocab import Role
from ops_core.writes import Actor

MARKER = "demo.company"
START = "store.start"
# Tables a removal never touches, whatever the ranges say: people, configuration, the history and the
# write counters (which the removal itself moves).
KEPT_TABLES = frozenset({"users", "settings", "audit_log", "table_versions"})
# Demo CSMs who look after an own customer stay: the team has made them its own.
KEPT_WHEN_USED = {"csms": ("customers", "csm_id")}
AUDIT_ACTION = "remove_demo"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def marker(conn: Any) -> dict[str, Any]:
    """What the demo builder recorded (``{}``: the store holds no demo company)."""
    return settings.get(conn, MARKER) or {}


def has_demo_company(conn: Any) -> bool:
    return bool(marker(conn).get("ids"))


def start_chosen(conn: Any) -> str:
    """How the store was started: 'demo', 'empty' or '' (not chosen yet)."""
    return settings.get(conn, START) or ""


class IdRanges:
    """The ids the demo builder writes, per table, gathered batch by batch while it loads them."""

    def __init__(self) -> None:
        self.ranges: dict[str, list[int]] = {}

    def add(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows or columns[0] != "id" or table in KEPT_TABLES:
            return
        ids = [row[0] for row in rows]
        low, high = min(ids), max(ids)
        seen = self.ranges.get(table)
        self.ranges[table] = [low, high] if seen is None else [min(seen[0], low), max(seen[1], high)]


def record(session: Any, actor: Actor, ranges: dict[str, list[int]], about: dict[str, Any]) -> None:
    """The demo builder's last step: the marker, and 'demo' as the store's start if none was chosen.
    Part of the build, whose one audit row (``record_bulk``) covers it."""
    writes.require_role(actor, Role.admin, "generate the demo company")
    value = {"ids": ranges, "built_at": _now().isoformat(timespec="seconds"), **about}
    _stamp(session, actor, MARKER, value)
    if not start_chosen(session):
        _stamp(session, actor, START, "demo")


def _stamp(session: Any, actor: Actor, key: str, value: Any) -> None:
    table = TABLES["settings"]
    version = session.execute(select(table.c.version).where(table.c.key == key)).scalar_one_or_none()
    stamp = {"value": value, "updated_at": _now(), "updated_by": actor.username}
    if version is None:
        session.execute(insert(table).values(key=key, version=1, **stamp))
    else:
        session.execute(update(table).where(table.c.key == key).values(version=version + 1, **stamp))


def choose_start(session: Any, actor: Actor, choice: str) -> None:
    """The first start's choice, kept in the store so that no later visit asks again."""
    if choice not in ("demo", "empty"):
        raise UsageError(f"a store starts with 'demo' or 'empty', not '{choice}'")
    _put(session, actor, START, choice)


def _put(session: Any, actor: Actor, key: str, value: Any) -> None:
    table = TABLES["settings"]
    version = session.execute(select(table.c.version).where(table.c.key == key)).scalar_one_or_none()
    settings.change(session, actor, key, value, expected_version=version or 0)


# --- which rows go ---------------------------------------------------------------------------------


def _sorted() -> list[Table]:
    return list(next(iter(TABLES.values())).metadata.sorted_tables)


def _id_column(table: Table) -> Any:
    keys = list(table.primary_key.columns)
    return keys[0] if len(keys) == 1 and isinstance(keys[0].type, Integer) else None


def _plan(found: dict[str, Any]) -> tuple[dict[str, ColumnElement[bool]], list[tuple[Table, Any, Table]]]:
    """The rows to delete per table (a WHERE clause) and the optional links of kept rows to clear
    (table, column, parent), from the marker ``found``."""
    ranges = found.get("ids") or {}
    doomed: dict[str, ColumnElement[bool]] = {}
    for table in _sorted():  # parents first, so a parent's clause exists before its children's
        name = table.name
        if name in KEPT_TABLES:
            continue
        clause: ColumnElement[bool] = false()
        key = _id_column(table)
        if name in ranges and key is not None:
            low, high = ranges[name]
            clause = key.between(low, high)
        for fk in table.foreign_keys:
            parent = fk.column.table
            if parent is table or parent.name not in doomed or fk.parent.nullable:
                continue
            clause = clause | fk.parent.in_(select(fk.column).where(doomed[parent.name]))
        if name == "metric_snapshots" and found.get("built_at"):
            clause = clause | (table.c.taken_at >= dt.datetime.fromisoformat(found["built_at"]))
        doomed[name] = clause
    for name, (user, column) in KEPT_WHEN_USED.items():
        if name in doomed and user in doomed:
            users = TABLES[user]
            doomed[name] = doomed[name] & not_(TABLES[name].c.id.in_(
                select(users.c[column]).where(users.c[column].is_not(None), not_(doomed[user]))))
    links = [(table, fk.parent, fk.column.table) for table in _sorted() if table.name in doomed
             for fk in table.foreign_keys if fk.parent.nullable and fk.column.table.name in doomed]
    return doomed, links


def _link_clause(doomed: dict[str, ColumnElement[bool]], table: Table, column: Any, parent: Table) -> ColumnElement[bool]:
    key = _id_column(parent)
    return column.in_(select(key).where(doomed[parent.name])) & not_(doomed[table.name])


def footprint(conn: Connection) -> dict[str, int]:
    """Rows per table a removal would delete now (tables with none left out), for the confirmation."""
    found = marker(conn)
    if not found.get("ids"):
        return {}
    doomed, _ = _plan(found)
    counts = {name: conn.execute(select(func.count()).select_from(TABLES[name]).where(clause)).scalar_one()
              for name, clause in doomed.items()}
    return {name: n for name, n in counts.items() if n}


def remove_demo_company(engine: Engine, actor: Actor) -> dict[str, Any]:
    """Delete every row of the demo company in one transaction (admins only) and clear the marker.

    Returns what the audit row records: ``deleted`` (rows per table), ``cleared`` (own rows whose
    optional link to a removed row was emptied, per ``table.column``) and ``kept`` (demo CSMs kept
    because own customers are theirs). Raises UsageError when the store holds no demo company.
    """
    from ops_core.db.engine import transaction

    writes.require_role(actor, Role.admin, "remove the demo company")
    with transaction(engine) as session:
        found = marker(session)
        if not found.get("ids"):
            raise UsageError("this store holds no demo company (nothing was removed)")
        doomed, links = _plan(found)
        cleared: dict[str, int] = {}
        for table, column, parent in links:
            changed = session.execute(update(table).where(_link_clause(doomed, table, column, parent))
                                      .values({column.name: None})).rowcount
            if changed:
                cleared[f"{table.name}.{column.name}"] = changed
        kept: dict[str, int] = {}
        for name in KEPT_WHEN_USED:
            lo, hi = found["ids"].get(name, [0, -1])
            table = TABLES[name]
            kept[name] = session.execute(select(func.count()).select_from(table).where(
                table.c.id.between(lo, hi), not_(doomed[name]))).scalar_one()
        deleted: dict[str, int] = {}
        for table in reversed(_sorted()):  # children before parents
            if table.name in doomed:
                deleted[table.name] = session.execute(delete(table).where(doomed[table.name])).rowcount
        session.execute(delete(TABLES["settings"]).where(TABLES["settings"].c.key == MARKER))
        # The company totals held the demo's customers too: rebuilt from what stays (derived rows, not counted).
        rollups.rebuild(session.connection())
        summary = {"deleted": {k: v for k, v in deleted.items() if v}, "cleared": cleared,
                   "kept": {k: v for k, v in kept.items() if v}, "demo": {k: v for k, v in found.items() if k != "ids"}}
        writes.audit(session, actor, AUDIT_ACTION, "demo_company", None, {"ids": found["ids"]}, summary)
    return summary
