"""A freshly started server in a real browser: from the first response until the first page has
settled, the sidebar lists only the product's pages by their titles, and no address says "Page not
found" (a fresh server runs its first visit in Streamlit's old pages-directory mode, which lists
every file of pages/ by its file name, until the app's navigation takes over).

The navigation does not depend on the store's engine, and each test starts servers of its own, so
these run in the SQLite pass only (``one_engine``; see conftest.py).
"""
from __future__ import annotations

from collections import Counter
from urllib.parse import urlparse

import pytest

from tests.conftest import small_company
from tests.test_browser import NAV_TITLES, browser, running_app, start_app, wait_for_render  # noqa: F401 (fixtures)

TITLES = [title for _, title in NAV_TITLES]
TITLES_ZH = ["首页", "指标体系", "客户分层与价值", "需求看板", "反馈队列", "活动 ROI", "数据", "账号管理", "设置"]

# Installed before the app's own scripts: records every distinct state of the sidebar's links, whether
# "Page not found" is on screen and whether a progress bar or a spinner shows, at every change of the
# page (a MutationObserver misses nothing that was drawn, however briefly).
WATCH = r"""
window.__nav = [];
let last = null;
const record = () => {
  const bar = document.querySelector('[data-testid=stSidebar]');
  const links = bar ? [...bar.querySelectorAll('a')].map(a => a.innerText.trim().split('\n').pop().trim()).filter(Boolean) : [];
  const text = document.body ? document.body.innerText : '';
  const state = {links, notFound: /page not found/i.test(text),
                 progress: !!document.querySelector('[data-testid=stProgress]'),
                 spinner: !!document.querySelector('[data-testid=stSpinner]'),
                 heading: (document.querySelector('h1') || {}).innerText || ''};
  const key = JSON.stringify(state);
  if (key !== last) { last = key; window.__nav.push(state); }
};
new MutationObserver(record).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def watched_visit(browser, address: str, timeout_ms: int = 180_000) -> tuple[object, list[dict]]:  # noqa: F811
    """Open ``address`` in a new tab with the watcher installed; wait until the page has settled."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.add_init_script(WATCH)
    page.goto(address)
    wait_for_render(page, timeout_ms=timeout_ms)
    return page, page.evaluate("window.__nav")


def assert_only_product_pages(states: list[dict], titles: list[str]) -> None:
    """Every state seen lists the product's pages by their titles (or the first of them, while the
    links are being drawn), never a file name, and never says "Page not found"; the last lists all."""
    assert states, "the watcher saw nothing"
    for state in states:
        assert state["links"] == titles[:len(state["links"])], f"the sidebar listed {state['links']}"
        assert not state["notFound"], f"'Page not found' was shown (sidebar {state['links']})"
    assert states[-1]["links"] == titles


@pytest.mark.one_engine
def test_a_fresh_servers_first_visit_lists_only_the_product_pages_while_the_demo_company_is_built(browser, new_store_url,  # noqa: F811
                                                                                                  tmp_path):
    process, base = start_app(new_store_url(), tmp_path / "first.log", OPS_DEMO_CUSTOMERS="60", OPS_DEMO_YEARS="1")
    try:
        page, states = watched_visit(browser, base)
        try:
            assert any(state["progress"] for state in states), "the first start built the demo company with a progress bar"
            # The navigation was there before the progress bar, not only after the build.
            first_progress = next(i for i, state in enumerate(states) if state["progress"])
            assert states[first_progress]["links"] == TITLES
            assert_only_product_pages(states, TITLES)
            assert page.locator("h1").first.inner_text().strip() == "Ops Cockpit"
            assert page.get_by_test_id("stMetricValue").first.inner_text().strip() == "60"
        finally:
            page.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.one_engine
def test_deep_links_on_a_freshly_started_server_open_their_page_under_the_product_navigation(browser, new_store_url,  # noqa: F811
                                                                                             tmp_path):
    process, base = start_app(small_company(new_store_url), tmp_path / "deep.log")
    try:
        # The very first request of the server is a deep link.
        page, states = watched_visit(browser, f"{base}/customers")
        try:
            assert_only_product_pages(states, TITLES)
            assert any(state["spinner"] for state in states), f"starting up shows that it is working; seen: {states}"
            assert page.locator("h1").first.inner_text().strip() == "Customer tiers & value"
            assert urlparse(page.url).path == "/customers"
        finally:
            page.close()
        # /home is the home page (at the root address), in the language the link asks for.
        for address, heading, path, titles in ((f"{base}/home?lang=zh", "运营驾驶舱", "/", TITLES_ZH),
                                               (f"{base}/data", "Data", "/data", TITLES)):
            page, states = watched_visit(browser, address)
            try:
                assert_only_product_pages(states, titles)
                assert page.locator("h1").first.inner_text().strip() == heading, states
                assert urlparse(page.url).path == path, page.url
            finally:
                page.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


# Records, at every change of the page, the period chosen and the scorecard's values on screen.
WATCH_SCORECARD = r"""
window.__views = [];
let lastView = null;
const recordView = () => {
  const period = document.querySelector('[data-testid=stSelectbox] input[aria-label=Period]');
  const values = [...document.querySelectorAll('[data-testid=stMetricValue]')].map(m => m.innerText.trim());
  const state = {period: period ? period.value : '', values};
  const key = JSON.stringify(state);
  if (key !== lastView) { lastView = key; window.__views.push(state); }
};
new MutationObserver(recordView).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


@pytest.mark.one_engine
def test_a_new_indicator_period_never_shows_the_previous_periods_numbers_under_it(browser, running_app):  # noqa: F811
    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    try:
        page.add_init_script(WATCH_SCORECARD)
        page.goto(f"{running_app}/indicators")
        wait_for_render(page)
        before = page.evaluate("window.__views")[-1]
        assert len(before["values"]) == 8  # the eight level-1 metrics
        page.get_by_test_id("stSelectbox").filter(has_text="Period").click()
        page.get_by_role("option").nth(6).click()
        page.wait_for_timeout(500)
        wait_for_render(page)
        views = page.evaluate("window.__views")
        after = views[-1]
        assert after["period"] != before["period"] and len(after["values"]) == 8
        assert after["values"] != before["values"], "the demo company's metrics differ between these months"
        # Once the new period is chosen, the previous period's numbers go (the scorecard is cleared while the
        # new one is computed; before the server starts, the browser shows the choice a moment earlier)
        # and only the new period's numbers come back.
        chosen = [view for view in views[views.index(before) + 1:] if view["period"] == after["period"]]
        cleared = next((i for i, view in enumerate(chosen) if view["values"] == []), None)
        assert cleared is not None, f"the previous period's numbers {before['values']} stayed until the new ones came"
        # While the new scorecard is drawn its cards may come in any order, so each value on screen must be
        # one of the new period's, never one only the previous period had.
        for view in chosen[cleared:]:
            left_over = Counter(view["values"]) - Counter(after["values"])
            assert not left_over, \
                f"{view['values']} shown under {after['period']} (the previous period's: {before['values']})"
    finally:
        page.close()


@pytest.mark.one_engine
def test_every_step_of_the_first_start_build_is_named_in_the_readers_language(fresh_engine):
    """The progress bar of the first start names the step the demo build is at: in Chinese, in Chinese
    (seen: 'account users', 'FAQ' beside the Chinese headline)."""
    import re

    from cockpit.ui import demo_step
    from ops_core import demo

    steps: list[str] = []
    demo.generate(fresh_engine, customers=12, years=1, seed=3, progress=lambda fraction, message: steps.append(message))
    assert len(steps) > 10
    for step in steps:
        english, chinese = demo_step(step, "en"), demo_step(step, "zh")
        assert english and chinese, f"no words for the step '{step}'"
        assert not re.search(r"[A-Za-z]", re.sub(r"\b(FAQ|CSM)\b", "", chinese)), f"'{step}' reads '{chinese}' in Chinese"


@pytest.mark.one_engine
def test_starting_empty_in_the_browser_opens_the_data_pages_import_tab_in_the_readers_language(browser, new_store_url,  # noqa: F811
                                                                                               tmp_path):
    """OPS_START=ask (the default): the first start offers the choice; "start empty" lands on the import
    tab (seen: the data page opened on its export tab, the first one, though the import tab was asked for)."""
    process, base = start_app(new_store_url(), tmp_path / "empty.log", OPS_START="ask")
    try:
        page, states = watched_visit(browser, f"{base}/?lang=zh")
        try:
            assert_only_product_pages(states, TITLES_ZH)
            assert page.locator("h1").first.inner_text().strip() == "欢迎使用运营驾驶舱"
            page.get_by_role("button", name="从空白开始，导入我的数据").click()
            page.wait_for_url("**/data?*", timeout=60_000)
            wait_for_render(page)
            assert page.locator("h1").first.inner_text().strip() == "数据"
            assert page.locator("[role=tab][aria-selected=true]").inner_text().strip() == "导入"
            assert page.get_by_text("请按以下顺序导入，使每个文件都能找到它所引用的数据：客户、联系人、合同").is_visible()
            assert page.locator("[data-testid=stException]").count() == 0
        finally:
            page.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
