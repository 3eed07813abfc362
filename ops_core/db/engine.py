"""Opening the store: one engine per URL, SQLite tuned for a single machine, PostgreSQL for a team.

Every failure to open (malformed URL, server down, read-only folder) becomes ``StoreUnavailable``
with a one-line message that shows the URL with its password hidden.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ops_core.config import database_url, parse_url, redact_url
from ops_core.errors import StoreUnavailable, first_line


def is_sqlite(engine_or_url: Engine | URL) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url
    return url.get_backend_name() == "sqlite"


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (or the configured one); nothing is created on the server yet. Every
    engine counts the writes to each table in the store (ops_core.db.versions)."""
    from ops_core.db import versions

    versions.install()
    parsed = parse_url(database_url(url))
    if is_sqlite(parsed):
        return _sqlite_engine(parsed)
    return create_engine(
        parsed,
        pool_pre_ping=True,  # a server that went away and came back is reconnected, no restart
        pool_size=5,
        # No JIT: it compiles each of the indicator queries, which run in tens of milliseconds, for
        # 0.3-0.8 s (EXPLAIN ANALYZE on the 50,000-customer store); a server's own setting is ignored.
        connect_args={"connect_timeout": 5, "options": "-c jit=off"},
    )


def _sqlite_folder_problem(url: URL) -> str | None:
    """Why the embedded store's folder cannot hold it (missing, read-only), or None."""
    database = (url.database or "").removeprefix("file:").split("?", 1)[0]
    if not database or database == ":memory:":
        return None
    folder = Path(database).resolve().parent
    if not folder.is_dir():
        return f"The data folder {folder} does not exist (database URL '{redact_url(url)}')"
    if not os.access(folder, os.W_OK) or (Path(database).exists() and not os.access(database, os.W_OK)):
        return (f"The data folder {folder} is read-only: the embedded database cannot be written "
                f"(database URL '{redact_url(url)}')")
    return None


def _sqlite_engine(url: URL) -> Engine:
    if problem := _sqlite_folder_problem(url):
        raise StoreUnavailable(problem)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def check_files(engine: Engine) -> None:
    """The embedded store's folder is still there and writable (no query: cheap on every rerun)."""
    if is_sqlite(engine) and (problem := _sqlite_folder_problem(engine.url)):
        engine.dispose()  # pooled connections may point at a file that has been moved away
        raise StoreUnavailable(problem)


def check_connection(engine: Engine) -> None:
    """Raise ``StoreUnavailable`` with a clear one-line message when the store cannot be reached."""
    check_files(engine)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        raise StoreUnavailable(f"The database at '{redact_url(engine.url)}' cannot be reached: {first_line(exc)}") from None


_session_factories: dict[int, sessionmaker[Session]] = {}


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One transaction per user action or import: committed at the end, rolled back on any error."""
    factory = _session_factories.get(id(engine))
    if factory is None:
        factory = _session_factories[id(engine)] = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
