"""Data: what the store holds, exports of each entity, imports with a validation report, recent changes."""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

import streamlit as st

from cockpit import company_lists, entity_files, imports, start, ui
from ops_core import fileschema, io, overview

store, filters = ui.page_context()
st.title(ui.tr("data.title"))
ui.show_flash()

st.subheader(ui.tr("data.tables"))
counts = ui.cached(overview.table_counts, store)
counts = counts.assign(table=counts["table"].map(lambda name: ui.tr(f"table.{name}")))
st.dataframe(counts.rename(columns={"table": ui.tr("data.col.table"), "rows": ui.tr("data.col.rows")}),
             hide_index=True, width="stretch", height=260,
             column_config={ui.tr("data.col.rows"): st.column_config.NumberColumn(format="localized")}, placeholder="")

start.demo_removal(store)  # only while the store holds the demo company
company_lists.editor(store)  # industries, regions and product lines: the company's own lists

# Keyed and tracked (on_change), so that an empty start opens the import tab (cockpit/start.py).
# Imports are an admin's: others see no import tab (ops_core refuses them whatever a page shows).
tab_keys = ["data.export", *(["data.import"] if ui.is_admin() else []), "data.audit"]
if st.session_state.get(start.DATA_TAB_KEY) not in [ui.tr(k) for k in tab_keys]:
    st.session_state.pop(start.DATA_TAB_KEY, None)  # a tab this reader has not (the import tab, for a viewer)
tabs = dict(zip(tab_keys, st.tabs([ui.tr(k) for k in tab_keys], key=start.DATA_TAB_KEY, on_change="rerun"), strict=True))
with tabs["data.export"]:
    entity = st.selectbox(ui.tr("data.export.entity"), list(fileschema.SCHEMAS), key="export_entity",
                          format_func=lambda name, lang=ui.language(): ui.t(f"table.{name}", lang))
    entity_files.export(store, entity)
    entity_files.templates(entity)

if "data.import" in tabs:
    with tabs["data.import"]:
        start.import_order()
        target = st.selectbox(ui.tr("data.import.entity"), list(io.ENTITIES), key="import_entity",
                              format_func=lambda name, lang=ui.language(): ui.t(f"table.{name}", lang))
        imports.import_file(store, target, key=f"import_{target}")

with tabs["data.audit"]:
    if ui.is_admin():
        st.page_link("pages/audit.py", label=ui.tr("audit.open"), icon="🔎")
    ui.table(ui.cached(overview.recent_changes, store))
