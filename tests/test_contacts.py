"""Key contacts (ops_core/contacts.py): who to call at each customer on a reference date, and the
customer-list CSV that carries them with personal data masked.

Reference date 2025-06-30. A contact is current when start_date <= as_of <= end_date (no end date:
still there). Among current contacts: boss before veto head before user; then key contacts first;
then the lower contact id.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ops_core import customer_view as view
from ops_core import exports, writes
from ops_core.contacts import KEY_CONTACT_COLUMNS, key_contacts
from ops_core.db.engine import transaction
from tests.factories import make_customer

AS_OF = dt.date(2025, 6, 30)
DAY = dt.timedelta(days=1)
LONG_AGO = dt.date(2020, 1, 1)


def add_contact(session, customer: dict, name: str, role: str, *, start: dt.date = LONG_AGO,
                end: dt.date | None = None, is_key: bool = False, phone: str | None = None,
                email: str | None = None) -> dict:
    return writes.create(session, writes.LOCAL_ADMIN, "contacts", {
        "customer_id": customer["id"], "name": name, "title": role.replace("_", " ").title(), "role": role,
        "is_key": is_key, "phone": phone, "email": email, "start_date": start, "end_date": end})


@pytest.fixture
def store(fresh_engine):
    """Five customers, each with a situation (the expected key contact in the comment)."""
    with transaction(fresh_engine) as session:
        c = {name: make_customer(session, name=name) for name in ("all_three", "boss_left", "user_only",
                                                                   "nobody_now", "two_bosses")}
        # all_three -> 王总 (boss). The departed boss and the boss who starts tomorrow do not count.
        add_contact(session, c["all_three"], "小李", "user", phone="13900001111", email="xiao.li@alpha.cn")
        add_contact(session, c["all_three"], "赵主任", "veto_head", is_key=True, phone="13900002222",
                    email="zhao.zr@alpha.cn")
        add_contact(session, c["all_three"], "王总", "boss", phone="13812341234", email="wang.zong@alpha.cn")
        add_contact(session, c["all_three"], "Old Boss", "boss", end=AS_OF - DAY, phone="13700000000",
                    email="old.boss@alpha.cn")
        add_contact(session, c["all_three"], "Next Boss", "boss", start=AS_OF + DAY, phone="13600000000",
                    email="next.boss@alpha.cn")
        # boss_left -> Maria Chen (veto head): the boss left before the reference date.
        add_contact(session, c["boss_left"], "Former Boss", "boss", end=dt.date(2025, 1, 31),
                    phone="+86 21 6123 4567", email="former@beta.com")
        add_contact(session, c["boss_left"], "Tom User", "user", phone="021-5555-6666", email="tom@beta.com")
        add_contact(session, c["boss_left"], "Maria Chen", "veto_head", phone="+86 139 8765 4321",
                    email="maria.chen@beta.com")
        # user_only -> 欧阳娜娜 (user); a boss starting after the reference date does not count yet.
        add_contact(session, c["user_only"], "欧阳娜娜", "user", start=AS_OF, phone="18611112222",
                    email="ouyang.nana@gamma.cn")
        add_contact(session, c["user_only"], "Future Boss", "boss", start=AS_OF + DAY, phone="18633334444",
                    email="future@gamma.cn")
        # nobody_now -> no row: every contact ended before the reference date.
        add_contact(session, c["nobody_now"], "Gone User", "user", end=AS_OF - DAY, phone="13511112222",
                    email="gone@delta.cn")
        add_contact(session, c["nobody_now"], "Gone Boss", "boss", start=dt.date(2021, 1, 1),
                    end=dt.date(2022, 1, 1), phone="13533334444", email="gone.boss@delta.cn")
        # two_bosses -> 钱总 (the key one, although entered second); the end date itself still counts.
        add_contact(session, c["two_bosses"], "孙总", "boss", phone="13355556666", email="sun@epsilon.cn")
        add_contact(session, c["two_bosses"], "钱总", "boss", end=AS_OF, is_key=True, phone="13377778888",
                    email="qian@epsilon.cn")
    return fresh_engine, {name: row["id"] for name, row in c.items()}


def test_key_contact_is_the_current_boss_then_veto_head_then_user(store):
    engine, ids = store
    with engine.connect() as conn:
        found = key_contacts(conn, AS_OF)
    assert list(found.columns) == list(KEY_CONTACT_COLUMNS)
    assert found["key_contact"].to_dict() == {
        ids["all_three"]: "王总", ids["boss_left"]: "Maria Chen", ids["user_only"]: "欧阳娜娜",
        ids["two_bosses"]: "钱总"}
    assert found.loc[ids["all_three"], "key_contact_role"] == "boss"
    assert found.loc[ids["boss_left"], "key_contact_role"] == "veto_head"
    assert found.loc[ids["all_three"], "key_contact_phone"] == "13812341234"
    assert found.loc[ids["boss_left"], "key_contact_email"] == "maria.chen@beta.com"


def test_key_contacts_have_one_row_per_customer_and_skip_customers_with_nobody_current(store):
    engine, ids = store
    with engine.connect() as conn:
        found = key_contacts(conn, AS_OF)
    assert found.index.is_unique
    assert ids["nobody_now"] not in found.index
    assert len(found) == 4


@pytest.mark.parametrize(("as_of", "expected"), [
    (dt.date(2025, 1, 31), "Former Boss"),   # its last day: still there
    (dt.date(2025, 2, 1), "Maria Chen"),     # the day after: gone
], ids=["on-the-end-date", "day-after"])
def test_key_contact_follows_the_reference_date(store, as_of, expected):
    engine, ids = store
    with engine.connect() as conn:
        assert key_contacts(conn, as_of).loc[ids["boss_left"], "key_contact"] == expected


def test_tomorrows_boss_is_the_key_contact_tomorrow(store):
    engine, ids = store
    with engine.connect() as conn:
        found = key_contacts(conn, AS_OF + DAY)
    assert found.loc[ids["user_only"], "key_contact"] == "Future Boss"
    assert found.loc[ids["all_three"], "key_contact"] == "王总"  # a boss already there keeps first place (lower id)
    assert ids["two_bosses"] in found.index and found.loc[ids["two_bosses"], "key_contact"] == "孙总"  # 钱总 left


def test_an_empty_store_has_no_key_contacts(fresh_engine):
    with fresh_engine.connect() as conn:
        found = key_contacts(conn, AS_OF)
    assert found.empty and list(found.columns) == list(KEY_CONTACT_COLUMNS)


def test_customer_list_csv_masks_every_key_contacts_email_and_phone(store):
    engine, ids = store
    with engine.connect() as conn:
        contacts_now = key_contacts(conn, AS_OF)
        raw = pd.read_sql_table("contacts", conn)
    # The list as the page builds it: one row per customer, key contact joined, then masked on export.
    shown = pd.DataFrame({"code": [f"T{i}" for i in ids.values()], "name": list(ids), "tier": "KA",
                          "score": 50.0}, index=pd.Index(list(ids.values()), name="customer_id"))
    for column in view.TABLE_COLUMNS:
        if column not in shown.columns:
            shown[column] = ""
    frame = view.export_frame(shown, contacts_now, list(view.EXPORT_COLUMNS))
    assert frame["key_contact_email"].notna().sum() == 4  # the unmasked frame does carry them
    text = exports.to_csv_bytes(frame, mask_columns=exports.PERSONAL_DATA["customer_list"]).decode("utf-8-sig")
    for email in raw["email"].dropna():
        assert email not in text
        assert email.split("@")[0] not in text  # not even the mailbox
    for phone in raw["phone"].dropna():
        digits = "".join(ch for ch in phone if ch.isdigit())
        assert phone not in text and digits not in text
    for name in ("王总", "Maria Chen", "欧阳娜娜", "钱总"):
        assert name not in text
    assert "w***@alpha.cn" in text and "138****1234" in text and "欧***" in text


def test_a_customers_contacts_are_offered_current_first_then_by_name(fresh_engine):
    from ops_core.contacts import of_customer

    with transaction(fresh_engine) as session:
        mine, other = make_customer(session, name="mine"), make_customer(session, name="other")
        add_contact(session, mine, "赵六", "user", end=AS_OF)     # left: offered last
        add_contact(session, mine, "王五", "boss")
        add_contact(session, mine, "李四", "user")
        add_contact(session, other, "张三", "boss")               # another customer's: never offered
    with fresh_engine.connect() as conn:
        offered = of_customer(conn, mine["id"])
    assert list(offered.columns) == ["contact_id", "name", "title", "role"]
    assert offered["name"].tolist()[-1] == "赵六" and set(offered["name"]) == {"赵六", "王五", "李四"}
