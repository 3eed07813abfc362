"""Factories so a test states only what matters: ``make_customer(session, **overrides)``."""
from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from ops_core import writes

_numbers = itertools.count(1)


def make_csm(session: Session, **overrides: Any) -> dict[str, Any]:
    values = {"name": "王芳", "level": "senior", "email": "wang.fang@example.com"} | overrides
    return writes.create(session, writes.LOCAL_ADMIN, "csms", values)


def make_customer(session: Session, **overrides: Any) -> dict[str, Any]:
    n = next(_numbers)
    values = {
        "code": f"T{n:05d}", "name": f"测试客户 {n}", "industry": "manufacturing", "region": "east_china",
        "size_band": "medium", "employees": 500, "partnership_level": "basic", "demand_type": "standard",
        "created_on": dt.date(2024, 1, 1),
    } | overrides
    return writes.create(session, writes.LOCAL_ADMIN, "customers", values)
