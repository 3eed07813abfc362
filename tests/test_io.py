"""Export of entities by the command line (the file itself: tests/test_entity_files.py) and the command
line's problems (imports: tests/test_importer.py)."""
from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from ops_core import writes
from ops_core.config import redact_url
from ops_core.db.engine import make_engine, transaction
from ops_core.io import ENTITIES

ROOT = Path(__file__).resolve().parent.parent


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


def test_the_entities_are_the_file_schemas_in_load_order():
    assert ENTITIES == ("customers", "contacts", "contracts", "invoices", "payments", "usage", "feedback", "events",
                        "event_costs", "leads", "lead_touches")


# --- command line ------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops_core.io", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def exported_store(fresh_engine) -> str:
    """``_seed`` and a third contract of 8,680,050 cents; the store's URL for the command line."""
    _seed(fresh_engine)
    with transaction(fresh_engine) as s:
        writes.create(s, writes.LOCAL_ADMIN, "contracts", {
            "code": "K3", "customer_id": 2, "kind": "expansion", "product_line": "IoT", "signed_on": dt.date(2024, 6, 1),
            "start_date": dt.date(2024, 7, 1), "end_date": dt.date(2025, 6, 30), "amount_cents": 8_680_050})
    return fresh_engine.url.render_as_string(hide_password=False)


def _exported(url: str, tmp_path: Path, entity: str, name: str, *options: str) -> tuple[Path, str]:
    """Export ``entity`` to ``name`` by the command line; the file and the one line it printed."""
    path = tmp_path / name
    done = _cli("export", entity, str(path), "--database-url", url, *options)
    assert (done.returncode, done.stderr) == (0, "")
    assert len(done.stdout.splitlines()) == 1
    return path, done.stdout.rstrip("\n")


def _csv(path: Path) -> tuple[list[str], list[str]]:
    """A CSV export's '# ' notes (one cell each, as a spreadsheet shows them) and its other lines as
    written (the header, then the rows); the file starts with a byte-order mark."""
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    rows = list(csv.reader(lines))
    notes = [row[0] for row in rows if len(row) == 1 and row[0].startswith("# ")]
    return notes, lines[len(notes):]


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["Contract code,Customer code,Contract kind,Product line,Signed on,Start date,End date,Amount (yuan),"
            "Delivery cost (yuan),Service cost (yuan),Renews contract",
            "K1,C001,New,MES,2024-01-01,2024-01-01,2024-12-31,120000.00,0.00,0.00,",
            "K2,C001,Renewal,MES,2024-01-01,2025-01-01,2025-12-31,-0.05,0.00,0.00,K1",
            "K3,C002,Expansion,IoT,2024-06-01,2024-07-01,2025-06-30,86800.50,0.00,0.00,"]),
    ("zh", ["合同编号,客户编号,合同类型,产品线,签约日期,开始日期,结束日期,合同金额(元),交付成本(元),服务成本(元),续约原合同",
            "K1,C001,新签,MES,2024-01-01,2024-01-01,2024-12-31,120000.00,0.00,0.00,",
            "K2,C001,续约,MES,2024-01-01,2025-01-01,2025-12-31,-0.05,0.00,0.00,K1",
            "K3,C002,增购,物联网,2024-06-01,2024-07-01,2025-06-30,86800.50,0.00,0.00,"]),
])
def test_cli_export_writes_the_contracts_file_in_yuan_with_labels_and_business_keys(exported_store, tmp_path, lang,
                                                                                     expected):
    """Amounts: 12,000,000 cents, -5 cents and 8,680,050 cents as yuan; kinds by label; the customer by its
    code and the renewed contract by its code (K2 renews K1), never an id."""
    path, said = _exported(exported_store, tmp_path, "contracts", f"contracts-{lang}.csv", "--lang", lang)
    language = {"en": "English", "zh": "简体中文"}[lang]
    assert said == f"exported 3 contracts rows ({language}) to {path} from {redact_url(make_engine(exported_store).url)}"
    notes, lines = _csv(path)
    assert lines == expected
    assert notes[0] == {"en": "# Contracts: 3 rows", "zh": "# 合同：3 行"}[lang]
    assert notes[1].startswith({"en": "# Exported 20", "zh": "# 导出时间：20"}[lang])
    assert len(notes) == 2  # contracts hold no personal data: nothing to say about masking


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["Customer code,Contact name,E-mail,Phone,Job title,Role,Key contact,Contact since,Contact until",
            "C001,张*,z***@example.com,'+86 138****1234,,Decision-making boss,yes,2024-02-01,",
            "C002,J*** S****,,,'-2+3,User,no,2024-02-01,"]),
    ("zh", ["客户编号,联系人姓名,电子邮箱,电话,职务,角色,关键联系人,起始日期,结束日期",
            "C001,张*,z***@example.com,'+86 138****1234,,决策老板,是,2024-02-01,",
            "C002,J*** S****,,,'-2+3,使用者,否,2024-02-01,"]),
])
def test_cli_export_masks_names_phones_and_emails_unless_asked(exported_store, tmp_path, lang, expected):
    """The contacts of ``_seed``: 张三 +86 138 1234 1234 zhang@example.com, and John Smith whose title
    "-2+3" would be a formula in Excel; such cells (the phone's "+" too) are written with a leading quote."""
    path, said = _exported(exported_store, tmp_path, "contacts", "contacts.csv", "--lang", lang)
    assert "personal data masked) to" in said
    notes, lines = _csv(path)
    assert lines == expected
    assert notes[-1] == {"en": "# Names, phones and e-mails are masked in this file: it is for reading, not for importing back.",
                         "zh": "# 此文件中的姓名、电话和邮箱已脱敏：仅供查看，请勿重新导入。"}[lang]
    path, said = _exported(exported_store, tmp_path, "contacts", "full.csv", "--lang", lang, "--unmasked")
    assert "personal data in full) to" in said
    notes, lines = _csv(path)
    assert lines[1].split(",")[1:4] == ["张三", "zhang@example.com", "'+86 138 1234 1234"]
    assert notes[-1] == {"en": "# Names, phones and e-mails are in full in this file: keep it safe.",
                         "zh": "# 此文件中的姓名、电话和邮箱未脱敏：请妥善保管。"}[lang]


def test_cli_export_to_excel_keeps_yuan_as_numbers_and_neutralises_text(exported_store, tmp_path):
    path, _ = _exported(exported_store, tmp_path, "contracts", "合同.xlsx", "--lang", "zh")
    book = load_workbook(path)
    assert book.sheetnames == ["合同", "文件说明"]
    sheet = book["合同"]
    assert [c.value for c in sheet[1]][:8] == ["合同编号", "客户编号", "合同类型", "产品线", "签约日期", "开始日期", "结束日期",
                                               "合同金额(元)"]
    amount = sheet.cell(row=4, column=8)  # K3: 8,680,050 cents
    assert (amount.value, amount.number_format) == (86800.5, "#,##0.00")
    assert sheet.cell(row=4, column=3).value == "增购"
    assert book["文件说明"]["A1"].value == "合同：3 行"
    path, _ = _exported(exported_store, tmp_path, "customers", "customers.xlsx")
    names = list(load_workbook(path).active["B"])
    assert [c.value for c in names] == ["Customer name", "=HYPERLINK(\"http://x\",\"y\")", "欧阳科技 😀"]
    assert [c.quotePrefix for c in names] == [False, True, False]   # shown as text, kept as text when edited


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["import", "widgets", "x.csv"], "error: unknown entity 'widgets'", id="unknown-entity"),
    pytest.param(["import", "customers", "missing.csv"], "error: file not found", id="missing-file"),
    pytest.param(["export", "customers", "x.csv", "--database-url", "nonsense://"], "error: The database URL",
                 id="malformed-url"),
    pytest.param(["export", "customers", "out.pdf"], "error: cannot write 'out.pdf'", id="unknown-extension"),
    pytest.param(["export", "widgets", "out.csv"], "error: unknown entity 'widgets'", id="export-unknown-entity"),
])
def test_cli_problems_exit_2_with_one_clear_line(tmp_path, args, message):
    args = [a if not a.endswith((".csv", ".pdf")) else str(tmp_path / a) for a in args]
    if "--database-url" not in args:
        args += ["--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    result = _cli(*args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


