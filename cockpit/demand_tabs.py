"""The demand board's tabs: the board by status with card moves, the ranked list with one demand's
history, edits and loop closing, releases and their notes, flow metrics, and a new demand.

Each tab reads one ``Board`` (what the page above it computed); only the open tab is drawn.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import edits, ui
from ops_core import demand, present
from ops_core.i18n import label
from ops_core.vocab import DemandSource, DemandStatus, ProductArea, ReleaseStatus, values


@dataclass(frozen=True)
class Board:
    """The demand page's state a tab needs: the whole board, the ranked and narrowed list, releases."""

    store: Engine
    today: dt.date
    board: pd.DataFrame     # every demand (demand.load_board)
    ranked: pd.DataFrame    # ranked over the whole board, then narrowed by the page's controls
    releases: pd.DataFrame  # demand.load_releases
    release_names: dict[int, str]


def draw(b: Board) -> None:
    """The tab bar, and the open tab's content; a link to one demand opens it on the ranked list."""
    ui.open_from_link(ui.DEMAND_LINK, "d_go_to", "d_tab", "d.tab.list")
    ui.lazy_tabs(TABS, "d_tab", b, editing=("d.tab.new",))


def show_linked_feedback(b: Board, demand_id: int, shown: int = 20) -> None:
    """The feedback items routed to this demand, each a link that opens it on the feedback page."""
    linked = ui.cached(demand.linked_feedback, b.store, demand_id)
    if linked.empty:
        st.caption(ui.tr("d.no_linked_feedback"))
        return
    with st.expander(ui.tr("d.linked_feedback", count=len(linked)), expanded=len(linked) <= 5):
        for item in linked.head(shown).itertuples():
            text = item.text if len(item.text) <= 60 else item.text[:59] + "…"
            ui.link_to("pages/feedback.py", ui.FEEDBACK_LINK, item.feedback_id,
                       ui.tr("d.feedback_link", id=item.feedback_id, customer=item.customer_name or "—", text=text))
        if len(linked) > shown:
            st.caption(ui.tr("d.more_feedback", count=len(linked) - shown))


def status_name(status: str) -> str:
    return label(DemandStatus, status, ui.language())


def demand_record(demand_id: int) -> str:
    return f"demand:{demand_id}"


def demand_fields(b: Board) -> edits.Fields:
    """A stored demand as its forms show it: owner, effort, urgency, release by name, status by label."""
    def fields(stored: Mapping[str, Any]) -> list[tuple[str, Any]]:
        release = stored.get("target_release_id")
        return [(ui.tr("d.title"), stored.get("title")), (ui.tr("d.owner"), stored.get("owner")),
                (ui.tr("d.effort"), stored.get("effort_days")),
                (ui.tr("d.urgency"), stored.get("urgency")),
                (ui.tr("d.release"), None if release is None else b.release_names.get(int(release), release)),
                (ui.tr("d.col.status"), status_name(stored["status"]))]
    return fields


def move(b: Board, row: Mapping[str, Any], to_status: str, reason: str | None = None, release_id: int | None = None) -> None:
    """Move one demand from the version its reader saw; a stale version is refused with the newer values."""
    demand_id = int(row["demand_id"])
    edits.save(b.store, demand_record(demand_id),
               lambda s: demand.transition(s, ui.acting_user(), demand_id, int(row["version"]), to_status,
                                           reason=reason, now=dt.datetime.now(), release_id=release_id),
               "d.moved", demand_fields(b))


def shipped_releases(b: Board) -> dict[int, str]:
    """The releases a demand may be released into: those that have shipped, newest first."""
    shipped = b.releases[b.releases["status"] == ReleaseStatus.released]
    return dict(zip(shipped["release_id"].astype(int), shipped["version_label"], strict=True))


def move_buttons(b: Board, current: pd.Series) -> None:
    """The moves this demand allows from the status its reader saw, each one write; released asks which
    shipped release it went out in."""
    row = edits.seen(demand_record(int(current["demand_id"])), current)
    for target in demand.allowed_moves(row["status"]):
        if target == DemandStatus.released:
            shipped = shipped_releases(b)
            if not shipped:
                st.caption(ui.tr("d.no_shipped_release"))
                continue
            own = row["target_release_id"]
            options = list(shipped)
            # No release is assumed: the reader picks the one it shipped in (its target release, if shipped).
            chosen = st.selectbox(ui.tr("d.shipped_in"), options, format_func=shipped.get, key=f"d_ship_in_{row['demand_id']}",
                                  index=options.index(int(own)) if pd.notna(own) and int(own) in shipped else None,
                                  placeholder=ui.tr("d.choose_release"))
            if st.button(f"→ {status_name(target)}", key=f"d_mv_{row['demand_id']}_{target}", disabled=chosen is None):
                move(b, row, target, release_id=chosen)
        elif target == DemandStatus.rejected:
            reason = st.text_input(ui.tr("d.reason"), key=f"d_reason_{row['demand_id']}")
            if st.button(ui.tr("d.reject"), key=f"d_rej_{row['demand_id']}", disabled=not reason.strip()):
                move(b, row, target, reason)
        elif st.button(f"→ {status_name(target)}", key=f"d_mv_{row['demand_id']}_{target}"):
            move(b, row, target)


def show_board(b: Board) -> None:
    edits.notices("demand:")  # a move refused in a card's menu (closed on the rerun) is told here, above the board
    per_column = 8
    columns = st.columns(len(demand.FLOW))
    for column, status in zip(columns, demand.FLOW, strict=True):
        cards = b.ranked[b.ranked["status"] == status].sort_values("priority", ascending=False)
        column.markdown(f"**{status_name(status)}** ({len(cards)})")
        for _, row in cards.head(per_column).iterrows():
            box = column.container(border=True)
            box.markdown(f"**#{row['demand_id']}** {demand.escape_markdown(str(row['title']))}")
            box.caption(ui.tr("d.card", priority=row["priority"], customers=int(row["customers"]),
                              owner=row["owner"] if isinstance(row["owner"], str) else "—"))
            if status != DemandStatus.released and ui.may_edit():
                # A card's moves are drawn only while its menu is open: forty cards' buttons, selectors and
                # reason fields were half of what every visit of the board sent and drew.
                menu = box.popover(ui.tr("d.move"), width="stretch", key=f"d_menu_{row['demand_id']}", on_change="rerun")
                if menu.open:
                    with menu:
                        move_buttons(b, row)
        if len(cards) > per_column:
            column.caption(ui.tr("d.more", count=len(cards) - per_column))
    rejected = int((b.ranked["status"] == DemandStatus.rejected).sum())
    st.caption(ui.tr("d.rejected", count=rejected))


def show_list(b: Board) -> None:
    breakdown = [c for c in ("customer_value", "from_customer_value", "from_customers", "from_feedback", "from_urgency",
                             "reach", "impact", "confidence") if c in b.ranked.columns]
    columns = ["rank", "demand_id", "title", "status", "source", "owner", "target_release", "customers", "feedback_items",
               "effort_used", "priority", *breakdown]
    # The board's own headings (d.col.*); values by the catalogue's kinds, a status as a demand's.
    headings = {c: dataclasses.replace(present.CATALOGUE.get(c, present.Column(c)), header=f"d.col.{c}") for c in columns}
    headings["status"] = present.Column("d.col.status", present.Kind.vocabulary, DemandStatus)
    page = b.ranked[columns].iloc[ui.pager(len(b.ranked), "d_page", 50)]
    picked = ui.shown_grid(page, key="d_grid", columns=headings, page_size=50, selectable=True)
    typed = st.number_input(ui.tr("d.go_to"), min_value=0, value=0, step=1, key="d_go_to")  # 0: none
    demand_id = int(typed) if typed else int(picked[ui.tr("d.col.demand_id")]) if picked is not None else None
    if demand_id is None or demand_id not in set(b.board["demand_id"]):
        st.info(ui.tr("d.pick"))
        return
    current = b.board.set_index("demand_id").loc[demand_id]
    row = edits.seen(demand_record(demand_id), pd.Series({**current.to_dict(), "demand_id": demand_id}))
    st.subheader(f"#{demand_id} {row['title']}")
    ui.showing(ui.DEMAND_LINK, demand_id)
    show_linked_feedback(b, demand_id)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{ui.tr('d.history')}**")
        ui.table(ui.cached(demand.history, b.store, demand_id).assign(
            from_status=lambda f: f["from_status"].map(lambda v: status_name(v) if isinstance(v, str) else ""),
            to_status=lambda f: f["to_status"].map(status_name),
            note=lambda f: f["note"].map(lambda n: present.history_note(n, ui.language()))))
        if ui.may_edit():
            edit_form(b, demand_id, row)
        else:
            edits.show_stored(demand_fields(b)(row))
            ui.read_only_note()
    with right:
        if row["status"] == DemandStatus.released:
            inform = ui.cached(demand.to_inform, b.store, demand_id)
            st.markdown(f"**{ui.tr('d.inform')}**")
            ui.table(inform[["csm", "customer_code", "customer", "feedback_items", "informed_at"]])
            # Who was told, as this reader saw it: a press from an older view is refused, not merged in.
            record = inform_record(demand_id)
            told = edits.seen(record, {"version": int(inform["informed_at"].notna().sum()),
                                       "pending": inform.loc[inform["informed_at"].isna(), "customer_id"].astype(int).tolist()})
            edits.notice(record)
            pending = told["pending"]
            if ui.may_edit() and st.button(ui.tr("d.mark_informed", count=len(pending)), key="d_inform", disabled=not pending):
                edits.save(b.store, record, lambda s: demand.mark_informed(s, ui.acting_user(), demand_id, pending, now=dt.datetime.now(),
                                                                           expected_version=told["version"]),
                           "d.informed", inform_fields)
        else:
            st.markdown(f"**{ui.tr('d.asking')}**")
            ui.table(ui.cached(demand.to_inform, b.store, demand_id)[["csm", "customer_code", "customer", "feedback_items"]])
            if ui.may_edit():
                move_buttons(b, row)


def edit_form(b: Board, demand_id: int, row: Mapping[str, Any]) -> None:
    """The demand's fields as this reader saw them; a save from an older view is refused."""
    edits.notice(demand_record(demand_id))
    with st.form(f"d_edit_{demand_id}"):
        title = st.text_input(ui.tr("d.title"), value=row["title"], key=edits.key(demand_record(demand_id), f"d_edit_{demand_id}_title"))
        owner = st.text_input(ui.tr("d.owner"), value=row["owner"] if isinstance(row["owner"], str) else "",
                              key=edits.key(demand_record(demand_id), f"d_edit_{demand_id}_owner"))
        effort = st.number_input(ui.tr("d.effort"), min_value=0.0, value=float(row["effort_days"]) if pd.notna(row["effort_days"]) else None,
                                 placeholder=ui.tr("d.effort_unknown", days=f"{demand.DEFAULT_EFFORT_DAYS:g}"),
                                 key=edits.key(demand_record(demand_id), f"d_edit_{demand_id}_effort"))
        urgency = st.select_slider(ui.tr("d.urgency"), demand.URGENCY_LEVELS, value=int(row["urgency"]),
                                   key=edits.key(demand_record(demand_id), f"d_edit_{demand_id}_urgency"))
        release = st.selectbox(ui.tr("d.release"), [None, *b.release_names], format_func=lambda r: b.release_names.get(r, "—"),
                               index=([None, *b.release_names].index(row["target_release_id"]) if pd.notna(row["target_release_id"]) else 0),
                               key=edits.key(demand_record(demand_id), f"d_edit_{demand_id}_release"))
        if st.form_submit_button(ui.tr("d.save"), key="d_edit_save"):
            changes = {"title": title.strip(), "owner": owner.strip() or None, "effort_days": effort or None,
                       "urgency": urgency, "target_release_id": release}
            before = {k: None if pd.isna(row[k]) else row[k] for k in changes}
            edits.save(b.store, demand_record(demand_id),
                       lambda s: demand.update(s, ui.acting_user(), demand_id, int(row["version"]), changes), "d.saved",
                       demand_fields(b), widgets=(f"d_edit_{demand_id}_",), changed=changes != before)


def show_releases(b: Board) -> None:
    if b.releases.empty:
        st.info(ui.tr("d.no_releases"))
    else:
        release_id = st.selectbox(ui.tr("d.release"), list(b.release_names), format_func=lambda r: b.release_names[r], key="d_rel")
        record = f"release:{release_id}"
        current = edits.seen(record, b.releases.set_index("release_id").loc[release_id])  # as this reader saw it
        edits.notice(record)
        draft = current["notes"] if isinstance(current["notes"], str) and current["notes"].strip() else \
            ui.cached(demand.release_notes, b.store, int(release_id))
        if not ui.may_edit():
            with st.container(border=True, height=260):
                st.markdown(draft)  # the notes are Markdown the team wrote (titles escaped by release_notes)
            notes = draft
        else:
            notes = st.text_area(ui.tr("d.notes"), value=draft, height=260, key=edits.key(record, f"d_notes_{release_id}"))
        st.caption(ui.tr("d.release_state", status=label(ReleaseStatus, current["status"], ui.language()), date=current["release_date"],
                         demands=int(current["demands"]), released=int(current["released"])))
        left, middle, right = st.columns(3)
        if ui.may_edit() and current["status"] != ReleaseStatus.released and middle.button(ui.tr("d.ship"), key="d_ship"):
            # Shipping moves the release's tested demands: what this reader kept of them is out of date after it.
            in_release = b.board.loc[b.board["target_release_id"] == release_id, "demand_id"]
            edits.save(b.store, record, lambda s: demand.ship_release(s, ui.acting_user(), int(release_id), int(current["version"]),
                                                                      on=b.today, now=dt.datetime.now()), "d.shipped", release_fields,
                       widgets=(f"d_notes_{release_id}",), related=tuple(demand_record(int(d)) for d in in_release))
        if ui.may_edit() and left.button(ui.tr("d.save_notes"), key="d_save_notes"):
            edits.save(b.store, record, lambda s: demand.save_release_notes(s, ui.acting_user(), int(release_id),
                                                                            int(current["version"]), notes),
                       "d.saved", release_fields, widgets=(f"d_notes_{release_id}",),
                       changed=notes != (current["notes"] if isinstance(current["notes"], str) else ""))
        right.download_button(ui.tr("d.download_notes"), notes.encode("utf-8"), f"release-{current['version_label']}.md",
                              mime="text/markdown", key="d_dl_notes", on_click="ignore")
    if not ui.may_edit():
        ui.read_only_note()
        return show_catalogue(b)
    with st.expander(ui.tr("d.new_release")):
        with st.form("d_new_release"):
            version_label = st.text_input(ui.tr("d.version_label"))
            date = st.date_input(ui.tr("d.release_date"), value=b.today)
            if st.form_submit_button(ui.tr("d.create")):
                ui.act(b.store, lambda s: demand.create_release(s, ui.acting_user(), {"version_label": version_label.strip(),
                                                                          "release_date": date, "status": "planned"}), "d.saved")
    show_catalogue(b)


def show_catalogue(b: Board) -> None:
    st.markdown(f"**{ui.tr('d.catalogue')}**")
    ui.table(ui.cached(demand.catalogue, b.store)[["state", "title", "product_area", "version_label", "release_date"]])


def inform_record(demand_id: int) -> str:
    return f"inform:{demand_id}"


def inform_fields(stored: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A demand's informing as a person reads it: how many of its asking customers were told."""
    return [(ui.tr("d.told"), ui.tr("d.told_of", told=int(stored.get("told", 0)), customers=int(stored.get("customers", 0))))]


def release_fields(stored: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A stored release as its form shows it: status by label, date, and the notes."""
    return [(ui.tr("d.col.status"), present.label_of(stored["status"], ReleaseStatus, ui.language())),
            (ui.tr("d.release_date"), present.date_text(stored.get("release_date"))), (ui.tr("d.notes"), stored.get("notes"))]


def show_flow(b: Board) -> None:
    flow = ui.cached(demand.flow_metrics, b.store, b.today)
    left, mid, right = st.columns(3)
    with left:
        st.markdown(f"**{ui.tr('d.wip')}**")
        st.altair_chart(ui.localised(alt.Chart(flow["wip"].assign(status=flow["wip"]["status"].map(status_name))).mark_bar().encode(
            y=alt.Y("status:N", sort=None, title=None), x=alt.X("demands:Q", title=ui.tr("d.col.count")))), width="stretch")
    with mid:
        st.markdown(f"**{ui.tr('d.cycle')}**")
        lines = {"median_days": ui.tr("col.median_days"), "p90_days": ui.tr("col.p90_days")}  # the legend's words
        cycle = flow["cycle_time"].assign(month=lambda f: pd.to_datetime(f["month"])).rename(columns=lines)
        st.altair_chart(ui.localised(alt.Chart(cycle).transform_fold(list(lines.values())).mark_line(point=True).encode(
            x=alt.X("month:T", title=None), y=alt.Y("value:Q", title=ui.tr("d.days")), color=alt.Color("key:N", title=None))),
            width="stretch")
    with right:
        st.markdown(f"**{ui.tr('d.by_source')}**")
        by_source = flow["by_source"].assign(month=lambda f: pd.to_datetime(f["month"]),
                                             source=lambda f: f["source"].map(lambda v: label(DemandSource, v, ui.language())))
        st.altair_chart(ui.localised(alt.Chart(by_source).mark_bar().encode(
            x=alt.X("month:T", title=None), y=alt.Y("demands:Q", title=ui.tr("d.col.count")), color=alt.Color("source:N", title=None))),
            width="stretch")


def show_new(b: Board) -> None:
    customers = ui.cached(demand.customer_choices, b.store)
    names = dict(zip(customers["customer_id"], customers["code"] + " · " + customers["name"], strict=True))
    with st.form("d_new"):
        title = st.text_input(ui.tr("d.title"))
        description = st.text_area(ui.tr("d.description"))
        cols = st.columns(4)
        source = ui.choice(cols[0].selectbox, ui.tr("d.source"), values(DemandSource), format_func=lambda v: label(DemandSource, v, ui.language()),
                           key="d_new_source")
        area = ui.choice(cols[1].selectbox, ui.tr("d.area"), values(ProductArea), format_func=lambda v: label(ProductArea, v, ui.language()),
                         key="d_new_area")
        owner = cols[2].text_input(ui.tr("d.owner"))
        urgency = cols[3].select_slider(ui.tr("d.urgency"), demand.URGENCY_LEVELS, value=2)
        cols = st.columns(2)
        effort = cols[0].number_input(ui.tr("d.effort"), min_value=0.0, value=None, step=0.5, placeholder=ui.tr("d.effort_unknown", days=f"{demand.DEFAULT_EFFORT_DAYS:g}"))
        competitor = cols[1].text_input(ui.tr("d.competitor"))
        asking = st.multiselect(ui.tr("d.asking"), list(names), format_func=lambda c: names[c], placeholder=ui.tr("filters.choose"),
                                select_all=False)
        if st.form_submit_button(ui.tr("d.create")):
            ui.act(b.store, lambda s: demand.create(s, ui.acting_user(), {"title": title, "description": description, "source": source,
                                                              "product_area": area, "owner": owner.strip() or None,
                                                              "urgency": urgency, "effort_days": effort or None,
                                                              "competitor_ref": competitor.strip() or None},
                                                  asking, now=dt.datetime.now()), "d.created")


TABS: dict[str, Callable[[Board], None]] = {
    "d.tab.board": show_board,
    "d.tab.list": show_list,
    "d.tab.releases": show_releases,
    "d.tab.flow": show_flow,
    "d.tab.new": show_new,
}
