"""Importing and exporting entities from CSV and Excel files, for the data page and the command line.

An import reads the file in the person's terms (their headers, yuan, labels, business keys), by the
entity's file schema; ``ops_core.importer`` previews it (added, updated, unchanged, rejected) and
writes it in one transaction, all rows or none unless the valid rows are asked for. Row numbers in
problems are the rows a person sees in the file. Files are read by ``ops_core.readers``: CSV in
UTF-8, GB18030/GBK or UTF-16 with comma, semicolon or tab, or .xlsx.

Command line (a scheduler or a script)::

    python -m ops_core.io import ENTITY FILE [--dry-run] [--valid-rows [--rejected FILE]] [--mapping NAME]
                                             [--sheet SHEET] [--lang zh|en] [--database-url URL]
    python -m ops_core.io export ENTITY FILE [--lang zh|en] [--unmasked] [--database-url URL]
    python -m ops_core.io template ENTITY FILE [--lang zh|en]
    python -m ops_core.io copy --to URL [--database-url URL] [--replace]    # ops_core.store_copy
    python -m ops_core.io backup FILE [--database-url URL]                   # ops_core.store_copy

It applies the migrations first, acts as ``writes.LOCAL_ADMIN`` (whoever can run it holds the store),
prints one summary line on success and exits with code 2 and clear lines (no traceback) on any
problem. An ``--unmasked`` export leaves an audit row (``local-admin``, the entity, its rows, the file).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from ops_core import cli, importer, writes
from ops_core.config import redact_url
from ops_core.errors import UsageError
from ops_core.exports import TooManyRowsForExcel, reader_csv_bytes, reader_excel_bytes
from ops_core.fileschema import SCHEMAS
from ops_core.i18n import LANGUAGES, t
from ops_core.present import Column
from ops_core.readers import open_table

# --- what can be imported and exported ---------------------------------------------------------


# The entities a file can hold, in load order: an entity only refers to entities above it. What each
# file looks like is its file schema (ops_core.fileschema).
ENTITIES: tuple[str, ...] = tuple(SCHEMAS)


def entity_for(name: str) -> str:
    """``name`` if it is an entity a file can hold; UsageError naming the known ones otherwise."""
    if name not in SCHEMAS:
        raise UsageError(f"unknown entity '{name}'; known: {', '.join(ENTITIES)}")
    return name


# --- writing files -----------------------------------------------------------------------------
# An entity's export is its file-schema file (``ops_core.entity_files``); these write any table.


def write_export(df: pd.DataFrame, path: str | os.PathLike[str], lang: str, *, notes: Sequence[str] | None = None,
                 sheet_name: str = "data", columns: Mapping[str, Column] | None = None) -> Path:
    """Write a stored frame as a person reads it (``present``: headers in ``lang``, yuan, labels;
    ``columns`` the frame's own headers), as CSV (UTF-8 with BOM) or .xlsx by the file's extension,
    neutralised; atomically."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        data = reader_csv_bytes(df, lang, notes=notes, columns=columns)
    elif suffix == ".xlsx":
        try:
            data = reader_excel_bytes(df, lang, sheet_name=sheet_name, notes=notes, columns=columns)
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


# --- import ------------------------------------------------------------------------------------


def import_entity(engine: Engine, actor: writes.Actor, entity: str, path: str | os.PathLike[str], *,
                  columns: importer.Columns | None = None, sheet: str | None = None, dry_run: bool = False,
                  valid_rows: bool = False, lang: str = "en") -> importer.Outcome:
    """Import (or preview) a CSV or .xlsx file of ``entity`` by its file schema; see ``ops_core.importer``."""
    source = Path(path)
    return importer.run(engine, actor, entity, source, source.name, columns=columns, sheet=sheet, dry_run=dry_run,
                        valid_rows=valid_rows, lang=lang)


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
        else:
            sub.add_argument("--dry-run", action="store_true",
                             help="check the file against the store and say what it would add, update and reject; write nothing")
            sub.add_argument("--valid-rows", action="store_true",
                             help="write the valid rows and the rejected ones to --rejected (default: all rows or none)")
            sub.add_argument("--rejected", type=Path, default=None,
                             help="with --valid-rows: where the rejected rows go, with a reason column (default: FILE-rejected.csv)")
            sub.add_argument("--mapping", default=None, metavar="NAME",
                             help="the saved column mapping NAME (saved on the data page) instead of matching the headers")
            sub.add_argument("--sheet", default=None, help="the sheet of an .xlsx file (default: the first)")
            sub.add_argument("--lang", choices=("en", "zh"), default="en", help="the language of the messages")
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
                return _import(engine, args)
        return 0

    return cli.run(body, args.file)


def _import(engine: Engine, args: argparse.Namespace) -> int:
    """Import or preview a file; print the summary (and the changes of a preview), problems on stderr."""
    lang = args.lang
    columns = None
    if args.mapping:
        with engine.connect() as conn:
            saved = importer.mapping_named(conn, args.entity, args.mapping)
        with open_table(args.file, args.file.name, sheet=args.sheet) as table:
            columns = importer.columns_for(table.header, args.entity, saved)
    outcome = importer.run(engine, writes.LOCAL_ADMIN, args.entity, args.file, args.file.name, columns=columns,
                           sheet=args.sheet, dry_run=args.dry_run, valid_rows=args.valid_rows, lang=lang)
    for line in outcome.problem_lines(lang):
        print(line, file=sys.stderr)
    if args.dry_run:
        for change in outcome.changes_frame(lang).itertuples(index=False):
            print("  " + " | ".join("" if pd.isna(v) else str(v) for v in change))
    if outcome.rejected and args.valid_rows and not args.dry_run:
        target = args.rejected or args.file.with_name(f"{args.file.stem}-rejected.csv")
        save_file(outcome.rejected_file(lang, target.suffix.lower().lstrip(".") or "csv"), target)
        print(t("import.cli.rejected_file", lang, file=target), file=sys.stderr)
    if outcome.refused:
        print(f"error: {outcome.summary(lang)}", file=sys.stderr)
        return 2
    print(outcome.summary(lang) + ("" if args.dry_run else f" ({redact_url(engine.url)})"))
    return 0


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
        with engine.begin() as conn:  # an unmasked export's audit row commits with the read
            df = entity_files.export_file(conn, entity, lang, masked=masked, actor=writes.LOCAL_ADMIN,
                                          filters={"file": path.name})
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
