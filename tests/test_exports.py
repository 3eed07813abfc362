"""Safe output: masking personal data, neutralising formula injection, CSV and Excel writers."""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from ops_core.exports import (
    EXCEL_CELL_LIMIT,
    PERSONAL_DATA,
    TRUNCATED,
    PersonalData,
    excel_sheet_name,
    mask_email,
    mask_frame,
    mask_name,
    mask_personal_data,
    mask_phone,
    neutralise,
    neutralise_frame,
    to_csv_bytes,
    to_excel_bytes,
    unneutralise,
)

LONG = "长" * 100_000


class _BadStr:
    def __str__(self) -> str:
        raise RuntimeError("hostile __str__")


# (id, raw text, what a spreadsheet must receive)
HOSTILE = [
    ("chinese", "欧阳娜娜的公司", "欧阳娜娜的公司"),
    ("emoji", "👍🏽 good", "👍🏽 good"),
    ("hyperlink", '=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("plus", "+1", "'+1"),
    ("minus", "-2+3", "'-2+3"),
    ("at", "@SUM(A1)", "'@SUM(A1)"),
    ("leading-tab", "\t=1+1", "'\t=1+1"),
    ("leading-cr", "\r=1+1", "'\r=1+1"),
    ("nul-removed", "a\x00b", "ab"),
    ("nul-hiding-equals", "\x00=1+1", "'=1+1"),
    ("quote-then-equals", "'=1", "''=1"),
    ("fullwidth-equals", "＝1+1", "'＝1+1"),
    ("plain", "plain text", "plain text"),
    ("equals-inside", "a=b", "a=b"),
]


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param("张三", "张*", id="two-character-chinese"),
    pytest.param("欧阳娜娜", "欧***", id="four-character-chinese"),
    pytest.param("张", "*", id="one-character-hidden-completely"),
    pytest.param("John Smith", "J*** S****", id="english-each-word"),
    pytest.param("迪丽热巴·迪力木拉提", "迪***·迪****", id="middle-dot-separates-words"),
    pytest.param("😀😀😀", "😀**", id="emoji"),
    pytest.param(12345, "1****", id="non-string"),
])
def test_mask_name_keeps_first_character_of_each_word(raw, expected):
    assert mask_name(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param("13812341234", "138****1234", id="mobile"),
    pytest.param(13812341234, "138****1234", id="mobile-as-number"),
    pytest.param("+86 138 1234 1234", "+86 138****1234", id="plus86-spaces"),
    pytest.param("+8613812341234", "+86 138****1234", id="plus86-joined"),
    pytest.param("0086-138-1234-1234", "+86 138****1234", id="0086-dashes"),
    pytest.param("010-61234567", "010****4567", id="landline-with-area-code"),
    pytest.param("6123-4567", "****4567", id="eight-digits-hide-first-four"),
    pytest.param("95588", "***88", id="short-service-number"),
    pytest.param("110", "***", id="three-digits-hidden-completely"),
    pytest.param("no phone", "****", id="no-digits"),
])
def test_mask_phone_hides_the_middle_digits(raw, expected):
    assert mask_phone(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param("alice@example.com", "a***@example.com", id="mailbox-reduced"),
    pytest.param("a@example.com", "***@example.com", id="one-letter-mailbox-hidden"),
    pytest.param("张三@例子.中国", "张***@例子.中国", id="chinese"),
    pytest.param("alice", "a***", id="no-at-sign"),
])
def test_mask_email_keeps_the_domain(raw, expected):
    assert mask_email(raw) == expected


@pytest.mark.parametrize("masker", [mask_name, mask_phone, mask_email], ids=["name", "phone", "email"])
@pytest.mark.parametrize("missing", [None, ""], ids=["none", "empty"])
def test_masking_leaves_missing_values_empty(masker, missing):
    assert masker(missing) == missing


@pytest.mark.parametrize("masker", [mask_name, mask_phone, mask_email], ids=["name", "phone", "email"])
@pytest.mark.parametrize("raw", [
    "😀\u200d👩", "a\x00b", LONG, "\ud800", 3.5, ["list"], b"bytes", _BadStr(), float("nan"),
], ids=["emoji-zwj", "nul", "100k-chars", "lone-surrogate", "float", "list", "bytes", "bad-str", "nan"])
def test_masking_never_raises_and_hides_the_value(masker, raw):
    masked = masker(raw)
    if isinstance(raw, float) and raw != raw:
        assert masked != masked  # NaN stays missing
    else:
        assert isinstance(masked, str)
        assert masked != raw


def test_personal_data_is_declared_for_contacts_leads_and_users():
    assert PERSONAL_DATA["contacts"] == PersonalData(names=("name",), phones=("phone",), emails=("email",))
    assert PERSONAL_DATA["leads"] == PersonalData(names=("contact_name",), phones=("phone",), emails=("email",))
    assert PERSONAL_DATA["users"] == PersonalData(names=("display_name",))


def test_mask_frame_masks_only_declared_columns_and_keeps_the_original():
    df = pd.DataFrame({"id": [1, 2], "name": ["张三", None], "phone": ["13812341234", ""],
                       "email": ["alice@example.com", None], "title": ["经理", "CTO"]})
    masked = mask_frame(df, PERSONAL_DATA["contacts"])
    # pandas stores a missing text as NaN: compare with the missing values filled in
    assert masked["name"].fillna("<missing>").tolist() == ["张*", "<missing>"]
    assert masked["phone"].tolist() == ["138****1234", ""]
    assert masked["email"].fillna("<missing>").tolist() == ["a***@example.com", "<missing>"]
    assert masked["title"].tolist() == ["经理", "CTO"]
    assert df["name"].iloc[0] == "张三"


def test_mask_personal_data_looks_up_the_entity_and_leaves_others_alone():
    df = pd.DataFrame({"contact_name": ["李四"], "company": ["线索公司"]})
    assert mask_personal_data(df, "leads").values.tolist() == [["李*", "线索公司"]]
    assert mask_personal_data(df, "customers").values.tolist() == [["李四", "线索公司"]]


# --- neutralising ------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [pytest.param(r, e, id=i) for i, r, e in HOSTILE])
def test_neutralise_quotes_text_a_spreadsheet_would_run(raw, expected):
    assert neutralise(raw) == expected


@pytest.mark.parametrize("value", [
    -5, -1.5, 0, True, decimal.Decimal("-2.50"), dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4), None,
], ids=["negative-int", "negative-float", "zero", "bool", "decimal", "date", "datetime", "none"])
def test_neutralise_leaves_numbers_dates_and_missing_values_alone(value):
    assert neutralise(value) is value


@pytest.mark.parametrize("raw", [r for _, r, _ in HOSTILE if "\x00" not in r] + ["''=x", "'plain"],
                         ids=[i for i, r, _ in HOSTILE if "\x00" not in r] + ["two-quotes", "quote-plain"])
def test_unneutralise_restores_the_original_text(raw):
    assert unneutralise(neutralise(raw)) == raw


def test_neutralise_frame_treats_text_and_headers_but_not_numeric_columns():
    df = pd.DataFrame({"=cmd": ["=1+1", None, "ok"], "amount": [-5, 3, -2], "ratio": [-0.5, 1.0, None],
                       "mixed": [-7, "-7", None]})
    out = neutralise_frame(df)
    assert list(out.columns) == ["'=cmd", "amount", "ratio", "mixed"]
    assert out["'=cmd"].fillna("<missing>").tolist() == ["'=1+1", "<missing>", "ok"]
    assert out["amount"].tolist() == [-5, 3, -2] and out["amount"].dtype == df["amount"].dtype
    assert out["ratio"].iloc[0] == -0.5
    assert out["mixed"].tolist()[:2] == [-7, "'-7"]  # a number stays a number, text "-7" is quoted


# --- CSV ---------------------------------------------------------------------------------------


def _hostile_frame() -> pd.DataFrame:
    texts = [r for _, r, _ in HOSTILE] + [LONG]
    return pd.DataFrame({"text": texts, "amount": [-(i + 1) for i in range(len(texts))], "客户": ["张三"] * len(texts)})


def test_csv_starts_with_a_bom_and_reads_back_neutralised():
    data = to_csv_bytes(_hostile_frame())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["text", "amount", "客户"]
    expected = [e for _, _, e in HOSTILE] + [LONG]
    assert [row[0] for row in rows[1:]] == expected
    assert [row[1] for row in rows[1:]] == [str(-(i + 1)) for i in range(len(expected))]  # numbers untouched
    assert all(row[2] == "张三" for row in rows[1:])


def test_csv_reads_back_with_pandas_and_keeps_negative_numbers_numeric():
    back = pd.read_csv(io.BytesIO(to_csv_bytes(_hostile_frame())), encoding="utf-8-sig", keep_default_na=False)
    assert back["amount"].tolist() == [-(i + 1) for i in range(len(HOSTILE) + 1)]
    assert back["text"].iloc[-1] == LONG
    assert not any(str(v).startswith(("=", "+", "-", "@", "\t", "\r")) for v in back["text"])


def test_csv_notes_come_first_each_as_one_cell_starting_with_hash():
    notes = ["weights: order amount 40%, payment 60%", "=HYPERLINK(\"http://x\",\"y\"), second", "two\nlines\x00"]
    data = to_csv_bytes(pd.DataFrame({"a": [1]}), notes=notes)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[:3] == [["# weights: order amount 40%, payment 60%"],
                        ["# =HYPERLINK(\"http://x\",\"y\"), second"],
                        ["# two lines"]]
    assert rows[3:] == [["a"], ["1"]]
    assert pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", skiprows=len(notes))["a"].tolist() == [1]


def test_csv_masks_the_declared_columns():
    df = pd.DataFrame({"name": ["=张三"], "phone": ["+86 138 1234 1234"], "email": ["alice@example.com"]})
    text = to_csv_bytes(df, mask_columns=PERSONAL_DATA["contacts"]).decode("utf-8-sig")
    # masked first, then neutralised: a phone shown as "+86 ..." would be a formula to Excel
    assert text.splitlines()[1] == "'=**,'+86 138****1234,a***@example.com"


# --- Excel -------------------------------------------------------------------------------------


def _load(data: bytes):
    return load_workbook(io.BytesIO(data)).worksheets[0]


def _shown_in_excel(neutralised: str) -> str:
    """What Excel shows of a neutralised text: the added quote is the cell's quote prefix, not a character
    (a text that began with a quote keeps the added one, so reading the file back is exact)."""
    return neutralised[1:] if neutralised.startswith("'") and neutralised[1:2] != "'" else neutralised


def test_excel_stores_hostile_text_as_strings_never_formulas():
    sheet = _load(to_excel_bytes(_hostile_frame(), "客户 list", ["=1+1 weights"]))
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    runnable = [c for c in cells if isinstance(c.value, str) and c.value.lstrip("'").startswith(("=", "+", "-", "@", "\t", "\n", "＝"))]
    assert len(runnable) == 9                                   # hyperlink ... fullwidth-equals
    assert all(c.data_type == "s" and c.quotePrefix for c in runnable)   # text, and stays text when edited
    assert not any(c.quotePrefix for c in cells if c not in runnable)
    assert sheet.title == "客户 list"


def test_excel_keeps_chinese_numbers_and_the_neutralised_text():
    sheet = _load(to_excel_bytes(_hostile_frame(), "data", ["weights: 订单金额 40%"]))
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("text", "amount", "客户")  # the note went to the second sheet
    # XML (inside .xlsx) reads a carriage return back as a line feed. "+1" shows as +1, not '+1.
    assert [r[0] for r in rows[1:-1]] == [_shown_in_excel(e).replace("\r", "\n") for _, _, e in HOSTILE]
    assert [r[1] for r in rows[1:]] == [-(i + 1) for i in range(len(HOSTILE) + 1)]
    assert all(r[2] == "张三" for r in rows[1:])


def test_hostile_text_read_back_from_excel_is_what_was_written():
    from ops_core.readers import open_table

    raws = [r for _, r, _ in HOSTILE] + ["'+86 138 1234 5678", "''=x"]
    table = open_table(to_excel_bytes(pd.DataFrame({"text": raws})), "back.xlsx")
    back = [cells[0] for _, cells in table.rows]
    assert back == [r.replace("\x00", "").replace("\r", "\n") for r in raws]


def test_excel_truncates_cells_longer_than_its_limit_with_a_marker():
    sheet = _load(to_excel_bytes(pd.DataFrame({"t": [LONG]})))
    value = sheet.cell(row=2, column=1).value
    assert len(value) == EXCEL_CELL_LIMIT
    assert value.endswith(TRUNCATED) and value.startswith("长长长")


def test_excel_drops_control_characters_excel_refuses_and_still_neutralises():
    sheet = _load(to_excel_bytes(pd.DataFrame({"t": ["\x01=1+1", "a\x00b\x0bc"]})))
    assert [sheet.cell(row=r, column=1).value for r in (2, 3)] == ["=1+1", "abc"]
    assert sheet.cell(row=2, column=1).quotePrefix and not sheet.cell(row=3, column=1).quotePrefix


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param("客户[2024]:*?/\\", "客户_2024______", id="forbidden-characters"),
    pytest.param("x" * 40, "x" * 31, id="too-long"),
    pytest.param("", "data", id="empty"),
    pytest.param("'quoted'", "quoted", id="quotes-at-ends"),
])
def test_excel_sheet_names_are_made_acceptable(raw, expected):
    assert excel_sheet_name(raw) == expected


def test_excel_puts_the_notes_on_a_second_sheet_and_the_data_sheet_starts_with_its_header():
    from openpyxl import load_workbook

    from ops_core.exports import NOTES_SHEET

    data = to_excel_bytes(pd.DataFrame({"客户": ["甲"], "score": [1.5]}), "customers",
                          notes=["Weights: order_amount 20%", "=cmd|' /C calc'!A0"])
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["customers", NOTES_SHEET]
    assert [c.value for c in book["customers"][1]] == ["客户", "score"]
    notes = [row[0] for row in book[NOTES_SHEET].iter_rows()]
    assert [c.value for c in notes] == ["Weights: order_amount 20%", "=cmd|' /C calc'!A0"]
    assert [c.quotePrefix for c in notes] == [False, True]


# --- files a person reads (through ops_core.present) ------------------------------------------------

from ops_core.exports import reader_csv_bytes, reader_excel_bytes  # noqa: E402


def customer_list() -> pd.DataFrame:
    """Two rows of the customer page's export as the store holds them (cents, codes, an id)."""
    return pd.DataFrame({
        "customer_id": [7, 8], "code": ["C0007", "C0008"], "name": ["华东精密制造", "Acme Logistics"],
        "tier": ["KA", "micro"], "score": [91.25, 12.5], "industry": ["manufacturing", "logistics"],
        "region": ["east_china", "overseas"], "size_band": ["enterprise", None], "csm_name": ["王芳", "Li Na"],
        "arr_cents": [171603285, 5_000_050], "risk_level": ["high", None],
    })


def _sheet(data: bytes):
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [[(c.value, c.number_format) for c in row] for row in sheet.iter_rows()]


def test_the_customer_excel_file_reads_in_yuan_with_labels_and_number_formats():
    rows = _sheet(reader_excel_bytes(customer_list(), "en", sheet_name="customers"))
    assert [v for v, _ in rows[0]] == ["Code", "Customer", "Tier", "Score", "Industry", "Region", "Size band", "CSM",
                                       "ARR (¥)", "Risk"]
    # 171,603,285 cents = 1,716,032.85 yuan: a number cell with a yuan format, not the text "171603285".
    assert rows[1][8] == (1716032.85, "#,##0.00")
    assert rows[2][8] == (50000.5, "#,##0.00")
    assert [v for v, _ in rows[1][:8]] == ["C0007", "华东精密制造", "KA", 91.25, "Manufacturing", "East China",
                                          "Enterprise (5,000+)", "王芳"]
    assert rows[1][9][0] == "high"  # risk.high's English label
    assert [v for v, _ in rows[2][4:7]] == ["Logistics", "Overseas", None]  # a missing size band is an empty cell


def test_the_customer_excel_file_in_chinese_has_chinese_headers_and_labels():
    rows = _sheet(reader_excel_bytes(customer_list(), "zh", sheet_name="customers"))
    assert [v for v, _ in rows[0]] == ["编号", "客户", "层级", "得分", "行业", "区域", "规模", "客户成功经理", "ARR（元）",
                                       "风险"]
    assert [v for v, _ in rows[1][4:7]] == ["制造业", "华东", "超大型（5000人以上）"]
    assert rows[1][8] == (1716032.85, "#,##0.00")
    assert rows[1][9][0] == "高"


def test_the_customer_csv_file_carries_yuan_with_two_decimals_and_labels():
    text = reader_csv_bytes(customer_list(), "en", notes=["weights: order amount 20%"]).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["# weights: order amount 20%"]
    assert lines[1] == ["Code", "Customer", "Tier", "Score", "Industry", "Region", "Size band", "CSM", "ARR (¥)", "Risk"]
    assert lines[2][4:6] == ["Manufacturing", "East China"] and lines[2][8] == "1716032.85"
    assert lines[3][8] == "50000.50" and lines[3][6] == "" and lines[3][9] == ""


def test_event_files_show_roi_as_a_percentage_and_costs_in_yuan():
    from ops_core import events

    stored = pd.DataFrame({"event_id": [3], "event": ["Expo"], "format": ["offline"], "kind": ["exhibition"],
                           "organisation": ["self_hosted"], "cost_cents": [20_000_000], "roi": [1.6615],
                           "cost_per_effective_lead_cents": ["n/a"]})
    rows = _sheet(reader_excel_bytes(stored, "en", sheet_name="events"))
    assert [v for v, _ in rows[0]] == ["Event", "Format", "Kind", "Organisation", "Cost (¥)", "ROI",
                                       "Cost per effective lead (¥)"]
    # ROI 1.6615 is 166.15 %: the cell holds the ratio with a percent format, never the text "166.15".
    assert rows[1][1:] == [("Offline", "General"), ("Industry exhibition", "General"), ("Self-hosted", "General"),
                           (200000.0, "#,##0.00"), (1.6615, "0.0%"), (None, "General")]
    text = reader_csv_bytes(stored, "en").decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1] == ["Expo", "Offline", "Industry exhibition", "Self-hosted",
                                                      "200000.00", "166.2%", ""]
    assert events.REPORT_COLUMNS["roi"] == "roi"  # the file's ROI column is the one the catalogue formats


def test_a_negative_amount_in_a_csv_stays_a_number_not_a_neutralised_text():
    text = reader_csv_bytes(pd.DataFrame({"change": [-6_462_500], "share": [-0.125]}), "en").decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1] == ["-64625.00", "-12.5%"]
