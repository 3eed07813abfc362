"""Ops Cockpit: the navigation frame and the one shared sidebar.

Start with ``streamlit run app.py``. The navigation comes first, before anything slow: a freshly
started server runs its first visit in Streamlit's old pages-directory mode (every file of
``pages/`` listed by its file name) until ``st.navigation`` is called, so it is called before the
store is opened, migrated or filled with the demo company. The first start of an empty store offers
the demo company or an empty start (``OPS_START``, cockpit/start.py). In team mode (``OPS_SIGN_IN``)
the sign-in gate (cockpit/signin.py) comes first: until a person signs in it is the only page. Streamlit's own sidebar listing is off
(``client.showSidebarNavigation`` in ``.streamlit/config.toml``, which also hides that old-mode
listing); the sidebar draws the product's pages by their titles itself. If the store cannot be
reached every address shows a clear page with the URL (password hidden) and a retry button.
"""
from __future__ import annotations

import streamlit as st

from cockpit import frame

st.set_page_config(page_title="Ops Cockpit", page_icon="📊", layout="wide")

HOME = st.Page("pages/home.py", title=frame.tr("nav.home"), icon="🏠", default=True, url_path="")
PAGES = [
    HOME,
    st.Page("pages/indicators.py", title=frame.tr("nav.indicators"), icon="📈", url_path="indicators"),
    st.Page("pages/customers.py", title=frame.tr("nav.customers"), icon="🏷️", url_path="customers"),
    st.Page("pages/demands.py", title=frame.tr("nav.demands"), icon="🗂️", url_path="demands"),
    st.Page("pages/feedback.py", title=frame.tr("nav.feedback"), icon="💬", url_path="feedback"),
    st.Page("pages/events.py", title=frame.tr("nav.events"), icon="🎪", url_path="events"),
    st.Page("pages/data.py", title=frame.tr("nav.data"), icon="🗄️", url_path="data"),
]
# Admins only: listed in the sidebar for an admin, refused to anyone else by the page itself.
ADMIN_PAGES = [
    st.Page("pages/accounts.py", title=frame.tr("nav.accounts"), icon="👥", url_path="accounts"),
    st.Page("pages/settings.py", title=frame.tr("nav.settings"), icon="⚙️", url_path="settings"),
]
ADDRESSES = ["home", *(p.url_path for p in [*PAGES[1:], *ADMIN_PAGES])]

# Team mode: nothing but the sign-in form until a person signs in (the gate is the app's only page
# then, at every address). Single-user mode acts as the built-in admin and answers only on the
# server's own computer.
TEAM = frame.sign_in_required()
if TEAM:
    from cockpit import signin

    signed = signin.gate(ADDRESSES)
elif not frame.from_this_computer():
    from cockpit import signin

    signin.only(signin.remote_page, ADDRESSES)
# The home page lives at the root address; a link to /home opens it there too.
HOME_ALIAS = st.Page(lambda: st.switch_page(HOME, query_params=st.query_params.to_dict()), title=frame.tr("nav.home"),
                     url_path="home", visibility="hidden")

page = st.navigation([*PAGES, *ADMIN_PAGES, HOME_ALIAS], position="hidden")
links = frame.page_links(PAGES)
with st.spinner(frame.tr("app.starting")):  # the calculations and the store's modules: seconds on a cold server
    from cockpit import ui
    from ops_core.vocab import Role
# Single-user mode acts as the built-in admin; in team mode the role is the one the store holds now.
if ui.acting_user().role == Role.admin:
    for admin_page in ADMIN_PAGES:
        links.page_link(admin_page)

st.session_state[ui.CURRENT_PAGE_KEY] = page.url_path
try:
    with st.spinner(frame.tr("store.opening")):  # connect and bring the schema up to date
        store = ui.engine()
    from cockpit import start

    ready = start.ready(store)  # an empty store's first start: the demo company (OPS_START=demo) or the choice
    ui.sidebar(store)
    from cockpit import signin

    signin.sidebar(store)
    if ready:
        page.run()
    else:
        start.choice(store)
except ui.STORE_ERRORS as exc:  # the database cannot be reached, or went away while a page was drawing
    ui.store_down_page(exc)
