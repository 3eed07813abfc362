"""Audit trail (admins): every change and every unmasked export, filtered, old and new side by side."""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

from cockpit import audit_trail, ui

store, _ = ui.page_context()
audit_trail.show(store)
