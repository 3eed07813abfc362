"""Reading any table file a person has: CSV in any common encoding and delimiter, or an Excel workbook.

``open_table`` gives the file's header and a stream of its rows, each with the row number a
spreadsheet shows. Nothing is read whole into memory: text is decoded incrementally and parsed row
by row, workbooks are read with openpyxl's read-only mode, and a file over the size limit
(``OPS_IMPORT_MAX_MB``, default 200) is refused before a byte of it is parsed. Every problem is a
``FileProblem`` whose ``message`` reads in English and in Chinese; none is a traceback.

What is detected, and in which order:

- Encoding: a byte-order mark (UTF-8, UTF-16 LE/BE as Excel's "Unicode text", UTF-32), then UTF-8 on
  the first MiB, then GB18030 (a superset of GBK and GB2312, what Chinese Excel writes), then
  charset-normalizer. Short GBK text fools detectors, which is why they come last. A byte that does
  not decode further down names its row.
- Delimiter: comma, semicolon or tab, whichever the header line has most of outside quotes
  (a one-column file: comma).
- Rows: blank rows are skipped but counted; single-cell ``#`` note rows before the header (our own
  exports write them) are skipped; the quote our exports put before formula-looking text is undone.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import io
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ops_core.errors import UsageError
from ops_core.exports import QUOTE, unneutralise
from ops_core.i18n import TEXT, Phrase, t

SIZE_LIMIT_ENV = "OPS_IMPORT_MAX_MB"
DEFAULT_SIZE_LIMIT_MB = 200
MIB = 1024 * 1024

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")  # .txt: what Excel's "Unicode text" saves
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
OLD_EXCEL_SUFFIXES = (".xls", ".xlsb")
# What an upload field offers: old Excel files too, so their refusal says what to save instead.
UPLOAD_SUFFIXES = TEXT_SUFFIXES + WORKBOOK_SUFFIXES + OLD_EXCEL_SUFFIXES

SAMPLE_BYTES = MIB  # what encoding and delimiter detection look at
MAX_LINE_CHARS = 1_000_000  # one physical line of a CSV; longer is refused rather than held in memory
MAX_CELL_CHARS = csv.field_size_limit()  # 131,072: the csv module's own bound on one cell
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}

_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


class FileProblem(UsageError):
    """A file that cannot be read as a table. ``message`` is a Phrase (``say(exc.message, lang)``
    reads it in either language); ``row`` is the row a spreadsheet shows, when the problem has one."""

    def __init__(self, key: str, *, row: int | None = None, **values: object):
        self.message = Phrase(key, row=row, **values) if row is not None else Phrase(key, **values)
        self.row = row
        super().__init__(str(self.message))


def server_size_cap() -> int | None:
    """The server's cap on an upload, in bytes: ``OPS_IMPORT_MAX_MB`` megabytes (MiB, as Streamlit counts
    its upload limit) when set, else None."""
    text = os.environ.get(SIZE_LIMIT_ENV, "").strip()
    if not text:
        return None
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if not math.isfinite(megabytes) or megabytes <= 0:
        raise FileProblem("file.bad_size_setting", setting=SIZE_LIMIT_ENV, value=text)
    return int(megabytes * MIB)


def size_limit(stored_mb: float | None = None) -> int:
    """The largest file accepted, in bytes. ``stored_mb`` is the store's setting
    ``import.max_upload_mb`` (an admin sets it on the settings page); the server's ``OPS_IMPORT_MAX_MB``,
    when set, caps it (and is the limit when no setting is passed); 200 MB when neither says."""
    cap = server_size_cap()
    if stored_mb is None:
        return cap if cap is not None else DEFAULT_SIZE_LIMIT_MB * MIB
    wanted = int(float(stored_mb) * MIB)
    return wanted if cap is None else min(wanted, cap)


@dataclass
class TableFile:
    """An opened table file: its header and a stream of its rows.

    ``rows`` yields ``(row number a spreadsheet shows, cells)`` once, in file order; it raises
    FileProblem (naming the row) when the file turns out unreadable further down. Close the file
    (``close()`` or ``with open_table(...) as table:``) when done; reading every row closes it too.
    """

    header: tuple[str, ...]
    header_row: int
    rows: Iterator[tuple[int, tuple[object, ...]]]
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: tuple[str, ...]
    filename: str = ""
    _closers: list[Callable[[], object]] = field(default_factory=list, repr=False)

    def described(self, lang: str) -> str:
        """What was detected, for the data page: "UTF-8, comma-separated", "GB18030 编码，逗号分隔",
        "Excel workbook, sheet 'Sales'"."""
        if self.encoding is None:
            return t("file.described.sheet", lang, sheet=self.sheet or "")
        encoding_key = f"file.encoding.{self.encoding}"
        encoding = (t(encoding_key, lang) if encoding_key in TEXT
                    else t("file.encoding.other", lang, name=self.encoding.upper()))
        delimiter = t(f"file.delimiter.{DELIMITERS.get(self.delimiter or ',', 'comma')}", lang)
        return t("file.described.text", lang, encoding=encoding, delimiter=delimiter)

    def close(self) -> None:
        while self._closers:
            with contextlib.suppress(Exception):  # a damaged workbook may fail again on closing; it is done with
                self._closers.pop()()

    def __enter__(self) -> TableFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_table(source: bytes | str | os.PathLike[str] | BinaryIO, filename: str, *, sheet: str | None = None,
               size_limit: int | None = None) -> TableFile:
    """Open a CSV or .xlsx file by ``filename``'s ending and read up to its header row.

    ``source`` is the file's bytes, its path, or a binary stream (read from where it stands, never
    closed here: an upload stays the caller's). ``sheet`` picks a workbook's sheet (default the
    first). ``size_limit`` in bytes overrides the configured ``size_limit()``. Returns a TableFile to
    close (or use in ``with``); raises FileProblem with a message in both languages.
    """
    name = Path(filename).name
    suffix = Path(filename).suffix.lower()
    if suffix in OLD_EXCEL_SUFFIXES:
        raise FileProblem("file.old_excel", file=name, suffix=suffix)
    if suffix not in TEXT_SUFFIXES + WORKBOOK_SUFFIXES:
        raise FileProblem("file.unknown_kind", file=name)
    limit = globals()["size_limit"]() if size_limit is None else size_limit
    stream, size, closers = _binary(source, name)
    try:
        if size is not None and size > limit:
            raise FileProblem("file.too_big", file=name, size=_megabytes(size, up=True), limit=_megabytes(limit))
        if suffix in WORKBOOK_SUFFIXES:
            table = _open_workbook(stream, name, sheet, limit if size is None else None, closers)
        else:
            table = _open_text(stream, name, limit if size is None else None)
        table._closers[:0] = closers
        return table
    except BaseException:
        for close in reversed(closers):
            close()
        raise


def _megabytes(size: int, *, up: bool = False) -> str:
    """Sizes as a person reads them: 200, 0.5, 200.1 (a size just over the limit rounds up, never to it)."""
    tenths = math.ceil(size * 10 / MIB) if up else round(size * 10 / MIB)
    return f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths / 10:.1f}"


def _binary(source: Any, name: str) -> tuple[BinaryIO, int | None, list[Callable[[], object]]]:
    """A binary stream over ``source``, its size when it can be known without reading, and what closes it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(source), len(source), []
    if isinstance(source, (str, os.PathLike)):
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed by the TableFile
        except FileNotFoundError:
            raise FileProblem("file.not_found", file=str(source)) from None
        except IsADirectoryError:
            raise FileProblem("file.is_folder", file=str(source)) from None
        except OSError as exc:
            raise FileProblem("file.unreadable", file=name, reason=exc.strerror or type(exc).__name__) from None
        return handle, os.fstat(handle.fileno()).st_size, [handle.close]
    size = None
    try:
        if source.seekable():
            here = source.tell()
            size = source.seek(0, io.SEEK_END) - here
            source.seek(here)
    except (OSError, AttributeError, ValueError):
        size = None
    return source, size, []


class _Bounded(io.RawIOBase):
    """The bytes of a stream: a sample already read first, then the rest; past ``limit`` bytes in all
    (a stream whose size was not known beforehand) it refuses to go on."""

    def __init__(self, head: bytes, rest: BinaryIO, limit: int | None, name: str):
        self._head = memoryview(head)
        self._rest = rest
        self._limit = limit
        self._name = name
        self._count = len(head)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        if self._head.nbytes:
            n = min(len(target), self._head.nbytes)
            target[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(target))
        if not data:
            return 0
        self._count += len(data)
        if self._limit is not None and self._count > self._limit:
            raise FileProblem("file.too_big.stream", file=self._name, limit=_megabytes(self._limit))
        target[:len(data)] = data
        return len(data)


def _read_sample(stream: BinaryIO, limit: int | None, name: str) -> tuple[bytes, bool]:
    """The first SAMPLE_BYTES of the file, and whether that is all of it."""
    wanted = SAMPLE_BYTES if limit is None else min(SAMPLE_BYTES, limit + 1)
    parts: list[bytes] = []
    got = 0
    while got < wanted:  # a pipe may hand out less than asked before its end
        part = stream.read(wanted - got)
        if not part:
            break
        parts.append(bytes(part))
        got += len(part)
    sample = b"".join(parts)
    if limit is not None and len(sample) > limit:
        raise FileProblem("file.too_big.stream", file=name, limit=_megabytes(limit))
    return sample, got < wanted


# --- CSV -------------------------------------------------------------------------------------------

_MARK_ERRORS = "ops-core-mark"
_DECODE_ERRORS = [0]  # decoding errors met so far, by any reader: rows are searched for marks only after one


def _mark(exc: UnicodeError) -> tuple[str, int]:
    """Decoding errors become lone surrogates U+DC00+byte (which no real text decodes to), so the row
    holding them is found and named when it is parsed, not wherever the decoder's chunk happened to end."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _DECODE_ERRORS[0] += 1  # tells readers to look for marks; a lost update by a racing thread still changes it
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(_MARK_ERRORS, _mark)
_MARKED = re.compile("[\udc00-\udcff]+")


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    """Whether ``sample`` is ``encoding`` text; an incomplete last character is fine when more follows."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(sample: bytes, complete: bool) -> str | None:
    """The encoding of a file starting with ``sample`` (the whole file when ``complete``), by the
    order in the module docstring; None when nothing fits."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    if _decodes(sample, "utf-8", complete):
        return "utf-8"
    if _decodes(sample, "gb18030", complete):
        return "gb18030"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return None if best is None else codecs.lookup(best.encoding).name


def detect_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one the header line (the first line that is neither blank nor a
    ``#`` note) has most of outside quotes; comma on a tie or when it has none."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end].strip()
        if line and not line.lstrip('"').startswith("#"):
            break
        start = end + 1
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in text[start:]:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "\r\n":
            break
        elif char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])  # dict order breaks ties: comma, then semicolon, then tab
    return best if counts[best] else ","


def _open_text(stream: BinaryIO, name: str, limit: int | None) -> TableFile:
    sample, complete = _read_sample(stream, limit, name)
    if not sample:
        raise FileProblem("file.empty", file=name)
    encoding = detect_encoding(sample, complete)
    if encoding is None:
        raise FileProblem("file.unknown_encoding", file=name)
    if not encoding.startswith("utf-16") and not encoding.startswith("utf-32") and b"\x00" in sample:
        raise FileProblem("file.not_text", file=name)
    head = codecs.getincrementaldecoder(encoding)("replace").decode(sample[:64 * 1024], final=False)
    delimiter = detect_delimiter(head.lstrip("\ufeff"))
    binary = io.BufferedReader(_Bounded(sample, stream, limit, name), buffer_size=64 * 1024)
    text = io.TextIOWrapper(binary, encoding=encoding, errors=_MARK_ERRORS, newline="")
    records = _csv_records(text, delimiter, name, encoding)
    table = _with_header(records, name, encoding=encoding, delimiter=delimiter, sheet=None, sheets=())
    table._closers.append(text.detach)  # leaves the caller's stream open
    return table


def _lines(text: io.TextIOWrapper, name: str, counter: list[int]) -> Iterator[str]:
    """Physical lines, each at most MAX_LINE_CHARS long: a file without line breaks is refused, not
    held in memory whole."""
    while True:
        line = text.readline(MAX_LINE_CHARS)
        if not line:
            return
        if len(line) >= MAX_LINE_CHARS and line[-1] not in "\r\n":
            raise FileProblem("file.line_too_long", file=name, row=counter[0] + 1, limit=f"{MAX_LINE_CHARS:,}")
        yield line


def _csv_records(text: io.TextIOWrapper, delimiter: str, name: str, encoding: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Every record with its number (a quoted line break stays inside its record, as in a spreadsheet)."""
    counter = [0]
    reader = csv.reader(_lines(text, name, counter), delimiter=delimiter)
    errors_before = _DECODE_ERRORS[0]
    try:
        for record in reader:
            counter[0] += 1
            joined = "".join(record)
            if not joined or joined.isspace():
                yield counter[0], ()
                continue
            if "\x00" in joined:
                raise FileProblem("file.not_text.row", file=name, row=counter[0])
            if _DECODE_ERRORS[0] != errors_before and (marked := _MARKED.search(joined)):
                shown = " ".join(f"0x{ord(c) - 0xDC00:02X}" for c in marked.group()[:4])
                raise FileProblem("file.bad_bytes", file=name, row=counter[0], bytes=shown, encoding=encoding.upper())
            if QUOTE in joined:
                yield counter[0], tuple(unneutralise(cell) for cell in record)
            else:
                yield counter[0], tuple(record)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise FileProblem("file.cell_too_long", file=name, row=counter[0] + 1, limit=f"{MAX_CELL_CHARS:,}") from None
        raise FileProblem("file.not_csv", file=name, row=counter[0] + 1, reason=str(exc)) from None
    except UnicodeDecodeError:  # errors the mark cannot carry (UTF-16's, whose bad bytes may be below 0x80)
        raise FileProblem("file.bad_bytes", file=name, row=counter[0] + 1, bytes="?",
                          encoding=encoding.upper()) from None


# --- header and rows (both kinds) ------------------------------------------------------------------


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and cell.strip() == "")


def _is_note(cells: tuple[Any, ...]) -> bool:
    """A note before the header: a first cell starting with ``# `` (an unquoted comma may split a note
    written by hand), or a single cell starting with ``#``; a header such as ``#,name`` is no note."""
    first = cells[0].lstrip() if cells and isinstance(cells[0], str) else ""
    return first.startswith("# ") or (first.startswith("#") and all(_blank(c) for c in cells[1:]))


def _with_header(records: Iterator[tuple[int, tuple[Any, ...]]], name: str, **detected: Any) -> TableFile:
    """Read up to the header row; the rest of ``records`` becomes the TableFile's row stream.

    ``records`` come numbered, unneutralised, and blank ones as ``()``."""
    for number, cells in records:
        if not cells or _is_note(cells):
            continue
        header = tuple("" if cell is None else str(cell).strip() for cell in cells)
        while header and header[-1] == "":
            header = header[:-1]
        table = TableFile(header, number, iter(()), filename=name, **detected)
        table.rows = _data_rows(records, table)
        return table
    raise FileProblem("file.no_header", file=name)


def _data_rows(records: Iterator[tuple[int, tuple[Any, ...]]], table: TableFile) -> Iterator[tuple[int, tuple[object, ...]]]:
    try:
        for number, record in records:
            if record:
                yield number, record
    finally:
        table.close()


# --- Excel -----------------------------------------------------------------------------------------


def _open_workbook(stream: BinaryIO, name: str, sheet: str | None, limit: int | None,
                   closers: list[Callable[[], object]]) -> TableFile:
    from openpyxl import load_workbook

    if not stream.seekable() or limit is not None:  # a zip needs seeking: copy a pipe to disk, bounded
        spool = tempfile.SpooledTemporaryFile(max_size=8 * MIB)  # noqa: SIM115 - closed by the TableFile
        closers.append(spool.close)
        shutil.copyfileobj(_Bounded(b"", stream, limit, name), spool)
        spool.seek(0)
        stream = spool  # type: ignore[assignment]
    # A damaged workbook fails in many ways (zip, XML, openpyxl's own checks): all mean "unreadable".
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception:
        raise FileProblem("file.not_xlsx", file=name) from None
    closers.append(workbook.close)
    sheets = tuple(workbook.sheetnames)
    worksheets = {ws.title: ws for ws in workbook.worksheets}  # chart sheets hold no cells
    if sheet is None:
        if not worksheets:
            raise FileProblem("file.no_sheets", file=name)
        chosen = next(iter(worksheets))
    elif sheet in worksheets:
        chosen = sheet
    else:
        raise FileProblem("file.no_sheet", file=name, sheet=sheet, sheets=", ".join(sheets))
    worksheet = worksheets[chosen]
    worksheet.reset_dimensions()  # some writers record a wrong size; read every row the sheet has
    records = _sheet_records(worksheet.iter_rows(min_row=1, values_only=True), name, chosen)
    return _with_header(records, name, encoding=None, delimiter=None, sheet=chosen, sheets=sheets)


def _sheet_records(rows: Iterator[tuple[Any, ...]], name: str, sheet: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    number = 0
    try:
        for record in rows:
            number += 1
            if all(_blank(cell) for cell in record):
                yield number, ()
            else:
                yield number, tuple(unneutralise(cell) for cell in record)
    except FileProblem:
        raise
    except Exception:
        raise FileProblem("file.sheet_damaged", file=name, sheet=sheet, row=number + 1) from None

