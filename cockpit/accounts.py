"""The accounts page (admins): every account with its role and state, adding one, and changing one.

Each change carries the account's version as this session first saw it (cockpit.edits): a change
from a stale view is refused with who changed the account and its newer values, nothing lost. A new
or reset password is shown once, in the message after the change, and never again.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import edits, frame, ui
from ops_core import present, users
from ops_core.i18n import label
from ops_core.vocab import Role

ROLES = [str(r) for r in Role]


def record(username: str) -> str:
    return f"users:{username}"


def fields(current: Mapping[str, Any]) -> Sequence[tuple[str, Any]]:
    """What a refusal shows of an account's newer version."""
    locked = current.get("locked_until")
    return ((ui.tr("acc.field.role"), label(Role, current["role"], ui.language())),
            (ui.tr("acc.field.active"), bool(current["active"])),
            (ui.tr("acc.field.locked"), present.date_text(locked) if locked else None))


def state_text(row: Mapping[str, Any]) -> str:
    parts = [ui.tr("acc.state.active" if row["active"] else "acc.state.disabled")]
    if not present.missing(row["locked_until"]):
        parts.append(ui.tr("acc.state.locked", until=users.moment_text(row["locked_until"])))
    if row["must_change_password"]:
        parts.append(ui.tr("acc.state.must_change"))
    if not row.get("has_password", True):
        parts.append(ui.tr("acc.state.no_password"))
    return ui.tr("edit.list_sep").join(parts)


def table(accounts: pd.DataFrame) -> pd.DataFrame:
    """The accounts as a person reads them, headers in the reader's language."""
    lang = ui.language()
    return pd.DataFrame({
        ui.tr("acc.col.username"): accounts["username"],
        ui.tr("acc.col.name"): accounts["display_name"],
        ui.tr("acc.col.role"): [label(Role, r, lang) for r in accounts["role"]],
        ui.tr("acc.col.state"): [state_text(row) for row in accounts.to_dict("records")],
        ui.tr("acc.col.last"): [ui.tr("acc.never") if present.missing(v) else users.moment_text(v)
                                for v in accounts["last_sign_in_at"]],
    })


def add_form(store: Engine) -> None:
    with st.form("acc_add_form", clear_on_submit=True):
        st.subheader(ui.tr("acc.add"))
        left, middle, right = st.columns(3)
        username = left.text_input(ui.tr("acc.add.username"), key="acc_add_username")
        name = middle.text_input(ui.tr("acc.add.name"), key="acc_add_name")
        role = right.selectbox(ui.tr("acc.add.role"), ROLES, format_func=lambda r: label(Role, r, ui.language()),
                               key=ui.language_key("acc_add_role"))
        if st.form_submit_button(ui.tr("acc.add.submit"), type="primary", key="acc_add_submit"):
            ui.act(store, lambda s: users.add_user(s, ui.acting_user(), username, role, display_name=name),
                   "acc.added", username=username.strip())


def change_form(store: Engine, accounts: pd.DataFrame) -> None:
    st.subheader(ui.tr("acc.edit"))
    names = list(accounts["username"])
    shown = dict(zip(accounts["username"], accounts["display_name"], strict=True))
    username = st.selectbox(ui.tr("acc.pick"), names, format_func=lambda u: f"{shown[u]} ({u})", key="acc_pick")
    if username is None:
        return
    rec = record(username)
    now = accounts.set_index("username").loc[username].to_dict()
    seen = edits.seen(rec, {"username": username, **now})
    edits.notice(rec)
    st.caption(ui.tr("acc.state", state=state_text(seen)))
    with st.form(f"acc_role_form_{username}"):
        role = st.selectbox(ui.tr("acc.field.role"), ROLES, index=ROLES.index(seen["role"]),
                            format_func=lambda r: label(Role, r, ui.language()),
                            key=edits.key(rec, ui.language_key(f"acc_role_{username}")))
        if st.form_submit_button(ui.tr("acc.role.submit"), key=f"acc_role_save_{username}"):
            edits.save(store, rec, lambda s: users.change_role(s, ui.acting_user(), username, int(seen["version"]), role),
                       "acc.role.saved", fields, widgets=(f"acc_role_{username}",), changed=role != seen["role"])
    one, two, three = st.columns(3)
    enable = not seen["active"]
    if enable:
        if one.button(ui.tr("acc.enable"), key=f"acc_active_{username}"):
            edits.save(store, rec, lambda s: users.set_active(s, ui.acting_user(), username, int(seen["version"]), True),
                       "acc.enabled", fields)
    else:
        with one.popover(ui.tr("acc.disable")):  # asks once more: a disabled person is signed out at once
            st.write(ui.tr("acc.disable.confirm", name=seen["display_name"], username=username))
            if st.button(ui.tr("acc.disable"), key=f"acc_active_{username}", type="primary"):
                edits.save(store, rec, lambda s: users.set_active(s, ui.acting_user(), username, int(seen["version"]), False),
                           "acc.disabled", fields)
    if two.button(ui.tr("acc.unlock"), key=f"acc_unlock_{username}",
                  disabled=present.missing(seen["locked_until"]) and not seen["failed_sign_ins"]):
        edits.save(store, rec, lambda s: users.unlock(s, ui.acting_user(), username, int(seen["version"])),
                   "acc.unlocked", fields)
    with three.popover(ui.tr("acc.reset")):  # asks once more: the old password stops working at once
        st.write(ui.tr("acc.reset.confirm", name=seen["display_name"], username=username))
        if st.button(ui.tr("acc.reset"), key=f"acc_reset_{username}", type="primary"):
            edits.save(store, rec, lambda s: users.reset_password(s, ui.acting_user(), username, int(seen["version"])),
                       "acc.reset_done", fields, username=username)


def page(store: Engine) -> None:
    st.title(ui.tr("nav.accounts"))
    st.caption(ui.tr("acc.caption"))
    if ui.acting_user().role != Role.admin:  # the page is listed for admins only; ops_core refuses anyway
        st.info(ui.tr("acc.admins_only"))  # as the audit trail: a page that is not theirs, not an error
        return
    if not frame.sign_in_required():
        st.info(ui.tr("acc.single_mode"))
    ui.show_flash()
    with store.connect() as conn:
        accounts = users.accounts(conn)
    if accounts.empty:
        st.info(ui.tr("acc.none"))
    else:
        st.dataframe(table(accounts), hide_index=True, width="stretch", placeholder="")
    add_form(store)
    if not accounts.empty:
        change_form(store, accounts)
