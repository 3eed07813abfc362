"""The bulk loader writes what the ORM reads back, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, inspect, select, text

from ops_core import writes
from ops_core.db import bulk
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES, Contact, Customer
from ops_core.db.rollups import refresh_usage_monthly

CUSTOMER_COLUMNS = ("id", "code", "name", "industry", "region", "size_band", "employees", "fortune500", "listed",
                    "high_valuation", "partnership_level", "reference_case", "demand_type", "competitor_price_cut",
                    "created_on", "version")


def _customer(i: int, name: str) -> tuple:
    return (i, f"B{i:03d}", name, "energy", "overseas", "small", 120, i % 2 == 0, False, True, "gold", False,
            "standard", False, "2024-02-29", 1)


def test_bulk_rows_read_back_with_their_types(fresh_engine: Engine) -> None:
    tricky = "Tab\there, back\\slash\nnew line 中文"
    with fresh_engine.begin() as conn:
        bulk.bulk_insert(conn, "customers", CUSTOMER_COLUMNS, [_customer(1, tricky), _customer(2, "Plain Ltd")])
        bulk.bulk_insert(conn, "contacts", ("id", "customer_id", "name", "role", "is_key", "start_date", "end_date", "version"),
                         [(1, 1, "王芳", "boss", True, "2024-03-01", None, 1), (2, 2, "Emma Clark", "user", False, dt.date(2024, 3, 2), "2025-01-31", 1)])
        bulk.bulk_insert(conn, "demands", ("id", "title", "source", "status", "urgency", "created_at", "version"),
                         [(1, "Export", "internal", "backlog", 2, "2024-05-06 07:08:09", 1)])
    with transaction(fresh_engine) as session:
        first, second = session.scalars(select(Customer).order_by(Customer.id)).all()
        assert first.name == tricky
        assert first.created_on == dt.date(2024, 2, 29)
        assert first.fortune500 is False and second.fortune500 is True and first.high_valuation is True
        contacts = session.scalars(select(Contact).order_by(Contact.id)).all()
        assert contacts[0].is_key is True and contacts[0].end_date is None
        assert contacts[1].start_date == dt.date(2024, 3, 2) and contacts[1].end_date == dt.date(2025, 1, 31)
        created = session.execute(select(TABLES["demands"].c.created_at)).scalar_one()
        assert created == dt.datetime(2024, 5, 6, 7, 8, 9)


def test_sequences_move_past_explicit_ids(fresh_engine: Engine) -> None:
    with fresh_engine.begin() as conn:
        bulk.bulk_insert(conn, "csms", ("id", "name", "level", "active", "version"), [(7, "A", "senior", True, 1)])
        bulk.reset_sequences(conn, ["csms"])
    with transaction(fresh_engine) as session:
        made = writes.create(session, writes.LOCAL_ADMIN, "csms", {"name": "B", "level": "ordinary"})
    assert made["id"] == 8


def test_secondary_indexes_are_dropped_and_rebuilt_from_the_metadata(fresh_engine: Engine) -> None:
    def names() -> set[str]:
        return {ix["name"] for ix in inspect(fresh_engine).get_indexes("usage_daily")}

    assert "ix_usage_daily_day" in names()
    with fresh_engine.begin() as conn:
        dropped = bulk.drop_secondary_indexes(conn, "usage_daily")
    assert "ix_usage_daily_day" not in names()
    with fresh_engine.begin() as conn:
        bulk.create_indexes(conn, dropped)
    assert "ix_usage_daily_day" in names()


def test_a_failed_load_leaves_the_indexes_in_place(fresh_engine: Engine) -> None:
    try:
        with fresh_engine.begin() as conn:
            bulk.begin_sqlite_transaction(conn)
            bulk.drop_secondary_indexes(conn, "usage_daily")
            raise RuntimeError("load failed")
    except RuntimeError:
        pass
    assert "ix_usage_daily_day" in {ix["name"] for ix in inspect(fresh_engine).get_indexes("usage_daily")}


def test_monthly_roll_up_sums_days_by_calendar_month(fresh_engine: Engine) -> None:
    with fresh_engine.begin() as conn:
        bulk.bulk_insert(conn, "customers", CUSTOMER_COLUMNS, [_customer(1, "A"), _customer(2, "B")])
        cols = ("customer_id", "day", "active_users", "sessions", "page_views", "unique_visitors", "feature_events")
        bulk.bulk_insert(conn, "usage_daily", cols, [
            (1, "2024-01-30", 3, 4, 10, 3, 1), (1, "2024-01-31", 5, 6, 20, 6, 2),  # January: 2 days, 8 user-days, peak 5
            (1, "2024-02-01", 2, 2, 5, 2, 0), (2, "2024-02-01", 7, 9, 30, 8, 4),
        ])
        assert refresh_usage_monthly(conn) == 3
        assert refresh_usage_monthly(conn, customer_ids=[2]) == 1
        rows = conn.execute(text("SELECT customer_id, month, active_days, active_user_days, peak_active_users, sessions, "
                                 "page_views FROM usage_monthly ORDER BY customer_id, month")).all()
    got = [(r[0], str(r[1])[:10], *r[2:]) for r in rows]
    assert got == [(1, "2024-01-01", 2, 8, 5, 10, 30), (1, "2024-02-01", 1, 2, 2, 2, 5), (2, "2024-02-01", 1, 7, 7, 9, 30)]
