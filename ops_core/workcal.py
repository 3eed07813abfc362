"""The working calendar the service timers run on: working days, and the working hours of a day.

A day is a working day by these rules, later ones winning:

1. Monday to Friday work, Saturday and Sunday do not;
2. with China's public holidays on (setting ``feedback.sla_china_holidays``), the days off of the
   State Council's holiday schedule do not work, and the weekend days worked in their place
   (调休, "make-up workdays") do; both come from the ``holidays`` package, which records them
   (``holidays.China(...).weekend_workdays``);
3. the company's own extra days off (``feedback.sla_holidays``) do not work;
4. the company's own extra days worked (``feedback.sla_workdays``) do.

On a working day the clock runs from ``day_start`` to ``day_end`` (setting
``feedback.sla_work_hours``; 00:00-24:00 counts the whole day). The hours between two moments are
computed for whole arrays at once: a running total of working hours per day over the days the
moments span, plus the part of each moment's own day already worked.

The ``holidays`` package knows a year's schedule once the State Council has published it (late in the
year before); until then it lists only the statutory days of that year, without make-up workdays,
and an admin adds those as the company's extra days worked.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ops_core.errors import UsageError


@functools.lru_cache(maxsize=64)
def china_year(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """China's public days off and make-up workdays of ``year`` (from the ``holidays`` package)."""
    import holidays  # imported on first use: only the timers need it

    calendar = holidays.China(years=year)
    off = frozenset(d for d in calendar if d.year == year)
    worked = frozenset(d for d in calendar.weekend_workdays if d.year == year)
    return off, worked


@functools.lru_cache(maxsize=64)
def china_names(year: int, lang: str = "en") -> dict[dt.date, str]:
    """The names of China's public days off of ``year`` in ``lang`` (en or zh), as the ``holidays`` package gives them."""
    import holidays

    return {d: name for d, name in holidays.China(years=year, language="zh_CN" if lang == "zh" else "en_US").items()
            if d.year == year}


def china_days(first: dt.date, last: dt.date) -> tuple[list[dt.date], list[dt.date]]:
    """China's public days off and make-up workdays from ``first`` to ``last`` (both included)."""
    off: set[dt.date] = set()
    worked: set[dt.date] = set()
    for year in range(first.year, last.year + 1):
        year_off, year_worked = china_year(year)
        off |= year_off
        worked |= year_worked
    return (sorted(d for d in off if first <= d <= last), sorted(d for d in worked if first <= d <= last))


def parse_time(text: str, what: str) -> float:
    """``HH:MM`` (``24:00`` allowed) as hours after midnight."""
    try:
        hours, minutes = (int(part) for part in str(text).split(":"))
    except ValueError:
        raise UsageError(f"{what}: '{text}' is not a time of day (HH:MM)") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise UsageError(f"{what}: '{text}' is not a time of day (HH:MM)")
    return hours + minutes / 60


def parse_days(values: Iterable[Any], what: str) -> tuple[dt.date, ...]:
    out = []
    for raw in values:
        try:
            out.append(raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw)))
        except ValueError:
            raise UsageError(f"setting {what}: '{raw}' is not a date (YYYY-MM-DD)") from None
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class WorkCalendar:
    """Which days work and which hours of them (module docstring)."""

    day_start: float = 0.0   # hours after midnight
    day_end: float = 24.0
    china_holidays: bool = False
    days_off: tuple[dt.date, ...] = field(default=())
    days_worked: tuple[dt.date, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 0 <= self.day_start < self.day_end <= 24:
            raise UsageError(f"working hours must start before they end within one day, got "
                             f"{self.day_start:g} to {self.day_end:g} hours")
        both = sorted(set(self.days_off) & set(self.days_worked))
        if both:
            raise UsageError(f"{both[0].isoformat()} is both an extra day off and an extra day worked")

    @property
    def hours_per_day(self) -> float:
        return self.day_end - self.day_start

    def working(self, days: np.ndarray) -> np.ndarray:
        """Whether each day (datetime64[D] array) is a working day, by the rules of the module docstring."""
        days = np.asarray(days, dtype="datetime64[D]")
        work = np.is_busday(days, weekmask="1111100")
        if len(days) == 0:
            return work
        if self.china_holidays:
            first, last = (pd.Timestamp(days.min()).date(), pd.Timestamp(days.max()).date())
            off, worked = china_days(first, last)
            work = np.where(np.isin(days, _dates(off)), False, work)
            work = np.where(np.isin(days, _dates(worked)), True, work)
        work = np.where(np.isin(days, _dates(self.days_off)), False, work)
        return np.where(np.isin(days, _dates(self.days_worked)), True, work)

    def hours(self, start: Any, end: Any) -> np.ndarray:
        """Working hours from ``start`` to ``end`` (arrays of datetimes, element by element). NaT in
        either gives NaN; an end before the start gives 0."""
        s = pd.to_datetime(pd.Series(start)).to_numpy(dtype="datetime64[s]")
        e = pd.to_datetime(pd.Series(end)).to_numpy(dtype="datetime64[s]")
        valid = ~(np.isnat(s) | np.isnat(e))
        if not valid.any():
            return np.full(len(s), np.nan)
        s = np.where(valid, s, s[valid][0])
        e = np.where(valid, e, s[valid][0])
        s_day, e_day = s.astype("datetime64[D]"), e.astype("datetime64[D]")
        first = min(s_day.min(), e_day.min())
        days = np.arange(first, max(s_day.max(), e_day.max()) + np.timedelta64(1, "D"), dtype="datetime64[D]")
        work = self.working(days)
        # worked_before[i]: working hours of the days before days[i]
        worked_before = np.concatenate(([0.0], np.cumsum(work * self.hours_per_day)))

        def clock(moment: np.ndarray, day: np.ndarray) -> np.ndarray:
            at = (day - first).astype(np.int64)
            into_day = (moment - day.astype("datetime64[s]")).astype(np.int64) / 3600.0
            today = np.clip(into_day - self.day_start, 0.0, self.hours_per_day)
            return worked_before[at] + np.where(work[at], today, 0.0)

        hours = clock(e, e_day) - clock(s, s_day)
        return np.where(valid, np.maximum(hours, 0.0), np.nan)

    def days_in(self, first: dt.date, last: dt.date, lang: str = "en") -> pd.DataFrame:
        """Every day from ``first`` to ``last`` that is not what its weekday says (a weekday off or a weekend
        day worked), with why: ``date, working, source`` (china, company) and ``holiday`` (a public day
        off's name in ``lang``, else empty)."""
        days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + np.timedelta64(1, "D"))
        work = self.working(days)
        weekday = np.is_busday(days, weekmask="1111100")
        odd = work != weekday
        company = np.isin(days, _dates(self.days_off + self.days_worked))
        dates = pd.to_datetime(days[odd]).date
        names: dict[dt.date, str] = {}
        if self.china_holidays:
            for year in range(first.year, last.year + 1):
                names |= china_names(year, lang)
        return pd.DataFrame({"date": dates, "working": work[odd], "source": np.where(company[odd], "company", "china"),
                             "holiday": [names.get(d, "") if not w else "" for d, w in zip(dates, work[odd], strict=True)]})


def _dates(days: Sequence[dt.date]) -> np.ndarray:
    return np.asarray([np.datetime64(d, "D") for d in days], dtype="datetime64[D]")
