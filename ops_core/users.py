"""People who sign in: accounts, passwords, sign-in with lock-outs, sessions, and the users command.

Everything lives in the store (``users`` and ``user_sessions``), so several app instances over one
PostgreSQL see the same sessions, lock-outs and role changes; nothing is kept in a process's memory.
Passwords are hashed with argon2id (argon2-cffi). A browser holds a random session token; the store
keeps only its SHA-256. Each failed sign-in from the third on makes the account wait a little longer
before the next try, and the ``signin.lock_after`` failure locks it for ``signin.lock_minutes``; an
admin can unlock it. A session ends on sign-out, after ``signin.idle_minutes`` without a visit, or
when its account is disabled or its password reset.

Admin changes (add, disable, enable, change role, unlock, reset password) go through the write
path: admin only, versioned, audited (the audit log never holds a password hash). The sign-in
bookkeeping (failed attempts, last sign-in, a person's own new password) does not change the
record's version, so it never makes an admin's open form stale.

Command line, acting as the built-in admin (run on the server, by whoever may open the store)::

    python -m ops_core.users add USERNAME --role viewer|editor|admin [--name "Display name"]
    python -m ops_core.users reset USERNAME
    python -m ops_core.users disable USERNAME
    python -m ops_core.users enable USERNAME
    python -m ops_core.users unlock USERNAME
    python -m ops_core.users list

``add`` reads the password from standard input (asked twice, unseen, on a terminal), never from the
command line, where other users of the machine could read it; ``reset`` prints a one-time password
that must be changed at the next sign-in.
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import re
import secrets
import sys
from dataclasses import dataclass
from typing import Any

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.orm import Session

from ops_core import settings, writes
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.errors import Refused, UsageError
from ops_core.vocab import Role

users_table = TABLES["users"]
sessions_table = TABLES["user_sessions"]

IDLE_KEY = "signin.idle_minutes"
LOCK_AFTER_KEY = "signin.lock_after"
LOCK_MINUTES_KEY = "signin.lock_minutes"
SLOW_FROM = 3          # the failure from which each further try must wait
SLOW_SECONDS = 5       # the wait after failure SLOW_FROM, doubled at each further failure
SEEN_EVERY = dt.timedelta(minutes=1)  # how stale last_seen_at may get before a visit writes it again
MIN_PASSWORD = 10
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the user name is unknown, so an answer takes as long whether the account exists or
    not. Made at the first sign-in, not at import: hashing takes 0.1 s, which every page's first visit
    after a start paid, sign-in or not."""
    return _hasher.hash("not a password of anyone")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    """A password a person may choose: at least MIN_PASSWORD characters, not only spaces."""
    if len(password.strip()) < MIN_PASSWORD:
        raise Refused("users.password_short", length=MIN_PASSWORD)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def one_time_password() -> str:
    """A password shown once: 12 characters of letters and digits a person can type (no 0/O, 1/l/I)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _minutes(conn: Connection | Session, key: str) -> int:
    return int(settings.get(conn, key))


def slow_down_seconds(failures: int) -> int:
    """How long an account waits after its ``failures``-th failed sign-in in a row (0 before SLOW_FROM)."""
    return 0 if failures < SLOW_FROM else SLOW_SECONDS * 2 ** (failures - SLOW_FROM)


# --- signing in and out --------------------------------------------------------------------------


def sign_in(engine: Engine, username: str, password: str, *, now: dt.datetime | None = None) -> str:
    """A new session's token for ``username`` if ``password`` is right; else Refused (in the reader's
    language): wrong name or password (the same words whether the account exists, so names cannot be
    guessed), the wait or lock and when it ends, a disabled account. The failure is counted even
    though the sign-in is refused."""
    now = now or utcnow()
    username = username.strip()
    with transaction(engine) as session:
        user = session.execute(select(users_table).where(users_table.c.username == username)
                               .with_for_update()).mappings().first()
        if user is None:
            _verify(None, password)
            raise Refused("signin.wrong")
        if user["locked_until"] is not None and user["locked_until"] > now:
            raise Refused("signin.locked", until=moment_text(user["locked_until"]), count=user["failed_sign_ins"])
        if not _verify(user["password_hash"], password):
            refusal = _count_failure(session, user, now)
        else:
            refusal = None
            if not user["active"]:
                raise Refused("signin.disabled")
            token = secrets.token_urlsafe(32)
            session.execute(update(users_table).where(users_table.c.id == user["id"])
                            .values(failed_sign_ins=0, locked_until=None, last_sign_in_at=now))
            session.execute(sessions_table.insert().values(token_hash=_token_hash(token), username=username,
                                                           created_at=now, last_seen_at=now))
    if refusal is not None:  # raised after the commit, so the failure stays counted
        raise refusal
    return token


def open_session(engine: Engine, username: str, *, now: dt.datetime | None = None) -> str:
    """A new session's token for ``username``, whose identity someone else has checked (the company's
    OpenID Connect provider through Streamlit's st.login): the account must exist, be active and not
    locked; its password is not asked. Else Refused."""
    now = now or utcnow()
    with transaction(engine) as session:
        user = session.execute(select(users_table).where(users_table.c.username == username.strip())).mappings().first()
        if user is None:
            raise Refused("signin.no_account", username=username)
        if not user["active"]:
            raise Refused("signin.disabled")
        if user["locked_until"] is not None and user["locked_until"] > now:
            raise Refused("signin.locked", until=moment_text(user["locked_until"]), count=user["failed_sign_ins"])
        token = secrets.token_urlsafe(32)
        session.execute(update(users_table).where(users_table.c.id == user["id"]).values(last_sign_in_at=now))
        session.execute(sessions_table.insert().values(token_hash=_token_hash(token), username=user["username"],
                                                       created_at=now, last_seen_at=now))
    return token


def _count_failure(session: Session, user: Any, now: dt.datetime) -> Refused:
    failures = int(user["failed_sign_ins"] or 0) + 1
    lock_after = int(settings.get(session, LOCK_AFTER_KEY))
    if failures >= lock_after:
        until = now + dt.timedelta(minutes=_minutes(session, LOCK_MINUTES_KEY))
        refusal = Refused("signin.now_locked", count=failures, until=moment_text(until))
    elif failures >= SLOW_FROM:
        until = now + dt.timedelta(seconds=slow_down_seconds(failures))
        refusal = Refused("signin.wrong_wait", seconds=slow_down_seconds(failures), left=lock_after - failures)
    else:
        until = None
        refusal = Refused("signin.wrong")
    session.execute(update(users_table).where(users_table.c.id == user["id"])
                    .values(failed_sign_ins=failures, locked_until=until))
    return refusal


def moment_text(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Signed:
    """Who a live session belongs to, as read from the store on this visit."""

    actor: writes.Actor
    display_name: str
    must_change_password: bool


def current(engine: Engine, token: str | None, *, now: dt.datetime | None = None) -> Signed | None:
    """The person behind ``token`` (their role as stored now), or None: no such session, signed out,
    idle longer than ``signin.idle_minutes`` (the session is ended then), or the account disabled."""
    if not token or not isinstance(token, str):
        return None
    now = now or utcnow()
    key = _token_hash(token)
    with transaction(engine) as session:
        row = session.execute(
            select(sessions_table.c.last_seen_at, sessions_table.c.ended_at, users_table.c.username,
                   users_table.c.display_name, users_table.c.role, users_table.c.active,
                   users_table.c.must_change_password)
            .join(users_table, users_table.c.username == sessions_table.c.username)
            .where(sessions_table.c.token_hash == key)).mappings().first()
        if row is None or row["ended_at"] is not None:
            return None
        idle = dt.timedelta(minutes=_minutes(session, IDLE_KEY))
        if not row["active"] or now - row["last_seen_at"] > idle:
            session.execute(update(sessions_table).where(sessions_table.c.token_hash == key).values(ended_at=now))
            return None
        if now - row["last_seen_at"] >= SEEN_EVERY:
            session.execute(update(sessions_table).where(sessions_table.c.token_hash == key).values(last_seen_at=now))
        return Signed(writes.Actor(row["username"], Role(row["role"])), row["display_name"],
                      bool(row["must_change_password"]))


def session_user(engine: Engine, token: str | None, *, now: dt.datetime | None = None) -> writes.Actor | None:
    """The acting user of a live session, or None (see ``current``)."""
    signed = current(engine, token, now=now)
    return None if signed is None else signed.actor


def sign_out(engine: Engine, token: str | None, *, now: dt.datetime | None = None) -> None:
    """End the session of ``token`` (nothing happens for an unknown or ended one)."""
    if not token:
        return
    with transaction(engine) as session:
        session.execute(update(sessions_table).where(sessions_table.c.token_hash == _token_hash(token),
                                                     sessions_table.c.ended_at.is_(None)).values(ended_at=now or utcnow()))


def _end_sessions(session: Session, username: str, now: dt.datetime) -> None:
    session.execute(update(sessions_table).where(sessions_table.c.username == username,
                                                 sessions_table.c.ended_at.is_(None)).values(ended_at=now))


def change_own_password(engine: Engine, token: str, current_password: str, new_password: str) -> None:
    """The signed-in person sets a new password (required after a reset): the current one must be right."""
    signed = current(engine, token)
    if signed is None:
        raise Refused("signin.expired")
    if new_password == current_password:
        raise Refused("users.password_same")
    new_hash = hash_password(new_password)
    with transaction(engine) as session:
        user = session.execute(select(users_table).where(users_table.c.username == signed.actor.username)).mappings().one()
        if not _verify(user["password_hash"], current_password):
            raise Refused("users.password_wrong")
        session.execute(update(users_table).where(users_table.c.id == user["id"])
                        .values(password_hash=new_hash, must_change_password=False))
        writes.audit(session, signed.actor, "update", "users", user["id"],
                     {"password_hash": user["password_hash"], "must_change_password": user["must_change_password"]},
                     {"password_hash": new_hash, "must_change_password": False})


# --- accounts, by an admin -----------------------------------------------------------------------


def accounts(conn: Connection | Session, *, now: dt.datetime | None = None) -> pd.DataFrame:
    """Every account, by user name: display name, role, active, locked until (only while locked),
    failed sign-ins, must change password, has a password (accounts made by an import or the demo
    company have none until an admin resets it), last sign-in, version."""
    now = now or utcnow()
    rows = conn.execute(select(users_table.c.username, users_table.c.display_name, users_table.c.role,
                               users_table.c.active, users_table.c.locked_until, users_table.c.failed_sign_ins,
                               users_table.c.must_change_password, users_table.c.password_hash.is_not(None).label("has_password"),
                               users_table.c.last_sign_in_at,
                               users_table.c.version).order_by(users_table.c.username)).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=["username", "display_name", "role", "active", "locked_until",
                                                           "failed_sign_ins", "must_change_password", "has_password",
                                                           "last_sign_in_at", "version"])
    if len(frame):
        frame["locked_until"] = [u if u is not None and u > now else None for u in frame["locked_until"]]
    return frame


def account(conn: Connection | Session, username: str) -> dict[str, Any]:
    found = conn.execute(select(users_table).where(users_table.c.username == username)).mappings().first()
    if found is None:
        raise Refused("users.unknown", username=username)
    return dict(found)


def add_user(session: Session, actor: writes.Actor, username: str, role: Role | str, *, display_name: str = "",
             password: str | None = None) -> str | None:
    """A new active account. With ``password`` the person signs in with it; without, a one-time
    password is returned (shown once) that must be changed at the first sign-in."""
    writes.require_role(actor, Role.admin, "add users")
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise Refused("users.bad_name", username=username)
    if session.execute(select(users_table.c.id).where(users_table.c.username == username)).first() is not None:
        raise Refused("users.exists", username=username)
    shown = None if password is not None else one_time_password()
    writes.create(session, actor, "users", {
        "username": username, "display_name": display_name.strip() or username, "role": str(Role(role)),
        "password_hash": hash_password(password if password is not None else shown), "active": True,
        "failed_sign_ins": 0, "must_change_password": password is None})
    return shown


def _change(session: Session, actor: writes.Actor, username: str, expected_version: int,
            changes: dict[str, Any]) -> dict[str, Any]:
    user = account(session, username)
    return writes.update(session, actor, "users", user["id"], expected_version, changes)


def _keep_an_admin(session: Session, actor: writes.Actor, username: str, *, role: str, active: bool) -> None:
    """Refuse a change that would leave the store without an active admin, or lock an admin out of their own account."""
    if username == actor.username and (not active or role != Role.admin):
        raise Refused("users.not_yourself")
    target = account(session, username)
    if target["role"] != Role.admin or not target["active"]:
        return
    others = session.execute(select(users_table.c.username).where(
        users_table.c.role == str(Role.admin), users_table.c.active.is_(True), users_table.c.username != username)).first()
    if others is None and (not active or role != Role.admin):
        raise Refused("users.last_admin", username=username)


def set_active(session: Session, actor: writes.Actor, username: str, expected_version: int, active: bool) -> dict[str, Any]:
    """Disable (every session of the account ends at once) or enable an account."""
    writes.require_role(actor, Role.admin, "disable or enable users")
    user = account(session, username)
    if not active:
        _keep_an_admin(session, actor, username, role=user["role"], active=False)
    changed = _change(session, actor, username, expected_version, {"active": active})
    if not active:
        _end_sessions(session, username, utcnow())
    return changed


def change_role(session: Session, actor: writes.Actor, username: str, expected_version: int,
                role: Role | str) -> dict[str, Any]:
    """A new role, in force at the person's next click (every visit reads the role from the store)."""
    writes.require_role(actor, Role.admin, "change roles")
    user = account(session, username)
    _keep_an_admin(session, actor, username, role=str(Role(role)), active=bool(user["active"]))
    return _change(session, actor, username, expected_version, {"role": str(Role(role))})


def unlock(session: Session, actor: writes.Actor, username: str, expected_version: int) -> dict[str, Any]:
    """End a lock-out and forget the failed sign-ins."""
    writes.require_role(actor, Role.admin, "unlock users")
    return _change(session, actor, username, expected_version, {"locked_until": None, "failed_sign_ins": 0})


def reset_password(session: Session, actor: writes.Actor, username: str, expected_version: int) -> str:
    """A one-time password (returned to be shown once) that must be changed at the next sign-in; the
    account is unlocked and its sessions end."""
    writes.require_role(actor, Role.admin, "reset passwords")
    shown = one_time_password()
    _change(session, actor, username, expected_version, {
        "password_hash": hash_password(shown), "must_change_password": True, "locked_until": None, "failed_sign_ins": 0})
    _end_sessions(session, username, utcnow())
    return shown


# --- command line ------------------------------------------------------------------------------


def _read_password(stream: Any) -> str:
    if stream.isatty():
        import getpass

        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise UsageError("the two passwords differ; nothing was changed")
        return first
    line = stream.readline().rstrip("\r\n")
    if not line:
        raise UsageError("no password on standard input (give it as the first line: the command line never takes one)")
    return line


def _refused(exc: Refused) -> UsageError:
    return UsageError(str(exc))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops_core.users", description="Accounts of the people who sign in.")
    parser.add_argument("--database-url", help="store URL (default: OPS_DATABASE_URL, else the embedded SQLite file)")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add an account; the password is read from standard input")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[str(r) for r in Role])
    add.add_argument("--name", default="", help="the name shown in the app (default: the user name)")
    for name, text in (("reset", "print a one-time password, to be changed at the next sign-in"),
                       ("disable", "disable an account and end its sessions"), ("enable", "enable a disabled account"),
                       ("unlock", "end a lock-out after failed sign-ins")):
        commands.add_parser(name, help=text).add_argument("username")
    commands.add_parser("list", help="every account with its role and state")
    args = parser.parse_args(argv)

    from ops_core.cli import open_store, run

    def body() -> int:
        password = _read_password(sys.stdin) if args.command == "add" else None
        with open_store(args.database_url) as engine:
            try:
                return _command(engine, args, password)
            except Refused as exc:
                raise _refused(exc) from None

    return run(body)


def _command(engine: Engine, args: argparse.Namespace, password: str | None) -> int:
    actor = writes.LOCAL_ADMIN
    if args.command == "list":
        with engine.connect() as conn:
            table = accounts(conn)
        if table.empty:
            print("no accounts yet: add one with python -m ops_core.users add USERNAME --role admin")
        for row in table.itertuples():
            state = "active" if row.active else "disabled"
            if pd.notna(row.locked_until):
                state += f", locked until {moment_text(row.locked_until)}"
            if row.must_change_password:
                state += ", must change password"
            if not row.has_password:
                state += ", no password yet (reset gives one)"
            last = "never signed in" if pd.isna(row.last_sign_in_at) else f"last sign-in {moment_text(row.last_sign_in_at)}"
            print(f"{row.username}\t{row.role}\t{row.display_name}\t{state}\t{last}")
        return 0
    with transaction(engine) as session:
        if args.command == "add":
            add_user(session, actor, args.username, args.role, display_name=args.name, password=password)
            print(f"added {args.username.strip()} ({args.role})")
            return 0
        user = account(session, args.username)
        if args.command == "reset":
            shown = reset_password(session, actor, args.username, user["version"])
            print(f"one-time password for {args.username}: {shown}")
            print("it is shown only now; it must be changed at the next sign-in")
        elif args.command in ("disable", "enable"):
            set_active(session, actor, args.username, user["version"], args.command == "enable")
            print(f"{args.command}d {args.username}")
        elif args.command == "unlock":
            unlock(session, actor, args.username, user["version"])
            print(f"unlocked {args.username}")
    return 0


if __name__ == "__main__":
    from ops_core.cli import run_module

    run_module("ops_core.users")
