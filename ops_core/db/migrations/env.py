"""Alembic environment: the engine comes from the caller (ops_core.db.schema), never from an ini file."""
from __future__ import annotations

from alembic import context

from ops_core.db.engine import make_engine
from ops_core.db.models import Base

config = context.config
engine = config.attributes.get("engine") or make_engine()

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite can only alter tables by copying them
        compare_type=True,
    )
    context.run_migrations()
