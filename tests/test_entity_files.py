"""Exports in the file schema: headers in the reader's language, yuan, labels, business keys, no ids,
personal data masked unless asked; from a tiny store built by hand, so every value is known."""
from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from ops_core import cells, entity_files, fileschema, readers, writes
from ops_core.db.engine import transaction
from ops_core.errors import UsageError
from tests.factories import make_csm, make_customer

ROOT = Path(__file__).resolve().parents[1]
D = dt.date
T = dt.datetime


def _add(session, entity, **values):
    return writes.create(session, writes.LOCAL_ADMIN, entity, values)


@pytest.fixture
def tiny(fresh_engine):
    """One of each entity (two contracts: a new one and its renewal)."""
    with transaction(fresh_engine) as s:
        csm = make_csm(s, name="王芳")
        customer = make_customer(s, code="C2025001", name="华东精密制造有限公司", industry="manufacturing",
                                 region="east_china", employees=1200, size_band="large", listed=True,
                                 partnership_level="gold", demand_type="configured", csm_id=csm["id"],
                                 created_on=D(2024, 5, 6))
        _add(s, "contacts", customer_id=customer["id"], name="张伟", title="生产总监", role="boss", is_key=True,
             phone="13812341234", email="zhang.wei@example.com", start_date=D(2024, 5, 6))
        first = _add(s, "contracts", code="HT-2024-01", customer_id=customer["id"], kind="new", product_line="MES",
                     signed_on=D(2024, 5, 10), start_date=D(2024, 6, 1), end_date=D(2025, 5, 31),
                     amount_cents=8_680_050, delivery_cost_cents=1_000_000, service_cost_cents=250_000)
        renewal = _add(s, "contracts", code="HT-2025-01", customer_id=customer["id"], kind="renewal", product_line="IoT",
                       signed_on=D(2025, 5, 20), start_date=D(2025, 6, 1), end_date=D(2026, 5, 31),
                       amount_cents=123_456_789, renewal_of_id=first["id"])
        invoice = _add(s, "invoices", number="FP-0001", customer_id=customer["id"], contract_id=renewal["id"],
                       issued_on=D(2025, 6, 1), due_on=D(2025, 7, 1), amount_cents=4_340_000)
        _add(s, "payments", reference="R2025-000001", invoice_id=invoice["id"], paid_on=D(2025, 6, 20),
             amount_cents=4_340_000)
        _add(s, "usage_daily", customer_id=customer["id"], day=D(2025, 6, 2), active_users=12, sessions=30,
             page_views=400, unique_visitors=15, feature_events=88)
        _add(s, "feedback", customer_id=customer["id"], channel="wechat", received_at=T(2025, 6, 3, 10, 30),
             product_area="reports", text="=导出报表很慢", severity="high", importance="blocker", status="new")
        event = _add(s, "events", name="2025 智能制造展", format="offline", kind="exhibition", organisation="sponsored",
                     start_date=D(2025, 4, 10), end_date=D(2025, 4, 12), location="上海", purposes="acquisition,conversion",
                     budget_cents=20_000_000, goal_leads=100, goal_revenue_cents=150_000_000)
        _add(s, "event_costs", event_id=event["id"], category="venue", amount_cents=5_000_000, note="展位")
        lead = _add(s, "leads", company="上海某机械有限公司", contact_name="李娜", phone="13900001111",
                    email="li.na@example.com.cn", title_level="manager", company_size=800, industry="manufacturing",
                    budget_confirmed=True, created_at=T(2025, 4, 11, 9, 0), opportunity_at=T(2025, 5, 1, 14, 0),
                    opportunity_amount_cents=12_000_000, customer_id=customer["id"])
        _add(s, "lead_touches", lead_id=lead["id"], event_id=event["id"], touched_at=T(2025, 4, 11, 9, 0))
    return fresh_engine


# entity -> language -> (headers, the last row's cells), masked as exported by default.
EXPECTED = {
    "customers": {
        "en": (["Customer code", "Customer name", "Industry", "Region", "Employees", "Size band", "Partnership level",
                "Demand type", "Fortune 500", "Listed company", "High valuation", "Reference case",
                "Competitor price cut", "CSM", "Customer since"],
               ["C2025001", "华东精密制造有限公司", "Manufacturing", "East China", 1200, "Large (1,000-4,999)", "Gold",
                "Configured", "no", "yes", "no", "no", "no", "王芳", D(2024, 5, 6)]),
        "zh": (["客户编号", "客户名称", "行业", "区域", "员工人数", "规模档", "合作级别", "需求类型", "世界500强", "上市公司",
                "高估值企业", "标杆案例", "竞品降价", "客户成功经理", "建档日期"],
               ["C2025001", "华东精密制造有限公司", "制造业", "华东", 1200, "大型（1000-4999人）", "金牌", "配置型", "否", "是",
                "否", "否", "否", "王芳", D(2024, 5, 6)]),
    },
    "contacts": {
        "en": (["Customer code", "Contact name", "E-mail", "Phone", "Job title", "Role", "Key contact", "Contact since",
                "Contact until"],
               ["C2025001", "张*", "z***@example.com", "138****1234", "生产总监", "Decision-making boss", "yes",
                D(2024, 5, 6), None]),
        "zh": (["客户编号", "联系人姓名", "电子邮箱", "电话", "职务", "角色", "关键联系人", "起始日期", "结束日期"],
               ["C2025001", "张*", "z***@example.com", "138****1234", "生产总监", "决策老板", "是", D(2024, 5, 6), None]),
    },
    "contracts": {
        "en": (["Contract code", "Customer code", "Contract kind", "Product line", "Signed on", "Start date", "End date",
                "Amount (yuan)", "Delivery cost (yuan)", "Service cost (yuan)", "Renews contract"],
               ["HT-2025-01", "C2025001", "Renewal", "IoT", D(2025, 5, 20), D(2025, 6, 1), D(2026, 5, 31),
                Decimal("1234567.89"), Decimal("0.00"), Decimal("0.00"), "HT-2024-01"]),
        "zh": (["合同编号", "客户编号", "合同类型", "产品线", "签约日期", "开始日期", "结束日期", "合同金额(元)", "交付成本(元)",
                "服务成本(元)", "续约原合同"],
               ["HT-2025-01", "C2025001", "续约", "物联网", D(2025, 5, 20), D(2025, 6, 1), D(2026, 5, 31),
                Decimal("1234567.89"), Decimal("0.00"), Decimal("0.00"), "HT-2024-01"]),
    },
    "invoices": {
        "en": (["Invoice number", "Contract code", "Customer code", "Issued on", "Due on", "Amount (yuan)"],
               ["FP-0001", "HT-2025-01", "C2025001", D(2025, 6, 1), D(2025, 7, 1), Decimal("43400.00")]),
        "zh": (["发票号码", "合同编号", "客户编号", "开票日期", "到期日期", "发票金额(元)"],
               ["FP-0001", "HT-2025-01", "C2025001", D(2025, 6, 1), D(2025, 7, 1), Decimal("43400.00")]),
    },
    "payments": {
        "en": (["Receipt number", "Invoice number", "Paid on", "Amount (yuan)"],
               ["R2025-000001", "FP-0001", D(2025, 6, 20), Decimal("43400.00")]),
        "zh": (["收款单号", "发票号码", "回款日期", "回款金额(元)"],
               ["R2025-000001", "FP-0001", D(2025, 6, 20), Decimal("43400.00")]),
    },
    "usage": {
        "en": (["Customer code", "Day", "Active users", "Sessions", "Page views", "Unique visitors", "Feature events"],
               ["C2025001", D(2025, 6, 2), 12, 30, 400, 15, 88]),
        "zh": (["客户编号", "日期", "活跃用户数", "会话数", "页面浏览量", "独立访客数", "功能事件数"],
               ["C2025001", D(2025, 6, 2), 12, 30, 400, 15, 88]),
    },
    "feedback": {
        "en": (["Customer code", "Received at", "Channel", "Product area", "Feedback", "Severity", "Importance"],
               ["C2025001", T(2025, 6, 3, 10, 30), "WeChat", "Reports", "=导出报表很慢", "High", "Blocker"]),
        "zh": (["客户编号", "接收时间", "渠道", "产品模块", "反馈内容", "严重程度", "重要性"],
               ["C2025001", T(2025, 6, 3, 10, 30), "微信", "报表", "=导出报表很慢", "高", "阻塞"]),
    },
    "events": {
        "en": (["Event name", "Start date", "End date", "Format", "Event type", "Organisation", "Location", "Purposes",
                "Budget (yuan)", "Goal: leads", "Goal: effective leads", "Goal: opportunities", "Goal: conversions",
                "Goal: revenue (yuan)"],
               ["2025 智能制造展", D(2025, 4, 10), D(2025, 4, 12), "Offline", "Industry exhibition", "Sponsored", "上海",
                "Acquisition, Conversion", Decimal("200000.00"), 100, None, None, None, Decimal("1500000.00")]),
        "zh": (["活动名称", "开始日期", "结束日期", "形式", "活动类型", "组织方式", "地点", "活动目的", "预算(元)", "目标线索数",
                "目标有效线索数", "目标商机数", "目标成交数", "目标收入(元)"],
               ["2025 智能制造展", D(2025, 4, 10), D(2025, 4, 12), "线下", "行业展会", "赞助", "上海", "获客、转化",
                Decimal("200000.00"), 100, None, None, None, Decimal("1500000.00")]),
    },
    "event_costs": {
        "en": (["Event name", "Event start date", "Cost category", "Note", "Amount (yuan)"],
               ["2025 智能制造展", D(2025, 4, 10), "Venue", "展位", Decimal("50000.00")]),
        "zh": (["活动名称", "活动开始日期", "费用类别", "备注", "金额(元)"],
               ["2025 智能制造展", D(2025, 4, 10), "场地", "展位", Decimal("50000.00")]),
    },
    "leads": {
        "en": (["Company", "Contact name", "Phone", "E-mail", "Title level", "Industry", "Employees", "Budget confirmed",
                "Created at", "Opportunity at", "Opportunity amount (yuan)", "Won at", "Won amount (yuan)",
                "Customer code", "Lost at"],
               ["上海某机械有限公司", "李*", "139****1111", "l***@example.com.cn", "Manager", "Manufacturing", 800, "yes",
                T(2025, 4, 11, 9, 0), T(2025, 5, 1, 14, 0), Decimal("120000.00"), None, None, "C2025001", None]),
        "zh": (["公司名称", "联系人姓名", "电话", "电子邮箱", "职级", "行业", "员工人数", "预算已确认", "创建时间", "转为商机时间",
                "商机金额(元)", "成交时间", "成交金额(元)", "客户编号", "丢单时间"],
               ["上海某机械有限公司", "李*", "139****1111", "l***@example.com.cn", "经理", "制造业", 800, "是",
                T(2025, 4, 11, 9, 0), T(2025, 5, 1, 14, 0), Decimal("120000.00"), None, None, "C2025001", None]),
    },
    "lead_touches": {
        "en": (["Lead company", "Lead contact", "Event name", "Event start date", "Touched at"],
               ["上海某机械有限公司", "李*", "2025 智能制造展", D(2025, 4, 10), T(2025, 4, 11, 9, 0)]),
        "zh": (["线索公司", "线索联系人", "活动名称", "活动开始日期", "接触时间"],
               ["上海某机械有限公司", "李*", "2025 智能制造展", D(2025, 4, 10), T(2025, 4, 11, 9, 0)]),
    },
}


def _cells(row: pd.Series) -> list:
    """A row's cells with every kind of missing value (None, NA of a whole-number column) as None."""
    return [None if v is None or v is pd.NA or v is pd.NaT else v for v in row.tolist()]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("entity", list(EXPECTED))
def test_an_export_has_the_schema_headers_and_the_values_a_person_reads(tiny, entity, lang):
    with tiny.connect() as conn:
        df = entity_files.export_file(conn, entity, lang)
    headers, row = EXPECTED[entity][lang]
    assert list(df.columns) == headers
    assert len(df) == (2 if entity == "contracts" else 1)
    assert _cells(df.iloc[-1]) == row


def test_the_first_contract_renews_nothing_and_costs_are_yuan(tiny):
    with tiny.connect() as conn:
        df = entity_files.export_file(conn, "contracts", "en")
    # 8,680,050 cents, 1,000,000 cents and 250,000 cents as yuan.
    assert _cells(df.iloc[0])[7:] == [Decimal("86800.50"), Decimal("10000.00"), Decimal("2500.00"), None]


def test_unmasked_exports_show_names_phones_and_emails_in_full(tiny):
    with tiny.connect() as conn:
        contacts = entity_files.export_file(conn, "contacts", "zh", masked=False, actor=writes.LOCAL_ADMIN)
        touches = entity_files.export_file(conn, "lead_touches", "en", masked=False, actor=writes.LOCAL_ADMIN)
    assert contacts.iloc[0][["联系人姓名", "电子邮箱", "电话"]].tolist() == ["张伟", "zhang.wei@example.com", "13812341234"]
    assert touches.iloc[0]["Lead contact"] == "李娜"


def test_no_internal_id_leaves_the_store(tiny):
    for entity in EXPECTED:
        for lang in ("en", "zh"):
            with tiny.connect() as conn:
                df = entity_files.export_file(conn, entity, lang)
            assert not [c for c in df.columns if c == "id" or c.endswith("_id")], entity


def test_the_csv_writes_yuan_labels_and_dates_as_text_and_neutralises_formulas(tiny):
    with tiny.connect() as conn:
        contracts = entity_files.export_file(conn, "contracts", "zh")
        feedback = entity_files.export_file(conn, "feedback", "en")
    text = entity_files.file_bytes(contracts, "contracts", "zh", "csv").decode("utf-8-sig").splitlines()
    assert text == [
        "合同编号,客户编号,合同类型,产品线,签约日期,开始日期,结束日期,合同金额(元),交付成本(元),服务成本(元),续约原合同",
        "HT-2024-01,C2025001,新签,MES,2024-05-10,2024-06-01,2025-05-31,86800.50,10000.00,2500.00,",
        "HT-2025-01,C2025001,续约,物联网,2025-05-20,2025-06-01,2026-05-31,1234567.89,0.00,0.00,HT-2024-01",
    ]
    lines = entity_files.file_bytes(feedback, "feedback", "en", "csv").decode("utf-8-sig").splitlines()
    assert lines[1] == "C2025001,2025-06-03 10:30:00,WeChat,Reports,'=导出报表很慢,High,Blocker"


def test_the_excel_file_keeps_numbers_and_dates_with_their_formats(tiny):
    with tiny.connect() as conn:
        df = entity_files.export_file(conn, "contracts", "en")
    sheet = load_workbook(io.BytesIO(entity_files.file_bytes(df, "contracts", "en", "xlsx"))).active
    assert sheet.title == "Contracts"
    amount, start = sheet.cell(row=3, column=8), sheet.cell(row=3, column=6)
    assert (amount.value, amount.number_format) == (1234567.89, "#,##0.00")
    assert (start.value, start.number_format) == (T(2025, 6, 1), "yyyy-mm-dd")


def test_file_names_are_in_the_readers_language():
    assert entity_files.file_name("event_costs", "en", "csv") == "event_costs.csv"
    assert entity_files.file_name("event_costs", "zh", "xlsx") == "活动费用.xlsx"
    assert entity_files.file_name("payments", "zh", "csv", template=True) == "回款-模板.csv"


def test_an_unknown_entity_or_format_is_named():
    with pytest.raises(UsageError, match="unknown entity 'orders'; known: customers, contacts"):
        entity_files.schema_for("orders")
    with pytest.raises(UsageError, match="cannot write a 'json' file: use csv or xlsx"):
        entity_files.file_bytes(pd.DataFrame(), "customers", "en", "json")


# --- templates ------------------------------------------------------------------------------------

ENTITIES = list(EXPECTED)


def test_the_chinese_csv_template_of_contracts_reads_as_written():
    text = entity_files.template_bytes("contracts", "zh", "csv").decode("utf-8-sig").splitlines()
    money = "金额（元），最多两位小数（12000、12,000.00、¥12,000）；0 至 10,000,000,000"
    assert text == [
        "# 合同文件模板：表头下每行一条记录。以 # 开头的行是说明，导入时会跳过；导入前请删除示例行。",
        "# 合同编号：必填；文本；最多 32 个字符。合同编号；在所有文件中用它识别合同。",
        "# 客户编号：必填；客户文件中的客户编号；最多 32 个字符。签约客户的客户编号。",
        "# 合同类型：选填；可选值：新签、续约、增购；留空时：填写了续约的原合同时为续约，否则为新签。"
        "新签、续约或增购；留空时，填写了原合同的为续约，否则为新签。",
        "# 产品线：选填；可选值：MES、EAM、SCM、QMS、物联网、其他；留空时：MES。所售产品线；留空为 MES。",
        "# 签约日期：选填；日期（2025-03-01、2025/3/1、2025年3月1日）；留空时：开始日期。合同签订日期；留空时取开始日期。",
        "# 开始日期：必填；日期（2025-03-01、2025/3/1、2025年3月1日）。合同覆盖的第一天。",
        "# 结束日期：必填；日期（2025-03-01、2025/3/1、2025年3月1日）。合同覆盖的最后一天。",
        f'"# 合同金额(元)：必填；{money}。合同整个期限的金额，以元为单位（如 86,800.00）。"',
        f'"# 交付成本(元)：选填；{money}；留空时：0.00。交付该合同的成本，以元为单位；留空为 0。"',
        f'"# 服务成本(元)：选填；{money}；留空时：0.00。该合同的服务成本，以元为单位；留空为 0。"',
        "# 续约原合同：选填；合同文件中的合同编号；最多 32 个字符；留空时：保持为空。本合同续约的原合同编号；原合同可在同一文件中。",
        "合同编号,客户编号,合同类型,产品线,签约日期,开始日期,结束日期,合同金额(元),交付成本(元),服务成本(元),续约原合同",
        "HT-2025-001,C2025001,新签,MES,2025-03-15,2025-04-01,2026-03-31,86800.00,12000.00,5000.00,",
    ]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("entity", ENTITIES)
def test_a_csv_template_is_notes_then_the_export_headers_and_an_example_every_cell_reads_back(entity, lang):
    with readers.open_table(entity_files.template_bytes(entity, lang, "csv"), "t.csv") as table:
        header, header_row, rows = table.header, table.header_row, list(table.rows)
    schema = entity_files.schema_for(entity)
    assert list(header) == EXPECTED[entity][lang][0]
    assert header_row == len(schema.fields) + 2  # a title note and one note per field come first
    [(_, cells_of_row)] = rows
    example = entity_files._EXAMPLES[entity]
    for field, cell in zip(schema.fields, cells_of_row, strict=True):
        expected = entity_files._in_language(example.get(field.name), lang)
        if field.kind is fileschema.Kind.ref and expected is not None and not isinstance(expected, dt.date):
            expected = cells.normalise(expected)
        assert cells.read_cell(field, cell) == expected, field.name


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("entity", ENTITIES)
def test_an_excel_template_has_the_data_sheet_and_a_sheet_describing_each_field(entity, lang):
    book = load_workbook(io.BytesIO(entity_files.template_bytes(entity, lang, "xlsx")))
    schema = entity_files.schema_for(entity)
    assert book.sheetnames == [schema.title(lang), "字段说明" if lang == "zh" else "Fields"]
    data, fields = book.worksheets
    assert [c.value for c in data[1]] == EXPECTED[entity][lang][0]
    assert data.max_row == 2
    rows = [[c.value for c in row] for row in fields.iter_rows()]
    assert rows[0] == (["列名", "是否必填", "类型", "允许的值", "留空时", "说明"] if lang == "zh"
                       else ["Column", "Required", "Kind", "Allowed values", "When empty", "Help"])
    assert [r[0] for r in rows[1:]] == EXPECTED[entity][lang][0]


def test_the_fields_sheet_says_what_each_field_takes():
    book = load_workbook(io.BytesIO(entity_files.template_bytes("customers", "zh", "xlsx")))
    rows = {r[0]: r for r in ([c.value or "" for c in row] for row in book.worksheets[1].iter_rows(min_row=2))}
    assert rows["合作级别"] == ["合作级别", "选填", "允许的值之一", "普通、银牌、金牌、战略", "普通", "留空为普通。"]
    assert rows["员工人数"] == ["员工人数", "必填", "整数", "0 至 10,000,000", "", "客户的员工人数，整数。"]
    assert rows["规模档"][4] == "按员工人数推算"
    assert rows["客户成功经理"][1:5] == ["选填", "客户成功经理名单中的名称", "最多 128 个字符", "保持为空"]
    book = load_workbook(io.BytesIO(entity_files.template_bytes("invoices", "en", "xlsx")))
    rows = {r[0]: r for r in ([c.value or "" for c in row] for row in book.worksheets[1].iter_rows(min_row=2))}
    assert rows["Customer code"][1:5] == ["optional", "Customer code from the Customers file", "at most 32 characters",
                                         "the contract's customer"]
    amount = book.worksheets[0].cell(row=2, column=6)
    assert (amount.value, amount.number_format) == (43400, "#,##0.00")  # 4,340,000 cents


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops_core.io", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_template_command_writes_the_file_in_the_chosen_language(tmp_path):
    target = tmp_path / "合同模板.xlsx"
    done = _cli("template", "contracts", str(target), "--lang", "zh")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"wrote the contracts template (简体中文) to {target}\n"
    assert load_workbook(target).sheetnames == ["合同", "字段说明"]
    done = _cli("template", "payments", str(tmp_path / "payments.csv"))
    assert done.returncode == 0
    assert (tmp_path / "payments.csv").read_text("utf-8-sig").splitlines()[-2:] == [
        "Receipt number,Invoice number,Paid on,Amount (yuan)", "R2025-000001,FP-2025-0001,2025-04-20,43400.00"]


def test_the_template_command_names_a_bad_file_or_entity(tmp_path):
    done = _cli("template", "contracts", str(tmp_path / "t.json"))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: cannot write 't.json': use a .csv or .xlsx file name\n"
    done = _cli("template", "orders", str(tmp_path / "t.csv"))
    assert done.returncode == 2
    assert done.stderr.startswith("error: unknown entity 'orders'; known: customers, contacts,")
    done = _cli("template", "usage", str(tmp_path / "missing" / "t.csv"))
    missing = tmp_path / "missing"
    assert done.stderr == f"error: cannot write '{missing / 't.csv'}': the folder {missing} does not exist\n"
    assert not (tmp_path / "t.csv").exists()
