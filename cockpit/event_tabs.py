"""The Event ROI page's tabs: the list, one event (ratios, funnel, costs, goals, the review), the
comparison by format, kind or organisation and between attribution models, the timeline, and files.

Each tab reads one ``Events`` (what the page above it computed); only the open tab is drawn.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import edits, imports, ui
from ops_core import events, present
from ops_core.filters import Filters
from ops_core.i18n import label
from ops_core.vocab import Industry, TitleLevel


@dataclass(frozen=True)
class Events:
    """What the event page's tabs read: the loaded events, the standard, model and window in force,
    and the chosen events' metrics."""

    store: Engine
    filters: Filters
    as_of: dt.date
    data: events.EventData
    standard: events.LeadStandard
    model: events.Model
    window: int
    half_life: float       # days, for the time-decay model
    chosen: pd.DataFrame   # event_metrics of the events the pickers leave, indexed by event id


def draw(ctx: Events) -> None:
    """The tab bar, and the open tab's content."""
    ui.lazy_tabs(TABS, "e_tab", ctx)


def show_list(ctx: Events) -> None:
    ui.shown_grid(ui.event_table(ctx.chosen), key="e_grid", page_size=50)


def show_event(ctx: Events) -> None:
    if ctx.chosen.empty:
        st.info(ui.tr("home.empty"))
        return
    names = dict(zip(ctx.chosen.index, ctx.chosen["name"], strict=True))
    event_id = st.selectbox(ui.tr("events.pick"), list(names), format_func=lambda i: f"{names[i]} · {ctx.chosen.at[i, 'start_date']:%Y-%m-%d}",
                            key="e_event")
    row, event_row = ctx.chosen.loc[event_id], ctx.data.events.loc[event_id]
    ratios = st.columns(6)
    ratios[0].metric(ui.tr("events.cost_per_lead"), ui.money_or_na(row["cost_per_lead"]))
    ratios[1].metric(ui.tr("col.cost_per_effective_lead"), ui.money_or_na(row["cost_per_effective_lead"]))
    ratios[2].metric(ui.tr("events.cost_per_opportunity"), ui.money_or_na(row["cost_per_opportunity"]))
    ratios[3].metric(ui.tr("events.cost_per_conversion"), ui.money_or_na(row["cost_per_conversion"]))
    ratios[4].metric(ui.tr("events.pipeline_roi"), ui.percent_or_na(row["pipeline_roi"]))
    days = row["median_days_to_conversion"]
    ratios[5].metric(ui.tr("events.days_to_conversion"), ui.tr("report.na") if days != days else f"{days:.0f}")
    funnel_column, cost_column = st.columns(2)
    with funnel_column:
        st.markdown(f"**{ui.tr('events.funnel')}**")
        steps = events.funnel(row).assign(step=lambda f: f["step"].map(lambda s: ui.tr(f"events.step.{s}")))
        st.altair_chart(ui.localised(alt.Chart(steps).mark_bar().encode(
            y=alt.Y("step:N", sort=None, title=None), x=alt.X("count:Q", title=ui.tr("col.count")),
            tooltip=ui.tooltips("step", "count", ("rate_from_previous", ".0%"), ("rate_from_top", ".0%")))), width="stretch")
        ui.table(steps)
        opportunities, wins = events.funnel_apart(row)
        if opportunities or wins:
            st.caption(ui.tr("events.funnel_apart", opportunities=opportunities, wins=wins))
    with cost_column:
        st.markdown(f"**{ui.tr('events.costs')}**")
        breakdown = events.cost_breakdown(ctx.data.costs, event_id)
        if breakdown.empty:
            st.info(ui.tr("events.no_costs"))
        else:
            lang = ui.language()
            shown = breakdown.assign(category=present.value_labels(breakdown["category"], "category", lang),
                                     yuan=present.value_labels(breakdown["amount_cents"], "amount_cents", lang))
            st.altair_chart(ui.localised(alt.Chart(shown).mark_arc().encode(
                theta="yuan:Q", color=alt.Color("category:N", title=None),
                tooltip=[alt.Tooltip("category:N", title=present.header("category", lang)),
                         alt.Tooltip("yuan:Q", title=present.header("amount_cents", lang), format=",.2f")])), width="stretch")
            ui.table(breakdown)
    st.markdown(f"**{ui.tr('events.goals')}**")
    ui.table(present.money_rows(events.goals_vs_results(event_row, row), "goal", ["revenue_cents"], ["target", "actual"]))

    st.markdown(f"**{ui.tr('events.review')}**")
    stored = ui.cached(events.load_review, ctx.store, int(event_id))
    record = f"event_review:{event_id}"
    review = edits.seen(record, stored) or {}  # the version this reader saw, until their own save or a reload
    if not ui.may_edit():
        edits.show_stored(review_fields(review))
        ui.read_only_note()
    else:
        review_form(ctx, int(event_id), record, review)
    if review.get("updated_by"):
        st.caption(ui.tr("events.review.by", who=present.actor_name(review["updated_by"], ui.language()), when=f"{review['updated_at']:%Y-%m-%d %H:%M}"))
    lang = ui.language()  # read now: the file is built outside this run, when the button is pressed
    st.download_button(ui.tr("events.review.download"), lambda: events.review_markdown(event_row, row, stored, ctx.standard, lang=lang),
                       f"review-{event_id}.md", mime="text/markdown", on_click="ignore", key="e_review_md")


def review_form(ctx: Events, event_id: int, record: str, review: Mapping[str, Any]) -> None:
    """The event's review as this reader saw it; a save from an older view is refused."""
    edits.notice(record)
    with st.form(f"e_review_{event_id}"):
        texts = {step: st.text_area(ui.tr(f"events.review.{step}"), value=review.get(step) or "",
                                    placeholder=ui.tr(f"events.review.{step}.hint"), key=edits.key(record, f"e_review_{event_id}_{step}"))
                 for step in events.REVIEW_TEXTS}
        if st.form_submit_button(ui.tr("events.review.save"), key="e_review_save"):
            edits.save(ctx.store, record, lambda s: events.save_review(s, ui.acting_user(), int(event_id), texts,
                                                                       review.get("version")),
                       "events.review.saved", review_fields, widgets=(f"e_review_{event_id}_",),
                       changed=any(texts[k] != (review.get(k) or "") for k in events.REVIEW_TEXTS))


def review_fields(stored: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A stored review as its form shows it: each text under its label."""
    return [(ui.tr(f"events.review.{k}"), stored.get(k)) for k in events.REVIEW_TEXTS]


def standard_fields(stored: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A stored effective-lead standard (its settings row) as its form shows it, labels not codes."""
    standard, lang = events.LeadStandard.from_dict(stored.get("value") or {}), ui.language()
    return [(ui.tr("events.standard.titles"), ", ".join(label(TitleLevel, v, lang) for v in standard.title_levels)),
            (ui.tr("events.standard.size"), standard.min_company_size),
            (ui.tr("events.standard.industries"), ", ".join(label(Industry, v, lang) for v in standard.industries) or None),
            (ui.tr("events.standard.budget"), standard.budget_confirmed)]


def show_compare(ctx: Events) -> None:
    by = ui.choice(st.radio, ui.tr("events.compare.by"), list(events.GROUP_BY), format_func=lambda b: ui.tr(f"col.{b}"),
                  horizontal=True, key="e_by")
    groups = events.group_metrics(ctx.chosen, by)
    groups[by] = present.value_labels(groups[by], by, ui.language())  # format, kind or organisation by its label
    roi_column, cost_column = st.columns(2)
    roi_column.altair_chart(ui.localised(alt.Chart(groups.dropna(subset=["roi"])).mark_bar().encode(
        x=alt.X(f"{by}:N", title=None, sort="-y"), y=alt.Y("roi:Q", title=ui.tr("col.roi"), axis=ui.number_axis(groups["roi"], None, percent=True)),
        tooltip=[alt.Tooltip(f"{by}:N", title=ui.tr(f"col.{by}")),
                 alt.Tooltip("roi:Q", title=ui.tr("col.roi"), format=".0%")])), width="stretch")
    cpel = present.value_labels(groups["cost_per_effective_lead"], "cost_per_effective_lead", ui.language())
    cost_column.altair_chart(ui.localised(alt.Chart(groups.assign(cpel=cpel).dropna(subset=["cpel"]))
                             .mark_bar(color="#f58518").encode(
        x=alt.X(f"{by}:N", title=None, sort="y"), y=alt.Y("cpel:Q", title=ui.tr("col.cost_per_effective_lead")),
        tooltip=[alt.Tooltip(f"{by}:N", title=ui.tr(f"col.{by}")),
                 alt.Tooltip("cpel:Q", title=ui.tr("col.cost_per_effective_lead"), format=",.2f")])), width="stretch")
    st.markdown(f"**{ui.tr('events.models')}**")
    comparison = events.model_comparison(ctx.data, ctx.standard, ctx.window, ctx.as_of, ctx.half_life)
    ui.table(events.rank_table(comparison, ctx.chosen.index).rename(columns={"name": "event"}))


def show_timeline(ctx: Events) -> None:
    line = events.timeline(ctx.data, ctx.as_of)
    if line.empty:
        st.info(ui.tr("home.empty"))
        return
    line = line.assign(status=line["status"].map(lambda v: ui.tr(f"events.status.{v}")))
    in_order = alt.EncodingSortField("start_date", op="min")
    st.altair_chart(ui.localised(alt.Chart(line).mark_circle(size=140).encode(
        x=alt.X("start_date:T", title=None), y=alt.Y("label:N", sort=in_order, title=None),
        color=alt.Color("status:N", title=None),
        tooltip=[alt.Tooltip("name:N", title=ui.tr("col.event")), alt.Tooltip("start_date:T", title=ui.tr("col.start_date")),
                 alt.Tooltip("end_date:T", title=ui.tr("col.end_date")), alt.Tooltip("status:N", title=ui.tr("col.status"))])),
        width="stretch")
    st.altair_chart(ui.localised(budget_chart(line)), width="stretch")


def budget_chart(line: pd.DataFrame) -> alt.Chart:
    """Budget against actual cost, a pair of bars per event: each event on its own place on the axis
    under its label (events.timeline: name and date, and its number when two share both), so two
    events of one name stay apart."""
    budget, cost = ui.tr("col.budget_cents"), ui.tr("col.cost")
    money = line.assign(**{budget: line["budget_cents"] / 100, cost: line["cost_cents"] / 100}).melt(
        id_vars=["event_id", "label", "start_date"], value_vars=[budget, cost], var_name="what", value_name="yuan")
    return alt.Chart(money).mark_bar().encode(
        x=alt.X("label:N", sort=alt.EncodingSortField("start_date", op="min"), title=None, axis=alt.Axis(labelAngle=-40)),
        xOffset="what:N", y=alt.Y("yuan:Q", title=ui.tr("col.cost")), color=alt.Color("what:N", title=None),
        tooltip=[alt.Tooltip("label:N", title=ui.tr("col.event")), alt.Tooltip("what:N", title=" "),
                 alt.Tooltip("yuan:Q", title=ui.tr("col.cost"), format=",.0f")])


def show_data(ctx: Events) -> None:
    lang = ui.language()
    notes = [ui.tr("events.export.notes.model", model=events.model_text(ctx.model, lang), window=ctx.window, as_of=ctx.as_of),
             ctx.standard.describe(lang), ui.tr("events.export.notes.filters", filters=ui.describe(ctx.filters, ctx.store))]
    st.markdown(f"**{ui.tr('events.export')}**")
    ui.download_buttons(events.export_table(ctx.chosen), "events", notes)
    st.markdown(f"**{ui.tr('data.import')}**")
    entity = ui.choice(st.selectbox, ui.tr("data.import.entity"), ["events", "event_costs", "leads", "lead_touches"],
                          format_func=lambda name: ui.tr(f"table.{name}"), key="e_import_entity")
    imports.import_file(ctx.store, entity, key=f"e_import_{entity}")


TABS: dict[str, Callable[[Events], None]] = {
    "events.tab.list": show_list,
    "events.tab.event": show_event,
    "events.tab.compare": show_compare,
    "events.tab.timeline": show_timeline,
    "events.tab.data": show_data,
}
