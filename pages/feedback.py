"""Feedback queue (pending its own feature): feedback by type and status."""
from __future__ import annotations

from ops_core import overview
from ops_core.i18n import label
from ops_core.vocab import FeedbackStatus, FeedbackType
from pages import ui

store, _filters = ui.page_context()
lang = ui.language()
counts = ui.cached(overview.count_by, store, "feedback", ("type", "status"))
table = counts.assign(
    type=counts["type"].map(lambda v: label(FeedbackType, v, lang) if isinstance(v, str) else ui.tr("col.untriaged")),
    status=counts["status"].map(lambda v: label(FeedbackStatus, v, lang)),
).pivot_table(index="type", columns="status", values="count", fill_value=0).reset_index()
ui.pending_page("nav.feedback", "feedback.summary", table.rename(columns={"type": ui.tr("col.type")}))
