"""Applying the Alembic migrations: the app runs ``upgrade`` on start, tests on a fresh store."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DBAPIError, OperationalError

from ops_core.config import redact_url
from ops_core.db.engine import check_connection
from ops_core.errors import StoreUnavailable, first_line

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates every table on an empty store)."""
    check_connection(engine)
    try:
        if schema_state(engine) == "current":  # nothing to run: skip the migration environment and its key check
            return
        command.upgrade(alembic_config(engine), "head")
    except (OperationalError, DBAPIError) as exc:
        raise StoreUnavailable(
            f"The schema of '{redact_url(engine.url)}' could not be upgraded: {first_line(exc)}"
        ) from None


def schema_state(engine: Engine) -> str:
    """How the store's schema stands against this code: ``current``; ``behind`` (older, or none: an
    upgrade brings it level, as when an older copy of the store was put back under a running app);
    ``ahead`` (made by a newer version of the code, which this one cannot read)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == script.get_current_head():
        return "current"
    known = {revision.revision for revision in script.walk_revisions()}
    return "behind" if current is None or current in known else "ahead"


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
