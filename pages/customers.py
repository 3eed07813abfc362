"""Customer tiers and value weights: live scoring with sliders, tiers, explanations, presets, risk, RFM, export.

Features are derived once in SQL and cached; a slider move re-runs only ops_core's in-memory scoring.
"""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

import datetime as dt
import json

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import customer_setup, customer_tabs, ui
from cockpit.customer_tabs import dimension_name
from ops_core import customer_view as view
from ops_core import settings, tiers
from ops_core.errors import OpsError
from ops_core.filters import Filters
from ops_core.i18n import label
from ops_core.vocab import Industry

store, filters = ui.page_context()
lang = ui.language()
RISK_HORIZON_DAYS = 90  # the list's renewal-risk level: contracts ending within this many days


@st.fragment
def scored(store: Engine, filters: Filters, as_of: dt.date, features: pd.DataFrame, presets: dict[str, tiers.Preset],
           loaded: str | None, base: tiers.Preset | None, methods: dict, mappings: dict) -> None:
    """The weights and what they drive: tier counts, charts, the list and the tabs. A slider move
    reruns only this part (st.fragment), not the page's frame, filters and set-up above it."""
    lang = ui.language()
    raw_weights = customer_setup.weights(base)
    rules = customer_setup.tier_rules(store, base)

    # --- score everyone, then filter the view -----------------------------------------------------
    try:
        normalised = ui.normalised_features(store, as_of, ui.methods_key(methods), json.dumps(mappings, sort_keys=True))
    except OpsError as exc:  # a bounded method whose ceiling is not above its floor
        ui.show_error(exc)
        st.stop()
    risk_table = ui.renewal_risk(store, as_of, RISK_HORIZON_DAYS)
    table = view.scored_customers(features, normalised.values, raw_weights, rules,
                                  ui.risk_levels(store, as_of, RISK_HORIZON_DAYS))
    missing = {k: n for k, n in normalised.missing_counts.items() if n}
    if missing:
        st.caption(ui.tr("customers.missing", detail=", ".join(f"{dimension_name(k)} {n:,}" for k, n in missing.items())))

    view_filters = customer_setup.list_filters(rules)
    shown = view.apply_filters(table, filters, view_filters)

    counts = view.tier_counts(shown, rules.names)
    metric_columns = st.columns(len(rules.names) + 1)
    for column, name in zip(metric_columns, rules.names, strict=False):
        column.metric(ui.tr("customers.tier_metric", tier=ui.tier_label(name)), f"{counts[name]:,}")
    metric_columns[-1].metric(ui.tr("col.customers"), f"{len(shown):,}")
    st.caption(ui.tr("customers.matching", shown=len(shown), total=len(table)))

    tier_names = [ui.tier_label(name) for name in rules.names]  # the legend and the bars read the tier names shown
    tier_scale = alt.Scale(domain=tier_names, scheme="tableau10")
    chart_left, chart_right = st.columns(2)
    with chart_left:
        st.markdown(f"**{ui.tr('customers.distribution')}**")
        bins = view.score_histogram(shown, rules.names)
        bins = bins.assign(tier=bins["tier"].map(ui.tier_label))
        st.altair_chart(ui.localised(alt.Chart(bins).mark_bar().encode(
            x=alt.X("score_from:Q", bin="binned", title=ui.tr("col.score"), scale=alt.Scale(domain=[0, 100])),
            x2="score_to:Q", y=alt.Y("customers:Q", stack=True, title=ui.tr("col.customers")),
            color=alt.Color("tier:N", scale=tier_scale, sort=tier_names, title=ui.tr("col.tier")),
            order="tier_rank:Q", tooltip=[alt.Tooltip("tier:N", title=ui.tr("col.tier")),
                                          alt.Tooltip("score_from:Q", title=ui.tr("col.score")),
                                          alt.Tooltip("customers:Q", title=ui.tr("col.customers"))])), width="stretch")
    with chart_right:
        st.markdown(f"**{ui.tr('customers.industry_chart')}**")
        by_industry_counts = view.tier_by_industry(shown, rules.names)
        by_industry_counts["industry"] = by_industry_counts["industry"].map(lambda v: label(Industry, v, lang))
        by_industry_counts["tier"] = by_industry_counts["tier"].map(ui.tier_label)
        st.altair_chart(ui.localised(alt.Chart(by_industry_counts).mark_bar().encode(
            y=alt.Y("industry:N", title=None, sort="-x"), x=alt.X("customers:Q", stack=True, title=ui.tr("col.customers")),
            color=alt.Color("tier:N", scale=tier_scale, sort=tier_names, title=ui.tr("col.tier")),
            order="tier_rank:Q", tooltip=[alt.Tooltip("industry:N", title=ui.tr("col.industry")),
                                          alt.Tooltip("tier:N", title=ui.tr("col.tier")),
                                          alt.Tooltip("customers:Q", title=ui.tr("col.customers"))])), width="stretch")

    # --- the list, one page at a time --------------------------------------------------------------
    st.subheader(ui.tr("customers.list"))
    size = int(ui.cached(settings.get, store, "ui.page_size"))
    rows = ui.pager(len(shown), "c_page", size, hint=ui.tr("customers.select_hint"))
    page_rows = view.page_of(shown, rows.start // size + 1, size)
    selected = ui.shown_grid(page_rows, key="c_grid", page_size=size, selectable=True)
    selected_code = selected[ui.tr("col.code")] if selected is not None else None

    customer_tabs.draw(customer_tabs.Scored(
        store=store, as_of=as_of, features=features, normalised=normalised, weights=raw_weights, methods=methods,
        mappings=mappings, rules=rules,
        table=table, shown=shown, risk_table=risk_table, presets=presets, loaded=loaded, selected_code=selected_code,
        filters=filters, view_filters=view_filters))


# --- set-up: reference date, preset, methods, weights, tier rules ---------------------------------
st.title(ui.tr("nav.customers"))
ui.show_flash()
as_of = st.columns(4)[0].date_input(ui.tr("customers.as_of"), value=min(filters.date_to, ui.today()), key="c_as_of")
# A new reference date: the old numbers go at once, while the new ones are computed (ui.view_area).
with ui.view_area("customers", as_of):
    features = ui.customer_features(store, as_of)
    presets = {p.name: p for p in ui.cached(tiers.list_presets, store)}
    loaded = st.session_state.get("c_loaded_preset")
    base = presets.get(loaded) if loaded else None
    methods, mappings = customer_setup.methods_and_mappings(base)
    scored(store, filters, as_of, features, presets, loaded, base, methods, mappings)
