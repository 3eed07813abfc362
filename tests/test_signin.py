"""Team mode in the app (AppTest): only the sign-in form before signing in, the pages after; the
sidebar's mode, person and sign-out; a forced new password; role changes seen at the next click; and
the accounts page, where a change from a stale view is refused with who made the newer one."""
from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from ops_core import config, users, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.vocab import Role
from tests.conftest import ROOT, ok, small_company

PASSWORD = "correct horse battery"
NAV = ["Home", "Indicator system", "Customer tiers & value", "Demand board", "Feedback queue", "Event ROI", "Data"]


@pytest.fixture(scope="module")
def store_url(new_store_url) -> str:
    """A small company with three accounts: two admins and an editor."""
    url = small_company(new_store_url)
    engine = make_engine(url)
    with transaction(engine) as session:
        users.add_user(session, writes.LOCAL_ADMIN, "boss", Role.admin, display_name="Zhang Wei", password=PASSWORD)
        users.add_user(session, writes.LOCAL_ADMIN, "wang.fang", Role.admin, display_name="Wang Fang", password=PASSWORD)
        users.add_user(session, writes.LOCAL_ADMIN, "li.lei", Role.editor, display_name="Li Lei", password=PASSWORD)
    engine.dispose()
    return url


@pytest.fixture
def engine(store_url):
    store = make_engine(store_url)
    yield store
    store.dispose()


def team_app(url: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("OPS_DATABASE_URL", url)
    monkeypatch.setenv("OPS_SIGN_IN", "required")
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()


def sign_in(app: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    app.text_input(key="ops_signin_user").input(username)
    app.text_input(key="ops_signin_password").input(password)
    return app.button[0].click().run()


def nav(app: AppTest) -> list[str]:
    return [link.proto.label for link in app.get("page_link")]


def version(engine, username: str) -> int:
    with engine.connect() as conn:
        return users.account(conn, username)["version"]


def test_sign_in_defaults_to_required_for_postgresql_and_off_for_sqlite(monkeypatch):
    monkeypatch.delenv("OPS_SIGN_IN", raising=False)
    assert config.sign_in_required("postgresql+psycopg://postgres@127.0.0.1:5432/ops") is True
    assert config.sign_in_required("sqlite:///data/ops_cockpit.db") is False
    monkeypatch.setenv("OPS_SIGN_IN", "off")
    assert config.sign_in_required("postgresql+psycopg://postgres@127.0.0.1:5432/ops") is False
    monkeypatch.setenv("OPS_SIGN_IN", "required")
    assert config.sign_in_required("sqlite:///data/ops_cockpit.db") is True


def test_team_mode_shows_only_the_sign_in_form_until_a_person_signs_in(store_url, monkeypatch):
    app = ok(team_app(store_url, monkeypatch))
    assert [t.value for t in app.title] == ["Sign in to Ops Cockpit"]
    assert [t.label for t in app.text_input] == ["User name", "Password"]
    # No page list, no numbers, no names, no sidebar filters.
    assert nav(app) == [] and len(app.metric) == 0 and len(app.dataframe) == 0
    assert [m.value for m in app.sidebar.markdown] == [] and len(app.sidebar.multiselect) == 0

    sign_in(app, "boss", "not the password")
    assert [e.value for e in app.error] == ["Wrong user name or password."]
    assert nav(app) == []

    ok(sign_in(app, "boss"))
    assert app.title[0].value == "Ops Cockpit"
    assert nav(app) == [*NAV, "Accounts", "Settings"]
    assert len(app.metric) > 0
    assert app.sidebar.caption[-1].value == "Team mode"
    assert app.sidebar.markdown[-1].value == "Signed in as **Zhang Wei** (boss, Admin)"

    app.button(key="ops_sign_out").click().run()
    assert [t.value for t in app.title] == ["Sign in to Ops Cockpit"]
    assert nav(app) == [] and len(app.metric) == 0


def test_the_sign_in_form_speaks_chinese(store_url, monkeypatch):
    app = team_app(store_url, monkeypatch)
    app.selectbox(key="ops_signin_lang").select("zh").run()
    assert [t.value for t in app.title] == ["登录运营驾驶舱"]
    assert [t.label for t in app.text_input] == ["用户名", "密码"]
    sign_in(app, "li.lei", "wrong password")
    assert [e.value for e in app.error] == ["用户名或密码错误。"]
    ok(sign_in(app, "li.lei"))
    assert app.title[0].value == "运营驾驶舱"
    assert app.sidebar.markdown[-1].value == "已登录：**Li Lei**（li.lei，编辑者）"


def test_an_editor_sees_no_accounts_page_and_a_role_change_applies_at_the_next_click(store_url, engine, monkeypatch):
    app = ok(sign_in(team_app(store_url, monkeypatch), "li.lei"))
    assert nav(app) == NAV
    with transaction(engine) as session:
        users.change_role(session, writes.LOCAL_ADMIN, "li.lei", version(engine, "li.lei"), Role.admin)
    try:
        app.run()
        assert nav(app) == [*NAV, "Accounts", "Settings"]
        assert app.sidebar.markdown[-1].value == "Signed in as **Li Lei** (li.lei, Admin)"
    finally:
        with transaction(engine) as session:
            users.change_role(session, writes.LOCAL_ADMIN, "li.lei", version(engine, "li.lei"), Role.editor)
    app.run()
    assert nav(app) == NAV


def test_a_disabled_account_falls_back_to_the_sign_in_form_at_the_next_click(store_url, engine, monkeypatch):
    with transaction(engine) as session:
        users.add_user(session, writes.LOCAL_ADMIN, "zhao.min", Role.viewer, password=PASSWORD)
    app = ok(sign_in(team_app(store_url, monkeypatch), "zhao.min"))
    assert nav(app) == NAV
    with transaction(engine) as session:
        users.set_active(session, writes.LOCAL_ADMIN, "zhao.min", version(engine, "zhao.min"), False)
    app.run()
    assert [t.value for t in app.title] == ["Sign in to Ops Cockpit"]
    sign_in(app, "zhao.min")
    assert [e.value for e in app.error] == ["This account is disabled; ask an admin."]


def test_a_session_idle_longer_than_the_idle_time_falls_back_to_the_sign_in_form(store_url, engine, monkeypatch):
    app = ok(sign_in(team_app(store_url, monkeypatch), "li.lei"))
    assert nav(app) == NAV
    # signin.idle_minutes = 480: the session was last seen 8 hours and 1 minute ago.
    sessions = users.sessions_table
    with transaction(engine) as session:
        session.execute(sessions.update().where(sessions.c.username == "li.lei", sessions.c.ended_at.is_(None))
                        .values(last_seen_at=users.utcnow() - dt.timedelta(hours=8, minutes=1)))
    app.run()
    assert [t.value for t in app.title] == ["Sign in to Ops Cockpit"]
    assert [i.value for i in app.info] == ["Your session has ended: sign in again."]
    assert nav(app) == [] and len(app.metric) == 0


def test_after_a_reset_the_person_chooses_a_password_before_seeing_anything(store_url, engine, monkeypatch):
    with transaction(engine) as session:
        shown = users.add_user(session, writes.LOCAL_ADMIN, "sun.li", Role.viewer)
    app = ok(sign_in(team_app(store_url, monkeypatch), "sun.li", shown))
    assert [t.value for t in app.title] == ["Choose your own password"]
    assert nav(app) == [] and len(app.metric) == 0
    app.text_input(key="ops_pw_current").input(shown)
    app.text_input(key="ops_pw_new").input("a password of my own")
    app.text_input(key="ops_pw_again").input("a different one")
    app.button[0].click().run()
    assert [e.value for e in app.error] == ["The two new passwords differ."]
    app.text_input(key="ops_pw_again").input("a password of my own")
    ok(app.button[0].click().run())
    assert app.title[0].value == "Ops Cockpit"
    assert nav(app) == NAV
    assert users.sign_in(engine, "sun.li", "a password of my own")


# --- the accounts page -------------------------------------------------------------------------


def accounts_page(url: str, username: str, monkeypatch) -> AppTest:
    app = sign_in(team_app(url, monkeypatch), username)
    app.switch_page("pages/accounts.py").run()
    app.selectbox(key="acc_pick").select("li.lei").run()
    return ok(app)


def refused(app: AppTest) -> str:
    (message,) = [e.value for e in app.error]
    return message


def test_accounts_page_lists_every_account_and_adds_one_with_a_one_time_password(store_url, engine, monkeypatch):
    app = ok(sign_in(team_app(store_url, monkeypatch), "boss"))
    app.switch_page("pages/accounts.py").run()
    assert app.title[0].value == "Accounts"
    shown = app.dataframe[0].value
    assert list(shown.columns) == ["User name", "Name", "Role", "State", "Last sign-in"]
    boss = shown[shown["User name"] == "boss"].iloc[0]
    assert (boss["Name"], boss["Role"], boss["State"]) == ("Zhang Wei", "Admin", "active")
    app.text_input(key="acc_add_username").input("qian.yu")
    app.text_input(key="acc_add_name").input("Qian Yu")
    app.selectbox(key="acc_add_role").select("viewer")
    ok(app.button(key="acc_add_submit").click().run())
    (message,) = [s.value for s in app.success]
    assert message.startswith("Added qian.yu. One-time password, shown only now: **")
    password = message.split("**")[1]
    token = users.sign_in(engine, "qian.yu", password)
    assert users.current(engine, token) == users.Signed(writes.Actor("qian.yu", Role.viewer), "Qian Yu", True)
    app.run()  # shown once: the next run no longer shows it
    assert [s.value for s in app.success] == []


ROLE_B = "viewer"


def _role(app: AppTest, role: str) -> AppTest:
    key = next(w.key for w in app.selectbox if w.key and w.key.startswith("acc_role_li.lei"))
    app.selectbox(key=key).select(role)
    return app.button(key="acc_role_save_li.lei").click().run()


EDITS = {
    # name: (B's change, A's change from the older view, what the store holds after B, what A's refusal lists)
    "role": (lambda app: _role(app, "viewer"), lambda app: _role(app, "admin"),
             lambda acc: acc["role"] == "viewer", "Role: Viewer; Active: yes; Locked until: —"),
    "disable": (lambda app: app.button(key="acc_active_li.lei").click().run(),
                lambda app: app.button(key="acc_active_li.lei").click().run(),
                lambda acc: acc["active"] is False or acc["active"] == 0, "Role: Editor; Active: no; Locked until: —"),
    "reset": (lambda app: app.button(key="acc_reset_li.lei").click().run(),
              lambda app: app.button(key="acc_reset_li.lei").click().run(),
              lambda acc: acc["must_change_password"], "Role: Editor; Active: yes; Locked until: —"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_account_change_from_a_stale_view_is_refused_with_who_made_the_newer_one(store_url, engine, monkeypatch, edit):
    b_change, a_change, b_stored, b_shown = EDITS[edit]
    before = version(engine, "li.lei")
    a = accounts_page(store_url, "boss", monkeypatch)
    b = accounts_page(store_url, "wang.fang", monkeypatch)
    ok(b_change(b))
    assert version(engine, "li.lei") == before + 1
    with engine.connect() as conn:
        after_b = users.account(conn, "li.lei")
    assert b_stored(after_b)

    a_change(a)
    message = refused(a)
    assert message.startswith("Not saved: wang.fang changed this on ")
    assert f"Their values: {b_shown}." in message
    with engine.connect() as conn:  # nothing of B's change was lost, A changed nothing
        assert users.account(conn, "li.lei") == after_b
    # Loading the newer version shows B's values; the account is put back for the next case.
    a.button(key="ops_reload_users:li.lei").click().run()
    assert [e.value for e in a.error] == []
    with transaction(engine) as session:
        current = users.account(session, "li.lei")
        users.change_role(session, writes.LOCAL_ADMIN, "li.lei", current["version"], Role.editor)
        users.set_active(session, writes.LOCAL_ADMIN, "li.lei", current["version"] + 1, True)
        users.reset_password(session, writes.LOCAL_ADMIN, "li.lei", current["version"] + 2)
    with transaction(engine) as session:  # back to the known password, must-change off
        session.execute(users.users_table.update().where(users.users_table.c.username == "li.lei").values(
            password_hash=users.hash_password(PASSWORD), must_change_password=False))


def test_an_unlock_from_a_stale_view_is_refused_and_the_lock_is_not_lifted_twice(store_url, engine, monkeypatch):
    for _ in range(2):
        with pytest.raises(users.Refused):
            users.sign_in(engine, "li.lei", "not the password")
    a = accounts_page(store_url, "boss", monkeypatch)
    b = accounts_page(store_url, "wang.fang", monkeypatch)
    ok(b.button(key="acc_unlock_li.lei").click().run())
    assert [s.value for s in b.success] == ["The account is unlocked."]
    a.button(key="acc_unlock_li.lei").click().run()
    assert refused(a).startswith("Not saved: wang.fang changed this on ")
    with engine.connect() as conn:
        assert users.account(conn, "li.lei")["failed_sign_ins"] == 0


def test_single_user_mode_shows_the_accounts_page_to_the_built_in_admin(store_url, monkeypatch):
    monkeypatch.setenv("OPS_DATABASE_URL", store_url)
    monkeypatch.setenv("OPS_SIGN_IN", "off")
    app = ok(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run())
    assert nav(app) == [*NAV, "Accounts", "Settings"]
    assert app.sidebar.caption[-1].value == ("Single-user mode: no sign-in, acting as the built-in admin, "
                                             "on this computer only")
    app.switch_page("pages/accounts.py").run()
    assert [i.value for i in app.info][0].startswith("This cockpit runs in single-user mode")


# --- the company's OpenID Connect provider (Streamlit's st.login) --------------------------------

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "a long random secret of the server",
        "client_id": "ops-cockpit", "client_secret": "secret of the client",
        "server_metadata_url": "https://id.example.internal/.well-known/openid-configuration"}


def provider_app(url: str, monkeypatch, user: dict) -> AppTest:
    monkeypatch.setenv("OPS_DATABASE_URL", url)
    monkeypatch.setenv("OPS_SIGN_IN", "required")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.secrets["auth"] = AUTH
    app.user = user  # what st.user holds after the provider's sign-in (AppTest cannot reach a real provider)
    return app.run()


def test_with_a_provider_the_form_offers_it_first_and_keeps_the_password_form(store_url, monkeypatch):
    app = ok(provider_app(store_url, monkeypatch, {"is_logged_in": False}))
    assert [t.value for t in app.title] == ["Sign in to Ops Cockpit"]
    assert [b.label for b in app.button][:1] == ["Sign in with the company account"]
    assert [c.value for c in app.caption][-1] == "Or with a password of this cockpit:"
    assert [t.label for t in app.text_input] == ["User name", "Password"]
    assert nav(app) == []


def test_a_person_the_provider_vouches_for_acts_with_the_account_of_their_e_mail(store_url, engine, monkeypatch):
    with transaction(engine) as session:
        users.add_user(session, writes.LOCAL_ADMIN, "qian.yu@example.com", Role.viewer, display_name="Qian Yu")
    app = ok(provider_app(store_url, monkeypatch, {"is_logged_in": True, "email": "qian.yu@example.com"}))
    assert app.title[0].value == "Ops Cockpit"
    assert nav(app) == NAV
    assert app.sidebar.markdown[-1].value == "Signed in as **Qian Yu** (qian.yu@example.com, Viewer)"
    # The provider's word does not outrank the account: a disabled account is refused at the next click.
    with transaction(engine) as session:
        users.set_active(session, writes.LOCAL_ADMIN, "qian.yu@example.com", version(engine, "qian.yu@example.com"), False)
    app.run()
    assert [t.value for t in app.title] == ["Sign in to Ops Cockpit"]
    assert [e.value for e in app.error] == ["This account is disabled; ask an admin."]


def test_a_person_the_provider_vouches_for_without_an_account_here_is_refused(store_url, monkeypatch):
    app = provider_app(store_url, monkeypatch, {"is_logged_in": True, "email": "stranger@example.com"})
    assert [t.value for t in app.title] == ["Sign in to Ops Cockpit"]
    assert [e.value for e in app.error] == ["stranger@example.com has no account in this cockpit; ask an admin to add "
                                            "one with that user name."]
    assert [b.label for b in app.button][:1] == ["Sign out of the company account"]
    assert nav(app) == [] and len(app.metric) == 0
