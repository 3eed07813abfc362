"""SQL building blocks shared by every module that aggregates in the database.

Date arithmetic differs between SQLite and PostgreSQL; the few functions here compile to the
right SQL for each, so calculation modules write one query for both engines.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import BigInteger, Date, Integer, Select, Subquery, literal, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine


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


class round_half_up(FunctionElement):  # noqa: N801
    """A number rounded to a whole integer, halves away from zero, the same on both engines.

    SQLite's ROUND already does this; PostgreSQL rounds a double half-to-even, so it rounds a NUMERIC.
    """

    type = BigInteger()
    inherit_cache = True
    name = "round_half_up"


@compiles(round_half_up, "sqlite")
def _round_half_up_sqlite(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"CAST(ROUND({compiler.process(value, **kw)}) AS INTEGER)"


@compiles(round_half_up, "postgresql")
def _round_half_up_pg(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"CAST(ROUND(CAST({compiler.process(value, **kw)} AS NUMERIC)) AS BIGINT)"


def rows_table(columns: Sequence[tuple[str, TypeEngine]], rows: Sequence[Sequence[object]], name: str = "v") -> Subquery:
    """A small derived table of literal rows (e.g. one row per reporting period with its boundary days)."""
    if not rows:
        raise ValueError("rows_table needs at least one row")
    parts = [select(*(literal(value, kind).label(col) for (col, kind), value in zip(columns, row, strict=True)))
             for row in rows]
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery(name)


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


class week_start(FunctionElement):  # noqa: N801
    """The Monday (ISO week start) of the week of a date, as a date."""

    type = Date()
    inherit_cache = True
    name = "week_start"


@compiles(week_start, "sqlite")
def _week_start_sqlite(element, compiler, **kw):
    (value,) = list(element.clauses)
    # 'weekday 0' moves forward to the Sunday ending the ISO week (a Sunday stays); six days back is its Monday.
    return f"date({compiler.process(value, **kw)}, 'weekday 0', '-6 days')"


@compiles(week_start, "postgresql")
def _week_start_pg(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"CAST(date_trunc('week', CAST({compiler.process(value, **kw)} AS DATE)) AS DATE)"


class date_of(FunctionElement):  # noqa: N801
    """The calendar day of a timestamp, as a date (SQLite's CAST AS DATE would give a number)."""

    type = Date()
    inherit_cache = True
    name = "date_of"


@compiles(date_of, "sqlite")
def _date_of_sqlite(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)})"


@compiles(date_of, "postgresql")
def _date_of_pg(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"CAST({compiler.process(value, **kw)} AS DATE)"
