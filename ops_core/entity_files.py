"""An entity's file as a person reads it, written from the store by its file schema (``fileschema``).

Headers in the reader's language, money in yuan with two decimals, vocabularies by their labels,
other entities by their business keys (a contract's customer by the customer's code), never an
internal id; the same file the import reads back. References are resolved by SQL joins in one
query, so a 1,000,000-row usage file costs one query, not a million look-ups. Personal data (names,
phones, e-mails of contacts and leads) is masked unless an admin asks to see it, and such an export is
recorded in the audit log.

Templates (``template_bytes``) are the same file with one example row and every field described.
"""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Select, select
from sqlalchemy.orm import Session

from ops_core import cells, company_lists, exports, fileschema, i18n, present, writes
from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.errors import UsageError
from ops_core.fileschema import SCHEMAS, FileSchema, Kind
from ops_core.i18n import t
from ops_core.vocab import Role

_MASKERS: Mapping[str, Callable[[Any], Any]] = {
    fileschema.NAME: exports.mask_name, fileschema.PHONE: exports.mask_phone, fileschema.EMAIL: exports.mask_email,
}


def schema_for(entity: str) -> FileSchema:
    try:
        return SCHEMAS[entity]
    except KeyError:
        raise UsageError(f"unknown entity '{entity}'; known: {', '.join(SCHEMAS)}") from None


def _target(field: fileschema.Field) -> tuple[str, str]:
    """The table a reference points at and the column holding the key part the cell shows."""
    assert field.ref is not None
    if field.ref in fileschema.LOOKUPS:
        lookup = fileschema.LOOKUPS[field.ref]
        return lookup.table, lookup.column
    target = SCHEMAS[field.ref]
    column = target.field(field.ref_field or "").column
    assert column is not None
    return target.table, column


def export_query(entity: str) -> Select[Any]:
    """One SELECT of every field's stored value, references joined to their business keys, in the
    order of the table's primary key; its columns are the field names."""
    schema = schema_for(entity)
    table = TABLES[schema.table]
    joined = table
    aliases: dict[str, Any] = {}
    picked = []
    for field in schema.fields:
        if field.ref is None:
            picked.append(table.c[field.column or ""].label(field.name))
            continue
        target_table, column = _target(field)
        if field.ref_column not in aliases:  # two fields of one reference (event name and start) share a join
            alias = TABLES[target_table].alias(f"ref_{field.ref_column}")
            fk = next(iter(table.c[field.ref_column or ""].foreign_keys))
            joined = joined.outerjoin(alias, table.c[field.ref_column or ""] == alias.c[fk.column.name])
            aliases[field.ref_column or ""] = alias
        picked.append(aliases[field.ref_column or ""].c[column].label(field.name))
    return select(*picked).select_from(joined).order_by(*table.primary_key.columns)


def _labels(field: fileschema.Field, lang: str) -> dict[str, str]:
    """Code -> label in ``lang``; industries, regions and product lines by the company's list in force."""
    assert field.vocabulary is not None
    name = i18n.list_name_of(field.vocabulary)
    pairs = i18n.company_list(name) if name is not None else cells.labels_of(field.vocabulary)
    return {code: pair[1] if lang == "zh" else pair[0] for code, pair in pairs.items()}


def _cells(field: fileschema.Field, values: pd.Series, lang: str) -> pd.Series:
    """A column of stored values as the file's cells (``cells.write_cell``, by column where it can)."""
    present_values = values.notna()
    if field.kind is Kind.money:
        return values.astype(object).where(present_values, None).map(cells.write_money, na_action="ignore")
    if field.kind is Kind.whole:
        return values.astype("Int64")
    if field.kind is Kind.yes_no:
        words = {True: cells.write_yes_no(True, lang), False: cells.write_yes_no(False, lang)}
        return values.astype(object).map(lambda v: None if v is None or pd.isna(v) else words[bool(v)])
    if field.kind is Kind.choice:
        labels = _labels(field, lang)
        return values.astype(object).map(lambda v: None if v is None or pd.isna(v) else labels.get(v, v))
    if field.kind is Kind.choices:
        return values.astype(object).map(lambda v: None if v is None else cells.write_choices(v, field.vocabulary, lang))
    if field.kind is Kind.date:
        return values.astype(object).map(_as_date, na_action="ignore")
    if field.kind is Kind.datetime:
        return values.astype(object).map(_as_datetime, na_action="ignore")
    return values.astype(object).where(present_values, None)


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else dt.date.fromisoformat(value) if isinstance(value, str) else value


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def file_frame(stored: pd.DataFrame, entity: str, lang: str, *, masked: bool = True) -> pd.DataFrame:
    """Stored values by field name (as ``export_query`` gives them) as the file: headers in ``lang``."""
    schema = schema_for(entity)
    out = {}
    for field in schema.fields:
        column = _cells(field, stored[field.name], lang)
        if masked and field.personal:
            column = column.map(_MASKERS[field.personal])
        out[field.header(lang)] = column
    return pd.DataFrame(out, index=stored.index, columns=[f.header(lang) for f in schema.fields])


def export_file(conn: Connection | Session, entity: str, lang: str, *, masked: bool = True,
                actor: writes.Actor | None = None, filters: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every row of ``entity`` as its file in ``lang``: the fields' headers, yuan, labels, business keys;
    personal data masked. ``masked=False`` of an entity with personal data is for an admin ``actor``
    only (PermissionDenied otherwise) and writes its audit row on ``conn`` (who, entity, rows,
    ``filters``): call it in the transaction that hands the file out (``db.engine.transaction``)."""
    schema = schema_for(entity)
    unmasked = not masked and has_personal_data(entity)
    if unmasked:
        writes.require_unmasked(actor or writes.Actor("nobody", Role.viewer))
    result = conn.execute(export_query(entity))
    stored = frame_of(result.all(), [f.name for f in schema.fields])
    if unmasked:
        assert actor is not None
        writes.record_unmasked_export(conn, actor, entity, len(stored), filters)
    with company_lists.in_force(conn):   # a value the company added is written by its stored label
        return file_frame(stored, entity, lang, masked=masked)


def file_formats(entity: str, lang: str) -> dict[str, present.Format]:
    """Header -> Excel number format of the file's number and date columns (yuan ``#,##0.00``)."""
    kinds = {Kind.money: present.Format(present.Kind.yuan, 2), Kind.date: present.Format(present.Kind.date, 0),
             Kind.datetime: present.Format(present.Kind.datetime, 0), Kind.whole: present.Format(present.Kind.count, 0)}
    return {f.header(lang): kinds[f.kind] for f in schema_for(entity).fields if f.kind in kinds}


def file_name(entity: str, lang: str, fmt: str, *, template: bool = False) -> str:
    """A download's file name in the reader's language: ``contracts.xlsx`` / ``合同.xlsx``, ``合同-模板.csv``."""
    title = schema_for(entity).title(lang) if lang == "zh" else entity
    suffix = ("-模板" if lang == "zh" else "-template") if template else ""
    return f"{title}{suffix}.{fmt}"


def has_personal_data(entity: str) -> bool:
    """Whether the entity's file carries names, phones or e-mails of people (masked unless asked)."""
    return any(f.personal for f in schema_for(entity).fields)


def export_notes(entity: str, rows: int, lang: str, *, masked: bool, made_at: dt.datetime) -> list[str]:
    """What an export file says about itself, in ``lang``: which entity and how many rows, when it was
    made (UTC), and whether personal data is masked (for entities that hold any)."""
    notes = [t("data.export.notes", lang, entity=schema_for(entity).title(lang), rows=f"{rows:,}"),
             t("data.export.made_at", lang, time=f"{made_at:%Y-%m-%d %H:%M}")]
    if has_personal_data(entity):
        notes.append(t("data.export.masked_note" if masked else "data.export.unmasked_note", lang))
    return notes


def file_bytes(df: pd.DataFrame, entity: str, lang: str, fmt: str, *, notes: list[str] | None = None) -> bytes:
    """The file as CSV (UTF-8 with BOM) or .xlsx (number formats on yuan, dates and counts), neutralised.
    ``notes`` go before the header of a CSV ('# ' rows) and on a second sheet of an .xlsx."""
    if fmt == "csv":
        return exports.to_csv_bytes(df, notes=notes)
    if fmt == "xlsx":
        try:
            return exports.to_excel_bytes(df, schema_for(entity).title(lang), notes, formats=file_formats(entity, lang),
                                          notes_sheet=t("export.notes_sheet", lang))
        except exports.TooManyRowsForExcel as exc:
            raise UsageError(str(exc)) from None
    raise UsageError(f"cannot write a '{fmt}' file: use csv or xlsx")



# --- templates ------------------------------------------------------------------------------------

# One example row per entity, as stored (cents, codes); text differs by language where a person
# would write it differently. The keys agree across entities (the contract's customer is the
# customer's example), so the templates filled in as given import in load order.
_EXAMPLES: dict[str, dict[str, Any]] = {
    "customers": {"code": "C2025001", "name": ("East Precision Manufacturing Co., Ltd.", "华东精密制造有限公司"),
                  "industry": "manufacturing", "region": "east_china", "employees": 1200, "size_band": "large",
                  "partnership_level": "gold", "demand_type": "configured", "fortune500": False, "listed": True,
                  "high_valuation": False, "reference_case": False, "competitor_price_cut": False,
                  "csm": ("Fang Wang", "王芳"), "created_on": dt.date(2025, 3, 1)},
    "contacts": {"customer": "C2025001", "name": ("Wei Zhang", "张伟"), "email": "zhang.wei@example.com",
                 "phone": "13812341234", "title": ("Production director", "生产总监"), "role": "boss", "is_key": True,
                 "start_date": dt.date(2025, 3, 1), "end_date": None},
    "contracts": {"code": "HT-2025-001", "customer": "C2025001", "kind": "new", "product_line": "MES",
                  "signed_on": dt.date(2025, 3, 15), "start_date": dt.date(2025, 4, 1), "end_date": dt.date(2026, 3, 31),
                  "amount": 8_680_000, "delivery_cost": 1_200_000, "service_cost": 500_000, "renewal_of": None},
    "invoices": {"number": "FP-2025-0001", "contract": "HT-2025-001", "customer": "C2025001",
                 "issued_on": dt.date(2025, 4, 1), "due_on": dt.date(2025, 5, 1), "amount": 4_340_000},
    "payments": {"reference": "R2025-000001", "invoice": "FP-2025-0001", "paid_on": dt.date(2025, 4, 20),
                 "amount": 4_340_000},
    "usage": {"customer": "C2025001", "day": dt.date(2025, 4, 2), "active_users": 35, "sessions": 80,
              "page_views": 1240, "unique_visitors": 38, "feature_events": 210},
    "feedback": {"customer": "C2025001", "received_at": dt.datetime(2025, 4, 3, 10, 30), "channel": "wechat",
                 "product_area": "reports", "text": ("The monthly report takes a minute to open.", "月报打开要一分钟。"),
                 "severity": "medium", "importance": "important"},
    "events": {"name": ("Smart Manufacturing Expo 2025", "2025 智能制造展"), "start_date": dt.date(2025, 4, 10),
               "end_date": dt.date(2025, 4, 12), "format": "offline", "kind": "exhibition", "organisation": "sponsored",
               "location": ("Shanghai", "上海"), "purposes": "acquisition,conversion", "budget": 20_000_000,
               "goal_leads": 100, "goal_effective_leads": 40, "goal_opportunities": 12, "goal_conversions": 3,
               "goal_revenue": 150_000_000},
    "event_costs": {"event": ("Smart Manufacturing Expo 2025", "2025 智能制造展"), "event_start": dt.date(2025, 4, 10),
                    "category": "venue", "note": ("Booth", "展位"), "amount": 5_000_000},
    "leads": {"company": ("Shanghai Machinery Co., Ltd.", "上海某机械有限公司"), "contact_name": ("Na Li", "李娜"),
              "phone": "13900001111", "email": "li.na@example.com", "title_level": "manager", "industry": "manufacturing",
              "company_size": 800, "budget_confirmed": True, "created_at": dt.datetime(2025, 4, 11, 9, 0),
              "opportunity_at": dt.datetime(2025, 5, 6, 14, 0), "opportunity_amount": 12_000_000, "won_at": None,
              "won_amount": None, "customer": None},
    "lead_touches": {"lead_company": ("Shanghai Machinery Co., Ltd.", "上海某机械有限公司"), "lead_contact": ("Na Li", "李娜"),
                     "event": ("Smart Manufacturing Expo 2025", "2025 智能制造展"), "event_start": dt.date(2025, 4, 10),
                     "touched_at": dt.datetime(2025, 4, 11, 9, 0)},
}


def example_frame(entity: str, lang: str) -> pd.DataFrame:
    """The template's example row, as the file writes it (headers, yuan and labels in ``lang``)."""
    schema = schema_for(entity)
    example = _EXAMPLES[entity]
    row = {f.name: _in_language(example.get(f.name), lang) for f in schema.fields}
    stored = pd.DataFrame([row], columns=[f.name for f in schema.fields], dtype=object)
    return file_frame(stored, entity, lang, masked=False)


def _in_language(value: Any, lang: str) -> Any:
    if isinstance(value, tuple):
        return value[1] if lang == "zh" else value[0]
    return value


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def field_rows(entity: str, lang: str) -> list[dict[str, str]]:
    """Each field described for a person: header, required, kind, allowed values, when empty, help."""
    schema = schema_for(entity)
    rows = []
    for field in schema.fields:
        if field.ref in fileschema.LOOKUPS:
            lookup = fileschema.LOOKUPS[field.ref]
            kind = t("template.kind.lookup", lang, entity=lookup.zh if lang == "zh" else lookup.en)
        elif field.ref is not None:
            target = SCHEMAS[field.ref]
            kind = t("template.kind.ref", lang, field=target.field(field.ref_field or "").header(lang),
                     entity=target.title(lang))
        else:
            kind = t(f"template.kind.{field.kind.value}", lang)
        if field.vocabulary is not None:
            allowed = ("、" if lang == "zh" else ", ").join(_labels(field, lang).values())
        elif field.kind in (Kind.whole, Kind.decimal, Kind.money) and field.maximum is not None:
            allowed = t("template.range", lang, minimum=_number(field.minimum or 0), maximum=_number(field.maximum))
        elif field.kind in (Kind.text, Kind.ref) and field.maximum is not None:
            allowed = t("template.length", lang, maximum=_number(field.maximum))
        else:
            allowed = ""
        rows.append({
            "header": field.header(lang),
            "required": t("template.required" if field.required else "template.optional", lang),
            "kind": kind, "allowed": allowed, "default": "" if field.required else describe_default(field, lang),
            "help": field.help(lang),
        })
    return rows


def describe_default(field: fileschema.Field, lang: str) -> str:
    """What an empty cell of an optional field becomes, in words of ``lang``."""
    default = field.default
    if isinstance(default, (fileschema.Derivation, fileschema.FromRef)):
        return default.describe(lang)
    if default is None:
        return t("template.blank", lang)
    if default == "" and field.kind is Kind.choices:
        return t("template.none", lang)
    cell = _cells(field, pd.Series([default], dtype=object), lang).iloc[0]
    return str(cell)


def template_notes(entity: str, lang: str) -> list[str]:
    """The '# ' note rows of a CSV template: what the file is, then one line per field."""
    schema = schema_for(entity)
    notes = [t("template.note.title", lang, entity=schema.title(lang))]
    sep = "；" if lang == "zh" else "; "
    for field, row in zip(schema.fields, field_rows(entity, lang), strict=True):
        if field.vocabulary is not None:
            kind = t("template.one_of" if field.kind is Kind.choice else "template.some_of", lang, values=row["allowed"])
        else:
            kind = f"{row['kind']}{sep}{row['allowed']}" if row["allowed"] else row["kind"]
        key = "template.note.required" if field.required else "template.note.optional"
        notes.append(t(key, lang, header=row["header"], kind=kind, default=row["default"], help=row["help"]))
    return notes


def template_bytes(entity: str, lang: str, fmt: str) -> bytes:
    """A template to fill in: CSV with '# ' notes describing each field before the header and one example
    row; or .xlsx with the header and the example on the first sheet and a second sheet describing the
    fields ("Fields" / "字段说明")."""
    example = example_frame(entity, lang)
    if fmt == "csv":
        return file_bytes(example, entity, lang, "csv", notes=template_notes(entity, lang))
    if fmt != "xlsx":
        raise UsageError(f"cannot write a '{fmt}' file: use csv or xlsx")
    from openpyxl import load_workbook
    from openpyxl.styles import Alignment, Font

    workbook = load_workbook(io.BytesIO(file_bytes(example, entity, lang, "xlsx")))
    sheet = workbook.create_sheet(t("template.fields", lang))
    columns = ("header", "required", "kind", "allowed", "default", "help")
    sheet.append([t(f"template.col.{c}", lang) for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in field_rows(entity, lang):
        sheet.append([exports.neutralise(row[c]) for c in columns])
    for letter, width in zip("ABCDEF", (22, 10, 28, 40, 24, 60), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the README's tables of fields ----------------------------------------------------------------


def fields_markdown() -> str:
    """Every entity's file as the README lists it: key, headers in both languages, required or what
    an empty cell becomes, and what a cell accepts (kept equal to the README by tests/test_importer.py)."""
    out = []
    for entity, schema in SCHEMAS.items():
        keys = " or ".join("+".join(schema.field(n).en for n in names) for names in schema.keys)
        out.append(f"**{schema.en}** (`{entity}`, {schema.zh}); a row is identified by {keys}.\n")
        out.append("| Header | 中文表头 | Required / when empty | A cell holds |")
        out.append("|---|---|---|---|")
        for field, row in zip(schema.fields, field_rows(entity, "en"), strict=True):
            when = "required" if field.required else (row["default"] or "empty")
            accepts = cells.accepts(field, "en").replace("|", "\\|")
            out.append(f"| {field.en} | {field.zh} | {when} | {accepts} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
