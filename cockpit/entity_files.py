"""The data page's files of an entity: its export in the file schema and its template, both in the
reader's language (headers, labels, file names), so what is downloaded imports back as it is."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import ui
from ops_core import entity_files, present, settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export(store: Engine, entity: str) -> None:
    """The entity's rows as its file: how many, a page of them in a grid, then CSV and Excel downloads
    whose notes say what the file holds. Personal data is masked unless an admin ticks the box."""
    lang = ui.language()
    personal = entity_files.has_personal_data(entity)
    unmasked = personal and ui.may_see_personal_data() and st.checkbox(ui.tr("data.export.unmasked"), value=False,
                                                                      key="export_unmasked")
    frame = ui.cached(entity_files.export_file, store, entity, lang, masked=not unmasked)
    page = frame.head(ui.cached(settings.get, store, "ui.page_size"))
    st.caption(ui.tr("data.export.rows", rows=f"{len(frame):,}", shown=f"{len(page):,}"))
    if personal:
        st.caption(ui.tr("data.export.unmasked_note" if unmasked else "data.export.masked_note"))
    ui.grid(_for_grid(page, entity, lang), key=f"export_grid_{entity}",
            decimals=dict.fromkeys(_yuan_headers(entity, lang), 2))

    def file(fmt: str) -> bytes:
        notes = entity_files.export_notes(entity, len(frame), lang, masked=not unmasked, made_at=dt.datetime.now(dt.UTC))
        return entity_files.file_bytes(frame, entity, lang, fmt, notes=notes)

    left, right = st.columns(2)
    # Built when a button is pressed, not on every rerun (a 20k-row Excel file takes seconds).
    left.download_button(ui.tr("download.csv"), lambda: file("csv"), entity_files.file_name(entity, lang, "csv"),
                         mime="text/csv", key=f"csv_{entity}", on_click="ignore")
    right.download_button(ui.tr("download.excel"), lambda: file("xlsx"), entity_files.file_name(entity, lang, "xlsx"),
                          mime=XLSX, key=f"xlsx_{entity}", on_click="ignore")


def _yuan_headers(entity: str, lang: str) -> list[str]:
    return [h for h, f in entity_files.file_formats(entity, lang).items() if f.kind is present.Kind.yuan]


def _for_grid(page: pd.DataFrame, entity: str, lang: str) -> pd.DataFrame:
    """The file's rows as the grid shows them: yuan (exact decimals in the file) as numbers the grid sorts
    and right-aligns with two decimals, times as text as the CSV writes them, a missing time empty (not "NaT")."""
    shown = page.astype({h: "Float64" for h in _yuan_headers(entity, lang)})
    for header in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[header]):
            shown[header] = shown[header].dt.strftime("%Y-%m-%d %H:%M:%S").astype("string")
    return shown


def templates(entity: str) -> None:
    """The entity's template to fill in, as CSV and as Excel, in the reader's language."""
    lang = ui.language()
    st.caption(ui.tr("data.template.help"))
    left, right = st.columns(2)
    left.download_button(ui.tr("download.template_csv"), lambda: entity_files.template_bytes(entity, lang, "csv"),
                         entity_files.file_name(entity, lang, "csv", template=True), mime="text/csv",
                         key=f"template_csv_{entity}", on_click="ignore")
    right.download_button(ui.tr("download.template_excel"), lambda: entity_files.template_bytes(entity, lang, "xlsx"),
                          entity_files.file_name(entity, lang, "xlsx", template=True), mime=XLSX,
                          key=f"template_xlsx_{entity}", on_click="ignore")
