"""Settings (admins only): tiers and service models, service targets and the working calendar,
thresholds and standards, and the business stage and product weight that propose defaults."""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

from cockpit import settings_page, ui

store, _ = ui.page_context()
settings_page.draw(store)
