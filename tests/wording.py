"""What a reader of 简体中文 may still see in Latin letters: the field's acronyms and data as entered.

``english_words(text, data)`` lists every Latin word of ``text`` that is neither one of the acronyms
the field uses (the list the house rules name) nor a word of the data values shown (customer names,
demand titles, release labels, product lines); a Chinese page, report or message passes when the
list is empty.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable

ACRONYMS = frozenset({"ARR", "MRR", "NRR", "GRR", "KA", "RFM", "ROI", "CSM", "SLA", "FAQ", "DAU", "MAU", "PV",
                      "UV", "RICE", "CSV"})   # CSV: the file format, as Chinese software names it too
WORD = re.compile(r"[A-Za-z]+")


def visible_text(page: str) -> str:
    """The text a browser shows of an HTML page: no style sheet, no tags, entities decoded."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<svg\b.*?</svg>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def english_words(text: str, data: Iterable[object] = ()) -> list[str]:
    """Latin words of ``text`` outside the allowed acronyms and the words of ``data``, sorted, once each."""
    allowed = ACRONYMS | {w for value in data for w in WORD.findall(str(value))}
    return sorted({w for w in WORD.findall(text) if w not in allowed})
