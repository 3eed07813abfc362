"""Reading any table file a person has: encodings, delimiters, workbooks, size, and clear refusals."""
from __future__ import annotations

import codecs
import datetime as dt
import io
import tracemalloc

import pytest
from openpyxl import Workbook

from ops_core import readers
from ops_core.errors import UsageError
from ops_core.i18n import Phrase
from ops_core.readers import FileProblem, open_table, size_limit

HEADER = "客户编号,客户名称,金额"
ROWS = ["C001,华东机械,86800.00", "C002,Müller GmbH,12000"]


def _read(source: object, filename: str, **options: object) -> tuple[readers.TableFile, list]:
    with open_table(source, filename, **options) as table:  # type: ignore[arg-type]
        return table, list(table.rows)


def _refusal(source: object, filename: str, **options: object) -> tuple[str, str]:
    """The refusal as a person reads it, in English and in Chinese."""
    with pytest.raises(FileProblem) as caught:
        with open_table(source, filename, **options) as table:  # type: ignore[arg-type]
            list(table.rows)
    assert isinstance(caught.value, UsageError) and isinstance(caught.value.message, Phrase)
    return caught.value.message.read("en"), caught.value.message.read("zh")


def _workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- encodings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "encoding", "en", "zh"), [
    pytest.param("\n".join([HEADER, *ROWS]).encode("utf-8"), "utf-8", "UTF-8, comma-separated",
                 "UTF-8 编码，逗号分隔", id="utf-8"),
    pytest.param("\r\n".join([HEADER, *ROWS]).encode("utf-8-sig"), "utf-8-sig", "UTF-8 with BOM, comma-separated",
                 "UTF-8 编码（带 BOM），逗号分隔", id="utf-8-bom"),
    pytest.param("\r\n".join([HEADER, *ROWS]).replace(",", "\t").encode("utf-16"), "utf-16",
                 "UTF-16 (Unicode text), tab-separated", "UTF-16 编码（Unicode 文本），制表符分隔", id="utf-16-le"),
    pytest.param(codecs.BOM_UTF16_BE + "\r\n".join([HEADER, *ROWS]).replace(",", "\t").encode("utf-16-be"), "utf-16",
                 "UTF-16 (Unicode text), tab-separated", "UTF-16 编码（Unicode 文本），制表符分隔", id="utf-16-be"),
    pytest.param("\r\n".join([HEADER, *ROWS]).replace("Müller", "穆勒").replace(",", ";").encode("gbk"), "gb18030",
                 "GB18030, semicolon-separated", "GB18030 编码，分号分隔", id="gbk"),
])
def test_text_files_in_every_common_encoding_read_the_same(data, encoding, en, zh):
    table, rows = _read(data, "客户.csv")
    assert table.header == ("客户编号", "客户名称", "金额") and table.header_row == 1
    assert [number for number, _ in rows] == [2, 3]
    assert rows[0][1] == ("C001", "华东机械", "86800.00")  # text as written: reading the cell is the schema's job
    assert (table.encoding, table.described("en"), table.described("zh")) == (encoding, en, zh)


def test_a_file_neither_utf8_nor_gb18030_goes_to_the_detector():
    # é followed by a comma is no GB18030 pair, so the third step decides (charset-normalizer)
    data = "Kunde;Straße;Ort\nMüller GmbH;Hauptstraße 5;Köln\nCafé Zürich;Bahnhofstraße 1;Zürich\n".encode("cp1252")
    table, rows = _read(data, "kunden.csv")
    assert table.header == ("Kunde", "Straße", "Ort")
    assert rows == [(2, ("Müller GmbH", "Hauptstraße 5", "Köln")), (3, ("Café Zürich", "Bahnhofstraße 1", "Zürich"))]
    assert table.encoding not in ("utf-8", "gb18030") and table.delimiter == ";"


def test_a_sample_cut_in_the_middle_of_a_character_is_still_utf8(monkeypatch):
    data = "客户编号,客户名称\nC001,华东机械\n".encode()
    monkeypatch.setattr(readers, "SAMPLE_BYTES", len("客户编号,客".encode()) + 1)  # ends inside 户 (3 bytes)
    table, rows = _read(data, "c.csv")
    assert table.encoding == "utf-8" and rows == [(2, ("C001", "华东机械"))]


def test_a_byte_that_does_not_decode_further_down_names_its_row(monkeypatch):
    monkeypatch.setattr(readers, "SAMPLE_BYTES", 64)  # the first 64 bytes are plain ASCII: taken as UTF-8
    data = ("code,name\n" + "".join(f"C{n:03d},plain\n" for n in range(2, 40))).encode() + "C040,华东\n".encode("gbk")
    # row 1 the header, rows 2..39 the plain ones, row 40 the GBK one (华 is 0xBB 0xAA in GBK)
    assert _refusal(data, "c.csv") == (
        "'c.csv', row 40: the bytes 0xBB 0xAA 0xB6 0xAB are not UTF-8 text (the file began as UTF-8); "
        "save it as CSV UTF-8 and import it again",
        "「c.csv」第 40 行：字节 0xBB 0xAA 0xB6 0xAB 不是 UTF-8 编码的文字（文件开头按 UTF-8 编码识别）；"
        "请另存为 CSV UTF-8 文件后重新导入")


def test_a_utf16_file_cut_after_an_odd_byte_names_the_row_after_the_last():
    data = "code\tname\r\nC1\t甲\r\n".encode("utf-16") + b"\x00"  # half a character: row 3 cannot be read
    assert _refusal(data, "c.txt") == (
        "'c.txt', row 3: the bytes 0x00 are not UTF-16 text (the file began as UTF-16); "
        "save it as CSV UTF-8 and import it again",
        "「c.txt」第 3 行：字节 0x00 不是 UTF-16 编码的文字（文件开头按 UTF-16 编码识别）；请另存为 CSV UTF-8 文件后重新导入")


def test_nul_bytes_are_refused_as_not_a_text_file(monkeypatch):
    assert _refusal(b"code,name\nC1,\x00\x00\n", "c.csv") == (
        "'c.csv' is not a text file (it contains NUL bytes); save it from Excel as CSV UTF-8 or .xlsx",
        "「c.csv」不是文本文件（含有空字节）；请在 Excel 中另存为 CSV UTF-8 或 .xlsx 文件")
    monkeypatch.setattr(readers, "SAMPLE_BYTES", 16)  # a NUL past the sample: found in its row
    assert _refusal("code,name\nC1,a\nC2,华\x00\n".encode(), "c.csv") == (
        "'c.csv', row 3: contains NUL bytes, so this is not a text file; save it from Excel as CSV UTF-8 or .xlsx",
        "「c.csv」第 3 行含有空字节，因此不是文本文件；请在 Excel 中另存为 CSV UTF-8 或 .xlsx 文件")


# --- delimiters and rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "delimiter"), [
    pytest.param("code,name\nC1,甲\n", ",", id="comma"),
    pytest.param("code;name\nC1;甲\n", ";", id="semicolon"),
    pytest.param("code\tname\nC1\t甲\n", "\t", id="tab"),
    pytest.param('"code,x";"name,y";amount\nC1;甲;"1,5"\n', ";", id="commas-inside-quotes-do-not-count"),
    pytest.param("# exported, by hand\n\ncode;name\nC1;甲\n", ";", id="note-before-the-header"),
])
def test_the_delimiter_is_taken_from_the_header_line(text, delimiter):
    table, rows = _read(text.encode(), "c.csv")
    assert table.delimiter == delimiter
    assert rows[0][1][:2] == ("C1", "甲")


def test_a_one_column_file_is_comma_separated():
    table, rows = _read(b"code\nC1\n", "c.csv")
    assert (table.header, table.delimiter, rows) == (("code",), ",", [(2, ("C1",))])


def test_row_numbers_are_what_a_spreadsheet_shows():
    text = ('"# exported 2026-01-01, filters: none"\n'  # row 1: a note of our exports, skipped
            "\n"                                         # row 2: blank, skipped
            "code,name,remark\n"                         # row 3: the header
            'C1,甲,"two\nlines"\n'                      # row 4: a quoted line break stays in its row
            ",,\n"                                       # row 5: blank cells only, skipped but counted
            "C2,'=SUM(A1),\n")                           # row 6: our exports' formula quote undone
    table, rows = _read(text.encode(), "c.csv")
    assert (table.header, table.header_row) == (("code", "name", "remark"), 3)
    assert rows == [(4, ("C1", "甲", "two\nlines")), (6, ("C2", "=SUM(A1)", ""))]


def test_a_header_that_starts_with_a_hash_is_a_header_not_a_note():
    table, rows = _read(b"#,code\n1,C1\n", "c.csv")
    assert (table.header, rows) == (("#", "code"), [(2, ("1", "C1"))])


@pytest.mark.parametrize(("data", "en", "zh"), [
    pytest.param(b"", "'c.csv' is empty: it has no header row and no data", "「c.csv」是空文件：没有表头，也没有数据",
                 id="empty"),
    pytest.param(b"\r\n  \n,,\n", "'c.csv' has no header row: it holds only blank rows or notes; the first filled "
                 "row must name the columns", "「c.csv」没有表头：只有空行或备注行；第一行有内容的行应为各列的列名",
                 id="blank-lines"),
    pytest.param(codecs.BOM_UTF8, "'c.csv' has no header row: it holds only blank rows or notes; the first filled "
                 "row must name the columns", "「c.csv」没有表头：只有空行或备注行；第一行有内容的行应为各列的列名",
                 id="only-a-bom"),
])
def test_an_empty_file_or_one_of_blank_lines_is_refused_clearly(data, en, zh):
    assert _refusal(data, "c.csv") == (en, zh)


def test_a_header_only_file_has_no_rows():
    table, rows = _read(b"code,name\n\n", "c.csv")
    assert (table.header, rows) == (("code", "name"), [])
    assert Phrase("file.no_rows", file="c.csv").read("zh") == "「c.csv」只有表头，没有数据行"  # for the engine to say


def test_an_unclosed_quote_is_refused_at_its_row_not_read_to_the_end(monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE_CHARS", 1000)
    data = b'code,name\nC1,"never closed\n' + b"C2,x\n" * 30_000  # 150 KB > the cell limit of 131,072
    assert _refusal(data, "c.csv") == (  # row 2: where the quote opens
        "'c.csv', row 2: a cell is longer than 131,072 characters; often a quote (\") that is never closed",
        "「c.csv」第 2 行：某个单元格超过 131,072 个字符；常见原因是引号（\"）没有闭合")


def test_a_line_without_breaks_is_refused_not_held_in_memory(monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE_CHARS", 1000)
    assert _refusal(b"code,name\n" + b"x" * 5000, "c.csv") == (
        "'c.csv', row 2: a line is longer than 1,000 characters; is this a table file?",
        "「c.csv」第 2 行：一行超过 1,000 个字符；请确认这是表格文件")


# --- sources and size ------------------------------------------------------------------------------


def test_a_path_bytes_or_stream_read_the_same_and_a_stream_is_left_open(tmp_path):
    data = "code,name\nC1,甲\n".encode("gbk")
    (tmp_path / "c.csv").write_bytes(data)
    stream = io.BytesIO(data)
    results = [_read(source, "c.csv")[1] for source in (data, tmp_path / "c.csv", str(tmp_path / "c.csv"), stream)]
    assert results == [[(2, ("C1", "甲"))]] * 4
    assert not stream.closed  # an upload stays the caller's


class _Unread(io.BytesIO):
    """A stream that fails the test if anything reads it."""

    def read(self, *args: object) -> bytes:
        raise AssertionError("the file was read")

    readinto = read  # type: ignore[assignment]


def test_a_file_over_the_limit_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setenv("OPS_IMPORT_MAX_MB", "1")
    assert size_limit() == 1024 * 1024
    big = _Unread(b"x" * (1024 * 1024 + 1))  # one byte over 1 MiB: shown rounded up, 1.1 MB
    assert _refusal(big, "big.csv") == (
        "'big.csv' is 1.1 MB, more than the 1 MB a file may have; split it into smaller files or ask an "
        "administrator to raise the limit; nothing was read",
        "「big.csv」大小为 1.1 MB，超过单个文件 1 MB 的上限；请拆分为较小的文件，或请管理员调高上限；未读取任何内容")
    assert _refusal(b"x" * 600_000, "big.xlsx", size_limit=512 * 1024)[0].startswith(
        "'big.xlsx' is 0.6 MB, more than the 0.5 MB a file may have")  # 600,000 B = 0.57 MiB, rounded up


def test_the_size_limit_is_200_mb_unless_configured(monkeypatch):
    monkeypatch.delenv("OPS_IMPORT_MAX_MB", raising=False)
    assert size_limit() == 200 * 1024 * 1024
    monkeypatch.setenv("OPS_IMPORT_MAX_MB", "lots")
    with pytest.raises(FileProblem) as caught:
        size_limit()
    assert caught.value.message.read("zh") == "配置项 OPS_IMPORT_MAX_MB 应为正数（单位 MB），而不是「lots」"


class _Pipe(io.RawIOBase):
    """A stream whose size cannot be known beforehand (a pipe), handing out small pieces."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        piece = self._data.read(min(len(buffer), 1000))
        buffer[:len(piece)] = piece
        return len(piece)


def test_a_stream_of_unknown_size_is_cut_off_at_the_limit():
    data = b"code,name\n" + b"C1,x\n" * 100_000  # 500 KB
    en, zh = _refusal(_Pipe(data), "c.csv", size_limit=100 * 1024)
    assert en == ("'c.csv' is larger than the 0.1 MB a file may have; split it into smaller files or ask an "
                  "administrator to raise the limit")
    assert zh == "「c.csv」超过单个文件 0.1 MB 的上限；请拆分为较小的文件，或请管理员调高上限"
    assert _read(_Pipe(b"code\nC1\n"), "c.csv")[1] == [(2, ("C1",))]  # and one within it reads


@pytest.mark.parametrize(("name", "en", "zh"), [
    pytest.param("old.xls", "cannot read 'old.xls': .xls is an old Excel format; open it in Excel and save it as "
                 ".xlsx or as CSV UTF-8", "无法读取「old.xls」：.xls 是旧版 Excel 格式；请在 Excel 中打开并另存为 .xlsx 或 "
                 "CSV UTF-8 文件", id="xls"),
    pytest.param("notes.pdf", "cannot read 'notes.pdf': use a CSV file (.csv, .tsv, .txt) or an Excel workbook "
                 "(.xlsx); save other files as .xlsx or CSV", "无法读取「notes.pdf」：请使用 CSV 文件（.csv、.tsv、.txt）"
                 "或 Excel 工作簿（.xlsx）；其他文件请另存为 .xlsx 或 CSV 文件", id="other"),
])
def test_old_excel_and_other_kinds_are_refused_with_what_to_save_instead(name, en, zh):
    assert _refusal(b"whatever", name) == (en, zh)


def test_a_missing_path_is_named():
    assert _refusal("/no/such/file.csv", "file.csv") == ("file not found: /no/such/file.csv",
                                                         "找不到文件：/no/such/file.csv")


# --- Excel -----------------------------------------------------------------------------------------

BOOK = {
    "汇总": [["# exported for the CSM team"], [], ["code", "signed", "amount", "seats", "paid"],
           ["C1", dt.date(2025, 3, 1), 86800.5, 12, True], [None, None], ["C2", dt.datetime(2025, 3, 2, 9, 30), 0, 3, False]],
    "明细": [["code"], ["D1"]],
}


def test_a_workbook_streams_its_first_sheet_with_typed_cells():
    table, rows = _read(_workbook(BOOK), "book.xlsx")
    assert (table.sheet, table.sheets, table.encoding, table.delimiter) == ("汇总", ("汇总", "明细"), None, None)
    assert (table.header, table.header_row) == (("code", "signed", "amount", "seats", "paid"), 3)
    # row 4 the first, row 5 empty (skipped, counted), row 6 the second; dates come as datetimes, numbers as numbers
    assert rows == [(4, ("C1", dt.datetime(2025, 3, 1), 86800.5, 12, True)),
                    (6, ("C2", dt.datetime(2025, 3, 2, 9, 30), 0, 3, False))]
    assert (table.described("en"), table.described("zh")) == ("Excel workbook, sheet '汇总'", "Excel 工作簿，工作表「汇总」")


def test_a_chosen_sheet_is_read_and_an_unknown_one_lists_the_sheets():
    table, rows = _read(_workbook(BOOK), "book.xlsx", sheet="明细")
    assert (table.sheet, table.header, rows) == ("明细", ("code",), [(2, ("D1",))])
    assert _refusal(_workbook(BOOK), "book.xlsx", sheet="Sheet1") == (
        "'book.xlsx' has no sheet 'Sheet1'; its sheets: 汇总, 明细", "「book.xlsx」中没有工作表「Sheet1」；现有工作表：汇总, 明细")


@pytest.mark.parametrize("data", [
    pytest.param(b"PK\x03\x04 not really a zip", id="not-a-zip"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, id="password-protected-or-xls-inside"),
    pytest.param(_workbook(BOOK)[:2000], id="cut-short"),
])
def test_a_damaged_workbook_gives_a_clear_message(data):
    assert _refusal(data, "book.xlsx") == (
        "cannot open 'book.xlsx' as an Excel .xlsx workbook: it is damaged or protected by a password; open it in "
        "Excel and save it again as .xlsx or CSV UTF-8",
        "无法将「book.xlsx」作为 Excel .xlsx 工作簿打开：文件已损坏或设有密码；请在 Excel 中打开，另存为 .xlsx 或 "
        "CSV UTF-8 文件")


def test_a_workbook_from_a_stream_of_unknown_size_is_read():
    table, rows = _read(_Pipe(_workbook(BOOK)), "book.xlsx", sheet="明细")
    assert rows == [(2, ("D1",))]


# --- memory ----------------------------------------------------------------------------------------


def test_a_large_csv_streams_in_a_small_fraction_of_its_size(tmp_path):
    """A 30 MB file passes with a Python peak of a few MB: tracemalloc counts every allocation the
    reader makes (bytes read, text decoded, rows), deterministically, not the process's RSS, so the
    bound cannot be flaky. Holding the file would take at least 30 MB (its bytes) and about 40 MB as
    text; the reader holds a 1 MiB sample, 64 KB buffers and one row: the bound, 8 MB, has room for
    the interpreter's own allocations and is still under a third of the file."""
    path = tmp_path / "usage.csv"
    row = "C{:06d},2025-03-01,华东机械有限公司,{}," + "x" * 180 + "\n"
    with path.open("w", encoding="utf-8") as out:
        out.write("code,day,name,count,remark\n")
        for start in range(0, 135_000, 5_000):
            out.write("".join(row.format(n, n % 97) for n in range(start, start + 5_000)))
    size = path.stat().st_size
    assert size > 30_000_000
    tracemalloc.start()
    try:
        with open_table(path, "usage.csv") as table:
            count = sum(1 for _ in table.rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 135_000
    assert peak < 8 * 1024 * 1024, f"peak {peak:,} bytes for a {size:,}-byte file"
