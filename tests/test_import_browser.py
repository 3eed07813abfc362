"""A team's own file in a real browser: a store started empty, the data page in 简体中文, a GBK file
with Chinese headers uploaded, one column mapped by hand, previewed and imported."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from tests.test_browser import browser, screenshots, start_app, wait_for_render  # noqa: F401 (fixtures)

# As a Chinese CRM exports it: its own headers (人员规模 is not a known variant: it is mapped by hand),
# labels, 2025/3/1 dates, saved in GBK.
CRM_FILE = ("客户编码,公司名称,所属行业,大区,人员规模,创建日期\n"
            "C2025001,华东精密制造有限公司,制造业,华东,1200,2025/3/1\n"
            "C2025002,北方能源集团,能源,华北,80,2025年3月2日\n").encode("gbk")


@pytest.mark.one_engine
def test_a_gbk_crm_file_is_uploaded_mapped_previewed_and_imported_in_chinese(browser, new_store_url, screenshots,  # noqa: F811
                                                                              tmp_path):
    url = new_store_url()
    process, base = start_app(url, tmp_path / "import.log", OPS_START="empty")
    page = browser.new_page(viewport={"width": 1440, "height": 2200})
    try:
        page.goto(f"{base}/data?lang=zh")
        wait_for_render(page)
        page.get_by_role("tab", name="导入").click()
        wait_for_render(page)
        (tmp_path / "客户.csv").write_bytes(CRM_FILE)
        page.locator("[data-testid=stMain] input[type=file]").first.set_input_files(str(tmp_path / "客户.csv"))
        page.get_by_text("识别为GB18030 编码，逗号分隔；共 6 列。").wait_for(timeout=60_000)
        wait_for_render(page)
        size = page.get_by_test_id("stSelectbox").filter(has_text="人员规模")
        page.screenshot(path=str(screenshots / "import-mapping-zh.png"), full_page=True)
        assert size.locator("input").input_value() == "（不导入）"
        size.locator("input").click()
        page.get_by_role("option", name="员工人数 *").click()
        wait_for_render(page)
        page.get_by_role("button", name="预览").click()
        page.get_by_text("预览：尚未写入任何数据").wait_for(timeout=60_000)
        wait_for_render(page)
        metrics = {m.get_by_test_id("stMetricLabel").inner_text().strip(): m.get_by_test_id("stMetricValue").inner_text().strip()
                   for m in page.get_by_test_id("stMetric").all()}
        assert metrics == {"新增": "2", "更新": "0", "未变": "0", "拒绝": "0"}
        page.screenshot(path=str(screenshots / "import-preview-zh.png"), full_page=True)
        page.get_by_role("button", name="导入", exact=True).click()
        page.get_by_text("客户.csv：客户新增 2 行，更新 0 行，未变 0 行，拒绝 0 行。").wait_for(timeout=60_000)
        wait_for_render(page)
        assert page.locator("[data-testid=stException]").count() == 0
        assert page.get_by_text("预览：尚未写入任何数据").count() == 0
        page.screenshot(path=str(screenshots / "import-done-zh.png"), full_page=True)
    finally:
        page.close()
        process.terminate()
        process.wait(timeout=20)
    engine = make_engine(url)
    customers = TABLES["customers"]
    with engine.connect() as conn:
        stored = conn.execute(select(customers.c.code, customers.c.employees, customers.c.region)
                              .order_by(customers.c.code)).all()
    engine.dispose()
    assert [tuple(r) for r in stored] == [("C2025001", 1200, "east_china"), ("C2025002", 80, "north_china")]
