"""Demand board (pending its own feature): demands by status."""
from __future__ import annotations

from ops_core import overview
from ops_core.i18n import label
from ops_core.vocab import DemandStatus
from pages import ui

store, _filters = ui.page_context()
counts = ui.cached(overview.count_by, store, "demands", ("status",))
ui.pending_page("nav.demands", "demands.summary", counts.assign(
    status=counts["status"].map(lambda v: label(DemandStatus, v, ui.language()))
).rename(columns={"status": ui.tr("col.status"), "count": ui.tr("col.count")}))
