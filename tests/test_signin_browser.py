"""Team mode in a real browser: an anonymous visitor sees only the sign-in form, whatever the address;
signing in opens the pages; a reload stays signed in (the session's cookie); signing out ends it.
Screenshots of the sign-in form and the accounts page in both languages go to OPS_SCREENSHOT_DIR.

The gate does not depend on the store's engine (tests/test_users.py and tests/test_signin.py run on
both), and the test starts a server of its own: SQLite pass only (``one_engine``).
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops_core import users, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.vocab import Role
from tests.conftest import small_company
from tests.test_browser import NAV_TITLES, browser, screenshots, start_app, wait_for_render  # noqa: F401 (fixtures)

PASSWORD = "correct horse battery"
TITLES = [title for _, title in NAV_TITLES]


@pytest.fixture(scope="module")
def team_app(new_store_url, tmp_path_factory) -> Iterator[str]:
    url = small_company(new_store_url)
    engine = make_engine(url)
    with transaction(engine) as session:
        users.add_user(session, writes.LOCAL_ADMIN, "boss", Role.admin, display_name="Zhang Wei", password=PASSWORD)
        users.add_user(session, writes.LOCAL_ADMIN, "li.lei", Role.editor, display_name="Li Lei", password=PASSWORD)
    engine.dispose()
    process, base = start_app(url, tmp_path_factory.mktemp("log") / "streamlit.log", OPS_SIGN_IN="required")
    yield base
    process.terminate()
    process.wait(timeout=20)


def links(page) -> list[str]:
    return [link.inner_text().split("\n")[-1].strip() for link in page.get_by_test_id("stPageLink-NavLink").all()]


def assert_only_the_form(page, heading: str) -> None:
    assert page.locator("h1").first.inner_text().strip() == heading
    assert links(page) == []
    assert page.get_by_test_id("stSidebarNavLink").count() == 0
    for testid in ("stMetric", "stDataFrame", "stException"):
        assert page.locator(f"[data-testid={testid}]").count() == 0
    text = page.locator("body").inner_text()
    assert "Zhang Wei" not in text and "Li Lei" not in text and "Date range" not in text


def sign_in(page, username: str, user_label: str = "User name", password_label: str = "Password",
            button: str = "Sign in") -> None:
    page.get_by_label(user_label).fill(username)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button).click()


@pytest.mark.one_engine
def test_an_anonymous_visitor_sees_only_the_sign_in_form_and_a_reload_stays_signed_in(browser, team_app, screenshots):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    try:
        for path in ("customers", "data", "accounts", ""):  # every address shows the form, nothing else
            page.goto(f"{team_app}/{path}")
            wait_for_render(page)
            assert_only_the_form(page, "Sign in to Ops Cockpit")
        page.screenshot(path=str(screenshots / "signin.png"), full_page=True)

        page.get_by_label("User name").fill("boss")
        page.get_by_label("Password", exact=True).fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Wrong user name or password.").wait_for(timeout=30_000)
        assert_only_the_form(page, "Sign in to Ops Cockpit")

        sign_in(page, "boss")
        page.get_by_text("Signed in as").wait_for(timeout=60_000)
        wait_for_render(page)
        assert page.locator("h1").first.inner_text().strip() == "Ops Cockpit"
        assert links(page) == TITLES
        assert page.locator("[data-testid=stMetric]").count() > 0
        assert "Signed in as Zhang Wei (boss, Admin)" in page.get_by_test_id("stSidebar").inner_text()
        assert any(c["name"] == "ops_session" for c in context.cookies())

        page.reload()
        wait_for_render(page)
        assert page.locator("h1").first.inner_text().strip() == "Ops Cockpit"
        assert "Signed in as Zhang Wei (boss, Admin)" in page.get_by_test_id("stSidebar").inner_text()

        page.get_by_test_id("stPageLink-NavLink").filter(has_text="Accounts").click()
        page.wait_for_url("**/accounts*", timeout=30_000)
        wait_for_render(page)
        assert page.locator("h1").first.inner_text().strip() == "Accounts"
        page.screenshot(path=str(screenshots / "accounts.png"), full_page=True)

        page.get_by_role("button", name="Sign out").click()
        page.get_by_text("You have signed out.").wait_for(timeout=30_000)
        assert_only_the_form(page, "Sign in to Ops Cockpit")
        page.reload()
        wait_for_render(page)
        assert_only_the_form(page, "Sign in to Ops Cockpit")
    finally:
        context.close()


@pytest.mark.one_engine
def test_signing_in_in_chinese_and_the_accounts_page_in_chinese(browser, team_app, screenshots):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{team_app}/?lang=zh")
        wait_for_render(page)
        assert_only_the_form(page, "登录运营驾驶舱")
        page.screenshot(path=str(screenshots / "signin-zh.png"), full_page=True)
        sign_in(page, "boss", "用户名", "密码", "登录")
        page.get_by_text("已登录").wait_for(timeout=60_000)
        wait_for_render(page)
        assert page.locator("h1").first.inner_text().strip() == "运营驾驶舱"
        page.get_by_test_id("stPageLink-NavLink").filter(has_text="账号管理").click()
        page.wait_for_url("**/accounts*", timeout=30_000)
        wait_for_render(page)
        assert page.locator("h1").first.inner_text().strip() == "账号管理"
        assert "团队模式" in page.get_by_test_id("stSidebar").inner_text()
        page.screenshot(path=str(screenshots / "accounts-zh.png"), full_page=True)
    finally:
        context.close()
