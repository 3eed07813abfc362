"""Demand board: demands by status with card actions, a ranked list with the priority breakdown, each
demand's history, customers and loop closing, releases with their notes, and flow metrics."""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

import streamlit as st

from cockpit import demand_tabs, ui
from ops_core import demand
from ops_core.i18n import label
from ops_core.vocab import DemandSource, values

store, filters = ui.page_context()
lang = ui.language()
st.title(ui.tr("nav.demands"))
today = ui.today()
ui.show_flash()


# --- which demands, ranked how -----------------------------------------------------------------
board = ui.cached(demand.load_board, store, as_of=today)
links = ui.cached(demand.load_links, store)
scores, tiers = ui.current_scores(store, today)
controls = st.columns([2, 2, 2, 2, 2])
sources = ui.choice(controls[0].multiselect, ui.tr("d.source"), values(DemandSource), key="d_sources", placeholder=ui.tr("filters.choose"),
                                  format_func=lambda v: label(DemandSource, v, lang))
owners = controls[1].multiselect(ui.tr("d.owner"), sorted(board["owner"].dropna().unique()), key="d_owners",
                                 placeholder=ui.tr("filters.choose"), select_all=False)
releases = ui.cached(demand.load_releases, store)
release_names = dict(zip(releases["release_id"], releases["version_label"], strict=True))
chosen_releases = controls[2].multiselect(ui.tr("d.release"), list(release_names), key="d_releases",
                                          format_func=lambda r: release_names[r], placeholder=ui.tr("filters.choose"),
                                          select_all=False)
tier_names = list(tiers.cat.categories)
chosen_tiers = ui.choice(controls[3].multiselect, ui.tr("d.tiers"), tier_names, key="d_tiers", format_func=ui.tier_label,
                         placeholder=ui.tr("filters.choose"))
method = ui.choice(controls[4].radio, ui.tr("d.method"), [m.value for m in demand.PriorityMethod], key="d_method", horizontal=True,
                           format_func=lambda m: ui.tr(f"d.method.{m}"))
ranked = demand.narrow(demand.priority(board, links, scores, method), links, sources=sources, owners=owners,
                       releases=chosen_releases, asking_customers=tiers.index[tiers.isin(chosen_tiers)] if chosen_tiers else None)
st.caption(ui.tr("d.formula", formula=demand.priority_formula(method, ui.language()), shown=len(ranked)))

demand_tabs.draw(demand_tabs.Board(store=store, today=today, board=board, ranked=ranked, releases=releases,
                                   release_names=release_names))
