"""Customer tiers and value weights: live scoring with sliders, tiers, explanations, presets, risk, RFM, export.

Features are derived once in SQL and cached; a slider move re-runs only ops_core's in-memory scoring.
"""
from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from ops_core import customer_view as view
from ops_core import risk, scoring, settings, tiers
from ops_core.errors import OpsError
from ops_core.i18n import label
from ops_core.vocab import Industry, ProductLine, values
from pages import customer_tabs, ui
from pages.customer_tabs import dimension_name

store, filters = ui.page_context()
lang = ui.language()
url = ui.store_key(store)
version = ui.data_version(store)


# --- set-up: reference date, preset, methods, weights, tier rules ---------------------------------
st.title(ui.tr("nav.customers"))
ui.show_flash()
as_of = st.columns(4)[0].date_input(ui.tr("customers.as_of"), value=min(filters.date_to, ui.today()), key="c_as_of")
features = ui.shared(scoring.derive_features, store, as_of)
presets = {p.name: p for p in ui.cached(tiers.list_presets, store)}
loaded = st.session_state.get("c_loaded_preset")
base = presets.get(loaded) if loaded else None
# Weights last set here are kept (other pages score with them) and start the sliders on a return visit.
weights_start = st.session_state.get(ui.KEPT_WEIGHTS_KEY) or (base.weights if base else scoring.DEFAULT_WEIGHTS)
# The methods and tier-rule widgets are drawn only while their expander is open (a slider move then
# redraws less); what they were last set to is kept under these session keys.
kept_methods = st.session_state.get("c_kept_methods")
kept_rules = st.session_state.get("c_kept_rules")
mappings = st.session_state.get("c_kept_mappings") or (base.mappings if base else ui.kept_mappings())
methods_start = kept_methods or (base.methods if base else scoring.DEFAULT_METHODS)
rules_start = kept_rules or (base.tier_rules if base else ui.cached(tiers.tier_rules, store))

methods_box = st.expander(ui.tr("customers.methods"), key="c_methods_open", on_change="rerun")
methods: dict[str, scoring.MethodSpec] = dict(methods_start)
if methods_box.open:
    with methods_box:
        columns = st.columns(3)
        for i, dim in enumerate(scoring.DIMENSIONS):
            start = methods_start.get(dim.key, dim.default_method)
            with columns[i % 3]:
                options = [scoring.Method.mapping.value] if dim.kind == "categorical" else \
                    [m.value for m in scoring.Method if m != scoring.Method.mapping]
                method = st.selectbox(dimension_name(dim.key), options, index=options.index(start.method.value)
                                      if start.method.value in options else 0, key=f"c_method_{dim.key}")
                floor, ceiling = start.floor, start.ceiling
                if method == scoring.Method.bounded.value:
                    floor = st.number_input(ui.tr("customers.floor"), value=float(floor or 0.0), key=f"c_floor_{dim.key}")
                    ceiling = st.number_input(ui.tr("customers.ceiling"), value=float(ceiling if ceiling is not None else 1.0),
                                              key=f"c_ceiling_{dim.key}")
                methods[dim.key] = scoring.MethodSpec(scoring.Method(method), start.winsor_pct, floor, ceiling)
        st.markdown(f"**{ui.tr('customers.mapping')}**")
        mapping_rows = st.data_editor(
            pd.DataFrame([{"category": k, "value": v} for k, v in mappings["demand_type"].items()]),
            hide_index=True, disabled=["category"], key="c_mapping",
            column_config={"value": st.column_config.NumberColumn(min_value=0.0, max_value=1.0, step=0.05)})
        mappings = {"demand_type": {r["category"]: float(r["value"]) for r in mapping_rows.to_dict("records")
                                    if r["value"] == r["value"]}}
if methods_box.open or base:  # other pages score with what is in force here, a loaded preset's set-up included
    st.session_state["c_kept_methods"] = methods
    st.session_state["c_kept_mappings"] = mappings

st.subheader(ui.tr("customers.weights"))
raw_weights: dict[str, float] = {}
slider_columns = st.columns(3)
for i, dim in enumerate(scoring.DIMENSIONS):
    with slider_columns[i % 3]:
        raw_weights[dim.key] = st.slider(dimension_name(dim.key), 0, 100, int(round(100 * weights_start.get(dim.key, 0))),
                                         key=f"c_weight_{dim.key}", help=dim.definition)
st.session_state[ui.KEPT_WEIGHTS_KEY] = raw_weights
total_weight = sum(raw_weights.values())
if total_weight == 0:
    st.warning(ui.tr("customers.zero_weights"))
    st.stop()
st.caption(" · ".join(f"{dimension_name(k)} {w / total_weight:.0%}" for k, w in raw_weights.items()))

rules_box = st.expander(ui.tr("customers.tier_rules"), key="c_rules_open", on_change="rerun")
mode, shares, floors, by_industry = str(rules_start.mode), rules_start.quotas, rules_start.cutoffs, rules_start.by_industry
if rules_box.open:
    with rules_box:
        modes = ["quota", "cutoff"]
        mode = st.radio(ui.tr("customers.mode"), modes, index=modes.index(mode), horizontal=True,
                        format_func=lambda m: ui.tr(f"customers.mode.{m}"), key="c_mode")
        rule_columns = st.columns(len(rules_start.names) - 1)
        if mode == "quota":
            shares = tuple(rule_columns[i].number_input(ui.tr("customers.quota", tier=name), 0.01, 0.98, float(q), 0.01,
                                                        key=f"c_quota_{i}")
                           for i, (name, q) in enumerate(zip(rules_start.names, rules_start.quotas, strict=False)))
        else:
            floors = tuple(rule_columns[i].number_input(ui.tr("customers.cutoff", tier=name), 0.0, 100.0, float(c), 1.0,
                                                        key=f"c_cutoff_{i}")
                           for i, (name, c) in enumerate(zip(rules_start.names, rules_start.cutoffs, strict=False)))
        by_industry = st.checkbox(ui.tr("customers.by_industry"), value=rules_start.by_industry, key="c_by_industry")
try:
    rules = tiers.TierRules(mode, rules_start.names, shares, floors, by_industry)
except OpsError as exc:
    ui.show_error(exc)
    st.stop()
if rules_box.open or base:
    st.session_state["c_kept_rules"] = rules

# --- score everyone, then filter the view -----------------------------------------------------
normalised = ui.normalised_features(url, version, as_of, ui.methods_key(methods), json.dumps(mappings, sort_keys=True))
risk_table = ui.shared(risk.renewal_risk, store, as_of, 90)
table = view.scored_customers(features, normalised.values, raw_weights, rules, view.customer_risk_levels(risk_table))
missing = {k: n for k, n in normalised.missing_counts.items() if n}
if missing:
    st.caption(ui.tr("customers.missing", detail=", ".join(f"{dimension_name(k)} {n:,}" for k, n in missing.items())))

params = st.query_params.to_dict()
start_view = st.session_state.get("c_view") or view.ViewFilters.from_query_params(params)
filter_columns = st.columns([2, 2, 2, 2, 3])
view_filters = view.ViewFilters(
    tiers=tuple(filter_columns[0].multiselect(ui.tr("customers.filter.tiers"), list(rules.names), default=[
        t for t in start_view.tiers if t in rules.names], key="c_f_tiers", placeholder=ui.tr("filters.choose"))),
    product_lines=tuple(filter_columns[1].multiselect(ui.tr("customers.filter.lines"), list(values(ProductLine)), default=[
        p for p in start_view.product_lines if p in values(ProductLine)], key="c_f_lines", placeholder=ui.tr("filters.choose"))),
    risk_levels=tuple(filter_columns[2].multiselect(ui.tr("customers.filter.risk"), list(view.RISK_ORDER),
                                                    default=list(start_view.risk_levels), key="c_f_risk",
                                                    format_func=lambda r: ui.tr(f"risk.{r}"), placeholder=ui.tr("filters.choose"))),
    score_min=0.0, score_max=100.0,
    text=filter_columns[4].text_input(ui.tr("customers.filter.search"), value=start_view.text, key="c_f_text"),
)
score_range = filter_columns[3].slider(ui.tr("customers.filter.score"), 0, 100,
                                       (int(start_view.score_min), int(start_view.score_max)), key="c_f_score")
view_filters = view.ViewFilters(view_filters.tiers, view_filters.product_lines, view_filters.risk_levels,
                                float(score_range[0]), float(score_range[1]), view_filters.text)
st.session_state["c_view"] = view_filters
ui.keep_in_url(view_filters.to_query_params(), prefix="c_")
shown = view.apply_filters(table, filters, view_filters)

counts = view.tier_counts(shown, rules.names)
metric_columns = st.columns(len(rules.names) + 1)
for column, name in zip(metric_columns, rules.names, strict=False):
    column.metric(ui.tr("customers.tier_metric", tier=name), f"{counts[name]:,}")
metric_columns[-1].metric(ui.tr("col.customers"), f"{len(shown):,}")
st.caption(ui.tr("customers.matching", shown=len(shown), total=len(table)))

tier_scale = alt.Scale(domain=list(rules.names), scheme="tableau10")
chart_left, chart_right = st.columns(2)
with chart_left:
    st.markdown(f"**{ui.tr('customers.distribution')}**")
    bins = view.score_histogram(shown, rules.names)
    st.altair_chart(alt.Chart(bins).mark_bar().encode(
        x=alt.X("score_from:Q", bin="binned", title=ui.tr("col.score"), scale=alt.Scale(domain=[0, 100])),
        x2="score_to:Q", y=alt.Y("customers:Q", stack=True, title=ui.tr("col.customers")),
        color=alt.Color("tier:N", scale=tier_scale, sort=list(rules.names), title=ui.tr("col.tier")),
        order="tier_rank:Q", tooltip=["tier", "score_from", "score_to", "customers"]), width="stretch")
with chart_right:
    st.markdown(f"**{ui.tr('customers.industry_chart')}**")
    by_industry_counts = view.tier_by_industry(shown, rules.names)
    by_industry_counts["industry"] = by_industry_counts["industry"].map(lambda v: label(Industry, v, lang))
    st.altair_chart(alt.Chart(by_industry_counts).mark_bar().encode(
        y=alt.Y("industry:N", title=None, sort="-x"), x=alt.X("customers:Q", stack=True, title=ui.tr("col.customers")),
        color=alt.Color("tier:N", scale=tier_scale, sort=list(rules.names), title=ui.tr("col.tier")),
        order="tier_rank:Q", tooltip=["industry", "tier", "customers"]), width="stretch")

# --- the list, one page at a time --------------------------------------------------------------
st.subheader(ui.tr("customers.list"))
size = int(ui.cached(settings.get, store, "ui.page_size"))
pages = view.page_count(len(shown), size)
page_column, hint_column = st.columns([1, 4])
number = page_column.number_input(ui.tr("customers.page"), 1, pages, 1, key="c_page")
hint_column.caption(f"{ui.tr('customers.page_of', pages=pages)} · {ui.tr('customers.select_hint')}")
page_rows = view.page_of(shown, int(number), size)
display = ui.labelled_customers(page_rows, lang).rename(columns=lambda c: ui.tr(f"col.{'arr' if c == 'arr_cents' else 'csm' if c == 'csm_name' else c}"))
selected = ui.grid(display.assign(**{ui.tr("col.arr"): page_rows["arr_cents"].to_numpy() / 100}), key="c_grid",
                   page_size=size, selectable=True)
selected_code = selected[ui.tr("col.code")] if selected is not None else None

customer_tabs.draw(customer_tabs.Scored(
    store=store, as_of=as_of, features=features, normalised=normalised, weights=raw_weights, methods=methods,
    mappings=mappings, rules=rules,
    table=table, shown=shown, risk_table=risk_table, presets=presets, loaded=loaded, selected_code=selected_code,
    filters=filters, view_filters=view_filters))
