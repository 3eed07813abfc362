"""The data page reads in the reader's language: tables and entities by their names, not the store's."""
from __future__ import annotations

import re

import pytest

from ops_core import io, overview
from ops_core.db.engine import make_engine
from ops_core.i18n import TEXT
from ops_core.overview import TABLES
from tests.conftest import ok, open_page

SNAKE_OR_CODE = re.compile(r"^[a-z]+(_[a-z]+)*$")  # a store name such as account_user_weeks or customers


def test_every_table_and_entity_has_a_name_in_both_languages():
    missing = [name for name in [*TABLES, *io.ENTITIES] if f"table.{name}" not in TEXT]
    assert missing == []


@pytest.mark.parametrize(("lang", "customers"), [("en", "Customers"), ("zh", "客户")])
def test_the_data_page_names_tables_and_entities_in_the_readers_language(demo_url, monkeypatch, lang, customers):
    page = open_page(demo_url, "pages/data.py", monkeypatch)
    page.session_state["ops_lang"] = lang
    ok(page.run())
    shown_tables = page.dataframe[0].value.iloc[:, 0].tolist()
    assert len(shown_tables) == len(TABLES)
    assert [name for name in shown_tables if SNAKE_OR_CODE.match(name)] == []  # seen: account_user_weeks, customers
    assert customers in shown_tables
    for key in ("export_entity", "import_entity"):
        assert customers in page.selectbox(key=key).options  # the options as shown


def test_the_file_picker_speaks_chinese_in_chinese(demo_url, monkeypatch):
    """Streamlit writes its file picker's button and size limit in English; in Chinese the page replaces them."""
    page = open_page(demo_url, "pages/data.py", monkeypatch)
    page.session_state["ops_lang"] = "zh"
    ok(page.run())
    styles = " ".join(element.proto.body for element in page.get("html"))
    assert 'content: "上传文件"' in styles
    assert 'content: "每个文件不超过 200 MB · CSV 或 Excel 文件"' in styles  # 200: server.maxUploadSize in .streamlit/config.toml


# The audit log's kinds of change as a person reads them (ops_core.writes writes the codes).
CHANGES = {"en": {"create": "Created", "update": "Changed", "delete": "Deleted", "import": "Imported from a file",
                  "demo": "Demo company generated", "snapshot": "Month snapshot", "remove_demo": "Demo company removed",
                  "export_unmasked": "Exported unmasked"},
           "zh": {"create": "新建", "update": "修改", "delete": "删除", "import": "从文件导入", "demo": "生成演示公司",
                  "snapshot": "月度快照", "remove_demo": "删除演示公司",
                  "export_unmasked": "导出未脱敏数据"}}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_audit_tab_names_each_change_and_table_in_words(demo_url, monkeypatch, lang):
    """Seen: create, update, import, feedback as the store writes them. The rows are the store's newest."""
    page = open_page(demo_url, "pages/data.py", monkeypatch)
    page.session_state["ops_lang"] = lang
    ok(page.run())
    shown = page.dataframe[-1].value
    engine = make_engine(demo_url)
    with engine.connect() as conn:
        stored = overview.recent_changes(conn)
    engine.dispose()
    assert list(shown.columns[2:]) == (["Action", "Table"] if lang == "en" else ["操作", "数据表"])
    assert shown.iloc[:, 2].tolist() == [CHANGES[lang][code] for code in stored["action"]]
    assert shown.iloc[:, 3].tolist() == [TEXT[f"table.{name}"][lang == "zh"] for name in stored["entity"]]
