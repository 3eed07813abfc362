"""Feedback queue: intake by form and file, triage with a suggested type, routing to the demand board
or the FAQ, service timers against targets, similar items and frequent questions, and the FAQ.

The tabs live in ``cockpit/feedback_tabs.py``; this page computes what they share and the tiles above them."""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

import datetime as dt

import pandas as pd
import streamlit as st

from cockpit import feedback_tabs, ui
from ops_core import feedback as fb

store, filters = ui.page_context()
st.title(ui.tr("nav.feedback"))
today = ui.today()
ui.show_flash()

items = ui.cached(fb.load_items, store, filters.date_from, filters.date_to, filters, include_open=True)
_, tiers = ui.current_scores(store, today)
timers = fb.sla_table(items, tiers, ui.cached(fb.sla_targets, store), now=dt.datetime.now())
accuracy = ui.cached(fb.suggestion_accuracy, store)
running = timers[timers["open"].astype(bool)]
tiles = st.columns(4)
tiles[0].metric(ui.tr("f.open"), f"{len(running):,}")
tiles[1].metric(ui.tr("f.breached"), f"{int(running['breached'].sum()):,}")
tiles[2].metric(ui.tr("f.due_soon"), f"{int(running['due_soon'].sum()):,}")
overall = accuracy["overall"]
tiles[3].metric(ui.tr("f.accuracy"), ui.tr("report.na") if overall["accuracy"] is None or pd.isna(overall["accuracy"])
                else f"{overall['accuracy']:.0%}", help=ui.tr("f.accuracy_help", items=overall["items"]))

feedback_tabs.draw(feedback_tabs.Queue(store=store,
                                       filters=filters, today=today, items=items, timers=timers))
