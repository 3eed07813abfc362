"""The home page's numbers and the small summaries shown by pages whose full feature is pending.

Every figure is one SQL aggregation over indexed columns or roll-up tables; nothing loops over
customers in Python. A contract's MRR is its amount over its term in months (``monthly_cents``), its
ARR 12 × that; the ARR of a day sums the contracts in force that day (``end_date`` inclusive).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, and_, distinct, func, literal, select, union_all

from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of, month_end, month_starts
from ops_core.filters import Filters

customers = TABLES["customers"]
contracts = TABLES["contracts"]
invoices = TABLES["invoices"]
payments = TABLES["payments"]
usage_monthly = TABLES["usage_monthly"]
usage_totals = TABLES["usage_totals"]
feedback = TABLES["feedback"]
demands = TABLES["demands"]
events = TABLES["events"]
event_costs = TABLES["event_costs"]
lead_touches = TABLES["lead_touches"]
csms = TABLES["csms"]

OPEN_FEEDBACK = ("new", "triaged", "in_progress")
DEMANDS_IN_FLIGHT = ("evaluating", "planned", "in_development", "testing")


def monthly_cents():
    """SQL for a contract's MRR in cents (float; sums are rounded at the end): its amount over its term in
    months, whole months from the start day and a partial month by its share of days (``term_months``),
    so a flat renewal, leap year or not, is no movement. A contract that starts and ends within one
    calendar month counts for nothing, as ProfitWell leaves out a sign-up that churns the same month.
    Stored per contract (``contracts.unrounded_mrr``, db.queries.contract_mrr), so a query reads, never recomputes, it."""
    return contracts.c.unrounded_mrr


def annualised_cents():
    """SQL for a contract's ARR in cents: 12 × its MRR (``monthly_cents``)."""
    return monthly_cents() * 12.0


def in_force(day):
    """SQL: the contract runs on ``day`` (both ends inclusive); every "active contract" count uses it."""
    return and_(contracts.c.start_date <= day, contracts.c.end_date >= day)


def headline(conn: Connection, filters: Filters, as_of: dt.date) -> dict[str, int]:
    """Counts and money (cents) for the home page's metric row, for the filtered customers."""
    chosen = filters.customer_clause(customers)
    n_customers = conn.execute(select(func.count()).select_from(customers).where(chosen)).scalar_one()
    arr_row = conn.execute(
        select(func.count(distinct(contracts.c.customer_id)), func.coalesce(func.sum(annualised_cents()), 0))
        .select_from(contracts.join(customers, customers.c.id == contracts.c.customer_id))
        .where(chosen, in_force(as_of))
    ).one()
    paid = (select(payments.c.invoice_id, func.sum(payments.c.amount_cents).label("paid"))
            .where(payments.c.paid_on <= as_of).group_by(payments.c.invoice_id).subquery())
    outstanding = invoices.c.amount_cents - func.coalesce(paid.c.paid, 0)
    overdue = conn.execute(
        select(func.coalesce(func.sum(outstanding), 0))
        .select_from(invoices.outerjoin(paid, paid.c.invoice_id == invoices.c.id)
                     .join(customers, customers.c.id == invoices.c.customer_id))
        .where(chosen, invoices.c.due_on < as_of, outstanding > 0)
    ).scalar_one()
    open_feedback = conn.execute(
        select(func.count()).select_from(feedback.join(customers, customers.c.id == feedback.c.customer_id))
        .where(chosen, feedback.c.status.in_(OPEN_FEEDBACK))
    ).scalar_one()
    in_flight = conn.execute(select(func.count()).select_from(demands).where(demands.c.status.in_(DEMANDS_IN_FLIGHT))).scalar_one()
    n_events = conn.execute(
        select(func.count()).select_from(events)
        .where(events.c.start_date >= filters.date_from, events.c.start_date <= filters.date_to)
    ).scalar_one()
    return {
        "customers": int(n_customers), "active_customers": int(arr_row[0]), "arr_cents": int(round(arr_row[1] or 0)),
        "overdue_cents": int(overdue or 0), "open_feedback": int(open_feedback), "open_demands": int(in_flight),
        "events": int(n_events),
    }


def monthly_trend(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Per month of the date range: accounts with any activity and ARR at month end, from the roll-ups
    (the company's totals, or the chosen customers' rows)."""
    from ops_core import indicators  # it reads this module's contract MRR: imported when called, not at the top

    months = month_starts(filters.date_from, filters.date_to)
    if indicators.restricts(filters):
        active = conn.execute(
            select(usage_monthly.c.month, func.count(distinct(usage_monthly.c.customer_id)),
                   func.sum(usage_monthly.c.page_views))
            .select_from(usage_monthly.join(customers, customers.c.id == usage_monthly.c.customer_id))
            .where(filters.customer_clause(customers), usage_monthly.c.month >= months[0], usage_monthly.c.month <= months[-1])
            .group_by(usage_monthly.c.month)
        ).all()
    else:
        active = conn.execute(select(usage_totals.c.period_start, usage_totals.c.accounts, usage_totals.c.page_views)
                              .where(usage_totals.c.grain == "month", usage_totals.c.period_start >= months[0],
                                     usage_totals.c.period_start <= months[-1], usage_totals.c.accounts > 0)).all()
    arr = indicators.levels(conn, [month_end(m) for m in months], filters, None)[["day", "arr"]]
    frame = pd.DataFrame({"month": pd.to_datetime(months)})
    usage = frame_of(active, columns=["month", "active_accounts", "page_views"])
    usage["month"] = pd.to_datetime(usage["month"])
    revenue = arr.rename(columns={"arr": "arr_cents"})
    revenue["month"] = pd.to_datetime(revenue["day"]).dt.to_period("M").dt.to_timestamp()
    frame = frame.merge(usage, on="month", how="left").merge(revenue[["month", "arr_cents"]], on="month", how="left")
    frame = frame.fillna(0)
    frame["active_accounts"] = frame["active_accounts"].astype("int64")
    frame["page_views"] = frame["page_views"].astype("int64")
    frame["arr"] = (frame["arr_cents"] / 100).round(2)
    return frame.drop(columns="arr_cents")


def by_industry(conn: Connection, filters: Filters, as_of: dt.date) -> pd.DataFrame:
    """Customers and ARR (in force on ``as_of``) per industry, largest ARR first."""
    chosen = filters.customer_clause(customers)
    arr = (select(contracts.c.customer_id, func.sum(annualised_cents()).label("arr_cents"))
           .where(in_force(as_of)).group_by(contracts.c.customer_id).subquery())
    rows = conn.execute(
        select(customers.c.industry, func.count(), func.coalesce(func.sum(arr.c.arr_cents), 0))
        .select_from(customers.outerjoin(arr, arr.c.customer_id == customers.c.id))
        .where(chosen).group_by(customers.c.industry)
    ).all()
    frame = frame_of(rows, columns=["industry", "customers", "arr_cents"])
    frame["arr_cents"] = frame["arr_cents"].astype(float).round().astype("int64")  # cents; the page shows yuan
    return frame.sort_values("arr_cents", ascending=False, ignore_index=True)


def count_by(conn: Connection, table_name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """Row counts of one table grouped by some of its columns (the pending pages' summaries)."""
    table = TABLES[table_name]
    keys = [table.c[c] for c in columns]
    rows = conn.execute(select(*keys, func.count().label("count")).group_by(*keys).order_by(*keys)).all()
    return frame_of(rows, columns=[*columns, "count"])


def events_summary(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Events in the date range by format and kind: how many, what they cost, how many leads they touched."""
    cost = select(event_costs.c.event_id, func.sum(event_costs.c.amount_cents).label("cost")).group_by(event_costs.c.event_id).subquery()
    leads = select(lead_touches.c.event_id, func.count(distinct(lead_touches.c.lead_id)).label("leads")).group_by(lead_touches.c.event_id).subquery()
    rows = conn.execute(
        select(events.c.format, events.c.kind, func.count(), func.coalesce(func.sum(cost.c.cost), 0),
               func.coalesce(func.sum(leads.c.leads), 0))
        .select_from(events.outerjoin(cost, cost.c.event_id == events.c.id).outerjoin(leads, leads.c.event_id == events.c.id))
        .where(events.c.start_date >= filters.date_from, events.c.start_date <= filters.date_to)
        .group_by(events.c.format, events.c.kind).order_by(events.c.format, events.c.kind)
    ).all()
    frame = frame_of(rows, columns=["format", "kind", "count", "cost_cents", "leads"])
    frame["cost"] = (frame["cost_cents"].astype(float) / 100).round(2)
    return frame.drop(columns="cost_cents")


def table_counts(conn: Connection) -> pd.DataFrame:
    """Rows in every table of the store, for the data page."""
    parts = [select(literal(name).label("table"), func.count().label("rows")).select_from(table)
             for name, table in sorted(TABLES.items())]

    return frame_of(conn.execute(union_all(*parts)).all(), columns=["table", "rows"])


def csm_names(conn: Connection) -> dict[int, str]:
    return dict(conn.execute(select(csms.c.id, csms.c.name).order_by(csms.c.name)).all())


def has_customers(conn: Connection) -> bool:
    return conn.execute(select(customers.c.id).limit(1)).first() is not None


def recent_changes(conn: Connection, limit: int = 50) -> pd.DataFrame:
    """The newest audit rows: who changed what, when."""
    audit = TABLES["audit_log"]
    rows = conn.execute(select(audit.c.at, audit.c.actor, audit.c.action, audit.c.entity, audit.c.entity_id)
                        .order_by(audit.c.id.desc()).limit(limit)).all()
    return frame_of(rows, columns=["at", "actor", "action", "entity", "entity_id"])
