"""The light part of the app frame: the reader's language and the navigation links.

It imports only Streamlit and the translation table, so app.py draws the navigation at once on a
fresh server's first visit, before the calculations (pandas, the store) are imported: that import
alone takes seconds on a cold server.
"""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import streamlit as st

from ops_core import config
from ops_core.i18n import DEFAULT_LANGUAGE, LANGUAGES, t

LANG_KEY = "ops_lang"
SIGNED_KEY = "ops_signed"  # team mode: the signed-in person as the store held them on this run (users.Signed)
APP = Path(__file__).resolve().parent.parent / "app.py"


def language() -> str:
    lang = st.session_state.get(LANG_KEY) or st.query_params.get("lang") or DEFAULT_LANGUAGE
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def tr(key: str, **values: object) -> str:
    """Translate in the language the sidebar chose."""
    return t(key, language(), **values)


def run_through_app() -> None:
    """Make sure this page was started by app.py's st.navigation, not run bare.

    Streamlit runs a freshly started server's first visit in its old pages-directory mode until
    ``st.navigation`` is first called (AppTest does so on every run); a first request for
    ``/customers`` then runs pages/customers.py on its own, without the app frame (no navigation, no
    sidebar, no store checks). Leave that mode and run app.py now, in this same run (so a button
    press that started it is not lost): its navigation picks this same page by its address. Every
    page calls this first, before its own slow imports.
    """
    import runpy

    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()


def page_links(pages: list[Any]) -> Any:
    """The product's pages by their titles at the top of the sidebar. Drawn by app.py right after
    st.navigation and before anything slow, so they are there while the app starts or the first
    start builds the demo company. Returns the links' container, so that a page shown to some people
    only (settings: admins) is listed there once the app knows who is acting."""
    links = st.sidebar.container()
    with links:
        for page in pages:
            st.page_link(page)
    st.sidebar.divider()
    return links


def configured_url() -> str:
    """OPS_DATABASE_URL, else Streamlit secrets' ``database_url``, else the embedded default."""
    if os.environ.get(config.DATABASE_URL_ENV, "").strip():
        return config.database_url()
    try:
        secret = st.secrets.get("database_url")
    except Exception:  # no secrets file (the normal case) or an unreadable one
        secret = None
    return config.database_url(secret or None)


def sign_in_required() -> bool:
    """Team mode (sign-in required) or single-user mode: ``OPS_SIGN_IN``, by default required for a
    PostgreSQL store and off for the SQLite file (config.sign_in_required)."""
    return config.sign_in_required(configured_url())


def from_this_computer() -> bool:
    """Whether the visitor's browser runs on the server's own computer (Streamlit reports no address then)."""
    address = st.context.ip_address
    if not isinstance(address, str):  # None on the server's own computer; AppTest has no connection at all
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
