"""The audit trail: the log filtered by person, table, kind of change and days in SQL, paged, each
change's old and new values side by side in the reader's language; the page is an admin's."""
from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from ops_core import audit, entity_files, users, writes
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.vocab import Role
from tests.conftest import ROOT, ok, open_page
from tests.factories import make_customer
from tests.wording import english_words

EDITOR = writes.Actor("zhang.editor", Role.editor)
ADMIN = writes.Actor("wang.admin", Role.admin)
VIEWER = writes.Actor("li.viewer", Role.viewer)
ALL = audit.AuditFilters()


@pytest.fixture
def store(fresh_engine):
    """Three records created by the local admin, three changes by an editor (a label, a phone and a
    role, an amount), one unmasked export by an admin; the creations are dated 2026-01-05, the rest
    2026-02-10 (set afterwards: the log stamps the real time)."""
    with transaction(fresh_engine) as s:
        customer = make_customer(s, name="华东精密制造有限公司", code="C2025001")
        contact = writes.create(s, writes.LOCAL_ADMIN, "contacts", {
            "customer_id": customer["id"], "name": "张伟", "phone": "13812341234", "role": "user",
            "start_date": dt.date(2025, 1, 1)})
        contract = writes.create(s, writes.LOCAL_ADMIN, "contracts", {
            "code": "HT-2025-001", "customer_id": customer["id"], "kind": "new", "product_line": "MES",
            "signed_on": dt.date(2025, 3, 15), "start_date": dt.date(2025, 4, 1), "end_date": dt.date(2026, 3, 31),
            "amount_cents": 8_680_000})
    with transaction(fresh_engine) as s:
        s.execute(update(TABLES["audit_log"]).values(at=dt.datetime(2026, 1, 5, 9, 0)))
    with transaction(fresh_engine) as s:
        writes.update(s, EDITOR, "customers", customer["id"], customer["version"], {"industry": "energy"})
        writes.update(s, EDITOR, "contacts", contact["id"], contact["version"], {"phone": "13900002222", "role": "boss"})
        writes.update(s, EDITOR, "contracts", contract["id"], contract["version"], {"amount_cents": 9_000_000})
    with transaction(fresh_engine) as s:
        entity_files.export_file(s, "contacts", "zh", masked=False, actor=ADMIN,
                                 filters={"industries": "manufacturing,energy"})
    with transaction(fresh_engine) as s:
        log = TABLES["audit_log"]
        s.execute(update(log).where(log.c.at > dt.datetime(2026, 1, 6)).values(at=dt.datetime(2026, 2, 10, 14, 30)))
    return fresh_engine


def test_the_filters_keep_rows_by_person_table_kind_and_days_in_sql(store):
    with store.connect() as conn:
        assert audit.count(conn, ALL) == 7  # 3 creations, 3 changes, 1 export
        assert audit.count(conn, audit.AuditFilters(actors=("zhang.editor",))) == 3
        assert audit.count(conn, audit.AuditFilters(entities=("contacts",))) == 3  # created, changed, exported
        assert audit.count(conn, audit.AuditFilters(actions=("export_unmasked",))) == 1
        assert audit.count(conn, audit.AuditFilters(since=dt.date(2026, 2, 10), until=dt.date(2026, 2, 10))) == 4
        assert audit.count(conn, audit.AuditFilters(until=dt.date(2026, 1, 5))) == 3
        assert audit.count(conn, audit.AuditFilters(actors=("zhang.editor",), entities=("contracts",))) == 1
        found = audit.choices(conn)
        totals = audit.totals(conn, ALL)
    assert found.actors == ("local-admin", "wang.admin", "zhang.editor")
    assert set(found.actions) == {"create", "update", "export_unmasked"}
    assert (found.first, found.last) == (dt.date(2026, 1, 5), dt.date(2026, 2, 10))
    assert totals.values.tolist() == [["create", 3], ["update", 3], ["export_unmasked", 1]]


def test_pages_are_cut_in_sql_newest_first(store):
    with store.connect() as conn:
        first = audit.page(conn, ALL, 1, 3)
        third = audit.page(conn, ALL, 3, 3)
    assert first["action"].tolist() == ["export_unmasked", "update", "update"]
    assert third["action"].tolist() == ["create"]  # 7 rows, 3 a page: the last page holds the first row
    assert audit.pages(7, 3) == 3 and audit.pages(0, 50) == 1


def test_each_change_reads_old_and_new_side_by_side_in_chinese(store):
    with store.connect() as conn:
        rows = audit.page(conn, audit.AuditFilters(actors=("zhang.editor", "wang.admin")), 1, 50)
    lines = audit.changes(rows, "zh")
    shown = lines[["action", "entity", "field", "old", "new"]].values.tolist()
    assert shown == [
        ["导出未脱敏数据", "联系人", "行数", "", "1"],
        ["导出未脱敏数据", "联系人", "筛选条件", "", "行业：制造业、能源"],
        ["修改", "合同", "合同金额(元)", "¥86,800.00", "¥90,000.00"],   # cents 8,680,000 -> 9,000,000
        ["修改", "联系人", "电话", "13812341234", "13900002222"],
        ["修改", "联系人", "角色", "使用者", "决策老板"],
        ["修改", "客户", "行业", "制造业", "能源"],
    ]
    assert lines["at"].tolist() == ["2026-02-10 14:30"] * 6
    assert lines["actor"].tolist() == ["wang.admin"] * 2 + ["zhang.editor"] * 4
    assert english_words(" ".join(map(str, lines[["action", "entity", "field", "old", "new"]].values.ravel()))) == []


def test_the_english_reader_gets_words_too(store):
    with store.connect() as conn:
        rows = audit.page(conn, audit.AuditFilters(actions=("update",)), 1, 50)
    lines = audit.changes(rows, "en")
    assert lines[["action", "field", "old", "new"]].values.tolist() == [
        ["Changed", "Amount (yuan)", "¥86,800.00", "¥90,000.00"],
        ["Changed", "Phone", "13812341234", "13900002222"],
        ["Changed", "Role", "User", "Decision-making boss"],
        ["Changed", "Industry", "Manufacturing", "Energy"],
    ]


def test_the_audit_file_masks_personal_data_as_any_export(store):
    with store.connect() as conn:
        frame = audit.export_frame(conn, audit.AuditFilters(entities=("contacts",), actions=("update",)), "zh")
    assert list(frame.columns) == ["时间（世界标准时间）", "操作人", "操作", "数据表", "记录编号", "字段", "修改前", "修改后"]
    assert frame[["字段", "修改前", "修改后"]].values.tolist() == [["电话", "138****1234", "139****2222"],
                                                              ["角色", "使用者", "决策老板"]]


# --- the page ------------------------------------------------------------------------------------------


def shown_text(page) -> str:
    parts = [e.value for e in (*page.title, *page.caption, *page.markdown, *page.info)]
    parts += [w.label for w in (*page.multiselect, *page.date_input, *page.number_input)]
    for frame in page.dataframe:
        parts += [*map(str, frame.value.columns), *map(str, frame.value.values.ravel())]
    return " ".join(map(str, parts))


def test_the_audit_page_in_chinese_filters_and_shows_changes_as_words(store, monkeypatch):
    url = store.url.render_as_string(hide_password=False)
    page = open_page(url, "pages/audit.py", monkeypatch)
    page.session_state["ops_lang"] = "zh"
    ok(page.run())
    assert page.title[0].value == "审计日志"
    assert "共 7 条变更符合条件；第 1 页，共 1 页。 按操作类型：新建 3 · 修改 3 · 导出未脱敏数据 1" in [
        c.value for c in page.caption]
    data = ["wang.admin", "zhang.editor", "HT-2025-001", "MES", "C2025001"]  # as entered
    assert english_words(shown_text(page), data) == []   # the built-in admin reads 本机管理员, not local-admin
    assert "本机管理员" in set(page.dataframe[0].value["操作人"])
    page.multiselect(key="a_actors.zh").set_value(["zhang.editor"]).run()
    page.multiselect(key="a_entities.zh").set_value(["contacts"]).run()
    ok(page)
    lines = page.dataframe[0].value
    assert lines[["操作人", "数据表", "字段", "修改前", "修改后"]].values.tolist() == [
        ["zhang.editor", "联系人", "电话", "13812341234", "13900002222"],
        ["zhang.editor", "联系人", "角色", "使用者", "决策老板"]]
    assert "共 1 条变更符合条件；第 1 页，共 1 页。 按操作类型：修改 1" in [c.value for c in page.caption]
    assert "操作人：zhang.editor；数据表：联系人" in [c.value for c in page.caption]
    page.date_input(key="a_days").set_value((dt.date(2026, 1, 5), dt.date(2026, 1, 5))).run()
    assert [i.value for i in page.info] == ["没有符合筛选条件的变更。"]  # the editor changed nothing that day


def test_the_admins_unmasked_export_appears_on_the_audit_page_with_the_admins_name(store, monkeypatch):
    url = store.url.render_as_string(hide_password=False)
    page = open_page(url, "pages/audit.py", monkeypatch)
    page.multiselect(key="a_actions").set_value(["export_unmasked"]).run()
    ok(page)
    assert page.dataframe[0].value.values.tolist() == [
        ["2026-02-10 14:30", "wang.admin", "Exported unmasked", "Contacts", "", "Rows", "", "1"],
        ["2026-02-10 14:30", "wang.admin", "Exported unmasked", "Contacts", "", "Filters", "",
         "Industry: Manufacturing, Energy"]]


PASSWORD = "correct horse battery"


@pytest.fixture
def team(store):
    """The store with two accounts, a viewer and an admin, to sign in as in team mode."""
    with transaction(store) as s:
        users.add_user(s, writes.LOCAL_ADMIN, "li.viewer", Role.viewer, display_name="李娜", password=PASSWORD)
        users.add_user(s, writes.LOCAL_ADMIN, "wang.admin", Role.admin, display_name="王芳", password=PASSWORD)
    return store


def signed_in(store, username: str, page: str, monkeypatch, lang: str = "en") -> AppTest:
    """Team mode: the app as ``username`` after signing in, switched to ``page``, in ``lang``."""
    monkeypatch.setenv("OPS_DATABASE_URL", store.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPS_SIGN_IN", "required")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.text_input(key="ops_signin_user").input(username)
    app.text_input(key="ops_signin_password").input(PASSWORD)
    app.button[0].click().run()
    app.switch_page(page)
    app.session_state["ops_lang"] = lang
    return ok(app.run())


def links(app: AppTest) -> list[str]:
    return [link.proto.label for link in app.get("page_link")]


def test_a_viewer_is_not_shown_the_audit_trail_nor_its_link(team, monkeypatch):
    page = signed_in(team, "li.viewer", "pages/audit.py", monkeypatch, "zh")
    assert [i.value for i in page.info] == ["只有管理员可以查看审计日志。"]
    assert len(page.dataframe) == 0
    assert "审计日志" not in links(page) and "数据" in links(page)


def test_a_viewer_sees_no_unmasked_checkbox_and_no_import_on_the_data_page(team, monkeypatch):
    page = signed_in(team, "li.viewer", "pages/data.py", monkeypatch, "zh")
    page.session_state["data_tab"] = "导入"  # what an empty start opens (cockpit/start.py): a tab a viewer has not
    ok(page.run())
    page.selectbox(key="export_entity").set_value("contacts").run()
    ok(page)
    assert [c.key for c in page.checkbox if c.key == "export_unmasked"] == []
    assert [t.label for t in page.tabs] == ["导出", "最近变更"]
    assert "打开审计日志" not in links(page)


def test_an_admin_signed_in_sees_the_unmasked_checkbox_the_import_tab_and_the_audit_trail(team, monkeypatch):
    page = signed_in(team, "wang.admin", "pages/data.py", monkeypatch)
    page.selectbox(key="export_entity").set_value("contacts").run()
    ok(page)
    assert [c.key for c in page.checkbox if c.key == "export_unmasked"] == ["export_unmasked"]
    assert [t.label for t in page.tabs] == ["Export", "Import", "Recent changes"]
    assert "Audit trail" in links(page) and "Open the audit trail" in links(page)
    page.switch_page("pages/audit.py").run()
    page.multiselect(key="a_actions").set_value(["export_unmasked"]).run()
    ok(page)  # the fixture's unmasked export, by the admin's name
    assert page.dataframe[0].value[["Who", "Change", "Field", "After"]].values.tolist() == [
        ["wang.admin", "Exported unmasked", "Rows", "1"],
        ["wang.admin", "Exported unmasked", "Filters", "Industry: Manufacturing, Energy"]]


def test_a_users_password_never_shows_on_the_audit_trail(team):
    with team.connect() as conn:
        rows = audit.page(conn, audit.AuditFilters(entities=("users",)), 1, 50)
    lines = audit.changes(rows, "zh")
    assert set(lines.loc[lines["field"] == "密码（已加密）", "new"]) == {"（不显示）"}
    assert set(lines.loc[lines["field"] == "角色", "new"]) == {"查看者", "管理员"}


def test_the_audit_csv_is_the_filtered_changes_masked(store):
    with store.connect() as conn:
        frame = audit.export_frame(conn, audit.AuditFilters(actors=("zhang.editor",)), "en")
    notes = audit.export_notes(audit.AuditFilters(actors=("zhang.editor",)), len(frame), "en")
    from ops_core import exports

    text = exports.to_csv_bytes(frame, notes=notes).decode("utf-8-sig")
    assert text.splitlines()[:3] == ['"# Audit trail: 4 change lines, newest first."', "# by zhang.editor",
                                     "\"# Names, phones and e-mails are masked in this file.\""]
    read = pd.read_csv(io.StringIO(text), skiprows=3, dtype=str, keep_default_na=False)
    assert read[["Field", "Before", "After"]].values.tolist() == [
        ["Amount (yuan)", "¥86,800.00", "¥90,000.00"], ["Phone", "138****1234", "139****2222"],
        ["Role", "User", "Decision-making boss"], ["Industry", "Manufacturing", "Energy"]]


def test_a_setting_reads_by_its_name_and_its_first_change_is_from_the_default(fresh_engine):
    """A setting has no row until it is first changed; to a person that first change moves it from its
    default (7 days, ops_core.config), and it is named as the settings page names it, not by its key."""
    from ops_core import events, settings

    with transaction(fresh_engine) as s:
        settings.change(s, ADMIN, events.HALF_LIFE_KEY, 10.0, 0)
    with transaction(fresh_engine) as s:
        settings.change(s, ADMIN, events.HALF_LIFE_KEY, 5.0, 1)
    with fresh_engine.connect() as conn:
        rows = audit.page(conn, ALL)
    assert audit.changes(rows, "en")[["action", "record", "old", "new"]].values.tolist() == [
        ["Changed", "Time-decay half-life (days)", "10 days", "5 days"],
        ["Changed", "Time-decay half-life (days)", "7 days", "10 days"]]
    assert audit.changes(rows, "zh")[["action", "record", "old", "new"]].values.tolist() == [
        ["修改", "时间衰减半衰期（天）", "10 天", "5 天"], ["修改", "时间衰减半衰期（天）", "7 天", "10 天"]]


def test_an_account_is_named_by_its_user_name_on_every_change(team):
    with transaction(team) as s:
        viewer = s.execute(TABLES["users"].select().where(TABLES["users"].c.username == "li.viewer")).mappings().one()
        users.change_role(s, ADMIN, "li.viewer", viewer["version"], Role.editor)
    with team.connect() as conn:
        lines = audit.changes(audit.page(conn, audit.AuditFilters(entities=("users",))), "zh")
    assert set(lines["record"]) == {"li.viewer", "wang.admin"}
    assert lines.iloc[0][["action", "record", "field", "old", "new"]].tolist() == ["修改", "li.viewer", "角色", "查看者", "编辑者"]
