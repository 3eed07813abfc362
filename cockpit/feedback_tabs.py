"""The feedback queue's tabs: the queue and one item (triage, moves, routing, merge), intake by form
and file, service timers, frequent questions and the FAQ.

Each tab reads one ``Queue`` (what the page above it computed); only the open tab is drawn.
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

from cockpit import edits, imports, live_text, ui
from ops_core import contacts, demand, present, similarity
from ops_core import feedback as fb
from ops_core.errors import OpsError
from ops_core.filters import Filters
from ops_core.i18n import label, named, say
from ops_core.vocab import DemandStatus, FeedbackChannel, FeedbackStatus, FeedbackType, Importance, ProductArea, Severity, values


@dataclass(frozen=True)
class Queue:
    """The feedback page's state a tab needs: the store, the filtered items and their service timers."""

    store: Engine
    filters: Filters
    today: dt.date
    items: pd.DataFrame   # the items received in the filtered range, and every open one
    timers: pd.DataFrame  # fb.sla_table of those items


def draw(ctx: Queue) -> None:
    """The tab bar, and the open tab's content; a link to one item opens it in the queue."""
    ui.open_from_link(ui.FEEDBACK_LINK, "f_go_to", "f_tab", "f.tab.queue")
    ui.lazy_tabs(TABS, "f_tab", ctx, editing=("f.tab.new",))


def vocab_label(enum: Any) -> Callable[[object], str]:
    """A picker's label of a vocabulary value, in the language of this run (read once, not per option)."""
    lang = ui.language()
    return lambda v: label(enum, v, lang) if isinstance(v, str) and v else "—"


def stored_items(store: Engine) -> pd.DataFrame:
    """Every item ever received, shared read-only between reruns (look-ups and merges read it)."""
    return ui.shared(fb.load_items, store, dt.date(1970, 1, 1), dt.date(2999, 12, 31))


def similarity_index(store: Engine) -> similarity.SimilarityIndex:
    """Every stored item's text, indexed until an item changes: a look-up while typing reads it. The
    first build takes seconds on a big store, so the reader is told what is being done."""
    return ui.derived(_similarity_index, store, text_key="working.similarity")


def _similarity_index(store: Engine) -> similarity.SimilarityIndex:
    items = stored_items(store)
    return similarity.SimilarityIndex.build(items["text"].tolist(), items["id"].tolist())


def faq_index(store: Engine) -> similarity.SimilarityIndex:
    """Every FAQ question, indexed until the FAQ changes (saying so while it is built)."""
    return ui.derived(_faq_index, store, text_key="working.faq_index")


def _faq_index(store: Engine) -> similarity.SimilarityIndex:
    entries = ui.shared(fb.faq_entries, store)
    return similarity.SimilarityIndex.build(entries["question"].tolist(), entries["id"].tolist())


# The similar-items tables: numbers of items, FAQ entries and demands, and how alike the text is.
SIMILAR_COLUMNS = {"id": present.Column("f.col.id", present.Kind.number_of),
                   "faq_id": present.Column("f.col.faq", present.Kind.number_of),
                   "demand_id": present.Column("f.col.demand", present.Kind.number_of),
                   "score": present.Column("f.col.similarity", present.Kind.number, decimals=2)}


def show_similar(ctx: Queue, text: str, exclude: int | None = None) -> list[int]:
    """The stored items and FAQ entries most like ``text``, so a duplicate is linked, not entered
    again; returns the similar items' ids."""
    if len(text.strip()) < 2:
        return []
    answers = faq_index(ctx.store).similar(text, k=3, min_score=similarity.DEFAULT_THRESHOLD)
    if len(answers):
        entries = ui.shared(fb.faq_entries, ctx.store).set_index("id").loc[answers["id"]]
        st.markdown(f"**{ui.tr('f.similar_faq')}**")
        ui.table(entries[["question", "answer", "feedback_count"]].assign(score=answers["score"].round(2).to_numpy()),
                 columns=SIMILAR_COLUMNS | {"id": present.Column("f.col.faq", present.Kind.count)})
    found = similarity_index(ctx.store).similar(text, k=6, min_score=similarity.DEFAULT_THRESHOLD)
    found = found[found["id"] != exclude].head(5)
    if found.empty:
        st.caption(ui.tr("f.no_similar"))
        return []
    shown = stored_items(ctx.store).set_index("id").loc[found["id"], ["customer_name", "received_at", "status", "text", "faq_id", "demand_id"]]
    st.markdown(f"**{ui.tr('f.similar')}**")
    ui.table(shown.assign(score=found["score"].round(2).to_numpy(), status=shown["status"].map(vocab_label(FeedbackStatus)),
                          received_at=shown["received_at"].dt.strftime("%Y-%m-%d")).reset_index(), columns=SIMILAR_COLUMNS)
    return [int(i) for i in found["id"]]


# The queue's own shorter headings; values are shown by the catalogue's kinds (labels, yes/no).
QUEUE_HEADINGS = {"id": present.Column("f.col.id"), "product_area": present.Column("f.col.product_area", present.Kind.vocabulary,
                                                                                  ProductArea),
                  "received_at": present.Column("f.col.received_at"),
                  "first_response_breached": present.Column("f.col.first_response_breached"),
                  "resolution_breached": present.Column("f.col.resolution_breached")}


def show_queue(ctx: Queue) -> None:
    chosen = st.columns(3)
    statuses = ui.choice(chosen[0].multiselect, ui.tr("f.status"), values(FeedbackStatus), default=[s.value for s in fb.OPEN_STATUSES],
                                     key="f_statuses", format_func=vocab_label(FeedbackStatus), placeholder=ui.tr("filters.choose"))
    kinds = ui.choice(chosen[1].multiselect, ui.tr("f.type"), values(FeedbackType), key="f_types", format_func=vocab_label(FeedbackType),
                                  placeholder=ui.tr("filters.choose"))
    only_breached = chosen[2].toggle(ui.tr("f.only_breached"), key="f_only_breached")
    rows = ctx.items.merge(ctx.timers[["id", "tier", "first_response_breached", "resolution_breached", "age_days"]], on="id", how="left")
    rows = rows[rows["status"].isin(statuses or values(FeedbackStatus))]
    if kinds:
        rows = rows[rows["type"].isin(kinds)]
    if only_breached:
        rows = rows[rows["first_response_breached"].fillna(False) | rows["resolution_breached"].fillna(False)]
    rows = rows.sort_values("received_at", ascending=False)
    st.caption(ui.tr("f.shown", shown=len(rows)))
    size = 50
    shown = rows[["id", "received_at", "customer_name", "tier", "channel", "product_area", "suggested_type", "type", "severity",
                  "status", "age_days", "first_response_breached", "resolution_breached", "text"]].iloc[
        ui.pager(len(rows), "f_page", size)].assign(
        received_at=lambda f: f["received_at"].dt.strftime("%Y-%m-%d %H:%M"), text=lambda f: f["text"].str.slice(0, 80))
    picked = ui.shown_grid(shown, key="f_grid", columns=QUEUE_HEADINGS, page_size=size, selectable=True)
    typed = st.number_input(ui.tr("f.go_to"), min_value=0, value=0, step=1, key="f_go_to")  # 0: none
    item_id = int(typed) if typed else int(picked[ui.tr("f.col.id")]) if picked is not None else None
    if item_id is None:
        st.info(ui.tr("f.pick"))
        return
    try:
        show_item(ctx, item_id)
    except OpsError as exc:  # an item number that does not exist
        ui.show_error(exc)


def item_record(item_id: int) -> str:
    return f"feedback:{item_id}"


def item_fields(stored: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A stored item as its forms show it: type, severity, area and status by label, its links by number."""
    lang = ui.language()
    return [(ui.tr("f.col.id"), f"#{stored['id']}"), (ui.tr("f.type"), present.label_of(stored.get("type"), FeedbackType, lang)),
            (ui.tr("f.severity"), present.label_of(stored.get("severity"), Severity, lang)),
            (ui.tr("f.area"), present.label_of(stored.get("product_area"), ProductArea, lang)),
            (ui.tr("f.status"), present.label_of(stored.get("status"), FeedbackStatus, lang)),
            (ui.tr("f.demand_link"), f"#{stored['demand_id']}" if stored.get("demand_id") else None),
            (ui.tr("f.faq_link"), f"#{stored['faq_id']}" if stored.get("faq_id") else None)]


def show_item(ctx: Queue, item_id: int) -> None:
    record = item_record(item_id)
    item = edits.seen(record, ui.cached(fb.get, ctx.store, item_id))  # the version this reader saw
    edits.notice(record)
    known = stored_items(ctx.store)  # shared, read-only: looked up, not re-indexed on every rerun
    who = next(iter(known.loc[known["id"] == item_id, "customer_name"]), None)
    st.subheader(" · ".join(str(part) for part in (f"#{item_id}", who, label(FeedbackChannel, item["channel"], ui.language()),
                                                     f"{item['received_at']:%Y-%m-%d %H:%M}") if part))
    ui.showing(ui.FEEDBACK_LINK, item_id)
    if item["demand_id"] is not None:  # routed to the board: open its demand there
        on_board = ui.cached(demand.get, ctx.store, int(item["demand_id"]))
        ui.link_to("pages/demands.py", ui.DEMAND_LINK, on_board["id"], ui.tr(
            "f.on_board", id=on_board["id"], title=on_board["title"], status=label(DemandStatus, on_board["status"], ui.language())))
    st.code(item["text"], language=None, wrap_lines=True)  # shown as given, never as Markdown or HTML
    suggestion = fb.suggest_type([item["text"]]).iloc[0]
    st.caption(ui.tr("f.suggested", type=label(FeedbackType, suggestion["suggested_type"], ui.language()),
                     confidence=suggestion["confidence"], reason=say(suggestion["reason"], ui.language())))
    if not ui.may_edit():
        edits.show_stored(item_fields(item))
        ui.read_only_note()
        show_history(ctx, item_id)
        show_similar(ctx, item["text"], exclude=item_id)
        return
    left, right = st.columns(2)
    with left, st.form(f"f_triage_{item_id}"):
        kinds = values(FeedbackType)
        start = item["type"] or suggestion["suggested_type"]
        kind = ui.choice(st.selectbox, ui.tr("f.type"), kinds, default=start, format_func=vocab_label(FeedbackType),
                            key=edits.key(record, f"f_triage_{item_id}_type"))
        severity = ui.choice(st.selectbox, ui.tr("f.severity"), values(Severity), default=item["severity"],
                                format_func=vocab_label(Severity), key=edits.key(record, f"f_triage_{item_id}_severity"))
        area = ui.choice(st.selectbox, ui.tr("f.area"), values(ProductArea), default=item["product_area"],
                            format_func=vocab_label(ProductArea), key=edits.key(record, f"f_triage_{item_id}_area"))
        if st.form_submit_button(ui.tr("f.triage"), key="f_triage_save"):
            # Confirming the suggested type of a new item is a change (it moves to triaged), even with nothing edited.
            changed = item["status"] == FeedbackStatus.new or (kind, severity, area) != (item["type"], item["severity"], item["product_area"])
            edits.save(ctx.store, record, lambda s: fb.triage(s, ui.acting_user(), item_id, int(item["version"]), kind, severity, area,
                                                              now=dt.datetime.now()), "f.triaged", item_fields,
                       widgets=(f"f_triage_{item_id}_",), changed=changed)
    with right:
        st.markdown(named(f"**{ui.tr('f.status')}**", label(FeedbackStatus, item["status"], ui.language()), ui.language()))
        for target in fb.allowed_moves(item["status"]):
            if st.button(f"→ {label(FeedbackStatus, target, ui.language())}", key=f"f_mv_{item_id}_{target}"):
                edits.save(ctx.store, record, lambda s, t=target: fb.transition(s, ui.acting_user(), item_id, int(item["version"]), t,
                                                                                now=dt.datetime.now()), "f.moved", item_fields)
        route(ctx, item)
    show_history(ctx, item_id)
    candidates = show_similar(ctx, item["text"], exclude=item_id)
    if candidates:
        # Each candidate at the version this reader first saw it, and the kept item at the version shown above.
        versions = {i: int(edits.seen(item_record(i), ui.cached(fb.get, ctx.store, i))["version"]) for i in candidates} | \
            {item_id: int(item["version"])}
        duplicates = st.multiselect(ui.tr("f.merge_pick"), candidates, key=f"f_merge_{item_id}", placeholder=ui.tr("filters.choose"),
                                    format_func=lambda i: f"#{i}", select_all=False)
        if st.button(ui.tr("f.merge"), key=f"f_merge_go_{item_id}", disabled=not duplicates):
            edits.save(ctx.store, record, lambda s: fb.merge(s, ui.acting_user(), item_id, duplicates,
                                                             {i: versions[i] for i in [item_id, *duplicates]}), "f.merged", item_fields,
                       related=[item_record(i) for i in duplicates])


def show_history(ctx: Queue, item_id: int) -> None:
    st.markdown(f"**{ui.tr('f.history')}**")
    ui.table(ui.cached(fb.history, ctx.store, item_id).assign(
        from_status=lambda f: f["from_status"].map(vocab_label(FeedbackStatus)),
        to_status=lambda f: f["to_status"].map(vocab_label(FeedbackStatus)),
        note=lambda f: f["note"].map(lambda n: present.history_note(n, ui.language()))))


def route(ctx: Queue, item: dict) -> None:
    """Where a triaged item goes: the demand board for bugs and requests, the FAQ for usage questions."""
    kind = item["type"]
    if kind is None:
        st.caption(ui.tr("f.route_after_triage"))
        return
    item_id, expected = int(item["id"]), int(item["version"])
    if kind in [t.value for t in fb.FAQ_TYPES]:
        faqs = ui.cached(fb.faq_entries, ctx.store)
        names = dict(zip(faqs["id"], faqs["question"], strict=True))
        faq_id = ui.choice(st.selectbox, ui.tr("f.faq_link"), [None, *names], format_func=lambda i: names.get(i, ui.tr("f.faq_new")), key=f"f_faq_{item_id}")
        answer = st.text_area(ui.tr("f.faq_answer"), key=f"f_answer_{item_id}") if faq_id is None else None
        if st.button(ui.tr("f.route_faq"), key=f"f_route_faq_{item_id}"):
            edits.save(ctx.store, item_record(item_id), lambda s: fb.route_to_faq(s, ui.acting_user(), item_id, expected, faq_id=faq_id,
                                                                                  answer=answer, now=dt.datetime.now()),
                       "f.routed", item_fields)
    if kind not in (FeedbackType.usage_question,):
        board = ui.cached(demand.load_board, ctx.store, as_of=ctx.today)
        names = dict(zip(board["demand_id"], board["title"], strict=True))
        demand_id = ui.choice(st.selectbox, ui.tr("f.demand_link"), [None, *names], format_func=lambda i: f"#{i} {names[i]}" if i else ui.tr("f.demand_new"),
                                 key=f"f_demand_{item_id}")
        if st.button(ui.tr("f.route_demand"), key=f"f_route_demand_{item_id}"):
            edits.save(ctx.store, item_record(item_id), lambda s: fb.route_to_demand(s, ui.acting_user(), item_id, expected,
                                                                                     demand_id=demand_id, now=dt.datetime.now()),
                       "f.routed_demand", item_fields)


NEW_ITEM_WIDGETS = ("f_new_customer", "f_new_contact")  # the intake widgets outside the form, beside the text


def clear_new_item() -> None:
    """After an item is added: the next one starts from an empty text, customer and contact (the form's
    own fields are cleared by the form)."""
    live_text.clear("f_new_text")
    for key in NEW_ITEM_WIDGETS:
        st.session_state.pop(key, None)


def show_suggestion(text: str) -> None:
    """The type the tool suggests for the text being written, with its reason, before it is submitted
    (the same rule ``fb.submit`` stores)."""
    if len(text.strip()) < 2:
        return
    suggestion = fb.suggest_type([text]).iloc[0]
    if suggestion["suggested_type"] is None:
        st.caption(ui.tr("f.no_suggestion"))
        return
    st.info(ui.tr("f.suggested", type=label(FeedbackType, suggestion["suggested_type"], ui.language()),
                  confidence=suggestion["confidence"], reason=say(suggestion["reason"], ui.language())))


def show_new(ctx: Queue) -> None:
    customers = ui.cached(demand.customer_choices, ctx.store)
    names = dict(zip(customers["customer_id"], customers["code"] + " · " + customers["name"], strict=True))
    # The text sits outside the form so that the suggested type and similar items show while it is
    # being written (a widget inside a form reruns nothing until submitted); both read cached indexes.
    text = live_text.live_text_area(ui.tr("f.text"), "f_new_text", placeholder=ui.tr("f.text_hint"))
    show_suggestion(text)
    show_similar(ctx, text)
    # Customer and contact sit outside the form too: the contacts offered follow the customer picked.
    who = st.columns(2)
    customer_id = who[0].selectbox(ui.tr("f.customer"), list(names), format_func=lambda c: names[c], index=None,
                                   placeholder=ui.tr("f.customer_search"), key="f_new_customer")
    people = ui.cached(contacts.of_customer, ctx.store, int(customer_id)) if customer_id is not None else None
    people_names = {} if people is None else dict(zip(people["contact_id"], people["name"] + " · " + people["title"].fillna(""), strict=True))
    contact_id = who[1].selectbox(ui.tr("f.contact"), [None, *people_names], key="f_new_contact",
                                  format_func=lambda c: people_names.get(c, "—"))
    with st.form("f_new", clear_on_submit=True):
        cols = st.columns(2)
        channel = cols[0].selectbox(ui.tr("f.channel"), values(FeedbackChannel), format_func=vocab_label(FeedbackChannel))
        received = cols[1].date_input(ui.tr("f.received"), value=ctx.today)
        cols = st.columns(3)
        area = cols[0].selectbox(ui.tr("f.area"), values(ProductArea), format_func=vocab_label(ProductArea))
        severity = cols[1].selectbox(ui.tr("f.severity"), values(Severity), index=1, format_func=vocab_label(Severity))
        importance = cols[2].selectbox(ui.tr("f.importance"), values(Importance), index=1, format_func=vocab_label(Importance))
        if st.form_submit_button(ui.tr("f.submit")):
            ui.act(ctx.store, lambda s: fb.submit(s, ui.acting_user(), {
                "customer_id": customer_id, "contact_id": contact_id, "channel": channel, "product_area": area, "text": text, "severity": severity,
                "importance": importance,
                "received_at": dt.datetime.combine(received, dt.datetime.now().time().replace(microsecond=0))}), "f.submitted",
                saved=clear_new_item)
    st.markdown(f"**{ui.tr('f.import')}**")
    imports.import_file(ctx.store, "feedback", key="f_import")


def sla_group(by: str, group: object) -> str:
    """A service-efficiency group as a person reads it: a type or tier by its label, all items named."""
    if by == "type":
        return label(FeedbackType, group, ui.language())
    if by == "tier":
        return ui.tier_label(group)
    return ui.tr("f.sla.all") if by == "all" else str(group)


def show_sla(ctx: Queue) -> None:
    summary = fb.sla_summary(ctx.timers)
    for section in ("time", "met"):
        st.markdown(f"**{ui.tr(f'f.sla.{section}')}**")
        part = summary[summary["section"] == section].drop(columns="section").dropna(axis=1, how="all")
        if part.empty:  # no finished or open item yet (an empty store): nothing to measure
            st.info(ui.tr("f.sla.none"))
            continue
        ui.table(part.assign(group=[sla_group(b, g) for b, g in zip(part["by"], part["group"], strict=True)])
                 .round({c: 1 for c in part.columns if c.endswith("_h")}))
    ages = fb.backlog_ages(ctx.timers)
    st.markdown(f"**{ui.tr('f.sla.backlog')}**")
    st.altair_chart(ui.localised(alt.Chart(ages).mark_bar().encode(x=alt.X("group:N", sort=None, title=None),
                                                      y=alt.Y("open_items:Q", title=ui.tr("f.items")))), width="stretch")


def show_frequent(ctx: Queue) -> None:
    groups = ui.cached(similarity.faq_candidates, ctx.store, ctx.filters.date_from, ctx.filters.date_to)
    if groups.empty:
        st.info(ui.tr("f.no_groups"))
        return
    ui.table(groups[["items", "customers", "representative", "customer_names"]].assign(
        answered=groups["faq_ids"].map(lambda ids: "✓" if len(ids) else "")))


def show_faq(ctx: Queue) -> None:
    faqs = ui.cached(fb.faq_entries, ctx.store)
    ui.table(faqs[["question", "answer", "product_area", "feedback_count"]])
    st.download_button(ui.tr("f.faq_download"), fb.faq_markdown(faqs).encode("utf-8"), "faq.md", mime="text/markdown",
                       key="f_faq_md", on_click="ignore")


TABS: dict[str, Callable[[Queue], None]] = {
    "f.tab.queue": show_queue,
    "f.tab.new": show_new,
    "f.tab.sla": show_sla,
    "f.tab.frequent": show_frequent,
    "f.tab.faq": show_faq,
}
