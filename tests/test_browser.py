"""The app in a real browser: start ``streamlit run app.py``, open every page in headless Chromium.

Screenshots go to a temporary folder (or ``OPS_SCREENSHOT_DIR``) to be looked at. Skips, with the
reason, when Chromium or Playwright is absent; CI forbids skips (see .ci/run).
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
NAV_TITLES = [
    ("home", "Home"), ("indicators", "Indicator system"), ("customers", "Customer tiers & value"),
    ("demands", "Demand board"), ("feedback", "Feedback queue"), ("events", "Event ROI"), ("data", "Data"),
    ("accounts", "Accounts"), ("settings", "Settings"),  # admins only: single-user mode acts as the built-in admin
    ("audit", "Audit trail"),
]
PAGES = [
    ("", "Ops Cockpit"),  # the default page lives at the root address
    ("indicators", "Indicator system"),
    ("customers", "Customer tiers & value"),
    ("demands", "Demand board"),
    ("feedback", "Feedback queue"),
    ("events", "Event ROI"),
    ("data", "Data"),
    ("accounts", "Accounts"),
    ("audit", "Audit trail"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(database_url: str, log: Path, script: str = "app.py", cwd: Path = ROOT, **env: str) -> tuple[subprocess.Popen, str]:
    """``streamlit run SCRIPT`` on a free port against a store; returns the process and its address."""
    port = _free_port()
    # OPS_START=demo: a first start builds the demo company at once, as these tests expect (tests/test_start.py
    # covers the first-start choice).
    environment = {**os.environ, "OPS_DATABASE_URL": database_url, "OPS_START": "demo", **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true", "--server.port", str(port),
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=cwd, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                return process, base
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"streamlit did not start: {log.read_text()[-2000:]}")


def stop_app(process: subprocess.Popen) -> None:
    """Stop a server started by ``start_app``, killing it if it will not go."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("OPS_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for_render(page, timeout_ms: int = 90_000) -> None:
    """Wait until the app has settled: idle and nothing stale, twice in a row. Tabs and expanders that
    rerun on change report their state after the first draw, which starts a second run."""
    page.wait_for_selector("h1", timeout=timeout_ms)
    idle = "[data-testid=stApp][data-test-script-state=notRunning]"
    settled = 0
    for _ in range(60):
        page.wait_for_selector(idle, timeout=timeout_ms)
        page.wait_for_timeout(500)  # charts and grids draw after the script finishes
        quiet = page.locator(idle).count() == 1 and page.locator("[data-stale=true]").count() == 0
        settled = settled + 1 if quiet else 0
        if settled == 2:
            return


@pytest.fixture(scope="module")
def running_app(demo_url, tmp_path_factory) -> Iterator[str]:
    process, base = start_app(demo_url, tmp_path_factory.mktemp("log") / "streamlit.log")
    yield base
    process.terminate()
    process.wait(timeout=20)


@pytest.mark.parametrize(("path", "heading"), PAGES, ids=[p or "home" for p, _ in PAGES])
def test_every_page_renders_in_chromium(browser, running_app, screenshots, path, heading):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    try:
        page.goto(f"{running_app}/{path}")
        wait_for_render(page)
        assert page.locator("[data-testid=stException]").count() == 0
        assert page.locator("h1").first.inner_text().strip() == heading
        # The app frame ran: the product's pages by their titles (not one link per file of pages/) and the shared sidebar.
        links = [link.inner_text().split("\n")[-1].strip()
                 for link in page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink").all()]
        assert links == [title for _, title in NAV_TITLES]
        page.get_by_text("Date range").first.wait_for(timeout=30_000)
        assert page.get_by_text("Date range").count() == 1
        page.screenshot(path=str(screenshots / f"{path or 'home'}.png"), full_page=True)
    finally:
        page.close()


def test_home_in_chinese_with_filters_from_a_shared_link(browser, running_app, screenshots):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    try:
        page.goto(f"{running_app}/?lang=zh&industries=manufacturing,energy")
        wait_for_render(page)
        assert page.locator("[data-testid=stException]").count() == 0
        assert page.locator("h1").first.inner_text().strip() == "运营驾驶舱"
        assert "制造业" in page.locator("[data-testid=stMain] [data-testid=stCaptionContainer]").first.inner_text()
        # Moving to another page keeps the filters in the address bar.
        page.get_by_test_id("stPageLink-NavLink").filter(has_text="数据").click()
        page.wait_for_url("**/data?*", timeout=30_000)
        wait_for_render(page)
        assert "industries=manufacturing%2Cenergy" in page.url or "industries=manufacturing,energy" in page.url
        page.screenshot(path=str(screenshots / "data-zh.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize(("lang", "tab", "box", "said", "suggested"), [
    ("en", "New feedback", "What the customer said", "Where do I configure role permissions? New staff cannot see reports",
     "Suggested type: "),
    ("zh", "录入反馈", "客户反馈内容", "角色权限怎么配置？新员工看不到报表", "建议类型："),
])
def test_the_suggested_type_and_similar_items_show_while_typing(browser, running_app, screenshots, lang, tab, box, said,
                                                                 suggested):
    """Seen: nothing until the text box was left. Typed key by key, then a pause with the cursor still in
    the box: the suggestion and the similar items are there, nothing submitted."""
    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    try:
        page.goto(f"{running_app}/feedback?lang={lang}")
        wait_for_render(page)
        page.get_by_role("tab", name=tab).click()
        wait_for_render(page)
        text = page.get_by_label(box)
        text.click()
        text.press_sequentially(said, delay=40)
        page.get_by_text(suggested).first.wait_for(timeout=30_000)
        assert page.evaluate("() => document.activeElement?.shadowRoot?.activeElement?.tagName") == "TEXTAREA"
        page.get_by_text("Similar items already stored" if lang == "en" else "已有的相似反馈").first.wait_for(timeout=30_000)
        page.screenshot(path=str(screenshots / f"typing-{lang}.png"), full_page=True)
    finally:
        page.close()


def test_the_audit_trail_reads_in_chinese(browser, running_app, screenshots):
    """The admin's audit trail (single-user mode acts as the built-in admin) in Chinese: the filters, the
    counts and the file's buttons in words; the grid itself is drawn on a canvas (tests/test_audit.py reads it)."""
    from tests.wording import english_words

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    try:
        page.goto(f"{running_app}/audit?lang=zh")
        wait_for_render(page)
        assert page.locator("[data-testid=stException]").count() == 0
        assert page.locator("h1").first.inner_text().strip() == "审计日志"
        main = page.get_by_test_id("stMain").inner_text()
        assert re.search(r"共 [\d,]+ 条变更符合条件；第 1 页，共 \d+ 页。 按操作类型：", main)
        assert "生成演示公司" in main  # the demo company's build, by its name
        assert english_words(main, ["local-admin", "system", "CSV", "Excel"]) == []  # file formats by their names
        page.screenshot(path=str(screenshots / "audit-zh.png"), full_page=True)
    finally:
        page.close()


def test_first_start_fills_an_empty_store_and_a_dead_store_gives_a_clear_page(browser, new_store_url, screenshots, tmp_path):
    process, base = start_app(new_store_url(), tmp_path / "first.log", OPS_DEMO_CUSTOMERS="40", OPS_DEMO_YEARS="1")
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    try:
        page.goto(base)
        wait_for_render(page, timeout_ms=180_000)
        assert page.locator("[data-testid=stException]").count() == 0
        assert page.get_by_test_id("stMetricValue").first.inner_text().strip() == "40"
    finally:
        page.close()
        process.terminate()
        process.wait(timeout=20)
    process, base = start_app("postgresql+psycopg://ops:s3cret@127.0.0.1:1/ops", tmp_path / "down.log")
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    try:
        page.goto(base)
        wait_for_render(page)
        assert page.locator("h1").first.inner_text().strip() == "The database cannot be reached"
        assert page.locator("[data-testid=stException]").count() == 0
        assert "s3cret" not in page.content()
        page.screenshot(path=str(screenshots / "store-down.png"), full_page=True)
    finally:
        page.close()
        process.terminate()
        process.wait(timeout=20)


def metric_value(page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return metric.get_by_test_id("stMetricValue").inner_text().strip()


def test_customer_tiers_slider_filter_and_masked_export(browser, running_app, screenshots, tmp_path):
    import csv
    import io

    from ops_core.i18n import t
    from ops_core.vocab import Industry, values

    page = browser.new_page(viewport={"width": 1440, "height": 2400}, accept_downloads=True)
    try:
        page.goto(f"{running_app}/customers")
        wait_for_render(page)
        assert page.locator("[data-testid=stException]").count() == 0
        before = metric_value(page, "KA customers")
        slider = page.get_by_role("slider", name="Order amount (12 months)")
        slider.focus()
        slider.press("End")  # all the way up: order amount dominates the score
        page.wait_for_function(
            """([label, before]) => [...document.querySelectorAll('[data-testid=stMetric]')]
                 .some(m => m.innerText.includes(label) && !m.innerText.includes('\\n' + before))""",
            arg=["KA customers", before], timeout=30_000)
        wait_for_render(page)
        after = metric_value(page, "KA customers")
        assert after != before

        tier_filter = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text("Tier", exact=True))
        tier_filter.locator("input").fill("KA")
        tier_filter.locator("input").press("Enter")
        tier_filter.locator("input").press("Escape")  # close the drop-down; it hides the page from the accessibility tree
        page.get_by_text(re.compile(r"^\d[\d,]* of \d[\d,]* customers match$")).filter(
            has_not_text=f"{after} of {after}").first.wait_for(timeout=30_000)
        wait_for_render(page)
        matching = page.get_by_text(re.compile(r"^\d[\d,]* of \d[\d,]* customers match$")).first.inner_text()
        assert matching.startswith(f"{after} of ")
        assert "c_tiers=KA" in page.url  # the filtered view is a shareable link
        page.screenshot(path=str(screenshots / "customers-filtered.png"), full_page=True)

        page.get_by_role("tab", name="Export").click()
        with page.expect_download(timeout=30_000) as download:
            page.get_by_role("button", name="Download CSV").click()
        text = Path(download.value.path()).read_text(encoding="utf-8-sig")
        lines = [line for line in text.splitlines() if line and not line.startswith(("# ", "\"# "))]
        assert len(lines) - 1 == int(after.replace(",", ""))  # header + one row per KA customer
        assert "@" in text, "the export carries (masked) key-contact e-mails"
        assert not re.search(r"[A-Za-z0-9._%+-]{2,}@", text), "an e-mail left unmasked"
        assert not re.search(r"1[3-9]\d{9}", text), "a mobile number left unmasked"
        # The file reads as the page does: headings, labels and yuan with two decimals, not the store's terms.
        rows = list(csv.reader(io.StringIO("\n".join(lines))))
        assert rows[0][:9] == ["Code", "Customer", "Tier", "Score", "Industry", "Region", "Size band", "CSM", "ARR (¥)"]
        assert {r[4] for r in rows[1:]} <= {t(f"industry.{v}") for v in values(Industry)}
        assert all(re.fullmatch(r"-?\d+\.\d{2}", r[8]) for r in rows[1:] if r[8])
    finally:
        page.close()


def test_selecting_a_row_in_the_customer_grid_explains_that_customer(browser, running_app, screenshots):
    page = browser.new_page(viewport={"width": 1440, "height": 2400})
    try:
        page.goto(f"{running_app}/customers")
        wait_for_render(page)
        grid = page.frame_locator('iframe[title="st_aggrid.AgGrid.agGrid"]')
        grid.locator(".ag-row").first.wait_for(timeout=60_000)
        # Only one page of rows reaches the browser: the grid holds the page size (200), not all customers.
        total = int(grid.locator("[role=treegrid],[role=grid]").first.get_attribute("aria-rowcount")) - 1
        assert total == 200
        row = grid.locator(".ag-row[row-index='3']").first
        code, _name, _tier, score = row.inner_text().split("\n")[:4]
        row.click()
        page.get_by_role("tab", name="Explanation").click()
        expected = f"Score {float(score):.1f}, tier"
        page.get_by_text(expected).first.wait_for(timeout=30_000)
        assert code in page.get_by_test_id("stSelectbox").filter(has_text="Customer").first.inner_html()
        page.screenshot(path=str(screenshots / "customers-explained.png"), full_page=True)
    finally:
        page.close()


def test_event_ranking_follows_the_attribution_model(browser, running_app, demo_engine, screenshots):
    import datetime as dt

    from ops_core import events
    from ops_core.filters import Filters
    from ops_core.i18n import t

    today = dt.date.today()
    shared = Filters.default(today)  # the sidebar's default range
    with demo_engine.connect() as conn:
        data = events.load(conn, shared.date_from, shared.date_to)
        standard = events.lead_standard(conn)
    ranking = {model: events.select_events(events.event_metrics(data, standard, model, 180, today), data.events)["name"]
               .head(5).tolist() for model in events.Model}
    first, other = events.Model.first, next((m for m in events.Model if ranking[m] != ranking[events.Model.first]), None)
    assert other is not None, "the demo data should rank events differently under some model"

    page = browser.new_page(viewport={"width": 1440, "height": 2000})
    try:
        page.goto(f"{running_app}/events")
        wait_for_render(page)
        grid = page.frame_locator('iframe[title="st_aggrid.AgGrid.agGrid"]')

        def top_five() -> list[str]:
            grid.locator(".ag-row").first.wait_for(timeout=60_000)
            rows = sorted(grid.locator(".ag-center-cols-container .ag-row").all(), key=lambda r: int(r.get_attribute("row-index")))
            return [r.locator("[col-id]").first.inner_text().strip() for r in rows[:5]]

        assert top_five() == ranking[first]
        page.get_by_text(t(f"events.model.{other}"), exact=True).click()
        page.wait_for_timeout(500)
        wait_for_render(page)
        for _ in range(40):  # the grid redraws after the rerun
            if top_five() == ranking[other]:
                break
            page.wait_for_timeout(250)
        assert top_five() == ranking[other]
        page.screenshot(path=str(screenshots / "events.png"), full_page=True)
    finally:
        page.close()


def test_a_review_saved_in_the_browser_is_there_after_a_reload(browser, running_app, screenshots):
    text = "到场以项目负责人为主；webinar follow-up within 2 days = more opportunities"
    page = browser.new_page(viewport={"width": 1440, "height": 2600})
    try:
        for attempt in range(2):
            page.goto(f"{running_app}/events")
            wait_for_render(page)
            page.get_by_role("tab", name="One event").click()
            page.get_by_text("Four-step review").wait_for(timeout=30_000)
            wait_for_render(page)
            causes = page.get_by_label("3. Analysis of causes")
            if attempt == 0:
                causes.fill(text)
                page.get_by_role("button", name="Save the review").click()
                page.get_by_text("Review saved.").wait_for(timeout=30_000)
            else:
                assert causes.input_value() == text
                assert page.get_by_text("Last saved by Local admin").count() == 1  # the built-in admin in words
                page.screenshot(path=str(screenshots / "events-review.png"), full_page=True)
    finally:
        page.close()


def test_changing_the_effective_lead_standard_in_the_browser_changes_the_counts(browser, new_store_url, tmp_path):
    """On a store of its own (the shared demo store stays untouched): a wider standard counts more leads."""
    process, base = start_app(new_store_url(), tmp_path / "events.log", OPS_DEMO_CUSTOMERS="60", OPS_DEMO_YEARS="1")
    page = browser.new_page(viewport={"width": 1440, "height": 2000})
    try:
        page.goto(f"{base}/events")
        wait_for_render(page, timeout_ms=180_000)
        before = metric_value(page, "Effective leads"), metric_value(page, "Cost per effective lead (¥)")
        page.get_by_text("Effective-lead standard").first.click()
        wait_for_render(page)  # the expander reruns the page when opened: let it settle before typing
        size = page.get_by_label("Minimum company size (employees)")
        size.fill("0")
        size.press("Tab")
        wait_for_render(page)
        page.get_by_role("button", name="Save the standard").click()
        page.wait_for_function(
            """(before) => [...document.querySelectorAll('[data-testid=stMetric]')]
                 .some(m => m.innerText.startsWith('Effective leads') && !m.innerText.endsWith('\\n' + before))""",
            arg=before[0], timeout=60_000)
        wait_for_render(page)
        after = metric_value(page, "Effective leads"), metric_value(page, "Cost per effective lead (¥)")
        assert int(after[0].replace(",", "")) > int(before[0].replace(",", ""))
        assert after[1] != before[1]
        assert "any company size" in page.locator("[data-testid=stMain]").inner_text()  # the standard in force is printed
    finally:
        page.close()
        process.terminate()
        process.wait(timeout=20)


def test_indicator_drill_down_and_the_monthly_report_names_the_biggest_movers(browser, running_app, demo_engine,
                                                                              screenshots):
    import datetime as dt

    from ops_core import metrics, reports
    from ops_core.filters import Filters
    from ops_core.periods import period_of, previous

    today = dt.date.today()
    month = previous(period_of("month", today + dt.timedelta(days=1)))  # the page's default: last complete month
    with demo_engine.connect() as conn:
        card = metrics.scorecard(conn, "month", month, Filters.default(today))
    movers = [metrics.BY_KEY[k].name_en for k in reports.biggest_movers(card)["metric"]]
    assert len(movers) == 3

    page = browser.new_page(viewport={"width": 1440, "height": 2400})
    try:
        page.goto(f"{running_app}/indicators")
        wait_for_render(page)
        assert page.locator("[data-testid=stMetric]").count() == len(metrics.LEVEL1)
        page.get_by_test_id("stSelectbox").filter(has_text="Metric to drill into").click()
        page.get_by_role("option", name="Net revenue retention").click()
        page.get_by_text("Who moved Net revenue retention: contribution by Industry").wait_for(timeout=60_000)
        wait_for_render(page)
        assert page.get_by_text(re.compile(r"^Moved it most: ")).count() == 1
        breakdown = page.locator("[data-testid=stVegaLiteChart]").nth(1)
        assert breakdown.locator("canvas, svg").count() >= 1
        page.screenshot(path=str(screenshots / "indicators-drill.png"), full_page=True)

        page.get_by_role("tab", name="Reports").click()
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download Markdown").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert f"# Monthly executive report {month.label}" in text
        lines = text.split("## Three biggest movers", 1)[1].strip().splitlines()
        assert [line.split("**")[1] for line in lines] == movers
        page.screenshot(path=str(screenshots / "indicators-report.png"), full_page=True)
    finally:
        page.close()


def test_a_customer_voice_becomes_a_released_demand_in_the_browser(browser, new_store_url, screenshots, tmp_path):
    """On a store of its own: feedback with Chinese text and a formula string is taken in, shown as plain
    text, triaged as a bug, sent to the board, released, and its customer is listed to inform."""
    from sqlalchemy import select

    from ops_core.db.engine import make_engine
    from ops_core.db.models import TABLES

    hostile = '导出报表时报错 500，请尽快修复 =HYPERLINK("http://evil.example","点我")'
    url = new_store_url()
    process, base = start_app(url, tmp_path / "loop.log", OPS_DEMO_CUSTOMERS="60", OPS_DEMO_YEARS="1")
    engine = make_engine(url)
    page = browser.new_page(viewport={"width": 1440, "height": 2400})

    def done(message: str | re.Pattern) -> None:
        page.get_by_text(message).first.wait_for(timeout=60_000)
        wait_for_render(page)

    def go_to(label: str, number: int) -> None:
        box = page.get_by_label(label)
        box.fill(str(number))
        box.press("Enter")
        wait_for_render(page)

    try:
        page.goto(f"{base}/feedback")
        wait_for_render(page, timeout_ms=180_000)
        page.get_by_role("tab", name="New feedback").click()
        wait_for_render(page)
        text = page.get_by_label("What the customer said")
        text.fill(hostile)
        text.press("Tab")
        wait_for_render(page)
        with engine.connect() as conn:
            customer = conn.execute(select(TABLES["customers"].c.id, TABLES["customers"].c.code, TABLES["customers"].c.name)
                                    .order_by(TABLES["customers"].c.id)).first()
        picker = page.get_by_test_id("stSelectbox").filter(has_text="Customer")
        picker.click()
        page.keyboard.type(customer.code)
        page.get_by_role("option").first.click()
        page.get_by_role("button", name="Add feedback").click()
        done(re.compile(r"^Feedback #\d+ added\.$"))
        with engine.connect() as conn:
            item = conn.execute(select(TABLES["feedback"]).order_by(TABLES["feedback"].c.id.desc())).mappings().first()
        assert item["text"] == hostile and item["customer_id"] == customer.id

        page.get_by_role("tab", name="Queue").click()
        wait_for_render(page)
        go_to("Or go to item #", item["id"])
        shown = page.get_by_test_id("stCode").filter(has_text="HYPERLINK").first
        assert shown.inner_text().strip() == hostile  # plain text, not a link or a formula
        page.get_by_role("button", name="Confirm type").click()
        done("Triaged.")
        go_to("Or go to item #", item["id"])
        page.get_by_role("button", name="Send to the demand board").click()
        done("Sent to the demand board as demand #")
        with engine.connect() as conn:
            routed = conn.execute(select(TABLES["feedback"].c.type, TABLES["feedback"].c.demand_id)
                                  .where(TABLES["feedback"].c.id == item["id"])).one()
        assert routed.type == "bug" and routed.demand_id is not None
        page.screenshot(path=str(screenshots / "feedback-routed.png"), full_page=True)

        page.goto(f"{base}/demands")
        wait_for_render(page)
        page.get_by_role("tab", name="Ranked list").click()
        wait_for_render(page)
        go_to("Or go to demand #", routed.demand_id)
        releases = TABLES["releases"]
        with engine.connect() as conn:  # planned into the next release, which ships once the demand is tested
            planned = conn.execute(select(releases.c.version_label).where(releases.c.status == "planned")
                                   .order_by(releases.c.release_date)).scalars().first()
        release = page.get_by_test_id("stSelectbox").filter(has_text="Target release")
        release.click()
        page.get_by_role("option").filter(has_text=planned).first.click()
        page.get_by_role("button", name="Save", exact=True).click()
        done("Saved.")
        for step in ("Evaluating", "Planned", "In development", "Testing"):
            go_to("Or go to demand #", routed.demand_id)
            page.get_by_role("button", name=f"→ {step}").click()
            done("Moved.")
        page.get_by_role("tab", name="Releases").click()
        wait_for_render(page)
        page.get_by_test_id("stSelectbox").filter(has_text="Target release").click()
        page.get_by_role("option").filter(has_text=planned).first.click()
        wait_for_render(page)
        page.get_by_role("button", name="Mark this release released today").click()
        done(re.compile(f"Released {re.escape(planned)}"))
        page.screenshot(path=str(screenshots / "release-shipped.png"), full_page=True)
        page.get_by_role("tab", name="Ranked list").click()
        wait_for_render(page)
        go_to("Or go to demand #", routed.demand_id)
        page.screenshot(path=str(screenshots / "demand-after-ship.png"), full_page=True)
        page.get_by_text("Customers and feedback to inform, by CSM").wait_for(timeout=30_000)
        page.screenshot(path=str(screenshots / "demand-released.png"), full_page=True)
        # The table draws on a canvas: the customer listed is checked through the bulk action it offers.
        page.get_by_role("button", name="Mark as informed (1)").click()
        done("Marked informed; their feedback is resolved.")
        links = TABLES["demand_customers"]
        with engine.connect() as conn:
            informed = conn.execute(select(links.c.customer_id).where(links.c.demand_id == routed.demand_id,
                                                                      links.c.informed_at.is_not(None))).scalars().all()
            status = conn.execute(select(TABLES["feedback"].c.status).where(TABLES["feedback"].c.id == item["id"])).scalar_one()
        assert informed == [customer.id] and status == "resolved"
    finally:
        page.close()
        engine.dispose()
        process.terminate()
        process.wait(timeout=20)


WEIGHT_LABELS = {d.key: d.name_en for d in __import__("ops_core.scoring", fromlist=["DIMENSIONS"]).DIMENSIONS}
WEIGHT_LABELS_ZH = {d.key: d.name_zh for d in __import__("ops_core.scoring", fromlist=["DIMENSIONS"]).DIMENSIONS}


def weight_sliders(page, labels: dict[str, str] = WEIGHT_LABELS) -> dict[str, tuple[str, str, str]]:
    """Each weight slider's (min, max, value) as the browser holds them (the hidden range input's
    attributes, see STACK-NOTES)."""
    found = {}
    for key, name in labels.items():
        slider = page.get_by_role("slider", name=name)
        found[key] = (slider.get_attribute("min"), slider.get_attribute("max"), slider.input_value())
    return found


def press_and_settle(page, slider, key: str) -> None:
    """One key press, then wait until the rerun it starts has finished drawing."""
    slider.focus()
    slider.press(key)
    page.wait_for_timeout(300)
    wait_for_render(page)


def move_company_size_by_plus_eleven(page, labels: dict[str, str] = WEIGHT_LABELS) -> None:
    """ArrowRight, ArrowRight, PageUp (+10 % of 0..100), ArrowLeft: +1 +1 +10 -1 = +11."""
    before = weight_sliders(page, labels)
    slider = page.get_by_role("slider", name=labels["company_size"])
    for key in ("ArrowRight", "ArrowRight", "PageUp", "ArrowLeft"):
        press_and_settle(page, slider, key)
    after = weight_sliders(page, labels)
    assert {k: (lo, hi) for k, (lo, hi, _) in after.items()} == {k: ("0", "100") for k in WEIGHT_LABELS}
    assert int(after["company_size"][2]) == int(before["company_size"][2]) + 11
    assert {k: v for k, (_, _, v) in after.items() if k != "company_size"} == \
        {k: v for k, (_, _, v) in before.items() if k != "company_size"}


def test_weight_sliders_keep_their_range_and_move_by_exactly_the_keys_pressed(browser, new_store_url, screenshots, tmp_path):
    """Seen before: one key press turned every slider's range into 0..100x its value (0-2000) and
    PageUp moved a weight from 20 to 220. The preset holds positions as the page saves them."""
    from ops_core import scoring, tiers, writes
    from ops_core.db.engine import make_engine, transaction
    from tests.conftest import small_company

    url = small_company(new_store_url)
    positions = {"order_amount": 30, "company_size": 25, "gross_profit": 10, "demand_type": 5, "cooperation": 5,
                 "influence": 5, "brand": 5, "payment": 10, "growth": 5}
    store = make_engine(url)
    with transaction(store) as session:
        tiers.save_preset(session, writes.LOCAL_ADMIN, "Heavy on size", positions, scoring.DEFAULT_METHODS,
                          tiers.tier_rules(session))
    store.dispose()
    process, base = start_app(url, tmp_path / "streamlit.log")
    page = browser.new_page(viewport={"width": 1440, "height": 2400})
    try:
        page.goto(f"{base}/customers")
        wait_for_render(page)
        assert weight_sliders(page)["company_size"] == ("0", "100", "10")  # the default weight, 10 %
        move_company_size_by_plus_eleven(page)
        assert weight_sliders(page)["company_size"][2] == "21"
        page.screenshot(path=str(screenshots / "customers-sliders-moved.png"), full_page=True)

        page.get_by_role("tab", name="Presets and comparison").click()
        wait_for_render(page)
        picker = page.get_by_test_id("stSelectbox").filter(has_text="Load preset")
        picker.click()
        page.get_by_role("option", name="Heavy on size").click()
        page.wait_for_timeout(300)
        wait_for_render(page)
        page.screenshot(path=str(screenshots / "customers-preset-loaded.png"), full_page=True)
        assert {k: v for k, (_, _, v) in weight_sliders(page).items()} == {k: str(v) for k, v in positions.items()}
        move_company_size_by_plus_eleven(page)
        assert weight_sliders(page)["company_size"][2] == "36"
        page.screenshot(path=str(screenshots / "customers-sliders-after-preset.png"), full_page=True)
        moved = weight_sliders(page)

        page.get_by_test_id("stPageLink-NavLink").filter(has_text="Indicator system").click()
        wait_for_render(page)
        page.get_by_test_id("stPageLink-NavLink").filter(has_text="Customer tiers & value").click()
        wait_for_render(page)
        assert weight_sliders(page) == moved  # a page switch keeps every weight where it was

        page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="简体中文").click()
        page.get_by_role("slider", name=WEIGHT_LABELS_ZH["company_size"]).wait_for(timeout=30_000)
        wait_for_render(page)
        assert weight_sliders(page, WEIGHT_LABELS_ZH) == moved  # and so does a change of language
        move_company_size_by_plus_eleven(page, WEIGHT_LABELS_ZH)
        assert weight_sliders(page, WEIGHT_LABELS_ZH)["company_size"][2] == "47"
        page.screenshot(path=str(screenshots / "customers-sliders-in-chinese.png"), full_page=True)
        # Seen: "Page Size: 1 to 60 of 60" under a list of one page. The list pages itself (ui.pager): the grid holds one
        # page and shows no pager of its own.
        panel = page.frame_locator('iframe[title="st_aggrid.AgGrid.agGrid"]').locator(".ag-paging-panel")
        assert panel.count() == 0 or not panel.first.is_visible()
    finally:
        page.close()
        process.terminate()
        process.wait(timeout=20)


def test_a_change_of_language_keeps_every_choice_and_shows_it_in_the_new_language(browser, running_app, screenshots):
    """Seen before: after switching to Chinese the grain and segment pickers still read "Quarter" and
    "Region" (Streamlit keeps a choice by the text it showed)."""
    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    try:
        page.goto(f"{running_app}/indicators?i_grain=quarter&i_segment=region&industries=energy")
        wait_for_render(page)
        pickers = page.get_by_test_id("stMain").get_by_test_id("stSelectbox")
        assert pickers.nth(0).locator("input").input_value() == "Quarter"  # the shown choice is the input's value
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="简体中文").click()
        page.get_by_role("heading", name="指标体系").wait_for(timeout=30_000)
        wait_for_render(page)
        assert page.locator("[data-testid=stException]").count() == 0
        assert [pickers.nth(i).locator("input").input_value() for i in (0, 2)] == ["季度", "区域"]
        assert "能源" in sidebar.get_by_test_id("stMultiSelect").first.inner_text()  # the industry filter kept, by its label
        assert "i_grain=quarter" in page.url and "industries=energy" in page.url
        page.screenshot(path=str(screenshots / "indicators-after-language-switch.png"), full_page=True)
    finally:
        page.close()
