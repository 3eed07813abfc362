"""The audit trail as a person reads it: who changed what, when, each change's values before and after.

Every write leaves one row in ``audit_log`` (``writes.audit``): when (UTC), who, which kind of change
(create, update, delete, import, an unmasked export ...), which table and record, and the values
before and after as JSON. Here the log is filtered by person, table, kind of change and time in SQL
(``AuditFilters.where``), counted and paged in SQL (the log grows with every save), and each row of a
page is spread into one line per changed field: the field by its name in the reader's language, the
old and the new value side by side as a person reads them (yuan, labels, yes/no, dates). The same
lines are the audit file (``export_frame``), its personal data masked as in any export.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, String, case, cast, func, select
from sqlalchemy.orm import Session

from ops_core import cells, exports, present, setting_text, vocab
from ops_core.config import SETTINGS_BY_KEY
from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.fileschema import SCHEMAS, Field, Kind
from ops_core.i18n import TEXT, clauses, t

log = TABLES["audit_log"]

# The file schema's field of each table's column (``usage_daily.day`` -> the usage file's "Day").
_FIELDS: dict[str, dict[str, Field]] = {}
for _schema in SCHEMAS.values():
    _FIELDS.setdefault(_schema.table, {}).update({f.column: f for f in _schema.fields if f.column})


@dataclass(frozen=True)
class AuditFilters:
    """What the reader asked to see: people, tables, kinds of change (empty: all) and a range of days
    (inclusive, UTC, None: open)."""

    actors: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None

    def where(self) -> list[Any]:
        clauses: list[Any] = []
        if self.actors:
            clauses.append(log.c.actor.in_(self.actors))
        if self.entities:
            clauses.append(log.c.entity.in_(self.entities))
        if self.actions:
            clauses.append(log.c.action.in_(self.actions))
        if self.since is not None:
            clauses.append(log.c.at >= dt.datetime.combine(self.since, dt.time()))
        if self.until is not None:
            clauses.append(log.c.at < dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time()))
        return clauses

    def to_dict(self) -> dict[str, Any]:
        """The filters as the audit file's notes and an export's record name them."""
        out: dict[str, Any] = {}
        for name in ("actors", "entities", "actions"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        for name in ("since", "until"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name).isoformat()
        return out


@dataclass(frozen=True)
class Choices:
    """The people, tables and kinds of change the log holds, for the filters' pickers."""

    actors: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    first: dt.date | None = None
    last: dt.date | None = None


def choices(conn: Connection | Session) -> Choices:
    """Distinct people, tables and kinds of change, and the first and last day of the log (SQL DISTINCT)."""
    def distinct(column: Any) -> tuple[str, ...]:
        return tuple(r[0] for r in conn.execute(select(column).distinct().order_by(column)) if r[0] is not None)

    first, last = conn.execute(select(func.min(log.c.at), func.max(log.c.at))).one()
    return Choices(distinct(log.c.actor), distinct(log.c.entity), distinct(log.c.action),
                   _day(first), _day(last))


def _day(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.date() if isinstance(value, dt.datetime) else value


def count(conn: Connection | Session, filters: AuditFilters) -> int:
    """How many audit rows the filters keep."""
    return int(conn.execute(select(func.count()).select_from(log).where(*filters.where())).scalar_one())


def totals(conn: Connection | Session, filters: AuditFilters) -> pd.DataFrame:
    """Rows kept per kind of change (``action``, ``count``), most first (SQL GROUP BY)."""
    rows = conn.execute(select(log.c.action, func.count().label("count")).where(*filters.where())
                        .group_by(log.c.action).order_by(func.count().desc(), log.c.action)).all()
    return frame_of(rows, columns=["action", "count"])


ROW_COLUMNS = ["id", "at", "actor", "action", "entity", "entity_id", "old_values", "new_values", "account"]


def _rows() -> Any:
    """The audit rows with, for a change of an account, its user name (a person knows accounts by name)."""
    accounts = TABLES["users"]
    account = select(accounts.c.username).where(cast(accounts.c.id, String) == log.c.entity_id) \
        .correlate(log).scalar_subquery()
    return select(log.c.id, log.c.at, log.c.actor, log.c.action, log.c.entity, log.c.entity_id, log.c.old_values,
                  log.c.new_values, case((log.c.entity == "users", account), else_=None).label("account"))


def page(conn: Connection | Session, filters: AuditFilters, number: int = 1, size: int = 50) -> pd.DataFrame:
    """Page ``number`` (1-based) of the kept audit rows, newest first: ``ROW_COLUMNS`` (LIMIT/OFFSET in SQL)."""
    number, size = max(1, int(number)), max(1, int(size))
    rows = conn.execute(_rows().where(*filters.where()).order_by(log.c.id.desc())
                        .limit(size).offset((number - 1) * size)).all()
    return frame_of(rows, columns=ROW_COLUMNS)


def pages(total: int, size: int) -> int:
    """How many pages ``total`` rows fill (at least one)."""
    return max(1, -(-int(total) // max(1, int(size))))


# --- each change as a person reads it -----------------------------------------------------------

CHANGE_COLUMNS = ("at", "actor", "action", "entity", "record", "field", "old", "new")
# Bookkeeping the store keeps beside every change: the record's number and name are their own column,
# and who changed it when is the audit row's own.
_QUIET = frozenset({"version", "id", "updated_at", "updated_by"})


def field_name(entity: str, column: str, lang: str) -> str:
    """A changed column as a word: its file's header, else the catalogue's, else ``audit.field.<column>``."""
    found = _FIELDS.get(entity, {}).get(column)
    if found is not None:
        return found.header(lang)
    key = f"audit.field.{column}"
    if key in TEXT:
        return t(key, lang)
    return present.header(column, lang)


# An export's filters (``Filters`` and the customer list's ``ViewFilters`` query parameters): lists of codes.
_FILTER_LISTS: dict[str, present.Vocabulary] = {
    "industries": vocab.Industry, "regions": vocab.Region, "size_bands": vocab.SizeBand, "c_tiers": present.TIER,
    "c_lines": vocab.ProductLine, "c_risk": "risk.",
}
_BY_TABLE = frozenset({"counts", "deleted"})  # summaries of a bulk load: rows per table
# Codes whose vocabulary depends on the table (a user's role is not a contact's role).
_TABLE_VOCABULARIES: dict[tuple[str, str], present.Vocabulary] = {
    ("users", "role"): vocab.Role, ("company_lists", "list_name"): "lists.",
}
_NOTES = frozenset({"note", "reject_reason"})  # may hold a note the tool wrote (present.history_note)
SECRETS = frozenset({"password_hash", "token_hash"})  # never shown, not even hashed: only that it changed


def value_text(entity: str, column: str, value: Any, lang: str) -> str:
    """A stored value as a person reads it: yuan for cents, a label for a code, yes/no, a day or a
    minute for a time, a list or a setting's value written out; text as entered."""
    sep = t("list.separator", lang)
    if value is None or value == "":
        return ""
    if column in SECRETS:
        return t("audit.hidden", lang)
    if column in _NOTES:
        return present.history_note(value, lang)
    if (entity, column) in _TABLE_VOCABULARIES:
        return present.label_of(value, _TABLE_VOCABULARIES[entity, column], lang)
    if isinstance(value, Mapping) and not value:
        return t("audit.none", lang)
    if column in _FILTER_LISTS and isinstance(value, str):
        return sep.join(present.label_of(code, _FILTER_LISTS[column], lang) for code in value.split(",") if code)
    if column in _BY_TABLE and isinstance(value, Mapping):
        return sep.join(f"{entity_name(str(k), lang)} {v:,}" if isinstance(v, int) else f"{entity_name(str(k), lang)} {v}"
                        for k, v in value.items())
    found = _FIELDS.get(entity, {}).get(column)
    spec = present.column(column)
    if isinstance(value, bool) or (found is not None and found.kind is Kind.yes_no):
        return cells.write_yes_no(bool(value), lang)
    if (found is not None and found.kind is Kind.money) or (spec is not None and spec.kind is present.Kind.money) \
            or column.endswith("_cents"):
        return present.money_full(value) if isinstance(value, (int, float)) else str(value)
    vocabulary = found.vocabulary if found is not None and found.kind in (Kind.choice, Kind.choices) else \
        spec.vocabulary if spec is not None and spec.kind is present.Kind.vocabulary else None
    if vocabulary is not None and isinstance(value, str):
        codes = value.split(",") if found is not None and found.kind is Kind.choices else [value]
        return sep.join(present.label_of(c.strip(), vocabulary, lang) for c in codes)
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and value[10:11] == "T":
        return value[:16].replace("T", " ")  # an ISO time to the minute
    if isinstance(value, Mapping):
        return "；".join(f"{field_name(entity, str(k), lang)}：{value_text(entity, str(k), v, lang)}" for k, v in value.items()) \
            if lang == "zh" else "; ".join(f"{field_name(entity, str(k), lang)}: {value_text(entity, str(k), v, lang)}"
                                           for k, v in value.items())
    if isinstance(value, list):
        return sep.join(value_text(entity, column, v, lang) for v in value)
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def _values(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        raw = json.loads(raw)
    return dict(raw) if isinstance(raw, Mapping) else {"value": raw}


def changes(rows: pd.DataFrame, lang: str, *, masked: bool = False) -> pd.DataFrame:
    """One line per changed field of each audit row (in the rows' order): when, who, the kind of change
    and the table by their names, the record, the field as a word, the old and the new value side by
    side in ``lang``. A row that changed no field (a delete of an empty record) keeps one line.
    ``masked``: names, phones and e-mails (``exports.PERSONAL_DATA``) masked, as in any export."""
    out: list[tuple[Any, ...]] = []
    for row in rows.itertuples(index=False):
        old, new = _values(row.old_values), _values(row.new_values)
        maskers = (exports.PERSONAL_DATA.get(row.entity) or exports.NO_PERSONAL_DATA).maskers() if masked else {}
        action, entity, who = action_name(row.action, lang), entity_name(row.entity, lang), present.actor_name(row.actor, lang)
        when = pd.Timestamp(row.at).strftime("%Y-%m-%d %H:%M") if not present.missing(row.at) else ""
        record = "" if present.missing(row.entity_id) else str(row.entity_id)
        if row.entity == "settings" and record in SETTINGS_BY_KEY:
            out.extend(_setting_lines(row, when, record, old, new, lang))
            continue
        if not present.missing(getattr(row, "account", None)):
            record = str(row.account)
        names = [c for c in dict.fromkeys([*old, *new]) if c not in _QUIET and old.get(c) != new.get(c)] or [None]
        for column in names:
            if column is None:
                out.append((when, who, action, entity, record, "", "", ""))
                continue
            before, after = old.get(column), new.get(column)
            if column in maskers:
                before, after = maskers[column](before), maskers[column](after)
            out.append((when, who, action, entity, record, field_name(row.entity, column, lang),
                        value_text(row.entity, column, before, lang), value_text(row.entity, column, after, lang)))
    return pd.DataFrame(out, columns=list(CHANGE_COLUMNS))


def _setting_lines(row: Any, when: str, key: str, old: Mapping[str, Any], new: Mapping[str, Any],
                   lang: str) -> list[tuple[Any, ...]]:
    """A setting's change as one line: the setting by its name, its value before and after as the
    settings page reads it. The first change of a setting stores its row, but to a person it changed
    the default, so it reads as a change from the default."""
    if row.action == "create":
        action, before = action_name("update", lang), SETTINGS_BY_KEY[key].default
    else:
        action, before = action_name(row.action, lang), old.get("value")
    after = new.get("value")
    shown = setting_text.name(key, lang)
    return [(when, present.actor_name(row.actor, lang), action, entity_name(row.entity, lang), shown, shown,
             "" if before is None else setting_text.value_text(key, before, lang),
             "" if after is None else setting_text.value_text(key, after, lang))]


def headers(lang: str) -> dict[str, str]:
    """The change lines' headers in ``lang``."""
    return {name: t(f"audit.col.{name}", lang) for name in CHANGE_COLUMNS}


def export_frame(conn: Connection | Session, filters: AuditFilters, lang: str) -> pd.DataFrame:
    """Every kept audit row as change lines with headers in ``lang``, personal data masked: the audit file."""
    rows = conn.execute(_rows().where(*filters.where()).order_by(log.c.id.desc())).all()
    frame = frame_of(rows, columns=ROW_COLUMNS)
    return changes(frame, lang, masked=True).rename(columns=headers(lang))


def describe(filters: AuditFilters, lang: str) -> str:
    """The filters in words of ``lang``: people as named, tables and kinds of change by their names, days."""
    sep = t("list.separator", lang)
    parts = []
    if filters.actors:
        parts.append(t("audit.describe.actors", lang, values=sep.join(present.actor_name(a, lang) for a in filters.actors)))
    if filters.entities:
        parts.append(t("audit.describe.entities", lang, values=sep.join(entity_name(e, lang) for e in filters.entities)))
    if filters.actions:
        parts.append(t("audit.describe.actions", lang, values=sep.join(action_name(a, lang) for a in filters.actions)))
    if filters.since or filters.until:
        parts.append(t("audit.describe.days", lang, since=filters.since.isoformat() if filters.since else "…",
                       until=filters.until.isoformat() if filters.until else "…"))
    return clauses(parts, lang) if parts else t("audit.describe.all", lang)


def action_name(action: str, lang: str) -> str:
    key = f"audit.action.{action}"
    return t(key, lang) if key in TEXT else action


def entity_name(entity: str, lang: str) -> str:
    key = f"table.{entity}"
    return t(key, lang) if key in TEXT else entity


def export_notes(filters: AuditFilters, rows: int, lang: str) -> list[str]:
    """What the audit file says about itself: how many change lines, the filters, personal data masked."""
    return [t("audit.export.notes", lang, rows=f"{rows:,}"), describe(filters, lang), t("audit.export.masked", lang)]
