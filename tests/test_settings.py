"""Settings: declared with help text, stored overrides, admin-only, versioned like any record."""
from __future__ import annotations

import pytest

from ops_core import settings, writes
from ops_core.config import SETTINGS
from ops_core.db.engine import transaction
from ops_core.errors import PermissionDenied, StaleVersion, UsageError
from ops_core.vocab import Role

OTHER_ADMIN = writes.Actor("second.admin", Role.admin)


def test_every_setting_is_documented():
    assert [s.key for s in SETTINGS if len(s.help) < 20] == []
    assert len({s.key for s in SETTINGS}) == len(SETTINGS)


def test_defaults_until_changed_then_the_stored_value(fresh_engine):
    with fresh_engine.connect() as conn:
        assert settings.get(conn, "events.attribution_window_days") == 180
    with transaction(fresh_engine) as s:
        settings.change(s, writes.LOCAL_ADMIN, "events.attribution_window_days", 90, expected_version=0)
    with fresh_engine.connect() as conn:
        assert settings.get(conn, "events.attribution_window_days") == 90
        row = settings.all_settings(conn).set_index("key").loc["events.attribution_window_days"]
    assert (row["value"], row["default"], row["version"], row["updated_by"]) == (90, 180, 1, "local-admin")


def test_two_admins_changing_one_setting_the_second_is_told(fresh_engine):
    with transaction(fresh_engine) as s:
        settings.change(s, writes.LOCAL_ADMIN, "ui.page_size", 100, expected_version=0)
    with pytest.raises(StaleVersion):
        with transaction(fresh_engine) as s:
            settings.change(s, OTHER_ADMIN, "ui.page_size", 50, expected_version=0)
    with fresh_engine.connect() as conn:
        assert settings.get(conn, "ui.page_size") == 100


def test_editors_cannot_change_settings_and_types_are_checked(fresh_engine):
    with pytest.raises(PermissionDenied):
        with transaction(fresh_engine) as s:
            settings.change(s, writes.Actor("e", Role.editor), "ui.page_size", 100, expected_version=0)
    with pytest.raises(UsageError, match="takes a int"):
        with transaction(fresh_engine) as s:
            settings.change(s, writes.LOCAL_ADMIN, "ui.page_size", "lots", expected_version=0)
    with pytest.raises(UsageError, match="unknown setting"):
        with transaction(fresh_engine) as s:
            settings.change(s, writes.LOCAL_ADMIN, "no.such", 1, expected_version=0)
