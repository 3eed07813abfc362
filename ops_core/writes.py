"""The one write path: every change of data goes through here.

Each function takes the acting user, checks the role, checks the record's version (optimistic
concurrency: an update from a stale version is refused with the newer values) and writes the audit
log in the caller's transaction, so the change and its audit row commit or roll back together.
Pages never write with their own SQL; later features add entities here, not new paths.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, Table, insert, select
from sqlalchemy import delete as sql_delete
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.sqltypes import JSON, BigInteger, String, Text

from ops_core.db.models import TABLES, entered_columns
from ops_core.errors import Conflict, PermissionDenied, StaleVersion, UsageError, ValidationError, first_line
from ops_core.i18n import Phrase, company_list, company_lists_in_force, lists_in_force
from ops_core.vocab import Role


@dataclass(frozen=True)
class Actor:
    """Who is acting. The app's local single-user mode acts as ``LOCAL_ADMIN``."""

    username: str
    role: Role


LOCAL_ADMIN = Actor("local-admin", Role.admin)
SYSTEM = Actor("system", Role.admin)

_RANK = {Role.viewer: 0, Role.editor: 1, Role.admin: 2}
# Entities only an admin may change; everything else needs at least an editor.
ADMIN_ONLY = frozenset({"users", "settings", "audit_log", "company_lists"})
READ_ONLY = frozenset({"audit_log"})


def require_role(actor: Actor, needed: Role, what: str) -> None:
    if _RANK[Role(actor.role)] < _RANK[needed]:
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not {what}: it needs the {needed} role",
                               needed=str(needed))


def table_for(entity: str) -> Table:
    try:
        return TABLES[entity]
    except KeyError:
        raise UsageError(f"unknown entity '{entity}'; known: {', '.join(sorted(TABLES))}") from None


def check_write(actor: Actor, entity: str, action: str) -> Table:
    table = table_for(entity)
    if entity in READ_ONLY:
        raise PermissionDenied(f"{entity} cannot be changed")
    require_role(actor, Role.admin if entity in ADMIN_ONLY else Role.editor, f"{action} {entity}")
    return table


# --- validation: one place turns raw values (form fields, CSV cells) into typed column values ---


def coerce(column: Column, raw: Any) -> Any:
    """The typed value of ``raw`` for ``column``; raises ValueError with a reason a person understands."""
    if raw is None or (isinstance(raw, str) and raw.strip() == "") or (isinstance(raw, float) and raw != raw):
        if not column.nullable and column.default is None and not _is_generated_key(column):
            raise ValueError(Phrase("problem.required"))
        return None
    kind = column.type
    choices = column.info.get("choices")
    if isinstance(kind, Boolean):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "y", "t", "是"):
            return True
        if text in ("0", "false", "no", "n", "f", "否"):
            return False
        raise ValueError(Phrase("problem.not_yes_no", value=_short(raw)))
    if isinstance(kind, (Integer, BigInteger)):
        value = _integer(raw)
        bound = 2**63 if isinstance(kind, BigInteger) else 2**31
        if not -bound <= value < bound:
            raise ValueError(Phrase("problem.out_of_range", value=value))
        return value
    if isinstance(kind, Float):
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(Phrase("problem.not_number", value=_short(raw))) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(Phrase("problem.not_finite", value=_short(raw)))
        return value
    if isinstance(kind, DateTime):
        return _datetime(raw)
    if isinstance(kind, Date):
        return _date(raw)
    if isinstance(kind, JSON):
        return raw
    if isinstance(kind, (String, Text)):
        text = str(raw)
        if "\x00" in text:
            raise ValueError(Phrase("problem.nul"))
        if choices is not None:
            text = text.strip()
            if "company_list" in column.info:  # industries, regions, product lines: the company's list in force
                choices = tuple(company_list(column.info["company_list"]))
            if text not in choices:
                raise ValueError(Phrase("problem.not_choice", value=_short(text), choices=", ".join(choices)))
        length = getattr(kind, "length", None)
        if length and len(text) > length:
            raise ValueError(Phrase("problem.too_long", length=len(text), limit=length))
        return text
    return raw


def _short(raw: Any, limit: int = 40) -> str:
    text = str(raw)
    return text if len(text) <= limit else text[:limit] + "…"


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(Phrase("problem.not_whole", value=raw))
    if isinstance(raw, int):
        return raw
    try:
        number = decimal.Decimal(str(raw).strip().replace(",", ""))
    except decimal.InvalidOperation:
        raise ValueError(Phrase("problem.not_whole", value=_short(raw))) from None
    if not number.is_finite():   # Infinity, NaN, sNaN: int() and comparisons would raise, not refuse
        raise ValueError(Phrase("problem.not_whole", value=_short(raw)))
    if number.adjusted() > 100:  # 1e10000000: int() would build ten million digits (minutes) to refuse it
        raise ValueError(Phrase("problem.out_of_range", value=_short(raw)))
    if number != number.to_integral_value():
        raise ValueError(Phrase("problem.not_whole", value=_short(raw)))
    return int(number)


def _date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip()[:10])
    except ValueError:
        raise ValueError(Phrase("problem.not_date", value=_short(raw))) from None


def _datetime(raw: Any) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        return raw.replace(tzinfo=None)
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day)
    try:
        return dt.datetime.fromisoformat(str(raw).strip()).replace(tzinfo=None)
    except ValueError:
        raise ValueError(Phrase("problem.not_datetime", value=_short(raw))) from None


def validate(table: Table, values: Mapping[str, Any], *, row: int | None = None, creating: bool) -> dict[str, Any]:
    """Typed values for ``table`` or ValidationError naming every bad field (and ``row`` if given)."""
    problems: list[tuple[int | None, str, str]] = []
    clean: dict[str, Any] = {}
    entered = {c.name: c for c in entered_columns(table)}
    for name, raw in values.items():
        if name not in entered or name == "version":  # the store keeps those
            problems.append((row, name, Phrase("problem.not_field", table=table.name)))
            continue
        try:
            clean[name] = coerce(table.c[name], raw)
        except ValueError as exc:
            problems.append((row, name, exc.args[0] if exc.args and isinstance(exc.args[0], Phrase) else str(exc)))
    if creating:
        for column in entered.values():
            missing = column.name not in values
            needs_value = not column.nullable and column.default is None and not _is_generated_key(column)
            if missing and needs_value:
                problems.append((row, column.name, Phrase("problem.required")))
    if problems:
        raise ValidationError(problems)
    return clean


def generated_key(table: Table) -> Column | None:
    """The single integer primary key the store numbers itself, if the table has one."""
    pk = list(table.primary_key.columns)
    if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement in (True, "auto"):
        return pk[0]
    return None


def _is_generated_key(column: Column) -> bool:
    return column is generated_key(column.table)


# --- audit -------------------------------------------------------------------------------------


# Fields whose value never leaves the store: the audit log and a refusal say only that they changed.
SECRET_FIELDS = frozenset({"password_hash"})
HIDDEN = "***"


def jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    shown = {k: (HIDDEN if k in SECRET_FIELDS and v is not None else v) for k, v in values.items()}
    return json.loads(json.dumps(shown, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


def audit(session: Session | Connection, actor: Actor, action: str, entity: str, entity_id: Any,
          old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
    session.execute(insert(TABLES["audit_log"]).values(
        at=dt.datetime.now(dt.UTC).replace(tzinfo=None), actor=actor.username, action=action, entity=entity,
        entity_id=None if entity_id is None else str(entity_id), old_values=jsonable(old), new_values=jsonable(new),
    ))


def last_change(conn: Connection | Session, entity: str, key: Any) -> dict[str, Any] | None:
    """Who last wrote record ``key`` of ``entity`` and when (``{"actor", "at", "action"}``, from the
    audit log), or None: what a refused save tells its reader about the newer version."""
    log = TABLES["audit_log"]
    found = conn.execute(select(log.c.actor, log.c.at, log.c.action)
                         .where(log.c.entity == entity, log.c.entity_id == str(key))
                         .order_by(log.c.id.desc()).limit(1)).mappings().first()
    return None if found is None else dict(found)


# --- create / update / delete ------------------------------------------------------------------


def _key_clause(table: Table, key: Any):
    pk = list(table.primary_key.columns)
    keys = key if isinstance(key, tuple) else (key,)
    if len(keys) != len(pk):
        raise UsageError(f"{table.name} is keyed by {', '.join(c.name for c in pk)}")
    clause = pk[0] == keys[0]
    for column, value in zip(pk[1:], keys[1:], strict=True):
        clause = clause & (column == value)
    return clause


def _current(session: Session, table: Table, key: Any) -> dict[str, Any] | None:
    found = session.execute(select(table).where(_key_clause(table, key))).mappings().first()
    return dict(found) if found is not None else None


def _entered(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row without the columns the database derives (contracts.unrounded_mrr): what was entered."""
    entered = {c.name for c in entered_columns(table)}
    return {k: v for k, v in row.items() if k in entered}


def _key_of(table: Table, values: Mapping[str, Any]) -> Any:
    keys = tuple(values[c.name] for c in table.primary_key.columns)
    return keys[0] if len(keys) == 1 else keys


@contextmanager
def _lists_read(session: Session, table: Table, values: Mapping[str, Any]) -> Iterator[None]:
    """The company's lists in force while ``values`` are checked, read from the store when nothing put
    them in force and a value is a code of one (a customer's industry, a contract's product line)."""
    if lists_in_force() is not None or not any("company_list" in table.c[n].info for n in values if n in table.c):
        yield
        return
    from ops_core import company_lists

    with company_lists_in_force(company_lists.read_all(session)):
        yield


def create(session: Session, actor: Actor, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Insert one record and its audit row; returns the stored record (with id and version)."""
    table = check_write(actor, entity, "create")
    with _lists_read(session, table, values):
        clean = validate(table, values, creating=True)
    # An empty cell in a column with a default means "the default", not NULL.
    clean = {k: v for k, v in clean.items() if v is not None or table.c[k].default is None}
    if "version" in table.c:
        clean["version"] = 1
    try:
        result = session.execute(insert(table).values(**clean))
    except IntegrityError as exc:  # checks passed on what we read; someone committed in between
        raise Conflict(f"{entity} could not be saved because someone else changed the same records at the same "
                       f"moment ({first_line(exc)}); nothing was saved. Reload and try again.") from exc
    key = result.inserted_primary_key
    stored = _current(session, table, tuple(key) if len(key) > 1 else key[0])
    assert stored is not None
    audit(session, actor, "create", entity, _key_of(table, stored), None, _entered(table, stored))
    return stored


def update(session: Session, actor: Actor, entity: str, key: Any, expected_version: int | None,
           changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change one record if it is still at ``expected_version``; else StaleVersion with the newer values."""
    table = check_write(actor, entity, "change")
    with _lists_read(session, table, changes):
        clean = validate(table, changes, creating=False)
    current = _current(session, table, key)
    versioned = "version" in table.c
    if current is None:
        raise StaleVersion(entity, key, expected_version or 0, None)
    if versioned:
        if expected_version is None:
            raise UsageError(f"changing {entity} needs the version you read (optimistic concurrency)")
        if current["version"] != expected_version:
            raise StaleVersion(entity, key, expected_version, jsonable(current))
    where = _key_clause(table, key)
    new_values = dict(clean)
    if versioned:
        where = where & (table.c.version == expected_version)
        new_values["version"] = expected_version + 1
    result = session.execute(sql_update(table).where(where).values(**new_values))
    if result.rowcount != 1:  # someone committed between our read and our write
        raise StaleVersion(entity, key, expected_version or 0, jsonable(_current(session, table, key)))
    changed_old = {k: current[k] for k in new_values}
    audit(session, actor, "update", entity, key, changed_old, new_values)
    return {**current, **new_values}


def remove(session: Session, actor: Actor, entity: str, key: Any, expected_version: int | None) -> None:
    """Delete one record if it is still at ``expected_version``; the audit row keeps its last values."""
    table = check_write(actor, entity, "delete")
    current = _current(session, table, key)
    if current is None:
        raise StaleVersion(entity, key, expected_version or 0, None)
    where = _key_clause(table, key)
    if "version" in table.c:
        if current["version"] != expected_version:
            raise StaleVersion(entity, key, expected_version or 0, jsonable(current))
        where = where & (table.c.version == expected_version)
    if session.execute(sql_delete(table).where(where)).rowcount != 1:
        raise StaleVersion(entity, key, expected_version or 0, jsonable(_current(session, table, key)))
    audit(session, actor, "delete", entity, key, _entered(table, current), None)


def record_bulk(session: Session, actor: Actor, entity: str, action: str, summary: Mapping[str, Any]) -> None:
    """Audit a bulk load (import, demo generation) as one row: who, when, what and how many."""
    check_write(actor, entity, action)
    audit(session, actor, action, entity, None, None, summary)


# --- personal data leaving the product ---------------------------------------------------------

EXPORT_UNMASKED = "export_unmasked"  # the audit log's action of an export with names, phones and e-mails in full


def require_unmasked(actor: Actor) -> None:
    """Only an admin may take personal data out unmasked (PermissionDenied otherwise)."""
    require_role(actor, Role.admin, "export personal data unmasked")


def record_unmasked_export(session: Session | Connection, actor: Actor, entity: str, rows: int,
                           filters: Mapping[str, Any] | None = None) -> None:
    """Check that ``actor`` may export ``entity``'s personal data unmasked and record that they did:
    one audit row naming who, which entity, how many rows and which filters chose them. Written in
    the caller's transaction, so a file whose record could not be written is not handed out."""
    require_unmasked(actor)
    audit(session, actor, EXPORT_UNMASKED, entity, None, None,
          {"rows": int(rows), "filters": {str(k): v for k, v in (filters or {}).items()}})
