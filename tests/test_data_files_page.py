"""The data page's downloads of an entity's file: the export in its file schema (headers, yuan, labels,
business keys, no ids) and the template beside it, named and labelled in the reader's language."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from streamlit.components.v1.component_arrow import arrow_proto_to_dataframe
from streamlit.runtime.media_file_manager import MediaFileManager

from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from ops_core.exports import mask_phone, neutralise
from tests.conftest import ok, open_page

SNAKE = re.compile(r"^[a-z]+(_[a-z]+)+$")  # a store column such as amount_cents or customer_id


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["Download CSV", "Download Excel", "Template (CSV)", "Template (Excel)"]),
    ("zh", ["下载 CSV", "下载 Excel", "模板（CSV）", "模板（Excel）"]),
])
def test_the_data_page_offers_the_template_of_the_chosen_entity(demo_url, monkeypatch, lang, expected):
    page = open_page(demo_url, "pages/data.py", monkeypatch)
    page.session_state["ops_lang"] = lang
    page.session_state["export_entity"] = "payments"  # picked through the state: the picker shows labels
    ok(page.run())
    assert page.selectbox(key="export_entity").value == "payments"
    assert [e.proto.label for e in page.get("download_button")] == expected


@pytest.fixture
def downloads(monkeypatch) -> dict[str, Callable[[], bytes]]:
    """File name -> the function a download button runs when pressed (Streamlit builds the file then)."""
    made: dict[str, Callable[[], bytes]] = {}
    add_deferred = MediaFileManager.add_deferred

    def remember(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return add_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", remember)
    return made


def _grid(page) -> pd.DataFrame:
    """The export grid's rows under the headers it shows (AgGrid is a component: its options travel as
    JSON, its rows as an Arrow table with a row id column of the grid's own)."""
    grid = page.get("component_instance")[0].proto
    headers = [c["headerName"] for c in json.loads(grid.json_args)["gridOptions"]["columnDefs"]]
    rows = arrow_proto_to_dataframe(next(a for a in grid.special_args if a.key == "data").arrow_dataframe.data)
    rows.columns = [c[0] if isinstance(c, tuple) else c for c in rows.columns]
    assert list(rows.columns) == [*headers, "::auto_unique_id::"]
    return rows[headers]


def _stored(demo_url: str, query):
    engine = make_engine(demo_url)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    engine.dispose()
    return rows


CONTRACT_HEADERS = ["合同编号", "客户编号", "合同类型", "产品线", "签约日期", "开始日期", "结束日期", "合同金额(元)", "交付成本(元)",
                    "服务成本(元)", "续约原合同"]  # ops_core/fileschema.py, in Chinese


def test_the_chinese_export_shows_and_downloads_the_contracts_file_in_yuan_with_labels(demo_url, monkeypatch,
                                                                                       downloads):
    page = open_page(demo_url, "pages/data.py", monkeypatch)
    page.session_state["ops_lang"] = "zh"
    page.session_state["export_entity"] = "contracts"
    ok(page.run())
    contracts, customers = TABLES["contracts"], TABLES["customers"]
    stored = _stored(demo_url, select(contracts.c.code, customers.c.code, contracts.c.kind, contracts.c.amount_cents)
                     .join(customers, contracts.c.customer_id == customers.c.id).order_by(contracts.c.id))
    shown = _grid(page)
    assert list(shown.columns) == CONTRACT_HEADERS
    assert [c for c in shown.columns if "_cents" in c or c.endswith("_id") or SNAKE.match(c)] == []
    assert len(shown) == min(len(stored), 200)  # 200: the ui.page_size setting's default
    assert [e.value for e in page.caption if e.value.startswith("共 ")] == [
        f"共 {len(stored):,} 行（不受侧边栏筛选影响）；下方显示前 {len(shown)} 行，下载的文件包含全部行。"]
    kinds = {"new": "新签", "renewal": "续约", "expansion": "增购"}  # the contract kinds' Chinese labels
    first = shown.iloc[0]
    assert (first["合同编号"], first["客户编号"], first["合同类型"]) == (stored[0][0], stored[0][1], kinds[stored[0][2]])
    assert first["合同金额(元)"] == stored[0][3] / 100  # cents as yuan
    assert set(shown["合同类型"]) <= set(kinds.values())

    assert set(downloads) >= {"合同.csv", "合同.xlsx"}  # file names in Chinese too
    rows = list(csv.reader(io.StringIO(downloads["合同.csv"]().decode("utf-8-sig"))))
    notes = [row[0] for row in rows[:2]]
    assert notes[0] == f"# 合同：{len(stored):,} 行" and notes[1].startswith("# 导出时间：")
    assert rows[2] == CONTRACT_HEADERS  # contracts hold no personal data: two notes, then the header
    assert len(rows) == 3 + len(stored)  # every row, not only the page shown
    assert rows[3][:3] == [stored[0][0], stored[0][1], kinds[stored[0][2]]]
    assert rows[3][7] == f"{stored[0][3] / 100:.2f}"
    book = load_workbook(io.BytesIO(downloads["合同.xlsx"]()))
    assert book.sheetnames == ["合同", "文件说明"]
    assert [c.value for c in book["合同"][1]] == CONTRACT_HEADERS
    assert book["文件说明"]["A1"].value == f"合同：{len(stored):,} 行"


def test_contacts_are_exported_masked_until_the_admin_asks_for_them_in_full(demo_url, monkeypatch, downloads):
    """The app runs in single-user mode as the local admin, who may tick the box."""
    page = open_page(demo_url, "pages/data.py", monkeypatch)
    page.session_state["ops_lang"] = "zh"
    page.session_state["export_entity"] = "contacts"
    ok(page.run())
    contacts = TABLES["contacts"]
    phone = _stored(demo_url, select(contacts.c.phone).order_by(contacts.c.id).limit(1))[0][0]
    assert "此文件中的姓名、电话和邮箱已脱敏：仅供查看，请勿重新导入。" in [e.value for e in page.caption]
    rows = list(csv.reader(io.StringIO(downloads["联系人.csv"]().decode("utf-8-sig"))))
    assert rows[2] == ["# 此文件中的姓名、电话和邮箱已脱敏：仅供查看，请勿重新导入。"]
    assert rows[3][3] == "电话" and rows[4][3] == neutralise(mask_phone(phone))  # "+44 20****1643" gets a quote
    assert _grid(page)["电话"].iloc[0] == mask_phone(phone)
    page.checkbox(key="export_unmasked").check()
    ok(page.run())
    assert "此文件中的姓名、电话和邮箱未脱敏：请妥善保管。" in [e.value for e in page.caption]
    rows = list(csv.reader(io.StringIO(downloads["联系人.csv"]().decode("utf-8-sig"))))
    assert rows[2] == ["# 此文件中的姓名、电话和邮箱未脱敏：请妥善保管。"] and rows[4][3] == neutralise(phone)
