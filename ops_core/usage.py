"""Usage analytics per reporting period: active accounts, DAU, period users, stickiness, PV, UV,
new users and feature adoption (the user-operations numbers of seed 004; DESIGN.md section 1).

Every grain reads the ``usage_periods`` roll-up, one row per account and week, month or quarter
(``ops_core.db.rollups``), never the daily rows. Everything is aggregated in SQL per period and
segment; one statement for SQLite and PostgreSQL, whatever the number of periods.

The usage tables count users per account and day, never distinct users over a longer span, so
the period figures are built from daily counts (definitions in ``usage_by_period``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Float,
    FromClause,
    Integer,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    true,
)

from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of, rows_table
from ops_core.errors import UsageError
from ops_core.filters import Filters
from ops_core.indicators import NO_CSM, ROLLED_UP, add_segment, restricts, tier_at
from ops_core.periods import Period
from ops_core.vocab import Grain

customers = TABLES["customers"]
csms = TABLES["csms"]
contracts = TABLES["contracts"]
usage_periods = TABLES["usage_periods"]
usage_totals = TABLES["usage_totals"]
account_users = TABLES["account_users"]

SEGMENTS = ("industry", "region", "size_band", "csm", "product_line", "tier")
NO_PRODUCT_LINE = "none"     # usage or users while no contract was in force in the period
ALL = "all"                  # the segment value when no segment is asked for (as in ops_core.indicators)
COLUMNS = ["period", "period_start", "segment", "active_accounts", "dau", "period_active_users", "stickiness", "sessions",
           "page_views", "unique_visitors", "new_users", "adopting_accounts", "feature_adoption"]


def _periods_table(periods: Sequence[Period]) -> Subquery:
    return rows_table([("period_start", Date()), ("period_end", Date()), ("days", Integer())],
                      [(p.start, p.end, p.days) for p in periods], "p")


def _segment_key(segment: str, rows: FromClause) -> tuple[ColumnElement, FromClause]:
    """The segment value of each (period, customer) row of ``rows`` and the FROM clause it needs.

    ``rows`` has period_start, period_end and customer_id. Product line is per (customer, line):
    a customer with contracts of two lines in force during the period is in both segments.
    """
    r = rows.c
    if segment in ("industry", "region", "size_band"):
        return customers.c[segment], rows.join(customers, customers.c.id == r.customer_id)
    if segment == "csm":
        joined = rows.join(customers, customers.c.id == r.customer_id).outerjoin(csms, csms.c.id == customers.c.csm_id)
        return func.coalesce(csms.c.name, NO_CSM), joined
    if segment == "product_line":
        lines = (select(rows.c.period_start, contracts.c.customer_id, contracts.c.product_line)
                 .select_from(rows.join(contracts, and_(contracts.c.customer_id == r.customer_id,
                                                        contracts.c.start_date <= r.period_end,
                                                        contracts.c.end_date >= r.period_start)))
                 .distinct().subquery("lines"))
        joined = rows.outerjoin(lines, and_(lines.c.period_start == r.period_start, lines.c.customer_id == r.customer_id))
        return func.coalesce(lines.c.product_line, NO_PRODUCT_LINE), joined
    if segment == "tier":
        return tier_at(r.customer_id, r.period_end), rows
    raise UsageError(f"unknown segment '{segment}'; use one of {', '.join(SEGMENTS)}")


def _keyed(rows: Subquery, segment: str | None) -> Subquery:
    """``rows`` with a ``segment`` column (a constant when there is no segment), ready to group."""
    if segment is None:
        return select(rows, literal(ALL).label("segment")).subquery("keyed")
    key, joined = _segment_key(segment, rows)
    return select(rows, key.label("segment")).select_from(joined).subquery("keyed")


def usage_by_period(conn: Connection, periods: Sequence[Period], filters: Filters | None = None,
                    segment: str | None = None) -> pd.DataFrame:
    """One row per period (and segment value, in column ``segment``, when ``segment`` is given).

    Columns, for the accounts of the filtered customers with usage in the period:
    - active_accounts: accounts with at least one active day;
    - dau: average daily active users = active user-days / the period's calendar days;
    - period_active_users: the sum over accounts of their peak-day active users in the period; the
      tables hold no distinct-user count over a period, and the peak day is its lower bound;
    - stickiness: the average over active accounts of (account's average daily users over the
      period's days / its peak-day users): DAU/MAU per account with the peak day standing in for
      the MAU, in 0..1; averaged so each account weighs the same however large;
    - sessions, page_views (PV), unique_visitors (UV, the sum of daily unique visitors);
    - new_users: account users registered in the period (``account_users.registered_on``);
    - adopting_accounts: active accounts with feature events > 0; feature_adoption =
      adopting_accounts / active_accounts.
    Ratios over a zero are NaN. ``segment`` (column ``segment``, "all" without one): industry,
    region, size_band, csm (the CSM's name, "unassigned" without one), product_line (lines with a
    contract in force during the period, "none" without; a customer with two lines is in both),
    tier (newest score snapshot on or before the period's last day, "unscored" without). Rows:
    every period x every segment value seen in any of them, zeros where nothing happened.
    """
    periods = list(periods)
    if segment is not None and segment not in SEGMENTS:
        raise UsageError(f"unknown segment '{segment}'; use one of {', '.join(SEGMENTS)}")
    if not periods:
        raise UsageError("no periods given: pass at least one Period")
    grains = {p.grain for p in periods}
    if len(grains) > 1:
        raise UsageError(f"periods of one grain at a time, not {', '.join(sorted(g.value for g in grains))}")
    grain = grains.pop()
    p = _periods_table(periods)
    chosen = filters.customer_clause(customers) if filters is not None else true()
    period_cols = (p.c.period_start, p.c.period_end, p.c.days)

    usage = (_company_usage(conn, grain, periods) if segment is None and not restricts(filters)  # the company's totals
             else _usage_of_accounts(conn, grain, p, chosen, segment, filters))
    a = account_users.c
    source = account_users.join(p, and_(a.registered_on >= p.c.period_start, a.registered_on <= p.c.period_end))
    if segment in ROLLED_UP:  # one flat query: the customer's own field by a join to it (no join for the company)
        rows = add_segment(select(p.c.period_start, func.count()).select_from(source), segment, a.customer_id, None, None,
                           filters)
        rows, columns = rows.group_by(p.c.period_start, rows.selected_columns.segment), ["period_start", "new_users", "segment"]
    else:
        registered = (select(*period_cols, a.customer_id.label("customer_id"), func.count().label("users"))
                      .select_from(source.join(customers, customers.c.id == a.customer_id)).where(chosen)
                      .group_by(*period_cols, a.customer_id).subquery("registered"))
        r = _keyed(registered, segment).c
        rows = select(r.period_start, r.segment, func.sum(r.users)).group_by(r.period_start, r.segment)
        columns = ["period_start", "segment", "new_users"]
    return _assemble(periods, usage, frame_of(conn.execute(rows).all(), columns=columns), segment)


def _company_usage(conn: Connection, grain: Grain, periods: Sequence[Period]) -> pd.DataFrame:
    """The usage columns of every account per period, from the company's totals (``usage_totals``)."""
    t = usage_totals.c
    found = frame_of(conn.execute(
        select(t.period_start, literal(ALL), t.accounts, t.user_days, t.peak_users, t.days_per_peak, t.peaked,
               t.sessions, t.page_views, t.unique_visitors, t.adopting)
        .where(t.grain == grain.value, t.period_start.in_([p.start for p in periods]), t.accounts > 0)).all(),
        columns=["period_start", "segment", "active_accounts", "user_days", "period_active_users", "days_per_peak",
                 "peaked", "sessions", "page_views", "unique_visitors", "adopting_accounts"])
    days = pd.to_datetime(found["period_start"]).dt.date.map({p.start: p.days for p in periods}).astype(float)
    found["dau"] = found["user_days"] / days
    found["stickiness"] = found["days_per_peak"] / days / found["peaked"].where(found["peaked"] > 0)
    return found.drop(columns=["user_days", "days_per_peak", "peaked"])


def _usage_of_accounts(conn: Connection, grain: Grain, p: Subquery, chosen: ColumnElement[bool], segment: str | None,
                       filters: Filters | None) -> pd.DataFrame:
    """The usage columns per period and segment, from each chosen account's row (``usage_periods``): one
    flat query for a customer's own field (a join to the customer), a subquery for product line and tier."""
    u = usage_periods.c
    source = usage_periods.join(p, and_(u.grain == grain.value, u.period_start == p.c.period_start))
    if segment in ROLLED_UP:  # one flat query: the customer's own field by a join to it
        rows = add_segment(select(p.c.period_start, *_usage_sums(u, p.c.days)).select_from(source), segment, u.customer_id,
                           None, None, filters)
        found = conn.execute(rows.group_by(p.c.period_start, rows.selected_columns.segment, p.c.days)).all()
        return frame_of(found, columns=[c for c in _USAGE_COLUMNS if c != "segment"] + ["segment"])[_USAGE_COLUMNS]
    if restricts(filters):
        source = source.join(customers, customers.c.id == u.customer_id)
    per_account = (
        select(p.c.period_start, p.c.period_end, p.c.days, u.customer_id.label("customer_id"), u.user_days, u.peak_users,
               u.sessions, u.page_views, u.unique_visitors, u.feature_events)
        .select_from(source).where(chosen).subquery("per_account")
    )
    k = _keyed(per_account, segment).c
    return frame_of(conn.execute(select(k.period_start, k.segment, *_usage_sums(k, k.days))
                                 .group_by(k.period_start, k.segment, k.days)).all(), columns=_USAGE_COLUMNS)


_USAGE_COLUMNS = ["period_start", "segment", "active_accounts", "dau", "period_active_users", "stickiness", "sessions",
                  "page_views", "unique_visitors", "adopting_accounts"]


def _usage_sums(u: Any, days: ColumnElement[int]) -> list[ColumnElement]:
    """The usage columns of a group of (period, account) rows ``u`` (definitions in ``usage_by_period``)."""
    days = cast(days, Float)
    return [func.count(), func.sum(u.user_days) / days, func.sum(u.peak_users),
            func.avg(cast(u.user_days, Float) / days / func.nullif(u.peak_users, 0)),
            func.sum(u.sessions), func.sum(u.page_views), func.sum(u.unique_visitors),
            func.sum(case((u.feature_events > 0, 1), else_=0))]


def _assemble(periods: list[Period], usage: pd.DataFrame, new: pd.DataFrame, segment: str | None) -> pd.DataFrame:
    """Both frames on one grid: every period x every segment value seen (zeros where nothing happened)."""
    for table in (usage, new):  # SQLite hands dates back as text here
        table["period_start"] = pd.to_datetime(table["period_start"]).dt.date
    values = sorted(set(usage["segment"]) | set(new["segment"])) if segment is not None else [ALL]
    grid = pd.MultiIndex.from_product([[p.start for p in periods], values], names=["period_start", "segment"])
    out = (pd.DataFrame(index=grid).join(usage.set_index(["period_start", "segment"]), how="left")
           .join(new.set_index(["period_start", "segment"]), how="left").reset_index())
    counts = ["active_accounts", "period_active_users", "sessions", "page_views", "unique_visitors", "new_users",
              "adopting_accounts"]
    for name in counts:
        out[name] = pd.to_numeric(out[name]).astype("float64").fillna(0).round().astype("int64")
    out["dau"] = pd.to_numeric(out["dau"]).astype("float64").fillna(0.0)
    active = out["active_accounts"].astype("float64")
    out["stickiness"] = pd.to_numeric(out["stickiness"]).astype("float64").where(active > 0)
    out["feature_adoption"] = out["adopting_accounts"] / active.where(active != 0)
    out["period"] = out["period_start"].map({p.start: p.label for p in periods})
    out = out[COLUMNS]
    out.attrs = {"grain": periods[0].grain.value, "segment": segment or ALL,
                 "source": "usage_periods"}
    return out
