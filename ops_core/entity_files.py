"""An entity's file as a person reads it, written from the store by its file schema (``fileschema``).

Headers in the reader's language, money in yuan with two decimals, vocabularies by their labels,
other entities by their business keys (a contract's customer by the customer's code), never an
internal id; the same file the import reads back. References are resolved by SQL joins in one
query, so a 1,000,000-row usage file costs one query, not a million look-ups. Personal data (names,
phones, e-mails of contacts and leads) is masked unless the caller may and asks to see it.

Templates (``template_bytes``) are the same file with one example row and every field described.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Select, select

from ops_core import cells, exports, fileschema, present
from ops_core.db.models import TABLES
from ops_core.errors import UsageError
from ops_core.fileschema import SCHEMAS, FileSchema, Kind

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
    assert field.vocabulary is not None
    return {code: pair[1] if lang == "zh" else pair[0] for code, pair in cells.labels_of(field.vocabulary).items()}


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


def export_file(conn: Connection, entity: str, lang: str, *, masked: bool = True) -> pd.DataFrame:
    """Every row of ``entity`` as its file in ``lang``: the fields' headers, yuan, labels, business keys;
    personal data masked unless ``masked=False`` (the caller checks who may see it)."""
    schema = schema_for(entity)
    result = conn.execute(export_query(entity))
    stored = pd.DataFrame.from_records(result.all(), columns=[f.name for f in schema.fields])
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


def file_bytes(df: pd.DataFrame, entity: str, lang: str, fmt: str, *, notes: list[str] | None = None) -> bytes:
    """The file as CSV (UTF-8 with BOM) or .xlsx (number formats on yuan, dates and counts), neutralised."""
    if fmt == "csv":
        return exports.to_csv_bytes(df, notes=notes)
    if fmt == "xlsx":
        try:
            return exports.to_excel_bytes(df, schema_for(entity).title(lang), notes, formats=file_formats(entity, lang))
        except exports.TooManyRowsForExcel as exc:
            raise UsageError(str(exc)) from None
    raise UsageError(f"cannot write a '{fmt}' file: use csv or xlsx")

