"""Indicator system: the level-1 scorecard against targets, drill-down by segment, the double funnel,
cohort retention, the metric catalogue, month-close history and the downloadable reports."""
from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from ops_core import cohorts, funnel, indicators, metrics, reports, snapshot
from ops_core.periods import period_of, periods_between, previous
from ops_core.vocab import Grain
from pages import ui

store, filters = ui.page_context()
lang = ui.language()
st.title(ui.tr("nav.indicators"))
ui.show_flash()

grains = [g.value for g in Grain]
shared_view = st.query_params.to_dict()  # a shared link opens on the same grain, period and segment
top = st.columns([1, 1, 1, 2])
grain = Grain(top[0].selectbox(ui.tr("ind.grain"), grains, key="i_grain", format_func=lambda g: ui.tr(f"ind.grain.{g}"),
                               index=grains.index(shared_view.get("i_grain", "month")) if shared_view.get("i_grain") in grains else 1))
# The last complete period inside the sidebar's date range is the default.
last = previous(period_of(grain, min(filters.date_to, ui.today()) + dt.timedelta(days=1)))
choices = periods_between(grain, min(filters.date_from, last.start), last.end)[::-1]
labels = [p.label for p in choices]
period = top[1].selectbox(ui.tr("ind.period"), choices, format_func=lambda p: p.label, key="i_period",
                          index=labels.index(shared_view["i_period"]) if shared_view.get("i_period") in labels else 0)
segment = top[2].selectbox(ui.tr("ind.segment"), metrics.SEGMENTS, key="i_segment",
                           format_func=lambda s: ui.tr(f"ind.segment.{s}"),
                           index=metrics.SEGMENTS.index(shared_view["i_segment"]) if shared_view.get("i_segment") in metrics.SEGMENTS else 0)
ui.keep_in_url({"i_grain": grain.value, "i_period": period.label, "i_segment": segment}, prefix="i_")

card = ui.cached(metrics.scorecard, store, grain, period, filters)
names = {m.key: m.name(lang) for m in metrics.REGISTRY}
STATUS_ICON = {"green": "🟢", "amber": "🟠", "red": "🔴", "n/a": "⚪", "no target": "⚪"}



def show_scorecard() -> None:
    level1 = card[card["level"] == 1]
    columns = st.columns(4)
    for i, row in enumerate(level1.itertuples()):
        m = metrics.BY_KEY[row.metric]
        columns[i % 4].metric(
            f"{STATUS_ICON[row.status]} {names[row.metric]}", reports.format_value(m, row.value),
            delta=None if pd.isna(row.change) else reports.format_change(m, row.change),
            delta_color="normal" if m.direction is metrics.Direction.up else "inverse",
            chart_data=[v for v in row.trend if pd.notna(v)], border=True,
            help=f"{m.definition} {ui.tr('ind.target')}: {reports.format_value(m, row.target)}")
    chosen = st.selectbox(ui.tr("ind.choose"), list(card["metric"]), format_func=lambda k: f"{'·' * (metrics.BY_KEY[k].level - 1)} {names[k]}",
                          key="i_metric")
    metric = metrics.BY_KEY[chosen]
    kids = card[card["metric"].isin([m.key for m in metrics.children(chosen)])]
    if len(kids):
        st.markdown(f"**{ui.tr('ind.children')}**")
        ui.table(pd.DataFrame({ui.tr("ind.metric"): kids["metric"].map(names),
                               ui.tr("ind.value"): reports.formatted(kids["metric"], kids["value"]),
                               ui.tr("ind.change"): reports.formatted(kids["metric"], kids["change"], reports.format_change)}))
    left, right = st.columns(2)
    trend = ui.cached(metrics.compute, store, grain, choices[-1].start, period.end, filters, None, None, (chosen,))
    goals = ui.cached(metrics.targets, store, grain, tuple(periods_between(grain, choices[-1].start, period.end)))
    goals = goals[goals["metric"] == chosen]
    trend = trend.assign(value=metrics.in_display_units(metric, trend["value"]))
    goals = goals.assign(target=metrics.in_display_units(metric, goals["target"]))
    with left:
        st.markdown(f"**{ui.tr('ind.trend', metric=names[chosen])}**")
        base = alt.Chart(trend.assign(period_start=pd.to_datetime(trend["period_start"])))
        line = base.mark_line(point=True).encode(x=alt.X("period_start:T", title=ui.tr(f"ind.grain.{grain.value}")),
                                                 y=alt.Y("value:Q", title=names[chosen],
                                                         axis=alt.Axis(format=".0%" if metric.unit is metrics.Unit.ratio else ",.0f")),
                                                 tooltip=["period", "value"])
        target_line = alt.Chart(goals.assign(period_start=pd.to_datetime(goals["period_start"]))).mark_line(
            strokeDash=[4, 4], color="#e45756").encode(x="period_start:T", y="target:Q")
        st.altair_chart(line + target_line if goals["target"].notna().any() else line, width="stretch")
    with right:
        parts = ui.cached(metrics.breakdown, store, chosen, grain, period, segment, filters)
        st.markdown(f"**{ui.tr('ind.breakdown', metric=names[chosen], segment=ui.tr(f'ind.segment.{segment}'))}**")
        if segment == "tier" and set(parts["segment"]) <= {indicators.UNSCORED}:
            st.info(ui.tr("ind.tier_needs_snapshots"))  # tiers by period come from the published monthly snapshots
        elif parts.empty:
            st.info(ui.tr("ind.no_data"))
        else:
            parts = parts.assign(segment=parts["segment"].map(lambda v: ui.segment_label(segment, v)),
                                 **{c: metrics.in_display_units(metric, parts[c]) for c in ("value", "previous")},
                                 contribution=parts["contribution"] if metric.numerator else metrics.in_display_units(metric, parts["contribution"]))
            mover = str(parts.iloc[0]["segment"])
            st.caption(ui.tr("ind.mover", segment=mover))
            st.altair_chart(alt.Chart(parts).mark_bar().encode(
                y=alt.Y("segment:N", sort="-x", title=None), x=alt.X("contribution:Q", title=ui.tr("ind.contribution"),
                                                    axis=alt.Axis(format=".1%" if metric.unit is metrics.Unit.ratio else ",.0f")),
                color=alt.condition(alt.datum.segment == mover, alt.value("#f58518"), alt.value("#4c78a8")),
                tooltip=["segment", "value", "previous", "contribution"]), width="stretch")
    if metric.column in ("new", "expansion", "reactivation", "contraction", "churn"):
        st.markdown(f"**{ui.tr('ind.behind', metric=names[chosen])}**")
        ui.table(ui.cached(indicators.movement_customers, store, period, metric.column, filters).head(200))
    with st.expander(ui.tr("ind.all_metrics")):
        ui.table(pd.DataFrame({
            ui.tr("ind.metric"): card["metric"].map(names), "L": card["level"],
            ui.tr("ind.value"): reports.formatted(card["metric"], card["value"]),
            ui.tr("ind.target"): reports.formatted(card["metric"], card["target"]),
            ui.tr("ind.variance"): reports.formatted(card["metric"], card["variance"], reports.format_difference),
            ui.tr("ind.status"): card["status"].map(lambda s: f"{STATUS_ICON[s]} {s}"),
            ui.tr("ind.change"): reports.formatted(card["metric"], card["change"], reports.format_change),
            ui.tr("ind.yoy"): reports.formatted(card["metric"], card["yoy_change"], reports.format_change)}))
    with st.expander(ui.tr("ind.set_target", metric=names[chosen], period=period.label)):
        row = card.set_index("metric").loc[chosen]
        cols = st.columns(3)
        minimum = cols[0].number_input(ui.tr("ind.minimum"), value=None if pd.isna(row["minimum"]) else float(row["minimum"]), key="i_t_min")
        target = cols[1].number_input(ui.tr("ind.target"), value=None if pd.isna(row["target"]) else float(row["target"]), key="i_t_target")
        stretch = cols[2].number_input(ui.tr("ind.stretch"), value=None if pd.isna(row["stretch"]) else float(row["stretch"]), key="i_t_stretch")
        if st.button(ui.tr("ind.save_target"), key="i_t_save") and target is not None:
            ui.act(store, lambda s: metrics.set_target(s, ui.acting_user(), chosen, grain, period, target, minimum, stretch,
                                                       None if pd.isna(row["target_version"]) else int(row["target_version"])),
                   "ind.saved")


def show_funnel() -> None:
    first, end = choices[-1].start, period.end
    for title, frame in ((ui.tr("ind.funnel.accounts"), ui.cached(funnel.account_funnel, store, first, end, filters)),
                         (ui.tr("ind.funnel.users"), ui.cached(funnel.user_funnel, store, first, end, filters))):
        st.markdown(f"**{title}**")
        shown = frame.assign(label=frame["step"].map(lambda s: ui.tr(f"ind.step.{s}")))
        left, right = st.columns([3, 2])
        left.altair_chart(alt.Chart(shown).mark_bar().encode(
            y=alt.Y("label:N", sort=list(shown["label"]), title=None), x=alt.X("count:Q", title=ui.tr("ind.count")),
            tooltip=["label", "count", alt.Tooltip("from_previous:Q", format=".1%"), alt.Tooltip("from_top:Q", format=".1%")]),
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
        tooltip=["cohort", "cohort_size", since, alt.Tooltip("share:Q", format=".1%")]), width="stretch")


def show_cohorts() -> None:
    left, right = st.columns(2)
    with left:
        basis = st.radio(ui.tr("ind.cohort.basis"), ["logo", "revenue"], horizontal=True, key="i_basis",
                         format_func=lambda b: ui.tr(f"ind.cohort.{b}"))
        months = periods_between(Grain.month, filters.date_from, filters.date_to)
        frame = ui.cached(cohorts.customer_cohorts, store, months[0].start, months[-1].start, basis, filters)
        st.caption(ui.tr("ind.cohort.caption"))
        if frame.empty:
            st.info(ui.tr("ind.no_data"))
        else:
            heat_map(frame, "months_since", ui.tr("ind.cohort.months_since"), ui.tr("ind.cohort.cohort"))
    with right:
        mode = st.radio(ui.tr("ind.users.mode"), ["on", "on_or_after"], horizontal=True, key="i_user_mode",
                        format_func=lambda m: ui.tr(f"ind.users.{m}"))
        weeks = periods_between(Grain.week, max(filters.date_from, filters.date_to - dt.timedelta(weeks=16)), filters.date_to)
        users = ui.cached(cohorts.user_retention, store, weeks[0].start, weeks[-1].start, mode, filters)
        st.caption(ui.tr("ind.users.caption"))
        if users.empty:
            st.info(ui.tr("ind.no_data"))
        else:
            heat_map(users, "weeks_since", ui.tr("ind.users.weeks_since"), ui.tr("ind.users.cohort"))


def show_catalogue() -> None:
    search = st.text_input(ui.tr("ind.search"), key="i_search")
    table = ui.cached(metrics.catalogue, store, lang)
    if search.strip():
        needle = search.strip().lower()
        table = table[table.apply(lambda r: needle in " ".join(map(str, r.values)).lower(), axis=1)]
    ui.table(table.drop(columns=["version"]).rename(columns={"name": ui.tr("ind.metric")}))  # not a customer's name
    with st.form("i_edit_definition"):
        key = st.selectbox(ui.tr("ind.metric"), list(metrics.BY_KEY), format_func=lambda k: names[k], key="i_edit_key")
        current = ui.cached(metrics.catalogue, store, lang).set_index("key").loc[key]
        owner = st.text_input(ui.tr("ind.owner"), value=current["owner"])
        description = st.text_area(ui.tr("ind.definition"), value=current["definition"])
        if st.form_submit_button(ui.tr("ind.save_definition")):
            ui.act(store, lambda s: metrics.edit_definition(s, ui.acting_user(), key, owner, description, int(current["version"])),
                   "ind.saved")


def show_history() -> None:
    if st.button(ui.tr("ind.snapshot", period=period.label), key="i_snapshot"):
        ui.act(store, lambda s: snapshot.take(s, ui.acting_user(), grain, period), "ind.snapshot_done", period=period.label)
    span = tuple(p.start for p in choices)
    today = ui.cached(metrics.compute, store, grain, choices[-1].start, period.end, filters, None, None,
                      tuple(m.key for m in metrics.LEVEL1))
    compared = snapshot.against_today(today, ui.cached(snapshot.reported, store, grain, list(span)))
    compared = compared[compared["taken_at"].notna()]
    if compared.empty:
        st.info(ui.tr("ind.no_snapshots"))
        return
    st.caption(ui.tr("ind.differences", count=int(compared["differs"].sum())))
    ui.table(pd.DataFrame({
        ui.tr("ind.period"): compared["period"], ui.tr("ind.metric"): compared["metric"].map(names),
        ui.tr("ind.reported"): reports.formatted(compared["metric"], compared["reported"]),
        ui.tr("ind.today"): reports.formatted(compared["metric"], compared["value"]),
        ui.tr("ind.differs"): compared["differs"].map({True: "⚠️", False: ""}),
        ui.tr("ind.taken_at"): compared["taken_at"].astype(str)}))


def show_reports() -> None:
    kind = st.radio(ui.tr("ind.report.kind"), list(reports.KINDS), horizontal=True, key="i_report_kind",
                    format_func=lambda k: ui.tr(f"ind.report.{k}"))
    report = ui.cached(reports.build, store, kind, grain, period, filters, None, lang)
    left, right = st.columns(2)
    left.download_button(ui.tr("ind.report.md"), report.to_markdown().encode("utf-8"), f"{kind}-{period.label}.md",
                         mime="text/markdown", key="i_dl_md", on_click="ignore")
    right.download_button(ui.tr("ind.report.html"), report.to_html().encode("utf-8"), f"{kind}-{period.label}.html",
                          mime="text/html", key="i_dl_html", on_click="ignore")
    st.markdown(report.to_markdown())


ui.lazy_tabs({
    "ind.tab.scorecard": show_scorecard,
    "ind.tab.funnel": show_funnel,
    "ind.tab.cohorts": show_cohorts,
    "ind.tab.catalogue": show_catalogue,
    "ind.tab.history": show_history,
    "ind.tab.reports": show_reports,
}, "i_tab")
