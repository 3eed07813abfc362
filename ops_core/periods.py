"""Reporting periods: a week, month or quarter as a first and last day, and their labels.

Every indicator is computed per period; this module is the one place that knows how a period is
named, where it starts and ends, and which period came before it. Weeks are ISO weeks (Monday to
Sunday, labelled ``2026-W42``); months are ``2026-10``; quarters are ``2026-Q3``. A period's days
run from ``start`` to ``end`` inclusive.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ops_core.errors import UsageError
from ops_core.vocab import Grain

_LABEL_PATTERNS = {
    Grain.week: re.compile(r"^(\d{4})-W(\d{1,2})$"),
    Grain.month: re.compile(r"^(\d{4})-(\d{1,2})$"),
    Grain.quarter: re.compile(r"^(\d{4})-Q([1-4])$"),
}
_LABEL_EXAMPLES = {Grain.week: "2026-W42", Grain.month: "2026-10", Grain.quarter: "2026-Q3"}


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def term_months(first: dt.date, last: dt.date) -> float:
    """A contract's term in months, ``first`` to ``last`` inclusive, as the field counts it: whole
    months from the start day (a month too short for it ends on its last day), then what is left as a
    share of the days of the calendar month it falls in. The SQL twin is ``db.queries.term_months``."""
    after = last + dt.timedelta(days=1)
    spanned = (after.year - first.year) * 12 + after.month - first.month
    days_in = _days_in_month(after)
    fits = min(first.day, days_in)
    if fits <= after.day:
        return spanned + (after.day - fits) / days_in
    days_before = _days_in_month(after.replace(day=1) - dt.timedelta(days=1))
    return spanned - 1 + (days_before - min(first.day, days_before) + after.day) / days_before


def months_spanned(first: dt.date, last: dt.date) -> int:
    """Month boundaries between ``first`` and the day after ``last``: 0 for a contract that starts and
    ends within one calendar month, which MRR leaves out (as ProfitWell does)."""
    after = last + dt.timedelta(days=1)
    return (after.year - first.year) * 12 + after.month - first.month


def _days_in_month(day: dt.date) -> int:
    return (add_months(day, 1) - dt.timedelta(days=1)).day


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period; ordered by start day."""

    start: dt.date
    end: dt.date
    grain: Grain

    @property
    def label(self) -> str:
        if self.grain is Grain.week:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.grain is Grain.month:
            return f"{self.start:%Y-%m}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return self.label


def period_of(grain: Grain | str, day: dt.date) -> Period:
    """The period of ``grain`` that contains ``day``."""
    grain = Grain(grain)
    if grain is Grain.week:
        start = day - dt.timedelta(days=day.weekday())
        return Period(start, start + dt.timedelta(days=6), grain)
    if grain is Grain.month:
        start = dt.date(day.year, day.month, 1)
        return Period(start, add_months(start, 1) - dt.timedelta(days=1), grain)
    start = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return Period(start, add_months(start, 3) - dt.timedelta(days=1), grain)


def parse_period(text: str, grain: Grain | str) -> Period:
    """The period a label names (``2026-10``, ``2026-W42``, ``2026-Q3``); a clear UsageError otherwise."""
    grain = Grain(grain)
    found = _LABEL_PATTERNS[grain].match(str(text).strip())
    if not found:
        raise UsageError(f"'{text}' is not a {grain.value} period; write it like {_LABEL_EXAMPLES[grain]}")
    year, number = int(found.group(1)), int(found.group(2))
    try:
        if grain is Grain.week:
            return period_of(grain, dt.date.fromisocalendar(year, number, 1))
        if grain is Grain.month:
            return period_of(grain, dt.date(year, number, 1))
        return period_of(grain, dt.date(year, (number - 1) * 3 + 1, 1))
    except ValueError:
        raise UsageError(f"'{text}' is not a {grain.value} period; write it like {_LABEL_EXAMPLES[grain]}") from None


def following(period: Period) -> Period:
    return period_of(period.grain, period.end + dt.timedelta(days=1))


def previous(period: Period) -> Period:
    return period_of(period.grain, period.start - dt.timedelta(days=1))


def year_before(period: Period) -> Period:
    """The same period one year earlier (ISO week number kept for weeks; 2026-W53 maps to 2025-W52)."""
    if period.grain is Grain.week:
        year, week, _ = period.start.isocalendar()
        try:
            return period_of(period.grain, dt.date.fromisocalendar(year - 1, week, 1))
        except ValueError:  # week 53 in a 52-week year
            return period_of(period.grain, dt.date.fromisocalendar(year - 1, 52, 1))
    return period_of(period.grain, add_months(period.start, -12))


def periods_between(grain: Grain | str, first: dt.date | str, last: dt.date | str) -> list[Period]:
    """Every period of ``grain`` from the one holding ``first`` to the one holding ``last`` (dates or labels)."""
    grain = Grain(grain)
    start = parse_period(first, grain) if isinstance(first, str) else period_of(grain, first)
    stop = parse_period(last, grain) if isinstance(last, str) else period_of(grain, last)
    if stop < start:
        raise UsageError(f"the last period {stop.label} comes before the first {start.label}")
    out = [start]
    while out[-1] < stop:
        out.append(following(out[-1]))
    return out
