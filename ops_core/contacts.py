"""Who to call at each customer: the current key contact for the CSM team's list, and a customer's contacts."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, case, func, or_, select

from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of

contacts = TABLES["contacts"]
KEY_CONTACT_COLUMNS = ("key_contact", "key_contact_title", "key_contact_role", "key_contact_phone", "key_contact_email")
# The decision-making boss first, then a department head with a veto, then a user; key contacts before others.
ROLE_RANK = {"boss": 0, "veto_head": 1, "user": 2}


def key_contacts(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """One current contact per customer (index customer_id), chosen in SQL with a window function."""
    current = (contacts.c.start_date <= as_of) & or_(contacts.c.end_date.is_(None), contacts.c.end_date >= as_of)
    rank = func.row_number().over(
        partition_by=contacts.c.customer_id,
        order_by=[case(*[(contacts.c.role == role, n) for role, n in ROLE_RANK.items()], else_=9),
                  contacts.c.is_key.desc(), contacts.c.id])
    ranked = (select(contacts.c.customer_id, contacts.c.name, contacts.c.title, contacts.c.role, contacts.c.phone,
                     contacts.c.email, rank.label("n")).where(current).subquery())
    rows = conn.execute(select(ranked).where(ranked.c.n == 1)).all()
    frame = frame_of(rows, columns=["customer_id", *KEY_CONTACT_COLUMNS, "n"])
    return frame.drop(columns="n").set_index("customer_id")


def of_customer(conn: Connection, customer_id: int) -> pd.DataFrame:
    """A customer's contacts for picking one when feedback is taken in: contact_id, name, title, role
    (current contacts first, then by name)."""
    rows = conn.execute(select(contacts.c.id, contacts.c.name, contacts.c.title, contacts.c.role)
                        .where(contacts.c.customer_id == customer_id)
                        .order_by(contacts.c.end_date.is_not(None), contacts.c.name)).all()
    return frame_of(rows, columns=["contact_id", "name", "title", "role"])
