"""Indicator system (pending its own feature): monthly usage from the roll-up table."""
from __future__ import annotations

from ops_core import overview
from pages import ui

store, filters = ui.page_context()
trend = ui.cached(overview.monthly_trend, store, filters)
ui.pending_page("nav.indicators", "indicators.summary", trend.assign(month=trend["month"].dt.strftime("%Y-%m")).rename(columns={
    "month": ui.tr("col.month"), "active_accounts": ui.tr("col.active_accounts"),
    "page_views": ui.tr("col.page_views"), "arr": ui.tr("home.col.arr")}))
