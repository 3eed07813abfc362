"""Roles are enforced in ops_core: every function that changes data or hands out personal data in full
refuses a role below the one it needs, called directly, whatever a page shows.

viewer: reads and exports masked. editor: triages feedback, edits demands, events, leads, reviews,
contacts, targets. admin: publishes presets, settings and the company's lists, users, imports, the
demo company, and personal data unmasked (each such export leaves an audit row).

The list of guarded functions is found by introspection (every public ops_core function taking an
``actor``) and must equal the table below, so a new function cannot be added without its case here.
"""
from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

import ops_core
from ops_core import (
    alerts,
    company_lists,
    demand,
    demo,
    demo_company,
    entity_files,
    events,
    exports,
    feedback,
    importer,
    io,
    metrics,
    scoring,
    settings,
    settings_admin,
    snapshot,
    tiers,
    users,
    writes,
)
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.errors import PermissionDenied
from ops_core.vocab import Role
from tests.factories import make_customer

VIEWER = writes.Actor("li.viewer", Role.viewer)
EDITOR = writes.Actor("zhang.editor", Role.editor)
ADMIN = writes.Actor("wang.admin", Role.admin)
NOW = dt.datetime(2026, 3, 2, 9, 30)
CSV = "客户编号,客户名称\nC1,华东精密\n".encode()

# Each guarded function, the role it needs and how to call it (``s``: an open session, ``e``: the engine).
# The arguments are what a page would pass; the check comes first, so nothing else of the store matters.
Call = Callable[[Any, Any, writes.Actor], object]
GUARDED: dict[str, tuple[Role, Call]] = {
    "demand.create": (Role.editor, lambda s, e, a: demand.create(s, a, {"title": "导出加速"}, now=NOW)),
    "demand.update": (Role.editor, lambda s, e, a: demand.update(s, a, 1, 1, {"title": "导出加速"})),
    "demand.transition": (Role.editor, lambda s, e, a: demand.transition(s, a, 1, 1, "planned", now=NOW)),
    "demand.link_customers": (Role.editor, lambda s, e, a: demand.link_customers(s, a, 1, [1])),
    "demand.unlink_customers": (Role.editor, lambda s, e, a: demand.unlink_customers(s, a, 1, [1])),
    "demand.merge": (Role.editor, lambda s, e, a: demand.merge(s, a, 1, 2, 1, 1, now=NOW)),
    "demand.create_release": (Role.editor, lambda s, e, a: demand.create_release(s, a, {"name": "v2.1"})),
    "demand.save_release_notes": (Role.editor, lambda s, e, a: demand.save_release_notes(s, a, 1, 1, "说明")),
    "demand.ship_release": (Role.editor, lambda s, e, a: demand.ship_release(s, a, 1, 1, on=NOW.date())),
    "demand.mark_informed": (Role.editor, lambda s, e, a: demand.mark_informed(s, a, 1, [1], now=NOW)),
    "feedback.submit": (Role.editor, lambda s, e, a: feedback.submit(s, a, {"customer_id": 1, "text": "慢"})),
    "feedback.triage": (Role.editor, lambda s, e, a: feedback.triage(s, a, 1, 1, "bug", "high", "reports")),
    "feedback.transition": (Role.editor, lambda s, e, a: feedback.transition(s, a, 1, 1, "in_progress")),
    "feedback.route_to_demand": (Role.editor, lambda s, e, a: feedback.route_to_demand(s, a, 1, 1, title="导出加速")),
    "feedback.route_to_faq": (Role.editor, lambda s, e, a: feedback.route_to_faq(s, a, 1, 1, question="问", answer="答")),
    "feedback.merge": (Role.editor, lambda s, e, a: feedback.merge(s, a, 1, [2], {1: 1, 2: 1})),
    "events.save_review": (Role.editor, lambda s, e, a: events.save_review(s, a, 1, {"went_well": "好"}, None)),
    "metrics.set_target": (Role.editor, lambda s, e, a: metrics.set_target(s, a, "nrr", "month", _period(), 1.1)),
    "metrics.edit_definition": (Role.editor, lambda s, e, a: metrics.edit_definition(s, a, "nrr", "王芳", "说明", 1)),
    "snapshot.take": (Role.editor, lambda s, e, a: snapshot.take(s, a, "month", _period(), now=NOW)),
    "tiers.save_preset": (Role.editor, lambda s, e, a: tiers.save_preset(
        s, a, "方案", scoring.DEFAULT_WEIGHTS, scoring.DEFAULT_METHODS, tiers.DEFAULT_TIER_RULES)),
    "tiers.snapshot_month": (Role.editor, lambda s, e, a: tiers.snapshot_month(
        s, a, dt.date(2026, 2, 1), pd.Series([50.0], index=[1]), pd.Series(["KA"], index=[1]), None)),
    "writes.create": (Role.editor, lambda s, e, a: writes.create(s, a, "csms", {"name": "王芳", "level": "senior"})),
    "writes.update": (Role.editor, lambda s, e, a: writes.update(s, a, "customers", 1, 1, {"name": "华东"})),
    "writes.remove": (Role.editor, lambda s, e, a: writes.remove(s, a, "customers", 1, 1)),
    "writes.record_bulk": (Role.editor, lambda s, e, a: writes.record_bulk(s, a, "customers", "import", {"rows": 1})),
    # an admin's
    "tiers.publish_preset": (Role.admin, lambda s, e, a: tiers.publish_preset(s, a, 1, 1)),
    "settings.change": (Role.admin, lambda s, e, a: settings.change(s, a, "ui.page_size", 20, 0)),
    "events.save_lead_standard": (Role.admin, lambda s, e, a: events.save_lead_standard(
        s, a, events.LeadStandard(), 0)),
    "importer.run": (Role.admin, lambda s, e, a: importer.run(e, a, "customers", CSV, "客户.csv")),
    "importer.save_mapping": (Role.admin, lambda s, e, a: importer.save_mapping(s, a, "客户表", "customers",
                                                                                 {"客户编号": "code"})),
    "io.import_entity": (Role.admin, lambda s, e, a: io.import_entity(e, a, "customers", _file(CSV))),
    "demo.generate": (Role.admin, lambda s, e, a: demo.generate(e, 5, 1, actor=a)),
    "demo_company.record": (Role.admin, lambda s, e, a: demo_company.record(s, a, {"customers": [1, 1]}, {})),
    "demo_company.choose_start": (Role.admin, lambda s, e, a: demo_company.choose_start(s, a, "empty")),
    "demo_company.remove_demo_company": (Role.admin, lambda s, e, a: demo_company.remove_demo_company(e, a)),
    "company_lists.add": (Role.admin, lambda s, e, a: company_lists.add(s, a, "industry", None, "Mining", "采矿")),
    "company_lists.rename": (Role.admin, lambda s, e, a: company_lists.rename(s, a, "industry", "energy", "Power",
                                                                             "电力", 1)),
    "settings_admin.apply": (Role.admin, lambda s, e, a: settings_admin.apply(s, a, {"ui.page_size": 20}, {})),
    "settings_admin.change": (Role.admin, lambda s, e, a: settings_admin.change(s, a, "ui.page_size", 20, 0)),
    "alerts.save_rules": (Role.admin, lambda s, e, a: alerts.save_rules(s, a, [alerts.Rule("nrr", "off_target")], 0)),
    "settings_admin.restore_default": (Role.admin, lambda s, e, a: settings_admin.restore_default(s, a, "ui.page_size", 1)),
    "settings_admin.set_tier_names": (Role.admin, lambda s, e, a: settings_admin.set_tier_names(s, a, ["大客户", "标准"], 0)),
    "users.add_user": (Role.admin, lambda s, e, a: users.add_user(s, a, "zhao.new", "viewer", password="a long enough one")),
    "users.change_role": (Role.admin, lambda s, e, a: users.change_role(s, a, "li.viewer", 1, "admin")),
    "users.reset_password": (Role.admin, lambda s, e, a: users.reset_password(s, a, "li.viewer", 1)),
    "users.set_active": (Role.admin, lambda s, e, a: users.set_active(s, a, "li.viewer", 1, False)),
    "users.unlock": (Role.admin, lambda s, e, a: users.unlock(s, a, "li.viewer", 1)),
    # personal data in full
    "entity_files.export_file": (Role.admin, lambda s, e, a: entity_files.export_file(
        s, "contacts", "zh", masked=False, actor=a)),
    "exports.release": (Role.admin, lambda s, e, a: exports.release(
        pd.DataFrame({"key_contact": ["张伟"]}), "customer_list", actor=a, masked=False, conn=s)),
    "writes.record_unmasked_export": (Role.admin, lambda s, e, a: writes.record_unmasked_export(s, a, "contacts", 3)),
    "writes.require_unmasked": (Role.admin, lambda s, e, a: writes.require_unmasked(a)),
}

# Public functions taking an actor that are not guarded themselves, and why.
UNGUARDED = {
    "writes.require_role": "it is the check",
    "writes.check_write": "it is the check",
    "writes.audit": "the audit row itself, written by a guarded function after its check",
}

def _period():
    from ops_core.periods import period_of

    return period_of("month", dt.date(2026, 2, 1))


def _file(data: bytes) -> Path:
    path = Path(tempfile.mkdtemp()) / "客户.csv"
    path.write_bytes(data)
    return path


def functions_taking_an_actor() -> set[str]:
    """Every public function of ops_core with a parameter named ``actor``, as ``module.function``."""
    found = set()
    for info in pkgutil.walk_packages(ops_core.__path__, "ops_core."):
        if "migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != module.__name__:
                continue
            if "actor" in inspect.signature(function).parameters:
                found.add(f"{info.name.removeprefix('ops_core.')}.{name}")
    return found


def test_every_function_taking_an_actor_is_in_the_table_of_guarded_functions():
    assert functions_taking_an_actor() == set(GUARDED) | set(UNGUARDED)


def test_every_writer_of_personal_data_takes_an_actor():
    """The functions that can hand out names, phones and e-mails in full take the acting user; the
    report commands' tables carry no personal data (checked below), so they need none."""
    for name in ("entity_files.export_file", "exports.release"):
        assert name in GUARDED and GUARDED[name][0] is Role.admin


@pytest.fixture
def store(fresh_engine):
    with transaction(fresh_engine) as s:
        make_customer(s)
    return fresh_engine


def refusals(needed: Role) -> list[writes.Actor]:
    return [VIEWER] if needed is Role.editor else [VIEWER, EDITOR]


CASES = [(name, who) for name, (needed, _) in GUARDED.items() for who in refusals(needed)]


@pytest.mark.parametrize(("name", "actor"), CASES, ids=[f"{n}-{a.role}" for n, a in CASES])
def test_each_guarded_function_refuses_a_role_below_the_one_it_needs(store, name, actor):
    needed, call = GUARDED[name]
    log = TABLES["audit_log"]
    with store.connect() as conn:
        before = conn.execute(select(log.c.id)).all()
    with pytest.raises(PermissionDenied) as refused:
        with transaction(store) as s:
            call(s, store, actor)
    assert refused.value.needed == str(needed)
    assert refused.value.message("zh") == f"你的角色不能做这件事：需要{'管理员' if needed is Role.admin else '编辑者'}角色。"
    with store.connect() as conn:
        assert conn.execute(select(log.c.id)).all() == before  # nothing recorded, nothing changed


def test_an_unmasked_export_is_written_for_an_admin_with_an_audit_row_naming_who_what_how_many_and_which_filters(store):
    with transaction(store) as s:
        customer = s.execute(select(TABLES["customers"].c.id)).scalar_one()
        for name, phone in (("张伟", "13812341234"), ("李娜", "13900001111")):
            writes.create(s, writes.LOCAL_ADMIN, "contacts", {"customer_id": customer, "name": name, "phone": phone,
                                                             "role": "user", "start_date": dt.date(2025, 1, 1)})
    with transaction(store) as s:
        full = entity_files.export_file(s, "contacts", "zh", masked=False, actor=ADMIN, filters={"format": "csv"})
    assert sorted(full["电话"]) == ["13812341234", "13900001111"]  # in full, as stored
    with store.connect() as conn:
        masked = entity_files.export_file(conn, "contacts", "zh")  # masked: no actor needed, nothing recorded
        assert sorted(masked["电话"]) == ["138****1234", "139****1111"]
        log = TABLES["audit_log"]
        row = conn.execute(select(log).where(log.c.action == writes.EXPORT_UNMASKED)).mappings().one()
    assert (row["actor"], row["entity"], row["entity_id"], row["old_values"]) == ("wang.admin", "contacts", None, None)
    assert row["new_values"] == {"rows": 2, "filters": {"format": "csv"}}


def test_the_customer_list_is_masked_unless_an_admin_releases_it_and_then_it_is_recorded(store):
    frame = pd.DataFrame({"code": ["C1"], "key_contact": ["张伟"], "key_contact_phone": ["13812341234"]})
    assert exports.release(frame, "customer_list").values.tolist() == [["C1", "张*", "138****1234"]]
    with transaction(store) as s:
        full = exports.release(frame, "customer_list", actor=ADMIN, masked=False, conn=s,
                               filters={"industry": "manufacturing", "format": "xlsx"})
    assert full.values.tolist() == [["C1", "张伟", "13812341234"]]
    with store.connect() as conn:
        log = TABLES["audit_log"]
        row = conn.execute(select(log).where(log.c.action == writes.EXPORT_UNMASKED)).mappings().one()
    assert (row["actor"], row["entity"]) == ("wang.admin", "customer_list")
    assert row["new_values"] == {"rows": 1, "filters": {"industry": "manufacturing", "format": "xlsx"}}


def test_an_unmasked_release_without_an_acting_user_is_refused():
    with pytest.raises(PermissionDenied):
        exports.release(pd.DataFrame({"name": ["张伟"]}), "contacts", masked=False)


def test_the_command_lines_unmasked_export_is_audited_as_the_local_admin(store, tmp_path, capsys):
    url = store.url.render_as_string(hide_password=False)
    target = tmp_path / "联系人.csv"
    assert io.main(["export", "contacts", str(target), "--unmasked", "--database-url", url]) == 0
    with store.connect() as conn:
        log = TABLES["audit_log"]
        row = conn.execute(select(log).where(log.c.action == writes.EXPORT_UNMASKED)).mappings().one()
    assert (row["actor"], row["entity"]) == ("local-admin", "contacts")
    assert row["new_values"] == {"rows": 0, "filters": {"file": "联系人.csv"}}  # the store holds no contact


@pytest.mark.parametrize("build", [
    lambda conn: scoring.scored_table(conn, dt.date(2026, 3, 1)),
    lambda conn: scoring.rfm_export(conn, dt.date(2026, 3, 1)),
    lambda conn: events.report_table(conn, "linear", dt.date(2026, 3, 1)),
], ids=["scores", "rfm", "event-report"])
def test_the_report_commands_tables_carry_no_personal_data(store, build):
    """They take no actor: none of their columns is a person's name, phone or e-mail (CSM names are
    staff, not personal data: ``exports.PERSONAL_DATA``)."""
    personal = {c for spec in exports.PERSONAL_DATA.values() for c in (*spec.names, *spec.phones, *spec.emails)}
    personal -= {"name"}  # a customer's (company's) name; a contact's name never reaches these tables
    with store.connect() as conn:
        frame, _ = build(conn)
    assert personal & set(frame.columns) == set()
    assert not {"contact_name", "key_contact", "email", "phone"} & set(frame.columns)
