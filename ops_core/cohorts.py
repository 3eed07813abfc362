"""Retention cohorts for the heat maps: customers by the month they became paying (their MRR first
rose above zero), users by the week they registered.

Both come back in long form, one row per cohort and elapsed period (the shape a heat map draws);
``cohort_matrix`` pivots either into the familiar triangle. A cell is present only once its period
has ended by ``as_of`` (default: the end of the range's last period), so the triangle's missing
corner means "not yet known", never 0. SQL does the aggregation (one statement per call, the same
on SQLite and PostgreSQL); pandas only reshapes the per-cohort totals.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, case, func, select, true

from ops_core.db.models import TABLES
from ops_core.db.queries import (
    dates_table,
    days_between,
    frame_of,
    month_end,
    month_start,
    month_starts,
    round_half_up,
    week_start,
)
from ops_core.errors import UsageError
from ops_core.filters import Filters
from ops_core.overview import annualised_cents
from ops_core.periods import period_of
from ops_core.vocab import Grain

customers = TABLES["customers"]
contracts = TABLES["contracts"]
account_users = TABLES["account_users"]
account_user_weeks = TABLES["account_user_weeks"]

BASES = ("logo", "revenue")
MODES = ("on", "on_or_after")
CUSTOMER_COLUMNS = ["cohort", "cohort_start", "cohort_size", "months_since", "retained", "share"]
USER_COLUMNS = ["cohort", "cohort_start", "cohort_size", "weeks_since", "retained", "share"]


def _months_apart(first: dt.date, later: dt.date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def _share(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator.astype("float64") / denominator.astype("float64").where(denominator != 0)


def customer_cohorts(conn: Connection, first_month: dt.date, last_month: dt.date, basis: str = "logo",
                     filters: Filters | None = None, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """Customers by the month they became paying, followed month by month.

    A customer's cohort is the month its first contract with an MRR starts (a contract within one
    calendar month has none), as ChartMogul and Baremetrics count a subscriber from the first MRR,
    and as the MRR bridge counts "new". Such a contract runs to the end of its first month at least,
    so month 0 of the logo basis is always 100 %. When the money arrives does not matter: a
    prepayment the month before, or an invoice still unpaid, leaves the cohort where the contract
    puts it. A customer who churns and comes back stays in that first cohort. Rows: every cohort month from
    ``first_month`` to ``last_month`` (either given as any day of the month) and every month since
    0..N whose end is on or before ``as_of`` (default: the end of ``last_month``).

    Columns: cohort ("2025-03"), cohort_start (date), cohort_size, months_since, retained, share.
    - basis "logo": cohort_size = customers; retained = those paying (MRR > 0, contracts in force)
      at the end of that month; share = retained / cohort_size.
    - basis "revenue": cohort_size = the cohort's MRR at the end of month 0, in cents; retained =
      its MRR at the end of that month (cents); share = retained / cohort_size (NRR-style, can
      exceed 1). A customer's MRR is the sum of its contracts' MRR (amount / term in months,
      ``ops_core.overview.monthly_cents``) in whole cents (halves up, as the MRR bridge of
      ``ops_core.indicators``).
    Shares over a zero are NaN.
    """
    if basis not in BASES:
        raise UsageError(f"unknown cohort basis '{basis}'; use {' or '.join(BASES)}")
    months = month_starts(first_month, last_month)
    if not months:
        raise UsageError(f"the range starts ({first_month}) after it ends ({last_month})")
    observed_until = as_of if as_of is not None else month_end(months[-1])
    ends = [month_end(m) for m in month_starts(months[0], observed_until) if month_end(m) <= observed_until]
    if ends:
        chosen = filters.customer_clause(customers) if filters is not None else true()
        became_paying = (select(contracts.c.customer_id.label("customer_id"),
                                month_start(func.min(contracts.c.start_date)).label("cohort"))
                         .where(contracts.c.unrounded_mrr > 0)
                         .group_by(contracts.c.customer_id).subquery("became_paying"))
        members = (select(became_paying.c.customer_id, became_paying.c.cohort)
                   .select_from(became_paying.join(customers, customers.c.id == became_paying.c.customer_id))
                   .where(chosen, became_paying.c.cohort >= months[0], became_paying.c.cohort <= months[-1])
                   .subquery("members"))
        sizes = frame_of(conn.execute(select(members.c.cohort, func.count()).group_by(members.c.cohort)).all(),
                         columns=["cohort_start", "customers"])
        calendar = dates_table(ends, "day")
        in_force = and_(contracts.c.customer_id == members.c.customer_id,
                        contracts.c.start_date <= calendar.c.day, contracts.c.end_date >= calendar.c.day)
        mrr = (select(members.c.cohort, calendar.c.day, members.c.customer_id,
                      round_half_up(func.sum(annualised_cents()) / 12.0).label("mrr"))
               .select_from(members.join(calendar, calendar.c.day >= members.c.cohort).join(contracts, in_force))
               .group_by(members.c.cohort, calendar.c.day, members.c.customer_id).subquery("mrr"))
        cells = frame_of(conn.execute(
            select(mrr.c.cohort, mrr.c.day, func.sum(case((mrr.c.mrr > 0, 1), else_=0)), func.sum(mrr.c.mrr))
            .group_by(mrr.c.cohort, mrr.c.day)).all(), columns=["cohort_start", "day", "paying", "mrr_cents"])
    else:
        sizes = pd.DataFrame(columns=["cohort_start", "customers"])
        cells = pd.DataFrame(columns=["cohort_start", "day", "paying", "mrr_cents"])
    for table in (sizes, cells):  # SQLite hands back strings for computed dates
        table["cohort_start"] = pd.to_datetime(table["cohort_start"]).dt.date
    day, cohort = pd.to_datetime(cells["day"]), pd.to_datetime(cells["cohort_start"])
    cells["months_since"] = ((day.dt.year - cohort.dt.year) * 12 + day.dt.month - cohort.dt.month).astype("int64")

    # Every observed (cohort, month since) cell, present even when nobody was paying in it.
    offsets = [(m, _months_apart(m, end)) for m in months for end in ends if end >= m]
    grid = pd.DataFrame(offsets, columns=["cohort_start", "months_since"]).astype({"months_since": "int64"})
    grid = grid.merge(sizes, on="cohort_start", how="left").merge(
        cells[["cohort_start", "months_since", "paying", "mrr_cents"]], on=["cohort_start", "months_since"], how="left")
    grid[["customers", "paying", "mrr_cents"]] = grid[["customers", "paying", "mrr_cents"]].astype("float64").fillna(0.0)
    if basis == "logo":
        grid["cohort_size"] = grid["customers"].astype("int64")
        grid["retained"] = grid["paying"].astype("int64")
        grid["share"] = _share(grid["retained"], grid["cohort_size"])
    else:
        start_mrr = grid.loc[grid["months_since"] == 0].set_index("cohort_start")["mrr_cents"]
        base = grid["cohort_start"].map(start_mrr).astype("float64").fillna(0.0)
        grid["cohort_size"] = np.round(base).astype("int64")
        grid["retained"] = np.round(grid["mrr_cents"]).astype("int64")
        grid["share"] = _share(grid["mrr_cents"], base)
    grid["cohort"] = pd.to_datetime(grid["cohort_start"]).dt.strftime("%Y-%m")
    out = grid[CUSTOMER_COLUMNS].sort_values(["cohort_start", "months_since"], ignore_index=True)
    out.attrs = {"basis": basis, "as_of": observed_until.isoformat(), "grain": Grain.month.value}
    return out


def user_retention(conn: Connection, first_week: dt.date, last_week: dt.date, mode: str = "on",
                   filters: Filters | None = None, weeks: int = 12, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """Account users by the ISO week they registered, followed week by week for ``weeks`` weeks.

    Rows: every registration week from the week of ``first_week`` to the week of ``last_week`` and
    every week since 0..``weeks`` that has ended on or before ``as_of`` (default: the Sunday ending
    ``last_week``'s week). Week 0 is the registration week.

    Columns: cohort ("2025-W03"), cohort_start (Monday), cohort_size (users registered),
    weeks_since, retained, share = retained / cohort_size (NaN for an empty cohort).
    - mode "on": retained = users active (``account_user_weeks``) in exactly week N;
    - mode "on_or_after": users active in week N or any later week up to ``as_of``
      (unbounded retention: never rises with N).
    """
    if mode not in MODES:
        raise UsageError(f"unknown retention mode '{mode}'; use {' or '.join(MODES)}")
    if isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 0:
        raise UsageError(f"weeks must be a whole number >= 0, not {weeks!r}")
    start, stop = period_of(Grain.week, first_week), period_of(Grain.week, last_week)
    if start > stop:
        raise UsageError(f"the range starts ({first_week}) after it ends ({last_week})")
    observed_until = as_of if as_of is not None else stop.end
    u, w = account_users.c, account_user_weeks.c
    chosen = filters.customer_clause(customers) if filters is not None else true()
    cohort = week_start(u.registered_on)
    mine = and_(chosen, u.registered_on >= start.start, u.registered_on <= stop.end)
    sizes = frame_of(conn.execute(
        select(cohort.label("cohort"), func.count()).select_from(account_users.join(customers, customers.c.id == u.customer_id))
        .where(mine).group_by(cohort)).all(), columns=["cohort_start", "users"])
    # Whole weeks since registration; only weeks that started by as_of are activity we know of.
    since = (days_between(cohort, w.week) // 7).label("since")
    activity = (select(cohort.label("cohort"), u.id.label("user_id"), since)
                .select_from(account_users.join(customers, customers.c.id == u.customer_id)
                             .join(account_user_weeks, w.account_user_id == u.id))
                .where(mine, w.week >= cohort, w.week <= observed_until).subquery("activity"))
    if mode == "on":
        counted = (select(activity.c.cohort, activity.c.since, func.count())
                   .where(activity.c.since <= weeks).group_by(activity.c.cohort, activity.c.since))
    else:  # each user counts for every N up to their last active week: group by that week, sum backwards below
        last = (select(activity.c.cohort, func.max(activity.c.since).label("last"))
                .group_by(activity.c.cohort, activity.c.user_id).subquery("last_week"))
        counted = select(last.c.cohort, last.c.last, func.count()).group_by(last.c.cohort, last.c.last)
    cells = frame_of(conn.execute(counted).all(), columns=["cohort_start", "weeks_since", "users_active"])
    for table in (sizes, cells):  # SQLite hands back strings for computed dates
        table["cohort_start"] = pd.to_datetime(table["cohort_start"]).dt.date
    cells["weeks_since"] = cells["weeks_since"].astype("int64")

    mondays = [start.start + dt.timedelta(days=7 * i) for i in range((stop.start - start.start).days // 7 + 1)]
    grid = pd.DataFrame([(m, k) for m in mondays for k in range(weeks + 1)
                         if m + dt.timedelta(days=7 * k + 6) <= observed_until], columns=["cohort_start", "weeks_since"])
    grid = grid.astype({"weeks_since": "int64"}).merge(sizes, on="cohort_start", how="left")
    if mode == "on":
        grid = grid.merge(cells, on=["cohort_start", "weeks_since"], how="left")
        grid["retained"] = grid["users_active"].astype("float64").fillna(0.0).astype("int64")
    else:
        # Users whose last active week is >= N: a reverse cumulative sum over the last weeks per cohort.
        capped = cells.assign(weeks_since=cells["weeks_since"].clip(upper=weeks))
        by_last = capped.groupby(["cohort_start", "weeks_since"], as_index=False)["users_active"].sum()
        full = pd.MultiIndex.from_product([mondays, range(weeks + 1)], names=["cohort_start", "weeks_since"])
        by_last = by_last.set_index(["cohort_start", "weeks_since"])["users_active"].reindex(full, fill_value=0)
        at_least = by_last.iloc[::-1].groupby(level="cohort_start").cumsum().iloc[::-1].rename("retained").reset_index()
        grid = grid.merge(at_least, on=["cohort_start", "weeks_since"], how="left")
        grid["retained"] = grid["retained"].astype("float64").fillna(0.0).astype("int64")
    grid["cohort_size"] = grid["users"].astype("float64").fillna(0.0).astype("int64")
    grid["share"] = _share(grid["retained"], grid["cohort_size"])
    grid["cohort"] = [period_of(Grain.week, m).label for m in grid["cohort_start"]]
    out = grid[USER_COLUMNS].sort_values(["cohort_start", "weeks_since"], ignore_index=True)
    out.attrs = {"mode": mode, "weeks": weeks, "as_of": observed_until.isoformat(), "grain": Grain.week.value}
    return out


def cohort_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """A long cohort frame as the triangle: one row per cohort (index: its label), ``cohort_size``
    then one column per elapsed period (0, 1, 2 ...) holding the share; NaN where not yet known."""
    since = "months_since" if "months_since" in frame.columns else "weeks_since"
    missing = [c for c in ("cohort", "cohort_size", since, "share") if c not in frame.columns]
    if missing:
        raise UsageError(f"a cohort frame lacks the column(s) {', '.join(missing)}")
    known = frame.dropna(subset=[since])
    shares = known.pivot(index="cohort", columns=since, values="share")
    shares.columns = [int(c) for c in shares.columns]
    sizes = frame.drop_duplicates("cohort").set_index("cohort")["cohort_size"]
    out = pd.concat([sizes, shares], axis=1)
    out.index.name = "cohort"
    return out.loc[frame["cohort"].drop_duplicates().tolist()]

