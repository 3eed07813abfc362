"""Home-page figures on a hand-built store, with the arithmetic written out."""
from __future__ import annotations

import datetime as dt

from ops_core import overview, writes
from ops_core.db.engine import transaction
from ops_core.filters import Filters
from tests.factories import make_customer

AS_OF = dt.date(2025, 6, 30)
D = dt.date


def contract(session, customer, code, start, end, amount_cents, **extra):
    return writes.create(session, writes.LOCAL_ADMIN, "contracts", {
        "code": code, "customer_id": customer["id"], "kind": "new", "product_line": "MES", "signed_on": start,
        "start_date": start, "end_date": end, "amount_cents": amount_cents} | extra)


def build(engine) -> dict:
    with transaction(engine) as s:
        energy = make_customer(s, industry="energy")
        retail = make_customer(s, industry="retail")
        make_customer(s, industry="retail")  # no contract at all
        contract(s, energy, "K1", D(2025, 1, 1), D(2025, 12, 31), 1_200_000)   # 365 days -> ARR 1,200,000
        contract(s, retail, "K2", D(2024, 7, 1), D(2026, 6, 30), 2_000_000)    # 730 days -> ARR 1,000,000
        contract(s, retail, "K3", D(2023, 1, 1), D(2023, 12, 31), 9_999_900)   # ended: not in force
        invoice = writes.create(s, writes.LOCAL_ADMIN, "invoices", {
            "number": "INV1", "customer_id": energy["id"], "issued_on": D(2025, 1, 1), "due_on": D(2025, 1, 31),
            "amount_cents": 500_000})
        writes.create(s, writes.LOCAL_ADMIN, "invoices", {  # not yet due on AS_OF
            "number": "INV2", "customer_id": energy["id"], "issued_on": D(2025, 6, 20), "due_on": D(2025, 7, 20),
            "amount_cents": 700_000})
        writes.create(s, writes.LOCAL_ADMIN, "payments", {"invoice_id": invoice["id"], "paid_on": D(2025, 3, 1), "amount_cents": 200_000})
    return {"energy": energy, "retail": retail}


def test_headline_counts_arr_and_overdue_by_hand(fresh_engine):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        numbers = overview.headline(conn, Filters(D(2025, 1, 1), AS_OF), AS_OF)
    assert numbers["customers"] == 3
    assert numbers["active_customers"] == 2
    assert numbers["arr_cents"] == 1_200_000 + 1_000_000       # 1,200,000×365/365 + 2,000,000×365/730
    assert numbers["overdue_cents"] == 500_000 - 200_000      # INV1 part-paid; INV2 not yet due


def test_headline_follows_the_segment_filter(fresh_engine):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        numbers = overview.headline(conn, Filters(D(2025, 1, 1), AS_OF, industries=("retail",)), AS_OF)
    assert (numbers["customers"], numbers["active_customers"], numbers["arr_cents"], numbers["overdue_cents"]) == (2, 1, 1_000_000, 0)


def test_monthly_arr_counts_contracts_in_force_at_each_month_end(fresh_engine):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        trend = overview.monthly_trend(conn, Filters(D(2024, 11, 1), D(2025, 1, 31)))
    # Nov and Dec 2024: only K2 (ARR 10,000.00 yuan); Jan 2025: K1 + K2 = 22,000.00 yuan.
    assert trend["arr"].tolist() == [10_000.0, 10_000.0, 22_000.0]
    assert trend["month"].dt.strftime("%Y-%m").tolist() == ["2024-11", "2024-12", "2025-01"]


def test_arr_by_industry(fresh_engine):
    build(fresh_engine)
    with fresh_engine.connect() as conn:
        table = overview.by_industry(conn, Filters(D(2025, 1, 1), AS_OF), AS_OF)
    assert table.to_dict("records") == [
        {"industry": "energy", "customers": 1, "arr_cents": 1_200_000},   # 12,000.00 yuan
        {"industry": "retail", "customers": 2, "arr_cents": 1_000_000},   # 10,000.00 yuan
    ]
