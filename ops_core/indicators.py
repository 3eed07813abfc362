"""Level-1 business indicators per period and segment: the MRR bridge, NRR, GRR, logo churn,
renewal, expansion, repurchase and activity rates, and the customers behind each MRR movement.

Shared definitions (the same in every module): a contract's MRR is its amount over its term in
months (``overview.monthly_cents``: whole months from the start day, a partial month by its share of
days, so a flat renewal is no movement; nothing for a contract inside one calendar month), ARR = 12 ×
MRR; a unit's MRR at a day is the sum over its contracts in force that day. The unit is the customer, or (customer, product line) for the ``product_line`` segment. A
period's start MRR is the MRR on the day before its first day, its end MRR the MRR on its last day.

Everything is aggregated in the database, one query for SQLite and PostgreSQL: a small calendar
of periods (one row each, with its boundary days) is joined to the contracts overlapping each
period, which gives every unit's start and end MRR in one pass; the movement is a CASE on those
two numbers and the sums come back one row per period and segment. No per-customer row reaches
pandas (except in ``movement_customers``, which lists one movement of one period on purpose).

Rounding: a unit's MRR is rounded to a whole cent before it is classified, so every movement,
every bridge and every drill-down list add up exactly in integers. ``arr`` is rounded once, from
the unrounded annual values, so it equals the home page's ARR; it may differ from 12 × ``mrr_end``
by up to 6 cents per paying unit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Date,
    Float,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    union_all,
)

from ops_core.db.models import TABLES
from ops_core.db.queries import days_between, frame_of, round_half_up, rows_table
from ops_core.db.rollups import WHOLE_CUSTOMER, change_sums
from ops_core.errors import UsageError
from ops_core.filters import SEGMENT_FIELDS, Filters
from ops_core.overview import annualised_cents, in_force
from ops_core.periods import Period
from ops_core.vocab import NO_CSM, UNSCORED, Grain

customers = TABLES["customers"]
contracts = TABLES["contracts"]
csms = TABLES["csms"]
score_snapshots = TABLES["score_snapshots"]
usage_daily = TABLES["usage_daily"]
usage_monthly = TABLES["usage_monthly"]
usage_periods = TABLES["usage_periods"]
usage_totals = TABLES["usage_totals"]
mrr_changes = TABLES["mrr_changes"]
mrr_totals = TABLES["mrr_totals"]
mrr_segment_totals = TABLES["mrr_segment_totals"]

SEGMENTS = ("industry", "region", "size_band", "csm", "product_line", "tier")
MOVEMENTS = ("new", "expansion", "reactivation", "contraction", "churn")
ALL = "all"                # the segment value when no segment is asked for
REPURCHASE_WINDOW_DAYS = 365


def pending_until(metric: str, value: float | None, period_end: dt.date) -> dt.date | None:
    """The day a metric with no value yet for a period becomes known, or None: a repurchase rate waits
    for its window to close after the period (a first order's next year), every other n/a is final."""
    if metric != "repurchase_rate" or (value is not None and value == value):
        return None
    return period_end + dt.timedelta(days=REPURCHASE_WINDOW_DAYS)

_BRIDGE_MONEY = ("start_mrr", "new", "expansion", "reactivation", "contraction", "churn", "end_mrr")
_BRIDGE_COUNTS = ("customers_start", "customers_end", "customers_new", "customers_reactivated",
                  "customers_expanded", "customers_contracted", "customers_churned")


# --- building blocks -------------------------------------------------------------------------------


def _check(periods: Sequence[Period], segment: str | None) -> None:
    if not periods:
        raise UsageError("no periods given: pass at least one Period")
    if segment is not None and segment not in SEGMENTS:
        raise UsageError(f"unknown segment '{segment}'; choose one of {', '.join(SEGMENTS)}")


def _calendar(periods: Sequence[Period]) -> Subquery:
    """One row per period: its index in ``periods``, the day before it, its first and last day."""
    return rows_table(
        (("idx", Integer()), ("p_before", Date()), ("p_first", Date()), ("p_last", Date())),
        [(i, p.start - dt.timedelta(days=1), p.start, p.end) for i, p in enumerate(periods)],
        "cal",
    )


def restricts(filters: Filters | None) -> bool:
    """Whether the filters leave out any customer (the date range does not: periods are explicit)."""
    return filters is not None and any(getattr(filters, spec.name) for spec in SEGMENT_FIELDS)


def tier_at(customer_id: ColumnElement[int], day: ColumnElement[dt.date]) -> ColumnElement[str]:
    """The tier of the customer's newest score snapshot dated on or before ``day`` ("unscored" if none):
    the tier segment of every indicator (``usage`` reads it too)."""
    newest = (select(score_snapshots.c.tier)
              .where(score_snapshots.c.customer_id == customer_id, score_snapshots.c.month <= day)
              .order_by(score_snapshots.c.month.desc()).limit(1).scalar_subquery())
    return func.coalesce(newest, UNSCORED)


def add_segment(query: Select, segment: str | None, customer_id: ColumnElement[int],
                 product_line: ColumnElement[str] | None, day: ColumnElement[dt.date], filters: Filters | None) -> Select:
    """``query`` (row level) with a ``segment`` column and the filters, joining only what they need."""
    joined = segment in ("industry", "region", "size_band", "csm") or restricts(filters)
    if joined:
        query = query.join(customers, customers.c.id == customer_id)
    if restricts(filters):
        query = query.where(filters.customer_clause(customers))
    if segment is None:
        value = literal(ALL)
    elif segment == "product_line":
        value = product_line
    elif segment == "tier":
        value = tier_at(customer_id, day)
    elif segment == "csm":
        query = query.outerjoin(csms, csms.c.id == customers.c.csm_id)
        value = func.coalesce(csms.c.name, NO_CSM)
    else:
        value = customers.c[segment]
    return query.add_columns(value.label("segment"))


def _units(cal: Subquery, filters: Filters | None, segment: str | None) -> Subquery:
    """Every unit with a contract overlapping a period: its start and end MRR (whole cents) there.

    Columns: idx, p_first, p_last, customer_id, product_line (NULL unless segment is product_line),
    start_mrr, end_mrr, end_arr (unrounded), segment. A unit whose contracts all start and end
    inside the period comes out with 0 and 0 and counts nowhere.
    """
    by_line = segment == "product_line"
    keys = [contracts.c.customer_id] + ([contracts.c.product_line] if by_line else [])
    annual = annualised_cents()
    start_arr = func.sum(case((in_force(cal.c.p_before), annual), else_=0.0))
    end_arr = func.sum(case((in_force(cal.c.p_last), annual), else_=0.0))
    overlap = (
        # Rounded here, in the grouped query, so each unit's MRR is computed once (an outer query
        # referring to it many times would otherwise repeat the expression on SQLite).
        select(cal.c.idx, cal.c.p_first, cal.c.p_last, *keys,
               round_half_up(start_arr / 12.0).label("start_mrr"), round_half_up(end_arr / 12.0).label("end_mrr"),
               end_arr.label("end_arr"))
        # One pass over the contracts overlapping each period (indexed start/end dates) gives both boundaries.
        .select_from(cal.join(contracts, and_(contracts.c.start_date <= cal.c.p_last,
                                              contracts.c.end_date >= cal.c.p_before)))
        .group_by(cal.c.idx, cal.c.p_first, cal.c.p_last, *keys)
    )
    if restricts(filters):
        overlap = overlap.join(customers, customers.c.id == contracts.c.customer_id).where(filters.customer_clause(customers))
    base = overlap.subquery("overlap")
    line = base.c.product_line if by_line else literal(None, contracts.c.product_line.type)
    rows = select(base.c.idx, base.c.p_first, base.c.p_last, base.c.customer_id, line.label("product_line"),
                  base.c.start_mrr, base.c.end_mrr, base.c.end_arr).select_from(base)
    # The filters were applied above; the segment needs only its own columns here.
    return add_segment(rows, segment, base.c.customer_id, line, base.c.p_last, None).subquery("units")


def _had_contract_before(units: Subquery, by_line: bool) -> ColumnElement[bool]:
    """Whether the unit had a contract in force on some day before its period: one that started
    before the period's first day was in force on its start day."""
    earlier = contracts.alias("earlier")
    return exists().where(earlier.c.customer_id == units.c.customer_id, earlier.c.start_date < units.c.p_first,
                          *([earlier.c.product_line == units.c.product_line] if by_line else []))


def _movement(units: Subquery, by_line: bool) -> ColumnElement[str]:
    """The unit's MRR movement in its period (NULL: unchanged, or in and out within the period)."""
    start, end = units.c.start_mrr, units.c.end_mrr
    return case(
        (and_(start == 0, end > 0), case((_had_contract_before(units, by_line), "reactivation"), else_="new")),
        (and_(start > 0, end == 0), "churn"),  # a contraction to zero is churn
        (and_(start > 0, end > start), "expansion"),
        (and_(end > 0, end < start), "contraction"),
        else_=None,
    )


def used_in(customer_id: Any, first: Any, last: Any, grain: Grain) -> ColumnElement[bool]:
    """SQL: the customer used the product between ``first`` and ``last``: the monthly roll-up, or daily
    rows for a week. The activity rate's numerator and the drill-down's accounts without usage read it."""
    if grain is Grain.week:
        return exists().where(usage_daily.c.customer_id == customer_id, usage_daily.c.day >= first,
                              usage_daily.c.day <= last)
    return exists().where(usage_monthly.c.customer_id == customer_id, usage_monthly.c.month >= first,
                          usage_monthly.c.month <= last)


def due_for_renewal(first: Any, last: Any) -> ColumnElement[bool]:
    """SQL: the contract ends between ``first`` and ``last`` and is due for renewal. Add-ons are
    co-terminous with their main contract and roll into its renewal: never due on their own."""
    return and_(contracts.c.end_date >= first, contracts.c.end_date <= last, contracts.c.kind != "expansion")


def _int_sum(expr: ColumnElement[int]) -> ColumnElement[int]:
    # PostgreSQL sums BIGINT into NUMERIC; cast back so both engines return int.
    return cast(func.sum(expr), BigInteger)


def _total(condition: ColumnElement[bool], amount: ColumnElement[int] | int) -> ColumnElement[int]:
    return _int_sum(case((condition, amount), else_=0))


def _movement_sums(u: Subquery, by_line: bool) -> list[ColumnElement[int]]:
    """The five MRR movements and their customer counts over units ``u`` (start_mrr, end_mrr,
    customer_id, p_first, product_line), classified as ``mrr_movements`` says; both bridges sum these."""
    s, e = u.c.start_mrr, u.c.end_mrr
    arrived = and_(s == 0, e > 0)
    # The lookup of earlier contracts runs only for arrivals (nested CASE is evaluated lazily).
    fresh = case((arrived, case((_had_contract_before(u, by_line), 0), else_=1)), else_=0)
    return [
        _int_sum(fresh * e).label("new"),
        _total(and_(s > 0, e > s), e - s).label("expansion"),
        _int_sum((1 - fresh) * case((arrived, e), else_=0)).label("reactivation"),
        _total(and_(e > 0, e < s), s - e).label("contraction"),
        _total(and_(s > 0, e == 0), s).label("churn"),
        _int_sum(fresh).label("customers_new"), _total(arrived, 1 - fresh).label("customers_reactivated"),
        _total(and_(s > 0, e > s), 1).label("customers_expanded"), _total(and_(e > 0, e < s), 1).label("customers_contracted"),
        _total(and_(s > 0, e == 0), 1).label("customers_churned"),
    ]


def _bridge_frame(conn: Connection, periods: Sequence[Period], filters: Filters | None, segment: str | None,
                  activity: bool) -> pd.DataFrame:
    """The bridge per (idx, segment), plus arr and, when asked, paying and active accounts: from the
    roll-ups where the segment is a customer's own field, from the contracts otherwise (product line
    and tier change the unit or move with time)."""
    if segment in ROLLED_UP:
        return _bridge_from_rollups(conn, periods, filters, segment, activity)
    return _bridge_from_contracts(conn, periods, filters, segment, activity)


ROLLED_UP = (None, "industry", "region", "size_band", "csm")  # none, or a customer's own field: the roll-ups serve them
_LEVELS = ("mrr", "paying", "arr")


def levels(conn: Connection, days: Sequence[dt.date], filters: Filters | None, segment: str | None) -> pd.DataFrame:
    """Per (day of ``days``, segment): the MRR (cents), the paying customers and the unrounded ARR on
    that day, as running sums of the customers' changes up to it (``mrr_changes``)."""
    if segment is None and not restricts(filters):  # the whole company: its daily totals
        t = mrr_totals.c
        found = conn.execute(select(t.day, t.mrr, t.paying, t.arr, literal(ALL)).where(t.day <= max(days))).all()
    elif not restricts(filters):  # one of the customer's own fields: its totals per value
        found = _segment_totals(conn, segment, max(days))
    else:
        ch = mrr_changes.c
        rows = select(ch.day, *change_sums()).where(ch.product_line == WHOLE_CUSTOMER, ch.day <= max(days))
        rows = add_segment(rows, segment, ch.customer_id, None, None, filters)
        found = conn.execute(rows.group_by(ch.day, rows.selected_columns.segment)).all()
    if not found:
        return pd.DataFrame(columns=["day", "segment", *_LEVELS])
    deltas = frame_of(found, columns=["day", *_LEVELS, "segment"]).astype({"mrr": "int64", "paying": "int64", "arr": "float64"})
    deltas["day"] = pd.to_datetime(deltas["day"])
    deltas = deltas.sort_values("day", kind="stable")
    running = deltas.groupby("segment", sort=False)[list(_LEVELS)].cumsum().assign(day=deltas["day"], segment=deltas["segment"])
    asked = pd.MultiIndex.from_product([sorted(set(pd.to_datetime(list(days)))), sorted(set(deltas["segment"]))],
                                       names=["day", "segment"]).to_frame(index=False)
    at = pd.merge_asof(asked.sort_values("day"), running.sort_values("day"), on="day", by="segment", direction="backward")
    at[list(_LEVELS)] = at[list(_LEVELS)].fillna(0)
    at["day"] = at["day"].dt.date
    return at


def _segment_totals(conn: Connection, segment: str, last: dt.date) -> list[tuple]:
    """``mrr_segment_totals`` of one segment up to ``last``: (day, mrr, paying, arr, value) rows, a CSM by
    name as the bridge names it (two CSMs of one name are one value, none is NO_CSM)."""
    t = mrr_segment_totals.c
    found = conn.execute(select(t.day, t.mrr, t.paying, t.arr, t.value)
                         .where(t.dimension == segment, t.day <= last)).all()
    if segment != "csm":
        return found
    names = {str(i): name for i, name in conn.execute(select(csms.c.id, csms.c.name))}
    rows = frame_of(found, columns=["day", "mrr", "paying", "arr", "value"])
    rows["value"] = rows["value"].map(lambda v: names.get(v, NO_CSM))
    summed = rows.groupby(["day", "value"], as_index=False)[["mrr", "paying", "arr"]].sum()
    return list(summed[["day", "mrr", "paying", "arr", "value"]].itertuples(index=False, name=None))


def _moved_units(periods: Sequence[Period], filters: Filters | None, segment: str | None) -> Subquery:
    """The customers whose MRR changed inside each period, with their MRR the day before it and on its
    last day (before their first change in it, after their last): the only customers a bridge's
    movements can hold. A change that is its customer's only one in the period (most are) is read
    from its own row; only customers with several are grouped. Columns: idx, p_first, customer_id,
    product_line (NULL), start_mrr, end_mrr, segment."""
    cal = _calendar(periods)
    ch = mrr_changes.c
    source = cal.join(mrr_changes, and_(ch.product_line == WHOLE_CUSTOMER, ch.day > cal.c.p_before, ch.day <= cal.c.p_last))
    first = or_(ch.prev_day.is_(None), ch.prev_day <= cal.c.p_before)   # the customer's first change in the period
    final = or_(ch.next_day.is_(None), ch.next_day > cal.c.p_last)      # and its last
    keys = (cal.c.idx, cal.c.p_first, ch.customer_id)
    alone = select(*keys, ch.mrr_before.label("start_mrr"), ch.mrr_after.label("end_mrr")).select_from(source).where(first, final)
    several = (select(*keys, _int_sum(case((first, ch.mrr_before), else_=0)).label("start_mrr"),
                      _int_sum(case((final, ch.mrr_after), else_=0)).label("end_mrr"))
               .select_from(source).where(not_(and_(first, final))).group_by(*keys))
    changed = union_all(alone, several).subquery("changed")
    c = changed.c
    rows = select(c.idx, c.p_first, c.customer_id, literal(None, contracts.c.product_line.type).label("product_line"),
                  c.start_mrr, c.end_mrr).select_from(changed)
    return add_segment(rows, segment, c.customer_id, None, None, filters).subquery("moved")


def _bridge_from_rollups(conn: Connection, periods: Sequence[Period], filters: Filters | None, segment: str | None,
                         activity: bool) -> pd.DataFrame:
    """``_bridge_from_contracts``'s frame from the roll-ups: the levels at each period's ends are running
    sums of ``mrr_changes``, the movements come from the customers that changed inside the period, and
    the active paying accounts are counted in ``usage_periods``."""
    u = _moved_units(periods, filters, segment)
    columns = [u.c.idx, u.c.segment, *_movement_sums(u, by_line=False)]
    moved = frame_of(conn.execute(select(*columns).group_by(u.c.idx, u.c.segment)).all(), columns=[col.name for col in columns])
    ends = pd.DataFrame({"idx": range(len(periods)), "p_before": [p.start - dt.timedelta(days=1) for p in periods],
                         "p_last": [p.end for p in periods]})
    held = levels(conn, [*ends["p_before"], *ends["p_last"]], filters, segment)
    before = held.rename(columns={"day": "p_before", "mrr": "start_mrr", "paying": "customers_start"}).drop(columns="arr")
    after = held.rename(columns={"day": "p_last", "mrr": "end_mrr", "paying": "customers_end"})
    ends = ends.merge(before, on="p_before").merge(after, on=["p_last", "segment"]).drop(columns=["p_before", "p_last"])
    frame = ends.merge(moved, on=["idx", "segment"], how="outer").fillna(0)
    # A segment no customer of which paid at either end of any period, or moved in one, is not in the bridge.
    held = frame[["start_mrr", "end_mrr", "arr"]].ne(0).any(axis=1).groupby(frame["segment"]).transform("any")
    frame = frame[held | frame["segment"].isin(moved["segment"])]
    if activity:
        frame = frame.merge(_active_paying(conn, periods, filters, segment), on=["idx", "segment"], how="left").fillna(0)
        frame["paying_accounts"] = frame["customers_end"]
    return frame


def _active_paying(conn: Connection, periods: Sequence[Period], filters: Filters | None, segment: str | None) -> pd.DataFrame:
    """Per (idx, segment): the accounts paying at the period's end that used the product in it."""
    grain = _single_grain(periods)
    starts = [p.start for p in periods]
    if segment is None and not restricts(filters):  # the whole company: its usage totals
        t = usage_totals.c
        rows = select(t.period_start, t.paying, literal(ALL)).where(t.grain == grain.value, t.period_start.in_(starts))
        found = conn.execute(rows).all()
    else:
        up = usage_periods.c
        rows = select(up.period_start, func.count().label("active_accounts")).where(
            up.grain == grain.value, up.period_start.in_(starts), up.paying == true())
        rows = add_segment(rows, segment, up.customer_id, None, None, filters)
        found = conn.execute(rows.group_by(up.period_start, rows.selected_columns.segment)).all()
    found = frame_of(found, columns=["period_start", "active_accounts", "segment"])
    index = {p.start: i for i, p in enumerate(periods)}
    found["idx"] = pd.to_datetime(found["period_start"]).dt.date.map(index)
    return found[["idx", "segment", "active_accounts"]]


def _bridge_from_contracts(conn: Connection, periods: Sequence[Period], filters: Filters | None, segment: str | None,
                           activity: bool) -> pd.DataFrame:
    """The bridge per (idx, segment) joining every contract to every period it overlaps: the reference
    the roll-ups are held to (``tests/test_rollups.py``), and the path for product-line and tier segments."""
    u = _units(_calendar(periods), filters, segment)
    s, e = u.c.start_mrr, u.c.end_mrr
    columns = [
        u.c.idx, u.c.segment,
        _int_sum(s).label("start_mrr"), _int_sum(e).label("end_mrr"),
        _total(s > 0, 1).label("customers_start"), _total(e > 0, 1).label("customers_end"),
        *_movement_sums(u, by_line=segment == "product_line"),
        cast(func.sum(u.c.end_arr), Float).label("arr"),
    ]
    if activity:
        grain = _single_grain(periods)
        # Nested CASE: the usage lookup runs only for units paying at the end.
        used = case((e > 0, case((used_in(u.c.customer_id, u.c.p_first, u.c.p_last, grain), 1), else_=0)), else_=0)
        columns += [_total(e > 0, 1).label("paying_accounts"), _int_sum(used).label("active_accounts")]
    rows = conn.execute(select(*columns).group_by(u.c.idx, u.c.segment)).all()
    return frame_of(rows, columns=[col.name for col in columns])


def _single_grain(periods: Sequence[Period]) -> Grain:
    grains = {p.grain for p in periods}
    if len(grains) != 1:
        raise UsageError("periods of one call must share one grain (week, month or quarter)")
    return Grain(grains.pop())


def _renewals_frame(conn: Connection, periods: Sequence[Period], filters: Filters | None, segment: str | None,
                    as_of: dt.date) -> pd.DataFrame:
    """Contracts up for renewal per period (end_date inside it) and those renewed by ``as_of``."""
    cal = _calendar(periods)
    renewal = contracts.alias("renewal")
    renewed = exists().where(renewal.c.renewal_of_id == contracts.c.id, renewal.c.signed_on <= as_of)
    rows = (select(cal.c.idx, case((renewed, 1), else_=0).label("renewed"), annualised_cents().label("annual"))
            .select_from(cal.join(contracts, due_for_renewal(cal.c.p_first, cal.c.p_last))))
    due = add_segment(rows, segment, contracts.c.customer_id, contracts.c.product_line, cal.c.p_last, filters).subquery("due")
    columns = [
        due.c.idx, due.c.segment,
        func.count().label("renewals_due"), _int_sum(due.c.renewed).label("renewed"),
        cast(func.sum(due.c.annual), Float).label("renewals_due_arr"),
        cast(func.sum(case((due.c.renewed == 1, due.c.annual), else_=0.0)), Float).label("renewed_arr"),
    ]
    found = conn.execute(select(*columns).group_by(due.c.idx, due.c.segment)).all()
    return frame_of(found, columns=[col.name for col in columns])


def _repurchase_frame(conn: Connection, periods: Sequence[Period], filters: Filters | None, segment: str | None,
                      as_of: dt.date, window_days: int) -> pd.DataFrame:
    """Units whose first order falls in each period, and those that ordered again within the window."""
    cal = _calendar(periods)
    by_line = segment == "product_line"
    keys = [contracts.c.customer_id] + ([contracts.c.product_line] if by_line else [])
    first = select(*keys, func.min(contracts.c.signed_on).label("first_signed")).group_by(*keys).subquery("first_order")
    later = contracts.alias("later")
    # Contracts signed the same day as the first are one order; the next order must be signed by as_of.
    again = exists().where(later.c.customer_id == first.c.customer_id,
                           later.c.signed_on > first.c.first_signed, later.c.signed_on <= as_of,
                           days_between(first.c.first_signed, later.c.signed_on) <= window_days,
                           *([later.c.product_line == first.c.product_line] if by_line else []))
    rows = (select(cal.c.idx, case((again, 1), else_=0).label("repurchased"))
            .select_from(cal.join(first, and_(first.c.first_signed >= cal.c.p_first, first.c.first_signed <= cal.c.p_last))))
    line = first.c.product_line if by_line else None
    orders = add_segment(rows, segment, first.c.customer_id, line, cal.c.p_last, filters).subquery("orders")
    columns = [orders.c.idx, orders.c.segment, func.count().label("first_orders"),
               _int_sum(orders.c.repurchased).label("repurchased")]
    found = conn.execute(select(*columns).group_by(orders.c.idx, orders.c.segment)).all()
    return frame_of(found, columns=[col.name for col in columns])


def _on_grid(periods: Sequence[Period], segment: str | None, frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The frames merged on (idx, segment), completed to every period × every segment value seen
    (zeros where nothing happened), with the period label and first day in front."""
    values = sorted({v for f in frames for v in f["segment"]}) if segment is not None else [ALL]
    grid = pd.MultiIndex.from_product([range(len(periods)), values], names=["idx", "segment"])
    merged = pd.DataFrame(index=grid)
    for frame in frames:
        merged = merged.join(frame.set_index(["idx", "segment"]), how="left")
    merged = merged.fillna(0).reset_index()
    merged.insert(0, "period", [periods[i].label for i in merged["idx"]])
    merged.insert(1, "period_start", [periods[i].start for i in merged["idx"]])
    return merged.drop(columns="idx")


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0 (shown "n/a")."""
    den = denominator.astype(float)
    return numerator.astype(float) / den.where(den != 0, np.nan)


def with_retention(f: pd.DataFrame, start: str = "mrr_start") -> pd.DataFrame:
    """NRR and GRR with their numerators, from a bridge's ``start`` MRR and its movements (definitions
    in ``level1``): retained_mrr, lost_mrr, nrr, grr; NaN where nobody paid at the start."""
    retained = f[start] + f["expansion"] - f["contraction"] - f["churn"]
    lost = f["churn"] + f["contraction"]
    return f.assign(retained_mrr=retained, lost_mrr=lost, nrr=_ratio(retained, f[start]), grr=1 - _ratio(lost, f[start]))


def _as_int(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    for col in columns:
        frame[col] = frame[col].astype(float).round().astype("int64")
    return frame


# --- public API ------------------------------------------------------------------------------------


def mrr_movements(conn: Connection, periods: list[Period], filters: Filters | None = None,
                  segment: str | None = None) -> pd.DataFrame:
    """The MRR bridge per period (and segment value): End = Start + New + Expansion + Reactivation
    - Contraction - Churn, exactly, in cents.

    Per unit (customer; (customer, product line) for ``segment="product_line"``), comparing MRR the
    day before the period with MRR on its last day: 0 -> >0 is new if the unit never had a contract
    in force before the period, else reactivation; >0 -> >0 is expansion or contraction by the
    difference; >0 -> 0 is churn (a contraction to zero is churn); 0 -> 0 (in and out within the
    period) counts nowhere. ``segment`` is one of SEGMENTS or None ("all"); the tier segment uses the
    tier at the period's last day for both ends of that period, so a customer changing tier moves
    its MRR between rows from one period to the next but every row's bridge holds.

    Columns: period, period_start, segment, start_mrr, new, expansion, reactivation, contraction,
    churn, end_mrr (cents, int64), customers_start, customers_end, customers_new,
    customers_reactivated, customers_expanded, customers_contracted, customers_churned.
    """
    _check(periods, segment)
    frame = _on_grid(periods, segment, [_bridge_frame(conn, periods, filters, segment, activity=False)])
    frame = _as_int(frame, [*_BRIDGE_MONEY, *_BRIDGE_COUNTS])
    return frame[["period", "period_start", "segment", *_BRIDGE_MONEY, *_BRIDGE_COUNTS]]


# What level1 reads besides the MRR bridge, and the columns each gives: one metric's breakdown reads
# the bridge (it says which segments exist) and only the part its own columns come from.
LEVEL1_PARTS: dict[str, tuple[str, ...]] = {
    "activity": ("paying_accounts", "active_accounts"),
    "renewals": ("renewals_due", "renewed", "renewals_due_arr", "renewed_arr"),
    "orders": ("first_orders", "repurchased"),
}


def level1_parts_for(columns: Iterable[str | None]) -> tuple[str, ...]:
    """The parts of ``LEVEL1_PARTS`` whose columns, or the rates made of them, are among ``columns``."""
    made_of = {"activity_rate": "activity", "renewal_rate": "renewals", "renewal_rate_arr": "renewals",
               "repurchase_rate": "orders"}
    asked = set(columns)
    return tuple(part for part, given in LEVEL1_PARTS.items()
                 if asked & set(given) or any(made_of[rate] == part for rate in asked & made_of.keys()))


def level1(conn: Connection, periods: list[Period], filters: Filters | None = None, segment: str | None = None,
           as_of: dt.date | None = None, window_days: int = REPURCHASE_WINDOW_DAYS,
           parts: Iterable[str] = tuple(LEVEL1_PARTS)) -> pd.DataFrame:
    """The level-1 metrics per period (and segment value), each with its numerator and denominator.

    Three queries for any number of periods: the MRR bridge with ARR and activity, renewals,
    first orders. Definitions (MRR movements as in ``mrr_movements``; Start = start MRR):
    - ``arr``: annual value of the contracts in force on the period's last day (cents).
    - ``nrr`` (net revenue retention) = (Start + Expansion - Contraction - Churn) / Start, over the
      units paying at the start only: new and reactivated MRR are left out. Numerator ``retained_mrr``.
    - ``grr`` (gross revenue retention) = 1 - (Churn + Contraction) / Start; expansion is left out,
      so it is never above 1. Numerator ``lost_mrr`` = Churn + Contraction.
    - ``logo_churn`` = units churned / units paying at the start (``customers_churned`` /
      ``logo_count_start``); units that join and leave inside the period are in neither.
    - ``renewal_rate`` = ``renewed`` / ``renewals_due`` and ``renewal_rate_arr`` = ``renewed_arr`` /
      ``renewals_due_arr`` (ARR of the expiring contracts, so at most 1). Due: contracts whose
      end_date falls in the period, except add-ons (kind "expansion"), which end with their main
      contract and roll into its renewal (ops_core/demo.py), so they are never renewed on their own.
      Renewed: another contract with ``renewal_of_id`` pointing at it was signed by ``as_of``
      (default: the last period's end).
    - ``expansion_rate`` = Expansion / Start.
    - ``repurchase_rate`` = ``repurchased`` / ``first_orders``: units whose first contract was
      signed in the period, and of those the ones that signed another contract on a later day
      within ``window_days`` of the first and by ``as_of``. A period whose window has not closed by
      ``as_of`` (its last day + ``window_days`` after ``as_of``) has NaN for the rate ("n/a": it could
      only rise); its counts are still given.
    - ``activity_rate`` = ``active_accounts`` / ``paying_accounts``: units paying at the period's
      end whose customer has any usage in the period (monthly roll-up for months and quarters,
      daily rows for weeks).
    Every rate is NaN ("n/a") when its denominator is 0. ``filters`` restrict the customers; their
    date range is not used (the periods say when). ``parts``: which of ``LEVEL1_PARTS`` to read
    besides the bridge (the columns of the others, and their rates, are NaN).
    """
    _check(periods, segment)
    if window_days < 0:
        raise UsageError("window_days must be 0 or more")
    parts = set(parts)
    if parts - LEVEL1_PARTS.keys():
        raise UsageError(f"unknown level-1 part '{sorted(parts - LEVEL1_PARTS.keys())[0]}'")
    as_of = as_of or max(p.end for p in periods)
    frames = [_bridge_frame(conn, periods, filters, segment, activity="activity" in parts)]
    if "renewals" in parts:
        frames.append(_renewals_frame(conn, periods, filters, segment, as_of))
    if "orders" in parts:
        frames.append(_repurchase_frame(conn, periods, filters, segment, as_of, window_days))
    f = _on_grid(periods, segment, frames)
    f = _as_int(f, [*_BRIDGE_MONEY, *_BRIDGE_COUNTS, "arr", *(c for part in sorted(parts) for c in LEVEL1_PARTS[part])])
    for part in LEVEL1_PARTS.keys() - parts:
        f = f.assign(**{column: np.nan for column in LEVEL1_PARTS[part]})
    f = f.rename(columns={"start_mrr": "mrr_start", "end_mrr": "mrr_end", "customers_start": "logo_count_start",
                          "customers_end": "logo_count_end"})
    f = with_retention(f)
    f["logo_churn"] = _ratio(f["customers_churned"], f["logo_count_start"])
    f["renewal_rate"] = _ratio(f["renewed"], f["renewals_due"])
    f["renewal_rate_arr"] = _ratio(f["renewed_arr"], f["renewals_due_arr"])
    f["expansion_rate"] = _ratio(f["expansion"], f["mrr_start"])
    f["repurchase_rate"] = _ratio(f["repurchased"], f["first_orders"])
    # Not judged until its window has closed: a recent period's rate could only rise, so it is n/a.
    window_open = {p.label: p.end + dt.timedelta(days=window_days) > as_of for p in periods}
    f.loc[f["period"].map(window_open).astype(bool), "repurchase_rate"] = np.nan
    f["activity_rate"] = _ratio(f["active_accounts"], f["paying_accounts"])
    order = ["period", "period_start", "segment", "arr", "mrr_start", "mrr_end",
             "nrr", "retained_mrr", "grr", "lost_mrr", "new", "expansion", "reactivation", "contraction", "churn",
             "logo_churn", "customers_churned", "logo_count_start", "logo_count_end", "customers_new",
             "customers_reactivated", "customers_expanded", "customers_contracted",
             "renewal_rate", "renewed", "renewals_due", "renewal_rate_arr", "renewed_arr", "renewals_due_arr",
             "expansion_rate", "repurchase_rate", "repurchased", "first_orders",
             "activity_rate", "active_accounts", "paying_accounts"]
    return f[order]


def movement_customers(conn: Connection, period: Period, movement: str, filters: Filters | None = None,
                       segment: str | None = None, value: str | None = None) -> pd.DataFrame:
    """The customers behind one MRR movement of one period, largest change first: the drill-down.

    Columns: customer_id, code, name, industry, start_mrr, end_mrr, change (cents; negative for
    contraction and churn), plus ``segment`` when a segment is given (``value`` keeps one of its
    values). Their changes add up to the movement's figure in ``mrr_movements`` for the same
    arguments (contraction and churn with the sign turned).
    """
    _check([period], segment)
    if movement not in MOVEMENTS:
        raise UsageError(f"unknown movement '{movement}'; choose one of {', '.join(MOVEMENTS)}")
    # The customers that changed, from the roll-ups (one row each) where the segment is the customer's own.
    units = _moved_units([period], filters, segment) if segment in ROLLED_UP else _units(_calendar([period]), filters, segment)
    classified = select(units, _movement(units, segment == "product_line").label("movement")).subquery("classified")
    c = classified.c
    change = (c.end_mrr - c.start_mrr).label("change")
    extra = [c.segment] if segment is not None else []
    query = (select(customers.c.id.label("customer_id"), customers.c.code, customers.c.name, customers.c.industry,
                    *extra, c.start_mrr, c.end_mrr, change)
             .select_from(classified.join(customers, customers.c.id == c.customer_id))
             .where(c.movement == movement)
             .order_by(func.abs(c.end_mrr - c.start_mrr).desc(), customers.c.id))
    if segment is not None and value is not None:
        query = query.where(c.segment == value)
    rows = conn.execute(query).all()
    columns = ["customer_id", "code", "name", "industry", *(["segment"] if extra else []), "start_mrr", "end_mrr", "change"]
    frame = frame_of(rows, columns=columns)
    return _as_int(frame, ["customer_id", "start_mrr", "end_mrr", "change"])
