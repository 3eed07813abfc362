"""The first start of an empty store (the demo company or an empty start) and removing the demo company.

``OPS_START`` (ops_core.config.ENVIRONMENT) decides what the first start does: ``ask`` (default) offers
the choice, ``demo`` builds the demo company at once, ``empty`` opens the empty store. The choice is
kept in the store (``store.start``), so no later visit asks again; which rows are the demo
company's is recorded by its builder (ops_core.demo_company).
"""
from __future__ import annotations

import contextlib
import os
from typing import Any

import streamlit as st
from sqlalchemy import Engine

from cockpit import ui
from ops_core import config, demo_company, io, overview
from ops_core.db.engine import transaction
from ops_core.errors import OpsError, UsageError
from ops_core.vocab import Role

DATA_TAB_KEY = "data_tab"       # the data page's open tab
CONFIRM_KEY = "ops_demo_remove_confirm"


def _mode() -> str:
    try:
        return config.start_mode()
    except UsageError:
        st.warning(ui.tr("start.bad_env", value=os.environ.get(config.START_ENV, "")))
        return "ask"


def demo_size() -> tuple[int, int]:
    return (int(config.from_environment("OPS_DEMO_CUSTOMERS") or config.setting_default("demo.customers")),
            int(config.from_environment("OPS_DEMO_YEARS") or config.setting_default("demo.years")))


def ready(store: Engine) -> bool:
    """Whether the page may be drawn: the store holds data, or its start was chosen (OPS_START=demo
    builds the demo company now, with its progress bar). False: the first-start choice is due.
    Asked once per session, so reruns (slider moves) do not query the store for it."""
    if st.session_state.get(ui.DEMO_CHECKED_KEY):
        return True
    mode = _mode()
    with store.connect() as conn:
        started = overview.has_customers(conn) or mode == "empty" or (mode == "ask" and demo_company.start_chosen(conn))
    if not started and mode == "demo":
        build_demo(store)
        started = True
    if started:
        st.session_state[ui.DEMO_CHECKED_KEY] = True
    return bool(started)


def build_demo(store: Engine) -> None:
    """Fill the empty store with the demo company, with a progress bar naming each step."""
    from ops_core import demo

    lang = ui.language()
    customers, years = demo_size()
    headline = ui.t("store.first_start", lang, customers=customers, years=years)
    bar = st.progress(0.0, text=headline)

    def report(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"{headline} {ui.demo_step(message, lang)}")

    with contextlib.suppress(UsageError):  # another session filled the store first: nothing to build
        demo.generate(store, customers=customers, years=years, seed=int(config.setting_default("demo.seed")),
                      progress=report)
    bar.empty()
    ui.clear_caches()
    st.toast(ui.t("store.first_start_done", lang))


def choice(store: Engine) -> None:
    """The first start's choice: explore the demo company, or start empty on the data page's import tab."""
    customers, years = demo_size()
    st.title(ui.tr("start.title"))
    st.write(ui.tr("start.body"))
    left, right = st.columns(2)
    with left:
        st.subheader(ui.tr("start.demo"))
        st.caption(ui.tr("start.demo.help", customers=customers, years=years))
        wants_demo = st.button(ui.tr("start.demo"), key="start_demo", type="primary")
    with right:
        st.subheader(ui.tr("start.empty"))
        st.caption(ui.tr("start.empty.help"))
        wants_empty = st.button(ui.tr("start.empty"), key="start_empty")
    if wants_demo:
        build_demo(store)
        st.session_state[ui.DEMO_CHECKED_KEY] = True
        st.rerun()
    if wants_empty:
        try:
            with transaction(store) as session:
                demo_company.choose_start(session, ui.acting_user(), "empty")
        except OpsError as exc:
            ui.show_error(exc)
            return
        ui.clear_caches()
        st.session_state[ui.DEMO_CHECKED_KEY] = True
        open_import_tab()


def open_import_tab() -> None:
    """Go to the data page with its import tab open, in the reader's language."""
    st.session_state[DATA_TAB_KEY] = ui.tr("data.import")
    st.session_state[ui.LANG_KEEP_KEY] = ui.language()
    st.switch_page("pages/data.py", query_params=st.query_params.to_dict())  # the language and filters go along


def empty_store_hint(store: Engine) -> None:
    """On the home page of a store without customers: where the team's data comes in."""
    if ui.cached(overview.has_customers, store):
        return
    st.info(ui.tr("start.no_data"))
    if st.button(ui.tr("start.to_import"), key="start_to_import"):
        open_import_tab()


def import_order() -> None:
    """One sentence on the order to import in: parents before the rows that refer to them."""
    names = [ui.tr(f"table.{name}") for name in io.ENTITIES]
    st.caption(ui.tr("data.import.order", entities=("、" if ui.language() == "zh" else ", ").join(names)))


def _rows(counts: dict[str, int]) -> str:
    return ("、" if ui.language() == "zh" else ", ").join(
        ui.tr("data.demo.item", table=ui.tr(f"table.{name}"), rows=rows) for name, rows in counts.items())


def demo_removal(store: Engine) -> None:
    """The data page's section for the demo company: what it is and, for an admin, its removal with a
    confirmation naming what will go. Drawn only while the store holds the demo company."""
    with store.connect() as conn:
        found = demo_company.marker(conn)
    if not found.get("ids"):
        return
    st.subheader(ui.tr("data.demo.title"))
    st.caption(ui.tr("data.demo.present", customers=int(found.get("customers", 0)),
                     built=str(found.get("built_at", ""))[:10]))
    if ui.acting_user().role != Role.admin:
        st.caption(ui.tr("data.demo.admin_only"))
        return
    if not st.session_state.get(CONFIRM_KEY):
        if st.button(ui.tr("data.demo.remove"), key="demo_remove"):
            st.session_state[CONFIRM_KEY] = True
            st.rerun()
        return
    with store.connect() as conn:
        counts = demo_company.footprint(conn)
    st.warning(ui.tr("data.demo.confirm", rows=_rows(counts)))
    yes, no = st.columns(2)
    if no.button(ui.tr("data.demo.cancel"), key="demo_remove_cancel"):
        st.session_state[CONFIRM_KEY] = False
        st.rerun()
    if yes.button(ui.tr("data.demo.yes"), key="demo_remove_yes", type="primary"):
        st.session_state[CONFIRM_KEY] = False
        try:
            with ui.working("data.demo.removing"):  # about 10 s for the default company on SQLite
                summary: dict[str, Any] = demo_company.remove_demo_company(store, ui.acting_user())
        except OpsError as exc:
            ui.show_error(exc)
            return
        ui.clear_caches()
        st.session_state[ui.FLASH_KEY] = ui.tr("data.demo.removed", rows=sum(summary["deleted"].values()))
        st.rerun()
