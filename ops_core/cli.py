"""What every command of the project shares: a failure a person can fix is one line and exit code 2."""
from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ops_core.config import redact_url
from ops_core.errors import OpsError, UsageError, first_line


def run(body: Callable[[], int], file_hint: object = None) -> int:
    """Run a command's body; bad input, an unreachable store or an unreadable file exit 2, no traceback."""
    try:
        return body()
    except OpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: {exc.filename or file_hint}: {exc.strerror or exc}", file=sys.stderr)
    except DBAPIError as exc:
        print(f"error: the database failed: {first_line(exc)}", file=sys.stderr)
    return 2


def date_option(text: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD option's value (None when not given), or a UsageError naming the option."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date like 2025-06-30, not '{text}'") from None


@contextmanager
def open_store(database_url: str | None) -> Iterator[Engine]:
    """The store a command works on, migrated; disposed of when the command ends."""
    from ops_core.db.engine import make_engine
    from ops_core.db.schema import upgrade

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def write_report(database_url: str | None, output: Path, sheet_name: str,
                 build: Callable[[Connection], tuple[pd.DataFrame, list[str]]], what: str, lang: str = "en",
                 columns: Mapping[str, Any] | None = None) -> int:
    """The shape every report command shares: check the file name, open and migrate the store, build
    the table and write it as a person reads it (``present``: headers and notes in ``lang``, yuan,
    labels; ``columns`` the table's own headers) through the safe exports (BOM CSV or Excel,
    neutralised), and say where."""
    from ops_core.io import write_export

    if output.suffix.lower() not in (".csv", ".xlsx"):  # before the store is opened
        raise UsageError(f"cannot write '{output.name}': use a .csv or .xlsx file name")
    if not output.parent.is_dir():
        raise UsageError(f"cannot write '{output}': the folder {output.parent} does not exist")
    with open_store(database_url) as engine, engine.connect() as conn:
        frame, notes = build(conn)
        target = write_export(frame, output, lang, notes=notes, sheet_name=sheet_name, columns=columns)
        print(f"wrote {len(frame)} {what} to {target} from {redact_url(engine.url)}")
    return 0


def run_module(name: str) -> None:
    """Run the command of the package's module ``name`` (``python -m ops_core.scoring`` ends here).

    ``python -m`` runs a module's file as ``__main__``, a second copy of it beside the one the rest
    of the package imports. Values handed back by other modules (a saved preset's methods, read by
    ops_core.tiers) are the other copy's classes and fail every identity check of this one, so a
    command must run the package's own copy, as the tests and the pages do."""
    import importlib

    sys.exit(importlib.import_module(name).main())
