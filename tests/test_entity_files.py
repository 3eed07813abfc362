"""Exports in the file schema: headers in the reader's language, yuan, labels, business keys, no ids,
personal data masked unless asked; from a tiny store built by hand, so every value is known."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook

from ops_core import entity_files, writes
from ops_core.db.engine import transaction
from ops_core.errors import UsageError
from tests.factories import make_csm, make_customer

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
                "Customer code"],
               ["上海某机械有限公司", "李*", "139****1111", "l***@example.com.cn", "Manager", "Manufacturing", 800, "yes",
                T(2025, 4, 11, 9, 0), T(2025, 5, 1, 14, 0), Decimal("120000.00"), None, None, "C2025001"]),
        "zh": (["公司名称", "联系人姓名", "电话", "电子邮箱", "职级", "行业", "员工人数", "预算已确认", "创建时间", "转为商机时间",
                "商机金额(元)", "成交时间", "成交金额(元)", "客户编号"],
               ["上海某机械有限公司", "李*", "139****1111", "l***@example.com.cn", "经理", "制造业", 800, "是",
                T(2025, 4, 11, 9, 0), T(2025, 5, 1, 14, 0), Decimal("120000.00"), None, None, "C2025001"]),
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
        contacts = entity_files.export_file(conn, "contacts", "zh", masked=False)
        touches = entity_files.export_file(conn, "lead_touches", "en", masked=False)
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
