"""SQL building blocks shared by every module that aggregates in the database.

Date arithmetic differs between SQLite and PostgreSQL; the few functions here compile to the
right SQL for each, so calculation modules write one query for both engines.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Date, Integer, Select, literal, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):  # noqa: N801 - reads as a SQL function
    """Whole days from the first date to the second (second minus first)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    first, second = list(element.clauses)
    return f"CAST(julianday({compiler.process(second, **kw)}) - julianday({compiler.process(first, **kw)}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_between_pg(element, compiler, **kw):
    first, second = list(element.clauses)
    return f"(CAST({compiler.process(second, **kw)} AS DATE) - CAST({compiler.process(first, **kw)} AS DATE))"


class month_start(FunctionElement):  # noqa: N801
    """The first day of the month of a date, as a date."""

    type = Date()
    inherit_cache = True
    name = "month_start"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)}, 'start of month')"


@compiles(month_start, "postgresql")
def _month_start_pg(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"CAST(date_trunc('month', {compiler.process(value, **kw)}) AS DATE)"


def dates_table(days: Sequence[dt.date], name: str = "d") -> Select:
    """A one-column derived table of the given dates (a calendar to join against; kept small)."""
    if not days:
        raise ValueError("dates_table needs at least one date")
    parts = [select(literal(day, Date).label(name)) for day in days]
    return union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()


def month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every first-of-month from the month of ``first`` to the month of ``last``."""
    months, current = [], dt.date(first.year, first.month, 1)
    while current <= last:
        months.append(current)
        current = dt.date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def month_end(month: dt.date) -> dt.date:
    following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)
