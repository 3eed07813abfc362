"""The customer page's tabs: service models, explanation, presets, decision chain, risk, RFM, actions, export.

Each tab reads one ``Scored`` (what the page above it computed); only the open tab is drawn, so a
slider move never rebuilds eight tabs' tables or export files.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import edits, ui
from ops_core import contacts, present, rfm, risk, scoring, tiers, writes
from ops_core import customer_view as view
from ops_core.filters import Filters
from ops_core.vocab import ContractKind


@dataclass(frozen=True)
class Scored:
    """The customer page's state a tab needs: the scoring in force, every customer and the filtered view."""

    store: Engine
    as_of: dt.date
    features: pd.DataFrame
    normalised: scoring.Normalised
    weights: dict[str, float]
    methods: dict[str, scoring.MethodSpec]
    mappings: dict[str, dict[str, float]]
    rules: tiers.TierRules
    table: pd.DataFrame   # every customer, scored and tiered
    shown: pd.DataFrame   # the customers the filters leave
    risk_table: pd.DataFrame
    presets: dict[str, tiers.Preset]
    loaded: str | None    # the preset the sliders started from
    selected_code: str | None  # the row picked in the grid
    filters: Filters
    view_filters: view.ViewFilters

    def rescored(self, preset: tiers.Preset) -> pd.DataFrame:
        """Every customer scored and tiered with a preset's weights, methods and rules (same features)."""
        normalised = ui.normalised_features(self.store, self.as_of, ui.methods_key(preset.methods),
                                            json.dumps(preset.mappings, sort_keys=True))
        return view.scored_customers(self.features, normalised.values, preset.weights, preset.tier_rules)


def dimension_name(key: str) -> str:
    found = scoring.DIMENSIONS_BY_KEY[key]
    return found.name_zh if ui.language() == "zh" else found.name_en


def draw(scored: Scored) -> None:
    """The tab bar, and the open tab's content."""
    ui.lazy_tabs(TABS, "c_tab", scored)


def show_service(scored: Scored) -> None:
    models = ui.cached(tiers.service_models, scored.store)
    load = tiers.workload(view.tier_counts(scored.table, scored.rules.names), ui.cached(tiers.csm_headcount, scored.store),
                          models)
    st.markdown(f"**{ui.tr('customers.workload')}**")
    ui.table(load)
    short = load.loc[load["shortfall"] > 0, "tier"].tolist() if "shortfall" in load.columns else []
    if short:
        st.warning(ui.tr("customers.shortfall", tiers=", ".join(map(ui.tier_label, short))))
    else:
        st.success(ui.tr("customers.no_shortfall"))
    ui.table(models)


def show_explain(scored: Scored) -> None:
    table, picked = scored.table, scored.selected_code
    top = scored.shown.sort_values("score", ascending=False).head(200)
    names = dict(zip(top["code"], top["name"], strict=True))
    codes = list(names)
    if picked and picked != st.session_state.get("c_last_selected"):
        st.session_state["c_last_selected"] = picked  # a new row picked in the grid: explain it
        st.session_state["c_explain"] = picked
    for extra in {picked, st.session_state.get("c_explain")} - {None, *names}:  # picked in the grid or opened from a list
        if (table["code"] == extra).any():
            names[extra] = table.loc[table["code"] == extra, "name"].iloc[0]
            codes.insert(0, extra)
    if st.session_state.get("c_explain") not in codes:
        st.session_state.pop("c_explain", None)
    if not codes:
        return
    code = st.selectbox(ui.tr("customers.explain.pick"), codes, format_func=lambda c: f"{c} · {names[c]}", key="c_explain")
    customer_id = table.index[table["code"] == code][0]
    detail = scoring.explain(scored.features, scored.normalised.values, scored.weights, customer_id, view.tier_floors(table))
    st.markdown(ui.tr("customers.explain.summary", score=detail.attrs["score"], tier=ui.tier_label(table.at[customer_id, "tier"])))
    if detail.attrs.get("next_tier"):
        fastest = detail.attrs["closes_gap_fastest"]
        st.markdown(ui.tr("customers.explain.gap", gap=detail.attrs["gap_points"], next_tier=ui.tier_label(detail.attrs["next_tier"]),
                          dimension=dimension_name(fastest) if fastest else "—"))
    else:
        st.markdown(ui.tr("customers.explain.top"))
    lang = ui.language()
    shown_raw = [present.dimension_value(scoring.DIMENSIONS_BY_KEY[k].unit, v, lang)
                 for k, v in zip(detail["key"], detail["raw"], strict=True)]
    ui.table(detail.assign(dimension=detail["key"].map(dimension_name), raw=shown_raw)[
        ["dimension", "raw", "normalised", "weight_share", "points"]])
    history = ui.cached(tiers.score_history, scored.store, int(customer_id))
    if not history.empty:
        st.markdown(f"**{ui.tr('customers.explain.history')}**")
        st.altair_chart(ui.localised(alt.Chart(history.assign(tier=history["tier"].map(ui.tier_label))).mark_line(point=True).encode(
            x=alt.X("month:T", title=ui.tr("col.month")), y=alt.Y("score:Q", title=ui.tr("col.score")),
            tooltip=[alt.Tooltip("month:T", title=ui.tr("col.month")), alt.Tooltip("score:Q", title=ui.tr("col.score")),
                     alt.Tooltip("tier:N", title=ui.tr("col.tier"))])), width="stretch")


def show_presets(scored: Scored) -> None:
    left, right = st.columns(2)
    with left:
        _preset_actions(scored)
    with right:
        if not scored.presets:
            st.info(ui.tr("customers.preset.empty"))
            return
        other = scored.presets[st.selectbox(ui.tr("customers.preset.compare"), list(scored.presets), key="c_compare")]
        before, after = scored.rescored(other)["tier"], scored.table["tier"]
        st.markdown(f"**{ui.tr('customers.preset.matrix')}**")
        matrix = tiers.migration_matrix(before, after, list(scored.rules.names))
        matrix = matrix.rename(index=ui.tier_label, columns=ui.tier_label)
        st.dataframe(matrix.rename_axis(index=ui.tr("customers.preset.matrix_corner", preset=other.name)), width="stretch", placeholder="")
        movers = tiers.movers(before, after)
        st.markdown(f"**{ui.tr('customers.preset.movers')}** ({len(movers):,})")
        ui.table(movers.join(scored.table[["code", "name"]], on="customer_id").head(500))


# The widgets a preset sets: loading one (or its newer version) starts them from it again.
PRESET_WIDGETS = ("c_weight_", "c_method_", "c_quota_", "c_cutoff_", "c_floor_", "c_ceiling_", "c_kept_", "c_mapping",
                  "c_mode", "c_by_industry")


def preset_record(name: str) -> str:
    return f"preset:{name}"


def preset_fields(stored: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A stored preset as a person reads it: each weight as its share, and whether it is published."""
    weights = {k: float(v) for k, v in (stored.get("weights") or {}).items()}
    total = sum(weights.values()) or 1.0
    shares = ", ".join(f"{dimension_name(k)} {present.percent(w / total, 0)}" for k, w in weights.items()
                       if k in scoring.DIMENSIONS_BY_KEY)
    return [(ui.tr("customers.weights"), shares), (ui.tr("customers.preset.is_published"), bool(stored.get("published")))]


def _preset_actions(scored: Scored) -> None:
    """Load, save and publish a preset, and freeze the published scores of the month: one transaction each."""
    presets, loaded, actor = scored.presets, scored.loaded, ui.acting_user()
    choice = ui.choice(st.selectbox, ui.tr("customers.preset.load"), ["", *presets], key="c_preset_pick", default=loaded or "",
                       format_func=lambda n: n or ui.tr("customers.preset.none"))
    if choice != (loaded or ""):  # start every slider and method from the chosen preset, as stored now
        st.session_state["c_loaded_preset"] = choice or None
        edits.forget(preset_record(choice))
        for key in [k for k in st.session_state if str(k).startswith((*PRESET_WIDGETS, "c_preset_name"))]:
            del st.session_state[key]
        st.rerun()
    # Each preset at the version this reader saw: when it was loaded, else when the list first showed it.
    seen = {n: edits.seen(preset_record(n), {"version": p.version}) for n, p in presets.items()}
    # Loading a preset deletes the name field's state (above), so it starts again from the loaded name,
    # which reaches the browser through the session state (ui.start_widget), not what was typed before.
    published = next((p for p in presets.values() if p.published), None)
    if published:
        st.caption(ui.tr("customers.preset.published", name=published.name))
    if not ui.may_edit():  # a viewer loads presets and moves the sliders; saving one is an editor's
        return
    ui.start_widget("c_preset_name", loaded or "")
    name = st.text_input(ui.tr("customers.preset.name"), key="c_preset_name").strip()
    edits.notice(preset_record(name or loaded or ""))
    if st.button(ui.tr("customers.preset.save"), key="c_preset_save") and name:
        expected = seen[name]["version"] if name in seen else None
        edits.save(scored.store, preset_record(name),
                   lambda s: tiers.save_preset(s, actor, name, scored.weights, scored.methods, scored.rules,
                                               mappings=scored.mappings, expected_version=expected),
                   "customers.preset.saved", preset_fields, widgets=PRESET_WIDGETS, name=name)
    if loaded in presets and ui.is_admin() and st.button(ui.tr("customers.preset.publish"), key="c_publish"):
        chosen = presets[loaded]
        edits.save(scored.store, preset_record(loaded),
                   lambda s: tiers.publish_preset(s, actor, chosen.id, seen[loaded]["version"]),
                   "customers.preset.publish_done", preset_fields, widgets=PRESET_WIDGETS, name=loaded)
    month = dt.date(scored.as_of.year, scored.as_of.month, 1)
    if published:
        # The month's snapshot as this reader saw it: a freeze from an older view never replaces a newer one.
        record = snapshot_record(month)
        last = ui.cached(writes.last_change, scored.store, "score_snapshots", month.isoformat())
        frozen_seen = edits.seen(record, {"version": ui.cached(tiers.snapshot_version, scored.store, month),
                                          "who": last["actor"] if last else None, "when": last["at"] if last else None})
        if frozen_seen["who"]:
            st.caption(ui.tr("customers.snapshot.frozen_by", month=f"{month:%Y-%m}", who=present.actor_name(frozen_seen["who"], ui.language()),
                             when=present.date_text(frozen_seen["when"])))
        edits.notice(record)
        if st.button(ui.tr("customers.preset.snapshot", month=f"{month:%Y-%m}"), key="c_snapshot"):
            frozen = scored.rescored(published)
            edits.save(scored.store, record,
                       lambda s: tiers.snapshot_month(s, actor, month, frozen["score"], frozen["tier"], published.id,
                                                      expected_version=frozen_seen["version"]),
                       "customers.preset.snapshot_done", snapshot_fields, month=f"{month:%Y-%m}")


def snapshot_record(month: dt.date) -> str:
    return f"snapshot:{month.isoformat()}"


def snapshot_fields(stored: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A month's stored snapshot as a person reads it: the month and how many customers it froze."""
    return [(ui.tr("customers.snapshot.month"), str(stored.get("month", ""))[:7]),
            (ui.tr("customers.snapshot.rows"), int(stored.get("rows", 0)))]


def show_chain(scored: Scored) -> None:
    st.caption(ui.tr("customers.chain.caption"))
    chain = ui.cached(risk.decision_chain, scored.store, scored.as_of)
    ui.table(risk.chain_gaps(chain, scored.table["tier"], scored.rules.names[:2]))


def show_risk(scored: Scored) -> None:
    horizon = st.slider(ui.tr("customers.risk.horizon"), 30, 365, 90, 15, key="c_horizon")
    st.caption(ui.tr("customers.risk.caption"))
    # The sidebar's filters (CSM, industry, region, size) choose whose contracts are listed.
    due = scored.filters.customer_rows(ui.renewal_risk(scored.store, scored.as_of, horizon), scored.table)
    ui.table(risk.renewal_texts(due, ui.language()),
             present.with_vocabulary("kind", ContractKind))  # a contract's kind: new, renewal, expansion


def show_rfm(scored: Scored) -> None:
    segments = ui.cached(rfm.rfm_table, scored.store, scored.as_of)
    ui.table(segments["segment"].value_counts().rename_axis("segment").reset_index())
    ui.table(scored.table[["code", "name", "tier"]].join(segments, how="inner").head(500))


def show_actions(scored: Scored) -> None:
    chain = ui.cached(risk.decision_chain, scored.store, scored.as_of)
    items = risk.next_actions(scored.table["tier"], chain, scored.risk_table,
                              # read-only: the same frames the renewal risk was merged from (ui.renewal_risk)
                              ui.shared(risk.overdue_by_customer, scored.store, scored.as_of),
                              ui.usage_change(scored.store, scored.as_of))
    # The sidebar's filters (CSM first of all) choose whose actions are listed.
    mine = scored.filters.customer_rows(items, scored.table)
    st.caption(ui.tr("action.shown", count=len(mine), who=ui.describe(scored.filters, scored.store, dates=False)))
    st.caption(risk.priority_legend(lang=ui.language()))
    texts = risk.action_texts(mine, ui.language())
    clicked = ui.table(texts.drop(columns="priority"), key="c_actions", on_select="rerun", selection_mode="single-row")
    open_customer_control(texts, clicked.selection.rows if clicked else [])


def open_customer_control(actions: pd.DataFrame, clicked_rows: list[int]) -> None:
    """Opens the explanation of a listed customer: picked here, or by a click on its row above."""
    names = dict(zip(actions["customer_code"], actions["customer_name"], strict=True))
    if not names:
        return
    if clicked_rows and clicked_rows[0] != st.session_state.get("c_action_clicked"):
        st.session_state["c_action_clicked"] = clicked_rows[0]
        st.session_state["c_action_customer"] = actions["customer_code"].iloc[clicked_rows[0]]
    pick, go = st.columns([3, 1], vertical_alignment="bottom")
    code = pick.selectbox(ui.tr("action.open_pick"), list(names), format_func=lambda c: f"{c} · {names[c]}",
                          key="c_action_customer")
    go.button(ui.tr("action.open"), key="c_action_open", on_click=open_customer, args=(code,))


def open_customer(code: str) -> None:
    """The customer's detail view: the explanation tab, showing that customer."""
    st.session_state["c_explain"] = code
    st.session_state["c_tab"] = ui.tr("customers.tab.explain")


def show_export(scored: Scored) -> None:
    lang = ui.language()
    chosen = ui.choice(st.multiselect, ui.tr("customers.export.columns"), list(view.EXPORT_COLUMNS),
                            default=list(view.EXPORT_DEFAULT_COLUMNS), key="c_export_columns",
                            format_func=lambda c: present.header(c, lang))
    unmasked = ui.may_see_personal_data() and st.checkbox(ui.tr("customers.export.unmasked"), value=False, key="c_unmasked")
    st.caption(ui.tr("customers.export.rows", rows=len(scored.shown)))
    notes = view.export_notes(scored.weights, scored.methods, scored.rules, ui.describe(scored.filters, scored.store),
                              scored.view_filters.describe(lang), scored.loaded, dt.datetime.now(dt.UTC), scored.as_of,
                              mappings=scored.mappings, lang=lang)
    contact_rows = ui.cached(contacts.key_contacts, scored.store, scored.as_of)
    ui.download_buttons(view.export_frame(scored.shown, contact_rows, chosen), "customers", notes,
                        personal="customer_list", unmasked=unmasked, store=scored.store,
                        filters={**scored.filters.to_query_params(), **scored.view_filters.to_query_params()})


TABS: dict[str, Callable[[Scored], None]] = {
    "customers.tab.service": show_service,
    "customers.tab.explain": show_explain,
    "customers.tab.presets": show_presets,
    "customers.tab.chain": show_chain,
    "customers.tab.risk": show_risk,
    "customers.tab.rfm": show_rfm,
    "customers.tab.actions": show_actions,
    "customers.tab.export": show_export,
}
