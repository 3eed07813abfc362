"""Importing and exporting entities from CSV and Excel files, for the data page and the command line.

An import is all or nothing: every row is validated by the write path (``writes.validate``), keys and
references are checked inside the file and against the store, and only when no problem is left are
all rows written in one transaction with one audit row. Row numbers in problems are the rows a
person sees in the file: with no note rows, the header is row 1 and the first data row is row 2
(leading ``# `` note rows, as our own exports may carry, are counted too). Files are read by
``ops_core.readers``: CSV in UTF-8, GB18030/GBK or UTF-16 with comma, semicolon or tab, or .xlsx.

Command line (a scheduler or a script)::

    python -m ops_core.io import ENTITY FILE [--database-url URL]
    python -m ops_core.io export ENTITY FILE [--lang zh|en] [--unmasked] [--database-url URL]
    python -m ops_core.io template ENTITY FILE [--lang zh|en]
    python -m ops_core.io copy --to URL [--database-url URL] [--replace]    # ops_core.store_copy
    python -m ops_core.io backup FILE [--database-url URL]                   # ops_core.store_copy

It applies the migrations first, acts as ``writes.LOCAL_ADMIN``, prints one summary line on success
and exits with code 2 and clear lines (no traceback) on any problem.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Table,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlalchemy import insert as sql_insert
from sqlalchemy.exc import DataError, IntegrityError

from ops_core import cli, writes
from ops_core.config import redact_url
from ops_core.db.bulk import reset_sequences
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.errors import UsageError, ValidationError, first_line
from ops_core.exports import (
    TooManyRowsForExcel,
    to_csv_bytes,
    to_excel_bytes,
)
from ops_core.i18n import LANGUAGES, Phrase, say
from ops_core.readers import open_table

# --- what can be imported and exported ---------------------------------------------------------


@dataclass(frozen=True)
class Entity:
    """One importable/exportable entity: its table, its file columns and what to refresh after a load.

    File columns are the table's columns (ids included, so export -> import into an empty store
    round-trips) without ``version``, which the store manages.
    """

    name: str
    table_name: str
    columns: tuple[str, ...]
    after_import: str | None = None  # "module:function" called with the Connection and the file's customer ids

    @property
    def table(self) -> Table:
        return TABLES[self.table_name]


def _entity(name: str, table_name: str, after_import: str | None = None) -> Entity:
    columns = tuple(c.name for c in TABLES[table_name].c if c.name != "version")
    return Entity(name, table_name, columns, after_import)


# In load order: an entity only refers to entities above it.
ENTITIES: dict[str, Entity] = {e.name: e for e in (
    _entity("customers", "customers"),
    _entity("contacts", "contacts"),
    _entity("contracts", "contracts"),
    _entity("invoices", "invoices"),
    _entity("payments", "payments"),
    _entity("usage", "usage_daily", after_import="ops_core.db.rollups:refresh_usage_monthly"),
    _entity("feedback", "feedback"),
    _entity("events", "events"),
    _entity("event_costs", "event_costs"),
    _entity("leads", "leads"),
    _entity("lead_touches", "lead_touches"),
)}


def entity_for(name: str) -> Entity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise UsageError(f"unknown entity '{name}'; known: {', '.join(ENTITIES)}") from None


# --- writing files -----------------------------------------------------------------------------
# An entity's export is its file-schema file (``ops_core.entity_files``); these write any table.


def write_export(df: pd.DataFrame, path: str | os.PathLike[str], *, notes: Sequence[str] | None = None,
                 sheet_name: str = "data") -> Path:
    """Write ``df`` as CSV (UTF-8 with BOM) or .xlsx by the file's extension, neutralised; atomically."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        data = to_csv_bytes(df, notes=notes)
    elif suffix == ".xlsx":
        try:
            data = to_excel_bytes(df, sheet_name, notes)
        except TooManyRowsForExcel as exc:
            raise UsageError(str(exc)) from None
    else:
        raise UsageError(f"cannot write '{target.name}': use a .csv or .xlsx file name")
    return save_file(data, target)


def save_file(data: bytes, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` to ``path`` atomically: a reader never sees half a file."""
    target = Path(path)
    if not target.parent.is_dir():
        raise UsageError(f"cannot write '{target}': the folder {target.parent} does not exist")
    # Written beside the target and renamed, so a reader never sees half a file.
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


# --- reading files -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawTable:
    """A file's header and data rows as read, each data row with the row number a person sees."""

    header: tuple[str, ...]
    header_row: int
    rows: tuple[tuple[int, tuple[Any, ...]], ...]


def read_table_file(source: bytes | str | os.PathLike[str] | BinaryIO, filename: str, *,
                    sheet: str | None = None) -> RawTable:
    """Every row of a CSV (any common encoding and delimiter) or .xlsx file, read by ``readers.open_table``;
    FileProblem (a UsageError) with the reason when unreadable or over the size limit."""
    with open_table(source, filename, sheet=sheet) as table:
        return RawTable(table.header, table.header_row, tuple(table.rows))


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and cell.strip() == "")


# --- import ------------------------------------------------------------------------------------

Problem = tuple[int | None, str, str]


@dataclass
class ImportReport:
    """What an import did: rows read and written, and every problem as (row, field, message)."""

    entity: str
    source: str
    rows_read: int = 0
    rows_written: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """One line per problem: "row 7, field 'amount_cents': 'abc' is not a whole number"."""
        out = []
        for row, name, message in self.problems:
            where = [f"row {row}"] if row is not None else []
            where += [f"field '{name}'"] if name else []
            out.append(f"{', '.join(where) or 'file'}: {message}")
        return out

    def summary(self) -> str:
        if self.ok:
            return f"imported {self.rows_written} {self.entity} rows from {self.source}"
        return (f"{self.source}: {len(self.problems)} problems in {self.rows_read} {self.entity} rows; "
                "nothing was imported")

    def to_dataframe(self, lang: str = "en") -> pd.DataFrame:
        """The problems as a table for the data page (columns row, field, message), read in ``lang``."""
        rows = [(row, say(name, lang), say(message, lang)) for row, name, message in self.problems]
        return pd.DataFrame(rows, columns=["row", "field", "message"]).astype({"row": "Int64"})


def _fill_defaults(table: Table, clean: dict[str, Any], key: Column | None) -> dict[str, Any]:
    """Every column given (executemany needs the same keys in each row); empty cells take the default."""
    out: dict[str, Any] = {}
    for column in table.c:
        if column is key:
            continue
        value = clean.get(column.name)
        if value is None and column.default is not None and getattr(column.default, "is_scalar", False):
            value = column.default.arg
        out[column.name] = value
    if "version" in table.c:
        out["version"] = 1
    return out


def check_rows(spec: Entity, raw: RawTable) -> tuple[list[tuple[int, dict[str, Any]]], list[Problem]]:
    """Typed rows and every problem that can be found without the store (header, cells, keys in the file)."""
    table = spec.table
    problems: list[Problem] = []
    header = raw.header
    seen: set[str] = set()
    for index, name in enumerate(header):
        if name == "":
            problems.append((raw.header_row, Phrase("problem.column_n", number=index + 1), Phrase("problem.no_name")))
        elif name in seen:
            problems.append((raw.header_row, name, Phrase("problem.twice")))
        elif name not in spec.columns and name != "version":  # version is the store's; ignored
            problems.append((raw.header_row, name, Phrase("problem.not_column", entity=spec.name,
                                                           columns=", ".join(spec.columns))))
        seen.add(name)
    key = writes.generated_key(table)
    for column in table.c:
        needed = not column.nullable and column.default is None and column is not key
        if column.name != "version" and needed and column.name not in seen:
            problems.append((raw.header_row, column.name, Phrase("problem.missing_column")))
    if problems:  # without a usable header, row-by-row messages would only repeat it
        return [], problems

    used = [(i, name) for i, name in enumerate(header) if name != "version"]
    pk_columns = list(table.primary_key.columns)
    typed: list[tuple[int, dict[str, Any]]] = []
    for number, cells in raw.rows:
        extra = [c for c in cells[len(header):] if not _blank(c)]
        if extra:
            problems.append((number, "", Phrase("problem.too_many_values", count=len(header) + len(extra), header=len(header))))
            continue
        values = {name: (cells[i] if i < len(cells) else None) for i, name in used}
        try:
            clean = writes.validate(table, values, row=number, creating=True)
        except ValidationError as exc:
            problems.extend(exc.problems)
            continue
        typed.append((number, clean))

    for columns in [pk_columns, *_unique_columns(table)]:
        first_row: dict[tuple[Any, ...], int] = {}
        label = ", ".join(c.name for c in columns)
        for number, clean in typed:
            value = tuple(clean.get(c.name) for c in columns)
            if any(v is None for v in value):
                continue
            if value in first_row:
                problems.append((number, label, Phrase("problem.used_in_row", value=_show(value), row=first_row[value])))
            else:
                first_row[value] = number
    return typed, problems


def _unique_columns(table: Table) -> list[list[Column]]:
    """Column sets the store keeps unique besides the primary key (codes, invoice numbers)."""
    found: dict[tuple[str, ...], list[Column]] = {(c.name,): [c] for c in table.c if c.unique}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns):
            found.setdefault(tuple(c.name for c in constraint.columns), list(constraint.columns))
    return list(found.values())


def _show(value: tuple[Any, ...]) -> str:
    parts = [v.isoformat() if isinstance(v, dt.date) else str(v) for v in value]
    return f"'{parts[0]}'" if len(parts) == 1 else "(" + ", ".join(parts) + ")"


_CHUNK = 500


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _existing(conn: Connection, columns: list[Column], values: Iterable[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """Which of ``values`` (tuples over ``columns``) are already stored."""
    wanted = set(values)
    if not wanted:
        return set()
    if len(columns) == 1:
        found: set[tuple[Any, ...]] = set()
        flat = sorted({v[0] for v in wanted}, key=repr)
        for chunk in _chunks(flat):
            found.update((v,) for v in conn.execute(select(columns[0]).where(columns[0].in_(chunk))).scalars())
        return found
    # Composite keys (usage by customer and day): narrow by each column's range, match in Python.
    query = select(*columns)
    for i, column in enumerate(columns):
        present = [v[i] for v in wanted]
        query = query.where(column.between(min(present), max(present)))
    return {tuple(r) for r in conn.execute(query)} & wanted


def check_store(conn: Connection, spec: Entity, typed: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    """Problems against the store: keys and unique values already used, references to missing rows."""
    table = spec.table
    problems: list[Problem] = []
    for columns in [list(table.primary_key.columns), *_unique_columns(table)]:
        label = ", ".join(c.name for c in columns)
        keyed = [(n, tuple(clean.get(c.name) for c in columns)) for n, clean in typed]
        keyed = [(n, v) for n, v in keyed if all(x is not None for x in v)]
        taken = _existing(conn, columns, (v for _, v in keyed))
        problems += [(n, label, Phrase("problem.in_store", value=_show(v))) for n, v in keyed if v in taken]
    pk = list(table.primary_key.columns)
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        target = fk.column
        referenced = [(n, clean.get(fk.parent.name)) for n, clean in typed if clean.get(fk.parent.name) is not None]
        known = {v[0] for v in _existing(conn, [target], ((v,) for _, v in referenced))}
        if target.table is table and len(pk) == 1:  # a row may refer to another row of the same file
            known |= {clean.get(target.name) for _, clean in typed}
        problems += [(n, fk.parent.name, Phrase("problem.no_reference", table=target.table.name, column=target.name, value=v))
                     for n, v in referenced if v not in known]
    return sorted(problems, key=lambda p: (p[0] or 0, p[1]))


def _self_references(table: Table) -> list[Column]:
    return [fk.parent for fk in table.foreign_keys if fk.column.table is table]


def _write(conn: Connection, spec: Entity, typed: list[tuple[int, dict[str, Any]]]) -> None:
    """Insert all rows (executemany); self-references are set afterwards so file order does not matter."""
    table = spec.table
    key = writes.generated_key(table)
    self_refs = _self_references(table)
    with_key: list[dict[str, Any]] = []
    without_key: list[dict[str, Any]] = []
    links: list[tuple[Column, Any, Any]] = []
    for _, clean in typed:
        row = _fill_defaults(table, clean, key)
        if key is not None and clean.get(key.name) is not None:
            row[key.name] = clean[key.name]
            for column in self_refs:
                if row.get(column.name) is not None:
                    links.append((column, clean[key.name], row[column.name]))
                    row[column.name] = None
            with_key.append(row)
        else:
            without_key.append(row)
    for batch in (with_key, without_key):
        if batch:
            conn.execute(sql_insert(table), batch)
    for column in self_refs:
        pairs = [{"b_key": k, "b_value": v} for c, k, v in links if c is column]
        if pairs:
            statement = update(table).where(key == bindparam("b_key")).values({column.name: bindparam("b_value")})
            conn.execute(statement, pairs)
    if key is not None and with_key:
        reset_sequences(conn, [table.name])  # explicit ids leave PostgreSQL's sequence behind


def _after_import(conn: Connection, spec: Entity, typed: list[tuple[int, dict[str, Any]]]) -> None:
    """Refresh what is derived from the entity (usage roll-up) for the customers in the file."""
    if spec.after_import:
        module, _, function = spec.after_import.partition(":")
        customer_ids = {clean["customer_id"] for _, clean in typed if clean.get("customer_id") is not None}
        getattr(importlib.import_module(module), function)(conn, customer_ids)


def import_rows(engine: Engine, actor: writes.Actor, entity: str, raw: RawTable, source: str, *,
                dry_run: bool = False) -> ImportReport:
    """Validate every row of ``raw`` and write all of them in one transaction, or none.

    Refuses (PermissionDenied) an actor who may not change the entity. Problems are returned in the
    report, not raised; the store is unchanged whenever the report has problems. ``dry_run`` checks
    everything (store included) and writes nothing: the data page's preview.
    """
    spec = entity_for(entity)
    writes.check_write(actor, spec.table_name, "import")
    report = ImportReport(spec.name, source, rows_read=len(raw.rows))
    typed, report.problems = check_rows(spec, raw)
    if report.problems or not typed:
        return report
    try:
        with transaction(engine) as session:
            conn = session.connection()
            report.problems = check_store(conn, spec, typed)
            if report.problems or dry_run:
                return report  # nothing written; the empty transaction commits harmlessly
            _write(conn, spec, typed)
            _after_import(conn, spec, typed)
            writes.record_bulk(session, actor, spec.table_name, "import",
                               {"entity": spec.name, "rows": len(typed), "file": source})
    except (IntegrityError, DataError) as exc:  # e.g. another import committed the same key meanwhile
        report.problems = [(None, "", Phrase("problem.refused", reason=first_line(exc)))]
        return report
    report.rows_written = len(typed)
    return report


def import_entity(engine: Engine, actor: writes.Actor, entity: str, path: str | os.PathLike[str]) -> ImportReport:
    """Import a CSV or .xlsx file of ``entity`` all or nothing; see ``import_rows``."""
    spec = entity_for(entity)
    writes.check_write(actor, spec.table_name, "import")
    source = Path(path)
    return import_rows(engine, actor, spec.name, read_table_file(source, source.name), source.name)


# --- command line ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops_core.io", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("import", "load a CSV or .xlsx file into the store, all rows or none"),
                       ("export", "write an entity's file (.csv or .xlsx): headers in the chosen language, yuan, labels, "
                                  "business keys, no internal ids")):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("entity", help=f"one of: {', '.join(ENTITIES)}")
        sub.add_argument("file", type=Path)
        sub.add_argument("--database-url", default=None, help="default: OPS_DATABASE_URL or the embedded SQLite file")
        if name == "export":
            sub.add_argument("--lang", choices=("en", "zh"), default="en",
                             help="the language of the headers, labels and notes")
            sub.add_argument("--unmasked", action="store_true", help="write names, phones and e-mails in full")
    text = "write a .csv or .xlsx template of an entity's file: headers, each field described, one example row"
    sub = commands.add_parser("template", help=text, description=text)
    sub.add_argument("entity", help=f"one of: {', '.join(ENTITIES)}")
    sub.add_argument("file", type=Path)
    sub.add_argument("--lang", choices=("en", "zh"), default="en", help="the language of the headers and notes")
    text = "copy the whole store (every table, the audit log included) into an empty store of either engine"
    sub = commands.add_parser("copy", help=text, description=text)
    sub.add_argument("--to", required=True, metavar="URL", help="the target store, e.g. postgresql+psycopg://USER@HOST:5432/DB")
    sub.add_argument("--database-url", default=None, help="the source; default: OPS_DATABASE_URL or the embedded SQLite file")
    sub.add_argument("--replace", action="store_true", help="empty a target that has rows, in the copy's transaction")
    text = "write a consistent copy of the running SQLite store to FILE (SQLite's online backup, WAL included)"
    sub = commands.add_parser("backup", help=text, description=text)
    sub.add_argument("file", type=Path)
    sub.add_argument("--database-url", default=None, help="default: OPS_DATABASE_URL or the embedded SQLite file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 2 with one or more clear lines on stderr otherwise."""
    args = _parser().parse_args(argv)
    if args.command in ("copy", "backup"):
        from ops_core import store_copy

        return store_copy.main(args)

    def body() -> int:
        if args.command == "export":
            return _export(args.entity, args.file, args.lang, masked=not args.unmasked, database_url=args.database_url)
        entity_for(args.entity)
        if args.command == "template":
            return _template(args.entity, args.file, args.lang)
        if args.command == "import" and not args.file.is_file():
            reason = "is a folder, not a file" if args.file.is_dir() else "not found"
            raise UsageError(f"file {reason}: {args.file}")
        with cli.open_store(args.database_url) as engine:
            if args.command == "import":
                report = import_entity(engine, writes.LOCAL_ADMIN, args.entity, args.file)
                if not report.ok:
                    for line in report.lines():
                        print(line, file=sys.stderr)
                    print(f"error: {report.summary()}", file=sys.stderr)
                    return 2
                print(f"{report.summary()} into {redact_url(engine.url)}")
        return 0

    return cli.run(body, args.file)


def _export(entity: str, path: Path, lang: str, *, masked: bool, database_url: str | None) -> int:
    """Write ``entity``'s file in ``lang`` from the store, its notes saying what it holds."""
    from ops_core import entity_files

    entity_files.schema_for(entity)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        raise UsageError(f"cannot write '{path.name}': use a .csv or .xlsx file name")
    if not path.parent.is_dir():
        raise UsageError(f"cannot write '{path}': the folder {path.parent} does not exist")
    with cli.open_store(database_url) as engine:
        with engine.connect() as conn:
            df = entity_files.export_file(conn, entity, lang, masked=masked)
        notes = entity_files.export_notes(entity, len(df), lang, masked=masked, made_at=dt.datetime.now(dt.UTC))
        target = save_file(entity_files.file_bytes(df, entity, lang, fmt, notes=notes), path)
        about = [LANGUAGES[lang]]
        if entity_files.has_personal_data(entity):
            about.append("personal data masked" if masked else "personal data in full")
        print(f"exported {len(df)} {entity} rows ({', '.join(about)}) to {target} from {redact_url(engine.url)}")
    return 0


def _template(entity: str, path: Path, lang: str) -> int:
    """Write the template of ``entity``'s file (needs no store)."""
    from ops_core import entity_files

    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        raise UsageError(f"cannot write '{path.name}': use a .csv or .xlsx file name")
    target = save_file(entity_files.template_bytes(entity, lang, fmt), path)
    print(f"wrote the {entity} template ({LANGUAGES[lang]}) to {target}")
    return 0


if __name__ == "__main__":
    from ops_core.cli import run_module

    run_module("ops_core.io")
