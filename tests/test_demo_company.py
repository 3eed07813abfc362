"""Removing the demo company: every row its builder wrote goes in one audited transaction, admins only;
a team's own rows beside it stay. Also the command and the data page's button."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from ops_core import demo, demo_company, writes
from ops_core.db import rollups
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.errors import PermissionDenied, UsageError
from ops_core.vocab import Role
from tests.conftest import ROOT, ok
from tests.factories import make_csm, make_customer

DEMO = {"customers": 12, "years": 1, "seed": 3, "end": dt.date(2026, 6, 30)}
KEPT = ("users", "settings", "audit_log", "company_lists",  # the company's lists are its own, not the demo's
        "table_versions")  # the write counters: bookkeeping the removal moves


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(table)).scalar_one() for name, table in TABLES.items()}


def audit_rows(engine, action: str) -> list[dict]:
    log = TABLES["audit_log"]
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(log).where(log.c.action == action).order_by(log.c.id)).mappings()]


@pytest.fixture
def demo_store(fresh_engine):
    demo.generate(fresh_engine, **DEMO)
    return fresh_engine


def add_own_rows(engine) -> dict[str, int]:
    """A team's own rows beside the demo: two customers (one looked after by demo CSM #1), a contract, a
    demand aimed at demo release #1, a feedback item about demo customer #1 and a month-close value."""
    with transaction(engine) as s:
        csm = make_csm(s, name="自己的客户成功经理", email="own.csm@example.com")
        own = make_customer(s, code="OWN001", name="自己的客户甲", csm_id=csm["id"])
        make_customer(s, code="OWN002", name="自己的客户乙", csm_id=1)
        writes.create(s, writes.LOCAL_ADMIN, "contracts", {
            "code": "OWN-C-1", "customer_id": own["id"], "kind": "new", "product_line": "MES",
            "signed_on": dt.date(2026, 1, 5), "start_date": dt.date(2026, 1, 5), "end_date": dt.date(2027, 1, 4),
            "amount_cents": 8_680_000, "delivery_cost_cents": 0, "service_cost_cents": 0})
        demand = writes.create(s, writes.LOCAL_ADMIN, "demands", {
            "title": "自己的需求", "source": "market", "status": "planned", "target_release_id": 1,
            "created_at": dt.datetime(2026, 5, 1, 9)})
        writes.create(s, writes.LOCAL_ADMIN, "feedback", {
            "customer_id": 1, "channel": "phone", "received_at": dt.datetime(2026, 5, 2, 9), "product_area": "reports",
            "text": "关于演示客户的反馈", "severity": "low", "importance": "important", "status": "new"})
        writes.create(s, writes.LOCAL_ADMIN, "metric_snapshots", {
            "metric_key": "arr", "grain": "month", "period_start": dt.date(2026, 5, 1), "segment_kind": "all",
            "segment_value": "all", "value": 1.0, "taken_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)})
    return {"own_customer": own["id"], "demand": demand["id"]}


def test_removing_the_demo_company_leaves_only_users_settings_and_the_audit_log(demo_store):
    before = counts(demo_store)
    summary = demo_company.remove_demo_company(demo_store, writes.LOCAL_ADMIN)
    after = counts(demo_store)
    # Every table but the three kept ones is empty; each lost exactly the rows the audit row names.
    assert {name: n for name, n in after.items() if n and name not in KEPT} == {}
    # The company totals are derived: rebuilt from what stays (nothing here), not counted as removed rows.
    assert summary["deleted"] == {name: n for name, n in before.items() if n and name not in KEPT + rollups.TOTALS}
    assert summary["deleted"]["customers"] == 12 and summary["cleared"] == {} and summary["kept"] == {}
    assert after["users"] == before["users"]  # the built-in admin and the demo users stay
    assert after["audit_log"] == before["audit_log"] + 1  # one audit row for the whole removal
    with demo_store.connect() as conn:
        assert demo_company.marker(conn) == {}  # the marker is cleared
        assert demo_company.start_chosen(conn) == "demo"  # the store was started with the demo: not asked again
    [row] = audit_rows(demo_store, "remove_demo")
    assert (row["actor"], row["entity"], row["entity_id"]) == ("local-admin", "demo_company", None)
    assert row["new_values"]["deleted"] == summary["deleted"]
    assert row["new_values"]["demo"]["customers"] == 12 and row["new_values"]["demo"]["seed"] == 3
    assert row["old_values"]["ids"]["customers"] == [1, 12]
    with pytest.raises(UsageError, match="holds no demo company"):
        demo_company.remove_demo_company(demo_store, writes.LOCAL_ADMIN)


def test_own_rows_beside_the_demo_company_survive_its_removal(demo_store):
    with demo_store.connect() as conn:
        demo_feedback = conn.execute(select(func.count()).select_from(TABLES["feedback"])).scalar_one()
        demo_csms = conn.execute(select(func.count()).select_from(TABLES["csms"])).scalar_one()
    own = add_own_rows(demo_store)
    before = counts(demo_store)
    summary = demo_company.remove_demo_company(demo_store, writes.LOCAL_ADMIN)
    after = counts(demo_store)
    besides = {"settings": 1, "audit_log": -1}  # the marker went; the removal's own audit row came
    for name in set(TABLES) - {"table_versions", *rollups.TOTALS}:  # each lost exactly what the audit row says
        assert before[name] - after[name] == summary["deleted"].get(name, 0) + besides.get(name, 0), name
    with demo_store.connect() as conn:  # the company totals are rebuilt from what stays
        assert rollups.differences(conn) == {"mrr_changes": 0, "usage_periods": 0, "mrr_totals": 0, "mrr_segment_totals": 0,
                                                   "usage_totals": 0}
    customers, contracts, demands, csms = (TABLES[n] for n in ("customers", "contracts", "demands", "csms"))
    with demo_store.connect() as conn:
        assert sorted(conn.execute(select(customers.c.code)).scalars()) == ["OWN001", "OWN002"]
        assert conn.execute(select(contracts.c.code, contracts.c.customer_id)).all() == [("OWN-C-1", own["own_customer"])]
        assert conn.execute(select(demands.c.id, demands.c.target_release_id)).all() == [(own["demand"], None)]
        # Demo CSM #1 looks after OWN002, so it stays beside the team's own CSM.
        assert sorted(conn.execute(select(csms.c.id)).scalars())[0] == 1 and after["csms"] == 2
    assert summary["kept"] == {"csms": 1}
    assert summary["cleared"] == {"demands.target_release_id": 1}  # the own demand's link to a demo release
    assert summary["deleted"]["csms"] == demo_csms - 1
    assert summary["deleted"]["feedback"] == demo_feedback + 1  # the own item about demo customer #1 cannot stay
    assert summary["deleted"]["metric_snapshots"] == 1  # a month-close taken while the demo was in the store
    assert after["releases"] == 0 and after["usage_daily"] == 0 and after["usage_monthly"] == 0


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_only_an_admin_may_remove_the_demo_company(demo_store, role):
    before = counts(demo_store)
    with pytest.raises(PermissionDenied, match="may not remove the demo company: it needs the admin role"):
        demo_company.remove_demo_company(demo_store, writes.Actor("someone", role))
    assert counts(demo_store) == before
    with demo_store.connect() as conn:
        assert demo_company.has_demo_company(conn)


def test_the_remove_command_removes_the_demo_company_once(new_store_url):
    url = new_store_url()
    engine = make_engine(url)
    from ops_core.db.schema import upgrade

    upgrade(engine)
    written = demo.generate(engine, **DEMO)
    footprint_rows = None
    with engine.connect() as conn:
        footprint_rows = sum(demo_company.footprint(conn).values())
    environment = {k: v for k, v in os.environ.items() if k != "OPS_DATABASE_URL"}
    command = [sys.executable, "-m", "ops_core.demo", "remove", "--database-url", url]
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"removed the demo company: {footprint_rows:,} rows (")
    assert f"customers {written['customers']:,}" in done.stdout
    assert counts(engine)["customers"] == 0
    again = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2
    assert again.stderr.strip() == "error: this store holds no demo company (nothing was removed)"
    engine.dispose()


@pytest.mark.parametrize(("lang", "confirm_start", "done"), [
    ("en", "This deletes the demo company in one step: ", "The demo company was removed: {rows:,} rows."),
    ("zh", "此操作将一次性删除演示公司：", "演示公司已删除：共 {rows:,} 行。"),
])
def test_the_data_page_removes_the_demo_company_after_a_confirmation(new_store_url, monkeypatch, lang, confirm_start,
                                                                     done):
    from ops_core.db.schema import upgrade
    from ops_core.i18n import t

    url = new_store_url()
    engine = make_engine(url)
    upgrade(engine)
    demo.generate(engine, **DEMO)
    with engine.connect() as conn:
        footprint = demo_company.footprint(conn)
    monkeypatch.setenv("OPS_DATABASE_URL", url)
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    page.query_params["lang"] = lang  # in this language from the first visit on
    page.run().switch_page("pages/data.py")
    ok(page.run())
    assert t("data.demo.title", lang) in [s.value for s in page.subheader]
    page.button(key="demo_remove").click().run()
    [warning] = [w.value for w in page.warning]
    assert warning.startswith(confirm_start)
    customers = t("data.demo.item", lang, table=t("table.customers", lang), rows=12)
    assert customers in warning  # "Customers 12" / "客户 12 行"
    for name, rows in footprint.items():  # every table that loses rows is named with its count
        assert t("data.demo.item", lang, table=t(f"table.{name}", lang), rows=rows) in warning
    assert counts(engine)["customers"] == 12  # nothing goes before the confirmation
    page.button(key="demo_remove_yes").click().run()
    ok(page)
    assert [s.value for s in page.success] == [done.format(rows=sum(footprint.values()))]
    assert counts(engine)["customers"] == 0
    assert t("data.demo.title", lang) not in [s.value for s in page.subheader]  # nothing left to remove
    engine.dispose()
