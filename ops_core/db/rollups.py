"""Roll-up tables rebuilt after every load: pages read these, never the daily history.

Monthly usage over millions of daily rows costs seconds; the same from the roll-up costs a
fraction of one (STACK-NOTES.md, "Bulk loading and aggregation").
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, func, insert, select

from ops_core.db.models import TABLES
from ops_core.db.queries import month_start

_ID_CHUNK = 10_000  # stays under SQLite's bound-parameter limit


def refresh_usage_monthly(conn: Connection, customer_ids: Iterable[int] | None = None) -> int:
    """Rebuild ``usage_monthly`` from ``usage_daily`` (all accounts, or only ``customer_ids``).

    One DELETE and one INSERT ... SELECT ... GROUP BY per chunk of ids, in the caller's transaction.
    Returns the number of roll-up rows written.
    """
    daily, monthly = TABLES["usage_daily"], TABLES["usage_monthly"]
    month = month_start(daily.c.day).label("month")
    query = select(
        daily.c.customer_id,
        month,
        func.count().label("active_days"),
        func.sum(daily.c.active_users),
        func.max(daily.c.active_users),
        func.sum(daily.c.sessions),
        func.sum(daily.c.page_views),
        func.sum(daily.c.unique_visitors),
        func.sum(daily.c.feature_events),
    ).group_by(daily.c.customer_id, month)
    target = ["customer_id", "month", "active_days", "active_user_days", "peak_active_users", "sessions",
              "page_views", "unique_visitors", "feature_events"]
    # Counted afterwards: the drivers do not agree on rowcount for INSERT ... SELECT.
    count = select(func.count()).select_from(monthly)
    if customer_ids is None:
        conn.execute(delete(monthly))
        conn.execute(insert(monthly).from_select(target, query))
        return conn.execute(count).scalar_one()
    ids = sorted(set(customer_ids))
    written = 0
    for start in range(0, len(ids), _ID_CHUNK):
        part = ids[start:start + _ID_CHUNK]
        conn.execute(delete(monthly).where(monthly.c.customer_id.in_(part)))
        conn.execute(insert(monthly).from_select(target, query.where(daily.c.customer_id.in_(part))))
        written += conn.execute(count.where(monthly.c.customer_id.in_(part))).scalar_one()
    return written
