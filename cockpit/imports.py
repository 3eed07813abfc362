"""Importing a person's file on a page: the file's columns beside the fields they fill (suggested
from the headers, or a saved mapping, changeable), the first rows, a preview of what would be added,
updated, left unchanged and rejected with old -> new, then the import: all rows or none, or the valid
rows with the rejected ones to download. Every word in the reader's language."""
from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import ui
from ops_core import company_lists, i18n, importer
from ops_core.errors import OpsError
from ops_core.vocab import Role

NOT_IMPORTED = ""   # the mapping's choice for a column that fills no field
MODES = ("all", "valid")


def import_file(store: Engine, entity: str, key: str) -> None:
    """The import of ``entity``'s file under widget keys starting with ``key``; for an admin only
    (others read one line saying so; ``importer.run`` refuses them whatever this page shows)."""
    if not ui.is_admin():
        st.caption(ui.tr("data.import.admin_only"))
        return
    lang = ui.language()
    limit = ui.cached(importer.upload_limit, store)
    upload = ui.file_upload(ui.tr("data.import.file"), key=f"{key}_file", limit=limit)
    if upload is None:
        return
    data = upload.getvalue()
    try:
        peek = importer.peek(data, upload.name, limit=limit)
    except OpsError as exc:
        ui.show_error(exc)
        return
    schema = importer.schema_for(entity)
    st.caption(ui.tr("import.detected", detected=peek.detected.described(lang), columns=len(peek.header)))
    saved = ui.cached(importer.saved_mappings, store, entity)
    chosen = None
    if saved:
        chosen = ui.choice(st.selectbox, ui.tr("import.saved_mapping"), [NOT_IMPORTED, *saved], key=f"{key}_saved",
                           format_func=lambda name: ui.tr("import.suggested") if name == NOT_IMPORTED else name)
    suggested = importer.columns_for(peek.header, entity, saved.get(chosen) if chosen else None)
    file_id = hashlib.sha1(data[:65536] + upload.name.encode()).hexdigest()[:10]

    st.markdown(f"**{ui.tr('import.mapping')}**")
    st.caption(ui.tr("import.mapping.help"))
    options = [NOT_IMPORTED, *(f.name for f in schema.fields)]

    def field_text(name: str) -> str:
        if name == NOT_IMPORTED:
            return ui.tr("import.not_imported")
        field = schema.field(name)
        return field.header(lang) + (" *" if field.required else "")

    columns: importer.Columns = {}
    places = st.columns(3)
    for index, header in enumerate(peek.header):
        picked = ui.choice(places[index % 3].selectbox, header or f"({index + 1})", options,
                           key=f"{key}_map_{file_id}_{chosen or ''}_{index}", format_func=field_text,
                           default=suggested.get(header) or NOT_IMPORTED)
        columns[header] = picked or None
    if peek.rows:
        st.dataframe(pd.DataFrame([list(r)[:len(peek.header)] + [None] * (len(peek.header) - len(r)) for r in peek.rows],
                                  columns=importer.unique_headers(peek.header), dtype=object).astype(str).replace({"None": ""}),
                     hide_index=True, width="stretch", placeholder="")
    _save_mapping(store, entity, key, columns)

    mode = ui.choice(st.radio, ui.tr("import.mode"), list(MODES), key=f"{key}_mode", horizontal=True,
                     format_func=lambda m: ui.tr(f"import.mode.{m}"))
    asked = (file_id, tuple(sorted((h, f or "") for h, f in columns.items())), mode)
    preview_key, done_key = f"{key}_preview", f"{key}_done"
    left, right = st.columns(2)
    if left.button(ui.tr("import.preview"), key=f"{key}_preview_button"):
        with st.spinner(ui.tr("import.previewing")):
            outcome = _run(store, entity, data, upload.name, columns, mode, dry_run=True)
        st.session_state[preview_key] = (asked, outcome)
        st.session_state.pop(done_key, None)
    previewed = st.session_state.get(preview_key)
    preview = previewed[1] if previewed is not None and previewed[0] == asked else None
    ready = preview is not None and preview is not False and not preview.refused and preview.added + preview.updated > 0
    if right.button(ui.tr("import.run"), key=f"{key}_run", type="primary", disabled=not ready,
                    help=None if ready else ui.tr("import.run.help")):
        with st.spinner(ui.tr("import.importing")):
            outcome = _run(store, entity, data, upload.name, columns, mode, dry_run=False)
        if outcome:
            st.session_state[done_key] = (asked, outcome)
            st.session_state.pop(preview_key, None)
            preview = None
            if outcome.written:   # the page's counts and grids above read the new rows
                ui.forget_versions()
                st.rerun()
    done = st.session_state.get(done_key)
    if done is not None and done[0] == asked:
        _show_done(done[1], entity, key)
    elif preview:
        _show_preview(preview)
        _new_list_values(store, preview, key, preview_key)


def _run(store: Engine, entity: str, data: bytes, name: str, columns: importer.Columns, mode: str, *,
         dry_run: bool) -> Any:
    try:
        return importer.run(store, ui.acting_user(), entity, data, name, columns=columns, dry_run=dry_run,
                            valid_rows=mode == "valid", lang=ui.language())
    except OpsError as exc:
        ui.show_error(exc)
        return False


def _counts(outcome: importer.Outcome) -> None:
    cells = st.columns(4)
    for cell, what, value in zip(cells, ("added", "updated", "unchanged", "rejected"),
                                 (outcome.added, outcome.updated, outcome.unchanged, outcome.rejected), strict=True):
        cell.metric(ui.tr(f"import.count.{what}"), f"{value:,}")


def _problems(outcome: importer.Outcome) -> None:
    if outcome.problems:
        st.dataframe(outcome.problems_frame(ui.language()), hide_index=True, width="stretch", placeholder="")
        if outcome.rejected > len(outcome.rejected_rows):
            st.caption(ui.tr("import.more_rejected", shown=f"{len(outcome.rejected_rows):,}", count=f"{outcome.rejected:,}"))


def _show_preview(outcome: importer.Outcome) -> None:
    lang = ui.language()
    st.subheader(ui.tr("import.preview.title"))
    _counts(outcome)
    (st.warning if outcome.problems else st.info)(outcome.summary(lang))
    if outcome.refused:
        st.warning(ui.tr("import.preview.refused"))
    _problems(outcome)
    if outcome.changes:
        st.markdown(f"**{ui.tr('import.changes', count=f'{outcome.changed_fields:,}')}**")
        st.dataframe(outcome.changes_frame(lang).astype(str), hide_index=True, width="stretch", placeholder="")
        if outcome.changed_fields > len(outcome.changes):
            st.caption(ui.tr("import.more_changes", shown=f"{len(outcome.changes):,}"))
    ignored = [h for h, f in outcome.columns.items() if not f]
    if ignored:
        st.caption(ui.tr("import.ignored", headers="、".join(ignored) if lang == "zh" else ", ".join(ignored)))


def _show_done(outcome: importer.Outcome, entity: str, key: str) -> None:
    lang = ui.language()
    _counts(outcome)
    if outcome.written:
        st.success(outcome.summary(lang))
    elif outcome.problems:
        st.error(outcome.summary(lang))
    else:
        st.info(outcome.summary(lang))
    _problems(outcome)
    if outcome.rejected and outcome.written:
        name = f"{outcome.source.rsplit('.', 1)[0]}-{ui.tr('import.rejected_suffix')}.csv"
        st.download_button(ui.tr("import.rejected_download"), outcome.rejected_file(lang, "csv"), name, mime="text/csv",
                           key=f"{key}_rejected", on_click="ignore")


def _new_list_values(store: Engine, outcome: importer.Outcome, key: str, preview_key: str) -> None:
    """Values of industries, regions or product lines that the company's lists do not hold yet: an
    admin names each in both languages and adds them in the same step, then previews again."""
    if not outcome.new_values:
        return
    lang = ui.language()
    schema = importer.schema_for(outcome.entity)
    st.markdown(f"**{ui.tr('import.new_values')}**")
    if ui.acting_user().role != Role.admin:
        for name, found in outcome.new_values.items():
            st.caption(ui.tr("import.new_values.ask_admin", field=schema.field(name).header(lang),
                             values="、".join(found) if lang == "zh" else ", ".join(found)))
        return
    st.caption(ui.tr("import.new_values.help"))
    col_field, col_value, col_en, col_zh, col_add = (ui.tr(f"import.new_values.col.{c}") for c in
                                                     ("field", "value", "en", "zh", "add"))
    rows = pd.DataFrame([{col_field: schema.field(name).header(lang), col_value: value, col_en: value, col_zh: value,
                          col_add: True} for name, found in outcome.new_values.items() for value in found])
    names = [name for name, found in outcome.new_values.items() for _ in found]
    edited = st.data_editor(rows, hide_index=True, width="stretch", key=f"{key}_new_values",
                            disabled=[col_field, col_value],
                            column_config={col_add: st.column_config.CheckboxColumn(col_add)})
    chosen = [(i18n.list_name_of(schema.field(names[i]).vocabulary), str(row[col_en]), str(row[col_zh]))
              for i, row in edited.iterrows() if bool(row[col_add])]
    if st.button(ui.tr("import.new_values.button", count=len(chosen)), key=f"{key}_add_values", disabled=not chosen):
        def add_all(session: Any) -> int:
            for list_name, en, zh in chosen:
                company_lists.add(session, ui.acting_user(), list_name or "", None, en, zh)
            return len(chosen)

        ui.act(store, add_all, "import.new_values.added", saved=lambda: st.session_state.pop(preview_key, None))


def _save_mapping(store: Engine, entity: str, key: str, columns: importer.Columns) -> None:
    """An admin keeps this mapping under a name, offered for the next file of this entity."""
    if ui.acting_user().role != Role.admin:   # admins only, as every setting
        return
    with st.expander(ui.tr("import.save_mapping")):
        name = st.text_input(ui.tr("import.mapping_name"), key=f"{key}_mapping_name",
                             placeholder=ui.tr("import.mapping_name.example"))
        if st.button(ui.tr("import.save_mapping.button"), key=f"{key}_save_mapping", disabled=not name.strip()):
            ui.act(store, lambda s: importer.save_mapping(s, ui.acting_user(), name, entity, columns),
                   "import.mapping_saved", name=name.strip())
