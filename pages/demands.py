"""Demand board: demands by status with card actions, a ranked list with the priority breakdown, each
demand's history, customers and loop closing, releases with their notes, and flow metrics."""
from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from ops_core import demand
from ops_core.i18n import label
from ops_core.vocab import DemandSource, DemandStatus, ProductArea, ReleaseStatus, values
from pages import ui

store, filters = ui.page_context()
lang = ui.language()
st.title(ui.tr("nav.demands"))
today = ui.today()
ui.show_flash()


def status_name(status: str) -> str:
    return label(DemandStatus, status, lang)


# --- which demands, ranked how -----------------------------------------------------------------
board = ui.cached(demand.load_board, store, as_of=today)
links = ui.cached(demand.load_links, store)
scores, tiers = ui.current_scores(store, today)
controls = st.columns([2, 2, 2, 2, 2])
sources = controls[0].multiselect(ui.tr("d.source"), values(DemandSource), key="d_sources", placeholder=ui.tr("filters.choose"),
                                  format_func=lambda v: label(DemandSource, v, lang))
owners = controls[1].multiselect(ui.tr("d.owner"), sorted(board["owner"].dropna().unique()), key="d_owners",
                                 placeholder=ui.tr("filters.choose"))
releases = ui.cached(demand.load_releases, store)
release_names = dict(zip(releases["release_id"], releases["version_label"], strict=True))
chosen_releases = controls[2].multiselect(ui.tr("d.release"), list(release_names), key="d_releases",
                                          format_func=lambda r: release_names[r], placeholder=ui.tr("filters.choose"))
tier_names = list(tiers.cat.categories)
chosen_tiers = controls[3].multiselect(ui.tr("d.tiers"), tier_names, key="d_tiers", placeholder=ui.tr("filters.choose"))
method = controls[4].radio(ui.tr("d.method"), [m.value for m in demand.PriorityMethod], key="d_method", horizontal=True,
                           format_func=lambda m: ui.tr(f"d.method.{m}"))
ranked = demand.priority(board, links, scores, method)  # ranked over the whole board, then narrowed
ranked = ranked[ranked["merged_into_id"].isna()]
if sources:
    ranked = ranked[ranked["source"].isin(sources)]
if owners:
    ranked = ranked[ranked["owner"].isin(owners)]
if chosen_releases:
    ranked = ranked[ranked["target_release_id"].isin(chosen_releases)]
if chosen_tiers:
    ranked = ranked[ranked["demand_id"].isin(demand.asked_by(links, tiers.index[tiers.isin(chosen_tiers)]))]
st.caption(ui.tr("d.formula", formula=demand.PRIORITY_FORMULA[demand.PriorityMethod(method)], shown=len(ranked)))



def move(row: pd.Series, to_status: str, reason: str | None = None) -> None:
    """Move one demand from the version it was drawn at; a stale version is refused with the newer values."""
    ui.act(store, lambda s: demand.transition(s, ui.acting_user(), int(row["demand_id"]), int(row["version"]), to_status,
                                    reason=reason, now=dt.datetime.now()), "d.moved")


def move_buttons(row: pd.Series) -> None:
    """The moves this demand allows, each one write."""
    for target in demand.allowed_moves(row["status"]):
        if target == DemandStatus.rejected:
            reason = st.text_input(ui.tr("d.reason"), key=f"d_reason_{row['demand_id']}")
            if st.button(ui.tr("d.reject"), key=f"d_rej_{row['demand_id']}", disabled=not reason.strip()):
                move(row, target, reason)
        elif st.button(f"→ {status_name(target)}", key=f"d_mv_{row['demand_id']}_{target}"):
            move(row, target)


def show_board() -> None:
    per_column = 8
    columns = st.columns(len(demand.FLOW))
    for column, status in zip(columns, demand.FLOW, strict=True):
        cards = ranked[ranked["status"] == status].sort_values("priority", ascending=False)
        column.markdown(f"**{status_name(status)}** ({len(cards)})")
        for _, row in cards.head(per_column).iterrows():
            box = column.container(border=True)
            box.markdown(f"**#{row['demand_id']}** {demand.escape_markdown(str(row['title']))}")
            box.caption(ui.tr("d.card", priority=row["priority"], customers=int(row["customers"]),
                              owner=row["owner"] if isinstance(row["owner"], str) else "—"))
            if status != DemandStatus.released:
                with box.popover(ui.tr("d.move"), width="stretch"):
                    move_buttons(row)
        if len(cards) > per_column:
            column.caption(ui.tr("d.more", count=len(cards) - per_column))
    rejected = int((ranked["status"] == DemandStatus.rejected).sum())
    st.caption(ui.tr("d.rejected", count=rejected))


def show_list() -> None:
    breakdown = [c for c in ("customer_value", "from_customer_value", "from_customers", "from_feedback", "from_urgency",
                             "reach", "impact", "confidence") if c in ranked.columns]
    shown = ranked[["rank", "demand_id", "title", "status", "source", "owner", "target_release", "customers",
                    "feedback_items", "effort_used", "priority", *breakdown]].assign(
        status=lambda f: f["status"].map(status_name), source=lambda f: f["source"].map(lambda v: label(DemandSource, v, lang)))
    picked = ui.grid(shown.rename(columns=lambda c: ui.tr(f"d.col.{c}")), key="d_grid", page_size=50, selectable=True)
    typed = st.number_input(ui.tr("d.go_to"), min_value=0, value=0, step=1, key="d_go_to")  # 0: none
    demand_id = int(typed) if typed else int(picked[ui.tr("d.col.demand_id")]) if picked is not None else None
    if demand_id is None or demand_id not in set(board["demand_id"]):
        st.info(ui.tr("d.pick"))
        return
    row = board.set_index("demand_id").loc[demand_id]
    st.subheader(f"#{demand_id} {row['title']}")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{ui.tr('d.history')}**")
        ui.table(ui.cached(demand.history, store, demand_id).assign(
            from_status=lambda f: f["from_status"].map(lambda v: status_name(v) if isinstance(v, str) else ""),
            to_status=lambda f: f["to_status"].map(status_name)))
        with st.form(f"d_edit_{demand_id}"):
            owner = st.text_input(ui.tr("d.owner"), value=row["owner"] if isinstance(row["owner"], str) else "")
            effort = st.number_input(ui.tr("d.effort"), min_value=0.0, value=float(row["effort_days"]) if pd.notna(row["effort_days"]) else 0.0)
            urgency = st.select_slider(ui.tr("d.urgency"), demand.URGENCY_LEVELS, value=int(row["urgency"]))
            release = st.selectbox(ui.tr("d.release"), [None, *release_names], format_func=lambda r: release_names.get(r, "—"),
                                   index=([None, *release_names].index(row["target_release_id"]) if pd.notna(row["target_release_id"]) else 0))
            if st.form_submit_button(ui.tr("d.save")):
                ui.act(store, lambda s: demand.update(s, ui.acting_user(), demand_id, int(row["version"]), {
                    "owner": owner.strip() or None, "effort_days": effort or None, "urgency": urgency,
                    "target_release_id": release}), "d.saved")
    with right:
        if row["status"] == DemandStatus.released:
            inform = ui.cached(demand.to_inform, store, demand_id)
            st.markdown(f"**{ui.tr('d.inform')}**")
            ui.table(inform[["csm", "customer_code", "customer", "feedback_items", "informed_at"]])
            pending = inform.loc[inform["informed_at"].isna(), "customer_id"].astype(int).tolist()
            if st.button(ui.tr("d.mark_informed", count=len(pending)), key="d_inform", disabled=not pending):
                ui.act(store, lambda s: demand.mark_informed(s, ui.acting_user(), demand_id, pending, now=dt.datetime.now()), "d.informed")
        else:
            st.markdown(f"**{ui.tr('d.asking')}**")
            ui.table(ui.cached(demand.to_inform, store, demand_id)[["csm", "customer_code", "customer", "feedback_items"]])
            move_buttons(pd.Series({**row.to_dict(), "demand_id": demand_id}))


def show_releases() -> None:
    if releases.empty:
        st.info(ui.tr("d.no_releases"))
    else:
        release_id = st.selectbox(ui.tr("d.release"), list(release_names), format_func=lambda r: release_names[r], key="d_rel")
        current = releases.set_index("release_id").loc[release_id]
        draft = current["notes"] if isinstance(current["notes"], str) and current["notes"].strip() else \
            ui.cached(demand.release_notes, store, int(release_id))
        notes = st.text_area(ui.tr("d.notes"), value=draft, height=260, key=f"d_notes_{release_id}")
        st.caption(ui.tr("d.release_state", status=label(ReleaseStatus, current["status"], lang), date=current["release_date"],
                         demands=int(current["demands"]), released=int(current["released"])))
        left, middle, right = st.columns(3)
        if current["status"] != ReleaseStatus.released and middle.button(ui.tr("d.ship"), key="d_ship"):
            ui.act(store, lambda s: demand.ship_release(s, ui.acting_user(), int(release_id), int(current["version"]), on=today),
                   "d.shipped")
        if left.button(ui.tr("d.save_notes"), key="d_save_notes"):
            ui.act(store, lambda s: demand.save_release_notes(s, ui.acting_user(), int(release_id), int(current["version"]), notes), "d.saved")
        right.download_button(ui.tr("d.download_notes"), notes.encode("utf-8"), f"release-{current['version_label']}.md",
                              mime="text/markdown", key="d_dl_notes", on_click="ignore")
    with st.expander(ui.tr("d.new_release")):
        with st.form("d_new_release"):
            version_label = st.text_input(ui.tr("d.version_label"))
            date = st.date_input(ui.tr("d.release_date"), value=today)
            if st.form_submit_button(ui.tr("d.create")):
                ui.act(store, lambda s: demand.create_release(s, ui.acting_user(), {"version_label": version_label.strip(),
                                                                          "release_date": date, "status": "planned"}), "d.saved")
    st.markdown(f"**{ui.tr('d.catalogue')}**")
    ui.table(ui.cached(demand.catalogue, store)[["state", "title", "product_area", "version_label", "release_date"]])


def show_flow() -> None:
    flow = ui.cached(demand.flow_metrics, store, today)
    left, mid, right = st.columns(3)
    with left:
        st.markdown(f"**{ui.tr('d.wip')}**")
        st.altair_chart(alt.Chart(flow["wip"].assign(status=flow["wip"]["status"].map(status_name))).mark_bar().encode(
            y=alt.Y("status:N", sort=None, title=None), x=alt.X("demands:Q", title=ui.tr("d.col.count"))), width="stretch")
    with mid:
        st.markdown(f"**{ui.tr('d.cycle')}**")
        cycle = flow["cycle_time"].assign(month=lambda f: pd.to_datetime(f["month"]))
        st.altair_chart(alt.Chart(cycle).transform_fold(["median_days", "p90_days"]).mark_line(point=True).encode(
            x=alt.X("month:T", title=None), y=alt.Y("value:Q", title=ui.tr("d.days")), color=alt.Color("key:N", title=None)),
            width="stretch")
    with right:
        st.markdown(f"**{ui.tr('d.by_source')}**")
        by_source = flow["by_source"].assign(month=lambda f: pd.to_datetime(f["month"]),
                                             source=lambda f: f["source"].map(lambda v: label(DemandSource, v, lang)))
        st.altair_chart(alt.Chart(by_source).mark_bar().encode(
            x=alt.X("month:T", title=None), y=alt.Y("demands:Q", title=ui.tr("d.col.count")), color=alt.Color("source:N", title=None)),
            width="stretch")


def show_new() -> None:
    customers = ui.cached(demand.customer_choices, store)
    names = dict(zip(customers["customer_id"], customers["code"] + " · " + customers["name"], strict=True))
    with st.form("d_new"):
        title = st.text_input(ui.tr("d.title"))
        description = st.text_area(ui.tr("d.description"))
        cols = st.columns(4)
        source = cols[0].selectbox(ui.tr("d.source"), values(DemandSource), format_func=lambda v: label(DemandSource, v, lang))
        area = cols[1].selectbox(ui.tr("d.area"), values(ProductArea), format_func=lambda v: label(ProductArea, v, lang))
        owner = cols[2].text_input(ui.tr("d.owner"))
        urgency = cols[3].select_slider(ui.tr("d.urgency"), demand.URGENCY_LEVELS, value=2)
        cols = st.columns(2)
        effort = cols[0].number_input(ui.tr("d.effort"), min_value=0.0, value=0.0, step=0.5)
        competitor = cols[1].text_input(ui.tr("d.competitor"))
        asking = st.multiselect(ui.tr("d.asking"), list(names), format_func=lambda c: names[c], placeholder=ui.tr("filters.choose"))
        if st.form_submit_button(ui.tr("d.create")):
            ui.act(store, lambda s: demand.create(s, ui.acting_user(), {"title": title, "description": description, "source": source,
                                                              "product_area": area, "owner": owner.strip() or None,
                                                              "urgency": urgency, "effort_days": effort or None,
                                                              "competitor_ref": competitor.strip() or None},
                                                  asking, now=dt.datetime.now()), "d.created")


ui.lazy_tabs({
    "d.tab.board": show_board,
    "d.tab.list": show_list,
    "d.tab.releases": show_releases,
    "d.tab.flow": show_flow,
    "d.tab.new": show_new,
}, "d_tab")
