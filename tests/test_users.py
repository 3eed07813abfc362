"""Accounts and sign-in (ops_core.users): passwords, slow-down and lock-out, sessions seen by every
app instance over one store, idle expiry, admin changes through the write path, the users command."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import select

from ops_core import users, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.errors import PermissionDenied, Refused, StaleVersion
from ops_core.vocab import Role
from tests.conftest import ROOT

T0 = dt.datetime(2026, 12, 1, 9, 0, 0)
PASSWORD = "correct horse battery"


def add(engine, username: str, role: Role = Role.editor, password: str | None = PASSWORD) -> str | None:
    with transaction(engine) as session:
        return users.add_user(session, writes.LOCAL_ADMIN, username, role, display_name=username.title(), password=password)


def version(engine, username: str) -> int:
    with engine.connect() as conn:
        return users.account(conn, username)["version"]


def refusal(call) -> Refused:
    with pytest.raises(Refused) as caught:
        call()
    return caught.value


@pytest.fixture
def second_instance(fresh_engine):
    """Another app instance over the same store: an Engine of its own on the same database."""
    other = make_engine(fresh_engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def test_sign_in_gives_a_session_whose_user_has_the_stored_role(fresh_engine):
    add(fresh_engine, "wang.fang", Role.editor)
    token = users.sign_in(fresh_engine, "wang.fang", PASSWORD, now=T0)
    assert users.session_user(fresh_engine, token, now=T0) == writes.Actor("wang.fang", Role.editor)
    with fresh_engine.connect() as conn:
        stored = users.account(conn, "wang.fang")
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in stored["password_hash"]
    assert stored["last_sign_in_at"] == T0
    # The store keeps only the token's hash: the token itself is nowhere in it.
    with fresh_engine.connect() as conn:
        kept = conn.execute(select(TABLES["user_sessions"].c.token_hash)).scalars().all()
    assert len(kept) == 1 and token not in kept


def test_a_wrong_password_and_an_unknown_name_are_refused_in_the_same_words(fresh_engine):
    add(fresh_engine, "wang.fang")
    wrong = refusal(lambda: users.sign_in(fresh_engine, "wang.fang", "not the password", now=T0))
    unknown = refusal(lambda: users.sign_in(fresh_engine, "nobody", PASSWORD, now=T0))
    assert wrong.message("en") == unknown.message("en") == "Wrong user name or password."
    assert wrong.message("zh") == "用户名或密码错误。"


def test_failures_slow_down_then_lock_the_account_until_an_admin_unlocks_it(fresh_engine):
    add(fresh_engine, "wang.fang")
    bad = "not the password"
    # Failures 1 and 2: no wait. Failure 3: 5 s (SLOW_SECONDS), failure 4: 10 s, failure 5 (signin.lock_after): 15 min.
    assert refusal(lambda: users.sign_in(fresh_engine, "wang.fang", bad, now=T0)).key == "signin.wrong"
    assert refusal(lambda: users.sign_in(fresh_engine, "wang.fang", bad, now=T0)).key == "signin.wrong"
    third = refusal(lambda: users.sign_in(fresh_engine, "wang.fang", bad, now=T0))
    assert third.message("en") == ("Wrong user name or password. Wait 5 seconds before the next try; after 2 more "
                                   "failed tries the account is locked.")
    # Within the wait even the right password is refused, and the refusal says until when.
    waiting = refusal(lambda: users.sign_in(fresh_engine, "wang.fang", PASSWORD, now=T0 + dt.timedelta(seconds=4)))
    assert waiting.message("en") == ("This account is locked after 3 failed sign-ins until 2026-12-01 09:00:05 UTC; "
                                     "an admin can unlock it sooner.")
    later = T0 + dt.timedelta(seconds=5)
    assert refusal(lambda: users.sign_in(fresh_engine, "wang.fang", bad, now=later)).values["seconds"] == 10
    later += dt.timedelta(seconds=10)
    locked = refusal(lambda: users.sign_in(fresh_engine, "wang.fang", bad, now=later))
    assert locked.message("en") == ("Wrong user name or password. After 5 failed sign-ins this account is locked until "
                                    "2026-12-01 09:15:15 UTC; an admin can unlock it sooner.")
    assert locked.message("zh") == "用户名或密码错误。连续登录失败 5 次，此账号已锁定至 2026-12-01 09:15:15 UTC；管理员可提前解锁。"
    assert refusal(lambda: users.sign_in(fresh_engine, "wang.fang", PASSWORD, now=later)).key == "signin.locked"

    with transaction(fresh_engine) as session:
        users.unlock(session, writes.LOCAL_ADMIN, "wang.fang", version(fresh_engine, "wang.fang"))
    assert users.sign_in(fresh_engine, "wang.fang", PASSWORD, now=later)
    with fresh_engine.connect() as conn:
        assert users.account(conn, "wang.fang")["failed_sign_ins"] == 0


def test_a_lock_ends_by_itself_after_the_lock_minutes(fresh_engine):
    add(fresh_engine, "wang.fang")
    moment = T0
    for _ in range(5):
        with pytest.raises(Refused):
            users.sign_in(fresh_engine, "wang.fang", "not the password", now=moment)
        moment += dt.timedelta(seconds=20)  # past each short wait
    # The fifth failure at 09:01:20 locks until 09:16:20 (signin.lock_minutes = 15).
    assert refusal(lambda: users.sign_in(fresh_engine, "wang.fang", PASSWORD, now=T0 + dt.timedelta(minutes=16))).key == "signin.locked"
    assert users.sign_in(fresh_engine, "wang.fang", PASSWORD, now=T0 + dt.timedelta(minutes=16, seconds=21))


def test_a_session_ends_after_the_idle_time_and_on_sign_out(fresh_engine):
    add(fresh_engine, "wang.fang")
    token = users.sign_in(fresh_engine, "wang.fang", PASSWORD, now=T0)
    # signin.idle_minutes = 480: a visit 7 h 59 min later keeps the session and restarts the clock.
    assert users.session_user(fresh_engine, token, now=T0 + dt.timedelta(hours=7, minutes=59)) is not None
    assert users.session_user(fresh_engine, token, now=T0 + dt.timedelta(hours=15, minutes=58)) is not None
    assert users.session_user(fresh_engine, token, now=T0 + dt.timedelta(hours=24)) is None
    assert users.session_user(fresh_engine, token, now=T0 + dt.timedelta(hours=24, minutes=1)) is None  # ended stays ended

    other = users.sign_in(fresh_engine, "wang.fang", PASSWORD, now=T0)
    users.sign_out(fresh_engine, other)
    assert users.session_user(fresh_engine, other, now=T0) is None
    assert users.session_user(fresh_engine, "a token nobody was given") is None
    assert users.session_user(fresh_engine, None) is None


def test_sessions_lock_outs_and_role_changes_are_seen_by_every_instance(fresh_engine, second_instance):
    add(fresh_engine, "wang.fang", Role.viewer)
    token = users.sign_in(fresh_engine, "wang.fang", PASSWORD)
    assert users.session_user(second_instance, token) == writes.Actor("wang.fang", Role.viewer)

    with transaction(fresh_engine) as session:
        users.change_role(session, writes.LOCAL_ADMIN, "wang.fang", version(fresh_engine, "wang.fang"), Role.editor)
    assert users.session_user(second_instance, token) == writes.Actor("wang.fang", Role.editor)

    users.sign_out(second_instance, token)
    assert users.session_user(fresh_engine, token) is None

    for _ in range(5):
        with pytest.raises(Refused):
            users.sign_in(fresh_engine, "wang.fang", "not the password", now=T0)
    assert refusal(lambda: users.sign_in(second_instance, "wang.fang", PASSWORD, now=T0)).key == "signin.locked"


def test_disabling_an_account_ends_its_sessions_and_refuses_its_sign_in(fresh_engine, second_instance):
    add(fresh_engine, "wang.fang")
    token = users.sign_in(fresh_engine, "wang.fang", PASSWORD)
    with transaction(fresh_engine) as session:
        users.set_active(session, writes.LOCAL_ADMIN, "wang.fang", version(fresh_engine, "wang.fang"), False)
    assert users.session_user(second_instance, token) is None
    assert refusal(lambda: users.sign_in(second_instance, "wang.fang", PASSWORD)).message("en") == \
        "This account is disabled; ask an admin."
    with transaction(fresh_engine) as session:
        users.set_active(session, writes.LOCAL_ADMIN, "wang.fang", version(fresh_engine, "wang.fang"), True)
    assert users.sign_in(second_instance, "wang.fang", PASSWORD)


def test_a_reset_password_is_shown_once_works_once_and_must_be_changed(fresh_engine):
    add(fresh_engine, "wang.fang")
    old_token = users.sign_in(fresh_engine, "wang.fang", PASSWORD)
    with transaction(fresh_engine) as session:
        shown = users.reset_password(session, writes.LOCAL_ADMIN, "wang.fang", version(fresh_engine, "wang.fang"))
    assert len(shown) == 12
    assert users.session_user(fresh_engine, old_token) is None  # a reset ends the open sessions
    assert refusal(lambda: users.sign_in(fresh_engine, "wang.fang", PASSWORD)).key == "signin.wrong"
    token = users.sign_in(fresh_engine, "wang.fang", shown)
    assert users.current(fresh_engine, token).must_change_password is True
    assert refusal(lambda: users.change_own_password(fresh_engine, token, shown, shown)).key == "users.password_same"
    assert refusal(lambda: users.change_own_password(fresh_engine, token, shown, "short")).message("en") == \
        "A password needs at least 10 characters."
    users.change_own_password(fresh_engine, token, shown, "my own good password")
    assert users.current(fresh_engine, token).must_change_password is False
    assert users.sign_in(fresh_engine, "wang.fang", "my own good password")
    # The audit log says the password changed, never what it became.
    with fresh_engine.connect() as conn:
        log = conn.execute(select(TABLES["audit_log"].c.actor, TABLES["audit_log"].c.new_values)
                           .where(TABLES["audit_log"].c.entity == "users")).all()
    assert [actor for actor, _ in log] == ["local-admin", "local-admin", "wang.fang"]
    assert all(values["password_hash"] == "***" for _, values in log)


def test_an_account_added_without_a_password_gets_a_one_time_one(fresh_engine):
    shown = add(fresh_engine, "li.lei", Role.viewer, password=None)
    token = users.sign_in(fresh_engine, "li.lei", shown)
    assert users.current(fresh_engine, token) == users.Signed(writes.Actor("li.lei", Role.viewer), "Li.Lei", True)


def test_only_an_admin_manages_accounts_and_one_admin_always_remains(fresh_engine):
    add(fresh_engine, "boss", Role.admin)
    add(fresh_engine, "wang.fang", Role.editor)
    editor = writes.Actor("wang.fang", Role.editor)
    boss = writes.Actor("boss", Role.admin)
    for change in (lambda s: users.add_user(s, editor, "x.y", Role.viewer, password=PASSWORD),
                   lambda s: users.change_role(s, editor, "wang.fang", 1, Role.admin),
                   lambda s: users.set_active(s, editor, "boss", 1, False),
                   lambda s: users.unlock(s, editor, "boss", 1),
                   lambda s: users.reset_password(s, editor, "boss", 1)):
        with pytest.raises(PermissionDenied), transaction(fresh_engine) as session:
            change(session)
    with transaction(fresh_engine) as session:
        assert refusal(lambda: users.set_active(session, boss, "boss", 1, False)).key == "users.not_yourself"
    with transaction(fresh_engine) as session:
        assert refusal(lambda: users.change_role(session, writes.LOCAL_ADMIN, "boss", 1, Role.viewer)).message("en") == \
            "boss is the last active admin: make another account an admin first."
    with transaction(fresh_engine) as session:
        assert refusal(lambda: users.add_user(session, boss, "wang.fang", Role.viewer, password=PASSWORD)).key == "users.exists"
    with transaction(fresh_engine) as session:
        assert refusal(lambda: users.add_user(session, boss, "two words", Role.viewer, password=PASSWORD)).key == "users.bad_name"


def test_a_change_from_a_stale_view_of_an_account_is_refused(fresh_engine):
    add(fresh_engine, "wang.fang")
    seen = version(fresh_engine, "wang.fang")
    with transaction(fresh_engine) as session:
        users.change_role(session, writes.Actor("boss", Role.admin), "wang.fang", seen, Role.viewer)
    with pytest.raises(StaleVersion), transaction(fresh_engine) as session:
        users.change_role(session, writes.LOCAL_ADMIN, "wang.fang", seen, Role.admin)
    # Signing in does not change the version: an admin's open form stays valid.
    users.sign_in(fresh_engine, "wang.fang", PASSWORD)
    with pytest.raises(Refused):
        users.sign_in(fresh_engine, "wang.fang", "not the password")
    assert version(fresh_engine, "wang.fang") == seen + 1


# --- the command line --------------------------------------------------------------------------


def command(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops_core.users", "--database-url", url, *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_users_command_adds_lists_resets_disables_and_unlocks_accounts(new_store_url):
    url = new_store_url()
    done = command(url, "add", "boss", "--role", "admin", "--name", "Zhang Wei", stdin=PASSWORD + "\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, "added boss (admin)\n", "")
    engine = make_engine(url)
    try:
        assert users.session_user(engine, users.sign_in(engine, "boss", PASSWORD)) == writes.Actor("boss", Role.admin)

        no_password = command(url, "add", "wang.fang", "--role", "editor")
        assert no_password.returncode == 2
        assert no_password.stderr == ("error: no password on standard input (give it as the first line: the command "
                                      "line never takes one)\n")
        short = command(url, "add", "wang.fang", "--role", "editor", stdin="short\n")
        assert (short.returncode, short.stderr) == (2, "error: A password needs at least 10 characters.\n")
        again = command(url, "add", "boss", "--role", "viewer", stdin=PASSWORD + "\n")
        assert (again.returncode, again.stderr) == (2, "error: An account 'boss' already exists.\n")
        unknown = command(url, "disable", "nobody")
        assert (unknown.returncode, unknown.stderr) == (2, "error: There is no account 'nobody'.\n")

        reset = command(url, "reset", "boss")
        assert reset.returncode == 0, reset.stderr
        first, second = reset.stdout.splitlines()
        assert first.startswith("one-time password for boss: ") and second == "it is shown only now; it must be changed at the next sign-in"
        assert users.current(engine, users.sign_in(engine, "boss", first.rsplit(" ", 1)[1])).must_change_password

        assert command(url, "add", "wang.fang", "--role", "editor", stdin=PASSWORD + "\n").returncode == 0
        start = users.utcnow()
        for seconds in (0, 0, 0, 6, 17):  # past the 5 s wait after the third failure and the 10 s after the fourth
            with pytest.raises(Refused):
                users.sign_in(engine, "wang.fang", "not the password", now=start + dt.timedelta(seconds=seconds))
        listed = command(url, "list")
        assert listed.returncode == 0
        until = users.moment_text(start + dt.timedelta(seconds=17, minutes=15))
        assert listed.stdout.splitlines()[1] == f"wang.fang\teditor\twang.fang\tactive, locked until {until}\tnever signed in"
        assert command(url, "unlock", "wang.fang").stdout == "unlocked wang.fang\n"
        assert users.sign_in(engine, "wang.fang", PASSWORD)
        assert command(url, "disable", "wang.fang").stdout == "disabled wang.fang\n"
        lines = command(url, "list").stdout.splitlines()
        assert lines[0].startswith("boss\tadmin\tZhang Wei\tactive, must change password\tlast sign-in ")
        assert lines[1].startswith("wang.fang\teditor\twang.fang\tdisabled\tlast sign-in ")
    finally:
        engine.dispose()
