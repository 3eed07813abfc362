"""Importing a person's file of an entity: their headers, yuan, labels and business keys, previewed
before anything is written, then written in one transaction.

A file is read by its entity's file schema (``ops_core.fileschema``): its columns are matched to
fields through the headers and aliases (``suggest_columns``, changed by the person or taken from a
saved mapping), each cell is read by ``cells.read_cell``, references to other entities are resolved
by their business keys (a contract's customer by the customer's code) and every row is matched to
the stored row with the same key. A matched row whose values differ is an update, one whose values
agree is left unchanged, any other row is added; an import never deletes.

``run`` does it all in one streaming pass: rows are read, checked and written in chunks of
``CHUNK_ROWS``, so memory stays bounded by the chunk and by the key indexes (the stored keys of the
entity and of those it refers to), never by the file. ``dry_run`` is the preview: everything is
checked against the store and nothing is written. Without ``valid_rows`` the import is all or
nothing: the first problem stops the writing, the rest of the file is still checked so every problem
is listed, and the transaction is rolled back. With ``valid_rows`` the valid rows are written and
the rejected ones come back as a file with a reason column (``Outcome.rejected_file``).

Updates go through the store's versions (the stored version is checked and raised by one) and leave
one audit row each with the old and new values of the fields they change; additions are audited as
one row naming the file and the counts. A blank cell of an optional field means its default for a
new row and "keep what is stored" for an update (a file without the column never changes it); a
blank cell of a field without a default clears the stored value.
"""
from __future__ import annotations

import datetime as dt
import functools
import importlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pandas as pd
from sqlalchemy import Connection, Engine, Table, and_, insert, select, tuple_, update
from sqlalchemy.exc import DataError, IntegrityError

from ops_core import cells, company_lists, exports, i18n, writes
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES, entered_columns
from ops_core.errors import UsageError, first_line
from ops_core.fileschema import LOOKUPS, SCHEMAS, Derivation, Field, FileSchema, FromRef, Kind
from ops_core.i18n import Either, Phrase, t
from ops_core.readers import TableFile, open_table, size_limit
from ops_core.vocab import Role

CHUNK_ROWS = 2000          # rows read, checked and written together
SHOWN_CHANGES = 2000       # old -> new pairs kept for the preview (all are counted)
KEPT_REJECTED = 100_000    # rejected rows kept for the report and the rejected-rows file (all are counted)
SHOWN_NEW_VALUES = 50      # values missing from a company list offered to be added, per field
PREVIEW_ROWS = 5           # rows of the file shown beside the column mapping

# The file's header -> the field it fills (None: the column is not imported).
Columns = dict[str, str | None]

# Dates of one row that must come in this order (the second not before the first), by entity.
IN_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "contacts": (("start_date", "end_date"),),
    "contracts": (("start_date", "end_date"),),
    "invoices": (("issued_on", "due_on"),),
    "events": (("start_date", "end_date"),),
    "leads": (("created_at", "lost_at"),),
}


def schema_for(entity: str) -> FileSchema:
    try:
        return SCHEMAS[entity]
    except KeyError:
        raise UsageError(f"unknown entity '{entity}'; known: {', '.join(SCHEMAS)}") from None


def suggest_columns(entity: str, header: Sequence[str]) -> Columns:
    """Each header of the file -> the field it names through its headers and aliases (the first column
    naming a field gets it), or None."""
    schema = schema_for(entity)
    taken: set[str] = set()
    out: Columns = {}
    for name in header:
        found = schema.match(name) if name else None
        out[name] = found.name if found is not None and found.name not in taken and name not in out else None
        if found is not None and out[name] is not None:
            taken.add(found.name)
    return out


# --- what an import reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something wrong with the file (``row`` None) or one row; ``header`` is the file's own header of
    the column, empty when the problem is the row's or the file's."""

    row: int | None
    header: str
    message: Phrase

    def text(self, lang: str) -> str:
        message = self.message.read(lang)
        if self.row is None:
            return t("import.where.file", lang, header=self.header, message=message) if self.header else message
        if self.header:
            return t("import.where", lang, row=self.row, header=self.header, message=message)
        return t("import.where.row", lang, row=self.row, message=message)


@dataclass(frozen=True)
class Change:
    """One field of a stored row the import changes: the row of the file, the row's key as the file
    writes it, and the old and new values as the file writes them (yuan, labels, keys)."""

    row: int
    key: str
    field: str
    old: Any
    new: Any


@dataclass
class Outcome:
    """What an import found and did. ``written`` is True only when rows were written (not a preview,
    not a refused all-or-nothing import)."""

    entity: str
    source: str
    header: tuple[str, ...] = ()
    columns: Columns = field(default_factory=dict)
    detected: TableFile | None = None
    dry_run: bool = False
    valid_rows: bool = False
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    changed_fields: int = 0
    written: bool = False
    lang: str = "en"
    problems: list[Problem] = field(default_factory=list)
    rejected_rows: list[tuple[int, tuple[object, ...]]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    new_values: dict[str, list[str]] = field(default_factory=dict)   # field -> values its company list lacks

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def refused(self) -> bool:
        """Nothing was (or, in a preview, would be) written because of the problems."""
        return bool(self.problems) and not self.valid_rows

    def summary(self, lang: str) -> str:
        counts = {"added": f"{self.added:,}", "updated": f"{self.updated:,}", "unchanged": f"{self.unchanged:,}",
                  "rejected": f"{self.rejected:,}", "rows": f"{self.rows:,}", "file": self.source,
                  "entity": schema_for(self.entity).title(lang)}
        if self.problems and self.rejected == 0:
            return t("import.summary.file_refused", lang, **counts)
        if self.dry_run:
            return t("import.summary.preview", lang, **counts)
        if self.refused:
            return t("import.summary.refused", lang, **counts)
        return t("import.summary.done", lang, **counts)

    def problem_lines(self, lang: str) -> list[str]:
        return [problem.text(lang) for problem in self.problems]

    def problems_frame(self, lang: str) -> pd.DataFrame:
        """The problems as a table for the page: row, column (the file's header), problem."""
        return pd.DataFrame([(p.row, p.header, p.message.read(lang)) for p in self.problems],
                            columns=[t("import.col.row", lang), t("import.col.column", lang), t("import.col.problem", lang)]
                            ).astype({t("import.col.row", lang): "Int64"})

    def changes_frame(self, lang: str) -> pd.DataFrame:
        """Every kept change: row, the record's key, the field's header in ``lang``, old -> new."""
        schema = schema_for(self.entity)
        return pd.DataFrame([(c.row, c.key, schema.field(c.field).header(lang), _shown(c.old), _shown(c.new))
                             for c in self.changes],
                            columns=[t("import.col.row", lang), t("import.col.key", lang), t("import.col.field", lang),
                                     t("import.col.old", lang), t("import.col.new", lang)])

    def rejected_file(self, lang: str, fmt: str = "csv") -> bytes:
        """The rejected rows as the person gave them, under their own headers, with a reason column
        in ``lang``: fix them and import this file again."""
        reasons: dict[int, list[str]] = {}
        for problem in self.problems:
            if problem.row is not None:
                said = problem.message.read(lang)
                reasons.setdefault(problem.row, []).append(f"{problem.header}: {said}" if problem.header else said)
        width = len(self.header)
        frame = pd.DataFrame([[*(list(cells_)[:width] + [None] * (width - len(cells_))),
                               "; ".join(reasons.get(number, []))] for number, cells_ in self.rejected_rows],
                             columns=[*unique_headers(self.header), t("import.col.reason", lang)], dtype=object)
        if fmt == "xlsx":
            return exports.to_excel_bytes(frame, t("import.rejected_sheet", lang))
        return exports.to_csv_bytes(frame)


def unique_headers(header: Sequence[str]) -> list[str]:
    """A file's headers made usable as table columns: a blank one named by its position, a repeated
    one numbered ("金额", "金额 (2)")."""
    seen: dict[str, int] = {}
    out = []
    for index, name in enumerate(header):
        name = name or f"({index + 1})"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _shown(value: Any) -> Any:
    return "" if value is None else value


# --- key indexes -----------------------------------------------------------------------------------

AMBIGUOUS = -1   # an index value: the key names more than one stored row


_normalised = functools.lru_cache(maxsize=1 << 16)(cells.normalise)   # keys repeat: one customer, many rows


def _key_part(kind: Kind, value: Any) -> Any:
    """A key part as compared: text normalised (any case, width or spacing), a blank text as ''."""
    if kind is Kind.text or kind is Kind.ref:
        return _normalised(value) if isinstance(value, str) else "" if value is None else value
    if isinstance(value, str) and kind is Kind.date:
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, str) and kind is Kind.datetime:
        return dt.datetime.fromisoformat(value)
    return value


@dataclass
class _Target:
    """The stored rows of an entity (or lookup list) another file names, by the key the file gives:
    normalised key -> id, the key as stored (for messages and changes) and columns a default takes."""

    by_key: dict[tuple[Any, ...], int] = field(default_factory=dict)
    shown: dict[int, str] = field(default_factory=dict)
    extra: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, key: tuple[Any, ...], ident: int, shown: str, extra: dict[str, Any] | None = None) -> None:
        self.by_key[key] = AMBIGUOUS if key in self.by_key and self.by_key[key] != ident else ident
        self.shown[ident] = shown
        if extra:
            self.extra[ident] = extra


def _ref_groups(schema: FileSchema) -> dict[str, list[Field]]:
    """Reference fields by the id column they fill together (an event's name and start date)."""
    groups: dict[str, list[Field]] = {}
    for f in schema.fields:
        if f.ref is not None:
            groups.setdefault(f.ref_column or "", []).append(f)
    return groups


def _key_columns(entity: str, names: Sequence[str]) -> list[tuple[Any, Kind]]:
    """The stored columns of an entity's key fields (a reference's id column) with their kinds."""
    schema, table = SCHEMAS[entity], TABLES[SCHEMAS[entity].table]
    out = []
    for name in names:
        f = schema.field(name)
        out.append((table.c[f.ref_column or ""], Kind.whole) if f.ref else (table.c[f.column or ""], f.kind))
    return out


def _load_target(conn: Connection, group: list[Field], takes: Sequence[str]) -> _Target:
    """The index a reference group resolves through: every stored row of the referenced entity."""
    first = group[0]
    target = _Target()
    if first.ref in LOOKUPS:
        lookup = LOOKUPS[first.ref]
        table = TABLES[lookup.table]
        for ident, name in conn.execute(select(table.c.id, table.c[lookup.column])):
            target.add((_key_part(Kind.text, name),), ident, str(name))
        return target
    schema = SCHEMAS[first.ref or ""]
    table = TABLES[schema.table]
    parts = [schema.field(f.ref_field or "") for f in group]
    extra = [(name, schema.field(name)) for name in takes]
    query = select(table.c.id, *(table.c[p.column or ""] for p in parts),
                   *(table.c[(g.ref_column if g.ref else g.column) or ""] for _, g in extra))
    for row in conn.execute(query):
        values = row[1:1 + len(parts)]
        key = tuple(_key_part(p.kind, v) for p, v in zip(parts, values, strict=True))
        shown = " / ".join(_text(v) for v in values)
        target.add(key, row[0], shown, {name: row[1 + len(parts) + i] for i, (name, _) in enumerate(extra)})
    return target


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


# --- the import ------------------------------------------------------------------------------------


class _Rollback(Exception):
    """Leaves the import's transaction so that it rolls back (a refused all-or-nothing import)."""


@dataclass(slots=True)
class _Row:
    number: int
    cells: tuple[object, ...]
    values: dict[str, Any]                      # field name -> typed value (refs: normalised key text)
    ids: dict[str, int | None] = field(default_factory=dict)  # ref column -> resolved id
    key: tuple[Any, ...] = ()
    key_set: int = 0
    stored: dict[str, Any] | None = None        # the stored row it updates, if any


class _Import:
    """One import's pass over a file (see the module's docstring)."""

    def __init__(self, conn: Connection, actor: writes.Actor, schema: FileSchema, table_file: TableFile,
                 columns: Columns, outcome: Outcome, *, write: bool, session: Any = None):
        self.conn, self.actor, self.schema, self.outcome = conn, actor, schema, outcome
        self.table: Table = TABLES[schema.table]
        self.file = table_file
        self.write, self.session = write, session
        self.writing = write        # turned off by the first problem of an all-or-nothing import
        self.positions: list[tuple[int, Field]] = []   # (column of the file, the field it fills)
        self.mapped: set[str] = set()
        self.key_kinds = [[(f.kind if f.ref is None else Kind.whole) for f in map(schema.field, names)]
                          for names in schema.keys]
        self.own_indexed = any(schema.field(n).kind is Kind.text for names in schema.keys for n in names)
        self.own: list[dict[tuple[Any, ...], tuple[Any, ...]]] = [{} for _ in schema.keys]
        self.in_file: list[dict[int, int]] = [{} for _ in schema.keys]   # hash of a key -> first row
        self.targets: dict[str, _Target] = {}
        self.pending: list[tuple[int, tuple[object, ...]]] = []
        self.customers: set[int] = set()
        self.pk = list(self.table.primary_key.columns)
        self.generated = writes.generated_key(self.table)
        self.groups = _ref_groups(schema)
        self.key_fields = [[schema.field(n) for n in names] for names in schema.keys]
        self.by_column = {(f.ref_column if f.ref else f.column): f for f in schema.fields}
        self.stand_in = AMBIGUOUS   # ids a preview gives the rows it would add: -2, -3, ...

    # -- the file's columns --

    def check_columns(self) -> bool:
        """Map the header to fields; False (with problems) when the file cannot be read as this entity."""
        header, schema = self.outcome.header, self.schema
        filled: dict[str, str] = {}
        problems = []
        for index, name in enumerate(header):
            chosen = self.outcome.columns.get(name)
            if chosen is None:
                continue
            if chosen not in {f.name for f in schema.fields}:
                raise UsageError(f"{schema.entity} has no field '{chosen}'")
            if chosen in filled:
                problems.append(Problem(None, name, Phrase("import.same_field", other=filled[chosen],
                                                           field=Either(schema.field(chosen).en, schema.field(chosen).zh))))
                continue
            filled[chosen] = name
            self.positions.append((index, schema.field(chosen)))
        self.mapped = {f.name for _, f in self.positions}
        for f in schema.fields:
            if f.required and f.name not in filled:
                problems.append(Problem(None, "", Phrase("import.no_column", field=Either(f.en, f.zh))))
        self.outcome.problems.extend(problems)
        return not problems

    # -- indexes --

    def load_indexes(self) -> None:
        for column, group in self.groups.items():
            takes = [f.default.take for f in self.schema.fields
                     if isinstance(f.default, FromRef) and f.default.via in {g.name for g in group}]
            if group[0].ref == self.schema.entity:
                takes = []
            self.targets[column] = _load_target(self.conn, group, takes)
        if self.own_indexed:
            for i, names in enumerate(self.schema.keys):
                columns = _key_columns(self.schema.entity, names)
                query = select(*self.pk, *(c for c, _ in columns))
                for row in self.conn.execute(query):
                    key = tuple(_key_part(kind, v) for (_, kind), v in zip(columns, row[len(self.pk):], strict=True))
                    if any(v is None for v in key):
                        continue
                    self.own[i][key] = tuple(row[:len(self.pk)])

    # -- reading one row --

    def plan(self) -> None:
        """What reading and writing a row needs, looked up once for the whole file: each column's
        reader, header and field; each reference group's fields and where they are; each key set's
        parts; each field's column and default; each stored column's default."""
        header, mapped = self.outcome.header, self.mapped
        self.cell_plan = [(index, f.name, cells.reader_for(f), f.required, header[index], bool(f.personal))
                          for index, f in self.positions]
        # Fields read against the company's own lists: a value they do not hold is offered to an admin.
        self.list_fields = {f.name: name for _, f in self.positions
                            if f.kind in (Kind.choice, Kind.choices) and (name := i18n.list_name_of(f.vocabulary))}
        at = {f.name: index for index, f in self.positions}
        self.group_plan = [
            (column, group, [g.name for g in group], [g.kind for g in group],
             [g.name for g in group if g.name in mapped], [at.get(g.name) for g in group],
             header[at[group[0].name]] if group[0].name in at else group[0].header("en"),
             self.targets[column].by_key, group[0].ref == self.schema.entity)
            for column, group in self.groups.items()]
        self.key_plan = [
            (i, [(f.ref is not None, f.ref_column or "", f.name) for f in key_fields], self.key_kinds[i],
             any(kind in (Kind.text, Kind.ref) for kind in self.key_kinds[i]))   # dates are read as dates already
            for i, key_fields in enumerate(self.key_fields)
            if all(f.name in mapped for f in key_fields if f.ref is None)]   # else a key field the file has no column for
        self.write_plan = [(f, f.name, f.ref is not None, f.ref_column or "", (f.ref_column if f.ref else f.column) or "",
                            f.default is not None, f.name in mapped) for f in self.schema.fields]
        # A new row: every field's column, then the defaults of the blank ones in file order (when no
        # two fields fill one column; else the general loop of ``values_of``).
        self.create_plan = [(column, is_ref, ref_column, name) for _, name, is_ref, ref_column, column, _, _ in self.write_plan]
        self.create_defaults = [(f, name, is_ref, column) for f, name, is_ref, _, column, has_default, _ in self.write_plan
                                if has_default]
        self.create_direct = len({column for column, *_ in self.create_plan}) == len(self.create_plan)
        self.in_order = [(self.schema.field(first), self.schema.field(second))
                         for first, second in IN_ORDER.get(self.schema.entity, ())]
        self.insert_plan = []
        for column in entered_columns(self.table):
            if column is self.generated:  # the store fills it
                continue
            scalar = column.default is not None and getattr(column.default, "is_scalar", False)
            self.insert_plan.append((column.name, scalar, column.default.arg if scalar else None))
        self.versioned = "version" in self.table.c
        self.plan_insert()
        self.self_groups = [group for group in self.groups.values() if group[0].ref == self.schema.entity]

    def read_columns(self, raws: list[tuple[object, ...]]) -> list[dict[str, Any]] | None:
        """Every mapped cell of a chunk read column by column: each row's typed values, or None when a
        row is not as wide as the header, a cell is refused, a required cell is blank or a personal one
        masked (then each row is read on its own, ``read``, which says which and why)."""
        width = len(self.outcome.header)
        if not raws or set(map(len, raws)) != {width}:
            return None
        columns = list(zip(*raws, strict=True))
        try:
            read = [list(map(reader, columns[index])) for index, _, reader, _, _, _ in self.cell_plan]
        except cells.CellProblem:
            return None
        for (_, _, _, required, _, personal), values in zip(self.cell_plan, read, strict=True):
            if required and None in values:
                return None
            if personal and any(isinstance(v, str) and exports.MASK in v for v in values):
                return None
        names = [name for _, name, _, _, _, _ in self.cell_plan]
        return [dict(zip(names, row, strict=True)) for row in zip(*read, strict=True)]

    def read(self, number: int, raw: tuple[object, ...], values: dict[str, Any] | None = None) -> _Row | None:
        """A row checked and typed; None when it is refused (or waits for a row further down). ``values``
        are its cells already read by ``read_columns``."""
        problems: list[Problem] = []
        length = len(raw)
        if values is None:
            values = {}
            width = len(self.outcome.header)
            if length > width:
                extra = [c for c in raw[width:] if not cells.is_blank(c)]
                if extra:
                    problems.append(Problem(number, "", Phrase("import.too_many_values", count=width + len(extra),
                                                                header=width)))
            for index, name, reader, required, header, personal in self.cell_plan:
                cell = raw[index] if index < length else None
                try:
                    value = reader(cell)
                except cells.CellProblem as exc:
                    problems.append(Problem(number, header, exc.message))
                    if name in self.list_fields:
                        self.note_new_value(name, cell)
                    continue
                if personal and isinstance(value, str) and exports.MASK in value:
                    problems.append(Problem(number, header, Phrase("import.masked", value=_text(cell))))
                    continue
                values[name] = value
                if value is None and required:
                    problems.append(Problem(number, header, Phrase("import.required")))
        row = _Row(number, raw, values)
        ids = row.ids
        # references are checked even in a row with bad cells
        for column, group, names, kinds, mapped, at, where, by_key, itself in self.group_plan:
            if len(names) == 1:   # the usual reference: one field (a customer by code)
                given = values.get(names[0])
                if given is None:
                    ids[column] = None
                    continue
                key: tuple[Any, ...] = (_key_part(kinds[0], given),)
            else:
                parts = [values.get(name) for name in names]
                if all(v is None for v in parts) or any(name not in values for name in mapped):
                    ids[column] = None
                    continue
                key = tuple([_key_part(k, v) for k, v in zip(kinds, parts, strict=True)])
            found = by_key.get(key)
            if found is None and itself and not problems:
                self.pending.append((number, raw))
                return None
            if found is None or found == AMBIGUOUS:
                shown = " / ".join(_text(raw[i] if i is not None and i < length else None).strip() for i in at)
                problems.append(Problem(number, where, Phrase(
                    "import.no_reference" if found is None else "import.ambiguous_reference", value=shown,
                    **_ref_words(group))))
            else:
                ids[column] = found
        if problems:
            return self.reject(number, raw, problems)
        for i, parts_of, kinds, converted in self.key_plan:
            parts = [ids.get(ref_column) if is_ref else values.get(name) for is_ref, ref_column, name in parts_of]
            if None in parts and any(p is None and k is not Kind.text for p, k in zip(parts, kinds, strict=True)):
                continue
            row.key_set = i
            row.key = tuple([_key_part(k, p) for k, p in zip(kinds, parts, strict=True)]) if converted else tuple(parts)
            break
        else:
            return self.reject(number, raw, [Problem(number, "", Phrase("import.no_key"))])
        in_file, hashed = self.in_file[row.key_set], hash(row.key)
        first = in_file.get(hashed)
        if first is not None:
            return self.reject(number, raw, [Problem(number, "", Phrase(
                "import.used_in_row", value=self.key_text(row), row=first))])
        in_file[hashed] = number
        return row

    def note_new_value(self, field_name: str, cell: object) -> None:
        """A value of a company-list field that the list does not hold (kept once, up to ``SHOWN_NEW_VALUES``)."""
        found = self.outcome.new_values.setdefault(field_name, [])
        text = " ".join(str(cell).split())
        if text and len(found) < SHOWN_NEW_VALUES and cells.normalise(text) not in {cells.normalise(v) for v in found}:
            found.append(text)

    def reject(self, number: int, raw: tuple[object, ...], problems: list[Problem]) -> None:
        self.outcome.rejected += 1
        if len(self.outcome.rejected_rows) < KEPT_REJECTED:
            self.outcome.rejected_rows.append((number, raw))
            self.outcome.problems.extend(problems)
        if not self.outcome.valid_rows:
            self.writing = False
        return None

    # -- a chunk of rows --

    def stored_rows(self, rows: list[_Row]) -> None:
        """Find each row's stored row (by its key), with every stored value."""
        by_pk: dict[tuple[Any, ...], list[_Row]] = {}
        if self.own_indexed:
            for row in rows:
                pk = self.own[row.key_set].get(row.key)
                if pk is not None:
                    by_pk.setdefault(pk, []).append(row)
            wanted = list(by_pk)
            if not wanted:
                return
            clause = (self.pk[0].in_([k[0] for k in wanted]) if len(self.pk) == 1
                      else tuple_(*self.pk).in_(wanted))
            for stored in self.conn.execute(select(self.table).where(clause)).mappings():
                for row in by_pk.get(tuple(stored[c.name] for c in self.pk), []):
                    row.stored = dict(stored)
            return
        # Keys of ids and dates only (usage by customer and day, feedback by customer and time): the ids
        # by IN, the dates and times by a range a little wider than the chunk's (SQLite keeps a time as
        # text, with or without fractions of a second, so IN on a time would miss a stored one); the
        # rows are then matched in Python. Ids whose ranges lie far apart are asked for one by one.
        for i, names in enumerate(self.schema.keys):
            keyed = [row for row in rows if row.key_set == i]
            if not keyed:
                continue
            columns = _key_columns(self.schema.entity, names)
            wanted = {row.key: row for row in keyed}
            for clause in _key_ranges(columns, keyed):
                for stored in self.conn.execute(select(self.table).where(clause)).mappings():
                    key = tuple(_key_part(kind, stored[c.name]) for c, kind in columns)
                    if key in wanted:
                        wanted[key].stored = dict(stored)

    def values_of(self, row: _Row) -> dict[str, Any] | None:
        """The columns the row writes (all of them for a new row, the changed ones for an update),
        or None when the row is refused."""
        schema = self.schema
        creating = row.stored is None
        columns: dict[str, Any]
        if creating and self.create_direct:
            typed, get, ids_get = row.values, row.values.get, row.ids.get
            columns = {column: ids_get(ref_column) if is_ref else get(name)
                       for column, is_ref, ref_column, name in self.create_plan}
            for f, name, is_ref, column in self.create_defaults:
                if columns[column] is None:
                    if typed is row.values:
                        typed = dict(typed)   # defaults are added to a copy: the row's values stay as read
                    value = columns[column] = self.default_of(f, typed, row)
                    if not is_ref:
                        typed[name] = value
        else:   # defaults (new rows only) are added to a copy
            columns = self.columns_of(row, dict(row.values) if creating else row.values, creating)
        problems = []
        for first, second in self.in_order:
            a = columns.get(first.column or "", (row.stored or {}).get(first.column or ""))
            b = columns.get(second.column or "", (row.stored or {}).get(second.column or ""))
            if a is not None and b is not None and b < a:
                header = next((self.outcome.header[i] for i, f in self.positions if f.name == second.name), "")
                problems.append(Problem(row.number, header, Phrase(
                    "import.before", value=_text(b), other=Either(first.en, first.zh), other_value=_text(a))))
        if problems:
            return self.reject(row.number, row.cells, problems)
        if creating:
            for column, value in schema.on_create.items():
                columns[column] = value
        return columns

    def columns_of(self, row: _Row, typed: dict[str, Any], creating: bool) -> dict[str, Any]:
        """``values_of``'s columns field by field (an update, or fields sharing a column)."""
        ids = row.ids
        columns: dict[str, Any] = {}
        for f, name, is_ref, ref_column, column, has_default, mapped in self.write_plan:
            value = ids.get(ref_column) if is_ref else typed.get(name)
            if value is None and has_default:
                if not creating:
                    continue                      # an update keeps what is stored
                value = self.default_of(f, typed, row)
                if not is_ref:
                    typed[name] = value
            elif not mapped and not creating:
                continue                          # a column the file does not have
            columns[column] = value
        return columns

    def default_of(self, f: Field, typed: Mapping[str, Any], row: _Row) -> Any:
        default = f.default
        if isinstance(default, Derivation):
            return default(typed)
        if isinstance(default, FromRef):
            via = self.schema.field(default.via)
            ident = row.ids.get(via.ref_column or "")
            if ident is None:
                return None
            return self.targets[via.ref_column or ""].extra.get(ident, {}).get(default.take)
        return default

    def chunk(self, raw_rows: Iterable[tuple[int, tuple[object, ...]]]) -> None:
        raw_rows = list(raw_rows)
        typed = self.read_columns([cells_ for _, cells_ in raw_rows])
        read = ((self.read(number, cells_) for number, cells_ in raw_rows) if typed is None else
                (self.read(number, cells_, values) for (number, cells_), values in zip(raw_rows, typed, strict=True)))
        rows = [row for row in read if row is not None]
        self.stored_rows(rows)
        new: list[tuple[_Row, dict[str, Any]]] = []
        changed: list[tuple[_Row, dict[str, Any]]] = []
        for row in rows:
            columns = self.values_of(row)
            if columns is None:
                continue
            if row.stored is None:
                new.append((row, columns))
                continue
            differing = {c: v for c, v in columns.items() if not _same(v, row.stored.get(c))}
            if differing:
                changed.append((row, differing))
            else:
                self.outcome.unchanged += 1
        self.outcome.added += len(new)
        self.outcome.updated += len(changed)
        for row, differing in changed:
            self.note_changes(row, differing)
        if self.writing:
            self.insert(new)
            self.update(changed)
        self.remember(new)

    def note_changes(self, row: _Row, differing: Mapping[str, Any]) -> None:
        for column, new in differing.items():
            f = self.by_column.get(column)
            if f is None:
                continue
            self.outcome.changed_fields += 1
            if len(self.outcome.changes) < SHOWN_CHANGES:
                self.outcome.changes.append(Change(row.number, self.key_text(row), f.name,
                                                   self.as_written(f, row.stored.get(column) if row.stored else None),
                                                   self.as_written(f, new)))

    def key_text(self, row: _Row) -> str:
        names = self.schema.keys[row.key_set]
        parts = []
        shown_columns: set[str] = set()
        for n in names:
            f = self.schema.field(n)
            if f.ref is not None and f.ref_column in shown_columns:
                continue   # the event's start date is shown with its name
            shown_columns.add(f.ref_column or "")
            parts.append(_text(row.values.get(n)) if f.ref is None
                         else self.targets[f.ref_column or ""].shown.get(row.ids.get(f.ref_column or "") or 0, ""))
        return " / ".join(p for p in parts if p)

    def as_written(self, f: Field, value: Any) -> Any:
        """A stored value as the reader's file would write it: yuan, a label, a key."""
        if value is None:
            return None
        if f.ref is not None:
            return self.targets[f.ref_column or ""].shown.get(value, value)
        lang = self.outcome.lang
        written = cells.write_cell(f, value, lang)
        return _text(written) if isinstance(written, (dt.date, dt.datetime)) else written

    # -- writing --

    def full_row(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        """Every column (executemany needs the same keys in each row); a missing one takes its default."""
        out: dict[str, Any] = {}
        for name, scalar, default in self.insert_plan:
            value = columns.get(name)
            out[name] = default if value is None and scalar else value
        if self.versioned:
            out["version"] = 1
        return out

    def plan_insert(self) -> None:
        """The INSERT of new rows compiled once, with each column's bind processor: a chunk's rows go
        to the driver's executemany as they are, without the statement being built again per row.
        The values are those of ``full_row``, processed as SQLAlchemy processes them."""
        dialect = self.conn.dialect
        names = [name for name, _, _ in self.insert_plan] + (["version"] if self.versioned else [])
        compiled = insert(self.table).compile(dialect=dialect, column_keys=list(dict.fromkeys(names)))
        order = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        self.insert_sql: str | None = None
        if sorted(order) != sorted(set(names)) or getattr(compiled, "escaped_bind_names", None):
            return   # bind names that are not the column names: the general path
        plan = {name: (False, scalar, default) for name, scalar, default in self.insert_plan}
        if self.versioned:
            plan["version"] = (True, True, 1)   # a new row is version 1
        self.insert_order = [(name, *plan[name], self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                             for name in order]
        self.insert_names = [name for name, *_ in self.insert_order]
        self.insert_special = [(i, *rest) for i, (_, *rest) in enumerate(self.insert_order)
                               if rest[0] or rest[1] or rest[3] is not None]   # a fixed value, a default or a processor
        self.insert_positional = compiled.positional
        self.insert_sql = str(compiled)

    def insert(self, new: list[tuple[_Row, dict[str, Any]]]) -> None:
        if not new:
            return
        if self.insert_sql is None:
            self.conn.execute(insert(self.table), [self.full_row(columns) for _, columns in new])
        else:
            names, special = self.insert_names, self.insert_special
            rows: list[Any] = []
            for _, columns in new:
                get = columns.get
                values = [get(name) for name in names]
                for i, fixed, scalar, default, process in special:
                    value = default if fixed else values[i]
                    if value is None and scalar:
                        value = default
                    values[i] = value if process is None else process(value)
                rows.append(tuple(values))
            if not self.insert_positional:
                rows = [dict(zip(names, row, strict=True)) for row in rows]
            self.conn.exec_driver_sql(self.insert_sql, rows)
        self.note_customers(columns for _, columns in new)

    def update(self, changed: list[tuple[_Row, dict[str, Any]]]) -> None:
        versioned = "version" in self.table.c
        for row, differing in changed:
            assert row.stored is not None
            where = and_(*(c == row.stored[c.name] for c in self.pk))
            values = dict(differing)
            if versioned:
                where = and_(where, self.table.c.version == row.stored["version"])
                values["version"] = row.stored["version"] + 1
            if self.conn.execute(update(self.table).where(where).values(**values)).rowcount != 1:
                raise _Changed(row.number)
            key = tuple(row.stored[c.name] for c in self.pk)
            writes.audit(self.session, self.actor, "update", self.table.name, key[0] if len(key) == 1 else key,
                         {c: row.stored.get(c) for c in values}, values)
        self.note_customers(row.stored or {} for row, _ in changed)

    def note_customers(self, rows: Iterable[Mapping[str, Any]]) -> None:
        if self.schema.after_import:
            self.customers.update(r["customer_id"] for r in rows if r.get("customer_id") is not None)

    def remember(self, new: list[tuple[_Row, dict[str, Any]]]) -> None:
        """Rows added by the file are stored rows for the file's later rows: as keys of the entity,
        and as targets of its references to itself (a renewal of a contract above it)."""
        if not new or not (self.own_indexed or self.self_groups):
            return
        ids: dict[tuple[Any, ...], int] = {}
        if self.generated is not None and self.writing:
            ids = self.ids_of([row for row, _ in new])
        for row, _ in new:
            ident = ids.get(row.key)
            if ident is None:
                self.stand_in -= 1
                ident = self.stand_in
            if self.own_indexed:
                self.own[row.key_set][row.key] = (ident,)
            for group in self.self_groups:
                key = tuple(_key_part(g.kind, row.values.get(g.ref_field or "")) for g in group)
                self.targets[group[0].ref_column or ""].add(
                    key, ident, " / ".join(_text(row.values.get(g.ref_field or "")) for g in group))

    def ids_of(self, rows: list[_Row]) -> dict[tuple[Any, ...], int]:
        """The ids the store gave the rows just added (only needed for entities referring to themselves)."""
        if not any(g[0].ref == self.schema.entity for g in self.groups.values()):
            return {}
        names = self.schema.keys[0]
        columns = _key_columns(self.schema.entity, names)
        first = columns[0][0]
        found: dict[tuple[Any, ...], int] = {}
        texts = sorted({str(row.values.get(names[0])) for row in rows})
        for start in range(0, len(texts), 500):
            query = select(self.generated, *(c for c, _ in columns)).where(first.in_(texts[start:start + 500]))
            for stored in self.conn.execute(query):
                found[tuple(_key_part(k, v) for (_, k), v in zip(columns, stored[1:], strict=True))] = stored[0]
        return found

    def run(self) -> None:
        self.plan()
        batch: list[tuple[int, tuple[object, ...]]] = []
        for item in self.file.rows:
            self.outcome.rows += 1
            batch.append(item)
            if len(batch) >= CHUNK_ROWS:
                self.chunk(batch)
                batch = []
        self.chunk(batch)
        while self.pending:   # rows naming a row of the same file further down (a renewal above its contract)
            waiting, self.pending = self.pending, []
            self.chunk(waiting)
            if len(self.pending) == len(waiting):
                for number, raw in self.pending:
                    group = next(g for g in self.groups.values() if g[0].ref == self.schema.entity)
                    header = next((self.outcome.header[i] for i, f in self.positions if f.name == group[0].name), "")
                    value = next((raw[i] for i, f in self.positions if f.name == group[0].name), "")
                    self.reject(number, raw, [Problem(number, header, Phrase(
                        "import.no_reference", value=_text(value), **_ref_words(group)))])
                self.pending = []
        if self.writing and self.schema.after_import and self.customers:
            module, _, function = self.schema.after_import.partition(":")
            getattr(importlib.import_module(module), function)(self.conn, self.customers)


_TIME_MARGIN = {Kind.date: dt.timedelta(days=1), Kind.datetime: dt.timedelta(seconds=1)}
_SPREAD = 50   # stored rows a range may hold per row of the chunk before the ids are asked for one by one


def _key_ranges(columns: list[tuple[Any, Kind]], rows: list[_Row]) -> Iterable[Any]:
    """WHERE clauses that together hold every stored row whose key a row of ``rows`` has."""
    timed = [j for j, (_, kind) in enumerate(columns) if kind in _TIME_MARGIN]
    exact = [j for j in range(len(columns)) if j not in timed]

    def clause(group: list[_Row]) -> Any:
        parts = [columns[j][0].in_(sorted({row.key[j] for row in group})) for j in exact]
        for j in timed:
            margin = _TIME_MARGIN[columns[j][1]]
            values = [row.key[j] for row in group]
            parts.append(columns[j][0].between(min(values) - margin, max(values) + margin))
        return and_(*parts)

    if not timed or not exact:
        return [clause(rows)]
    days = max((max(r.key[j] for r in rows) - min(r.key[j] for r in rows)).days + 1 for j in timed)
    ids = {tuple(row.key[j] for j in exact) for row in rows}
    if len(ids) * days <= _SPREAD * len(rows):
        return [clause(rows)]
    by_id: dict[tuple[Any, ...], list[_Row]] = {}
    for row in rows:
        by_id.setdefault(tuple(row.key[j] for j in exact), []).append(row)
    return [clause(group) for group in by_id.values()]


class _Changed(Exception):
    """A stored row changed between reading and writing it (someone else saved it meanwhile)."""

    def __init__(self, row: int):
        super().__init__(row)
        self.row = row


def _ref_words(group: list[Field]) -> dict[str, Any]:
    first = group[0]
    if first.ref in LOOKUPS:
        lookup = LOOKUPS[first.ref]
        return {"entity": Either(lookup.en, lookup.zh), "what": Either(first.en, first.zh)}
    target = SCHEMAS[first.ref or ""]
    return {"entity": Either(target.en, target.zh), "what": Either(first.en, first.zh)}


def _same(new: Any, old: Any) -> bool:
    """A file's value and a stored one are the same (a blank text and NULL are; dates as dates)."""
    if new in (None, "") and old in (None, ""):
        return True
    if isinstance(old, str) and isinstance(new, (dt.date, dt.datetime)):
        old = _key_part(Kind.datetime if isinstance(new, dt.datetime) else Kind.date, old)
    if isinstance(new, dt.datetime) and isinstance(old, dt.datetime):
        return new.replace(tzinfo=None) == old.replace(tzinfo=None)
    return bool(new == old)


# --- saved mappings -----------------------------------------------------------------------------------

MAPPINGS_SETTING = "import.mappings"
UPLOAD_SETTING = "import.max_upload_mb"


def saved_mappings(conn: Connection, entity: str | None = None) -> dict[str, Columns]:
    """Saved column mappings by name (of ``entity`` only, when given)."""
    from ops_core import settings

    stored = settings.get(conn, MAPPINGS_SETTING) or {}
    return {name: dict(saved["columns"]) for name, saved in sorted(stored.items())
            if entity is None or saved.get("entity") == entity}


def save_mapping(session: Any, actor: writes.Actor, name: str, entity: str, columns: Columns) -> None:
    """Keep ``columns`` under ``name`` (replacing a mapping of that name) through the settings' write
    path: admin only, versioned, audited."""
    from ops_core import settings

    name = " ".join(name.split())
    if not name:
        raise UsageError("a mapping needs a name")
    schema_for(entity)
    table = settings.settings_table
    found = session.execute(select(table.c.value, table.c.version).where(table.c.key == MAPPINGS_SETTING)).first()
    stored, version = (dict(found[0] or {}), found[1]) if found is not None else ({}, 0)
    stored[name] = {"entity": entity, "columns": {header: field for header, field in columns.items() if field}}
    settings.change(session, actor, MAPPINGS_SETTING, stored, version)


def mapping_named(conn: Connection, entity: str, name: str) -> Columns:
    """The saved mapping ``name`` of ``entity``; UsageError naming the saved ones when there is none."""
    found = saved_mappings(conn, entity)
    if name not in found:
        known = ", ".join(found) or "none"
        raise UsageError(f"there is no saved mapping '{name}' for {entity}; saved: {known}")
    return found[name]


def columns_for(header: Sequence[str], entity: str, saved: Mapping[str, str | None] | None) -> Columns:
    """The mapping of this file: a saved mapping's choices for the headers it knows, the suggestion
    for the others."""
    suggested = suggest_columns(entity, header)
    if saved is None:
        return suggested
    chosen = {name: saved.get(name) for name in header if name in saved}
    taken = set(chosen.values())
    return {name: chosen[name] if name in chosen else (suggested[name] if suggested[name] not in taken else None)
            for name in header}


# --- entry points ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peek:
    """A file's header, what was detected and its first rows: what the column mapping is shown beside."""

    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    detected: TableFile


def upload_limit(conn: Any) -> int:
    """The largest file an import accepts, in bytes: the setting ``import.max_upload_mb`` capped by the
    server's ``OPS_IMPORT_MAX_MB`` (``readers.size_limit``)."""
    from ops_core import settings

    return size_limit(settings.get(conn, UPLOAD_SETTING))


def peek(source: bytes | str | os.PathLike[str] | BinaryIO, filename: str, *, sheet: str | None = None,
         limit: int | None = None) -> Peek:
    """The header and first ``PREVIEW_ROWS`` rows of a file (FileProblem when it cannot be read); ``limit``:
    the largest file accepted in bytes (``upload_limit``; default the server's)."""
    with open_table(source, filename, sheet=sheet, size_limit=limit) as table:
        rows = []
        for _, raw in table.rows:
            rows.append(raw)
            if len(rows) >= PREVIEW_ROWS:
                break
        return Peek(table.header, tuple(rows), table)


def run(engine: Engine, actor: writes.Actor, entity: str, source: bytes | str | os.PathLike[str] | BinaryIO,
        filename: str, *, columns: Columns | None = None, sheet: str | None = None, dry_run: bool = False,
        valid_rows: bool = False, lang: str = "en") -> Outcome:
    """Import (or with ``dry_run`` preview) a file of ``entity``; see the module's docstring.

    ``columns`` maps the file's headers to fields (default: ``suggest_columns``). Refuses
    (PermissionDenied) anyone but an admin; FileProblem when the file cannot be
    read at all; every other problem is in the returned Outcome, not raised.
    """
    schema = schema_for(entity)
    writes.require_role(actor, Role.admin, f"import {entity}")  # imports are an admin's (a preview too)
    writes.check_write(actor, schema.table, "import")
    if i18n.lists_in_force() is None:   # industries, regions, product lines: the store's lists, read once
        with engine.connect() as conn, company_lists.in_force(conn):
            return run(engine, actor, entity, source, filename, columns=columns, sheet=sheet, dry_run=dry_run,
                       valid_rows=valid_rows, lang=lang)
    with engine.connect() as conn:
        limit = upload_limit(conn)
    with open_table(source, filename, sheet=sheet, size_limit=limit) as table_file:
        outcome = Outcome(entity, os.path.basename(filename), header=tuple(table_file.header),
                          columns=dict(columns) if columns is not None else suggest_columns(entity, table_file.header),
                          detected=table_file, dry_run=dry_run, valid_rows=valid_rows, lang=lang)
        if dry_run:
            with engine.connect() as conn:
                job = _Import(conn, actor, schema, table_file, outcome.columns, outcome, write=False)
                if job.check_columns():
                    job.load_indexes()
                    job.run()
            return outcome
        try:
            with transaction(engine) as session:
                conn = session.connection()
                job = _Import(conn, actor, schema, table_file, outcome.columns, outcome, write=True, session=session)
                if not job.check_columns():
                    raise _Rollback
                job.load_indexes()
                job.run()
                if outcome.refused:
                    raise _Rollback
                if outcome.added or outcome.updated:
                    writes.record_bulk(session, actor, schema.table, "import", {
                        "entity": entity, "file": outcome.source, "rows": outcome.rows, "added": outcome.added,
                        "updated": outcome.updated, "unchanged": outcome.unchanged, "rejected": outcome.rejected})
        except _Rollback:
            return outcome
        except _Changed as exc:
            outcome.problems.append(Problem(exc.row, "", Phrase("import.changed_meanwhile")))
            return outcome
        except (IntegrityError, DataError) as exc:   # e.g. another import committed the same key meanwhile
            outcome.problems.append(Problem(None, "", Phrase("problem.refused", reason=first_line(exc))))
            return outcome
        outcome.written = outcome.added + outcome.updated > 0
        return outcome

