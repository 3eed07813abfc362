"""Feedback queue (pending its own feature): feedback by type and status."""
from __future__ import annotations

from ops_core import overview
from ops_core.i18n import label
from ops_core.vocab import FeedbackStatus, FeedbackType, values
from pages import ui

store, _filters = ui.page_context()
lang = ui.language()
counts = ui.cached(overview.count_by, store, "feedback", ("type", "status")).fillna({"type": ""})
table = (counts.pivot_table(index="type", columns="status", values="count", fill_value=0)
         .reindex(columns=[s for s in values(FeedbackStatus) if s in set(counts["status"])]))
table.index = [label(FeedbackType, v, lang) if v else ui.tr("col.untriaged") for v in table.index]
table.columns = [label(FeedbackStatus, s, lang) for s in table.columns]
ui.pending_page("nav.feedback", "feedback.summary", table.rename_axis(ui.tr("col.type")).reset_index())
