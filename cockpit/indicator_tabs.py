"""The indicator page's tabs: the scorecard with its drill-down and targets, the double funnel,
cohort retention, the metric catalogue, month-close history and the downloadable reports.

Each tab reads one ``View`` (the grain, period and segment chosen above it); only the open tab is drawn.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import ui
from ops_core import cohorts, funnel, indicators, metrics, reports, snapshot
from ops_core.filters import Filters
from ops_core.periods import Period, periods_between
from ops_core.vocab import Grain

STATUS_ICON = {"green": "🟢", "amber": "🟠", "red": "🔴", "n/a": "⚪", "no target": "⚪"}


@dataclass(frozen=True)
class View:
    """What the indicator page's tabs read: the store, the filters, the grain, period and segment chosen."""

    store: Engine
    filters: Filters
    grain: Grain
    period: Period
    segment: str
    choices: list[Period]     # the periods offered, newest first
    card: pd.DataFrame        # metrics.scorecard of the period
    names: dict[str, str]     # metric key -> name in the reader's language


def draw(ctx: View) -> None:
    """The tab bar, and the open tab's content."""
    ui.lazy_tabs(TABS, "i_tab", ctx)


def show_scorecard(ctx: View) -> None:
    level1 = ctx.card[ctx.card["level"] == 1]
    columns = st.columns(4)
    for i, row in enumerate(level1.itertuples()):
        m = metrics.BY_KEY[row.metric]
        columns[i % 4].metric(
            f"{STATUS_ICON[row.status]} {ctx.names[row.metric]}", reports.format_value(m, row.value),
            delta=None if pd.isna(row.change) else reports.format_change(m, row.change),
            delta_color="normal" if m.direction is metrics.Direction.up else "inverse",
            chart_data=[v for v in row.trend if pd.notna(v)], border=True,
            help=f"{m.definition} {ui.tr('ind.target')}: {reports.format_value(m, row.target)}")
    chosen = st.selectbox(ui.tr("ind.choose"), list(ctx.card["metric"]), format_func=lambda k: f"{'·' * (metrics.BY_KEY[k].level - 1)} {ctx.names[k]}",
                          key="i_metric")
    metric = metrics.BY_KEY[chosen]
    kids = ctx.card[ctx.card["metric"].isin([m.key for m in metrics.children(chosen)])]
    if len(kids):
        st.markdown(f"**{ui.tr('ind.children')}**")
        ui.table(pd.DataFrame({ui.tr("ind.metric"): kids["metric"].map(ctx.names),
                               ui.tr("ind.value"): reports.formatted(kids["metric"], kids["value"]),
                               ui.tr("ind.change"): reports.formatted(kids["metric"], kids["change"], reports.format_change)}))
    left, right = st.columns(2)
    trend = ui.cached(metrics.compute, ctx.store, ctx.grain, ctx.choices[-1].start, ctx.period.end, ctx.filters, None, None, (chosen,))
    goals = ui.cached(metrics.targets, ctx.store, ctx.grain, tuple(periods_between(ctx.grain, ctx.choices[-1].start, ctx.period.end)))
    goals = goals[goals["metric"] == chosen]
    trend = trend.assign(value=metrics.in_display_units(metric, trend["value"]))
    goals = goals.assign(target=metrics.in_display_units(metric, goals["target"]))
    with left:
        st.markdown(f"**{ui.tr('ind.trend', metric=ctx.names[chosen])}**")
        base = alt.Chart(trend.assign(period_start=pd.to_datetime(trend["period_start"])))
        line = base.mark_line(point=True).encode(x=alt.X("period_start:T", title=ui.tr(f"ind.grain.{ctx.grain.value}")),
                                                 y=alt.Y("value:Q", title=ctx.names[chosen],
                                                         axis=alt.Axis(format=".0%" if metric.unit is metrics.Unit.ratio else ",.0f")),
                                                 tooltip=ui.tooltips("period", "value"))
        target_line = alt.Chart(goals.assign(period_start=pd.to_datetime(goals["period_start"]))).mark_line(
            strokeDash=[4, 4], color="#e45756").encode(x="period_start:T", y="target:Q")
        st.altair_chart(line + target_line if goals["target"].notna().any() else line, width="stretch")
    with right:
        parts = ui.cached(metrics.breakdown, ctx.store, chosen, ctx.grain, ctx.period, ctx.segment, ctx.filters)
        st.markdown(f"**{ui.tr('ind.breakdown', metric=ctx.names[chosen], segment=ui.tr(f'ind.segment.{ctx.segment}'))}**")
        if ctx.segment == "tier" and set(parts["segment"]) <= {indicators.UNSCORED}:
            st.info(ui.tr("ind.tier_needs_snapshots"))  # tiers by period come from the published monthly snapshots
        elif parts.empty:
            st.info(ui.tr("ind.no_data"))
        else:
            parts = parts.assign(segment=parts["segment"].map(lambda v: ui.segment_label(ctx.segment, v)),
                                 **{c: metrics.in_display_units(metric, parts[c]) for c in ("value", "previous")},
                                 contribution=parts["contribution"] if metric.numerator else metrics.in_display_units(metric, parts["contribution"]))
            mover = str(parts.iloc[0]["segment"])
            st.caption(ui.tr("ind.mover", segment=mover))
            st.altair_chart(alt.Chart(parts).mark_bar().encode(
                y=alt.Y("segment:N", sort="-x", title=None), x=alt.X("contribution:Q", title=ui.tr("ind.contribution"),
                                                    axis=alt.Axis(format=".1%" if metric.unit is metrics.Unit.ratio else ",.0f")),
                color=alt.condition(alt.datum.segment == mover, alt.value("#f58518"), alt.value("#4c78a8")),
                tooltip=ui.tooltips("segment", "value", "previous", "contribution")), width="stretch")
    if metric.column in ("new", "expansion", "reactivation", "contraction", "churn"):
        st.markdown(f"**{ui.tr('ind.behind', metric=ctx.names[chosen])}**")
        ui.table(ui.cached(indicators.movement_customers, ctx.store, ctx.period, metric.column, ctx.filters).head(200))
    with st.expander(ui.tr("ind.all_metrics")):
        ui.table(pd.DataFrame({
            ui.tr("ind.metric"): ctx.card["metric"].map(ctx.names), "L": ctx.card["level"],
            ui.tr("ind.value"): reports.formatted(ctx.card["metric"], ctx.card["value"]),
            ui.tr("ind.target"): reports.formatted(ctx.card["metric"], ctx.card["target"]),
            ui.tr("ind.variance"): reports.formatted(ctx.card["metric"], ctx.card["variance"], reports.format_difference),
            ui.tr("ind.status"): ctx.card["status"].map(lambda s: f"{STATUS_ICON[s]} {s}"),
            ui.tr("ind.change"): reports.formatted(ctx.card["metric"], ctx.card["change"], reports.format_change),
            ui.tr("ind.yoy"): reports.formatted(ctx.card["metric"], ctx.card["yoy_change"], reports.format_change)}))
    with st.expander(ui.tr("ind.set_target", metric=ctx.names[chosen], period=ctx.period.label)):
        row = ctx.card.set_index("metric").loc[chosen]
        cols = st.columns(3)
        minimum = cols[0].number_input(ui.tr("ind.minimum"), value=None if pd.isna(row["minimum"]) else float(row["minimum"]), key="i_t_min")
        target = cols[1].number_input(ui.tr("ind.target"), value=None if pd.isna(row["target"]) else float(row["target"]), key="i_t_target")
        stretch = cols[2].number_input(ui.tr("ind.stretch"), value=None if pd.isna(row["stretch"]) else float(row["stretch"]), key="i_t_stretch")
        if st.button(ui.tr("ind.save_target"), key="i_t_save") and target is not None:
            ui.act(ctx.store, lambda s: metrics.set_target(s, ui.acting_user(), chosen, ctx.grain, ctx.period, target, minimum, stretch,
                                                       None if pd.isna(row["target_version"]) else int(row["target_version"])),
                   "ind.saved")


def show_funnel(ctx: View) -> None:
    first, end = ctx.choices[-1].start, ctx.period.end
    for title, frame in ((ui.tr("ind.funnel.accounts"), ui.cached(funnel.account_funnel, ctx.store, first, end, ctx.filters)),
                         (ui.tr("ind.funnel.users"), ui.cached(funnel.user_funnel, ctx.store, first, end, ctx.filters))):
        st.markdown(f"**{title}**")
        shown = frame.assign(label=frame["step"].map(lambda s: ui.tr(f"ind.step.{s}")))
        left, right = st.columns([3, 2])
        left.altair_chart(alt.Chart(shown).mark_bar().encode(
            y=alt.Y("label:N", sort=list(shown["label"]), title=None), x=alt.X("count:Q", title=ui.tr("ind.count")),
            tooltip=ui.tooltips("label", "count", ("from_previous", ".1%"), ("from_top", ".1%"))),
            width="stretch")
        right.dataframe(shown[["label", "count", "from_previous", "from_top"]].rename(columns={
            "label": ui.tr("ind.step"), "count": ui.tr("ind.count"), "from_previous": ui.tr("ind.from_previous"),
            "from_top": ui.tr("ind.from_top")}), hide_index=True, width="stretch", column_config={
            ui.tr("ind.from_previous"): st.column_config.NumberColumn(format="percent"),
            ui.tr("ind.from_top"): st.column_config.NumberColumn(format="percent")})


def heat_map(frame: pd.DataFrame, since: str, since_title: str, cohort_title: str) -> None:
    st.altair_chart(alt.Chart(frame).mark_rect().encode(
        x=alt.X(f"{since}:O", title=since_title), y=alt.Y("cohort:N", title=cohort_title, sort="ascending"),
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues"), title=ui.tr("ind.cohort.retained")),
        tooltip=ui.tooltips("cohort", "cohort_size", since, ("share", ".1%"))), width="stretch")


def show_cohorts(ctx: View) -> None:
    left, right = st.columns(2)
    with left:
        basis = st.radio(ui.tr("ind.cohort.basis"), ["logo", "revenue"], horizontal=True, key="i_basis",
                         format_func=lambda b: ui.tr(f"ind.cohort.{b}"))
        months = periods_between(Grain.month, ctx.filters.date_from, ctx.filters.date_to)
        frame = ui.cached(cohorts.customer_cohorts, ctx.store, months[0].start, months[-1].start, basis, ctx.filters)
        st.caption(ui.tr("ind.cohort.caption"))
        if frame.empty:
            st.info(ui.tr("ind.no_data"))
        else:
            heat_map(frame, "months_since", ui.tr("ind.cohort.months_since"), ui.tr("ind.cohort.cohort"))
    with right:
        mode = st.radio(ui.tr("ind.users.mode"), ["on", "on_or_after"], horizontal=True, key="i_user_mode",
                        format_func=lambda m: ui.tr(f"ind.users.{m}"))
        weeks = periods_between(Grain.week, max(ctx.filters.date_from, ctx.filters.date_to - dt.timedelta(weeks=16)), ctx.filters.date_to)
        users = ui.cached(cohorts.user_retention, ctx.store, weeks[0].start, weeks[-1].start, mode, ctx.filters)
        st.caption(ui.tr("ind.users.caption"))
        if users.empty:
            st.info(ui.tr("ind.no_data"))
        else:
            heat_map(users, "weeks_since", ui.tr("ind.users.weeks_since"), ui.tr("ind.users.cohort"))


def show_catalogue(ctx: View) -> None:
    search = st.text_input(ui.tr("ind.search"), key="i_search")
    table = ui.cached(metrics.catalogue, ctx.store, ui.language())
    if search.strip():
        needle = search.strip().lower()
        table = table[table.apply(lambda r: needle in " ".join(map(str, r.values)).lower(), axis=1)]
    ui.table(table.drop(columns=["version"]).assign(  # the name is a metric's, not a customer's
        parent=table["parent"].map(lambda k: ctx.names.get(k, "")),
        default_target=reports.formatted(table["key"], table["default_target"])).rename(columns={"name": "metric"}))
    with st.form("i_edit_definition"):
        key = st.selectbox(ui.tr("ind.metric"), list(metrics.BY_KEY), format_func=lambda k: ctx.names[k], key="i_edit_key")
        current = ui.cached(metrics.catalogue, ctx.store, ui.language()).set_index("key").loc[key]
        owner = st.text_input(ui.tr("ind.owner"), value=current["owner"])
        description = st.text_area(ui.tr("ind.definition"), value=current["definition"])
        if st.form_submit_button(ui.tr("ind.save_definition")):
            ui.act(ctx.store, lambda s: metrics.edit_definition(s, ui.acting_user(), key, owner, description, int(current["version"])),
                   "ind.saved")


def show_history(ctx: View) -> None:
    if st.button(ui.tr("ind.snapshot", period=ctx.period.label), key="i_snapshot"):
        ui.act(ctx.store, lambda s: snapshot.take(s, ui.acting_user(), ctx.grain, ctx.period), "ind.snapshot_done", period=ctx.period.label)
    span = tuple(p.start for p in ctx.choices)
    today = ui.cached(metrics.compute, ctx.store, ctx.grain, ctx.choices[-1].start, ctx.period.end, ctx.filters, None, None,
                      tuple(m.key for m in metrics.LEVEL1))
    compared = snapshot.against_today(today, ui.cached(snapshot.reported, ctx.store, ctx.grain, list(span)))
    compared = compared[compared["taken_at"].notna()]
    if compared.empty:
        st.info(ui.tr("ind.no_snapshots"))
        return
    st.caption(ui.tr("ind.differences", count=int(compared["differs"].sum())))
    ui.table(pd.DataFrame({
        ui.tr("ind.period"): compared["period"], ui.tr("ind.metric"): compared["metric"].map(ctx.names),
        ui.tr("ind.reported"): reports.formatted(compared["metric"], compared["reported"]),
        ui.tr("ind.today"): reports.formatted(compared["metric"], compared["value"]),
        ui.tr("ind.differs"): compared["differs"].map({True: "⚠️", False: ""}),
        ui.tr("ind.taken_at"): compared["taken_at"].astype(str)}))


def show_reports(ctx: View) -> None:
    kind = st.radio(ui.tr("ind.report.kind"), list(reports.KINDS), horizontal=True, key="i_report_kind",
                    format_func=lambda k: ui.tr(f"ind.report.{k}"))
    report = ui.cached(reports.build, ctx.store, kind, ctx.grain, ctx.period, ctx.filters, None, ui.language())
    left, right = st.columns(2)
    left.download_button(ui.tr("ind.report.md"), report.to_markdown().encode("utf-8"), f"{kind}-{ctx.period.label}.md",
                         mime="text/markdown", key="i_dl_md", on_click="ignore")
    right.download_button(ui.tr("ind.report.html"), report.to_html().encode("utf-8"), f"{kind}-{ctx.period.label}.html",
                          mime="text/html", key="i_dl_html", on_click="ignore")
    st.markdown(report.to_markdown())


TABS: dict[str, Callable[[View], None]] = {
    "ind.tab.scorecard": show_scorecard,
    "ind.tab.funnel": show_funnel,
    "ind.tab.cohorts": show_cohorts,
    "ind.tab.catalogue": show_catalogue,
    "ind.tab.history": show_history,
    "ind.tab.reports": show_reports,
}
