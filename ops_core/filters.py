"""The shared filter: one frozen object, round-tripped through the URL, described in plain words.

Filters are declared as data (``SEGMENT_FIELDS``), as datasette declares its filter operators: each
names its query parameter, the customers column it restricts and its label, so the sidebar, the
SQL, the shareable link and the text written into exports all come from the same rows.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

import pandas as pd
from sqlalchemy import ColumnElement, Table, and_, true

from ops_core import vocab
from ops_core.i18n import clauses, label, listed, named, t, vocabulary_values


@dataclass(frozen=True)
class SegmentField:
    name: str            # attribute of Filters and query-parameter name
    column: str          # customers column it restricts
    label_key: str       # translation key of its label
    vocabulary: type[StrEnum] | None  # closed vocabulary of its values (None: ids from the store)


SEGMENT_FIELDS: tuple[SegmentField, ...] = (
    SegmentField("industries", "industry", "filters.industries", vocab.Industry),
    SegmentField("regions", "region", "filters.regions", vocab.Region),
    SegmentField("size_bands", "size_band", "filters.size_bands", vocab.SizeBand),
    SegmentField("csms", "csm_id", "filters.csms", None),
)


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve full months up to today."""
    start = dt.date(today.year - 1, today.month, 1)
    return start, today


@dataclass(frozen=True)
class Filters:
    date_from: dt.date
    date_to: dt.date
    industries: tuple[str, ...] = field(default=())
    regions: tuple[str, ...] = field(default=())
    size_bands: tuple[str, ...] = field(default=())
    csms: tuple[int, ...] = field(default=())

    @classmethod
    def default(cls, today: dt.date) -> Filters:
        start, end = default_range(today)
        return cls(start, end)

    def to_query_params(self) -> dict[str, str]:
        params = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for spec in SEGMENT_FIELDS:
            chosen = getattr(self, spec.name)
            if chosen:
                params[spec.name] = ",".join(str(v) for v in chosen)
        return params

    @classmethod
    def from_query_params(cls, params: Mapping[str, str], today: dt.date) -> Filters:
        """Lenient parse of a shared link: unknown or malformed values fall back to the defaults."""
        base = cls.default(today)
        start = _parse_date(params.get("from")) or base.date_from
        end = _parse_date(params.get("to")) or base.date_to
        if start > end:
            start, end = end, start
        chosen: dict[str, tuple] = {}
        for spec in SEGMENT_FIELDS:
            raw = [v.strip() for v in str(params.get(spec.name, "")).split(",") if v.strip()]
            if spec.vocabulary is not None:
                allowed = vocabulary_values(spec.vocabulary)  # industries, regions: the company's lists
                chosen[spec.name] = tuple(v for v in raw if v in allowed)
            else:
                chosen[spec.name] = tuple(int(v) for v in raw if v.isdigit())
        return replace(base, date_from=start, date_to=end, **chosen)

    def customer_clause(self, customers: Table) -> ColumnElement[bool]:
        """The WHERE clause these filters put on the customers table (bound parameters only)."""
        clauses = [customers.c[spec.column].in_(getattr(self, spec.name))
                   for spec in SEGMENT_FIELDS if getattr(self, spec.name)]
        return and_(true(), *clauses)

    def customer_mask(self, customers: pd.DataFrame) -> pd.Series:
        """The same restriction on a frame of customers already in memory (columns as the table)."""
        mask = pd.Series(True, index=customers.index)
        for spec in SEGMENT_FIELDS:
            chosen = getattr(self, spec.name)
            if chosen:
                mask &= customers[spec.column].isin(chosen)
        return mask

    def customer_rows(self, frame: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (a list with a ``customer_id`` column: risks, actions) whose customer these
        filters keep; ``customers`` is indexed by customer_id and has the segment columns."""
        kept = customers.index[self.customer_mask(customers)]
        return frame[frame["customer_id"].isin(kept)]

    def describe(self, lang: str = "en", csm_names: Mapping[int, str] | None = None, dates: bool = True) -> str:
        """Plain words for the page caption and every export: what this view includes (``dates=False``:
        only whose customers, for lists the date range does not narrow)."""
        parts = [t("filters.describe.dates", lang, start=self.date_from.isoformat(), end=self.date_to.isoformat())]
        for spec in SEGMENT_FIELDS:
            chosen = getattr(self, spec.name)
            if not chosen:
                continue
            if spec.vocabulary is not None:
                names = [label(spec.vocabulary, v, lang) for v in chosen]
            else:
                names = [(csm_names or {}).get(v, f"#{v}") for v in chosen]
            parts.append(named(t(spec.label_key, lang), listed(names, lang), lang))
        if len(parts) == 1:
            parts.append(t("filters.all", lang))
        return clauses(parts if dates else parts[1:], lang)


def _parse_date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None
