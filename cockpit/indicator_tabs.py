"""The indicator page's tabs: the scorecard with its drill-down and targets, the double funnel,
cohort retention, the metric catalogue, month-close history and the downloadable reports.

Each tab reads one ``View`` (the grain, period and segment chosen above it); only the open tab is drawn.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import edits, settings_page, ui
from ops_core import alerts, cohorts, drill, funnel, indicators, metrics, present, reports, settings, snapshot
from ops_core.filters import SEGMENT_FIELDS, Filters
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
    values: pd.DataFrame      # every metric over the scorecard's periods and those of ``choices`` up to ``period``


def draw(ctx: View) -> None:
    """The tab bar, and the open tab's content."""
    ui.lazy_tabs(TABS, "i_tab", ctx)


def show_scorecard(ctx: View) -> None:
    lang = ui.language()
    level1 = ctx.card[ctx.card["level"] == 1]
    columns = st.columns(4)
    for i, row in enumerate(level1.itertuples()):
        m = metrics.BY_KEY[row.metric]
        delta = None if pd.isna(row.change) else reports.format_change(m, row.change, lang)
        known_on = indicators.pending_until(row.metric, row.value, ctx.period.end)
        pending = known_on is not None
        if pending:  # its window is still open: the tile says on which day it closes, in grey under the n/a
            delta = ui.tr("ind.judged_on", day=known_on.isoformat())
        columns[i % 4].metric(
            f"{STATUS_ICON[row.status]} {ctx.names[row.metric]}", reports.tile_value(m, row.value, lang), delta=delta,
            delta_color="off" if pending else "normal" if m.direction is metrics.Direction.up else "inverse",
            delta_arrow="off" if pending else "auto",
            chart_data=[v for v in row.trend if pd.notna(v)], border=True,
            help=f"**{reports.format_value(m, row.value, lang)}** · {m.definition_in(lang)} "
                 f"{ui.tr('ind.target')}: {reports.format_value(m, row.target, lang)} "
                 f"({reports.target_basis(m, row.basis, row.monthly, ctx.grain, lang)})")
    ttm = ui.cached(drill.trailing_retention, ctx.store, ctx.period, ctx.filters)
    st.caption(ui.tr("drill.ttm", start=ttm["start"].isoformat(), end=ttm["end"].isoformat(),
                     nrr=reports.format_value(metrics.BY_KEY["nrr"], ttm["nrr"], lang),
                     grr=reports.format_value(metrics.BY_KEY["grr"], ttm["grr"], lang)))
    chosen = ui.choice(st.selectbox, ui.tr("ind.choose"), list(ctx.card["metric"]), format_func=lambda k: f"{'·' * (metrics.BY_KEY[k].level - 1)} {ctx.names[k]}",
                          key="i_metric")
    metric = metrics.BY_KEY[chosen]
    kids = ctx.card[ctx.card["metric"].isin([m.key for m in metrics.components(chosen)])]
    if len(kids):
        st.markdown(f"**{ui.tr('ind.children')}**")
        ui.table(pd.DataFrame({ui.tr("ind.metric"): kids["metric"].map(ctx.names),
                               ui.tr("ind.value"): reports.formatted(kids["metric"], kids["value"], lang=lang),
                               ui.tr("ind.change"): reports.formatted(kids["metric"], kids["change"], reports.format_change, lang)}))
    left, right = st.columns(2)
    trend = every_metric(ctx)
    trend = trend[trend["metric"] == chosen]
    goals = ui.cached(metrics.targets, ctx.store, ctx.grain, tuple(periods_between(ctx.grain, ctx.choices[-1].start, ctx.period.end)))
    goals = goals[goals["metric"] == chosen]
    trend = trend.assign(value=metrics.in_display_units(metric, trend["value"]))
    goals = goals.assign(target=metrics.in_display_units(metric, goals["target"]))
    with left:
        st.markdown(f"**{ui.tr('ind.trend', metric=ctx.names[chosen])}**")
        rate = metric.unit is metrics.Unit.ratio
        drawn = pd.concat([trend["value"], goals["target"]])  # the axis spans the line and its target
        scale, axis = ui.rate_axis(drawn) if rate else (alt.Scale(zero=False), ui.number_axis(drawn, None))
        base = alt.Chart(trend.assign(period_start=pd.to_datetime(trend["period_start"])))
        line = base.mark_line(point=True).encode(x=alt.X("period_start:T", title=ui.tr(f"ind.grain.{ctx.grain.value}")),
                                                 y=alt.Y("value:Q", title=ctx.names[chosen], scale=scale, axis=axis),
                                                 tooltip=[alt.Tooltip("period:N", title=ui.tr("ind.period")),
                                                          alt.Tooltip("value:Q", title=ctx.names[chosen], format=axis.format)])
        target_line = alt.Chart(goals.assign(period_start=pd.to_datetime(goals["period_start"]))).mark_line(
            strokeDash=[4, 4], color="#e45756").encode(x="period_start:T", y=alt.Y("target:Q", scale=scale))
        st.altair_chart(ui.localised(line + target_line if goals["target"].notna().any() else line), width="stretch")
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
            lead = metrics.leading_segment(parts, ctx.card.set_index("metric").at[chosen, "change"])
            mover = str(parts.iloc[0]["segment"] if lead is None else lead["segment"])
            st.caption(ui.tr("ind.mover", segment=mover))
            # A rate's contributions are percentage points, an amount's are yuan: the axis says which.
            if metric.unit is metrics.Unit.ratio:
                parts = parts.assign(contribution=parts["contribution"] * 100)
            unit = {metrics.Unit.ratio: "ind.unit.points", metrics.Unit.cents: "ind.unit.yuan"}.get(metric.unit)
            title = ui.tr("ind.contribution") + (ui.tr(unit) if unit else "")
            axis = ui.number_axis(parts["contribution"], title)
            st.altair_chart(ui.localised(alt.Chart(parts).mark_bar().encode(
                y=alt.Y("segment:N", sort="-x", title=None),
                x=alt.X("contribution:Q", title=title, axis=axis),
                color=alt.condition(alt.datum.segment == mover, alt.value("#f58518"), alt.value("#4c78a8")),
                tooltip=[alt.Tooltip("segment:N", title=ui.tr(f"ind.segment.{ctx.segment}")),
                         alt.Tooltip("contribution:Q", title=title, format=axis.format)])),
                width="stretch")
    behind(ctx, chosen)
    with st.expander(ui.tr("ind.all_metrics")):
        ui.table(pd.DataFrame({
            ui.tr("ind.metric"): ctx.card["metric"].map(ctx.names), ui.tr("ind.level"): ctx.card["level"],
            ui.tr("ind.value"): reports.formatted(ctx.card["metric"], ctx.card["value"], lang=lang),
            ui.tr("ind.target"): reports.formatted(ctx.card["metric"], ctx.card["target"], lang=lang),
            ui.tr("ind.variance"): reports.formatted(ctx.card["metric"], ctx.card["variance"], reports.format_difference, lang),
            ui.tr("ind.status"): ctx.card["status"].map(lambda s: f"{STATUS_ICON[s]} {reports.status_label(s, lang)}"),
            ui.tr("ind.change"): reports.formatted(ctx.card["metric"], ctx.card["change"], reports.format_change, lang),
            ui.tr("ind.yoy"): reports.formatted(ctx.card["metric"], ctx.card["yoy_change"], reports.format_change, lang)}))
    if ui.may_edit():
        with st.expander(ui.tr("ind.set_target", metric=ctx.names[chosen], period=ctx.period.label)):
            record = f"target:{chosen}:{ctx.grain.value}:{ctx.period.start}"
            stored = ctx.card.set_index("metric").loc[chosen]
            row = edits.seen(record, {k: None if pd.isna(stored[k]) else float(stored[k]) for k in ("minimum", "target", "stretch")}
                             | {"version": None if pd.isna(stored["target_version"]) else int(stored["target_version"])})
            edits.notice(record)
            st.caption(ui.tr("ind.target_basis",
                             basis=reports.target_basis(metric, stored["basis"], stored["monthly"], ctx.grain, lang)))
            cols = st.columns(3)
            widget = f"i_t_{chosen}_{ctx.grain.value}_{ctx.period.start}_"  # one set of inputs per metric and period
            # A rate is typed in percent (85, not 0.85), as the scorecard shows it; stored as a fraction.
            scale, unit = (100.0, " (%)") if metric.unit is metrics.Unit.ratio else (1.0, "")

            def typed(column: int, name: str, suffix: str) -> float | None:
                shown = None if row[name] is None else round(row[name] * scale, 6)
                value = cols[column].number_input(ui.tr(f"ind.{name}") + unit, value=shown,
                                                  key=edits.key(record, f"{widget}{suffix}"))
                return None if value is None else round(value / scale, 9)

            minimum, target, stretch = typed(0, "minimum", "min"), typed(1, "target", "target"), typed(2, "stretch", "stretch")
            if st.button(ui.tr("ind.save_target"), key="i_t_save") and target is not None:
                edits.save(ctx.store, record, lambda s: metrics.set_target(s, ui.acting_user(), chosen, ctx.grain, ctx.period, target, minimum,
                                                                           stretch, row["version"]),
                           "ind.saved", target_fields(metric), widgets=(widget,),
                           changed=row["version"] is None or (minimum, target, stretch) != (row["minimum"], row["target"], row["stretch"]))
    alert_rules(ctx)


DRILL_ROWS = 200  # rows a list shows; its files hold every row


def mrr_waterfall(ctx: View) -> None:
    """The period's MRR bridge as a waterfall: start, each movement floating up or down, end (yuan)."""
    bridge = ui.cached(indicators.mrr_movements, ctx.store, [ctx.period], ctx.filters).iloc[0]
    steps = drill.waterfall(bridge)
    steps = steps.assign(label=steps["step"].map(lambda s: ui.tr(f"drill.step.{s}")), low=steps["low"] / 100,
                         high=steps["high"] / 100, amount=steps["amount"] / 100,
                         kind=steps["kind"].map(lambda k: ui.tr(f"drill.kind.{k}")))
    st.markdown(f"**{ui.tr('drill.waterfall', period=ctx.period.label)}**")
    colours = alt.Scale(domain=[ui.tr(f"drill.kind.{k}") for k in ("level", "up", "down")],
                        range=["#4c78a8", "#54a24b", "#e45756"])
    # The axis starts near the lowest level the bridge reaches, not at zero: the movements are a few per
    # cent of MRR and would be slivers on a bar from zero (the start and end bars are cut, as the axis says).
    moving = steps[steps["step"].isin(["new", "expansion", "reactivation", "contraction", "churn"])]
    floor = min(steps["high"].iloc[0], steps["high"].iloc[-1], moving["low"].min())
    span = max(steps["high"].max() - floor, 1.0)
    scale = alt.Scale(domain=[max(0.0, floor - span * 0.5), steps["high"].max() + span * 0.1], clamp=True, zero=False)
    st.altair_chart(ui.localised(alt.Chart(steps).mark_bar(clip=True).encode(
        x=alt.X("label:N", sort=list(steps["label"]), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("low:Q", title=ui.tr("drill.mrr_yuan"), axis=ui.yuan_axis(ui.tr("drill.mrr_yuan")), scale=scale),
        y2="high:Q",
        color=alt.Color("kind:N", scale=colours, title=None),
        tooltip=[alt.Tooltip("label:N", title=ui.tr("drill.step")),
                 alt.Tooltip("amount:Q", title=ui.tr("drill.amount_yuan"), format=",.2f")])), width="stretch")


# A breakdown's segment that a filter can keep (ops_core.filters): the lists behind a metric narrow to it.
NARROWING = {spec.column.removesuffix("_id"): spec for spec in SEGMENT_FIELDS}


def segment_choice(ctx: View, chosen: str) -> object | None:
    """The segment of the breakdown whose rows the lists show (None: every segment of the view)."""
    spec = NARROWING.get(ctx.segment)
    if spec is None:
        return None
    parts = ui.cached(metrics.breakdown, ctx.store, chosen, ctx.grain, ctx.period, ctx.segment, ctx.filters)
    options = [None, *[v for v in parts["segment"] if not present.missing(v)]]
    return ui.choice(st.selectbox, ui.tr("drill.segment", segment=ui.tr(f"ind.segment.{ctx.segment}")), options,
                     key=f"i_drill_segment_{chosen}_{ctx.segment}",
                     format_func=lambda v: ui.tr("drill.every_segment") if v is None else ui.segment_label(ctx.segment, v))


def narrowed(ctx: View, value: object | None) -> Filters:
    """The view's filters kept to one segment of the breakdown."""
    if value is None:
        return ctx.filters
    spec = NARROWING[ctx.segment]
    return dataclasses.replace(ctx.filters, **{spec.name: (int(value) if spec.vocabulary is None else value,)})


def trail(ctx: View, chosen: str, value: object | None, *more: str) -> str:
    """Where the reader stands: metric › period › segment › … (the breadcrumb of the lists)."""
    steps = [ctx.names[chosen], ctx.period.label]
    if value is not None:
        steps.append(ui.segment_label(ctx.segment, value))
    return " › ".join([*steps, *more])


def customer_timeline(ctx: View, chosen: str, name: str, row: pd.Series, value: object | None = None) -> None:
    """One customer of a list: where the reader came from (metric › period › segment › list ›
    customer) and the customer's MRR month by month over two years, in yuan."""
    code = str(row["customer_code"] if "customer_code" in row else row["code"])
    title = str(row["customer_name"] if "customer_name" in row else row["name"])
    st.markdown(trail(ctx, chosen, value, ui.tr(f"drill.list.{name}"), f"**{code} {title}**"))
    line = ui.cached(drill.customer_timeline, ctx.store, code, ctx.period)
    line = line.assign(month=pd.to_datetime(line["month"]), mrr=line["mrr"] / 100)
    st.altair_chart(ui.localised(alt.Chart(line).mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("month:T", title=ui.tr("ind.grain.month")),
        y=alt.Y("mrr:Q", title=ui.tr("drill.mrr_yuan"), axis=ui.yuan_axis(ui.tr("drill.mrr_yuan"))),
        tooltip=[alt.Tooltip("yearmonth(month):T", title=ui.tr("ind.grain.month")),
                 alt.Tooltip("mrr:Q", title=ui.tr("drill.mrr_yuan"), format=",.2f")])), width="stretch")


def behind(ctx: View, chosen: str) -> None:
    """The lists behind the chosen metric (ops_core.drill): each with its count, its rows in yuan and
    labels, and its CSV and Excel files; a renewals list also says how the due contracts renewed."""
    names = drill.lists_for(chosen)
    if not names:
        return
    if set(names) & set(indicators.MOVEMENTS):
        mrr_waterfall(ctx)
    st.markdown(f"**{ui.tr('drill.title', metric=ctx.names[chosen], period=ctx.period.label)}**")
    value = segment_choice(ctx, chosen)
    filters = narrowed(ctx, value)
    st.caption(trail(ctx, chosen, value))
    tabs = st.tabs([ui.tr(f"drill.list.{name}") for name in names]) if len(names) > 1 else [st.container()]
    for name, tab in zip(names, tabs, strict=True):
        with tab:
            found = ui.cached(drill.rows, ctx.store, name, ctx.period, filters)
            if len(names) == 1:
                st.markdown(ui.tr(f"drill.list.{name}"))
            if found.empty:
                st.caption(ui.tr("drill.empty"))
                continue
            if name == "renewals":
                st.caption(ui.tr("drill.outcomes", **drill.outcome_counts(found)))
            st.caption(ui.tr("drill.rows", rows=f"{len(found):,}", shown=f"{min(len(found), DRILL_ROWS):,}") + " "
                       + ui.tr("drill.pick"))
            shown = found.head(DRILL_ROWS)
            picked = ui.table(shown, on_select="rerun", selection_mode="single-row", key=f"i_drill_{chosen}_{name}_{value}")
            rows = picked.selection.rows if picked is not None and hasattr(picked, "selection") else []
            if rows:
                customer_timeline(ctx, chosen, name, shown.iloc[rows[0]], value)
            ui.download_buttons(found, f"{chosen}-{name}-{ctx.period.label}",
                                [ui.tr("drill.title", metric=ctx.names[chosen], period=ctx.period.label),
                                 ui.tr(f"drill.list.{name}"), ui.describe(filters, ctx.store)])


def alert_rules(ctx: View) -> None:
    """The watch list the home page and ``python -m ops_core.metrics alerts`` read: an admin edits it here
    (the settings' form, versioned and audited); anyone else reads it."""
    with st.expander(ui.tr("alerts.rules")):
        st.caption(ui.tr("alerts.rules.help"))
        rows = ui.cached(settings.all_settings, ctx.store).set_index("key")
        if ui.is_admin():
            settings_page.block(settings_page.Page(ctx.store, rows), alerts.RULES_KEY, settings_page.alert_rules)
        else:
            st.markdown(settings_page.value_text(alerts.RULES_KEY, rows.loc[alerts.RULES_KEY, "value"]))


def target_fields(metric: metrics.Metric) -> edits.Fields:
    """A stored target row as its form shows it: minimum, target and stretch in the metric's unit."""
    return lambda stored: [(ui.tr(f"ind.{k}"), None if stored.get(k) is None else reports.format_value(metric, stored[k]))
                           for k in ("minimum", "target", "stretch")]


def definition_fields(key: str) -> edits.Fields:
    """A stored definition as its form shows it: the owner and the text (the registry's where none was edited)."""
    metric = metrics.BY_KEY[key]
    return lambda stored: [(ui.tr("ind.owner"), stored.get("owner") or metric.owner),
                           (ui.tr("ind.definition"), stored.get("description") or metric.definition)]


def show_funnel(ctx: View) -> None:
    first, end = ctx.choices[-1].start, ctx.period.end
    for title, frame in ((ui.tr("ind.funnel.accounts"), ui.cached(funnel.account_funnel, ctx.store, first, end, ctx.filters)),
                         (ui.tr("ind.funnel.users"), ui.cached(funnel.user_funnel, ctx.store, first, end, ctx.filters))):
        st.markdown(f"**{title}**")
        shown = frame.assign(label=frame["step"].map(lambda s: ui.tr(f"ind.step.{s}")))
        left, right = st.columns([3, 2])
        left.altair_chart(ui.localised(alt.Chart(shown).mark_bar().encode(
            y=alt.Y("label:N", sort=list(shown["label"]), title=None), x=alt.X("count:Q", title=ui.tr("ind.count")),
            tooltip=ui.tooltips("label", "count", ("from_previous", ".1%"), ("from_top", ".1%")))),
            width="stretch")
        with right:
            ui.table(shown[["label", "count", "from_previous", "from_top"]], FUNNEL_COLUMNS)


# The double funnel's table: each step, its count and its conversion from the step before and the top.
FUNNEL_COLUMNS = {"label": present.Column("ind.step"), "count": present.Column("ind.count", present.Kind.count),
                  "from_previous": present.Column("ind.from_previous", present.Kind.percent),
                  "from_top": present.Column("ind.from_top", present.Kind.percent)}


def heat_map(frame: pd.DataFrame, since: str, since_title: str, cohort_title: str) -> None:
    st.altair_chart(ui.localised(alt.Chart(frame).mark_rect().encode(
        x=alt.X(f"{since}:O", title=since_title), y=alt.Y("cohort:N", title=cohort_title, sort="ascending"),
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues"), title=ui.tr("ind.cohort.retained")),
        tooltip=ui.tooltips("cohort", "cohort_size", since, ("share", ".1%")))), width="stretch")


def show_cohorts(ctx: View) -> None:
    left, right = st.columns(2)
    with left:
        basis = ui.choice(st.radio, ui.tr("ind.cohort.basis"), ["logo", "revenue"], horizontal=True, key="i_basis",
                         format_func=lambda b: ui.tr(f"ind.cohort.{b}"))
        months = periods_between(Grain.month, ctx.filters.date_from, ctx.filters.date_to)
        # Observed up to the range's last day: a month not over yet (this one) has no cell.
        frame = ui.cached(cohorts.customer_cohorts, ctx.store, months[0].start, months[-1].start, basis, ctx.filters,
                          as_of=ctx.filters.date_to)
        st.caption(ui.tr("ind.cohort.caption"))
        if frame.empty:
            st.info(ui.tr("ind.no_data"))
        else:
            heat_map(frame, "months_since", ui.tr("ind.cohort.months_since"), ui.tr("ind.cohort.cohort"))
    with right:
        mode = ui.choice(st.radio, ui.tr("ind.users.mode"), ["on", "on_or_after"], horizontal=True, key="i_user_mode",
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
    ui.table(table.drop(columns=["version", "key"]).assign(  # the name is a metric's, not a customer's; the parent named
        default_target=reports.formatted(table["key"], table["default_target"])).rename(columns={"name": "metric"}))
    # The metric is picked outside the form, so the owner and definition shown are always the picked metric's.
    key = ui.choice(st.selectbox, ui.tr("ind.metric"), list(metrics.BY_KEY), format_func=lambda k: ctx.names[k], key="i_edit_key")
    record = f"metric_definition:{key}"
    current = edits.seen(record, ui.cached(metrics.catalogue, ctx.store, ui.language()).set_index("key").loc[key])
    if not ui.may_edit():
        ui.read_only_note()
        return
    edits.notice(record)
    with st.form("i_edit_definition"):
        owner = st.text_input(ui.tr("ind.owner"), value=current["owner"], key=edits.key(record, f"i_def_{key}_owner"))
        description = st.text_area(ui.tr("ind.definition"), value=current["definition"], key=edits.key(record, f"i_def_{key}_text"))
        if st.form_submit_button(ui.tr("ind.save_definition"), key="i_def_save"):
            edits.save(ctx.store, record, lambda s: metrics.edit_definition(s, ui.acting_user(), key, owner, description,
                                                                            int(current["version"])),
                       "ind.saved", definition_fields(key), widgets=(f"i_def_{key}_",),
                       changed=(owner.strip(), description.strip()) != (current["owner"], current["definition"]))


def every_metric(ctx: View) -> pd.DataFrame:
    """Every metric over the page's periods up to the chosen one, long form, from the read the scorecard
    came from: the trend of whichever metric is picked and the month-close comparison compute nothing."""
    starts = pd.to_datetime(ctx.values["period_start"]).dt.date
    return ctx.values[(starts >= ctx.choices[-1].start) & (starts <= ctx.period.start)].reset_index(drop=True)


def show_history(ctx: View) -> None:
    if ui.may_edit() and st.button(ui.tr("ind.snapshot", period=ctx.period.label), key="i_snapshot"):
        ui.act(ctx.store, lambda s: snapshot.take(s, ui.acting_user(), ctx.grain, ctx.period), "ind.snapshot_done", period=ctx.period.label)
    span = tuple(p.start for p in ctx.choices)
    today = every_metric(ctx)
    today = today[today["metric"].isin([m.key for m in metrics.LEVEL1])]
    compared = snapshot.against_today(today, ui.cached(snapshot.reported, ctx.store, ctx.grain, list(span)))
    compared = compared[compared["taken_at"].notna()]
    if compared.empty:
        st.info(ui.tr("ind.no_snapshots"))
        return
    st.caption(ui.tr("ind.differences", count=int(compared["differs"].sum())))
    ui.table(pd.DataFrame({
        ui.tr("ind.period"): compared["period"], ui.tr("ind.metric"): compared["metric"].map(ctx.names),
        ui.tr("ind.reported"): reports.formatted(compared["metric"], compared["reported"], lang=ui.language()),
        ui.tr("ind.today"): reports.formatted(compared["metric"], compared["value"], lang=ui.language()),
        ui.tr("ind.differs"): compared["differs"].map({True: "⚠️", False: ""}),
        ui.tr("ind.taken_at"): compared["taken_at"].astype(str)}))


def show_reports(ctx: View) -> None:
    kind = ui.choice(st.radio, ui.tr("ind.report.kind"), list(reports.KINDS), horizontal=True, key="i_report_kind",
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
