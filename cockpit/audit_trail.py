"""The audit trail page (admins): the audit log filtered by person, table, kind of change and days,
a page of its changes at a time with each field's old and new value side by side in the reader's
language, and the filtered changes as a file (personal data masked). Filtering, counting and paging
happen in SQL (``ops_core.audit``); this module only draws."""
from __future__ import annotations

import datetime as dt

import streamlit as st
from sqlalchemy import Engine

from cockpit import ui
from ops_core import audit, exports, present

PAGE_SIZE = 50  # audit rows per page (each spreads into one line per changed field)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def show(store: Engine) -> None:
    st.title(ui.tr("audit.title"))
    if not ui.is_admin():  # the link is hidden from others too
        st.info(ui.tr("audit.admin_only"))
        return
    st.caption(ui.tr("audit.intro"))
    lang = ui.language()
    filters = pick_filters(store)
    total = ui.cached(audit.count, store, filters)
    pages = audit.pages(total, PAGE_SIZE)
    if total == 0:
        st.info(ui.tr("audit.empty"))
        return
    pick, counts = st.columns([1, 5], vertical_alignment="bottom")
    number = int(pick.number_input(ui.tr("audit.page"), min_value=1, max_value=pages, value=1, step=1, key="a_page"))
    totals = ui.cached(audit.totals, store, filters)
    counts.caption(ui.tr("audit.count", rows=f"{total:,}", page=number, pages=pages) + " " + ui.tr("audit.totals")
                   + ("：" if lang == "zh" else ": ") + " · ".join(f"{audit.action_name(r.action, lang)} {r.count:,}"
                                                                for r in totals.itertuples()))
    rows = ui.cached(audit.page, store, filters, number, PAGE_SIZE)
    lines = audit.changes(rows, lang).rename(columns=audit.headers(lang))
    names = audit.headers(lang)
    widths = {"at": 150, "actor": 95, "action": 125, "entity": 80, "record": 70, "field": 120, "old": 150, "new": 165}
    st.dataframe(lines, hide_index=True, width="stretch", height=min(35 * (len(lines) + 1) + 3, 640),
                 column_config={names[k]: st.column_config.TextColumn(width=w) for k, w in widths.items()}, placeholder="")
    export(store, filters, lang)


def pick_filters(store: Engine) -> audit.AuditFilters:
    """The filters' widgets: people as named, tables and kinds of change by their names, a range of days."""
    lang = ui.language()
    found = ui.cached(audit.choices, store)
    left, middle, right, days = st.columns(4)
    actors = ui.choice(left.multiselect, ui.tr("audit.filter.actors"), list(found.actors), key="a_actors",
                       format_func=lambda a: present.actor_name(a, lang), placeholder=ui.tr("filters.choose"))
    entities = ui.choice(middle.multiselect, ui.tr("audit.filter.entities"), list(found.entities), key="a_entities",
                         format_func=lambda e: audit.entity_name(e, lang), placeholder=ui.tr("filters.choose"))
    actions = ui.choice(right.multiselect, ui.tr("audit.filter.actions"), list(found.actions), key="a_actions",
                        format_func=lambda a: audit.action_name(a, lang), placeholder=ui.tr("filters.choose"))
    first, last = found.first or dt.date.today(), found.last or dt.date.today()
    picked = days.date_input(ui.tr("audit.filter.days"), value=(first, last), key="a_days", help=ui.tr("audit.filter.days_help"))
    since, until = picked if isinstance(picked, tuple) and len(picked) == 2 else (None, None)
    return audit.AuditFilters(tuple(actors), tuple(entities), tuple(actions),
                              since if since != first else None, until if until != last else None)


def export(store: Engine, filters: audit.AuditFilters, lang: str) -> None:
    """The filtered changes as CSV and Excel, built when a button is pressed; personal data masked."""
    st.markdown(f"**{ui.tr('audit.export')}**")
    st.caption(audit.describe(filters, lang))

    def file(fmt: str) -> bytes:
        with store.connect() as conn:
            frame = audit.export_frame(conn, filters, lang)
        notes = audit.export_notes(filters, len(frame), lang)
        if fmt == "csv":
            return exports.to_csv_bytes(frame, notes=notes)
        return exports.to_excel_bytes(frame, title, notes, notes_sheet=ui.t("export.notes_sheet", lang))

    title = ui.tr("audit.title")  # read now: the files are built outside this run, when a button is pressed
    name = title if lang == "zh" else "audit-trail"
    left, right = st.columns(2)
    left.download_button(ui.tr("download.csv"), lambda: file("csv"), f"{name}.csv", mime="text/csv", key="a_csv",
                         on_click="ignore")
    right.download_button(ui.tr("download.excel"), lambda: file("xlsx"), f"{name}.xlsx", mime=XLSX, key="a_xlsx",
                          on_click="ignore")
