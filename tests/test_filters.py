"""The shared filter round-trips through the URL and says in words what it includes."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.filters import Filters
from tests.factories import make_customer

TODAY = dt.date(2026, 11, 22)


def test_filters_round_trip_through_query_params():
    chosen = Filters(dt.date(2026, 1, 1), dt.date(2026, 6, 30), industries=("energy", "retail"), csms=(3, 7))
    assert Filters.from_query_params(chosen.to_query_params(), TODAY) == chosen


def test_a_malformed_link_falls_back_to_defaults_instead_of_failing():
    parsed = Filters.from_query_params({"from": "yesterday", "to": "2026-13-01", "industries": "energy,<script>", "csms": "x,4"}, TODAY)
    assert (parsed.date_from, parsed.date_to) == (dt.date(2025, 11, 1), TODAY)
    assert parsed.industries == ("energy",)
    assert parsed.csms == (4,)


def test_reversed_dates_are_swapped():
    parsed = Filters.from_query_params({"from": "2026-06-01", "to": "2026-01-01"}, TODAY)
    assert (parsed.date_from, parsed.date_to) == (dt.date(2026, 1, 1), dt.date(2026, 6, 1))


def test_description_names_every_choice_in_both_languages():
    chosen = Filters(dt.date(2026, 1, 1), dt.date(2026, 6, 30), regions=("east_china",), csms=(2,))
    assert chosen.describe("en", {2: "王芳"}) == "2026-01-01 to 2026-06-30; Region: East China; CSM: 王芳"
    assert chosen.describe("zh", {2: "王芳"}) == "2026-01-01 至 2026-06-30；区域：华东；客户成功经理：王芳"
    assert Filters(dt.date(2026, 1, 1), dt.date(2026, 1, 31)).describe("en").endswith("all customers")


def test_customer_clause_restricts_in_the_database(fresh_engine):
    with transaction(fresh_engine) as s:
        make_customer(s, industry="energy", region="east_china")
        make_customer(s, industry="energy", region="north_china")
        make_customer(s, industry="retail", region="east_china")
    customers = TABLES["customers"]
    with fresh_engine.connect() as conn:
        def count(filters: Filters) -> int:
            return conn.execute(select(func.count()).select_from(customers).where(filters.customer_clause(customers))).scalar_one()
        base = Filters.default(TODAY)
        assert count(base) == 3
        assert count(Filters(base.date_from, base.date_to, industries=("energy",))) == 2
        assert count(Filters(base.date_from, base.date_to, industries=("energy",), regions=("east_china",))) == 1
