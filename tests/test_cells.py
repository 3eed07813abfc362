"""Reading one cell of a file by its field's kind: what is accepted, the exact value kept, and the exact
message (English and 简体中文) for what is refused."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ops_core import cells, fileschema, i18n, vocab
from ops_core.cells import CellProblem
from ops_core.fileschema import Field, Kind
from tests.wording import english_words


def refused(read, *args, **kwargs) -> tuple[str, str]:
    """The message of a refused cell in English and in Chinese."""
    with pytest.raises(CellProblem) as caught:
        read(*args, **kwargs)
    message = caught.value.message
    assert isinstance(message, i18n.Phrase)
    return str(message), i18n.say(message, "zh")


NOT_AMOUNT = ("'{v}' is not an amount in yuan: write it like 12000, 12,000.00 or ¥12,000",
              "「{v}」不是以元为单位的金额：请写成 12000、12,000.00 或 ¥12,000 这样的形式")
EXPONENT = ("'{v}' is written with an exponent (e or E): write the number out in full, like 1200",
            "「{v}」使用了科学计数法：请写出完整的数字，例如 1200")


def filled(pair: tuple[str, str], value: str) -> tuple[str, str]:
    return pair[0].format(v=value), pair[1].format(v=value)


# --- money: yuan in, cents out ---------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "cents"), [
    ("12000", 1_200_000),
    ("12,000.00", 1_200_000),
    ("¥12,000", 1_200_000),
    ("￥12,000", 1_200_000),            # full-width yuan sign
    ("12 000", 1_200_000),              # grouped by a space
    ("12\u00a0000", 1_200_000),         # grouped by a no-break space, as spreadsheets write it
    ("RMB 12,000", 1_200_000),
    ("rmb12000", 1_200_000),
    ("CNY 12,000.5", 1_200_050),
    ("12000元", 1_200_000),
    ("人民币12,000.00元", 1_200_000),
    ("１２，０００．５０", 1_200_050),     # full-width digits, comma and point
    ("  86800.00 ", 8_680_000),
    ("86800.500", 8_680_050),           # trailing zeros are not fen
    ("0.01", 1),
    (".5", 50),
    (12000, 1_200_000),                 # an Excel number cell
    (86800.5, 8_680_050),               # an Excel float: read through its shortest text, exactly
    (0.29, 29),                         # 0.29 * 100 is 28.999999999999996 in binary floats
    (Decimal("86800.50"), 8_680_050),
    ("1,000,000,000,000", 100_000_000_000_000),  # the default maximum, 10^12 yuan, is allowed
], ids=lambda v: repr(v))
def test_money_is_read_as_yuan_and_kept_as_cents(raw, cents):
    assert cells.read_money(raw) == cents


@pytest.mark.parametrize(("raw", "minimum", "cents"), [
    ("-1,200.00", -1e6, -120_000),
    ("¥-1,200", -1e6, -120_000),
    ("-¥1,200", -1e6, -120_000),
    ("(1,200.00)", -1e6, -120_000),     # accounting parentheses mean a credit
    ("−1200", -1e6, -120_000),          # the Unicode minus sign
], ids=["minus", "minus-after-sign", "minus-before-sign", "parentheses", "unicode-minus"])
def test_a_credit_is_read_where_the_field_allows_negative_amounts(raw, minimum, cents):
    assert cells.read_money(raw, minimum=minimum) == cents


@pytest.mark.parametrize(("raw", "kwargs", "en", "zh"), [
    ("86800.505", {}, "'86800.505' has more than two decimals: give yuan with at most 2 decimals (fen)",
     "「86800.505」的小数超过两位：请以元为单位填写，最多保留两位小数（到分）"),
    (0.001, {}, "'0.001' has more than two decimals: give yuan with at most 2 decimals (fen)",
     "「0.001」的小数超过两位：请以元为单位填写，最多保留两位小数（到分）"),
    ("-5", {}, "'-5' is a negative amount: this column takes 0 or more (no credits)",
     "「-5」是负数金额：该列只接受 0 或以上的金额（不接受冲销）"),
    ("(1,200.00)", {}, "'(1,200.00)' is a negative amount: this column takes 0 or more (no credits)",
     "「(1,200.00)」是负数金额：该列只接受 0 或以上的金额（不接受冲销）"),
    # 10^12 yuan is the default maximum; one fen more is beyond it
    ("1000000000000.01", {}, "'1000000000000.01' is outside the allowed range of 0 to 1,000,000,000,000 yuan",
     "「1000000000000.01」超出允许的范围（0 至 1,000,000,000,000 元）"),
    ("¥2,500,000", {"maximum": 1_000_000}, "'¥2,500,000' is outside the allowed range of 0 to 1,000,000 yuan",
     "「¥2,500,000」超出允许的范围（0 至 1,000,000 元）"),
    ("-2000", {"minimum": -1000.5}, "'-2000' is outside the allowed range of -1,000.5 to 1,000,000,000,000 yuan",
     "「-2000」超出允许的范围（-1,000.5 至 1,000,000,000,000 元）"),
    ("1,2,3", {}, *filled(NOT_AMOUNT, "1,2,3")),          # commas that are not thousands
    ("12,0000", {}, *filled(NOT_AMOUNT, "12,0000")),
    ("$12,000", {}, *filled(NOT_AMOUNT, "$12,000")),      # another currency is not yuan
    ("--5", {"minimum": -10}, *filled(NOT_AMOUNT, "--5")),
    ("(-5)", {"minimum": -10}, *filled(NOT_AMOUNT, "(-5)")),
    ("(5", {"minimum": -10}, *filled(NOT_AMOUNT, "(5")),
    ("12k", {}, *filled(NOT_AMOUNT, "12k")),
    ("Infinity", {}, *filled(NOT_AMOUNT, "Infinity")),
    ("inf", {}, *filled(NOT_AMOUNT, "inf")),
    ("NaN", {}, *filled(NOT_AMOUNT, "NaN")),
    ("sNaN", {}, *filled(NOT_AMOUNT, "sNaN")),
    ("-0x1p3", {}, *filled(NOT_AMOUNT, "-0x1p3")),
    (float("inf"), {}, *filled(NOT_AMOUNT, "inf")),
    (True, {}, *filled(NOT_AMOUNT, "True")),
    ("1e10000000", {}, *filled(EXPONENT, "1e10000000")),
    ("8.68E+04", {}, *filled(EXPONENT, "8.68E+04")),
    ("9" * 5000, {}, "'" + "9" * 40 + "…' is too long to be a number (5000 characters)",
     "「" + "9" * 40 + "…」太长，不是有效的数字（5000 个字符）"),
], ids=["fen", "fen-float", "negative", "negative-parentheses", "over-default-maximum", "over-field-maximum",
        "under-field-minimum", "bad-grouping", "bad-grouping-4", "dollar", "double-minus", "parenthesised-minus",
        "unclosed-parenthesis", "suffix-k", "Infinity", "inf", "NaN", "sNaN", "hex-float", "float-inf", "bool",
        "huge-exponent", "excel-exponent", "5000-digits"])
def test_money_refusals_name_the_value_and_the_fix(raw, kwargs, en, zh):
    assert refused(cells.read_money, raw, **kwargs) == (en, zh)


@pytest.mark.parametrize("read", [cells.read_money, cells.read_whole, cells.read_decimal],
                         ids=["money", "whole", "decimal"])
@pytest.mark.parametrize("raw", ["1e10000000", "1E999999999999", "9" * 5000, "Infinity", "-inf", "NaN", "sNaN"],
                         ids=["exp-1e7", "exp-1e12", "5000-digits", "Infinity", "-inf", "NaN", "sNaN"])
def test_numbers_that_would_hang_a_converter_are_refused(read, raw):
    """Bounded by construction: these never reach Decimal or int (a run that finishes is the proof)."""
    refused(read, raw)


# --- whole numbers and decimals --------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "value"), [
    ("12000", 12000), ("12,000", 12000), ("12 000", 12000), ("12.0", 12), ("12.000", 12), ("+7", 7), ("-7", -7),
    ("１２", 12), (12, 12), (12.0, 12), (1e15, 10**15), (Decimal("5"), 5), ("2147483647", 2**31 - 1),
], ids=lambda v: repr(v))
def test_whole_numbers_are_read(raw, value):
    got = cells.read_whole(raw, maximum=1e15 if raw == 1e15 else None)
    assert (got, type(got)) == (value, int)


@pytest.mark.parametrize(("raw", "kwargs", "en", "zh"), [
    ("12.5", {}, "'12.5' has a fraction: this column takes whole numbers only", "「12.5」带有小数：该列只接受整数"),
    (12.5, {}, "'12.5' has a fraction: this column takes whole numbers only", "「12.5」带有小数：该列只接受整数"),
    # exponents are refused in every number kind, 1e3 included: a file says 1000
    ("1e3", {}, *filled(EXPONENT, "1e3")),
    ("twelve", {}, "'twelve' is not a whole number: write digits only, like 1200 or 1,200",
     "「twelve」不是整数：请只填写数字，例如 1200 或 1,200"),
    ("12,00", {}, "'12,00' is not a whole number: write digits only, like 1200 or 1,200",
     "「12,00」不是整数：请只填写数字，例如 1200 或 1,200"),
    (True, {}, "'True' is not a whole number: write digits only, like 1200 or 1,200",
     "「True」不是整数：请只填写数字，例如 1200 或 1,200"),
    ("-3", {"minimum": 0, "maximum": 10_000_000}, "'-3' is outside the allowed range of 0 to 10,000,000",
     "「-3」超出允许的范围（0 至 10,000,000）"),
    # without a declared range the bound is what an INTEGER column holds, 2**31 - 1
    ("2147483648", {}, "'2147483648' is outside the allowed range of -2,147,483,648 to 2,147,483,647",
     "「2147483648」超出允许的范围（-2,147,483,648 至 2,147,483,647）"),
], ids=["fraction-text", "fraction-cell", "exponent", "word", "bad-grouping", "bool", "below-minimum", "over-int32"])
def test_whole_number_refusals(raw, kwargs, en, zh):
    assert refused(cells.read_whole, raw, **kwargs) == (en, zh)


@pytest.mark.parametrize(("raw", "value"), [("1.5", 1.5), ("1,200.25", 1200.25), ("0.5", 0.5), (2, 2.0), (2.75, 2.75)],
                         ids=lambda v: repr(v))
def test_decimals_are_read(raw, value):
    assert cells.read_decimal(raw) == value


@pytest.mark.parametrize(("raw", "kwargs", "en", "zh"), [
    ("1,5", {}, "'1,5' is not a number: write it like 1.5 or 1,200.5", "「1,5」不是数字：请写成 1.5 或 1,200.5 这样的形式"),
    (float("nan"), {"minimum": 0}, None, None),
    ("-0.5", {"minimum": 0, "maximum": 365}, "'-0.5' is outside the allowed range of 0 to 365",
     "「-0.5」超出允许的范围（0 至 365）"),
], ids=["decimal-comma", "nan-cell-is-blank", "below-minimum"])
def test_decimal_refusals(raw, kwargs, en, zh):
    if en is None:
        assert cells.read_decimal(raw, **kwargs) is None   # pandas gives an empty cell as NaN
    else:
        assert refused(cells.read_decimal, raw, **kwargs) == (en, zh)


# --- dates and times -------------------------------------------------------------------------------

MARCH_1 = dt.date(2025, 3, 1)


@pytest.mark.parametrize("raw", [
    "2025-03-01", "2025-3-1", "2025/3/1", "2025/03/01", "2025.3.1", "2025年3月1日", "2025 年 3 月 1 日", "2025年3月1",
    "20250301", "２０２５－０３－０１", " 2025-03-01 ", 20250301, MARCH_1, dt.datetime(2025, 3, 1),
    "2025-03-01 00:00:00", "2025-03-01T14:30",
], ids=lambda v: repr(v))
def test_dates_are_read(raw):
    assert cells.read_date(raw) == MARCH_1


NOT_DATE = ("'{v}' is not a date: write it as YYYY-MM-DD, like 2025-03-01 (2025/3/1, 2025.3.1 and 2025年3月1日 "
            "are read too)", "「{v}」不是日期：请写成 2025-03-01 这样的形式（也可写 2025/3/1、2025.3.1 或 2025年3月1日）")
DATE_ORDER = ("'{v}' does not say whether the day or the month comes first: write the date as YYYY-MM-DD, "
              "like 2025-03-01", "「{v}」无法判断日和月的先后：请按年、月、日的顺序写成 2025-03-01 这样的形式")
DATE_NUMBER = ("'{v}' is a number, not a date: format the cell as a date in Excel, or write it like 2025-03-01",
               "「{v}」是数字而不是日期：请在电子表格中把该单元格设为日期格式，或写成 2025-03-01 这样的形式")


@pytest.mark.parametrize(("raw", "en", "zh"), [
    ("2026-01-01xyz", *filled(NOT_DATE, "2026-01-01xyz")),
    ("2025-03-01 14:30 later", *filled(NOT_DATE, "2025-03-01 14:30 later")),
    ("2025-03/01", *filled(NOT_DATE, "2025-03/01")),      # the separators must agree
    ("March 1st", *filled(NOT_DATE, "March 1st")),
    ("2025-02-30", "'2025-02-30' is not a date: month 2 of 2025 has 28 days", "「2025-02-30」不是有效日期：2025 年 2 月只有 28 天"),
    ("2024-02-30", "'2024-02-30' is not a date: month 2 of 2024 has 29 days", "「2024-02-30」不是有效日期：2024 年 2 月只有 29 天"),
    ("2025-04-31", "'2025-04-31' is not a date: month 4 of 2025 has 30 days", "「2025-04-31」不是有效日期：2025 年 4 月只有 30 天"),
    ("2025-13-01", "'2025-13-01' is not a date: there is no month 13", "「2025-13-01」不是有效日期：没有 13 月"),
    ("20251301", "'20251301' is not a date: there is no month 13", "「20251301」不是有效日期：没有 13 月"),
    ("0202-03-01", "'0202-03-01' is in the year 202: dates from 1900 to 2199 are accepted",
     "「0202-03-01」的年份是 202：只接受 1900 年至 2199 年的日期"),
    ("03/01/2025", *filled(DATE_ORDER, "03/01/2025")),
    ("1/3/2025", *filled(DATE_ORDER, "1/3/2025")),
    ("13.01.2025", *filled(DATE_ORDER, "13.01.2025")),
    ("01-03-25", *filled(DATE_ORDER, "01-03-25")),
    (45717, *filled(DATE_NUMBER, "45717")),             # an Excel serial number in a cell without a date format
    ("45717", *filled(DATE_NUMBER, "45717")),
    (45717.5, *filled(DATE_NUMBER, "45717.5")),
], ids=["trailing-junk", "junk-after-time", "mixed-separators", "words", "feb-30", "leap-feb-30", "apr-31",
        "month-13", "compact-month-13", "year-202", "day-month-first", "short-day-month", "dotted-day-first",
        "two-digit-year", "serial-cell", "serial-text", "serial-float"])
def test_date_refusals_say_why_and_never_guess(raw, en, zh):
    assert refused(cells.read_date, raw) == (en, zh)


@pytest.mark.parametrize(("raw", "value"), [
    ("2025-03-01", dt.datetime(2025, 3, 1)),
    ("2025-03-01 14:30", dt.datetime(2025, 3, 1, 14, 30)),
    ("2025-03-01T14:30:05", dt.datetime(2025, 3, 1, 14, 30, 5)),
    ("2025/3/1 9:05", dt.datetime(2025, 3, 1, 9, 5)),
    ("2025年3月1日 09:05:07", dt.datetime(2025, 3, 1, 9, 5, 7)),
    ("2025-03-01T14:30:05Z", dt.datetime(2025, 3, 1, 14, 30, 5)),             # the zone is dropped,
    ("2025-03-01T14:30:05+08:00", dt.datetime(2025, 3, 1, 14, 30, 5)),        # the wall-clock time kept
    ("2025-03-01 14:30:05.250", dt.datetime(2025, 3, 1, 14, 30, 5, 250_000)),
    ("2025-03-01T14:30:05.123456789", dt.datetime(2025, 3, 1, 14, 30, 5, 123_456)),    # nanoseconds cut
    (dt.datetime(2025, 3, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))), dt.datetime(2025, 3, 1, 14, 30)),
    (MARCH_1, dt.datetime(2025, 3, 1)),
], ids=["date-only", "HH:MM", "T-HH:MM:SS", "slashes-one-digit-hour", "chinese-date", "zulu", "offset", "fraction", "nanoseconds",
        "aware-cell", "date-cell"])
def test_datetimes_are_read(raw, value):
    assert cells.read_datetime(raw) == value


@pytest.mark.parametrize(("raw", "en", "zh"), [
    ("2025-03-01 25:00", "'2025-03-01 25:00' is not a time of day: hours go up to 23, minutes and seconds up to 59",
     "「2025-03-01 25:00」不是有效的时间：小时最大为 23，分钟和秒最大为 59"),
    ("2025-03-01 14:3", "'2025-03-01 14:3' is not a date and time: write it like 2025-03-01 14:30 or 2025-03-01 14:30:05",
     "「2025-03-01 14:3」不是日期时间：请写成 2025-03-01 14:30 或 2025-03-01 14:30:05 这样的形式"),
    ("03/01/2025 14:30", *filled(DATE_ORDER, "03/01/2025 14:30")),
], ids=["hour-25", "short-minutes", "day-first"])
def test_datetime_refusals(raw, en, zh):
    assert refused(cells.read_datetime, raw) == (en, zh)


# --- yes/no ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["yes", "Yes", "Y", "y", "TRUE", "true", "t", "1", "是", "对", "√", "✓", "ｙｅｓ", 1, 1.0, True],
                         ids=repr)
def test_yes_is_read(raw):
    assert cells.read_yes_no(raw) is True


@pytest.mark.parametrize("raw", ["no", "No", "N", "false", "FALSE", "f", "0", "否", "错", "×", "x", "X", "ｎｏ", 0, 0.0, False],
                         ids=repr)
def test_no_is_read(raw):
    assert cells.read_yes_no(raw) is False


@pytest.mark.parametrize("raw", ["maybe", "2", 2, "yes please"], ids=repr)
def test_anything_else_is_not_yes_or_no(raw):
    assert refused(cells.read_yes_no, raw) == (
        f"'{raw}' is not yes or no: write yes or no (y/n, true/false, 1/0, 是/否 and √/× are read too)",
        f"「{raw}」不是“是/否”：请填写 是 或 否（也可填 对/错、√/× 或 1/0）")


# --- vocabularies ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["east_china", "East China", "EAST CHINA", "east  china", "华东", " 华东 ", "Ｅａｓｔ　Ｃｈｉｎａ",
                                 "EAST_CHINA"], ids=repr)
def test_a_choice_is_read_by_code_or_either_label(raw):
    assert cells.read_choice(raw, vocab.Region) == "east_china"


def test_an_unknown_choice_lists_the_allowed_labels_in_the_readers_language():
    assert refused(cells.read_choice, "Mars", vocab.Region) == (
        "'Mars' is not one of the allowed values: East China, North China, South China, Central China, "
        "Southwest China, Northwest China, Northeast China, Overseas",
        "「Mars」不是可选值之一：华东、华北、华南、华中、西南、西北、东北、海外")


def test_a_company_list_given_as_labels_is_read_the_same_way():
    industries = {"mining": ("Mining", "采矿业"), "other": ("Other", "其他")}
    assert cells.read_choice("采矿业", industries) == "mining"
    assert cells.read_choice("OTHER", industries) == "other"
    assert refused(cells.read_choice, "Textiles", industries) == (
        "'Textiles' is not one of the allowed values: Mining, Other", "「Textiles」不是可选值之一：采矿业、其他")


@pytest.mark.parametrize(("raw", "codes"), [
    ("acquisition", "acquisition"),
    ("Promotion, acquisition", "acquisition,promotion"),       # kept in the vocabulary's order
    ("推广、获客", "acquisition,promotion"),
    ("转化，推广；Promotion", "promotion,conversion"),           # full-width separators, a repeat kept once
    ("acquisition,,", "acquisition"),
], ids=["one", "two-english", "chinese-enumeration-comma", "fullwidth-separators-repeat", "empty-parts"])
def test_several_choices_are_read_as_codes_in_vocabulary_order(raw, codes):
    assert cells.read_choices(raw, vocab.EventPurpose) == codes


def test_an_unknown_choice_among_several_is_named():
    assert refused(cells.read_choices, "获客, fishing", vocab.EventPurpose) == (
        "'fishing' is not one of the allowed values: Acquisition, Promotion, Conversion",
        "「fishing」不是可选值之一：获客、推广、转化")


@pytest.mark.parametrize("enum", i18n.LABELLED_VOCABULARIES, ids=lambda e: e.__name__)
def test_every_label_reads_back_as_its_own_code(enum):
    """No two values of a vocabulary share a label, and no label holds a separator of read_choices."""
    for member in enum:
        for lang in ("en", "zh"):
            said = i18n.label(enum, member.value, lang)
            assert cells.read_choice(said, enum) == member.value
            assert cells.read_choices(said, enum) == member.value


# --- text ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "kwargs", "value"), [
    ("  苏州恒达精密制造有限公司  ", {}, "苏州恒达精密制造有限公司"),
    ("A  B", {}, "A  B"),                  # inner spaces are data, kept
    (2025001, {}, "2025001"),               # a code typed into a number cell
    (2025001.0, {}, "2025001"),
    ("C2025001", {"maximum": 8}, "C2025001"),
], ids=["trimmed", "inner-space-kept", "int-cell", "float-cell", "at-limit"])
def test_text_is_kept_as_entered_and_trimmed(raw, kwargs, value):
    assert cells.read_text(raw, **kwargs) == value


@pytest.mark.parametrize(("raw", "kwargs", "en", "zh"), [
    ("ab\x00c", {}, "'ab␀c' contains a NUL character, which cannot be stored: remove it", "「ab␀c」含有无法保存的空字符：请删除它"),
    ("C20250012", {"maximum": 8}, "'C20250012' is 9 characters long: at most 8 fit", "「C20250012」长度为 9 个字符：最多 8 个"),
], ids=["nul", "too-long"])
def test_text_refusals(raw, kwargs, en, zh):
    assert refused(cells.read_text, raw, **kwargs) == (en, zh)


# --- blanks, normalising, by field -----------------------------------------------------------------

@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", float("nan")], ids=repr)
@pytest.mark.parametrize("kind", list(Kind), ids=str)
def test_a_blank_cell_is_none_for_every_kind(kind, raw):
    field = Field("f", "F", "字段", kind, required=True, vocabulary=vocab.Region)
    assert cells.read_cell(field, raw) is None   # the required check is the caller's


@pytest.mark.parametrize(("text", "normal"), [
    ("  Customer   Code ", "customer code"), ("ＣＵＳＴＯＭＥＲ　ＣＯＤＥ", "customer code"), ("客户编号", "客户编号"),
    ("Straße", "strasse"),
], ids=["spaces", "full-width", "chinese", "casefold"])
def test_normalise(text, normal):
    assert cells.normalise(text) == normal


@pytest.mark.parametrize(("field", "raw", "value"), [
    (Field("amount", "Amount", "金额", Kind.money), "¥86,800.50", 8_680_050),
    (Field("amount", "Amount", "金额", Kind.money, minimum=-1e6), "-1.5", -150),
    (Field("employees", "Employees", "员工人数", Kind.whole, minimum=0, maximum=10_000_000), "1,200", 1200),
    (Field("effort", "Effort", "工作量", Kind.decimal, minimum=0), "2.5", 2.5),
    (Field("signed", "Signed on", "签约日期", Kind.date), "2025/3/1", MARCH_1),
    (Field("at", "At", "时间", Kind.datetime), "2025/3/1 9:05", dt.datetime(2025, 3, 1, 9, 5)),
    (Field("ka", "KA", "KA", Kind.yes_no), "是", True),
    (Field("region", "Region", "区域", Kind.choice, vocabulary=vocab.Region), "华东", "east_china"),
    (Field("purposes", "Purposes", "目的", Kind.choices, vocabulary=vocab.EventPurpose), "转化, 获客",
     "acquisition,conversion"),
    (Field("name", "Name", "名称", Kind.text, maximum=10), " 恒达 ", "恒达"),
    (Field("customer", "Customer code", "客户编号", Kind.ref, ref="customers", ref_field="code"), " Ｃ2025001 ", "c2025001"),
], ids=lambda v: v.name if isinstance(v, Field) else None)
def test_read_cell_dispatches_on_the_fields_kind(field, raw, value):
    assert cells.read_cell(field, raw) == value


def test_read_cell_applies_the_fields_range():
    field = Field("employees", "Employees", "员工人数", Kind.whole, minimum=0, maximum=10_000_000)
    assert refused(cells.read_cell, field, "20,000,000") == (
        "'20,000,000' is outside the allowed range of 0 to 10,000,000", "「20,000,000」超出允许的范围（0 至 10,000,000）")


# --- writing back ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cents", "yuan", "text"), [
    (8_680_050, Decimal("86800.50"), "86800.50"), (1, Decimal("0.01"), "0.01"), (0, Decimal("0.00"), "0.00"),
    (-120_000, Decimal("-1200.00"), "-1200.00"), (None, None, ""),
], ids=["86800.50", "one-fen", "zero", "credit", "none"])
def test_money_is_written_as_yuan_with_two_decimals_and_reads_back(cents, yuan, text):
    assert cells.write_money(cents) == yuan
    assert cells.money_text(cents) == text
    assert cells.read_money(text, minimum=-1e12) == cents


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_labels_and_yes_no_written_in_a_language_read_back(lang):
    assert cells.read_choice(cells.write_choice("east_china", vocab.Region, lang), vocab.Region) == "east_china"
    written = cells.write_choices("acquisition,conversion", vocab.EventPurpose, lang)
    assert written == {"en": "Acquisition, Conversion", "zh": "获客、转化"}[lang]
    assert cells.read_choices(written, vocab.EventPurpose) == "acquisition,conversion"
    assert [cells.read_yes_no(cells.write_yes_no(v, lang)) for v in (True, False)] == [True, False]


def test_write_cell_gives_yuan_and_labels():
    amount = Field("amount", "Amount", "金额", Kind.money)
    region = Field("region", "Region", "区域", Kind.choice, vocabulary=vocab.Region)
    assert cells.write_cell(amount, 8_680_050, "zh") == Decimal("86800.50")
    assert cells.write_cell(region, "east_china", "zh") == "华东"
    assert cells.write_cell(region, None, "zh") is None


# --- every message reads in Chinese, and nothing but CellProblem ever escapes ------------------------

def test_cell_messages_have_no_english_word_in_chinese():
    """Beyond the acronyms, only the value repeated from the file may be in Latin letters (none here)."""
    zh = [re.sub(r"{\w+}", " ", i18n.TEXT[key][1]) for key in i18n.TEXT if key.startswith("cell.")]
    assert len(zh) > 15
    assert english_words(" ".join(zh)) == []


ANY_CELL = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="0123456789,. -+eE¥元()年月日/:T", max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(list(Kind)), raw=ANY_CELL)
def test_any_cell_is_read_or_refused_with_a_message_never_a_traceback(kind, raw):
    field = Field("f", "F", "字段", kind, vocabulary=vocab.Region, maximum=None)
    try:
        cells.read_cell(field, raw)
    except CellProblem as problem:
        assert i18n.say(problem.message, "zh") != problem.message.key


@settings(max_examples=300, deadline=None)
@given(yuan=st.integers(min_value=0, max_value=10**12 - 1), fen=st.integers(min_value=0, max_value=99),
       whole=st.integers(min_value=0, max_value=2**31 - 1), day=st.dates(dt.date(1900, 1, 1), dt.date(2199, 12, 31)),
       seconds=st.integers(min_value=0, max_value=86_399))
def test_the_fast_paths_agree_with_the_general_path(yuan, fen, whole, day, seconds):
    """Plain digits and ISO dates take a shortcut; a leading space sends the same text the general way."""
    money = f"{yuan}.{fen:02d}"
    assert cells.read_money(money) == cells.read_money(" " + money) == yuan * 100 + fen
    assert cells.read_whole(str(whole)) == cells.read_whole(" " + str(whole)) == whole
    assert cells.read_date(day.isoformat()) == cells.read_date(" " + day.isoformat()) == day
    moment = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
    text = moment.isoformat(sep=" ")
    assert cells.read_datetime(text) == cells.read_datetime(" " + text) == moment


@pytest.mark.parametrize(("field", "en", "zh"), [
    (Field("amount", "Amount", "金额", Kind.money, maximum=1_000_000),
     "An amount in yuan from 0 to 1,000,000 with at most 2 decimals, like 12,000.00",
     "以元为单位的金额，0 至 1,000,000 元，最多两位小数，例如 12,000.00"),
    (Field("employees", "Employees", "员工人数", Kind.whole, minimum=0, maximum=10_000_000),
     "A whole number from 0 to 10,000,000", "0 至 10,000,000 之间的整数"),
    (Field("effort", "Effort", "工作量", Kind.decimal, minimum=0, maximum=365), "A number from 0 to 365, like 1.5",
     "0 至 365 之间的数字，例如 1.5"),
    (Field("code", "Code", "编号", Kind.text, maximum=32), "Text of at most 32 characters", "文本，最多 32 个字符"),
    (Field("signed", "Signed on", "签约日期", Kind.date),
     "A date, like 2025-03-01 (2025/3/1, 2025.3.1 and 2025年3月1日 are read too)",
     "日期，例如 2025-03-01（也可写 2025/3/1、2025.3.1 或 2025年3月1日）"),
    (Field("at", "At", "时间", Kind.datetime), "A date and time, like 2025-03-01 14:30", "日期时间，例如 2025-03-01 14:30"),
    (Field("ka", "KA", "KA", Kind.yes_no), "yes or no", "是 或 否"),
    (Field("purposes", "Purposes", "目的", Kind.choices, vocabulary=vocab.EventPurpose),
     "One or more of, separated by commas: Acquisition, Promotion, Conversion", "以下一项或多项，用逗号分隔：获客、推广、转化"),
    (Field("format", "Format", "形式", Kind.choice, vocabulary=vocab.EventFormat), "One of: Offline, Online",
     "以下之一：线下、线上"),
    (Field("customer", "Customer code", "客户编号", Kind.ref, ref="customers", ref_field="code"),
     "A Customer code from Customers, already in the store or in the same import", "客户中已有（或本次一并导入）的客户编号"),
], ids=lambda v: v.name if isinstance(v, Field) else None)
def test_what_a_cell_accepts_is_said_in_both_languages(field, en, zh):
    assert (cells.accepts(field, "en"), cells.accepts(field, "zh")) == (en, zh)


DECLARED = [(schema.entity, field) for schema in fileschema.SCHEMAS.values() for field in schema.fields]


@pytest.mark.parametrize(("entity", "field"), DECLARED, ids=[f"{entity}.{field.name}" for entity, field in DECLARED])
def test_every_declared_field_is_read_and_described(entity, field):
    """Every field of every file schema has a reader: blank is None, what it accepts reads in both
    languages, and a value written for a file in either language reads back as what was stored."""
    assert cells.read_cell(field, "") is None
    assert cells.accepts(field, "en") != cells.accepts(field, "zh")
    if field.vocabulary is not None:
        code = next(iter(field.vocabulary)).value
        for lang in ("en", "zh"):
            assert cells.read_cell(field, cells.write_cell(field, code, lang)) == code
    if field.kind == Kind.money:
        assert cells.read_cell(field, cells.write_cell(field, 8_680_050, "zh")) == 8_680_050


def test_a_refusal_survives_pickling_in_both_languages():
    """Cached previews pickle their problems; the Chinese reading of the allowed labels must survive."""
    import copy
    import pickle

    with pytest.raises(CellProblem) as caught:
        cells.read_choice("Mars", vocab.EventFormat)
    for copied in (pickle.loads(pickle.dumps(caught.value.message)), copy.deepcopy(caught.value.message)):
        assert i18n.say(copied, "zh") == "「Mars」不是可选值之一：线下、线上"
        assert copied == "'Mars' is not one of the allowed values: Offline, Online"
