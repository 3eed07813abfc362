"""Import of entities (all or nothing, row-and-field problems, round trips of stored columns) and the command
line that imports and exports them; an export is the entity's file-schema file (tests/test_entity_files.py)."""
from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import Boolean, Connection, Engine, Integer, func, select

from ops_core import writes
from ops_core.config import redact_url
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.db.schema import upgrade
from ops_core.errors import PermissionDenied, UsageError
from ops_core.io import ENTITIES, import_entity, write_export
from ops_core.vocab import Role
from tests.wording import english_words

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


def _stored(conn: Connection, entity: str) -> pd.DataFrame:
    """The entity's rows as the store holds them (its file columns, by primary key): what an import wrote."""
    spec = ENTITIES[entity]
    rows = conn.execute(select(*(spec.table.c[name] for name in spec.columns)).order_by(*spec.table.primary_key.columns))
    df = pd.DataFrame.from_records(rows.all(), columns=list(spec.columns))
    for name in spec.columns:  # nullable integers stay integers (not 3.0) in the file
        kind = spec.table.c[name].type
        if isinstance(kind, (Boolean, Integer)):
            df[name] = df[name].astype("boolean" if isinstance(kind, Boolean) else "Int64")
    return df


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


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_stored_rows_written_to_files_import_into_an_empty_store_as_the_same_rows(fresh_engine, second_engine, tmp_path,
                                                                                  suffix):
    _seed(fresh_engine)
    for entity in LOAD_ORDER:
        with fresh_engine.connect() as conn:
            write_export(_stored(conn, entity), tmp_path / f"{entity}{suffix}")
    for entity in LOAD_ORDER:
        report = import_entity(second_engine, writes.LOCAL_ADMIN, entity, tmp_path / f"{entity}{suffix}")
        assert report.ok, report.lines()
        assert report.rows_written == report.rows_read == _count(fresh_engine, ENTITIES[entity].table_name)
    for entity in LOAD_ORDER:
        with fresh_engine.connect() as a, second_engine.connect() as b:
            pd.testing.assert_frame_equal(_stored(a, entity), _stored(b, entity))
    with second_engine.connect() as conn:  # the formula-looking name came back without the export's quote
        assert conn.execute(select(TABLES["customers"].c.name).where(TABLES["customers"].c.id == 1)).scalar_one() \
            == '=HYPERLINK("http://x","y")'
    assert [a["entity"] for a in _imports_audited(second_engine)] == LOAD_ORDER


def test_ids_keep_counting_after_an_import_with_explicit_ids(fresh_engine, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMER_HEADER + "\n41,C041,甲,energy,north_china,small,60,gold,platform,2024-05-01\n",
                    encoding="utf-8")
    assert import_entity(fresh_engine, writes.LOCAL_ADMIN, "customers", path).ok
    with transaction(fresh_engine) as s:
        created = writes.create(s, writes.LOCAL_ADMIN, "customers", _customer(2))
    assert created["id"] == 42  # PostgreSQL's sequence was moved past 41


def test_an_import_with_bad_rows_writes_nothing_and_names_every_row_and_field(fresh_engine, tmp_path):
    with transaction(fresh_engine) as s:
        writes.create(s, writes.LOCAL_ADMIN, "customers", _customer(1))
    path = tmp_path / "contracts.csv"
    path.write_text("\n".join([
        CONTRACT_HEADER,
        "1,K1,1,new,MES,2024-01-01,2024-01-01,2024-12-31,100",       # row 2: fine
        "2,K2,1,new,MES,2024-01-01,2024-01-01,2024-12-31,abc",       # row 3: amount is not a number
        "3,K3,999,new,MES,2024-01-01,2024-01-01,2024-12-31,100",     # row 4: no customer 999
        "4,K1,1,leased,MES,2024-01-01,2024-01-01,not a day,100",     # row 5: code reused, kind, date
        "1,K5,1,new,MES,2024-01-01,2024-01-01,2024-12-31,100",       # row 6: id of row 2 again
    ]) + "\n", encoding="utf-8")
    report = import_entity(fresh_engine, writes.LOCAL_ADMIN, "contracts", path)
    assert report.rows_read == 5 and report.rows_written == 0
    assert sorted(report.problems) == sorted([
        (3, "amount_cents", "'abc' is not a whole number"),
        (5, "end_date", "'not a day' is not a date (use YYYY-MM-DD)"),
        (5, "kind", "'leased' is not one of new, renewal, expansion"),
        (6, "id", "'1' is already used in row 2"),
    ])
    assert "row 3, field 'amount_cents': 'abc' is not a whole number" in report.lines()
    assert list(report.to_dataframe().columns) == ["row", "field", "message"]
    assert _count(fresh_engine, "contracts") == 0 and _imports_audited(fresh_engine) == []


def test_references_and_keys_are_checked_against_the_store(fresh_engine, tmp_path):
    with transaction(fresh_engine) as s:
        writes.create(s, writes.LOCAL_ADMIN, "customers", _customer(1))
        writes.create(s, writes.LOCAL_ADMIN, "contracts", {
            "code": "K1", "customer_id": 1, "kind": "new", "product_line": "MES", "signed_on": dt.date(2024, 1, 1),
            "start_date": dt.date(2024, 1, 1), "end_date": dt.date(2024, 12, 31)})
    path = tmp_path / "contracts.csv"
    path.write_text("\n".join([
        CONTRACT_HEADER + ",renewal_of_id",
        "1,K9,1,new,MES,2024-01-01,2024-01-01,2024-12-31,100,",         # row 2: id 1 is taken
        "5,K1,1,new,MES,2024-01-01,2024-01-01,2024-12-31,100,",         # row 3: code K1 is taken
        "6,K6,999,renewal,MES,2024-01-01,2025-01-01,2025-12-31,100,77",  # row 4: customer and contract missing
        "7,K7,1,renewal,MES,2024-01-01,2025-01-01,2025-12-31,100,8",    # row 5: renews row 6's contract: fine
        "8,K8,1,new,MES,2024-01-01,2024-01-01,2024-12-31,100,",
    ]) + "\n", encoding="utf-8")
    report = import_entity(fresh_engine, writes.LOCAL_ADMIN, "contracts", path)
    assert report.problems == [
        (2, "id", "'1' is already in the store"),
        (3, "code", "'K1' is already in the store"),
        (4, "customer_id", "there is no customers row with id 999"),
        (4, "renewal_of_id", "there is no contracts row with id 77"),
    ]
    assert _count(fresh_engine, "contracts") == 1


def test_a_row_may_refer_to_a_later_row_of_the_same_file(fresh_engine, tmp_path):
    with transaction(fresh_engine) as s:
        writes.create(s, writes.LOCAL_ADMIN, "customers", _customer(1))
    path = tmp_path / "contracts.csv"
    path.write_text(CONTRACT_HEADER + ",renewal_of_id\n"
                    "10,K10,1,renewal,MES,2025-01-01,2025-01-01,2025-12-31,100,11\n"
                    "11,K11,1,new,MES,2024-01-01,2024-01-01,2024-12-31,100,\n", encoding="utf-8")
    assert import_entity(fresh_engine, writes.LOCAL_ADMIN, "contracts", path).ok
    with fresh_engine.connect() as conn:
        assert _stored(conn, "contracts")["renewal_of_id"].tolist() == [11, pd.NA]


def test_a_dry_run_checks_against_the_store_and_writes_nothing(fresh_engine, tmp_path):
    from ops_core.io import import_rows, read_table_file

    data = (CUSTOMER_HEADER + "\n1,C001,甲,energy,north_china,small,60,gold,platform,2024-05-01\n").encode()
    report = import_rows(fresh_engine, writes.LOCAL_ADMIN, "customers", read_table_file(data, "c.csv"), "c.csv",
                         dry_run=True)
    assert report.ok and report.rows_read == 1 and report.rows_written == 0
    assert _count(fresh_engine, "customers") == 0


def test_row_numbers_count_the_header_and_note_rows_as_a_spreadsheet_shows(fresh_engine, tmp_path):
    df = pd.DataFrame([_customer(1), _customer(2, employees="many")])
    write_export(df, tmp_path / "customers.xlsx", notes=["exported for the CSM team", "filters: none"])
    report = import_entity(fresh_engine, writes.LOCAL_ADMIN, "customers", tmp_path / "customers.xlsx")
    # the notes sit on a second sheet: row 1 header, row 2 first customer, row 3 the bad one
    assert report.problems == [(3, "employees", "'many' is not a whole number")]


def test_a_csv_with_or_without_bom_and_missing_ids_is_imported(fresh_engine, tmp_path):
    header = CUSTOMER_HEADER.removeprefix("id,")
    for n, encoding in ((1, "utf-8-sig"), (2, "utf-8")):
        path = tmp_path / f"c{n}.csv"
        path.write_text(f"{header}\nC00{n},中文客户,retail,south_china,micro,8,silver,configured,2024-01-0{n}\n",
                        encoding=encoding)
        assert import_entity(fresh_engine, writes.LOCAL_ADMIN, "customers", path).ok
    with fresh_engine.connect() as conn:
        assert _stored(conn, "customers")[["id", "name"]].values.tolist() == [[1, "中文客户"], [2, "中文客户"]]


@pytest.mark.parametrize(("encoding", "delimiter"), [("gbk", ";"), ("utf-16", "\t")])
def test_a_gbk_or_utf16_file_with_semicolons_or_tabs_is_imported(fresh_engine, tmp_path, encoding, delimiter):
    """As Chinese Excel saves CSV (GBK) and "Unicode text" (UTF-16 with tabs)."""
    header = CUSTOMER_HEADER.removeprefix("id,").replace(",", delimiter)
    row = delimiter.join(["C001", "中文客户", "retail", "south_china", "micro", "8", "silver", "configured", "2024-01-01"])
    path = tmp_path / "c.csv"
    path.write_bytes(f"{header}\r\n{row}\r\n".encode(encoding))
    assert import_entity(fresh_engine, writes.LOCAL_ADMIN, "customers", path).ok
    with fresh_engine.connect() as conn:
        assert _stored(conn, "customers")[["code", "name"]].values.tolist() == [["C001", "中文客户"]]


@pytest.mark.parametrize(("header", "expected"), [
    pytest.param(CUSTOMER_HEADER + ",shoe_size", [(1, "shoe_size", "is not a column of customers")],
                 id="unknown-column"),
    pytest.param(CUSTOMER_HEADER.replace(",region", ""),
                 [(1, "region", "is a required column and is missing from the file")], id="missing-column"),
    pytest.param(CUSTOMER_HEADER + ",name", [(1, "name", "appears twice in the header")], id="duplicate-column"),
])
def test_header_problems_are_reported_once_against_row_one(fresh_engine, tmp_path, header, expected):
    path = tmp_path / "customers.csv"
    path.write_text(header + "\n" + ",".join(["1"] * len(header.split(","))) + "\n", encoding="utf-8")
    report = import_entity(fresh_engine, writes.LOCAL_ADMIN, "customers", path)
    assert [(r, f, m.split(";")[0]) for r, f, m in report.problems] == expected


def test_a_viewer_may_not_import(fresh_engine, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMER_HEADER + "\n1,C001,甲,energy,north_china,small,60,gold,platform,2024-05-01\n",
                    encoding="utf-8")
    with pytest.raises(PermissionDenied, match="viewer"):
        import_entity(fresh_engine, writes.Actor("guest", Role.viewer), "customers", path)
    assert _count(fresh_engine, "customers") == 0


@pytest.mark.parametrize(("name", "content", "message"), [
    pytest.param("customers.csv", b"id\x00,code\n", "is not a text file", id="not-text"),
    pytest.param("customers.xlsx", b"PK not really a workbook", "as an Excel .xlsx workbook: it is damaged",
                 id="bad-xlsx"),
    pytest.param("customers.pdf", b"id\n1\n", r"use a CSV file \(.csv, .tsv, .txt\) or an Excel workbook",
                 id="wrong-extension"),
    pytest.param("customers.csv", b"", "is empty", id="empty"),
    pytest.param("customers.csv", b"\n \n", "has no header row", id="blank-lines"),
])
def test_an_unreadable_file_is_a_clear_usage_error(fresh_engine, tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UsageError, match=message):
        import_entity(fresh_engine, writes.LOCAL_ADMIN, "customers", tmp_path / name)


# --- command line ------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops_core.io", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def test_cli_imports_with_one_summary_line(tmp_path):
    source = f"sqlite:///{tmp_path / 'a.db'}"
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMER_HEADER + "\n1,C001,甲,energy,north_china,small,60,gold,platform,2024-05-01\n",
                    encoding="utf-8")
    loaded = _cli("import", "customers", str(path), "--database-url", source)
    assert (loaded.returncode, loaded.stderr) == (0, "")
    assert loaded.stdout.splitlines() == [f"imported 1 customers rows from customers.csv into {source}"]


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
    assert notes[-1] == {"en": "# Names, phones and e-mails are masked in this file.",
                         "zh": "# 此文件中的姓名、电话和邮箱已脱敏。"}[lang]
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
    names = [c.value for c in load_workbook(path).active["B"]]
    assert names == ["Customer name", "'=HYPERLINK(\"http://x\",\"y\")", "欧阳科技 😀"]


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


def test_cli_prints_every_validation_problem_and_exits_2(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMER_HEADER + "\n1,C001,甲,energy,north_china,small,lots,gold,platform,2024-05-01\n"
                    "2,C002,乙,mars,north_china,small,5,gold,platform,2024-05-01\n", encoding="utf-8")
    result = _cli("import", "customers", str(path), "--database-url", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[:2] == ["row 2, field 'employees': 'lots' is not a whole number",
                                              "row 3, field 'industry': 'mars' is not one of manufacturing, "
                                              "construction, logistics, energy, retail, healthcare, automotive, "
                                              "chemicals, electronics, food"]
    assert result.stderr.splitlines()[-1].startswith("error: customers.csv: 2 problems")


def test_import_problems_read_in_chinese_name_the_row_the_column_and_the_value(fresh_engine, tmp_path):
    """A reader of 简体中文 sees each problem in Chinese: the row as the spreadsheet counts it, the
    column as the file names it, and the value as it was typed; no other English word."""
    with transaction(fresh_engine) as s:
        writes.create(s, writes.LOCAL_ADMIN, "customers", _customer(1))
    path = tmp_path / "contracts.csv"
    path.write_text("\n".join([
        CONTRACT_HEADER,
        "2,K2,1,new,MES,2024-01-01,2024-01-01,2024-12-31,abc",       # row 2: amount is not a number
        "3,K3,1,leased,MES,2024-01-01,2024-01-01,not a day,100",     # row 3: kind, date
    ]) + "\n", encoding="utf-8")
    report = import_entity(fresh_engine, writes.LOCAL_ADMIN, "contracts", path)
    path.write_text(CONTRACT_HEADER + "\n3,K3,999,new,MES,2024-01-01,2024-01-01,2024-12-31,100\n", encoding="utf-8")
    elsewhere = import_entity(fresh_engine, writes.LOCAL_ADMIN, "contracts", path)  # row 2: no customer 999
    shown = pd.concat([report.to_dataframe("zh"), elsewhere.to_dataframe("zh")])
    assert shown.values.tolist() == [
        [2, "amount_cents", "「abc」不是整数"],
        [3, "kind", "「leased」不是可选值之一：new, renewal, expansion"],
        [3, "end_date", "「not a day」不是日期（格式如 2026-01-31）"],
        [2, "customer_id", "customers 中没有 id 为 999 的记录"],
    ]
    typed = CONTRACT_HEADER.split(",") + ["abc", "not a day", "leased", "new", "renewal", "expansion", "customers"]
    assert [m for m in shown["message"] if english_words(m, typed)] == []
    assert report.to_dataframe("en").values.tolist()[0] == [2, "amount_cents", "'abc' is not a whole number"]
