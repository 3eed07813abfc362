"""Event ROI (pending its own feature): events of the date range by format and kind."""
from __future__ import annotations

from ops_core import overview
from ops_core.i18n import label
from ops_core.vocab import EventFormat, EventKind
from pages import ui

store, filters = ui.page_context()
lang = ui.language()
summary = ui.cached(overview.events_summary, store, filters)
ui.pending_page("nav.events", "events.summary", summary.assign(
    format=summary["format"].map(lambda v: label(EventFormat, v, lang)),
    kind=summary["kind"].map(lambda v: label(EventKind, v, lang)),
).rename(columns={"format": ui.tr("col.format"), "kind": ui.tr("col.kind"), "count": ui.tr("col.count"),
                  "cost": ui.tr("col.cost"), "leads": ui.tr("col.leads")}))
