"""The one write path: roles, optimistic concurrency, audit rows, all-or-nothing transactions."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ops_core import writes
from ops_core.db.engine import transaction
from ops_core.db.models import AuditLog, Customer
from ops_core.errors import PermissionDenied, StaleVersion, UsageError, ValidationError
from ops_core.vocab import Role
from tests.factories import make_customer

VIEWER = writes.Actor("li.viewer", Role.viewer)
EDITOR = writes.Actor("zhang.editor", Role.editor)


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_create_writes_the_record_and_one_audit_row(fresh_engine):
    with transaction(fresh_engine) as s:
        stored = make_customer(s, name="苏州恒达精密制造有限公司 🏭")
    assert stored["version"] == 1
    with fresh_engine.connect() as conn:
        audit = conn.execute(select(AuditLog)).mappings().one()
    assert (audit["action"], audit["entity"], audit["entity_id"]) == ("create", "customers", str(stored["id"]))
    assert audit["old_values"] is None
    assert audit["new_values"]["name"] == "苏州恒达精密制造有限公司 🏭"
    assert audit["actor"] == writes.LOCAL_ADMIN.username


def test_viewer_is_refused_and_nothing_is_written(fresh_engine):
    with pytest.raises(PermissionDenied, match="viewer"):
        with transaction(fresh_engine) as s:
            writes.create(s, VIEWER, "csms", {"name": "x", "level": "senior"})
    assert count(fresh_engine, AuditLog) == 0


def test_editor_may_not_change_settings_or_users(fresh_engine):
    with pytest.raises(PermissionDenied, match="admin"):
        with transaction(fresh_engine) as s:
            writes.create(s, EDITOR, "settings", {"key": "ui.page_size", "value": 50})


def test_update_from_a_stale_version_is_refused_with_the_newer_values(fresh_engine):
    with transaction(fresh_engine) as s:
        customer = make_customer(s)
    # Two people read version 1; the first saves, the second is told and sees the first one's value.
    with transaction(fresh_engine) as s:
        writes.update(s, EDITOR, "customers", customer["id"], 1, {"employees": 800})
    with pytest.raises(StaleVersion) as caught:
        with transaction(fresh_engine) as s:
            writes.update(s, EDITOR, "customers", customer["id"], 1, {"employees": 900})
    assert caught.value.current["employees"] == 800
    assert caught.value.current["version"] == 2
    assert "changed by someone else" in str(caught.value)
    with fresh_engine.connect() as conn:
        assert conn.execute(select(Customer.employees)).scalar_one() == 800


def test_last_change_names_who_wrote_a_record_last_and_when(fresh_engine):
    with transaction(fresh_engine) as s:
        customer = make_customer(s)
        other = make_customer(s)
    with transaction(fresh_engine) as s:
        writes.update(s, EDITOR, "customers", customer["id"], 1, {"employees": 800})
    with fresh_engine.connect() as conn:
        last = writes.last_change(conn, "customers", customer["id"])
        untouched = writes.last_change(conn, "customers", other["id"])
        never = writes.last_change(conn, "customers", 999_999)
    assert (last["actor"], last["action"]) == ("zhang.editor", "update")
    assert last["at"] is not None
    assert (untouched["actor"], untouched["action"]) == (writes.LOCAL_ADMIN.username, "create")  # make_customer's actor
    assert never is None


def test_update_audits_old_and_new_values(fresh_engine):
    with transaction(fresh_engine) as s:
        customer = make_customer(s, employees=100)
        writes.update(s, EDITOR, "customers", customer["id"], 1, {"employees": 120})
    with fresh_engine.connect() as conn:
        row = conn.execute(select(AuditLog).where(AuditLog.action == "update")).mappings().one()
    assert row["old_values"] == {"employees": 100, "version": 1}
    assert row["new_values"] == {"employees": 120, "version": 2}
    assert row["actor"] == "zhang.editor"


def test_a_failing_step_leaves_nothing_half_written(fresh_engine):
    with pytest.raises(ValidationError, match="industry"):
        with transaction(fresh_engine) as s:
            make_customer(s)
            make_customer(s, industry="space mining")  # the second step of the same action fails
    assert count(fresh_engine, Customer) == 0
    assert count(fresh_engine, AuditLog) == 0


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("employees", "many", "not a whole number"),
        ("employees", "12.5", "not a whole number"),
        ("created_on", "31/12/2024", "not a date"),
        ("fortune500", "perhaps", "not yes/no"),
        ("name", "bad\x00name", "NUL"),
        ("name", "x" * 300, "at most 256"),
        ("region", "mars", "not one of"),
        ("favourite_colour", "red", "not a field"),
    ],
    ids=["text-in-int", "fraction-in-int", "bad-date", "bad-bool", "nul", "too-long", "bad-choice", "unknown-field"],
)
def test_bad_values_are_refused_naming_the_field(fresh_engine, field, raw, message):
    with pytest.raises(ValidationError) as caught:
        with transaction(fresh_engine) as s:
            make_customer(s, **{field: raw})
    assert caught.value.problems[0][1] == field
    assert message in str(caught.value)


@pytest.mark.parametrize(("raw", "message"), [
    ("Infinity", "'Infinity' is not a whole number"),
    ("sNaN", "'sNaN' is not a whole number"),
    ("-inf", "'-inf' is not a whole number"),
    ("1e10000000", "1e10000000 is out of range for this field"),   # refused at once, never expanded
    ("9" * 5000, "9999999999999999999999999999999999999999… is out of range for this field"),
], ids=["Infinity", "sNaN", "-inf", "huge-exponent", "5000-digits"])
def test_numbers_no_int_column_can_hold_are_refused_not_crashed_on(raw, message):
    with pytest.raises(ValueError) as caught:
        writes.coerce(Customer.__table__.c.employees, raw)
    assert str(caught.value) == message


def test_missing_required_fields_are_all_named(fresh_engine):
    with pytest.raises(ValidationError) as caught:
        with transaction(fresh_engine) as s:
            writes.create(s, EDITOR, "csms", {})
    assert {field for _, field, _ in caught.value.problems} == {"name", "level"}


def test_delete_checks_the_version_and_keeps_the_last_values_in_the_audit(fresh_engine):
    with transaction(fresh_engine) as s:
        customer = make_customer(s)
    with pytest.raises(StaleVersion):
        with transaction(fresh_engine) as s:
            writes.remove(s, EDITOR, "customers", customer["id"], 7)
    with transaction(fresh_engine) as s:
        writes.remove(s, EDITOR, "customers", customer["id"], 1)
    assert count(fresh_engine, Customer) == 0
    with fresh_engine.connect() as conn:
        row = conn.execute(select(AuditLog).where(AuditLog.action == "delete")).mappings().one()
    assert row["old_values"]["code"] == customer["code"]


def test_unknown_entity_is_a_usage_error(fresh_engine):
    with pytest.raises(UsageError, match="unknown entity 'widgets'"):
        with transaction(fresh_engine) as s:
            writes.create(s, EDITOR, "widgets", {})


def test_audit_log_itself_cannot_be_written(fresh_engine):
    with pytest.raises(PermissionDenied):
        with transaction(fresh_engine) as s:
            writes.create(s, writes.LOCAL_ADMIN, "audit_log", {})
