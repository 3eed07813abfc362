"""Team mode in a real browser: an anonymous visitor sees only the sign-in form, whatever the address;
signing in opens the pages; a reload stays signed in (the session's cookie); signing out ends it.
Screenshots of the sign-in form and the accounts page in both languages go to OPS_SCREENSHOT_DIR.

The gate does not depend on the store's engine (tests/test_users.py and tests/test_signin.py run on
both), and the test starts a server of its own: SQLite pass only (``one_engine``).
"""
from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from ops_core import exports, users, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.fileschema import SCHEMAS
from ops_core.vocab import Role
from tests.conftest import small_company
from tests.test_browser import NAV_TITLES, browser, screenshots, start_app, wait_for_render  # noqa: F401 (fixtures)

PASSWORD = "correct horse battery"
TITLES = [title for _, title in NAV_TITLES]


@pytest.fixture(scope="module")
def team_store(new_store_url) -> str:
    """A small company with an admin, an editor and a viewer who sign in with ``PASSWORD``."""
    url = small_company(new_store_url)
    engine = make_engine(url)
    with transaction(engine) as session:
        users.add_user(session, writes.LOCAL_ADMIN, "boss", Role.admin, display_name="Zhang Wei", password=PASSWORD)
        users.add_user(session, writes.LOCAL_ADMIN, "li.lei", Role.editor, display_name="Li Lei", password=PASSWORD)
        users.add_user(session, writes.LOCAL_ADMIN, "zhao.min", Role.viewer, display_name="Zhao Min", password=PASSWORD)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def team_app(team_store, tmp_path_factory) -> Iterator[str]:
    process, base = start_app(team_store, tmp_path_factory.mktemp("log") / "streamlit.log", OPS_SIGN_IN="required")
    yield base
    process.terminate()
    process.wait(timeout=20)


def links(page) -> list[str]:
    return [text.split("\n")[-1].strip() for text in page.get_by_test_id("stPageLink-NavLink").all_inner_texts()]


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
        wait_for_render(page)
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


def wait_for_cookie(context, seconds: float = 30) -> None:
    """Until the page's script has stored the session's cookie, which a visit by address needs."""
    for _ in range(int(seconds * 10)):
        if any(c["name"] == "ops_session" for c in context.cookies()):
            return
        time.sleep(0.1)
    raise AssertionError("the sign-in left no session cookie")


def choose_contacts(page, lang: str) -> None:
    picker = page.get_by_test_id("stSelectbox").filter(has_text="导出对象" if lang == "zh" else "Entity to export")
    picker.wait_for(timeout=60_000)  # the data page's first visit reads the store's counts first
    picker.click()
    page.get_by_role("option", name="联系人" if lang == "zh" else "Contacts", exact=True).click()
    wait_for_render(page)


def contacts_csv(page, lang: str) -> list[list[str]]:
    """The data page's contacts file as downloaded, from its header row on (the notes above it say what the
    file is, when it was made and whether it is masked)."""
    choose_contacts(page, lang)
    with page.expect_download(timeout=60_000) as done:
        page.get_by_role("button", name="下载 CSV" if lang == "zh" else "Download CSV").click()
    lines = list(csv.reader(io.StringIO(done.value.path().read_bytes().decode("utf-8-sig"))))
    header = [field.header(lang) for field in SCHEMAS["contacts"].fields]
    return lines[lines.index(header):]


@pytest.mark.one_engine
def test_a_viewer_exports_only_masked_and_an_admins_unmasked_export_is_on_the_audit_trail_by_name(
        browser, team_app, team_store, screenshots):  # noqa: F811
    """Team mode, as the issue asks: a viewer gets masked phones and is told the settings and the audit trail
    are for admins; the admin ticks the box, gets the phones in full, and the audit trail (in Chinese) counts
    that export and lists it under the admin's user name."""
    viewer = browser.new_context(viewport={"width": 1600, "height": 1100}, accept_downloads=True)
    page = viewer.new_page()
    try:
        page.goto(f"{team_app}/data")
        wait_for_render(page)
        sign_in(page, "zhao.min")
        page.get_by_text("Signed in as").wait_for(timeout=60_000)
        wait_for_cookie(viewer)
        page.goto(f"{team_app}/data")
        wait_for_render(page)
        assert page.get_by_text("Include personal data unmasked").count() == 0
        rows = contacts_csv(page, "en")
        phones = [r[rows[0].index("Phone")] for r in rows[1:] if r[rows[0].index("Phone")]]
        assert phones
        assert all("****" in phone for phone in phones)  # exports.mask_phone hides at least four digits
        page.screenshot(path=str(screenshots / "team-viewer-data.png"), full_page=True)
        for path, refusal in (("settings", "Only an admin may see and change the settings."),
                              ("audit", "Only an admin can read the audit trail.")):
            page.goto(f"{team_app}/{path}")
            wait_for_render(page)
            page.get_by_text(refusal).wait_for(timeout=30_000)
            assert page.locator("[data-testid=stDataFrame]").count() == 0
        assert "Audit trail" not in links(page) and "Settings" not in links(page)
    finally:
        viewer.close()

    admin = browser.new_context(viewport={"width": 1600, "height": 1100}, accept_downloads=True)
    page = admin.new_page()
    try:
        page.goto(f"{team_app}/data?lang=zh")
        wait_for_render(page)
        sign_in(page, "boss", "用户名", "密码", "登录")
        page.get_by_text("已登录").wait_for(timeout=60_000)
        wait_for_cookie(admin)
        page.goto(f"{team_app}/data?lang=zh")
        wait_for_render(page)
        choose_contacts(page, "zh")
        page.get_by_text("导出未脱敏的个人信息（仅管理员）").click()
        wait_for_render(page)
        rows = contacts_csv(page, "zh")
        # a "+44 ..." phone carries the quote that keeps a spreadsheet from reading it as a formula
        shown = sorted(exports.unneutralise(r[rows[0].index("电话")]) for r in rows[1:] if r[rows[0].index("电话")])
        engine = make_engine(team_store)
        with engine.connect() as conn:
            stored = sorted(p for p in conn.execute(select(TABLES["contacts"].c.phone)).scalars() if p)
        engine.dispose()
        assert shown == stored  # in full, as the store holds them

        page.goto(f"{team_app}/audit?lang=zh")
        wait_for_render(page)
        assert page.locator("h1").first.inner_text().strip() == "审计日志"
        page.get_by_text("导出未脱敏数据 1").wait_for(timeout=30_000)  # the totals line counts the export
        page.screenshot(path=str(screenshots / "team-admin-audit-zh.png"), full_page=True)
        with page.expect_download(timeout=60_000) as done:
            page.get_by_role("button", name="下载 CSV").click()
        lines = list(csv.reader(io.StringIO(done.value.path().read_bytes().decode("utf-8-sig"))))
        exported = [line for line in lines if "导出未脱敏数据" in line]
        assert exported and all("boss" in line and "联系人" in line for line in exported)
    finally:
        admin.close()
