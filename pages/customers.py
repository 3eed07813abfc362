"""Customer tiers and value weights (pending its own feature): customers by size band and industry."""
from __future__ import annotations

from ops_core import overview
from ops_core.i18n import label
from ops_core.vocab import Industry, SizeBand
from pages import ui

store, _filters = ui.page_context()
lang = ui.language()
counts = ui.cached(overview.count_by, store, "customers", ("size_band", "industry"))
table = counts.assign(industry=counts["industry"].map(lambda v: label(Industry, v, lang)),
                      size_band=counts["size_band"].map(lambda v: label(SizeBand, v, lang)))
table = table.pivot_table(index="size_band", columns="industry", values="count", fill_value=0).reset_index()
ui.pending_page("nav.customers", "customers.summary", table.rename(columns={"size_band": ui.tr("col.size_band")}))
