"""The data page's export in a real browser, in 简体中文: the grid shows the entity's file (Chinese
headers, yuan with two decimals, labels, business keys; an empty time stays empty) and the CSV it
downloads has the same headers."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from ops_core.fileschema import SCHEMAS
from tests.test_browser import browser, screenshots, start_app, wait_for_render  # noqa: F401 (fixtures)

GRID = 'iframe[title="st_aggrid.AgGrid.agGrid"]'


def _choose(page, name: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text="导出对象").click()
    page.get_by_role("option", name=name, exact=True).click()
    wait_for_render(page)


def _grid(page) -> tuple[list[str], list[list[str]]]:
    """The grid's headers and its first rows as drawn (the page is wide enough for every column)."""
    grid = page.frame_locator(GRID)
    grid.locator(".ag-row").first.wait_for(timeout=60_000)
    headers = [h.strip() for h in grid.locator(".ag-header-cell-text").all_inner_texts()]
    rows = []
    for row in grid.locator(".ag-center-cols-container .ag-row[row-index='0'], "
                            ".ag-center-cols-container .ag-row[row-index='1']").all():
        cells = {c.get_attribute("col-id"): c.inner_text().strip() for c in row.locator(".ag-cell").all()}
        rows.append([cells.get(h, "") for h in headers])
    return headers, rows


@pytest.mark.one_engine
def test_the_chinese_export_grid_and_its_csv_read_as_the_contracts_and_leads_files(browser, demo_url, screenshots,  # noqa: F811
                                                                                   tmp_path):
    contracts, customers, leads = TABLES["contracts"], TABLES["customers"], TABLES["leads"]
    engine = make_engine(demo_url)
    with engine.connect() as conn:
        first = conn.execute(select(contracts.c.code, customers.c.code, contracts.c.kind, contracts.c.amount_cents)
                             .join(customers, contracts.c.customer_id == customers.c.id)
                             .order_by(contracts.c.id).limit(1)).one()
        unwon = conn.execute(select(leads.c.won_at).order_by(leads.c.id).limit(1)).scalar_one() is None
    engine.dispose()
    process, base = start_app(demo_url, tmp_path / "export.log")
    page = browser.new_page(viewport={"width": 2600, "height": 1400}, accept_downloads=True)
    try:
        page.goto(f"{base}/data?lang=zh")
        wait_for_render(page)
        _choose(page, "合同")
        headers, rows = _grid(page)
        page.screenshot(path=str(screenshots / "export-contracts-zh.png"), full_page=True)
        assert headers == [f.header("zh") for f in SCHEMAS["contracts"].fields]
        assert headers[:8] == ["合同编号", "客户编号", "合同类型", "产品线", "签约日期", "开始日期", "结束日期", "合同金额(元)"]
        kind = {"new": "新签", "renewal": "续约", "expansion": "增购"}[first.kind]  # the kinds' Chinese labels
        amount = f"{first.amount_cents / 100:.2f}"  # cents as yuan, two decimals (the file, as it re-imports)
        shown = f"{first.amount_cents / 100:,.2f}"  # on screen with thousands separators
        assert [rows[0][0], rows[0][1], rows[0][2], rows[0][7]] == [first[0], first[1], kind, shown]
        with page.expect_download() as done:
            page.get_by_role("button", name="下载 CSV").click()
        assert done.value.suggested_filename == "合同.csv"
        lines = list(csv.reader(io.StringIO(done.value.path().read_bytes().decode("utf-8-sig"))))
        assert lines[2] == headers  # after the two notes: what, when
        assert lines[3][:3] + [lines[3][7]] == [first[0], first[1], kind, amount]

        _choose(page, "线索")
        headers, rows = _grid(page)
        page.screenshot(path=str(screenshots / "export-leads-zh.png"), full_page=True)
        assert headers == [f.header("zh") for f in SCHEMAS["leads"].fields]
        assert [h for h in headers if re.search(r"[a-z]_|_id$|cents", h)] == []
        shown = [cell for row in rows for cell in row]
        assert "NaT" not in shown and "None" not in shown and "nan" not in shown
        if unwon:
            assert rows[0][headers.index("成交时间")] == ""
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[0][headers.index("创建时间")])
        assert re.fullmatch(r"\d{3}\*{4}\d{4}|'?\+\d+ \d+\*{4}\d{4}", rows[0][headers.index("电话")])  # masked
        assert page.locator("[data-testid=stException]").count() == 0
    finally:
        page.close()
        process.terminate()
        process.wait(timeout=20)
