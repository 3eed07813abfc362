"""The data page's import, as a reader of 简体中文 uses it: a GBK file with Chinese headers is mapped
(suggested from the headers, one column changed by hand), previewed (what is added, updated, left
and rejected, with old -> new), and imported with "the valid rows" chosen; the rejected row comes
back as a file. Every word on the way is Chinese."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from ops_core.i18n import label
from ops_core.vocab import Industry, Region
from tests.conftest import ok, open_page, small_company
from tests.wording import english_words


@pytest.fixture
def store_url(new_store_url) -> str:
    return small_company(new_store_url)


def _first_customer(url: str) -> dict:
    engine = make_engine(url)
    customers = TABLES["customers"]
    with engine.connect() as conn:
        row = conn.execute(select(customers).order_by(customers.c.id).limit(1)).mappings().one()
    engine.dispose()
    return dict(row)


def _page_text(page) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "subheader", "metric"):
        for element in page.get(kind):
            parts.append(str(getattr(element, "value", "")) + " " + str(getattr(element, "label", "")))
    for element in page.get("selectbox") + page.get("radio") + page.get("button"):
        parts.append(element.label)
    return " ".join(parts)


def test_a_gbk_file_with_chinese_headers_is_mapped_previewed_and_its_valid_rows_imported(store_url, monkeypatch):
    first = _first_customer(store_url)
    # The CRM's own headers: 公司名称 and 大区 are known variants; 人员规模 is not, and is mapped by hand.
    text = ("客户编码,公司名称,所属行业,大区,人员规模,创建日期\n"
            f"{first['code']},{first['name']},{label(Industry, first['industry'], 'zh')},"
            f"{label(Region, first['region'], 'zh')},{first['employees'] + 1},{first['created_on']:%Y/%m/%d}\n"
            "NEW-001,新客户有限公司,能源,华北,80,2025年3月2日\n"
            "NEW-002,外星客户,外星,华北,12,2025-03-02\n")
    page = open_page(store_url, "pages/data.py", monkeypatch)
    page.session_state["ops_lang"] = "zh"
    page.session_state["data_tab"] = "导入"
    page.session_state["import_entity"] = "customers"
    ok(page.run())
    page.file_uploader(key="import_customers_file").upload("客户.csv", text.encode("gbk"), "text/csv")
    ok(page.run())
    captions = [c.value for c in page.caption]
    assert "识别为GB18030 编码，逗号分隔；共 6 列。" in captions
    headers = ["客户编码", "公司名称", "所属行业", "大区", "人员规模", "创建日期"]
    pickers = {box.label: box for box in page.selectbox if box.label in headers}
    assert {label: box.value for label, box in pickers.items()} == {
        "客户编码": "code", "公司名称": "name", "所属行业": "industry", "大区": "region", "人员规模": "", "创建日期": "created_on"}
    assert pickers["人员规模"].format_func("") == "（不导入）"
    assert pickers["公司名称"].format_func("employees") == "员工人数 *"

    pickers["人员规模"].set_value("employees")
    page.radio(key=next(r.key for r in page.radio if "import_customers_mode" in r.key)).set_value("valid")
    ok(page.run())
    page.button(key="import_customers_preview_button").click()
    ok(page.run())
    metrics = {m.label: m.value for m in page.metric}
    assert metrics == {"新增": "1", "更新": "1", "未变": "0", "拒绝": "1"}
    shown = _page_text(page)
    assert "预览：尚未写入任何数据" in shown
    frames = [f.value for f in page.dataframe]
    problems = next(f for f in frames if "问题" in f.columns)
    assert problems.values.tolist() == [[4, "所属行业", "「外星」不是可选值之一：制造业、建筑业、物流、能源、零售、医疗健康、汽车、化工、电子、食品饮料、其他"]]
    changes = next(f for f in frames if "导入后" in f.columns)
    assert changes.values.tolist() == [["2", first["code"], "员工人数", str(first["employees"]), str(first["employees"] + 1)]]
    # Data as entered (codes, the file's name) and the language picker, which names itself in both languages.
    data = [first["code"], first["name"], "NEW", "GB", "CSV", "客户.csv", "语言 / Language"]
    assert english_words(shown, data) == []

    page.button(key="import_customers_run").click()
    ok(page.run())
    assert [s.value for s in page.success] == ["客户.csv：客户新增 1 行，更新 1 行，未变 0 行，拒绝 1 行。"]
    engine = make_engine(store_url)
    customers = TABLES["customers"]
    with engine.connect() as conn:
        added = conn.execute(select(customers.c.name, customers.c.region).where(customers.c.code == "NEW-001")).one()
        employees = conn.execute(select(customers.c.employees).where(customers.c.code == first["code"])).scalar()
        alien = conn.execute(select(customers.c.id).where(customers.c.code == "NEW-002")).first()
    engine.dispose()
    assert (tuple(added), employees, alien) == (("新客户有限公司", "north_china"), first["employees"] + 1, None)
    download = page.get("download_button")
    assert [d.proto.label for d in download][-1] == "下载被拒绝的行（CSV，含拒绝原因）"


def test_an_admin_adds_a_files_new_industry_to_the_list_in_the_same_step(store_url, monkeypatch):
    text = "客户编号,客户名称,行业,区域,员工人数,建档日期\nNEW-101,蓝天航空部件有限公司,航空航天,华东,300,2025-03-01\n"
    page = open_page(store_url, "pages/data.py", monkeypatch)
    page.session_state["ops_lang"] = "zh"
    page.session_state["data_tab"] = "导入"
    page.session_state["import_entity"] = "customers"
    ok(page.run())
    page.file_uploader(key="import_customers_file").upload("客户.csv", text.encode("utf-8"), "text/csv")
    ok(page.run())
    page.button(key="import_customers_preview_button").click()
    ok(page.run())
    assert {m.label: m.value for m in page.metric}["拒绝"] == "1"
    assert "**列表中尚没有的值**" in [m.value for m in page.markdown]
    editor = next(f.value for f in page.dataframe if "文件中的值" in f.value.columns)   # the data editor
    assert editor.values.tolist() == [["行业", "航空航天", "航空航天", "航空航天", True]]
    page.button(key="import_customers_add_values").click()
    ok(page.run())
    assert [s.value for s in page.success] == ["已将 1 个值加入公司列表；请重新预览文件。"]
    page.button(key="import_customers_preview_button").click()
    ok(page.run())
    assert {m.label: m.value for m in page.metric} == {"新增": "1", "更新": "0", "未变": "0", "拒绝": "0"}
