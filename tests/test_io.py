"""Export of entities and the command line's problems (imports: tests/test_importer.py)."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from ops_core import writes
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.db.schema import upgrade
from ops_core.io import ENTITIES, export_entity, write_export

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER_HEADER = "id,code,name,industry,region,size_band,employees,partnership_level,demand_type,created_on"
CONTRACT_HEADER = "id,code,customer_id,kind,product_line,signed_on,start_date,end_date,amount_cents"
LOAD_ORDER = ["customers", "contacts", "contracts", "invoices", "payments", "leads"]


def _customer(n: int, **overrides: object) -> dict[str, object]:
    return {"code": f"C{n:03d}", "name": f"客户{n}", "industry": "manufacturing", "region": "east_china",
            "size_band": "medium", "employees": 300, "partnership_level": "basic", "demand_type": "standard",
            "created_on": dt.date(2024, 1, n)} | overrides


def _seed(engine: Engine) -> None:
    """Two customers, their contacts, a contract and its renewal, an invoice, a payment and a lead."""
    admin = writes.LOCAL_ADMIN
    with transaction(engine) as s:
        writes.create(s, admin, "customers", _customer(1, name='=HYPERLINK("http://x","y")', fortune500=True))
        writes.create(s, admin, "customers", _customer(2, name="欧阳科技 😀", employees=12))
        writes.create(s, admin, "contacts", {"customer_id": 1, "name": "张三", "role": "boss", "is_key": True,
                                             "phone": "+86 138 1234 1234", "email": "zhang@example.com",
                                             "start_date": dt.date(2024, 2, 1)})
        writes.create(s, admin, "contacts", {"customer_id": 2, "name": "John Smith", "role": "user",
                                             "start_date": dt.date(2024, 2, 1), "title": "-2+3"})
        base = {"customer_id": 1, "product_line": "MES", "signed_on": dt.date(2024, 1, 1)}
        writes.create(s, admin, "contracts", base | {"code": "K1", "kind": "new", "start_date": dt.date(2024, 1, 1),
                                                      "end_date": dt.date(2024, 12, 31), "amount_cents": 120_000_00})
        writes.create(s, admin, "contracts", base | {"code": "K2", "kind": "renewal", "renewal_of_id": 1,
                                                      "start_date": dt.date(2025, 1, 1),
                                                      "end_date": dt.date(2025, 12, 31), "amount_cents": -5})
        writes.create(s, admin, "invoices", {"number": "INV-1", "customer_id": 1, "contract_id": 1,
                                             "issued_on": dt.date(2024, 1, 5), "due_on": dt.date(2024, 2, 5),
                                             "amount_cents": 120_000_00})
        writes.create(s, admin, "payments", {"invoice_id": 1, "paid_on": dt.date(2024, 2, 1), "amount_cents": 60_000_00})
        writes.create(s, admin, "leads", {"company": "线索公司", "contact_name": "李四", "phone": "13912345678",
                                          "title_level": "manager", "industry": "energy",
                                          "created_at": dt.datetime(2024, 3, 1, 9, 30)})


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(TABLES[table])).scalar_one()


def _imports_audited(engine: Engine) -> list[dict]:
    log = TABLES["audit_log"]
    with engine.connect() as conn:
        return [r.new_values for r in conn.execute(select(log).where(log.c.action == "import"))]


@pytest.fixture
def second_engine(new_store_url):
    engine = make_engine(new_store_url())
    upgrade(engine)
    yield engine
    engine.dispose()


def test_entities_export_table_columns_with_ids_and_without_version():
    assert set(ENTITIES) >= {"customers", "contacts", "contracts", "invoices", "payments", "usage", "feedback",
                             "events", "event_costs", "leads", "lead_touches"}
    assert ENTITIES["usage"].table_name == "usage_daily"
    assert ",".join(ENTITIES["customers"].columns).startswith(CUSTOMER_HEADER.split(",employees")[0])
    for entity in ENTITIES.values():
        assert "version" not in entity.columns
        assert all(c.name in entity.columns for c in entity.table.primary_key.columns)


def test_export_masks_personal_data_unless_asked(fresh_engine):
    _seed(fresh_engine)
    with fresh_engine.connect() as conn:
        masked = export_entity(conn, "contacts")
        plain = export_entity(conn, "contacts", masked=False)
        leads = export_entity(conn, "leads")
    assert masked["name"].tolist() == ["张*", "J*** S****"]
    assert masked["phone"].iloc[0] == "+86 138****1234" and masked["email"].iloc[0] == "z***@example.com"
    assert plain["name"].tolist() == ["张三", "John Smith"]
    assert leads["contact_name"].tolist() == ["李*"] and leads["phone"].tolist() == ["139****5678"]


def test_csv_export_is_neutralised_with_a_bom_and_numbers_left_alone(fresh_engine, tmp_path):
    _seed(fresh_engine)
    with fresh_engine.connect() as conn:
        write_export(export_entity(conn, "contracts"), tmp_path / "contracts.csv")
        write_export(export_entity(conn, "customers"), tmp_path / "customers.csv")
    contracts = (tmp_path / "contracts.csv").read_bytes()
    assert contracts.startswith(b"\xef\xbb\xbf")
    assert "2,K2,1,renewal,MES,2024-01-01,2025-01-01,2025-12-31,-5,0,0,1" in contracts.decode("utf-8-sig")
    customers = (tmp_path / "customers.csv").read_text(encoding="utf-8-sig")
    assert "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" in customers and "欧阳科技 😀" in customers


# --- command line ------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops_core.io", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["import", "widgets", "x.csv"], "error: unknown entity 'widgets'", id="unknown-entity"),
    pytest.param(["import", "customers", "missing.csv"], "error: file not found", id="missing-file"),
    pytest.param(["export", "customers", "x.csv", "--database-url", "nonsense://"], "error: The database URL",
                 id="malformed-url"),
    pytest.param(["export", "customers", "out.pdf"], "error: cannot write 'out.pdf'", id="unknown-extension"),
])
def test_cli_problems_exit_2_with_one_clear_line(tmp_path, args, message):
    args = [a if not a.endswith((".csv", ".pdf")) else str(tmp_path / a) for a in args]
    if "--database-url" not in args:
        args += ["--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    result = _cli(*args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


