"""Indicator system: the level-1 scorecard against targets, drill-down by segment, the double funnel,
cohort retention, the metric catalogue, month-close history and the downloadable reports.

The tabs live in ``cockpit/indicator_tabs.py``; this page picks the grain, period and segment they read."""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

import datetime as dt

import streamlit as st

from cockpit import indicator_tabs, ui
from ops_core import metrics, settings
from ops_core.periods import period_of, periods_between, previous
from ops_core.vocab import Grain

store, filters = ui.page_context()
lang = ui.language()
st.title(ui.tr("nav.indicators"))
ui.show_flash()

grains = [g.value for g in Grain]
shared_view = st.query_params.to_dict()  # a shared link opens on the same grain, period and segment
top = st.columns([1, 1, 1, 2])
grain = Grain(ui.choice(top[0].selectbox, ui.tr("ind.grain"), grains, key="i_grain", format_func=lambda g: ui.tr(f"ind.grain.{g}"),
                       default=shared_view.get("i_grain") if shared_view.get("i_grain") in grains else "month"))
# The last complete period inside the sidebar's date range is the default.
last = previous(period_of(grain, min(filters.date_to, ui.today()) + dt.timedelta(days=1)))
choices = periods_between(grain, min(filters.date_from, last.start), last.end)[::-1]
labels = [p.label for p in choices]
period = top[1].selectbox(ui.tr("ind.period"), choices, format_func=lambda p: p.label, key="i_period",
                          index=labels.index(shared_view["i_period"]) if shared_view.get("i_period") in labels else 0)
segment = ui.choice(top[2].selectbox, ui.tr("ind.segment"), metrics.SEGMENTS, key="i_segment",
                    format_func=lambda s: ui.tr(f"ind.segment.{s}"), default=shared_view.get("i_segment"))
ui.keep_in_url({"i_grain": grain.value, "i_period": period.label, "i_segment": segment}, prefix="i_")

with ui.view_area("indicators", (grain, period, segment, filters)):  # a new view: the old numbers go at once
    # One read of every metric over the scorecard's periods and the ones the page's charts show.
    shown = periods_between(grain, choices[-1].start, period.end)
    values = ui.cached(metrics.values_of, store, tuple(sorted({*metrics.scorecard_span(grain, period), *shown})), filters)
    card = metrics.scorecard_of(values, grain, period, ui.cached(metrics.targets, store, grain, (period,)),
                                float(ui.cached(settings.get, store, "status.amber_ratio")))
    names = {m.key: m.name(lang) for m in metrics.REGISTRY}
    indicator_tabs.draw(indicator_tabs.View(store=store, filters=filters, grain=grain, period=period, segment=segment,
                                            choices=choices, card=card, names=names, values=values))
