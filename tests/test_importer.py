"""Importing a person's file: their headers, yuan, labels and business keys; preview, update instead of
duplicates, all or nothing or the valid rows, and a clear message for every bad cell or row."""
from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from ops_core import entity_files, importer, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.db.schema import upgrade
from ops_core.errors import PermissionDenied, UsageError
from ops_core.fileschema import SCHEMAS
from ops_core.vocab import Role
from tests.conftest import small_company
from tests.factories import make_csm
from tests.wording import english_words

ROOT = Path(__file__).resolve().parent.parent
ADMIN = writes.LOCAL_ADMIN

# A CRM's customer export, as a Chinese team's CRM writes it: Chinese headers, labels, 2025/3/1 dates.
CUSTOMERS_ZH = ("客户编号,客户名称,行业,区域,员工人数,合作级别,客户成功经理,建档日期\n"
                "C2025001,华东精密制造有限公司,制造业,华东,1200,金牌,王芳,2025/3/1\n"
                "C2025002,北方能源集团,能源,华北,80,,,2025年3月2日\n")
# A billing system's contracts: customers by code, amounts in yuan; the renewal comes before its contract.
CONTRACTS = ("合同编号,客户编号,开始日期,结束日期,合同金额(元),续约原合同\n"
             "HT-2,c2025001,2026-04-01,2027-03-31,\"86,800.50\",HT-1\n"
             "HT-1,C2025001,2025-04-01,2026-03-31,¥86800,\n")


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(TABLES[table])).scalar_one()


def _run(engine, entity: str, text: str | bytes, name: str = "file.csv", **options):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return importer.run(engine, ADMIN, entity, data, name, **options)


@pytest.fixture
def with_csm(fresh_engine):
    with transaction(fresh_engine) as s:
        make_csm(s, name="王芳")
    return fresh_engine


def test_a_crm_customer_file_in_chinese_goes_in_without_edits(with_csm):
    outcome = _run(with_csm, "customers", CUSTOMERS_ZH.encode("gbk"), "客户.csv")
    assert outcome.problems == [] and (outcome.added, outcome.written) == (2, True)
    assert outcome.detected.described("zh") == "GB18030 编码，逗号分隔"
    with with_csm.connect() as conn:
        shown = entity_files.export_file(conn, "customers", "zh", masked=False)
    # Derived and defaulted: 1,200 employees is the large band, 80 the small one (fileschema.size_band_of);
    # a blank partnership level is basic (普通); the CSM is found by name.
    assert shown[["客户编号", "行业", "区域", "规模档", "合作级别", "客户成功经理", "建档日期"]].values.tolist() == [
        ["C2025001", "制造业", "华东", "大型（1000-4999人）", "金牌", "王芳", dt.date(2025, 3, 1)],
        ["C2025002", "能源", "华北", "小型（50-249人）", "普通", None, dt.date(2025, 3, 2)],
    ]


def test_reimporting_the_same_file_changes_nothing_and_a_refreshed_one_updates(with_csm):
    assert _run(with_csm, "customers", CUSTOMERS_ZH).added == 2
    again = _run(with_csm, "customers", CUSTOMERS_ZH)
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 0)
    refreshed = CUSTOMERS_ZH.replace(",1200,", ",1300,") + "C2025003,新客户,零售,华南,20,,,2025-05-01\n"
    preview = _run(with_csm, "customers", refreshed, dry_run=True, lang="zh")
    assert (preview.added, preview.updated, preview.unchanged) == (1, 1, 1)
    assert preview.changes_frame("zh").values.tolist() == [[2, "C2025001", "员工人数", 1200, 1300]]
    assert _count(with_csm, "customers") == 2      # the preview wrote nothing
    done = _run(with_csm, "customers", refreshed)
    assert (done.added, done.updated, done.unchanged) == (1, 1, 1)
    log = TABLES["audit_log"]
    with with_csm.connect() as conn:
        change = conn.execute(select(log.c.old_values, log.c.new_values, log.c.actor)
                              .where(log.c.action == "update", log.c.entity == "customers")).one()
        version = conn.execute(select(TABLES["customers"].c.version).where(TABLES["customers"].c.code == "C2025001")).scalar()
    assert change.old_values == {"employees": 1200, "version": 1}
    assert change.new_values == {"employees": 1300, "version": 2} and change.actor == ADMIN.username
    assert version == 2


def test_a_blank_optional_cell_keeps_what_is_stored_on_update(with_csm):
    _run(with_csm, "customers", CUSTOMERS_ZH)      # C2025001 is gold (金牌)
    blank = CUSTOMERS_ZH.replace(",金牌,", ",,")
    assert _run(with_csm, "customers", blank).unchanged == 2
    without_column = "客户编号,客户名称,行业,区域,员工人数,建档日期\nC2025001,华东精密制造有限公司,制造业,华东,1200,2025-03-01\n"
    assert _run(with_csm, "customers", without_column).unchanged == 1


def test_the_same_payments_file_imported_three_times_pays_once(with_csm):
    _run(with_csm, "customers", CUSTOMERS_ZH)
    _run(with_csm, "contracts", CONTRACTS)
    _run(with_csm, "invoices", "发票号码,合同编号,开票日期,到期日期,发票金额(元)\nFP-1,HT-1,2025-04-01,2025-05-01,86800\n")
    payments = "收款单号,发票号码,回款日期,回款金额(元)\nR-1,FP-1,2025-04-20,\"43,400.00\"\nR-2,FP-1,2025-05-20,43400\n"
    results = [_run(with_csm, "payments", payments) for _ in range(3)]
    assert [(r.added, r.unchanged) for r in results] == [(2, 0), (0, 2), (0, 2)]
    with with_csm.connect() as conn:
        paid = conn.execute(select(func.sum(TABLES["payments"].c.amount_cents))).scalar()
    assert paid == 8_680_000   # 43,400.00 + 43,400 yuan, once each, in cents


def test_contracts_name_customers_by_code_and_a_renewal_may_come_before_its_contract(with_csm):
    _run(with_csm, "customers", CUSTOMERS_ZH)
    outcome = _run(with_csm, "contracts", CONTRACTS)
    assert outcome.problems == [] and outcome.added == 2
    with with_csm.connect() as conn:
        shown = entity_files.export_file(conn, "contracts", "en")
    # The renewal is a renewal (derived: it names the contract it renews); 86,800.50 yuan stays 86,800.50.
    assert shown[["Contract code", "Customer code", "Contract kind", "Amount (yuan)", "Renews contract"]].fillna("").astype(str).values.tolist() == [
        ["HT-1", "C2025001", "New", "86800.00", ""],
        ["HT-2", "C2025001", "Renewal", "86800.50", "HT-1"],
    ]


def test_an_all_or_nothing_import_with_bad_rows_writes_nothing_and_names_each_problem(with_csm):
    _run(with_csm, "customers", CUSTOMERS_ZH)
    bad = ("合同编号,客户编号,开始日期,结束日期,合同金额(元)\n"
           "HT-1,C2025001,2025-04-01,2026-03-31,86800\n"
           "HT-2,C2025009,2025-04-01,2026-03-31,1e10000000\n"
           "HT-3,C2025001,2026-01-01xyz,2026-03-31,Infinity\n"
           "HT-1,C2025001,2025-04-01,2026-03-31,100\n"
           "HT-4,C2025001,03/01/2025,2026-03-31,86800.505\n"
           "HT-5,C2025001,2025-04-01,2025-03-31,100\n")
    outcome = _run(with_csm, "contracts", bad, lang="zh")
    assert outcome.refused and not outcome.written and _count(with_csm, "contracts") == 0
    assert (outcome.rows, outcome.rejected) == (6, 5)
    assert outcome.problem_lines("en") == [
        "row 3, column '合同金额(元)': '1e10000000' is written with an exponent (e or E): write the number out in full, like 1200",
        "row 3, column '客户编号': 'C2025009' is not a Customer code of any of the Customers in the store or in this file: "
        "import them first, or correct the value",
        "row 4, column '开始日期': '2026-01-01xyz' is not a date: write it as YYYY-MM-DD, like 2025-03-01 "
        "(2025/3/1, 2025.3.1 and 2025年3月1日 are read too)",
        "row 4, column '合同金额(元)': 'Infinity' is not an amount in yuan: write it like 12000, 12,000.00 or ¥12,000",
        "row 5: HT-1 appears already in row 2 of this file: keep one of the two rows",
        "row 6, column '开始日期': '03/01/2025' does not say whether the day or the month comes first: "
        "write the date as YYYY-MM-DD, like 2025-03-01",
        "row 6, column '合同金额(元)': '86800.505' has more than two decimals: give yuan with at most 2 decimals (fen)",
        "row 7, column '结束日期': '2025-03-31' is before Start date (2025-04-01): it cannot be earlier",
    ]
    typed = ["HT", "C", "xyz", "Infinity", "e"]
    assert [line for line in outcome.problem_lines("zh") if english_words(line, typed)] == []
    assert outcome.summary("zh") == ("file.csv：6 行中有 5 行存在问题，因此未导入任何数据（全部或全不）。"
                                     "请改正后重试，或选择只写入有效行，并以文件形式取回被拒绝的行。")


def test_valid_rows_are_written_and_the_rejected_ones_come_back_with_a_reason(with_csm):
    _run(with_csm, "customers", CUSTOMERS_ZH)
    mixed = ("合同编号,客户编号,开始日期,结束日期,合同金额(元)\n"
             "HT-1,C2025001,2025-04-01,2026-03-31,86800\n"
             "HT-2,C2025009,2025-04-01,2026-03-31,100\n")
    outcome = _run(with_csm, "contracts", mixed, valid_rows=True, lang="zh")
    assert (outcome.added, outcome.rejected, outcome.written) == (1, 1, True)
    assert _count(with_csm, "contracts") == 1
    rejected = pd.read_csv(io.BytesIO(outcome.rejected_file("zh")), dtype=str, encoding="utf-8-sig")
    assert rejected.columns.tolist() == ["合同编号", "客户编号", "开始日期", "结束日期", "合同金额(元)", "拒绝原因"]
    assert rejected.values.tolist() == [["HT-2", "C2025009", "2025-04-01", "2026-03-31", "100",
                                         "客户编号: 「C2025009」不是数据库或本文件中任何客户的客户编号：请先导入，或改正该值"]]
    # The rejected file, corrected, goes in as it is (the reason column is not a field: it is ignored).
    fixed = outcome.rejected_file("zh").decode("utf-8-sig").replace("C2025009", "C2025002")
    assert _run(with_csm, "contracts", fixed).added == 1


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("客户编号,客户名称\n", "The file has no column for 'Industry', which is required", id="header-only"),
    pytest.param("code,name,industry,region,employees\nC1,甲,制造业,华东,5\n",
                 "The file has no column for 'Customer since', which is required", id="missing-column"),
    pytest.param("code,客户编号,name,industry,region,employees,created_on\n",
                 "column '客户编号': fills 'Customer code', as column 'code' does already", id="two-columns-one-field"),
])
def test_a_file_that_cannot_be_this_entity_is_refused_before_any_row(with_csm, text, message):
    header = text.splitlines()[0].split(",")
    columns = {name: importer.schema_for("customers").match(name).name if importer.schema_for("customers").match(name)
               else None for name in header}   # as a person may map them, twice to one field included
    outcome = _run(with_csm, "customers", text, columns=columns)
    assert outcome.refused and outcome.rows == 0 and _count(with_csm, "customers") == 0
    assert any(line.startswith(message) for line in outcome.problem_lines("en")), outcome.problem_lines("en")


def test_extra_columns_are_ignored_and_a_header_only_file_adds_nothing(with_csm):
    extra = "客户编号,客户名称,行业,区域,员工人数,建档日期,备注\nC1,甲,制造业,华东,5,2025-01-01,老客户\n"
    outcome = _run(with_csm, "customers", extra)
    assert outcome.columns["备注"] is None and outcome.added == 1
    empty = _run(with_csm, "customers", "客户编号,客户名称,行业,区域,员工人数,建档日期\n")
    assert (empty.rows, empty.added, empty.problems) == (0, 0, [])


@pytest.mark.parametrize(("encoding", "delimiter"), [("gbk", ","), ("gb18030", ";"), ("utf-16", "\t"), ("utf-8-sig", ",")])
def test_gbk_utf16_and_bom_files_with_any_delimiter_are_read(with_csm, encoding, delimiter):
    data = CUSTOMERS_ZH.replace(",", delimiter).encode(encoding)
    assert _run(with_csm, "customers", data, "customers.txt" if encoding == "utf-16" else "customers.csv").added == 2


def test_a_viewer_may_not_import(with_csm):
    with pytest.raises(PermissionDenied, match="viewer"):
        importer.run(with_csm, writes.Actor("guest", Role.viewer), "customers", CUSTOMERS_ZH.encode(), "c.csv")
    assert _count(with_csm, "customers") == 0


def test_an_unreadable_file_is_a_clear_problem(with_csm):
    with pytest.raises(UsageError, match="is empty"):
        _run(with_csm, "customers", b"")


def test_headers_are_suggested_through_aliases_and_a_saved_mapping_is_offered_again(with_csm):
    header = ["Customer_Code", "公司名称", "所属行业", "大区", "人数", "创建日期", "负责人", "whatever"]
    assert importer.suggest_columns("customers", header) == {
        "Customer_Code": "code", "公司名称": "name", "所属行业": "industry", "大区": "region", "人数": "employees",
        "创建日期": "created_on", "负责人": "csm", "whatever": None}
    own = {"编号": "code", "名称": "name", "行业": "industry", "区域": "region", "员工": "employees", "日期": "created_on"}
    with transaction(with_csm) as s:
        importer.save_mapping(s, ADMIN, "CRM customers", "customers", own)
    with with_csm.connect() as conn:
        saved = importer.saved_mappings(conn, "customers")
        assert importer.saved_mappings(conn, "contracts") == {}
    assert saved == {"CRM customers": own}
    columns = importer.columns_for([*own, "备注"], "customers", saved["CRM customers"])
    assert columns == {**own, "备注": None}
    outcome = _run(with_csm, "customers", "编号,名称,行业,区域,员工,日期,备注\nC1,甲,制造业,华东,5,2025-01-01,x\n",
                   columns=columns)
    assert outcome.added == 1


def test_every_entity_exported_imports_into_an_empty_store_as_the_same_rows_and_again_changes_nothing(new_store_url):
    """The round trip of issue 13: export each entity's file (zh, unmasked) from a small demo company,
    import them in load order into an empty store, export again: the files are equal; importing them a
    second time adds and changes nothing."""
    source = make_engine(small_company(new_store_url))
    target = make_engine(new_store_url())
    upgrade(target)
    files = {}
    with target.begin() as conn:   # the CSMs are a lookup list, not a file: copy them as they are
        with source.connect() as read:
            conn.execute(TABLES["csms"].insert(), [dict(r) for r in read.execute(select(TABLES["csms"])).mappings()])
    for entity in SCHEMAS:
        with source.connect() as conn:
            frame = entity_files.export_file(conn, entity, "zh", masked=False, actor=writes.LOCAL_ADMIN)
        files[entity] = entity_files.file_bytes(frame, entity, "zh", "csv")
        outcome = _run(target, entity, files[entity], f"{entity}.csv")
        assert outcome.problems == [], (entity, outcome.problem_lines("en")[:5])
        assert outcome.added == len(frame), entity
    for entity in SCHEMAS:
        keys = [SCHEMAS[entity].field(name).header("zh") for name in SCHEMAS[entity].key_fields()]
        with source.connect() as a, target.connect() as b:   # in key order: renewals are added after their contract
            before, after = (entity_files.export_file(c, entity, "zh", masked=False, actor=writes.LOCAL_ADMIN).sort_values(keys, ignore_index=True)
                             for c in (a, b))
        pd.testing.assert_frame_equal(before, after)
        again = _run(target, entity, files[entity], f"{entity}.csv")
        assert (again.added, again.updated, again.rejected) == (0, 0, 0), entity
    source.dispose()
    target.dispose()


# --- command line ------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops_core.io", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def test_cli_previews_imports_and_returns_the_rejected_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    path = tmp_path / "客户.csv"
    path.write_bytes(CUSTOMERS_ZH.replace("王芳", "").encode("gbk"))
    preview = _cli("import", "customers", str(path), "--database-url", url, "--dry-run", "--lang", "zh")
    assert (preview.returncode, preview.stderr) == (0, "")
    assert preview.stdout.splitlines() == ["客户.csv：读取 2 行：新增 2 行，更新 0 行，未变 0 行，拒绝 0 行。"]
    done = _cli("import", "customers", str(path), "--database-url", url)
    assert done.returncode == 0 and done.stdout.startswith("客户.csv (Customers): 2 added, 0 updated")
    path.write_bytes((CUSTOMERS_ZH.replace("王芳", "") + "C3,丙,外星,华东,5,,,2025-01-01\n").encode("gbk"))
    refused = _cli("import", "customers", str(path), "--database-url", url)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines()[0].startswith("row 4, column '行业': '外星' is not one of the allowed values")
    partial = _cli("import", "customers", str(path), "--database-url", url, "--valid-rows")
    assert partial.returncode == 0 and partial.stdout.startswith("客户.csv (Customers): 0 added, 0 updated, 2 unchanged, 1 rejected")
    rejected = tmp_path / "客户-rejected.csv"
    assert rejected.read_text(encoding="utf-8-sig").splitlines()[1].startswith("C3,丙,外星")


def test_cli_takes_a_saved_mapping_by_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        importer.save_mapping(s, ADMIN, "CRM customers", "customers",
                              {"编号": "code", "名称": "name", "行业": "industry", "区域": "region", "员工": "employees",
                               "日期": "created_on"})
    engine.dispose()
    path = tmp_path / "crm.csv"
    path.write_text("编号,名称,行业,区域,员工,日期\nC1,甲,制造业,华东,5,2025-01-01\n", encoding="utf-8")
    unmapped = _cli("import", "customers", str(path), "--database-url", url)
    assert unmapped.returncode == 2
    mapped = _cli("import", "customers", str(path), "--database-url", url, "--mapping", "CRM customers")
    assert mapped.returncode == 0, mapped.stderr
    unknown = _cli("import", "customers", str(path), "--database-url", url, "--mapping", "ERP")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "error: there is no saved mapping 'ERP' for customers; saved: CRM customers"


def test_the_readme_lists_every_entitys_fields_as_the_file_schema_declares_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- file-fields -->\n") + len("<!-- file-fields -->\n"), readme.index("<!-- /file-fields -->")
    assert readme[start:end] == entity_files.fields_markdown(), "regenerate with entity_files.fields_markdown()"


def test_a_store_loaded_by_the_demo_builder_is_matched_by_time_and_day(new_store_url):
    """Seen: feedback exported from the demo company and imported back was "3 to add" instead of
    unchanged (the demo builder keeps times without fractions of a second, which an exact match missed)."""
    engine = make_engine(small_company(new_store_url))
    for entity in ("feedback", "usage", "lead_touches"):
        with engine.connect() as conn:
            frame = entity_files.export_file(conn, entity, "zh", masked=False, actor=writes.LOCAL_ADMIN).head(300)
        outcome = _run(engine, entity, entity_files.file_bytes(frame, entity, "zh", "csv"), f"{entity}.csv", dry_run=True)
        assert (outcome.added, outcome.updated, outcome.unchanged, outcome.rejected) == (0, 0, len(frame), 0), entity
    engine.dispose()


def test_a_masked_export_is_refused_row_by_row_instead_of_adding_masked_people(with_csm):
    """Seen: a masked contacts export imported back would have added contacts named 张* with a***@ mails."""
    _run(with_csm, "customers", CUSTOMERS_ZH)
    masked = "客户编号,联系人姓名,电子邮箱,电话,起始日期\nC2025001,张*,z***@example.com,138****1234,2025-03-01\n"
    outcome = _run(with_csm, "contacts", masked, lang="zh")
    assert outcome.refused and _count(with_csm, "contacts") == 0
    assert outcome.problem_lines("zh")[0] == ("第 2 行，列「联系人姓名」：「张*」是打码后的数据（仅供阅读的导出，个人信息已隐藏）："
                                              "请导入未打码的导出文件或您自己系统的文件")
    assert len(outcome.problems) == 3   # the name, the e-mail and the phone
