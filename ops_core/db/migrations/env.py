"""Alembic environment: the engine comes from the caller (ops_core.db.schema), never from an ini file.

SQLite alters a table by copying it to a new one and dropping the old; with foreign keys enforced,
dropping a table other rows point at (contracts, under invoices) fails. As SQLite's documentation
asks, enforcement is off while the migrations run, every key is checked before they commit, and it is
on again before the connection goes back to the pool."""
from __future__ import annotations

from alembic import context
from sqlalchemy import text

from ops_core.db import versions
from ops_core.db.engine import make_engine
from ops_core.db.models import Base

config = context.config
engine = config.attributes.get("engine") or make_engine()
sqlite = engine.dialect.name == "sqlite"

with engine.connect() as connection:
    connection.info[versions.MIGRATING] = True  # a migration's copies are not changes of data
    if sqlite:  # outside any transaction: inside one, the pragma does nothing
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,  # SQLite can only alter tables by copying them
                compare_type=True,
            )
            context.run_migrations()
            if sqlite and (broken := connection.execute(text("PRAGMA foreign_key_check")).all()):
                raise RuntimeError(f"the migrated store has rows pointing at nothing: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
        connection.info.pop(versions.MIGRATING, None)  # the pooled connection writes data next time
