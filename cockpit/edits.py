"""Edit forms that never overwrite a newer save: each form carries the version its reader saw.

The first time a session shows a record in a form, ``seen`` keeps the record's values in the
session; the form draws those values and passes their version to ops_core, which refuses a save
from a stale version (StaleVersion) instead of overwriting. ``save`` keeps that refusal, with the
newer values as a person reads them and who changed them when, and the form shows it (``notice``)
with a button that loads the newer version into the form. The kept values are refreshed only after
this session's own successful save or that button, never silently under the reader's eyes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import ui
from ops_core import present, setting_text, writes
from ops_core.demand import escape_markdown
from ops_core.errors import StaleVersion

SEEN_KEY = "ops_seen"        # record -> its values as this session first saw them
REFUSED_KEY = "ops_refused"  # record -> the refusal of this session's last save of it
GENERATION_KEY = "ops_form_generation"  # record -> how often its newer version was loaded (see ``key``)

# What a form shows of a record: (field label, value) pairs, from the record as stored.
Fields = Callable[[Mapping[str, Any]], Sequence[tuple[str, Any]]]


@dataclass(frozen=True)
class Refusal:
    """A save refused because someone saved the record after this session read it."""

    who: str | None
    when: dt.datetime | None
    values: tuple[tuple[str, str], ...]   # the newer values, as a person reads them
    deleted: bool
    widgets: tuple[str, ...]              # the form's widget keys (or key prefixes ending in "_")
    related: tuple[str, ...] = ()         # other records the save read, loaded anew with this one

    def message(self) -> str:
        if self.deleted:
            return ui.tr("edit.deleted")
        shown = ui.tr("edit.list_sep").join(ui.tr("edit.pair", field=f, value=v) for f, v in self.values)
        if self.who is None:
            return ui.tr("edit.refused_unknown", values=shown)
        return ui.tr("edit.refused", who=present.actor_name(self.who, ui.language()), when=present.date_text(self.when), values=shown)


def _plain(record: Any) -> dict[str, Any] | None:
    if record is None:
        return None
    if isinstance(record, pd.Series):
        return record.to_dict()
    return dict(record)


def seen(record: str, current: Mapping[str, Any] | pd.Series | None) -> dict[str, Any] | None:
    """``record``'s values as this session first saw them: ``current`` (the record as stored now, None
    when there is none yet) the first time, the kept values after that."""
    kept = st.session_state.setdefault(SEEN_KEY, {})
    if record not in kept:
        kept[record] = _plain(current)
    return kept[record]


def forget(record: str) -> None:
    """Drop what this session kept of ``record``: the next draw reads it as stored."""
    st.session_state.setdefault(SEEN_KEY, {}).pop(record, None)
    st.session_state.setdefault(REFUSED_KEY, {}).pop(record, None)


def key(record: str, name: str) -> str:
    """The key of a form widget that shows ``record``: ``name``, renewed each time the newer version is
    loaded, so the browser draws a new widget with the newer value instead of keeping what was typed."""
    generation = st.session_state.get(GENERATION_KEY, {}).get(record, 0)
    return name if generation == 0 else f"{name}@{generation}"


def _reload(record: str) -> None:
    refusal = st.session_state.get(REFUSED_KEY, {}).get(record)
    forget(record)
    generations = st.session_state.setdefault(GENERATION_KEY, {})
    generations[record] = generations.get(record, 0) + 1
    if refusal is not None:
        for other in refusal.related:
            forget(other)
        for old in [k for k in st.session_state if _is_widget(str(k), refusal.widgets)]:
            del st.session_state[old]


def _is_widget(name: str, widgets: Sequence[str]) -> bool:
    base = name.split("@")[0]
    return any(base == w or (w.endswith("_") and name.startswith(w)) for w in widgets)


def value_text(value: Any) -> str:
    """A field's value in a refusal (forms pass labels, names and formatted amounts, never codes or
    ids): empty as a dash, yes/no in the reader's language, dates as dates, numbers plain."""
    return setting_text.plain_text(value, ui.language())


def show_stored(fields: Sequence[tuple[str, Any]]) -> None:
    """A form's fields as stored, for a reader who may not change them: each field and its value,
    read-only (values escaped, never read as Markdown)."""
    st.markdown("\n".join(f"- **{field}**: {escape_markdown(value_text(value))}" for field, value in fields))


def notice(record: str) -> None:
    """The refusal of this session's last save of ``record``, if any, and the button that loads the
    newer version into the form. Draw it above the form (a button cannot sit inside one)."""
    refusal = st.session_state.get(REFUSED_KEY, {}).get(record)
    if refusal is None:
        return
    st.error(refusal.message())
    st.button(ui.tr("edit.load_newer"), key=f"ops_reload_{record}", on_click=_reload, args=(record,))


def notices(prefix: str) -> None:
    """Every kept refusal of a record whose name starts with ``prefix`` (for lists of small forms)."""
    for record in sorted(r for r in st.session_state.get(REFUSED_KEY, {}) if r.startswith(prefix)):
        notice(record)


def save(store: Engine, record: str, action: Callable[[Any], object], done_key: str, fields: Fields, *,
         widgets: Sequence[str] = (), related: Sequence[str] = (), changed: bool = True, **values: object) -> None:
    """Run one save of ``record`` (``action`` passes the version kept by ``seen``). Nothing changed:
    says so and writes nothing. Refused as stale: keeps the refusal with the newer values (``fields``
    of the stored record) and who wrote them when, and reruns so the form shows it; ``widgets`` are
    the form's widget keys, reset when the newer version is loaded, with the ``related`` records the
    save also passed versions of. Saved: the kept values are
    dropped (the next draw reads what was saved) and the page says so."""
    if not changed:
        st.info(ui.tr("edit.nothing"))
        return
    def saved() -> None:
        for done in (record, *related):
            forget(done)

    ui.act(store, action, done_key, refused=lambda exc: _refuse(store, record, exc, fields, tuple(widgets), tuple(related)),
           saved=saved, **values)


def _refuse(store: Engine, record: str, exc: StaleVersion, fields: Fields, widgets: tuple[str, ...],
            related: tuple[str, ...]) -> None:
    last = exc.last
    if exc.current is not None and last is None:
        with store.connect() as conn:
            last = writes.last_change(conn, exc.entity, exc.record_id)
    shown = tuple((str(f), value_text(v)) for f, v in fields(exc.current)) if exc.current is not None else ()
    st.session_state.setdefault(REFUSED_KEY, {})[record] = Refusal(
        who=last["actor"] if last else None, when=last["at"] if last else None, values=shown,
        deleted=exc.current is None, widgets=widgets, related=related)
    st.rerun()
