"""Reporting periods: labels, bounds, neighbours and parsing."""
from __future__ import annotations

import datetime as dt

import pytest

from ops_core.errors import UsageError
from ops_core.periods import Period, parse_period, period_of, periods_between, previous, year_before
from ops_core.vocab import Grain

D = dt.date


@pytest.mark.parametrize(("grain", "day", "label", "start", "end"), [
    ("week", D(2026, 10, 14), "2026-W42", D(2026, 10, 12), D(2026, 10, 18)),   # a Wednesday: Monday 12th..Sunday 18th
    ("week", D(2027, 1, 1), "2026-W53", D(2026, 12, 28), D(2027, 1, 3)),      # ISO: 1 Jan 2027 is in 2026's week 53
    ("month", D(2024, 2, 10), "2024-02", D(2024, 2, 1), D(2024, 2, 29)),      # leap February
    ("quarter", D(2026, 8, 31), "2026-Q3", D(2026, 7, 1), D(2026, 9, 30)),
], ids=["week", "iso-week-53", "leap-month", "quarter"])
def test_a_day_falls_in_one_period_with_its_label_and_bounds(grain, day, label, start, end):
    period = period_of(grain, day)
    assert (period.label, period.start, period.end) == (label, start, end)
    assert parse_period(label, grain) == period


def test_previous_and_year_before():
    october = parse_period("2026-10", Grain.month)
    assert previous(october).label == "2026-09"
    assert previous(parse_period("2026-01", Grain.month)).label == "2025-12"
    assert year_before(october).label == "2025-10"
    assert year_before(parse_period("2026-W53", Grain.week)).label == "2025-W52"  # 2025 has 52 ISO weeks
    assert previous(parse_period("2026-Q1", Grain.quarter)).label == "2025-Q4"


def test_periods_between_counts_every_period_once():
    months = periods_between(Grain.month, "2024-01", "2026-12")
    assert len(months) == 36 and months[0].label == "2024-01" and months[-1].label == "2026-12"
    assert all(b.start == a.end + dt.timedelta(days=1) for a, b in zip(months, months[1:], strict=False))
    assert [p.label for p in periods_between("quarter", D(2026, 2, 1), D(2026, 7, 1))] == ["2026-Q1", "2026-Q2", "2026-Q3"]


@pytest.mark.parametrize(("text", "grain"), [("2026-13", "month"), ("2026-Q5", "quarter"), ("2025-W53", "week"),
                                             ("October", "month")])
def test_a_bad_label_names_the_expected_form(text, grain):
    with pytest.raises(UsageError, match="write it like"):
        parse_period(text, grain)


def test_a_reversed_range_is_refused():
    with pytest.raises(UsageError, match="comes before"):
        periods_between("month", "2026-05", "2026-04")


def test_periods_sort_by_start():
    assert Period(D(2026, 1, 1), D(2026, 1, 31), Grain.month) < Period(D(2026, 2, 1), D(2026, 2, 28), Grain.month)
