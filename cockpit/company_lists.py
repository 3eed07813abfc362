"""The data page's editor of the company's own lists: industries, regions and product lines.

Each list shows its values (code, English and Chinese name); an admin adds a value (the code made
from the English name when left empty) and renames one. A rename carries the version its reader saw
(cockpit.edits): a save from an older view is refused with the newer names and who saved them, and
nothing is overwritten.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import edits, ui
from ops_core import company_lists
from ops_core.vocab import Role

OPEN_KEY = "lists_open"
PICK_KEY = "lists_pick"


def record(list_name: str, code: str) -> str:
    return f"company_list:{list_name}:{code}"


def _names(stored: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """What a refused rename shows of the newer version: both names."""
    return [(ui.tr("lists.col.label_en"), stored["label_en"]), (ui.tr("lists.col.label_zh"), stored["label_zh"])]


def _shown(row: Mapping[str, Any]) -> str:
    """A value as a picker names it: its name in the reader's language and its code."""
    name = row["label_zh"] if ui.language() == "zh" else row["label_en"]
    return name if name == row["code"] else f"{name} ({row['code']})"


def editor(store: Engine) -> None:
    """The lists in an expander (drawn only while open); changes for admins only."""
    box = ui.expander(ui.tr("lists.editor"), key=OPEN_KEY)
    if not box.open:
        return
    with box:
        st.caption(ui.tr("lists.intro"))
        list_name = ui.choice(st.segmented_control, ui.tr("lists.pick"), company_lists.LISTS, key=PICK_KEY,
                              default=company_lists.LISTS[0], format_func=lambda n: ui.tr(f"lists.{n}"))
        list_name = list_name or company_lists.LISTS[0]   # a segmented control can be clicked off
        rows = ui.cached(company_lists.entries, store, list_name)
        st.dataframe(pd.DataFrame({ui.tr("lists.col.code"): [r["code"] for r in rows],
                                   ui.tr("lists.col.label_en"): [r["label_en"] for r in rows],
                                   ui.tr("lists.col.label_zh"): [r["label_zh"] for r in rows]}),
                     hide_index=True, width="stretch", key=f"lists_table_{list_name}",
                     height=min(35 * (len(rows) + 1) + 3, 720), placeholder="")   # every value in sight, a value just added too
        if ui.acting_user().role != Role.admin:
            st.info(ui.tr("lists.admin_only"))
            return
        add_column, rename_column = st.columns(2)
        with add_column:
            _add_form(store, list_name)
        with rename_column:
            _rename_form(store, list_name, rows)


def _add_form(store: Engine, list_name: str) -> None:
    # After each value added the fields get new keys, so the browser draws them empty for the next one
    # (dropping a widget's state leaves what was typed on screen).
    added_key = f"lists_added_{list_name}"
    generation = st.session_state.get(added_key, 0)
    prefix = f"lists_add_{list_name}_"

    def key(name: str) -> str:
        return prefix + name if generation == 0 else f"{prefix}{name}@{generation}"

    st.markdown(f"**{ui.tr('lists.add')}**")
    with st.form(f"lists_add_{list_name}"):
        en = st.text_input(ui.tr("lists.add.en"), key=key("en"))
        zh = st.text_input(ui.tr("lists.add.zh"), key=key("zh"))
        code = st.text_input(ui.tr("lists.add.code"), key=key("code"), help=ui.tr("lists.add.code_help"))
        if st.form_submit_button(ui.tr("lists.add.run"), key=f"lists_add_run_{list_name}"):
            def added(session: Any) -> str:
                stored = company_lists.add(session, ui.acting_user(), list_name, code.strip() or None, en, zh)
                return _shown(stored)

            def emptied() -> None:   # the form starts empty for the next value
                st.session_state[added_key] = generation + 1

            ui.act(store, added, "lists.added", saved=emptied)


def _rename_form(store: Engine, list_name: str, rows: list[dict[str, Any]]) -> None:
    st.markdown(f"**{ui.tr('lists.rename')}**")
    by_code = {r["code"]: r for r in rows}
    code = ui.choice(st.selectbox, ui.tr("lists.rename.pick"), list(by_code), key=f"lists_rn_pick_{list_name}",
                     format_func=lambda c: _shown(by_code[c]))
    if code is None:
        return
    this = record(list_name, code)
    seen = edits.seen(this, by_code[code])   # the version this reader saw, until their own save or a reload
    assert seen is not None
    edits.notice(this)
    widgets = f"lists_rn_{list_name}_{code}_"
    with st.form(f"lists_rn_{list_name}_{code}"):
        en = st.text_input(ui.tr("lists.col.label_en"), value=seen["label_en"], key=edits.key(this, widgets + "en"))
        zh = st.text_input(ui.tr("lists.col.label_zh"), value=seen["label_zh"], key=edits.key(this, widgets + "zh"))
        if st.form_submit_button(ui.tr("lists.rename.run"), key=f"lists_rn_run_{list_name}"):
            def renamed(session: Any) -> str:
                stored = company_lists.rename(session, ui.acting_user(), list_name, code, en, zh, int(seen["version"]))
                return _shown(stored)

            edits.save(store, this, renamed, "lists.renamed", _names, widgets=(widgets,),
                       changed=(" ".join(en.split()), " ".join(zh.split())) != (seen["label_en"], seen["label_zh"]))
