"""Reading and changing settings: stored overrides over the defaults declared in ops_core.config.

Changes go through the write path (admin only, versioned, audited), so two admins editing the same
setting cannot silently overwrite each other.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ops_core import writes
from ops_core.config import SETTINGS, SETTINGS_BY_KEY
from ops_core.db.models import TABLES
from ops_core.errors import UsageError

settings_table = TABLES["settings"]


def _known(key: str) -> None:
    if key not in SETTINGS_BY_KEY:
        raise UsageError(f"unknown setting '{key}'; known: {', '.join(sorted(SETTINGS_BY_KEY))}")


def get(conn: Connection | Session, key: str) -> Any:
    """The stored value of ``key``, or its declared default."""
    _known(key)
    stored = conn.execute(select(settings_table.c.value).where(settings_table.c.key == key)).first()
    return SETTINGS_BY_KEY[key].default if stored is None else stored[0]


def all_settings(conn: Connection) -> pd.DataFrame:
    """Every declared setting with its value in force, default, help and who changed it last."""
    stored = {row.key: row for row in conn.execute(select(settings_table)).all()}
    return pd.DataFrame([{
        "key": s.key, "value": stored[s.key].value if s.key in stored else s.default, "default": s.default,
        "help": s.help, "version": stored[s.key].version if s.key in stored else 0,
        "updated_by": stored[s.key].updated_by if s.key in stored else None,
        "updated_at": stored[s.key].updated_at if s.key in stored else None,
    } for s in SETTINGS])


def change(session: Session, actor: writes.Actor, key: str, value: Any, expected_version: int) -> dict[str, Any]:
    """Set ``key`` to ``value``; ``expected_version`` is what the caller read (0: never stored)."""
    _known(key)
    default = SETTINGS_BY_KEY[key].default
    if not isinstance(value, type(default)) or isinstance(value, bool) != isinstance(default, bool):
        raise UsageError(f"setting '{key}' takes a {type(default).__name__}, not {type(value).__name__}")
    stamp = {"value": value, "updated_at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "updated_by": actor.username}
    if expected_version == 0:
        exists = session.execute(select(settings_table.c.version).where(settings_table.c.key == key)).first()
        if exists is None:
            return writes.create(session, actor, "settings", {"key": key, **stamp})
    return writes.update(session, actor, "settings", key, expected_version, stamp)
