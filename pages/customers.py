"""Customer tiers and value weights (pending its own feature): customers by size band and industry."""
from __future__ import annotations

from ops_core import overview
from ops_core.i18n import label
from ops_core.vocab import Industry, SizeBand, values
from pages import ui

store, _filters = ui.page_context()
lang = ui.language()
counts = ui.cached(overview.count_by, store, "customers", ("size_band", "industry"))
table = (counts.pivot_table(index="size_band", columns="industry", values="count", fill_value=0)
         .reindex([b for b in values(SizeBand) if b in set(counts["size_band"])]))
table.index = [label(SizeBand, b, lang) for b in table.index]
table.columns = [label(Industry, i, lang) for i in table.columns]
ui.pending_page("nav.customers", "customers.summary", table.rename_axis(ui.tr("col.size_band")).reset_index())
