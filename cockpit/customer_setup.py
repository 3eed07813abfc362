"""The customer page's set-up: normalisation methods with the category mapping, the weight sliders,
the tier rules and the list's own filters. Each function draws its widgets and returns what they
say. The methods and tier-rule widgets are drawn only while their expander is open (a slider move
then redraws less); what they were last set to is kept in the session, for the next run and for the
other pages, which score customers with the same set-up.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import ui
from cockpit.customer_tabs import dimension_name
from ops_core import customer_view as view
from ops_core import present, scoring, tiers
from ops_core.errors import OpsError
from ops_core.i18n import label, vocabulary_values
from ops_core.vocab import DemandType, ProductLine


def methods_and_mappings(base: tiers.Preset | None) -> tuple[dict[str, scoring.MethodSpec], dict[str, dict[str, float]]]:
    """Each dimension's method and the category value tables: kept ones, else the loaded preset's, else the defaults."""
    mappings = st.session_state.get("c_kept_mappings") or (base.mappings if base else ui.kept_mappings())
    methods_start = st.session_state.get("c_kept_methods") or (base.methods if base else scoring.DEFAULT_METHODS)
    methods_box = ui.expander(ui.tr("customers.methods"), key="c_methods_open")
    methods: dict[str, scoring.MethodSpec] = dict(methods_start)
    if methods_box.open:
        with methods_box:
            columns = st.columns(3)
            for i, dim in enumerate(scoring.DIMENSIONS):
                start = methods_start.get(dim.key, dim.default_method)
                with columns[i % 3]:
                    options = [scoring.Method.mapping.value] if dim.kind == "categorical" else \
                        [m.value for m in scoring.Method if m != scoring.Method.mapping]
                    method = ui.choice(st.selectbox, dimension_name(dim.key), options, key=f"c_method_{dim.key}",
                                       default=start.method.value if start.method.value in options else options[0],
                                       format_func=lambda m: scoring.MethodSpec(scoring.Method(m)).describe(ui.language()))
                    floor, ceiling = start.floor, start.ceiling
                    if method == scoring.Method.bounded.value:
                        ui.start_widget(f"c_floor_{dim.key}", float(floor or 0.0))
                        ui.start_widget(f"c_ceiling_{dim.key}", float(ceiling if ceiling is not None else 1.0))
                        floor = st.number_input(ui.tr("customers.floor"), key=f"c_floor_{dim.key}")
                        ceiling = st.number_input(ui.tr("customers.ceiling"), key=f"c_ceiling_{dim.key}")
                    methods[dim.key] = scoring.MethodSpec(scoring.Method(method), start.winsor_pct, floor, ceiling)
            st.markdown(f"**{ui.tr('customers.mapping')}**")
            lang = ui.language()  # each category by its label; the code rides along hidden
            mapping_rows = st.data_editor(
                pd.DataFrame([{"category": k, "label": present.label_of(k, DemandType, lang), "value": v}
                              for k, v in mappings["demand_type"].items()]),
                hide_index=True, disabled=["category", "label"], key=ui.language_key("c_mapping"),
                column_config={"category": None, "label": st.column_config.TextColumn(ui.tr("col.demand_type")),
                               "value": st.column_config.NumberColumn(ui.tr("customers.mapping.value"), min_value=0.0,
                                                                      max_value=1.0, step=0.05)})
            mappings = {"demand_type": {r["category"]: float(r["value"]) for r in mapping_rows.to_dict("records")
                                        if r["value"] == r["value"]}}
    if methods_box.open or base:  # other pages score with what is in force here, a loaded preset's set-up included
        st.session_state["c_kept_methods"] = methods
        st.session_state["c_kept_mappings"] = mappings
    return methods, mappings


def weights(base: tiers.Preset | None) -> dict[str, float]:
    """One slider per dimension (0..100), started from the kept weights, else the preset's, else the
    defaults, each read as slider positions (``scoring.slider_positions``: the kept ones are positions
    already, the defaults shares); with every weight at zero the page says so and stops."""
    weights_start = scoring.slider_positions(st.session_state.get(ui.KEPT_WEIGHTS_KEY)
                                             or (base.weights if base else scoring.DEFAULT_WEIGHTS))
    st.subheader(ui.tr("customers.weights"))
    raw_weights: dict[str, float] = {}
    slider_columns = st.columns(3)
    for i, dim in enumerate(scoring.DIMENSIONS):
        with slider_columns[i % 3]:
            key = f"c_weight_{dim.key}"
            ui.start_widget(key, weights_start.get(dim.key, 0))
            raw_weights[dim.key] = st.slider(dimension_name(dim.key), 0, 100, key=key, help=dim.definition_in(ui.language()))
    st.session_state[ui.KEPT_WEIGHTS_KEY] = raw_weights
    total_weight = sum(raw_weights.values())
    if total_weight == 0:
        st.warning(ui.tr("customers.zero_weights"))
        st.stop()
    st.caption(" · ".join(f"{dimension_name(k)} {w / total_weight:.0%}" for k, w in raw_weights.items()))
    return raw_weights


def tier_rules(store: Engine, base: tiers.Preset | None) -> tiers.TierRules:
    """Quotas or cut-offs (optionally within each industry): kept ones, else the preset's, else the settings'."""
    rules_start = st.session_state.get("c_kept_rules") or (base.tier_rules if base else ui.cached(tiers.tier_rules, store))
    rules_box = ui.expander(ui.tr("customers.tier_rules"), key="c_rules_open")
    mode, shares, floors, by_industry = str(rules_start.mode), rules_start.quotas, rules_start.cutoffs, rules_start.by_industry
    if rules_box.open:
        with rules_box:
            modes = ["quota", "cutoff"]
            mode = ui.choice(st.radio, ui.tr("customers.mode"), modes, horizontal=True, default=mode,
                             format_func=lambda m: ui.tr(f"customers.mode.{m}"), key="c_mode")
            rule_columns = st.columns(len(rules_start.names) - 1)
            for i, (quota, cutoff) in enumerate(zip(rules_start.quotas, rules_start.cutoffs, strict=False)):
                ui.start_widget(f"c_quota_{i}", float(quota))
                ui.start_widget(f"c_cutoff_{i}", float(cutoff))
            ui.start_widget("c_by_industry", rules_start.by_industry)
            if mode == "quota":
                shares = tuple(rule_columns[i].number_input(ui.tr("customers.quota", tier=ui.tier_label(name)), 0.01, 0.98, step=0.01,
                                                            key=f"c_quota_{i}")
                               for i, name in enumerate(rules_start.names[:len(rules_start.quotas)]))
            else:
                floors = tuple(rule_columns[i].number_input(ui.tr("customers.cutoff", tier=ui.tier_label(name)), 0.0, 100.0, step=1.0,
                                                            key=f"c_cutoff_{i}")
                               for i, name in enumerate(rules_start.names[:len(rules_start.cutoffs)]))
            by_industry = st.checkbox(ui.tr("customers.by_industry"), key="c_by_industry")
    try:
        rules = tiers.TierRules(mode, rules_start.names, shares, floors, by_industry)
    except OpsError as exc:
        ui.show_error(exc)
        st.stop()
    if rules_box.open or base:
        st.session_state["c_kept_rules"] = rules
    return rules


def list_filters(rules: tiers.TierRules) -> view.ViewFilters:
    """Tier, product line, risk, score range and text: started from the session, else the address bar,
    and written back to the address bar so a filtered view can be shared."""
    params = st.query_params.to_dict()
    start_view = st.session_state.get("c_view") or view.ViewFilters.from_query_params(params)
    filter_columns = st.columns([2, 2, 2, 2, 3])
    view_filters = view.ViewFilters(
        tiers=tuple(ui.choice(filter_columns[0].multiselect, ui.tr("customers.filter.tiers"), list(rules.names), format_func=ui.tier_label, default=[
            t for t in start_view.tiers if t in rules.names], key="c_f_tiers", placeholder=ui.tr("filters.choose"))),
        product_lines=tuple(filter_columns[1].multiselect(ui.tr("customers.filter.lines"), list(vocabulary_values(ProductLine)), default=[
            p for p in start_view.product_lines if p in vocabulary_values(ProductLine)], key="c_f_lines", placeholder=ui.tr("filters.choose"),
            select_all=False,
            format_func=lambda p: label(ProductLine, p, ui.language()))),
        risk_levels=tuple(ui.choice(filter_columns[2].multiselect, ui.tr("customers.filter.risk"), list(view.RISK_ORDER),
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
    return view_filters
