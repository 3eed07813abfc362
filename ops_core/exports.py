"""Safe output: every file the product writes goes through here.

Two dangers, one place each:
- personal data (names, phones, e-mails) leaves masked unless an admin asks (``release``), and then
  the export is recorded in the audit log; which columns hold it is declared once per entity in
  ``PERSONAL_DATA``;
- a text cell that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+1``, ``@SUM(A1)``) is
  neutralised with a leading single quote, as the OWASP "CSV injection" guidance asks.

CSV is written as UTF-8 with a byte-order mark, so Excel opens Chinese text correctly; Excel files are
written with openpyxl, every text cell typed as a string. No function here raises on odd input
(emoji, NUL, lone surrogates, 100,000-character strings, non-strings).
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ops_core import present, writes
from ops_core.errors import PermissionDenied
from ops_core.i18n import TEXT, t
from ops_core.present import Format, Kind
from ops_core.writes import Actor

# --- missing values ----------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    """None, NaN, NA, NaT and the empty string: left as they are by masking and neutralising."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return False


def _text(value: Any) -> str:
    """``str(value)`` that never raises (a hostile ``__str__`` gives the empty string)."""
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:  # any failure of a foreign __str__ counts as "no text"
        return ""


# --- masking personal data ---------------------------------------------------------------------

MASK = "*"
# Words of a name are separated by whitespace and the middle dot of transliterated names (迪丽热巴·迪力木拉提).
_NAME_SEPARATORS = re.compile(r"(\s+|[·•・])")
_PHONE_PREFIX = re.compile(r"^\s*(?:\+|00)\s*(\d{1,3})(?:[\s\-.)]+|(?=1\d{10}$))")


def mask_name(value: Any) -> Any:
    """A name with only the first character of each word shown, one ``*`` per hidden character.

    ``张三`` -> ``张*``, ``欧阳娜娜`` -> ``欧***``, ``John Smith`` -> ``J*** S****``; a one-character
    word is hidden completely (``张`` -> ``*``). Missing values stay as they are.
    """
    if _is_missing(value):
        return value
    parts = _NAME_SEPARATORS.split(_text(value))
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 1 or part == "":  # a separator, kept as is
            out.append(part)
        elif len(part) == 1:
            out.append(MASK)
        else:
            out.append(part[0] + MASK * (len(part) - 1))
    return "".join(out) or MASK * 4


def mask_phone(value: Any) -> Any:
    """A phone number with the middle digits hidden; formatting dropped, a country prefix kept.

    Rule on the national digits (n of them): n >= 8 keeps the last 4 and up to 3 leading digits
    while always hiding at least 4 (``13812341234`` -> ``138****1234``, ``6123-4567`` ->
    ``****4567``); 5..7 digits keep the last 2; 4 or fewer are hidden completely. A leading ``+CC`` or
    ``00CC`` followed by a separator (or ``+86`` directly before an 11-digit mobile) is shown as
    ``+CC ``. Text without any digit becomes ``****``.
    """
    if _is_missing(value):
        return value
    text = _text(value)
    prefix = ""
    match = _PHONE_PREFIX.match(text)
    if match:
        prefix = f"+{match.group(1)} "
        text = text[match.end():]
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    n = len(digits)
    if n == 0:
        return prefix + MASK * 4
    if n <= 4:
        head, tail = 0, 0
    elif n <= 7:
        head, tail = 0, 2
    else:
        head, tail = min(3, n - 8), 4
    return prefix + digits[:head] + MASK * (n - head - tail) + (digits[-tail:] if tail else "")


def mask_email(value: Any) -> Any:
    """An e-mail address with the mailbox reduced to its first character and ``***``.

    ``alice@example.com`` -> ``a***@example.com``; the domain stays (it names the company, not the
    person). Text without ``@`` is masked like a mailbox: ``alice`` -> ``a***``.
    """
    if _is_missing(value):
        return value
    text = _text(value).strip()
    local, at, domain = text.rpartition("@")
    if not at:
        local, domain = text, ""
    return (local[:1] if len(local) > 1 else "") + MASK * 3 + at + domain


@dataclass(frozen=True)
class PersonalData:
    """Which columns of one entity hold personal data, by kind; the masking rule lives here only."""

    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    def maskers(self) -> dict[str, Callable[[Any], Any]]:
        """Column -> masking function."""
        out: dict[str, Callable[[Any], Any]] = {}
        out.update(dict.fromkeys(self.names, mask_name))
        out.update(dict.fromkeys(self.phones, mask_phone))
        out.update(dict.fromkeys(self.emails, mask_email))
        return out


# Keyed by table name. Staff (csms) are not listed: CSM names are what the CSM team works by.
PERSONAL_DATA: Mapping[str, PersonalData] = {
    "contacts": PersonalData(names=("name",), phones=("phone",), emails=("email",)),
    "leads": PersonalData(names=("contact_name",), phones=("phone",), emails=("email",)),
    "users": PersonalData(names=("display_name",)),
    # The CSM team's customer list carries each customer's key contact.
    "customer_list": PersonalData(names=("key_contact",), phones=("key_contact_phone",), emails=("key_contact_email",)),
}
NO_PERSONAL_DATA = PersonalData()


def mask_frame(df: pd.DataFrame, personal: PersonalData | None) -> pd.DataFrame:
    """A copy of ``df`` with the declared personal-data columns masked (absent columns are skipped)."""
    if personal is None:
        return df
    out = df.copy()
    for column, masker in personal.maskers().items():
        if column in out.columns:
            out[column] = out[column].astype(object).map(masker)
    return out


def mask_personal_data(df: pd.DataFrame, entity: str) -> pd.DataFrame:
    """``df`` with the personal data declared for ``entity`` (a table name) masked; other entities unchanged."""
    return mask_frame(df, PERSONAL_DATA.get(entity))


def release(df: pd.DataFrame, entity: str, *, actor: Actor | None = None, masked: bool = True,
            conn: Session | Connection | None = None, filters: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """``df`` as it may leave the product: the personal data declared for ``entity`` masked.

    Unmasked (``masked=False``) only for an admin ``actor`` (PermissionDenied otherwise, also when no
    actor is given), and then recorded in the audit log on ``conn`` (who, ``entity``, how many rows,
    ``filters``): call it in the transaction (``db.engine.transaction``) that hands the file out.
    """
    if masked or entity not in PERSONAL_DATA:
        return mask_personal_data(df, entity)
    if actor is None or conn is None:
        raise PermissionDenied(f"an unmasked export of {entity} needs the acting user and the store to record it")
    writes.record_unmasked_export(conn, actor, entity, len(df), filters)
    return df


# --- neutralising formula injection ------------------------------------------------------------

QUOTE = "'"
# OWASP's list (= + - @ tab CR), plus the other C0 control characters and the full-width forms a
# Chinese input method types (＝＋－＠): a harmless quote in front costs nothing.
_TRIGGERS = "=+-@\t\r" + "".join(chr(c) for c in range(1, 32) if chr(c) not in "\t\r") + "\uff1d\uff0b\uff0d\uff20"
_TRIGGER_SET = frozenset(_TRIGGERS)
_NEEDS_QUOTE = re.compile("^'*[" + re.escape(_TRIGGERS) + "]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_NUMERIC_TYPES = (bool, int, float, decimal.Decimal, np.number, np.bool_, dt.date, dt.time, dt.timedelta)


def _needs_quote(text: str) -> bool:
    # Quotes already in front count too, so "'=x" becomes "''=x" and unneutralise() is exact.
    stripped = text.lstrip(QUOTE)
    return stripped != "" and stripped[0] in _TRIGGER_SET


def clean_text(text: str) -> str:
    """Text that every writer can encode: NUL removed, lone surrogates replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", text)


def neutralise(value: Any) -> Any:
    """A cell value safe to open in a spreadsheet.

    Numbers, booleans, dates and missing values are returned unchanged (a negative number is a
    number, not a formula). Anything else becomes text without NUL characters; text starting with
    ``= + - @``, tab, CR, another control character or a full-width ``＝＋－＠`` (after any
    leading quotes) gets one more leading ``'``.
    """
    if _is_missing(value) or isinstance(value, _NUMERIC_TYPES):
        return value
    text = clean_text(_text(value))
    return QUOTE + text if _needs_quote(text) else text


def unneutralise(value: Any) -> Any:
    """The inverse of ``neutralise`` for text: drops the quote it added, so export -> import round-trips."""
    if isinstance(value, str) and value.startswith(QUOTE) and _needs_quote(value[1:]):
        return value[1:]
    return value


def _neutralise_series(series: pd.Series) -> pd.Series:
    if (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
            or pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series)):
        return series
    values = series.astype(object)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return values.map(neutralise)  # mixed column: decide cell by cell
    # All text: vectorised with Python's regex engine (object dtype keeps lone surrogates working).
    missing = values.isna() | values.eq("")
    text = values.where(~missing, "").str.replace("\x00", "", regex=False)
    text = text.str.replace(_SURROGATE, "\ufffd", regex=True)
    text = text.where(~text.str.contains(_NEEDS_QUOTE), QUOTE + text)
    return text.where(~missing, values)


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell and every header neutralised; numeric columns untouched."""
    out = pd.DataFrame({i: _neutralise_series(df.iloc[:, i]) for i in range(df.shape[1])}, index=df.index)
    out.columns = [neutralise(_text(c)) for c in df.columns]
    return out


def _note_cell(note: Any) -> str:
    """A note as one single-line cell beginning with ``# `` (never a formula: it starts with '#')."""
    text = _CONTROL.sub(" ", clean_text(_text(note)))  # one line: no tabs or line breaks
    return text if text.startswith("# ") else "# " + text


# --- CSV ---------------------------------------------------------------------------------------


class _PercentCell(decimal.Decimal):
    """A ratio written into a CSV as a percentage (``-12.5%``): a number, so never neutralised."""

    decimals = 1

    def __str__(self) -> str:
        return f"{float(self):.{self.decimals}%}"


def _csv_cells(df: pd.DataFrame, formats: Mapping[str, Format] | None) -> pd.DataFrame:
    """Numbers written as a person reads them: yuan with two decimals, percentages with a % sign."""
    if not formats:
        return df
    out = df.copy()
    for name, spec in formats.items():
        if name not in out.columns:
            continue
        numbers = pd.to_numeric(out[name], errors="coerce")
        finite = numbers.notna() & np.isfinite(numbers.astype("float64"))
        if spec.kind in (Kind.money, Kind.yuan, Kind.number):
            # Decimals, not text: a negative amount is a number, not a formula to neutralise.
            cells = numbers.map(lambda v, d=spec.decimals: decimal.Decimal(f"{v:.{d}f}"))
        elif spec.kind == Kind.percent:
            kind = type("_Percent", (_PercentCell,), {"decimals": spec.decimals})
            cells = numbers.map(lambda v, k=kind: k(repr(float(v))))
        else:
            continue
        out[name] = cells.astype(object).where(finite, None)
    return out


def to_csv_bytes(df: pd.DataFrame, *, mask_columns: PersonalData | None = None,
                 notes: Iterable[str] | None = None, formats: Mapping[str, Format] | None = None) -> bytes:
    """UTF-8 CSV with a byte-order mark, personal data masked and every text cell neutralised.

    ``formats`` (header -> ``present.Format``, as ``present.frame`` returns them) writes money with
    two decimals and ratios as percentages (``25.4%``, which Excel reads back as a percentage).

    ``notes`` (the filters and weights behind the list) come first, one single-cell row each,
    starting with ``# ``; readers skip them with ``skiprows=len(notes)`` (``ops_core.io`` skips
    leading ``#`` rows itself). Cells are not truncated: CSV has no cell limit.
    """
    frame = neutralise_frame(_csv_cells(mask_frame(df, mask_columns), formats))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for note in notes or ():
        writer.writerow([_note_cell(note)])
    frame.to_csv(buffer, index=False, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


# --- Excel -------------------------------------------------------------------------------------

EXCEL_CELL_LIMIT = 32_767
EXCEL_MAX_ROWS = 1_048_576
TRUNCATED = "…[truncated]"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


class TooManyRowsForExcel(ValueError):
    """Excel holds at most 1,048,576 rows per sheet; use CSV for more."""


def excel_sheet_name(name: Any) -> str:
    """A name Excel accepts: no ``[]:*?/\\``, not starting or ending with a quote, at most 31 characters."""
    text = _BAD_SHEET_CHARS.sub("_", clean_text(_text(name))).strip("'").strip()[:31].strip("'")
    return text or "data"


def _excel_value(value: Any) -> Any:
    """One cell's value as openpyxl can store it: no illegal characters, at most 32,767 characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)  # Excel has no time zones
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value)
    if isinstance(value, (bool, int, float, decimal.Decimal, dt.date, dt.time)):
        return value
    # Control characters Excel refuses are removed first, so neutralising sees what Excel will show.
    text = ILLEGAL_CHARACTERS_RE.sub("", clean_text(_text(value)))
    text = neutralise(unneutralise(text)) if text else text
    if len(text) > EXCEL_CELL_LIMIT:
        text = text[: EXCEL_CELL_LIMIT - len(TRUNCATED)] + TRUNCATED
    return text


NOTES_SHEET = "About this file"


def to_excel_bytes(df: pd.DataFrame, sheet_name: str = "data", notes: Iterable[str] | None = None, *,
                   mask_columns: PersonalData | None = None, formats: Mapping[str, Format] | None = None,
                   notes_sheet: str = NOTES_SHEET) -> bytes:
    """An .xlsx file: personal data masked, every text cell neutralised and stored as a string.

    ``formats`` (header -> ``present.Format``) gives number cells their Excel number format (yuan
    ``#,##0.00``, percentages ``0.0%``, dates ``yyyy-mm-dd``): the cells stay numbers.

    Text is typed as a string cell explicitly, so openpyxl never writes a formula even for text
    that starts with ``=``. Text a spreadsheet would run (``neutralise``) carries Excel's own
    quote prefix, the cell style Excel gives text typed after a ``'``: the cell shows "+86 138 ..."
    and stays text when edited, where a quote character in the text would show as one. Text that
    already began with a quote keeps the added one too, so a reader's ``unneutralise`` gives back
    exactly what was written. Cells longer than Excel's 32,767 characters end in ``…[truncated]``.
    ``notes`` (what the file was made with) go on a second sheet (``notes_sheet``), so the data sheet
    starts with its header and sorts and filters in Excel as it is.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    frame = neutralise_frame(mask_frame(df, mask_columns))
    notes = list(notes or ())
    if len(frame) + 1 > EXCEL_MAX_ROWS:
        raise TooManyRowsForExcel(f"{len(frame):,} rows do not fit in one Excel sheet (at most "
                                  f"{EXCEL_MAX_ROWS - 1:,}); export as CSV instead")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(excel_sheet_name(sheet_name))

    def cell(value: Any, bold: bool = False, number_format: str | None = None) -> Any:
        value = _excel_value(value)
        quoted = isinstance(value, str) and value.startswith(QUOTE) and _needs_quote(value[1:])
        if quoted and not value[1:].startswith(QUOTE):
            value = value[1:]  # the style below is the quote
        c = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # never "f": a string is a string
            if quoted:
                c.quotePrefix = True
        elif number_format and value is not None:
            c.number_format = number_format
        if bold:
            c.font = Font(bold=True)
        return c

    wanted = dict(formats or {})
    number_formats = [wanted[name].excel if name in wanted else None for name in df.columns]
    sheet.append([cell(name, bold=True) for name in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([cell(value, number_format=f) for value, f in zip(row, number_formats, strict=True)])
    if notes:
        sheet = workbook.create_sheet(excel_sheet_name(notes_sheet))
        for note in notes:
            sheet.append([cell(_note_cell(note).removeprefix("# "))])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- files a person reads ------------------------------------------------------------------------


def reader_csv_bytes(df: pd.DataFrame, lang: str, *, notes: Iterable[str] | None = None,
                     columns: Mapping[str, present.Column] | None = None) -> bytes:
    """A stored frame (already masked) as a CSV a person reads: through ``present.frame`` (yuan,
    labels, headers in ``lang``; ``columns`` adds the frame's own), money with two decimals, ratios
    as percentages."""
    shown, formats = present.frame(df, lang, columns=columns)
    return to_csv_bytes(shown, notes=notes, formats=formats)


def reader_excel_bytes(df: pd.DataFrame, lang: str, *, sheet_name: str = "data",
                       notes: Iterable[str] | None = None, columns: Mapping[str, present.Column] | None = None) -> bytes:
    """A stored frame (already masked) as an .xlsx a person reads: ``present.frame`` values with
    Excel number formats on the cells (yuan ``#,##0.00``, percentages ``0.0%``, dates); a sheet named
    after a table reads by the table's name, the notes sheet in ``lang`` too."""
    shown, formats = present.frame(df, lang, columns=columns)
    if f"table.{sheet_name}" in TEXT:
        sheet_name = t(f"table.{sheet_name}", lang)
    return to_excel_bytes(shown, sheet_name, notes, formats=formats, notes_sheet=t("export.notes_sheet", lang))
