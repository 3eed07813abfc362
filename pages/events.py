"""Event ROI: events, leads and conversions, ROI and cost ratios, attribution models, timeline and the review."""
from __future__ import annotations

import altair as alt
import streamlit as st

from ops_core import events, settings
from ops_core.db.engine import transaction
from ops_core.errors import OpsError
from ops_core.i18n import label
from ops_core.vocab import EventFormat, EventKind, EventOrganisation, Industry, TitleLevel, values
from pages import ui

store, filters = ui.page_context()
lang = ui.language()
as_of = min(filters.date_to, ui.today())
st.title(ui.tr("nav.events"))

data = ui.shared(events.load, store, filters.date_from, filters.date_to)
standard = ui.cached(events.lead_standard, store)
window = int(ui.cached(settings.get, store, events.WINDOW_KEY))

# --- the effective-lead standard and the attribution model -------------------------------------
with st.expander(ui.tr("events.standard"), expanded=False):
    with st.form("e_standard_form"):
        titles = st.multiselect(ui.tr("events.standard.titles"), list(values(TitleLevel)), default=list(standard.title_levels),
                                format_func=lambda v: label(TitleLevel, v, lang), key="e_std_titles")
        size = st.number_input(ui.tr("events.standard.size"), 0, 1_000_000, int(standard.min_company_size), 10, key="e_std_size")
        industries = st.multiselect(ui.tr("events.standard.industries"), list(values(Industry)), default=list(standard.industries),
                                    format_func=lambda v: label(Industry, v, lang), placeholder=ui.tr("filters.choose"),
                                    key="e_std_industries")
        budget = st.checkbox(ui.tr("events.standard.budget"), value=standard.budget_confirmed, key="e_std_budget")
        if st.form_submit_button(ui.tr("events.standard.save"), key="e_std_save"):
            try:
                with transaction(store) as session:
                    events.save_lead_standard(session, ui.acting_user(), events.LeadStandard(
                        tuple(titles), int(size), tuple(industries), bool(budget)), ui.cached(events.lead_standard_version, store))
                ui.clear_caches()
                st.rerun()
            except OpsError as exc:
                ui.show_error(exc)
st.caption(ui.tr("events.standard.in_force", standard=standard.describe(), window=window))

left, middle, right, far = st.columns(4)
model = left.radio(ui.tr("events.model"), list(events.Model), format_func=lambda m: ui.tr(f"events.model.{m}"),
                   horizontal=True, key="e_model")
formats = middle.multiselect(ui.tr("col.format"), list(values(EventFormat)), format_func=lambda v: label(EventFormat, v, lang),
                             key="e_formats", placeholder=ui.tr("filters.choose"))
kinds = right.multiselect(ui.tr("col.kind"), list(values(EventKind)), format_func=lambda v: label(EventKind, v, lang),
                          key="e_kinds", placeholder=ui.tr("filters.choose"))
organisations = far.multiselect(ui.tr("col.organisation"), list(values(EventOrganisation)),
                                format_func=lambda v: label(EventOrganisation, v, lang), key="e_orgs",
                                placeholder=ui.tr("filters.choose"))
purposes = st.multiselect(ui.tr("col.purposes"), list(events.PURPOSES), format_func=lambda v: ui.tr(f"events.purpose.{v}"),
                          key="e_purposes", placeholder=ui.tr("filters.choose"))

metrics = events.event_metrics(data, standard, model, window, as_of)
chosen = events.select_events(metrics, data.events, formats, kinds, organisations, purposes)
totals = events.group_metrics(chosen.assign(all="all"), "all").iloc[0] if len(chosen) else None

tiles = st.columns(6)
tiles[0].metric(ui.tr("events.count"), f"{len(chosen):,}")
tiles[1].metric(ui.tr("col.cost"), ui.money(totals["cost_cents"]) if totals is not None else "—")
tiles[2].metric(ui.tr("col.leads"), f"{int(totals['leads']):,}" if totals is not None else "—")
tiles[3].metric(ui.tr("col.effective_leads"), f"{int(totals['effective_leads']):,}" if totals is not None else "—")
tiles[4].metric(ui.tr("col.cost_per_effective_lead"), ui.money_or_na(totals["cost_per_effective_lead"]) if totals is not None else "—")
tiles[5].metric(ui.tr("col.roi"), ui.percent_or_na(totals["roi"]) if totals is not None else "—")
if totals is not None and int(totals["too_early"]):
    st.caption(ui.tr("events.too_early", count=int(totals["too_early"]), window=window))



def show_list() -> None:
    ui.grid(ui.event_table(chosen, lang), key="e_grid", page_size=50)


def show_event() -> None:
    if chosen.empty:
        st.info(ui.tr("home.empty"))
        return
    names = dict(zip(chosen.index, chosen["name"], strict=True))
    event_id = st.selectbox(ui.tr("events.pick"), list(names), format_func=lambda i: f"{names[i]} · {chosen.at[i, 'start_date']:%Y-%m-%d}",
                            key="e_event")
    row, event_row = chosen.loc[event_id], data.events.loc[event_id]
    ratios = st.columns(6)
    ratios[0].metric(ui.tr("events.cost_per_lead"), ui.money_or_na(row["cost_per_lead"]))
    ratios[1].metric(ui.tr("col.cost_per_effective_lead"), ui.money_or_na(row["cost_per_effective_lead"]))
    ratios[2].metric(ui.tr("events.cost_per_opportunity"), ui.money_or_na(row["cost_per_opportunity"]))
    ratios[3].metric(ui.tr("events.cost_per_conversion"), ui.money_or_na(row["cost_per_conversion"]))
    ratios[4].metric(ui.tr("events.pipeline_roi"), ui.percent_or_na(row["pipeline_roi"]))
    days = row["median_days_to_conversion"]
    ratios[5].metric(ui.tr("events.days_to_conversion"), "n/a" if days != days else f"{days:.0f}")
    funnel_column, cost_column = st.columns(2)
    with funnel_column:
        st.markdown(f"**{ui.tr('events.funnel')}**")
        steps = events.funnel(row).assign(step=lambda f: f["step"].map(lambda s: ui.tr(f"events.step.{s}")))
        st.altair_chart(alt.Chart(steps).mark_bar().encode(
            y=alt.Y("step:N", sort=None, title=None), x=alt.X("count:Q", title=ui.tr("col.count")),
            tooltip=["step", "count", alt.Tooltip("rate_from_previous:Q", format=".0%"),
                     alt.Tooltip("rate_from_top:Q", format=".0%")]), width="stretch")
        ui.table(steps)
    with cost_column:
        st.markdown(f"**{ui.tr('events.costs')}**")
        breakdown = events.cost_breakdown(data.costs, event_id)
        if breakdown.empty:
            st.info(ui.tr("events.no_costs"))
        else:
            st.altair_chart(alt.Chart(breakdown.assign(yuan=breakdown["amount_cents"] / 100)).mark_arc().encode(
                theta="yuan:Q", color=alt.Color("category:N", title=None), tooltip=["category", "yuan"]), width="stretch")
            ui.table(breakdown)
    st.markdown(f"**{ui.tr('events.goals')}**")
    ui.table(events.goals_vs_results(event_row, row))

    st.markdown(f"**{ui.tr('events.review')}**")
    review = ui.cached(events.load_review, store, int(event_id)) or {}
    with st.form(f"e_review_{event_id}"):
        texts = {step: st.text_area(ui.tr(f"events.review.{step}"), value=review.get(step) or "",
                                    placeholder=events.REVIEW_STEPS[step], key=f"e_review_{event_id}_{step}")
                 for step in events.REVIEW_TEXTS}
        if st.form_submit_button(ui.tr("events.review.save"), key="e_review_save"):
            try:
                with transaction(store) as session:
                    events.save_review(session, ui.acting_user(), int(event_id), texts, review.get("version"))
                ui.clear_caches()
                st.success(ui.tr("events.review.saved"))
            except OpsError as exc:
                ui.show_error(exc)
    if review.get("updated_by"):
        st.caption(ui.tr("events.review.by", who=review["updated_by"], when=f"{review['updated_at']:%Y-%m-%d %H:%M}"))
    st.download_button(ui.tr("events.review.download"), lambda: events.review_markdown(event_row, row, review, standard),
                       f"review-{event_id}.md", mime="text/markdown", on_click="ignore", key="e_review_md")


def show_compare() -> None:
    by = st.radio(ui.tr("events.compare.by"), list(events.GROUP_BY), format_func=lambda b: ui.tr(f"col.{b}"),
                  horizontal=True, key="e_by")
    groups = events.group_metrics(chosen, by)
    vocabulary = {"format": EventFormat, "kind": EventKind, "organisation": EventOrganisation}[by]
    groups[by] = groups[by].map(lambda v: label(vocabulary, v, lang))
    roi_column, cost_column = st.columns(2)
    roi_column.altair_chart(alt.Chart(groups.dropna(subset=["roi"])).mark_bar().encode(
        x=alt.X(f"{by}:N", title=None, sort="-y"), y=alt.Y("roi:Q", title=ui.tr("col.roi"), axis=alt.Axis(format="%")),
        tooltip=[by, alt.Tooltip("roi:Q", format=".0%")]), width="stretch")
    cost_column.altair_chart(alt.Chart(groups.assign(cpel=groups["cost_per_effective_lead"] / 100).dropna(subset=["cpel"]))
                             .mark_bar(color="#f58518").encode(
        x=alt.X(f"{by}:N", title=None, sort="y"), y=alt.Y("cpel:Q", title=ui.tr("col.cost_per_effective_lead")),
        tooltip=[by, alt.Tooltip("cpel:Q", format=",.0f")]), width="stretch")
    st.markdown(f"**{ui.tr('events.models')}**")
    comparison = events.model_comparison(data, standard, window, as_of)
    ui.table(events.rank_table(comparison, chosen.index).rename(columns={"name": "event"}))


def show_timeline() -> None:
    line = events.timeline(data, as_of)
    if line.empty:
        st.info(ui.tr("home.empty"))
        return
    st.altair_chart(alt.Chart(line).mark_circle(size=140).encode(
        x=alt.X("start_date:T", title=None), y=alt.Y("name:N", sort=alt.EncodingSortField("start_date"), title=None),
        color=alt.Color("status:N", title=None), tooltip=["name", "start_date", "end_date", "status"]), width="stretch")
    money = line.assign(budget=line["budget_cents"] / 100, cost=line["cost_cents"] / 100).melt(
        id_vars=["name", "start_date"], value_vars=["budget", "cost"], var_name="what", value_name="yuan")
    st.altair_chart(alt.Chart(money).mark_bar().encode(
        x=alt.X("name:N", sort=alt.EncodingSortField("start_date"), title=None), xOffset="what:N",
        y=alt.Y("yuan:Q", title=ui.tr("col.cost")), color=alt.Color("what:N", title=None),
        tooltip=["name", "what", alt.Tooltip("yuan:Q", format=",.0f")]), width="stretch")


def show_data() -> None:
    notes = [f"Attribution: {events.MODEL_TEXT[events.as_model(model)]}; window {window} days; as of {as_of}",
             f"Effective-lead standard: {standard.describe()}", f"Filters: {ui.describe(filters, store)}"]
    st.markdown(f"**{ui.tr('events.export')}**")
    ui.download_buttons(events.export_table(chosen), "events", notes)
    st.markdown(f"**{ui.tr('data.import')}**")
    entity = st.selectbox(ui.tr("data.import.entity"), ["events", "event_costs", "leads", "lead_touches"], key="e_import_entity")
    upload = st.file_uploader(ui.tr("data.import.file"), type=["csv", "xlsx"], key="e_import_file")
    if upload is not None and st.button(ui.tr("data.import.run"), key="e_import_run"):
        ui.import_upload(store, entity, upload)


ui.lazy_tabs({
    "events.tab.list": show_list,
    "events.tab.event": show_event,
    "events.tab.compare": show_compare,
    "events.tab.timeline": show_timeline,
    "events.tab.data": show_data,
}, "e_tab")
