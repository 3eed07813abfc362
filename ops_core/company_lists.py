"""The company's own lists: industries, regions and product lines, stored with English and Chinese labels.

They are the company's data, not code: the store holds them (table ``company_lists``, seeded by
migration 0005 with the values the product ships with plus "other"), an admin adds values and renames
labels through the write path (role check, versions, audit with old and new values), and every page,
export and import reads them from there.

Reading: ``labels(conn, list_name)`` gives ``code -> (English, Chinese)`` in the list's order, the form
``cells.read_choice`` / ``cells.read_choices`` accept as a vocabulary; ``read_all`` gives every list
in one query; ``in_force(conn)`` puts them in force for a block so that ``i18n.label`` (tables,
filters, exports) shows a value the company added by its stored label. The app puts them in force
once per page run (cockpit.ui.engine), cached until the store's data version changes.

A code is what customers, contracts and leads store; it never changes once added (rows refer to it),
only its labels do. Labels are unique within a list (a file's cell naming one must name one value).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from ops_core import cells, i18n, writes
from ops_core.db.models import TABLES
from ops_core.errors import Refused, UsageError
from ops_core.vocab import Role

ENTITY = "company_lists"
LISTS: tuple[str, ...] = tuple(i18n.COMPANY_LISTS)   # industry, region, product_line
CODE_LENGTH = 32      # what customers.industry, customers.region and contracts.product_line hold
LABEL_LENGTH = 128
_CODE = re.compile(r"[A-Za-z0-9_]+")

company_lists = TABLES[ENTITY]


def _check_list(list_name: str) -> None:
    if list_name not in LISTS:
        raise UsageError(f"unknown list '{list_name}'; known: {', '.join(LISTS)}")


# --- reading ----------------------------------------------------------------------------------------


def read_all(conn: Connection | Session) -> dict[str, dict[str, tuple[str, str]]]:
    """Every list as ``list name -> code -> (English, Chinese)``, each in its order; one query."""
    rows = conn.execute(select(company_lists.c.list_name, company_lists.c.code, company_lists.c.label_en,
                               company_lists.c.label_zh)
                        .order_by(company_lists.c.list_name, company_lists.c.position, company_lists.c.id)).all()
    lists: dict[str, dict[str, tuple[str, str]]] = {name: {} for name in LISTS}
    for name, code, en, zh in rows:
        lists.setdefault(name, {})[code] = (en, zh)
    return lists


def labels(conn: Connection | Session, list_name: str) -> dict[str, tuple[str, str]]:
    """The list ``list_name`` (industry, region or product_line) as ``code -> (English, Chinese)`` in its
    order: a vocabulary for ``cells.read_choice`` (a cell may give the code or either label)."""
    _check_list(list_name)
    rows = conn.execute(select(company_lists.c.code, company_lists.c.label_en, company_lists.c.label_zh)
                        .where(company_lists.c.list_name == list_name)
                        .order_by(company_lists.c.position, company_lists.c.id)).all()
    return {code: (en, zh) for code, en, zh in rows}


def entries(conn: Connection | Session, list_name: str) -> list[dict[str, Any]]:
    """The list's rows as the editor shows them: id, code, label_en, label_zh, position, version."""
    _check_list(list_name)
    rows = conn.execute(select(company_lists.c.id, company_lists.c.code, company_lists.c.label_en,
                               company_lists.c.label_zh, company_lists.c.position, company_lists.c.version)
                        .where(company_lists.c.list_name == list_name)
                        .order_by(company_lists.c.position, company_lists.c.id)).mappings().all()
    return [dict(row) for row in rows]


@contextmanager
def in_force(conn: Connection | Session) -> Iterator[dict[str, dict[str, tuple[str, str]]]]:
    """The store's lists in force inside the block (``i18n.label``, pickers, the write path's checks)."""
    lists = read_all(conn)
    with i18n.company_lists_in_force(lists):
        yield lists


def new_values(conn: Connection | Session, list_name: str, values: Iterable[object]) -> list[str]:
    """The values of a file's column (cells as read) that name no entry of the list by code or label,
    each once, trimmed, in the order first met: what an import offers an admin to add."""
    vocabulary = labels(conn, list_name)
    seen: set[str] = set()
    found: list[str] = []
    for raw in values:
        if cells.is_blank(raw):
            continue
        text = " ".join(str(raw).split())
        key = cells.normalise(text)
        if key in seen:
            continue
        seen.add(key)
        try:
            cells.read_choice(text, vocabulary)
        except cells.CellProblem:
            found.append(text)
    return found


# --- codes ------------------------------------------------------------------------------------------


def derive_code(label_en: str, taken: Iterable[str]) -> str:
    """A code for a new value from its English label: lower case, words joined by underscores, ASCII
    letters and digits only, at most 32 characters; ``_2``, ``_3``... when the code is taken."""
    text = unicodedata.normalize("NFKD", label_en).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:CODE_LENGTH].strip("_") or "value"
    used = {code.casefold() for code in taken}
    code, number = base, 1
    while code.casefold() in used:
        number += 1
        suffix = f"_{number}"
        code = base[:CODE_LENGTH - len(suffix)] + suffix
    return code


# --- changing ---------------------------------------------------------------------------------------


def _clean_labels(en: str, zh: str) -> tuple[str, str]:
    en, zh = " ".join(str(en or "").split()), " ".join(str(zh or "").split())
    if not en or not zh:
        raise Refused("refuse.list_label_blank")
    for text in (en, zh):
        if len(text) > LABEL_LENGTH:
            raise Refused("refuse.list_label_long", label=text[:40] + "…", limit=LABEL_LENGTH)
    return en, zh


def _check_unique(current: dict[str, tuple[str, str]], list_name: str, code: str, en: str, zh: str) -> None:
    """No other value of the list may be called by either label: a file's cell must name one value."""
    for other, (other_en, other_zh) in current.items():
        if other == code:
            continue
        names = {cells.normalise(n) for n in (other, other.replace("_", " "), other_en, other_zh)}
        for text in (en, zh):
            if cells.normalise(text) in names:
                raise Refused("refuse.list_label_taken", label=text, list=_list_title(list_name),
                              other=i18n.Either(other_en, other_zh))


def _list_title(list_name: str) -> i18n.Either:
    return i18n.Either(i18n.t(f"lists.{list_name}", "en"), i18n.t(f"lists.{list_name}", "zh"))


def _refresh_in_force(session: Session) -> None:
    """A change seen at once by the rest of this context when lists are in force in it."""
    if i18n.lists_in_force() is not None:
        i18n.put_in_force(read_all(session))


def add(session: Session, actor: writes.Actor, list_name: str, code: str | None, en: str, zh: str) -> dict[str, Any]:
    """Add a value at the end of ``list_name`` (admins only); ``code`` derived from the English label when
    None or blank. Returns the stored row (id, code, labels, position, version)."""
    writes.require_role(actor, Role.admin, f"change the {list_name} list")
    _check_list(list_name)
    en, zh = _clean_labels(en, zh)
    current = labels(session, list_name)
    if code is None or not str(code).strip():
        code = derive_code(en, current)
    else:
        code = str(code).strip()
        if not _CODE.fullmatch(code) or len(code) > CODE_LENGTH:
            raise Refused("refuse.list_code_form", code=code[:40], limit=CODE_LENGTH)
        clash = next((c for c in current if c.casefold() == code.casefold()), None)
        if clash is not None:
            raise Refused("refuse.list_code_taken", code=code, list=_list_title(list_name),
                          other=i18n.Either(*current[clash]))
    _check_unique(current, list_name, code, en, zh)
    position = session.execute(select(func.coalesce(func.max(company_lists.c.position), 0))
                               .where(company_lists.c.list_name == list_name)).scalar_one() + 1
    stored = writes.create(session, actor, ENTITY, {"list_name": list_name, "code": code, "label_en": en,
                                                    "label_zh": zh, "position": position})
    _refresh_in_force(session)
    return stored


def rename(session: Session, actor: writes.Actor, list_name: str, code: str, en: str, zh: str,
           expected_version: int) -> dict[str, Any]:
    """New labels for the value ``code`` of ``list_name`` (admins only), if it is still at
    ``expected_version``: a save from an older view raises StaleVersion with the newer labels (the
    audit log names who saved them). The code stays: stored rows keep referring to it."""
    writes.require_role(actor, Role.admin, f"change the {list_name} list")
    _check_list(list_name)
    en, zh = _clean_labels(en, zh)
    row = session.execute(select(company_lists.c.id).where(company_lists.c.list_name == list_name,
                                                           company_lists.c.code == code)).first()
    if row is None:
        raise UsageError(f"the {list_name} list has no value '{code}'")
    _check_unique(labels(session, list_name), list_name, code, en, zh)
    stored = writes.update(session, actor, ENTITY, row.id, expected_version, {"label_en": en, "label_zh": zh})
    _refresh_in_force(session)
    return stored
