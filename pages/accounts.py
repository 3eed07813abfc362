"""Accounts (admins): the people who sign in in team mode, their roles and state; add, disable, re-role, unlock, reset."""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

from cockpit import accounts, ui

store, filters = ui.page_context()
accounts.page(store)
