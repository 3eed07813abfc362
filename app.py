"""Ops Cockpit: the navigation frame and the one shared sidebar.

Start with ``streamlit run app.py``. The store is opened (and migrated) before any page runs; if it
cannot be reached the user sees a clear page with the URL (password hidden) and a retry button.
"""
from __future__ import annotations

import streamlit as st

from cockpit import ui

st.set_page_config(page_title="Ops Cockpit", page_icon="📊", layout="wide")


def show_store_down(exc: BaseException) -> None:
    """Every address shows the clear page; st.navigation must still be called, or Streamlit falls
    back to running files from pages/ on its own."""
    st.navigation([st.Page(lambda: ui.store_down_page(exc), title=ui.tr("store.down.title"), icon="⚠️")],
                  position="hidden").run()
    st.stop()


try:
    store = ui.engine()
    ui.ensure_demo_company(store)
except ui.STORE_ERRORS as exc:
    show_store_down(exc)

PAGES = [
    st.Page("pages/home.py", title=ui.tr("nav.home"), icon="🏠", default=True, url_path="home"),
    st.Page("pages/indicators.py", title=ui.tr("nav.indicators"), icon="📈", url_path="indicators"),
    st.Page("pages/customers.py", title=ui.tr("nav.customers"), icon="🏷️", url_path="customers"),
    st.Page("pages/demands.py", title=ui.tr("nav.demands"), icon="🗂️", url_path="demands"),
    st.Page("pages/feedback.py", title=ui.tr("nav.feedback"), icon="💬", url_path="feedback"),
    st.Page("pages/events.py", title=ui.tr("nav.events"), icon="🎪", url_path="events"),
    st.Page("pages/data.py", title=ui.tr("nav.data"), icon="🗄️", url_path="data"),
]

page = st.navigation(PAGES)
st.session_state[ui.CURRENT_PAGE_KEY] = page.url_path
try:
    ui.sidebar(store)
    page.run()
except ui.STORE_ERRORS as exc:  # the database went away while a page was drawing
    ui.store_down_page(exc)
