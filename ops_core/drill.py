"""The rows behind a level-1 number: for each metric, the lists of customers or contracts that make its
numerator and denominator move, each row with the movement that put it there.

- ARR, NRR, GRR, expansion rate and the MRR movements: the customers of each MRR movement of the
  period (``indicators.movement_customers``): new, expansion, reactivation, contraction, churn.
- Logo churn: the customers lost (the churn movement), against the customers paying at the start.
- Renewal rate (by count or ARR): the contracts due in the period and whether and how each renewed:
  renewed (larger, the same, smaller) or not (yet) by the as-of day.
- Activity rate: the paying accounts without any usage in the period, with their last active month.

Everything is one SQL query per list; money in cents (the presentation layer shows yuan).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, and_, func, select

from ops_core import indicators
from ops_core.db.models import TABLES
from ops_core.db.queries import dates_table, frame_of, month_end, month_starts
from ops_core.filters import Filters
from ops_core.overview import annualised_cents, in_force
from ops_core.periods import Period, add_months

contracts, customers = TABLES["contracts"], TABLES["customers"]
usage_monthly = TABLES["usage_monthly"]

# metric -> the lists behind it, in the order a reader opens them
LISTS: dict[str, tuple[str, ...]] = {
    "arr": ("new", "expansion", "reactivation", "contraction", "churn"),
    "nrr": ("expansion", "contraction", "churn"),
    "grr": ("contraction", "churn"),
    "logo_churn": ("churn",),
    "customers_churned": ("churn",),
    "expansion_rate": ("expansion",),
    "mrr_new": ("new",), "mrr_expansion": ("expansion",), "mrr_reactivation": ("reactivation",),
    "mrr_contraction": ("contraction",), "mrr_churn": ("churn",),
    "renewal_rate": ("renewals",), "renewal_rate_arr": ("renewals",), "renewals_due": ("renewals",),
    "activity_rate": ("inactive",), "paying_accounts": ("inactive",), "active_accounts": ("inactive",),
}
RENEWAL_OUTCOMES = ("larger", "same", "smaller", "not_renewed")


def lists_for(metric: str) -> tuple[str, ...]:
    return LISTS.get(metric, ())


def rows(conn: Connection, name: str, period: Period, filters: Filters | None = None,
         segment: str | None = None, value: str | None = None, as_of: dt.date | None = None) -> pd.DataFrame:
    """One list behind a number (``LISTS``' names), for the period and, optionally, one segment value."""
    if name in indicators.MOVEMENTS:
        return indicators.movement_customers(conn, period, name, filters, segment, value)
    if name == "renewals":
        return renewals(conn, period, filters, as_of or period.end)
    if name == "inactive":
        return inactive_accounts(conn, period, filters)
    raise ValueError(f"no list named '{name}'")


def renewals(conn: Connection, period: Period, filters: Filters | None, as_of: dt.date) -> pd.DataFrame:
    """The contracts due in ``period`` (end date inside it; add-ons roll into their main contract's
    renewal) and how each renewed by ``as_of``: the renewal's code and ARR and the outcome, largest
    ARR first. Columns: contract_code, customer_code, customer_name, end_date, arr_cents, renewal_code,
    renewal_arr_cents, arr_change_cents, outcome (larger / same / smaller / not_renewed)."""
    renewal = contracts.alias("renewal")
    renewal_arr = (select(renewal.c.renewal_of_id, func.min(renewal.c.code).label("code"),
                          func.sum(renewal.c.unrounded_mrr * 12.0).label("arr"))
                   .where(renewal.c.signed_on <= as_of).group_by(renewal.c.renewal_of_id).subquery("renewed"))
    query = (select(contracts.c.code.label("contract_code"), customers.c.code.label("customer_code"), customers.c.name.label("customer_name"),
                    contracts.c.end_date, annualised_cents().label("arr"), renewal_arr.c.code.label("renewal_code"),
                    renewal_arr.c.arr.label("renewal_arr"))
             .select_from(contracts.join(customers, customers.c.id == contracts.c.customer_id)
                          .outerjoin(renewal_arr, renewal_arr.c.renewal_of_id == contracts.c.id))
             .where(indicators.due_for_renewal(period.start, period.end))
             .order_by(annualised_cents().desc(), contracts.c.code))  # largest first
    if filters is not None:
        query = query.where(filters.customer_clause(customers))
    frame = frame_of(conn.execute(query).all(),
                     columns=["contract_code", "customer_code", "customer_name", "end_date", "arr", "renewal_code",
                              "renewal_arr"])
    frame["arr_cents"] = frame["arr"].astype(float).round().astype("int64")
    renewed = frame["renewal_code"].notna()
    frame["renewal_arr_cents"] = frame["renewal_arr"].astype(float).round().astype("Int64").where(renewed)
    frame["arr_change_cents"] = (frame["renewal_arr_cents"] - frame["arr_cents"]).where(renewed)
    # Whole yuan decide "the same": a flat renewal re-priced by a few cents of rounding is not a change.
    change = frame["arr_change_cents"].astype("Float64")
    frame["outcome"] = pd.Series("not_renewed", index=frame.index, dtype=object)
    frame.loc[renewed & (change >= 100), "outcome"] = "larger"
    frame.loc[renewed & (change <= -100), "outcome"] = "smaller"
    frame.loc[renewed & (change.abs() < 100), "outcome"] = "same"
    return frame[["contract_code", "customer_code", "customer_name", "end_date", "arr_cents", "renewal_code",
                  "renewal_arr_cents", "arr_change_cents", "outcome"]]


def inactive_accounts(conn: Connection, period: Period, filters: Filters | None) -> pd.DataFrame:
    """The customers paying at the end of ``period`` without any usage in it (the activity rate's
    denominator less its numerator), largest MRR first, with the last month they used the product.
    Columns: code, name, industry, end_mrr (cents), last_active (first day of a month, or empty)."""
    paying = (select(contracts.c.customer_id, func.sum(contracts.c.unrounded_mrr).label("mrr"))
              .where(in_force(period.end)).group_by(contracts.c.customer_id)
              .having(func.sum(contracts.c.unrounded_mrr) >= 0.5).subquery("paying"))
    used = indicators.used_in(paying.c.customer_id, period.start, period.end, period.grain)
    last = (select(func.max(usage_monthly.c.month)).where(usage_monthly.c.customer_id == paying.c.customer_id,
                                                          usage_monthly.c.month <= period.end).scalar_subquery())
    query = (select(customers.c.code, customers.c.name, customers.c.industry, paying.c.mrr, last.label("last_active"))
             .select_from(paying.join(customers, customers.c.id == paying.c.customer_id))
             .where(~used).order_by(paying.c.mrr.desc(), customers.c.code))
    if filters is not None:
        query = query.where(filters.customer_clause(customers))
    frame = frame_of(conn.execute(query).all(), columns=["code", "name", "industry", "mrr", "last_active"])
    frame["end_mrr"] = frame["mrr"].astype(float).round().astype("int64")
    frame["last_active"] = pd.to_datetime(frame["last_active"]).dt.date
    return frame.drop(columns="mrr")[["code", "name", "industry", "end_mrr", "last_active"]]


def trailing_retention(conn: Connection, period: Period, filters: Filters | None = None) -> dict[str, object]:
    """NRR and GRR over the twelve months that end with ``period``: the customers paying on the day
    before them, their MRR then against their MRR at the period's end (the bridge's own definitions
    over one twelve-month span). Keys: start, end, nrr, grr (NaN when nobody paid at the start)."""
    end = period.end
    try:
        start = dt.date(end.year - 1, end.month, end.day) + dt.timedelta(days=1)
    except ValueError:  # 29 February: a year before has none
        start = dt.date(end.year - 1, 3, 1)
    bridge = indicators.mrr_movements(conn, [Period(start, end, period.grain)], filters)
    row = indicators.with_retention(bridge, start="start_mrr").iloc[0]
    return {"start": start, "end": end, "nrr": float(row["nrr"]), "grr": float(row["grr"])}


def customer_timeline(conn: Connection, code: str, last: Period, months: int = 24) -> pd.DataFrame:
    """One customer's MRR at each of the ``months`` month ends up to ``last`` (cents; 0 when nothing was in
    force), one query over its contracts. Columns: month (first day), mrr."""
    first = add_months(last.end.replace(day=1), -(months - 1))
    ends = [month_end(m) for m in month_starts(first, last.end)]
    day = dates_table(ends, "day")
    query = (select(day.c.day, func.coalesce(func.sum(contracts.c.unrounded_mrr), 0.0))
             .select_from(day.outerjoin(contracts.join(customers, customers.c.id == contracts.c.customer_id),
                                        and_(customers.c.code == code, contracts.c.start_date <= day.c.day,
                                             contracts.c.end_date >= day.c.day)))
             .group_by(day.c.day).order_by(day.c.day))
    found = dict((str(d)[:10], float(v)) for d, v in conn.execute(query).all())
    return pd.DataFrame({"month": [e.replace(day=1) for e in ends],
                         "mrr": [round(found.get(e.isoformat(), 0.0)) for e in ends]})


WATERFALL = ("start_mrr", "new", "expansion", "reactivation", "contraction", "churn", "end_mrr")


def waterfall(bridge: pd.Series) -> pd.DataFrame:
    """A period's MRR bridge (a row of ``indicators.mrr_movements``) as waterfall bars: each step with
    the level it starts and ends at (cents), the start and end bars from zero, the movements floating.
    Columns: step, low, high, amount (signed), kind ("level", "up", "down")."""
    level, out = 0, []
    for step in WATERFALL:
        amount = int(bridge[step])
        if step in ("start_mrr", "end_mrr"):
            out.append((step, 0, amount, amount, "level"))
            level = amount
            continue
        signed = -amount if step in ("contraction", "churn") else amount
        out.append((step, min(level, level + signed), max(level, level + signed), signed, "down" if signed < 0 else "up"))
        level += signed
    return pd.DataFrame(out, columns=["step", "low", "high", "amount", "kind"])


def outcome_counts(renewal_rows: pd.DataFrame) -> dict[str, int]:
    """How many contracts of a renewals list ended each way (every outcome present, 0 when none)."""
    counted = renewal_rows["outcome"].value_counts()
    return {o: int(counted.get(o, 0)) for o in RENEWAL_OUTCOMES}

