"""How one cell of a file a person brings is read, by its field's kind, and how a value is written back.

A cell arrives as text (CSV) or as what a spreadsheet cell holds (int, float, date, datetime, bool).
``read_cell`` turns it into the value the store keeps, or raises ``CellProblem`` whose ``message`` is
an ``i18n.Phrase`` naming the value and how to fix it, in either language. Blank is ``None``: whether
a field must have a value is the caller's check, as is resolving a reference to an id.

Bounded by construction: a number in text is matched against a strict pattern of at most
``_MAX_NUMBER_TEXT`` characters before anything converts it, so ``1e10000000``, ``Infinity``,
``sNaN``, ``-0x1p3`` or a 5,000-digit string are refused without ever being turned into a number.
Exponents are refused in every number kind: a person writes 1200, and a spreadsheet that wrote
1.2E+3 into a file has already rounded what it held.

Decisions a file's author may want to know:
- numbers: commas or single spaces group thousands (in threes), a point is always the decimal
  point (``12.000`` is twelve), ``1e3`` is refused like every exponent; a float cell is read through
  its shortest text (86800.5 -> 86800.5 exactly). Whole numbers default to an INTEGER column's range.
- money is yuan with at most two decimals; trailing zeros are fine (``86800.500``), a fen fraction
  is not (``86800.505``); accounting parentheses ``(1,200.00)`` mean a negative amount, which only
  fields whose minimum is below 0 take. Money ranges on a field are in yuan.
- dates: year first only (2025-03-01, 2025/3/1, 2025.3.1, 2025年3月1日, 20250301); a day or month
  first (03/01/2025) is refused, never guessed; a time after a date is dropped for a date field.
  A bare number is refused with a hint (openpyxl gives date cells as dates), except eight digits
  that read as YYYYMMDD, the same as that text.
- text keeps what was entered, trimmed; references (``Kind.ref``) come back ``normalise``d so the
  import can match them against stored keys normalised the same way.
"""
from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import NoReturn, assert_never

from ops_core import fileschema, i18n
from ops_core.fileschema import Kind
from ops_core.i18n import Either, Phrase

# Limits that apply when a field declares none.
MONEY_MAXIMUM_YUAN = Decimal(10) ** 12
WHOLE_MINIMUM, WHOLE_MAXIMUM = -(2**31), 2**31 - 1        # what an INTEGER column holds on every engine
DECIMAL_MINIMUM, DECIMAL_MAXIMUM = -1e15, 1e15
FIRST_YEAR, LAST_YEAR = 1900, 2199                         # a date outside is a typo (0202-03-01)

_MAX_NUMBER_TEXT = 64   # longer text is refused before it is normalised or matched
_SHOWN = 40             # characters of a value repeated in a message

# Vocabulary labels: ``i18n._VOCABULARY_LABELS`` by enum, or a company's own list as code -> (en, zh).
Labels = Mapping[str, tuple[str, str]]
Vocabulary = type[StrEnum] | Labels


class CellProblem(ValueError):
    """A cell that cannot be read; ``message`` (a Phrase) names the value and the fix."""

    def __init__(self, message: Phrase) -> None:
        super().__init__(message)
        self.message = message


# --- helpers --------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Text for matching labels, headers and keys: NFKC (full-width to half-width), trimmed, inner
    whitespace collapsed to one space, casefolded."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def is_blank(raw: object) -> bool:
    """None, empty or whitespace-only text, a float NaN, or a pandas NA/NaT handed over as it is."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    if isinstance(raw, float):
        return raw != raw
    return type(raw).__name__ in ("NAType", "NaTType")


def _shown(raw: object) -> str:
    """The value as a message repeats it: as given, cut to ``_SHOWN`` characters, NUL made visible."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() > 128:
        return "…"   # str() of a huge int is itself unbounded work (and refused beyond 4,300 digits)
    text = str(raw)
    text = text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
    return text.replace("\x00", "␀")


def _problem(key: str, raw: object, **values: object) -> CellProblem:
    return CellProblem(Phrase(key, value=_shown(raw), **values))


def _number_text(raw: str) -> str:
    """Text of a number with width, spaces and minus signs unified; refused when too long to be one."""
    if len(raw) > _MAX_NUMBER_TEXT:
        raise _problem("cell.too_long_number", raw, length=len(raw))
    text = unicodedata.normalize("NFKC", raw).replace("\u2212", "-")
    return " ".join(text.split()).casefold()


# Digits with optional grouping by commas or by single spaces (groups of three), optional fraction.
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:\.\d*)?|\.\d+"
_NUMBER = re.compile(rf"(?P<sign>[+-])? ?(?P<digits>{_DIGITS})", re.ASCII)
_EXPONENT = re.compile(r"[+-]?(?:\d[\d,]*\.?\d*|\.\d+) ?e ?[+-]?\d+", re.ASCII)
_MONEY = re.compile(
    r"(?P<open>\()? ?(?P<sign>[+-])? ?(?:¥|rmb|cny|人民币)? ?(?P<sign2>[+-])? ?"
    rf"(?P<digits>{_DIGITS}) ?(?:元|rmb|cny|人民币)? ?(?P<close>\))?", re.ASCII)


def _digits_value(digits: str) -> Decimal:
    """A Decimal of matched digits (at most ``_MAX_NUMBER_TEXT`` characters: cheap and exact)."""
    return Decimal(digits.replace(",", "").replace(" ", ""))


def _refuse_non_number(raw: object, text: str, key: str) -> NoReturn:
    if _EXPONENT.fullmatch(text):
        raise _problem("cell.exponent", raw)
    raise _problem(key, raw)


def _plain(number: Decimal) -> str:
    """A bound as a person reads it: grouped thousands, no trailing zeros, no exponent."""
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number.normalize():,f}"


@functools.lru_cache(maxsize=256)
def _bound(value: float | None, default: Decimal | float | int) -> Decimal:
    return Decimal(str(default if value is None else value))


@functools.lru_cache(maxsize=256)
def _cents_bounds(minimum: float | None, maximum: float | None) -> tuple[Decimal, Decimal]:
    return _bound(minimum, 0) * 100, _bound(maximum, MONEY_MAXIMUM_YUAN) * 100


# Fast paths for the cells most files are made of (a million usage rows): plain ASCII digits (yuan
# grouped by commas too), ISO dates. They give exactly what the general path gives, only sooner;
# anything else takes that path.
_PLAIN_YUAN = re.compile(r"(\d{1,15}|\d{1,3}(?:,\d{3}){1,4})(?:\.(\d{1,2}))?", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?", re.ASCII)


# --- numbers --------------------------------------------------------------------------------------


def _decimal_of(raw: object, not_key: str) -> Decimal | None:
    """An exact Decimal of a number cell or number text (no currency), or None when blank."""
    if is_blank(raw):
        return None
    if isinstance(raw, bool):
        raise _problem(not_key, raw)
    if isinstance(raw, int):
        if raw.bit_length() > 128:
            raise _problem(not_key, raw)
        return Decimal(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise _problem(not_key, raw)
        return Decimal(str(raw))   # 86800.5 -> 86800.5 exactly, not the binary expansion
    if isinstance(raw, Decimal):
        if not raw.is_finite() or abs(raw.adjusted()) > 40:
            raise _problem(not_key, raw)
        return raw
    text = _number_text(str(raw))
    match = _NUMBER.fullmatch(text)
    if match is None:
        _refuse_non_number(raw, text, not_key)
    value = _digits_value(match["digits"])
    return -value if match["sign"] == "-" else value


def read_whole(raw: object, *, minimum: float | None = None, maximum: float | None = None) -> int | None:
    """A whole number: ``12000``, ``12,000``, ``12 000``, ``12.0``; a fraction or an exponent is refused.

    Bounds default to what an INTEGER column holds (-2**31 .. 2**31 - 1)."""
    value: Decimal | int | None
    if type(raw) is str and 0 < len(raw) <= 18 and raw.isascii() and raw.isdigit():
        value = int(raw)
    elif type(raw) is int:
        value = raw
    else:
        value = _decimal_of(raw, "cell.not_whole")
        if value is None:
            return None
        if value != value.to_integral_value():
            raise _problem("cell.fraction", raw)
    low, high = _bound(minimum, WHOLE_MINIMUM), _bound(maximum, WHOLE_MAXIMUM)
    if not low <= value <= high:
        raise _problem("cell.number_range", raw, minimum=_plain(low), maximum=_plain(high))
    return int(value)


def read_decimal(raw: object, *, minimum: float | None = None, maximum: float | None = None) -> float | None:
    """A number with an optional fraction (``1.5``, ``1,200.25``); bounds default to ±10^15."""
    value = _decimal_of(raw, "cell.not_number")
    if value is None:
        return None
    low, high = _bound(minimum, DECIMAL_MINIMUM), _bound(maximum, DECIMAL_MAXIMUM)
    if not low <= value <= high:
        raise _problem("cell.number_range", raw, minimum=_plain(low), maximum=_plain(high))
    return float(value)


def read_money(raw: object, *, minimum: float | None = None, maximum: float | None = None) -> int | None:
    """Yuan in, cents out: ``12000``, ``12,000.00``, ``¥12,000``, ``RMB 12,000``, ``12000元``, a number cell.

    At most two decimals (fen). ``minimum`` and ``maximum`` are in yuan; by default 0 (no credits)
    and 10^12 yuan."""
    if type(raw) is str and raw.isascii() and (plain := _PLAIN_YUAN.fullmatch(raw)):
        cents = int(plain[1].replace(",", "")) * 100 + int((plain[2] or "0").ljust(2, "0"))
        low, high = _cents_bounds(minimum, maximum)
        if low <= cents <= high:
            return cents
    if is_blank(raw):
        return None
    if isinstance(raw, (bool, int, float, Decimal)):
        yuan = _decimal_of(raw, "cell.not_amount")
    else:
        text = _number_text(str(raw))
        match = _MONEY.fullmatch(text)
        if match is None or bool(match["open"]) != bool(match["close"]) or (
                match["sign"] and match["sign2"]) or (match["open"] and (match["sign"] or match["sign2"])):
            _refuse_non_number(raw, text, "cell.not_amount")
        yuan = _digits_value(match["digits"])
        if "-" in (match["sign"], match["sign2"]) or match["open"]:
            yuan = -yuan
    assert yuan is not None
    cents = yuan * 100
    if cents != cents.to_integral_value():
        raise _problem("cell.fen", raw)
    low, high = _bound(minimum, 0), _bound(maximum, MONEY_MAXIMUM_YUAN)
    if yuan < low and low == 0:
        raise _problem("cell.negative_amount", raw)
    if not low <= yuan <= high:
        raise _problem("cell.amount_range", raw, minimum=_plain(low), maximum=_plain(high))
    return int(cents)


# --- dates and times ------------------------------------------------------------------------------

_YMD = (r"(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
        r"|(?P<year2>\d{4}) ?年 ?(?P<month2>\d{1,2}) ?月 ?(?P<day2>\d{1,2}) ?日?"
        r"|(?P<year3>\d{4})(?P<month3>\d{2})(?P<day3>\d{2})")
_TIME = (r"(?:[t ] ?(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
         r" ?(?:z|utc|[+-]\d{2}(?::?\d{2})?)?)?")
_DATE_TIME = re.compile(rf"(?:{_YMD}){_TIME}", re.ASCII)
_DAY_FIRST = re.compile(r"\d{1,2}([-/.])\d{1,2}\1\d{2}(?:\d{2})?(?:[t ].*)?", re.ASCII)


def _date_of(raw: object, match: re.Match[str]) -> dt.date:
    year, month, day = (int(next(g for g in (match[part], match[f"{part}2"], match[f"{part}3"]) if g))
                        for part in ("year", "month", "day"))
    if not 1 <= month <= 12:
        raise _problem("cell.no_month", raw, month=month)
    days = calendar.monthrange(year, month)[1] if year else 31
    if not 1 <= day <= days:
        raise _problem("cell.no_day", raw, year=year, month=month, days=days)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise _problem("cell.year_range", raw, year=year, first=FIRST_YEAR, last=LAST_YEAR)
    return dt.date(year, month, day)


def _parse(raw: object, not_key: str) -> tuple[dt.date, dt.time | None]:
    """The date and optional time of a text or number cell (not of a date cell)."""
    if isinstance(raw, bool):
        raise _problem(not_key, raw)
    if isinstance(raw, (float, Decimal)) or (isinstance(raw, int) and not 19_000_101 <= raw <= 99_991_231):
        raise _problem("cell.date_number", raw)
    if isinstance(raw, int):
        raw = str(raw)   # 20250301 typed into a spreadsheet: the same as that text
    text = str(raw)
    if len(text) > _MAX_NUMBER_TEXT:
        raise _problem(not_key, raw)
    text = " ".join(unicodedata.normalize("NFKC", text).split()).casefold()
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        if _DAY_FIRST.fullmatch(text):
            raise _problem("cell.date_order", raw)
        if re.fullmatch(r"\d{1,6}(?:\.\d+)?", text):
            raise _problem("cell.date_number", raw)
        raise _problem(not_key, raw)
    date = _date_of(raw, match)
    if match["hour"] is None:
        return date, None
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise _problem("cell.no_time", raw)
    micro = int((match["fraction"] or "0")[:6].ljust(6, "0"))   # nanoseconds (numpy's text) cut to micro
    return date, dt.time(hour, minute, second, micro)


def read_date(raw: object) -> dt.date | None:
    """A date: 2025-03-01, 2025/3/1, 2025.3.1, 2025年3月1日, 20250301 or a date cell; a time is dropped."""
    if is_blank(raw):
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if type(raw) is str and _ISO_DATE.fullmatch(raw):
        try:
            date = dt.date.fromisoformat(raw)
        except ValueError:
            pass   # the general path says why
        else:
            if FIRST_YEAR <= date.year <= LAST_YEAR:
                return date
    return _parse(raw, "cell.not_date")[0]


def read_datetime(raw: object) -> dt.datetime | None:
    """A date with an optional ``HH:MM`` or ``HH:MM:SS`` after ``T`` or a space; a time zone is dropped
    (the wall-clock time is kept as written)."""
    if is_blank(raw):
        return None
    if isinstance(raw, dt.datetime):
        return raw.replace(tzinfo=None)
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day)
    if type(raw) is str and _ISO_DATETIME.fullmatch(raw):
        try:
            moment = dt.datetime.fromisoformat(raw)
        except ValueError:
            pass   # the general path says why
        else:
            if FIRST_YEAR <= moment.year <= LAST_YEAR:
                return moment
    date, time = _parse(raw, "cell.not_datetime")
    return dt.datetime.combine(date, time or dt.time())


# --- yes/no, text, vocabularies -------------------------------------------------------------------

_YES = frozenset({"yes", "y", "true", "t", "1", "是", "对", "√", "✓", "✔"})
_NO = frozenset({"no", "n", "false", "f", "0", "否", "错", "×", "✗", "✘", "x"})


def read_yes_no(raw: object) -> bool | None:
    """yes/no, y/n, true/false, 1/0, 是/否, 对/错, √/×, ✓/x in any case or width, or a boolean cell."""
    if is_blank(raw):
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return raw == 1
    text = normalise(str(raw)) if isinstance(raw, str) and len(raw) <= _MAX_NUMBER_TEXT else None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _problem("cell.not_yes_no", raw)


def read_text(raw: object, *, maximum: float | None = None) -> str | None:
    """Text as entered, trimmed; a number cell as its digits (2025001, not 2025001.0)."""
    if is_blank(raw):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() > 1000:
        digits = int(raw.bit_length() * 0.30103) + 1   # str() of it would be refused
        raise _problem("cell.too_long_number", raw, length=digits)
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    elif isinstance(raw, dt.datetime):
        text = raw.isoformat(sep=" ")
    else:
        text = str(raw).strip()
    if "\x00" in text:
        raise _problem("cell.nul", raw)
    if maximum is not None and len(text) > maximum:
        raise _problem("cell.too_long", text, length=len(text), limit=int(maximum))
    return text


def labels_of(vocabulary: Vocabulary) -> Labels:
    """Code -> (English, Chinese label) of a vocabulary enum, or a company's own list as given."""
    if isinstance(vocabulary, type):
        # The built-in labels, not a company's list in force: _enum_lookup caches what this gives.
        return {member.value: (i18n.builtin_label(vocabulary, member.value, "en"),
                               i18n.builtin_label(vocabulary, member.value, "zh"))
                for member in vocabulary}
    return vocabulary


@functools.lru_cache(maxsize=64)   # enums, and the company's lists as they were when read
def _index(items: tuple[tuple[str, tuple[str, str]], ...]) -> tuple[dict[str, str], Either]:
    """What a cell may say -> code (code, English or Chinese label, normalised), and the allowed labels."""
    index: dict[str, str] = {}
    for code, (en, zh) in items:
        for said in (code, code.replace("_", " "), en, zh):
            index.setdefault(normalise(said), code)
    allowed = Either(", ".join(en for _, (en, _zh) in items), "、".join(zh for _, (_en, zh) in items))
    return index, allowed


@functools.cache
def _enum_lookup(vocabulary: type[StrEnum]) -> tuple[dict[str, str], Either]:
    return _index(tuple(labels_of(vocabulary).items()))


def _lookup(vocabulary: Vocabulary) -> tuple[dict[str, str], Either]:
    if isinstance(vocabulary, type):
        return _enum_lookup(vocabulary)
    return _index(tuple(vocabulary.items()))


def read_choice(raw: object, vocabulary: Vocabulary) -> str | None:
    """The code of one vocabulary value given by its code, English or Chinese label (any case or width)."""
    if is_blank(raw):
        return None
    index, allowed = _lookup(vocabulary)
    text = str(raw)
    code = index.get(normalise(text)) if len(text) <= 1000 else None
    if code is None:
        raise _problem("cell.not_choice", raw, allowed=allowed)
    return code


_SEPARATORS = re.compile(r"([,;、|])")
_MOST_SEPARATORS_IN_A_LABEL = 4   # "Large (1,000-4,999)" holds two


def read_choices(raw: object, vocabulary: Vocabulary) -> str | None:
    """Several vocabulary values separated by commas (or ;、|), as codes comma-separated in the
    vocabulary's order, each once: how the store keeps events.purposes. A label that holds a comma
    itself ("Large (1,000-4,999)") is still one value: the longest run of parts that is a label wins."""
    if is_blank(raw):
        return None
    index, _ = _lookup(vocabulary)
    tokens = _SEPARATORS.split(unicodedata.normalize("NFKC", str(raw)))
    parts, separators = tokens[::2], tokens[1::2]
    chosen: set[str] = set()
    start = 0
    while start < len(parts):
        for end in range(min(len(parts), start + _MOST_SEPARATORS_IN_A_LABEL + 1), start, -1):
            said = normalise("".join(p + s for p, s in zip(parts[start:end], [*separators[start:end - 1], ""], strict=True)))
            if said in index:
                chosen.add(index[said])
                break
        else:
            code = read_choice(parts[start].strip(), vocabulary)   # blank parts are skipped, others refused
            if code is not None:
                chosen.add(code)
            end = start + 1
        start = end
    codes = [code for code in labels_of(vocabulary) if code in chosen]
    return ",".join(codes) or None


# --- by field -------------------------------------------------------------------------------------


def reader_for(field: fileschema.Field) -> Callable[[object], object]:
    """``read_cell`` for one field, with its kind and limits looked up once: what an import calls for
    every cell of a column. The same values and the same problems as ``read_cell``; the cells most
    files are made of (plain digits, ISO dates, codes seen before) are read without the general path."""
    kind = Kind(field.kind)
    if kind is Kind.whole:
        low, high = _bound(field.minimum, WHOLE_MINIMUM), _bound(field.maximum, WHOLE_MAXIMUM)
        whole_low, whole_high = int(low), int(high)
        minimum, maximum = field.minimum, field.maximum
        if low != whole_low or high != whole_high:
            return functools.partial(read_whole, minimum=minimum, maximum=maximum)

        known: dict[str, int] = {}   # digit texts already read (counts repeat), bounded

        def whole(raw: object) -> object:
            if type(raw) is str:
                found = known.get(raw)
                if found is not None:
                    return found
                if 0 < len(raw) <= 18 and raw.isdigit() and raw.isascii():
                    value = int(raw)
                    if whole_low <= value <= whole_high:
                        if len(known) < _KEPT_KEYS:
                            known[raw] = value
                        return value
            return read_whole(raw, minimum=minimum, maximum=maximum)
        return whole
    if kind is Kind.date:
        dates: dict[str, dt.date] = {}   # ISO texts already read (at most one per day of 1900..2199)

        def date(raw: object) -> object:
            if type(raw) is str:
                found = dates.get(raw)
                if found is not None:
                    return found
                value = read_date(raw)
                if value is not None and _ISO_DATE.fullmatch(raw):
                    dates[raw] = value
                return value
            return read_date(raw)
        return date
    if kind is Kind.ref:
        maximum = field.maximum
        keys: dict[str, str] = {}   # texts already read -> their normalised key, bounded

        def ref(raw: object) -> object:
            if type(raw) is str:
                found = keys.get(raw)
                if found is not None:
                    return found
            text = read_text(raw, maximum=maximum)
            if text is None:
                return None
            value = normalise(text)
            if type(raw) is str and len(keys) < _KEPT_KEYS:
                keys[raw] = value
            return value
        return ref
    if kind is Kind.money:
        return functools.partial(read_money, minimum=field.minimum, maximum=field.maximum)
    if kind is Kind.text:
        return functools.partial(read_text, maximum=field.maximum)
    vocabulary = vocabulary_of(field) if kind is Kind.choice else None   # the company's list in force, once
    if kind is Kind.yes_no or vocabulary is not None:
        read = read_yes_no if kind is Kind.yes_no else functools.partial(read_choice, vocabulary=vocabulary)
        said: dict[str, object] = {}   # texts already read -> the value (labels repeat), bounded

        def remembered(raw: object) -> object:
            if type(raw) is str:
                found = said.get(raw)
                if found is not None:
                    return found
                value = read(raw)
                if value is not None and len(said) < _KEPT_KEYS:
                    said[raw] = value
                return value
            return read(raw)
        return remembered
    return functools.partial(read_cell, field)


_KEPT_KEYS = 100_000   # texts a column's reader remembers (codes and counts repeat: one customer, many days)


def vocabulary_of(field: fileschema.Field) -> Vocabulary | None:
    """The vocabulary a field's cells are read and written in: for industries, regions and product
    lines the company's own list in force (``i18n.company_list``: what the store holds, read once per
    page run or import; the seeded list otherwise), else the field's enum."""
    name = i18n.list_name_of(field.vocabulary)
    return field.vocabulary if name is None else i18n.company_list(name)


def read_cell(field: fileschema.Field, raw: object) -> object:
    """The value of ``raw`` for ``field`` as the store keeps it (cents, codes, dates), None when blank.

    A reference comes back as the ``normalise``d key text the import matches stored keys against."""
    kind = Kind(field.kind)
    if kind is Kind.text:
        return read_text(raw, maximum=field.maximum)
    if kind is Kind.whole:
        return read_whole(raw, minimum=field.minimum, maximum=field.maximum)
    if kind is Kind.decimal:
        return read_decimal(raw, minimum=field.minimum, maximum=field.maximum)
    if kind is Kind.money:
        return read_money(raw, minimum=field.minimum, maximum=field.maximum)
    if kind is Kind.date:
        return read_date(raw)
    if kind is Kind.datetime:
        return read_datetime(raw)
    if kind is Kind.yes_no:
        return read_yes_no(raw)
    if kind is Kind.choice or kind is Kind.choices:
        vocabulary = vocabulary_of(field)
        if vocabulary is None:
            raise TypeError(f"field {field.name} is a {kind} without a vocabulary")
        reader = read_choice if kind is Kind.choice else read_choices
        return reader(raw, vocabulary)
    if kind is Kind.ref:
        text = read_text(raw, maximum=field.maximum)
        return None if text is None else normalise(text)
    assert_never(kind)


# --- what a cell of a field accepts (templates, the data page's field list) --------------------------


def accepts(field: fileschema.Field, lang: str) -> str:
    """What a cell of ``field`` may hold, in ``lang``: "An amount in yuan from 0 to 1,000,000, ..."."""
    kind = Kind(field.kind)
    if kind is Kind.text:
        said = Phrase("cell.accepts.text") if field.maximum is None else Phrase(
            "cell.accepts.text_limit", limit=int(field.maximum))
    elif kind is Kind.whole:
        said = Phrase("cell.accepts.whole", minimum=_plain(_bound(field.minimum, WHOLE_MINIMUM)),
                      maximum=_plain(_bound(field.maximum, WHOLE_MAXIMUM)))
    elif kind is Kind.decimal:
        said = Phrase("cell.accepts.decimal", minimum=_plain(_bound(field.minimum, DECIMAL_MINIMUM)),
                      maximum=_plain(_bound(field.maximum, DECIMAL_MAXIMUM)))
    elif kind is Kind.money:
        said = Phrase("cell.accepts.money", minimum=_plain(_bound(field.minimum, 0)),
                      maximum=_plain(_bound(field.maximum, MONEY_MAXIMUM_YUAN)))
    elif kind is Kind.date:
        said = Phrase("cell.accepts.date")
    elif kind is Kind.datetime:
        said = Phrase("cell.accepts.datetime")
    elif kind is Kind.yes_no:
        said = Phrase("cell.accepts.yes_no")
    elif kind is Kind.choice or kind is Kind.choices:
        vocabulary = vocabulary_of(field)
        allowed = _lookup(vocabulary)[1] if vocabulary is not None else ""
        said = Phrase(f"cell.accepts.{kind.value}", allowed=allowed)
    elif kind is Kind.ref:
        said = Phrase("cell.accepts.ref", header=_ref_header(field), entity=_ref_title(field))
    else:
        assert_never(kind)
    return said.read(lang)


def _ref_header(field: fileschema.Field) -> Either:
    schema = fileschema.SCHEMAS.get(field.ref or "")
    if schema is None or field.ref_field is None:
        return Either(field.en, field.zh)
    key = schema.field(field.ref_field)
    return Either(key.en, key.zh)


def _ref_title(field: fileschema.Field) -> Either:
    if field.ref in fileschema.LOOKUPS:
        lookup = fileschema.LOOKUPS[field.ref]
        return Either(lookup.en, lookup.zh)
    schema = fileschema.SCHEMAS.get(field.ref or "")
    return Either(str(field.ref), str(field.ref)) if schema is None else Either(schema.en, schema.zh)


# --- writing values back into a file (export, templates) -------------------------------------------


def write_money(cents: int | None) -> Decimal | None:
    """Cents as yuan with exactly two decimals (8680050 -> Decimal('86800.50')), re-read by read_money."""
    if cents is None:
        return None
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def money_text(cents: int | None) -> str:
    """Cents as yuan text for a CSV cell: ``86800.50``, no grouping (blank for None)."""
    yuan = write_money(cents)
    return "" if yuan is None else f"{yuan:f}"


def write_choice(code: str | None, vocabulary: Vocabulary, lang: str) -> str:
    """A code as its label in ``lang`` (an unknown code as stored), re-read by read_choice."""
    if code is None:
        return ""
    pair = labels_of(vocabulary).get(code)
    return code if pair is None else (pair[1] if lang == "zh" else pair[0])


def write_choices(codes: str | Iterable[str] | None, vocabulary: Vocabulary, lang: str) -> str:
    """Comma-separated codes as labels in ``lang`` (", " in English, "、" in Chinese), re-read by read_choices."""
    if codes is None:
        return ""
    items = [code for code in (codes.split(",") if isinstance(codes, str) else codes) if code]
    return ("、" if lang == "zh" else ", ").join(write_choice(code, vocabulary, lang) for code in items)


def write_yes_no(value: bool | None, lang: str) -> str:
    """yes/no in English, 是/否 in Chinese (blank for None), re-read by read_yes_no."""
    if value is None:
        return ""
    return i18n.t("edit.yes" if value else "edit.no", lang)


def write_cell(field: fileschema.Field, value: object, lang: str) -> object:
    """A stored value as a file cell for ``field`` in ``lang``: yuan for cents, labels for codes; dates
    stay dates (a CSV writer gives ISO text, a spreadsheet a date cell); references are the key text
    the caller looked up; None stays None."""
    if value is None:
        return None
    kind = Kind(field.kind)
    if kind is Kind.money:
        return write_money(int(value))  # type: ignore[arg-type]
    if kind is Kind.yes_no:
        return write_yes_no(bool(value), lang)
    vocabulary = vocabulary_of(field)
    if kind is Kind.choice and vocabulary is not None:
        return write_choice(str(value), vocabulary, lang)
    if kind is Kind.choices and vocabulary is not None:
        return write_choices(str(value), vocabulary, lang)
    return value
