"""The deterministic demo company: a realistic B2B / industrial-software customer base at any size.

Same (customers, years, seed, end) gives identical rows. Generation is vectorised with NumPy and
streamed to the store in batches through ``ops_core.db.bulk`` (driver bulk path, one transaction,
the two big tables' secondary indexes built after the load); the ``usage_monthly`` roll-up is aggregated
from each chunk while its daily rows are in memory.

Rates the generator aims at (``tests/test_demo.py`` measures them on the generated data):
- customers: ~45 % exist before the window (first contract up to 4 years earlier), the rest are
  acquired through the window with growth (acquisition density rises ~2.2x from start to end);
  10 industries, 8 regions; ~85 % Chinese names (苏州恒达精密制造有限公司), ~15 % English
  ("Northwind Logistics Ltd"; overseas customers are ~90 % English); names are unique.
- employees lognormal (median ~220); size band follows vocab.SizeBand's bounds. Fortune 500 only
  at >= 1,000 employees (~25 % of enterprise, ~2 % of large); listed and high-valuation grow with size;
  reference cases ~5 %; competitor price cut ~6 %.
- CSMs: one per ~60 customers, at least 3, ~20 % senior / 35 % experienced / rest ordinary; large
  and enterprise accounts go to senior CSMs, medium to experienced, the rest to ordinary (15 % random).
- contracts: 80 % annual, 12 % 24-month, 8 % 36-month; annual value lognormal x Pareto tail, scaled
  by size band; at each end a logo churns with a hazard by size (micro 21 % .. enterprise 5.5 %,
  x1.5 with a competitor price cut), giving ~10-13 % annual logo churn. Renewals (kind 'renewal',
  renewal_of_id set) change the amount: 22 % expand (x1.1-1.6), 12 % contract (x0.6-0.92), the
  rest a 0-6 % uplift. ~10 % of contracts get a mid-term add-on (kind 'expansion', another product
  line, co-terminous, renewal_of_id NULL); its annual value rolls into the next renewal.
  22 % of churned logos come back 3-12 months later once: a win-back is kind 'new' with
  renewal_of_id NULL (the old contract had lapsed; indicators count it as reactivation).
- costs: delivery 10-45 % of a new contract (more for customised work), 0-10 % of a renewal;
  service 5-25 %, so gross profit varies.
- invoices: one per contract year (annual in advance, expansions once), due 30 or 60 days after
  issue; payers 65 % on time, 25 % late (1-60 days), 10 % slow (30-200 days), 8 % of invoices paid
  in two instalments. ~10 % of customers have an overdue invoice unpaid (fully or partly) at ``end``.
- referrals: ~4 % of acquired customers were referred by an older customer; half as many
  referrals never signed.
- contacts: 1-4 users each; a boss for ~85 %, a veto head for ~70 % (gaps on purpose); ~12 % had
  a key-contact change (old key contact with end_date, new one from a few days later).
- usage: on workdays while a contract is active: weekday pattern, Chinese New Year (x0.15 around
  the holiday, x0.7 the weeks around it), National Day (x0.2), summer (x0.82); 45-day onboarding
  ramp; over the 110 days before a churn activity falls linearly to 25 %. pv >= sessions >=
  active users > 0 (zero days are not stored), unique_visitors >= active users.
- account users: median ~10 per account (cap 60); 70 % register in the first weeks, the rest later;
  88 % activate within days, 12 % never; weekly activity follows a two-group retention curve
  (30 % long-lived, mean 150 weeks; 70 % short-lived, mean 10 weeks) times the account's activity.
- feedback: ~2 items per active customer per year, in Chinese and English, all five types with
  recurring paraphrased questions. Each item lives through a timeline on Monday-to-Friday time (the
  service timers' clock): a first response after a few hours (median 3), resolution in a quarter of
  the default resolution target of its severity and of the tier the customer's size usually earns
  (median; lognormal, so ~8 % take longer than the target), closure 1-10 days after that; the status
  is where the timeline stands at ``end``. So the open backlog is ~1-2 % of the items, mostly the last
  weeks', and ~10-25 % of it is past its resolution target, as in a team that keeps up.
- releases every ~6 weeks (v1.0, v1.1 ...), 2 future ones planned; demands ~1 per 15 customers
  (at least 30) in every status with full history; events 12-48 a year with 2-5 cost lines, leads,
  second touches and opportunities. Events source new customers whose first contracts come to about
  3.5 times what the events cost, a large deal mostly from an exhibition or a conference, so the
  company's event ROI is a few hundred per cent overall, most events between -100 % and a few hundred,
  a share of them losing money and few above 1,000 %.
"""
from __future__ import annotations

import argparse
import datetime as dt
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from ops_core import cli, demo_company, present, vocab, writes
from ops_core.config import setting_default
from ops_core.db import bulk, rollups
from ops_core.db.models import TABLES
from ops_core.demo_company import remove_demo_company
from ops_core.errors import UsageError
from ops_core.writes import SYSTEM, Actor

MAX_CUSTOMERS = 200_000
MAX_YEARS = 10
CHUNK = 2_000  # customers per usage batch: keeps memory flat and gives progress steps

Progress = Callable[[float, str], None]

# Tables the generator fills, parents first (foreign keys are enforced while loading).
DEMO_TABLES = (
    "csms", "customers", "contacts", "contracts", "invoices", "payments", "referrals", "releases",
    "demands", "demand_history", "demand_customers", "faq_entries", "account_users",
    "account_user_weeks", "usage_daily", "feedback", "feedback_history", "events", "event_costs", "leads",
    "lead_touches", "users",
)
# Derived from demo rows and removed with them on --replace (they reference customers / events).
_DEPENDENT_TABLES = ("score_snapshots", "event_reviews", "usage_monthly", "usage_periods", "usage_totals", "mrr_changes",
                     "mrr_totals", "metric_snapshots")
BIG_TABLES = ("usage_daily", "account_user_weeks")

INDUSTRIES = vocab.values(vocab.Industry)
INDUSTRY_P = (0.22, 0.08, 0.09, 0.08, 0.08, 0.07, 0.11, 0.08, 0.11, 0.08)
REGIONS = vocab.values(vocab.Region)
REGION_P = (0.30, 0.15, 0.18, 0.10, 0.08, 0.04, 0.05, 0.10)
SIZE_BANDS = vocab.values(vocab.SizeBand)
SIZE_BOUNDS = (50, 250, 1_000, 5_000)  # vocab.SizeBand comments
PRODUCTS = vocab.values(vocab.ProductLine)
PRODUCT_P = (0.40, 0.20, 0.15, 0.15, 0.10)

# Per size band (micro .. enterprise).
ANNUAL_YUAN = np.array([25_000, 60_000, 150_000, 450_000, 1_200_000], dtype=float)
CHURN_HAZARD = np.array([0.21, 0.145, 0.11, 0.077, 0.055])
PARTNERSHIP_P = np.array([[.80, .15, .04, .01], [.60, .28, .10, .02], [.40, .35, .20, .05],
                          [.20, .35, .30, .15], [.10, .25, .35, .30]])
DEMAND_TYPE_P = np.array([[.70, .25, .05, .00], [.55, .30, .12, .03], [.35, .35, .22, .08],
                          [.20, .30, .35, .15], [.10, .25, .40, .25]])
LISTED_P = np.array([0.0, 0.02, 0.08, 0.30, 0.60])

# --- words ---------------------------------------------------------------------------------------

ZH_CITIES = ("苏州", "无锡", "宁波", "杭州", "东莞", "佛山", "深圳", "青岛", "天津", "成都", "重庆", "武汉",
             "长沙", "合肥", "郑州", "西安", "沈阳", "大连", "厦门", "泉州", "常州", "南通", "嘉兴", "温州",
             "昆山", "烟台", "潍坊", "济南", "南京", "上海", "北京", "广州", "珠海", "中山")
ZH_BRANDS = (("恒达", "hengda"), ("华信", "huaxin"), ("瑞丰", "ruifeng"), ("宏远", "hongyuan"), ("金泰", "jintai"),
             ("永盛", "yongsheng"), ("鼎新", "dingxin"), ("联创", "lianchuang"), ("天成", "tiancheng"),
             ("博远", "boyuan"), ("海纳", "haina"), ("中瑞", "zhongrui"), ("佳禾", "jiahe"), ("明德", "mingde"),
             ("盛世", "shengshi"), ("新锐", "xinrui"), ("东方", "dongfang"), ("长城", "changcheng"),
             ("凯盛", "kaisheng"), ("富安", "fuan"), ("润泽", "runze"), ("鑫源", "xinyuan"), ("卓越", "zhuoyue"),
             ("华峰", "huafeng"), ("安达", "anda"), ("同力", "tongli"), ("弘毅", "hongyi"), ("立信", "lixin"),
             ("远航", "yuanhang"), ("嘉诚", "jiacheng"), ("振华", "zhenhua"), ("德馨", "dexin"),
             ("宝利", "baoli"), ("星辰", "xingchen"), ("汇通", "huitong"), ("荣昌", "rongchang"),
             ("正和", "zhenghe"), ("锦程", "jincheng"), ("启明", "qiming"), ("通达", "tongda"),
             ("泰和", "taihe"), ("银河", "yinhe"), ("腾飞", "tengfei"), ("科宇", "keyu"), ("辰光", "chenguang"),
             ("智達", "zhida"), ("华昌", "huachang"), ("兴业", "xingye"), ("中联", "zhonglian"),
             ("万宏", "wanhong"), ("精工", "jinggong"), ("皓月", "haoyue"), ("创元", "chuangyuan"),
             ("协力", "xieli"), ("百川", "baichuan"), ("鸿运", "hongyun"), ("恒信", "hengxin"),
             ("南洋", "nanyang"), ("北辰", "beichen"), ("天润", "tianrun"))
ZH_SECTORS = (
    ("精密制造", "机械", "装备制造", "重工", "机电"), ("建设工程", "建筑", "建工", "路桥"),
    ("物流", "供应链管理", "运输", "仓储"), ("能源", "电力", "新能源科技", "光伏"),
    ("商贸", "零售连锁", "百货", "商业"), ("医疗器械", "生物医药", "医药", "健康科技"),
    ("汽车零部件", "汽车电子", "车辆部件", "汽配"), ("化工", "新材料", "精细化工", "涂料"),
    ("电子", "半导体", "电子科技", "光电"), ("食品", "乳业", "饮料", "粮油"),
)
ZH_SUFFIXES = ("有限公司", "股份有限公司", "集团有限公司")
EN_BRANDS = ("Northwind", "Bluestone", "Redwood", "Silverline", "Summit", "Crescent", "Harbor", "Ironbridge",
             "Oakridge", "Pinecrest", "Granite", "Evergreen", "Falcon", "Meridian", "Horizon", "Keystone",
             "Lakeside", "Maple", "Atlas", "Beacon", "Cobalt", "Delta", "Eastgate", "Fairview", "Goldcrest",
             "Highland", "Ivory", "Juniper", "Kingsway", "Lighthouse", "Milestone", "Newport", "Orion",
             "Quartz", "Riverside", "Sterling", "Trident", "Vanguard", "Westfield", "Zenith", "Apex",
             "Boreal", "Cascade", "Dover", "Emerald", "Frontier", "Greystone", "Hawthorne", "Lancaster",
             "Mariner", "Norwood", "Pioneer", "Redcliff", "Stonebridge", "Thornbury", "Wexford", "Ashford",
             "Brightwater", "Clearwater", "Driftwood")
EN_MIDDLES = ("", "Global ", "Pacific ", "United ", "Advanced ", "Precision ", "International ", "Asia ")
EN_SECTORS = (
    ("Manufacturing", "Machinery", "Engineering", "Industries"), ("Construction", "Builders", "Infrastructure", "Contracting"),
    ("Logistics", "Freight", "Supply Chain", "Shipping"), ("Energy", "Power", "Renewables", "Solar"),
    ("Retail", "Trading", "Stores", "Commerce"), ("Medical", "Healthcare", "Pharma", "Life Sciences"),
    ("Automotive", "Auto Parts", "Motors", "Mobility"), ("Chemicals", "Materials", "Coatings", "Polymers"),
    ("Electronics", "Semiconductor", "Circuits", "Photonics"), ("Foods", "Dairy", "Beverages", "Grain"),
)
EN_SUFFIXES = ("Ltd", "Inc.", "Co., Ltd.", "Group", "GmbH", "Holdings")

ZH_SURNAMES = (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
               ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
               ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
               ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"))
ZH_GIVEN = (("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("强", "qiang"),
            ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"),
            ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("建华", "jianhua"),
            ("志强", "zhiqiang"), ("海燕", "haiyan"), ("晓东", "xiaodong"), ("丽华", "lihua"),
            ("国庆", "guoqing"), ("雪梅", "xuemei"), ("文博", "wenbo"), ("思远", "siyuan"), ("子涵", "zihan"))
EN_FIRST = ("James", "Emma", "Oliver", "Sophie", "William", "Grace", "Thomas", "Chloe", "Daniel", "Laura",
            "Michael", "Hannah", "David", "Olivia", "Peter", "Sarah", "Richard", "Anna", "Mark", "Julia")
EN_LAST = ("Smith", "Clark", "Baker", "Turner", "Walker", "Wright", "Hughes", "Evans", "Morgan", "Fischer",
           "Müller", "Hoffmann", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Martin", "Lewis", "Green")
TITLES = {  # (Chinese, English) per contact role
    "user": (("计划员", "设备工程师", "质检主管", "仓库主管", "IT专员"), ("Planner", "Maintenance Engineer", "QA Lead", "Warehouse Lead", "IT Specialist")),
    "boss": (("总经理", "副总经理", "董事长", "运营副总裁"), ("General Manager", "CEO", "Managing Director", "VP Operations")),
    "veto_head": (("IT部经理", "生产部部长", "财务总监", "采购经理"), ("Head of IT", "Production Director", "CFO", "Procurement Manager")),
}

# Recurring questions and problems, each with paraphrases in both languages (FAQ candidates).
TOPICS: tuple[dict[str, Any], ...] = (
    {"type": "usage_question", "area": "reports", "faq": ("如何把报表导出到 Excel？ / How do I export a report to Excel?",
                                                          "打开报表，点击右上角“导出”，选择 Excel (.xlsx)。 / Open the report, click Export (top right) and choose Excel (.xlsx)."),
     "zh": ("如何把报表导出成Excel？", "报表能不能导出到Excel表格里？", "请问月度产量报表怎么导出为xlsx文件？", "导出Excel的按钮在哪里？找不到"),
     "en": ("How do I export a report to Excel?", "Is there a way to download this report as an .xlsx file?",
            "Where is the Export to Excel button on the report page?", "Can we get the monthly output report in Excel format?")},
    {"type": "usage_question", "area": "permissions", "faq": ("管理员如何重置用户密码？ / How does an admin reset a user's password?",
                                                              "系统设置 → 用户 → 重置密码。 / Settings → Users → Reset password."),
     "zh": ("员工忘记密码了，管理员怎么重置？", "怎样给同事重置登录密码？", "账号被锁定了，如何解锁？"),
     "en": ("How can an admin reset a user's password?", "One of our operators forgot his password, how do we reset it?",
            "A user account is locked, how do I unlock it?")},
    {"type": "usage_question", "area": "mobile", "faq": ("手机 App 能离线录入吗？ / Can the mobile app record data offline?",
                                                         "可以，联网后自动同步。 / Yes; entries sync when the device is back online."),
     "zh": ("手机App离线时能录入数据吗？", "车间没有网络，移动端还能用吗？"),
     "en": ("Can the mobile app record data offline?", "Does the app work on the shop floor without Wi-Fi?")},
    {"type": "usage_question", "area": "dashboard", "faq": ("如何在看板上添加自定义指标？ / How do I add my own KPI to the dashboard?",
                                                            "看板 → 编辑 → 添加组件。 / Dashboard → Edit → Add widget."),
     "zh": ("首页看板能自定义指标吗？", "怎么在驾驶舱里加一个OEE图表？"),
     "en": ("How do I add my own KPI widget to the dashboard?", "Can the home dashboard show OEE per line?")},
    {"type": "management_problem", "area": "permissions", "faq": ("新部门的角色权限如何配置？ / How do we configure role permissions for a new department?",
                                                                  "先建部门，再复制相近角色并收窄权限。 / Create the department, copy a similar role and narrow it."),
     "zh": ("新成立了一个部门，角色权限应该怎么配置？", "新部门的人员需要哪些权限，怎么批量设置？", "我们新增了质检部，怎样给他们分配只读权限？"),
     "en": ("How should we configure role permissions for a new department?",
            "We just set up a new department - how do we give its staff the right roles?",
            "What is the best way to grant read-only access to our new QA team?")},
    {"type": "management_problem", "area": "workflow", "faq": ("审批人休假时流程如何处理？ / What happens to approvals when the approver is away?",
                                                              "在流程设置中指定代理审批人。 / Set a delegate approver in the workflow settings."),
     "zh": ("采购审批流程跨两个工厂，该怎么设计审批节点？", "审批人休假时流程卡住了，应该怎么安排代理人？"),
     "en": ("Our purchase approvals span two plants, how should we design the approval steps?",
            "Approvals get stuck when the approver is on leave; how should delegation be set up?")},
    {"type": "bug", "area": "reports", "zh": ("年度报表加载超时，一直转圈", "导出大报表时报错500"),
     "en": ("The annual report times out and never loads", "Exporting a large report fails with a 500 error")},
    {"type": "bug", "area": "mobile", "zh": ("安卓App扫码后闪退", "iOS版本升级后打不开"),
     "en": ("The Android app crashes after scanning a barcode", "The iOS app will not open after the update")},
    {"type": "bug", "area": "integration", "zh": ("与ERP的同步任务昨晚失败了", "SAP接口数据重复导入"),
     "en": ("Last night's ERP sync job failed", "Orders from SAP are imported twice")},
    {"type": "bug", "area": "billing", "zh": ("账单金额和合同不一致", "发票抬头显示错误"),
     "en": ("The invoice total does not match our contract", "The invoice shows the wrong company name")},
    {"type": "feature_request", "area": "integration", "zh": ("希望支持Webhook推送告警", "能否开放设备数据的API接口？"),
     "en": ("Please add webhooks for alarm notifications", "We need an API to read machine data")},
    {"type": "feature_request", "area": "workflow", "zh": ("希望审批可以批量处理", "流程里能加条件分支吗？"),
     "en": ("Please allow approving several requests at once", "Could workflows branch on a condition?")},
    {"type": "feature_request", "area": "dashboard", "zh": ("大屏看板希望支持自动轮播",),
     "en": ("Could the wall-screen dashboard rotate pages automatically?",)},
    {"type": "sales_stuck_point", "area": "billing", "zh": ("客户说竞品报价低30%，要求降价", "采购卡在价格上，对方拿竞品报价压价"),
     "en": ("The prospect says a competitor is 30% cheaper", "Procurement is stuck on price against a competitor quote")},
    {"type": "sales_stuck_point", "area": "integration", "zh": ("客户要求私有化部署，方案不清楚", "客户信息安全部门要求等保三级证明"),
     "en": ("The customer insists on on-premise deployment", "Their IT security team asks for a security certification before signing")},
)
FEEDBACK_TYPES = vocab.values(vocab.FeedbackType)
FEEDBACK_TYPE_P = (0.25, 0.33, 0.12, 0.20, 0.10)  # bug, usage_question, management_problem, feature_request, sales_stuck_point
CHANNELS = vocab.values(vocab.FeedbackChannel)
CHANNEL_P = (0.20, 0.35, 0.15, 0.10, 0.20)
# The support team paces resolution by the default resolution targets (hours of the service clock, by tier and
# severity). Tiers come from value scores the generator does not compute; a customer's size band stands in for
# the tier it usually earns (micro, small, medium, large, enterprise).
SERVICE_TIER_BY_SIZE = ("micro", "small", "small", "standard", "KA")
RESOLUTION_SHARE = 0.25   # median resolution time as a share of the target
RESOLUTION_SPREAD = 1.0   # sigma of its log: ~8 % of items take longer than the target
DEMAND_TITLES = (
    ("reports", "报表导出支持自定义Excel模板", "Custom Excel templates for report export"),
    ("reports", "大报表异步生成", "Generate large reports in the background"),
    ("permissions", "按部门批量分配角色", "Assign roles to a whole department"),
    ("permissions", "只读审计角色", "Read-only auditor role"),
    ("integration", "告警Webhook推送", "Webhooks for alarms"),
    ("integration", "设备数据开放API", "Open API for machine data"),
    ("integration", "SAP订单去重", "De-duplicate orders imported from SAP"),
    ("mobile", "移动端离线模式增强", "Better offline mode on mobile"),
    ("mobile", "扫码闪退修复", "Fix crash after barcode scan"),
    ("workflow", "审批批量处理", "Batch approvals"),
    ("workflow", "审批代理人", "Delegate approver"),
    ("billing", "按用量计费账单", "Usage-based billing statements"),
    ("dashboard", "大屏自动轮播", "Auto-rotating wall dashboard"),
    ("dashboard", "自定义OEE组件", "Custom OEE widget"),
)
REJECT_REASONS = ("与产品路线不符", "Out of scope for the standard product", "可通过现有配置实现",
                  "Already possible with existing configuration", "投入产出比太低", "Too little value for the effort")
PMS = ("pm.zhang", "pm.li", "emma.clark", "pm.chen")
# Chinese New Year (the holiday's first day) by year; the summer and National Day dips are fixed dates.
CNY = {2015: (2, 19), 2016: (2, 8), 2017: (1, 28), 2018: (2, 16), 2019: (2, 5), 2020: (1, 25), 2021: (2, 12),
       2022: (2, 1), 2023: (1, 22), 2024: (2, 10), 2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26),
       2029: (2, 13), 2030: (2, 3), 2031: (1, 23), 2032: (2, 11), 2033: (1, 31), 2034: (2, 19), 2035: (2, 8)}
DEMO_USERS = (("local-admin", "Local admin / 本地管理员", "admin"), ("zhang.min", "张敏", "editor"),
              ("li.na", "李娜", "viewer"), ("emma.clark", "Emma Clark", "editor"), ("tom.baker", "Tom Baker", "viewer"))


@dataclass(frozen=True)
class Batch:
    """Rows for one table, in ``columns`` order, and how far the whole generation is after them."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    progress: float
    message: str


# --- small vectorised helpers -----------------------------------------------------------------------

_EPOCH = dt.date(1970, 1, 1)


def _day(d: dt.date) -> int:
    return (d - _EPOCH).days


def _dates(days: np.ndarray, valid: np.ndarray | None = None) -> list[str | None]:
    """Day numbers (since 1970-01-01) as 'YYYY-MM-DD'; None where ``valid`` is False."""
    text = np.datetime_as_string(np.asarray(days, dtype=np.int64).astype("datetime64[D]")).astype(object)
    if valid is not None:
        text[~valid] = None
    return text.tolist()


def _stamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> list[str | None]:
    """Seconds since 1970 as 'YYYY-MM-DD HH:MM:SS'; None where ``valid`` is False."""
    raw = np.datetime_as_string(np.asarray(seconds, dtype=np.int64).astype("datetime64[s]"), unit="s")
    text = np.char.replace(raw, "T", " ").astype(object)
    if valid is not None:
        text[~valid] = None
    return text.tolist()


def _month(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _first_day(months: np.ndarray) -> np.ndarray:
    return np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _working_after(start: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """The moment ``seconds`` of Monday-to-Friday time after ``start`` (seconds since 1970): the team's
    work, like the service timers' clock, stops at the weekend (a weekend start counts from Monday 00:00)."""
    day = np.asarray(start, dtype=np.int64) // 86400
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    total = np.where(weekday < 5, np.asarray(start, dtype=np.int64) % 86400, 0) + np.asarray(seconds, dtype=np.int64)
    first = np.busday_offset(day.astype("datetime64[D]"), 0, roll="forward")
    last = np.busday_offset(first, total // 86400, roll="forward")
    return last.astype(np.int64) * 86400 + total % 86400


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of ``probs`` (rows are probability vectors)."""
    cum = np.cumsum(probs, axis=1)
    return np.minimum((rng.random(len(probs))[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _choice(rng: np.random.Generator, options: tuple[str, ...], size: int, p: Any = None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=p)]


def _cents(yuan: np.ndarray, step: int = 100) -> np.ndarray:
    """Yuan to integer cents, rounded to ``step`` yuan (contracts are quoted in round numbers)."""
    return (np.maximum(np.round(np.asarray(yuan) / step), 1) * step * 100).astype(np.int64)


def _window_start(end: dt.date, years: int) -> dt.date:
    try:
        return end.replace(year=end.year - years)
    except ValueError:  # 29 February
        return end.replace(year=end.year - years, day=28)


def _person_names(rng: np.random.Generator, english: np.ndarray,
                  companies: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Names and e-mail local parts, Chinese or English per row. With ``companies``, no two rows of
    one company share a name or an e-mail (a lead is known by its company and contact name, a contact by
    its customer and e-mail): a name already taken there moves on to the next given or first name."""
    n = len(english)
    s = rng.integers(0, len(ZH_SURNAMES), n)
    g = rng.integers(0, len(ZH_GIVEN), n)
    f = rng.integers(0, len(EN_FIRST), n)
    last = rng.integers(0, len(EN_LAST), n)
    names, locals_ = [], []
    taken: set[tuple[str, str]] = set()
    for i, eng in enumerate(english.tolist()):
        for step in range(max(len(EN_FIRST), len(ZH_GIVEN))):
            if eng:
                first = EN_FIRST[(f[i] + step) % len(EN_FIRST)]
                name, local = f"{first} {EN_LAST[last[i]]}", f"{first.lower()}.{EN_LAST[last[i]].lower().replace('ü', 'ue')}"
            else:
                given = ZH_GIVEN[(g[i] + step) % len(ZH_GIVEN)]
                name, local = ZH_SURNAMES[s[i]][0] + given[0], f"{given[1]}.{ZH_SURNAMES[s[i]][1]}"
            if companies is None or not {(companies[i], name), (companies[i], "@" + local)} & taken:
                break
        if companies is not None:
            taken.update({(companies[i], name), (companies[i], "@" + local)})
        names.append(name)
        locals_.append(local)
    return names, locals_


def _phones(rng: np.random.Generator, english: np.ndarray) -> list[str]:
    n = len(english)
    second = rng.integers(3, 10, n)
    rest = rng.integers(0, 10**9, n)
    uk = rng.integers(1000, 10000, n)
    return [f"+44 20 7946 {uk[i]:04d}" if english[i] else f"1{second[i]}{rest[i]:09d}" for i in range(n)]


def _company_names(rng: np.random.Generator, industry: np.ndarray, english: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique company names (drawn without replacement per industry and language) and e-mail domains."""
    n = len(industry)
    names = np.empty(n, dtype=object)
    domains = np.empty(n, dtype=object)
    for ind in range(len(INDUSTRIES)):
        for eng in (False, True):
            rows = np.nonzero((industry == ind) & (english == eng))[0]
            if not rows.size:
                continue
            sizes = ((len(EN_BRANDS), len(EN_MIDDLES), len(EN_SECTORS[ind]), len(EN_SUFFIXES)) if eng
                     else (len(ZH_CITIES), len(ZH_BRANDS), len(ZH_SECTORS[ind]), len(ZH_SUFFIXES)))
            space = int(np.prod(sizes))
            if rows.size > space:
                raise UsageError(f"too many customers for the demo name lists ({rows.size} > {space} in one industry)")
            a, b, c, d = np.unravel_index(rng.choice(space, size=rows.size, replace=False), sizes)
            if eng:
                names[rows] = [f"{EN_BRANDS[i]} {EN_MIDDLES[j]}{EN_SECTORS[ind][k]} {EN_SUFFIXES[m]}"
                               for i, j, k, m in zip(a, b, c, d, strict=True)]
                domains[rows] = [f"{EN_BRANDS[i].lower()}-{EN_SECTORS[ind][k].split()[0].lower()}.com"
                                 for i, k in zip(a, c, strict=True)]
            else:
                names[rows] = [f"{ZH_CITIES[i]}{ZH_BRANDS[j][0]}{ZH_SECTORS[ind][k]}{ZH_SUFFIXES[m]}"
                               for i, j, k, m in zip(a, b, c, d, strict=True)]
                domains[rows] = [f"{ZH_BRANDS[j][1]}{k + 1}.com.cn" for j, k in zip(b, c, strict=True)]
    return names, domains


# --- the world: everything but the big per-day tables -------------------------------------------------


@dataclass
class _World:
    """Per-customer arrays shared by the sections (index i is customer id i + 1)."""

    n: int
    start: int
    end: int
    industry: np.ndarray
    english: np.ndarray
    size: np.ndarray
    employees: np.ndarray
    created: np.ndarray
    names: np.ndarray
    domains: np.ndarray
    competitor_cut: np.ndarray
    n_users: np.ndarray
    seg_start: np.ndarray  # 2n segments: i = first life, n + i = life after a win-back
    seg_end: np.ndarray
    seg_churn: np.ndarray
    first_amount: np.ndarray
    first_contact: np.ndarray
    prospects: np.ndarray


def _customers(rng: np.random.Generator, n: int, start: int, end: int) -> tuple[_World, Batch, Batch]:
    n_pre = int(round(n * 0.45))
    created = np.empty(n, dtype=np.int64)
    created[:n_pre] = start - rng.integers(1, 4 * 365, n_pre)
    growth = 0.8  # density grows e^0.8 ~ 2.2x across the window
    u = rng.random(n - n_pre)
    created[n_pre:] = start + np.floor(np.log1p(u * np.expm1(growth)) / growth * (end - start)).astype(np.int64)
    created.sort()  # ids follow the date the customer signed first
    industry = rng.choice(len(INDUSTRIES), size=n, p=INDUSTRY_P)
    region = rng.choice(len(REGIONS), size=n, p=REGION_P)
    overseas = np.asarray(REGIONS)[region] == vocab.Region.overseas.value
    english = np.where(overseas, rng.random(n) < 0.9, rng.random(n) < 0.06)
    employees = np.clip(np.round(np.exp(rng.normal(5.4, 1.35, n))), 8, 200_000).astype(np.int64)
    size = np.searchsorted(np.asarray(SIZE_BOUNDS), employees, side="right")
    big = employees >= 1_000
    fortune = big & (rng.random(n) < np.where(size == 4, 0.25, 0.02))
    listed = fortune | (rng.random(n) < LISTED_P[size])
    high_val = ~listed & (size >= 1) & (rng.random(n) < 0.05)
    partnership = _pick(rng, PARTNERSHIP_P[size])
    reference = rng.random(n) < np.array([0.01, 0.03, 0.06, 0.12, 0.20])[size]
    demand_type = _pick(rng, DEMAND_TYPE_P[size])
    competitor_cut = rng.random(n) < 0.06
    prospects_n = n // 2 + 50
    all_ind = np.concatenate([industry, rng.choice(len(INDUSTRIES), size=prospects_n, p=INDUSTRY_P)])
    all_eng = np.concatenate([english, rng.random(prospects_n) < 0.15])
    all_names, all_domains = _company_names(rng, all_ind, all_eng)
    names, domains = all_names[:n], all_domains[:n]

    # CSMs: level shares and the size bands each level serves (DESIGN: KA -> senior, ...).
    n_csm = max(3, int(round(n / 60)))
    level = np.full(n_csm, 2)
    n_senior, n_exp = max(1, int(round(n_csm * 0.2))), max(1, int(round(n_csm * 0.35)))
    level[:n_senior], level[n_senior:n_senior + n_exp] = 0, 1
    csm_eng = rng.random(n_csm) < 0.2
    csm_names, csm_local = _person_names(rng, csm_eng)
    teams = _choice(rng, ("East", "North", "South", "Key Accounts", "Overseas"), n_csm)
    levels = vocab.values(vocab.CsmLevel)
    csm_rows = [(i + 1, csm_names[i], f"{csm_local[i]}{i + 1}@cockpit-demo.com", levels[level[i]], teams[i], True, 1)
                for i in range(n_csm)]
    wanted = np.where(size >= 3, 0, np.where(size == 2, 1, 2))
    wanted = np.where(rng.random(n) < 0.15, rng.integers(0, 3, n), wanted)
    csm_id = np.empty(n, dtype=np.int64)
    for lv in range(3):
        pool = np.nonzero(level == lv)[0] + 1
        rows = wanted == lv
        csm_id[rows] = pool[rng.integers(0, len(pool), rows.sum())]

    ids = np.arange(1, n + 1)
    customer_rows = list(zip(
        ids.tolist(), [f"CU{i:06d}" for i in ids.tolist()], names.tolist(), np.asarray(INDUSTRIES)[industry].tolist(),
        np.asarray(REGIONS)[region].tolist(), np.asarray(SIZE_BANDS)[size].tolist(), employees.tolist(),
        fortune.tolist(), listed.tolist(), high_val.tolist(),
        np.asarray(vocab.values(vocab.PartnershipLevel))[partnership].tolist(), reference.tolist(),
        np.asarray(vocab.values(vocab.DemandType))[demand_type].tolist(), csm_id.tolist(),
        competitor_cut.tolist(), _dates(created), [1] * n, strict=True))
    n_users = np.clip(np.round(np.sqrt(employees) * 0.7 * np.exp(rng.normal(0, 0.5, n))), 1, 60).astype(np.int64)
    world = _World(
        n=n, start=start, end=end, industry=industry, english=english, size=size, employees=employees,
        created=created, names=names, domains=domains, competitor_cut=competitor_cut, n_users=n_users,
        seg_start=np.zeros(2 * n, dtype=np.int64), seg_end=np.full(2 * n, -(10**9), dtype=np.int64),
        seg_churn=np.zeros(2 * n, dtype=bool), first_amount=np.zeros(n, dtype=np.int64),
        first_contact=np.zeros(n, dtype=np.int64), prospects=all_names[n:],
    )
    return (world,
            Batch("csms", ("id", "name", "email", "level", "team", "active", "version"), csm_rows, 0.01, "CSMs"),
            Batch("customers", ("id", "code", "name", "industry", "region", "size_band", "employees", "fortune500",
                                "listed", "high_valuation", "partnership_level", "reference_case", "demand_type",
                                "csm_id", "competitor_price_cut", "created_on", "version"), customer_rows, 0.02, "customers"))


def _contacts(rng: np.random.Generator, w: _World) -> Batch:
    n = w.n
    idx = np.arange(n)
    parts: list[tuple[np.ndarray, np.ndarray]] = []  # (customer index, role code 0 user / 1 boss / 2 veto)
    n_user = 1 + rng.binomial(3, 0.5, n)
    parts.append((np.repeat(idx, n_user), np.zeros(n_user.sum(), dtype=np.int64)))
    has_boss = rng.random(n) < np.array([0.80, 0.84, 0.88, 0.92, 0.95])[w.size]
    has_veto = rng.random(n) < np.array([0.50, 0.68, 0.78, 0.85, 0.90])[w.size]
    parts.append((idx[has_boss], np.ones(has_boss.sum(), dtype=np.int64)))
    parts.append((idx[has_veto], np.full(has_veto.sum(), 2)))
    cust = np.concatenate([p[0] for p in parts])
    role = np.concatenate([p[1] for p in parts])
    order = np.lexsort((role, cust))
    cust, role = cust[order], role[order]
    start = w.created[cust] + np.where(role == 0, rng.integers(0, 60, len(cust)), 0)
    start = np.minimum(start, w.end)
    end = np.full(len(cust), -1, dtype=np.int64)
    # Key contact: the boss where there is one, else the first user.
    first_of_cust = np.r_[True, cust[1:] != cust[:-1]]
    key = np.where(has_boss[cust], role == 1, first_of_cust & (role == 0))
    # Key-contact change for ~12 %: the old key contact leaves, a new one (same role) starts later.
    span = w.end - np.maximum(w.created, w.start)
    change = (rng.random(n) < 0.12) & (span > 120)
    key_rows = np.nonzero(key & change[cust])[0]
    left = np.maximum(w.created[cust[key_rows]], w.start) + 90 + (rng.random(len(key_rows)) * (span[cust[key_rows]] - 100)).astype(np.int64)
    end[key_rows] = left
    new_cust, new_role = cust[key_rows], role[key_rows]
    new_start = left + rng.integers(1, 30, len(key_rows))
    new_start = np.minimum(new_start, w.end)
    cust = np.concatenate([cust, new_cust])
    role = np.concatenate([role, new_role])
    start = np.concatenate([start, new_start])
    end = np.concatenate([end, np.full(len(new_cust), -1)])
    key = np.concatenate([key, np.ones(len(new_cust), dtype=bool)])
    order = np.lexsort((start, role, cust))
    cust, role, start, end, key = cust[order], role[order], start[order], end[order], key[order]
    m = len(cust)
    eng = w.english[cust] ^ (rng.random(m) < 0.05)
    names, locals_ = _person_names(rng, eng, [str(c) for c in cust.tolist()])
    phones = _phones(rng, eng)
    roles = np.asarray(vocab.values(vocab.ContactRole))[role]
    t_pick = rng.integers(0, 5, m)
    titles = [TITLES[r][1 if e else 0][t % len(TITLES[r][0])] for r, e, t in zip(roles.tolist(), eng.tolist(), t_pick.tolist(), strict=True)]
    emails = [f"{lp}@{w.domains[c]}" for lp, c in zip(locals_, cust.tolist(), strict=True)]
    ids = np.arange(1, m + 1)
    users = np.nonzero(role == 0)[0]
    firsts = users[np.r_[True, cust[users][1:] != cust[users][:-1]]]
    w.first_contact[cust[firsts]] = ids[firsts]
    rows = list(zip(ids.tolist(), (cust + 1).tolist(), names, titles, roles.tolist(), key.tolist(), phones, emails,
                    _dates(start), _dates(end, end >= 0), [1] * m, strict=True))
    return Batch("contacts", ("id", "customer_id", "name", "title", "role", "is_key", "phone", "email", "start_date",
                              "end_date", "version"), rows, 0.03, "contacts")


def _terms(rng: np.random.Generator, k: int) -> np.ndarray:
    return rng.choice(np.array([12, 24, 36]), size=k, p=(0.80, 0.12, 0.08))


def _contracts(rng: np.random.Generator, w: _World) -> tuple[Batch, Batch, Batch]:
    """Contract chains round by round (new -> renewals, add-ons, churn, one win-back); then invoices, payments."""
    n = w.n
    tail = 1.0 + 0.35 * rng.pareto(2.5, n)
    annual0 = ANNUAL_YUAN[w.size] * np.exp(rng.normal(0.0, 0.6, n)) * tail
    product0 = rng.choice(len(PRODUCTS), size=n, p=PRODUCT_P)
    demand_boost = np.where(rng.random(n) < 0.2, 1.4, 1.0)
    hazard = CHURN_HAZARD[w.size] * np.where(w.competitor_cut, 1.5, 1.0)
    st = {"cust": np.arange(n), "signed": w.created.copy(), "start_m": _month(w.created) + 1, "term": _terms(rng, n),
          "annual": annual0, "prev": np.full(n, -1), "kind": np.zeros(n, dtype=np.int64), "prod": product0,
          "seg": np.arange(n), "returned": np.zeros(n, dtype=bool)}
    w.seg_start[:n] = _first_day(st["start_m"])
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("id", "cust", "kind", "prod", "signed", "start", "end", "amount", "prev")}
    next_id = 1
    while st["cust"].size:
        keep = st["signed"] <= w.end
        st = {k: v[keep] for k, v in st.items()}
        k = st["cust"].size
        if not k:
            break
        cid = np.arange(next_id, next_id + k)
        next_id += k
        start = _first_day(st["start_m"])
        end = _first_day(st["start_m"] + st["term"]) - 1
        amount = _cents(st["annual"] * st["term"] / 12 * np.where(st["term"] > 12, 0.95, 1.0))
        for key, val in (("id", cid), ("cust", st["cust"]), ("kind", st["kind"]), ("prod", st["prod"]),
                         ("signed", st["signed"]), ("start", start), ("end", end), ("amount", amount), ("prev", st["prev"])):
            out[key].append(val)
        first = st["prev"] < 0
        fresh = first & ~st["returned"]
        w.first_amount[st["cust"][fresh]] = amount[fresh]
        w.seg_end[st["seg"]] = end
        # Mid-term add-on for another product line, co-terminous with this contract.
        offset = rng.integers(2, np.maximum(st["term"] - 1, 3))
        e_start_m = st["start_m"] + offset
        e_signed = _first_day(e_start_m) - rng.integers(3, 20, k)
        has_exp = (rng.random(k) < np.array([0.07, 0.09, 0.11, 0.14, 0.16])[w.size[st["cust"]]]) & (e_signed <= w.end)
        e_annual = st["annual"] * rng.uniform(0.15, 0.45, k)
        months_left = st["start_m"] + st["term"] - e_start_m
        e_rows = np.nonzero(has_exp)[0]
        if e_rows.size:
            eid = np.arange(next_id, next_id + e_rows.size)
            next_id += e_rows.size
            for key, val in (("id", eid), ("cust", st["cust"][e_rows]), ("kind", np.full(e_rows.size, 2)),
                             ("prod", (st["prod"][e_rows] + rng.integers(1, len(PRODUCTS), e_rows.size)) % len(PRODUCTS)),
                             ("signed", e_signed[e_rows]), ("start", _first_day(e_start_m[e_rows])), ("end", end[e_rows]),
                             ("amount", _cents(e_annual[e_rows] * months_left[e_rows] / 12)), ("prev", np.full(e_rows.size, -1))):
                out[key].append(val)
        # Decision at the end of the term.
        churn = rng.random(k) < hazard[st["cust"]]
        w.seg_churn[st["seg"]] = churn
        u = rng.random(k)
        factor = np.where(u < 0.22, rng.uniform(1.1, 1.6, k), np.where(u < 0.34, rng.uniform(0.6, 0.92, k), rng.uniform(1.0, 1.06, k)))
        next_start_m = st["start_m"] + st["term"]
        new_term = np.where(rng.random(k) < 0.7, st["term"], _terms(rng, k))
        renew = {"cust": st["cust"], "signed": _first_day(next_start_m) - rng.integers(5, 45, k), "start_m": next_start_m,
                 "term": new_term, "annual": st["annual"] * factor + np.where(has_exp, e_annual, 0.0),
                 "prev": cid, "kind": np.ones(k, dtype=np.int64), "prod": st["prod"], "seg": st["seg"], "returned": st["returned"]}
        back = churn & ~st["returned"] & (rng.random(k) < 0.22)
        back_start_m = next_start_m + rng.integers(3, 13, k)
        winback = {"cust": st["cust"], "signed": _first_day(back_start_m) - rng.integers(5, 30, k), "start_m": back_start_m,
                   "term": _terms(rng, k), "annual": st["annual"] * rng.uniform(0.6, 1.0, k), "prev": np.full(k, -1),
                   "kind": np.zeros(k, dtype=np.int64), "prod": st["prod"], "seg": n + st["cust"], "returned": np.ones(k, dtype=bool)}
        w.seg_start[n + st["cust"][back]] = _first_day(back_start_m[back])
        st = {key: np.concatenate([renew[key][~churn], winback[key][back]]) for key in st}
    c = {k: np.concatenate(v) for k, v in out.items()}
    order = np.argsort(c["id"])
    c = {k: v[order] for k, v in c.items()}
    m = len(c["id"])
    kind_names = np.asarray(vocab.values(vocab.ContractKind))[c["kind"]]
    new_logo = c["kind"] == 0
    customised = np.isin(c["cust"], np.nonzero(demand_boost > 1)[0])
    delivery = np.where(new_logo, rng.uniform(0.10, 0.45, m) * np.where(customised, 1.3, 1.0), rng.uniform(0.0, 0.10, m))
    delivery_cents = (c["amount"] * delivery).astype(np.int64)
    service_cents = (c["amount"] * rng.uniform(0.05, 0.25, m)).astype(np.int64)
    signed_text = _dates(c["signed"])
    contract_rows = list(zip(
        c["id"].tolist(), [f"HT{s[:4]}{i:07d}" for s, i in zip(signed_text, c["id"].tolist(), strict=True)],
        (c["cust"] + 1).tolist(), kind_names.tolist(), np.asarray(PRODUCTS)[c["prod"]].tolist(), signed_text,
        _dates(c["start"]), _dates(c["end"]), c["amount"].tolist(), delivery_cents.tolist(), service_cents.tolist(),
        np.where(c["prev"] > 0, c["prev"], 0).tolist(), [1] * m, strict=True))
    contract_rows = [r[:11] + (r[11] or None,) + r[12:] for r in contract_rows]
    contracts = Batch("contracts", ("id", "code", "customer_id", "kind", "product_line", "signed_on", "start_date",
                                    "end_date", "amount_cents", "delivery_cost_cents", "service_cost_cents",
                                    "renewal_of_id", "version"), contract_rows, 0.05, "contracts")
    return (contracts, *_invoices(rng, w, c))


def _invoices(rng: np.random.Generator, w: _World, c: dict[str, np.ndarray]) -> tuple[Batch, Batch]:
    years = np.where(c["kind"] == 2, 1, np.ceil((_month(c["end"]) - _month(c["start"]) + 1) / 12).astype(np.int64))
    contract = np.repeat(np.arange(len(c["id"])), years)
    k = np.arange(len(contract)) - np.repeat(np.cumsum(years) - years, years)
    issued = _first_day(_month(c["start"][contract]) + 12 * k) - rng.integers(0, 15, len(contract))
    issued = np.maximum(issued, c["signed"][contract])
    keep = issued <= w.end
    contract, k, issued = contract[keep], k[keep], issued[keep]
    n_years = years[contract]
    total = c["amount"][contract]
    amount = np.where(k == n_years - 1, total - (total // n_years) * (n_years - 1), total // n_years)
    cust = c["cust"][contract]
    big = w.size[cust] >= 3
    terms = np.where(rng.random(len(cust)) < np.where(big, 0.7, 0.2), 60, 30)
    due = issued + terms
    m = len(contract)
    # Payers: on time, late, slow (per customer).
    payer = rng.choice(3, size=w.n, p=(0.65, 0.25, 0.10))[cust]
    paid = np.where(payer == 0, issued + (rng.random(m) * terms).astype(np.int64) + 3,
                    np.where(payer == 1, due + rng.integers(1, 61, m), due + rng.integers(30, 201, m)))
    # ~10 % of customers: their latest recently due invoice is left unpaid (partly, sometimes).
    eligible = (due < w.end) & (issued >= w.end - 540)
    elig_cust = np.unique(cust[eligible])
    chosen = rng.choice(elig_cust, size=min(len(elig_cust), int(round(0.10 * w.n))), replace=False) if len(elig_cust) else elig_cust
    unpaid = np.zeros(m, dtype=bool)
    cand = np.nonzero(eligible & np.isin(cust, chosen))[0]
    if cand.size:
        order = cand[np.lexsort((issued[cand], cust[cand]))]
        last = order[np.r_[cust[order][1:] != cust[order][:-1], True]]
        unpaid[last] = True
    # Everyone else has settled what fell due before the end (late payers late, but settled).
    overdue_late = ~unpaid & (due < w.end) & (paid > w.end)
    span = np.maximum(w.end - due, 1)
    paid = np.where(overdue_late, due + (rng.random(m) * span).astype(np.int64), paid)
    split = rng.random(m) < 0.08
    part = np.where(split, amount // 2, amount)
    second_paid = paid + rng.integers(10, 61, m)
    ids = np.arange(1, m + 1)
    issued_text = _dates(issued)
    invoice_rows = list(zip(ids.tolist(), [f"INV{s[:4]}{i:07d}" for s, i in zip(issued_text, ids.tolist(), strict=True)],
                            (cust + 1).tolist(), c["id"][contract].tolist(), issued_text, _dates(due), amount.tolist(),
                            [1] * m, strict=True))
    # Payment rows: first (or only) instalment, then the rest of split invoices; only what was paid by the end.
    partly = unpaid & split & (rng.random(m) < 0.5)
    first_ok = (paid <= w.end) & (~unpaid | partly)
    second_ok = split & (second_paid <= w.end) & ~unpaid
    inv = np.concatenate([ids[first_ok], ids[second_ok]])
    on = np.concatenate([paid[first_ok], second_paid[second_ok]])
    amt = np.concatenate([part[first_ok], (amount - part)[second_ok]])
    order = np.lexsort((on, inv))
    inv, on, amt = inv[order], on[order], amt[order]
    paid_text = _dates(on)
    # A receipt number per payment (R<year paid>-<serial>): the business key a billing system's file carries.
    receipts = [f"R{day[:4]}-{n:06d}" for n, day in enumerate(paid_text, start=1)]
    payment_rows = list(zip(range(1, len(inv) + 1), receipts, inv.tolist(), paid_text, amt.tolist(), strict=True))
    return (Batch("invoices", ("id", "number", "customer_id", "contract_id", "issued_on", "due_on", "amount_cents", "version"),
                  invoice_rows, 0.06, "invoices"),
            Batch("payments", ("id", "reference", "invoice_id", "paid_on", "amount_cents"), payment_rows, 0.07, "payments"))


def _referrals(rng: np.random.Generator, w: _World) -> Batch:
    acquired = np.nonzero(w.created >= w.start)[0]
    referred = acquired[rng.random(len(acquired)) < 0.04]
    limit = np.searchsorted(w.created, w.created[referred] - 30)  # customers signed at least a month earlier
    referred, limit = referred[limit > 0], limit[limit > 0]
    referrer = (rng.random(len(referred)) * limit).astype(np.int64)
    on = w.created[referred] - rng.integers(20, 150, len(referred))
    k = len(referred) // 2 + 1
    older = int(np.searchsorted(w.created, w.end - 60))
    open_ref = rng.integers(0, max(older, 1), k)
    open_on = np.minimum(w.created[open_ref] + 30 + (rng.random(k) * np.maximum(w.end - w.created[open_ref] - 30, 1)).astype(np.int64), w.end)
    open_on = np.maximum(open_on, w.start)
    names = rng.choice(w.prospects, size=k, replace=False)
    ref = np.concatenate([referrer, open_ref])
    signed = np.concatenate([referred + 1, np.zeros(k, dtype=np.int64)])
    all_names = np.concatenate([w.names[referred], names])
    all_on = np.concatenate([on, open_on])
    order = np.argsort(all_on, kind="stable")
    rows = [(i + 1, int(ref[j]) + 1, int(signed[j]) or None, all_names[j], d)
            for i, (j, d) in enumerate(zip(order.tolist(), _dates(all_on[order]), strict=True))]
    return Batch("referrals", ("id", "referrer_id", "referred_customer_id", "referred_name", "referred_on"), rows, 0.08, "referrals")


# --- product: releases, demands, FAQ ------------------------------------------------------------------


def _releases(rng: np.random.Generator, w: _World) -> tuple[Batch, np.ndarray, np.ndarray]:
    dates = []
    d = w.start + 20
    while d <= w.end:
        dates.append(d)
        d += 42 + int(rng.integers(-5, 6))
    past = len(dates)
    dates += [d, d + 42]
    dates_a = np.asarray(dates, dtype=np.int64)
    labels = [f"v{1 + i // 10}.{i % 10}" for i in range(len(dates))]
    status = ["released"] * past + ["planned"] * 2
    notes = [None] * len(labels)  # none written yet: the demand board drafts each release's notes from its demands
    rows = list(zip(range(1, len(dates) + 1), labels, _dates(dates_a), status, notes, [1] * len(dates), strict=True))
    return Batch("releases", ("id", "version_label", "release_date", "status", "notes", "version"), rows, 0.09, "releases"), dates_a, np.asarray(status)


_PATH = ("backlog", "evaluating", "planned", "in_development", "testing", "released")


def _demands(rng: np.random.Generator, w: _World, rel_dates: np.ndarray, rel_status: np.ndarray) -> tuple[list[Batch], np.ndarray, np.ndarray, np.ndarray]:
    n_dem = max(30, w.n // 15)
    statuses = vocab.values(vocab.DemandStatus)
    status = np.asarray(statuses)[rng.choice(len(statuses), size=n_dem, p=(0.18, 0.12, 0.12, 0.12, 0.08, 0.28, 0.10))]
    status[: len(statuses)] = statuses  # every status present
    sources = vocab.values(vocab.DemandSource)
    source = _choice(rng, sources, n_dem, (0.45, 0.15, 0.12, 0.13, 0.15))
    t_idx = rng.integers(0, len(DEMAND_TITLES), n_dem)
    eng = rng.random(n_dem) < 0.3
    past = np.nonzero((rel_status == "released") & (rel_dates >= w.start + 120))[0]
    if not past.size:
        past = np.nonzero(rel_status == "released")[0]
    future = np.nonzero(rel_status == "planned")[0]
    end_ts = w.end * 86400 + 18 * 3600
    demand_rows, history, links = [], [], []
    area = np.empty(n_dem, dtype=object)
    hist_id = 0
    for i in range(n_dem):  # one short loop per demand (reference data, at most a few thousand)
        st = status[i]
        path = list(_PATH[: _PATH.index(st) + 1]) if st != "rejected" else (["backlog", "evaluating", "rejected"] if rng.random() < 0.6 else ["backlog", "rejected"])
        gaps = rng.integers(3, 26, len(path) - 1) * 86400 + rng.integers(0, 8 * 3600, len(path) - 1)
        release = None
        if st == "released" and past.size:
            release = int(past[rng.integers(0, past.size)])
            last = int(rel_dates[release]) * 86400 + 10 * 3600
        else:
            last = end_ts - int(rng.integers(0, 150)) * 86400 - int(rng.integers(1, 8 * 3600))
            if st in ("planned", "in_development", "testing") and future.size:
                release = int(future[rng.integers(0, future.size)])
        times = np.r_[last - np.cumsum(gaps[::-1])[::-1], last] if len(path) > 1 else np.array([last])
        a, zh, en = DEMAND_TITLES[t_idx[i]]
        area[i] = a
        title = f"{en if eng[i] else zh} ({PRODUCTS[i % len(PRODUCTS)]})"
        owner = PMS[i % len(PMS)] if st != "backlog" else None
        effort = round(float(np.exp(rng.normal(1.8, 0.7))), 1) if st in _PATH[2:] else None
        reason = REJECT_REASONS[int(rng.integers(0, len(REJECT_REASONS)))] if st == "rejected" else None
        competitor = "竞品A 已支持 / Competitor A already has it" if source[i] == "competitor" else None
        created = _stamps(times[:1])[0]
        demand_rows.append((i + 1, title, f"{zh} / {en}", source[i], st, owner, effort, int(rng.integers(1, 4)), a,
                            None if release is None else release + 1, competitor, reason, created, 1))
        stamps = _stamps(times)
        prev = None
        for j, to in enumerate(path):
            hist_id += 1
            history.append((hist_id, i + 1, stamps[j], owner or PMS[0], prev, to, reason if to == "rejected" else None))
            prev = to
        asking = 0 if source[i] == "internal" and rng.random() < 0.5 else 1 + int(rng.poisson(1.5))
        if asking:
            who = rng.choice(w.n, size=min(asking, w.n), replace=False)
            informed = _stamps(np.array([last + int(rng.integers(1, 7)) * 86400]))[0] if st == "released" and last + 86400 * 7 <= end_ts else None
            links += [(i + 1, int(c) + 1, informed) for c in sorted(who.tolist())]
    batches = [
        Batch("demands", ("id", "title", "description", "source", "status", "owner", "effort_days", "urgency", "product_area",
                          "target_release_id", "competitor_ref", "reject_reason", "created_at", "version"), demand_rows, 0.10, "demands"),
        Batch("demand_history", ("id", "demand_id", "at", "actor", "from_status", "to_status", "note"), history, 0.10, "demand history"),
        Batch("demand_customers", ("demand_id", "customer_id", "informed_at"), links, 0.10, "demand customers"),
    ]
    return batches, area, status, np.arange(1, n_dem + 1)


def _faq(w: _World) -> tuple[Batch, dict[int, int]]:
    rows, by_topic = [], {}
    for t, topic in enumerate(TOPICS):
        if "faq" in topic:
            by_topic[t] = len(rows) + 1
            at = _stamps(np.array([(w.start + 30 + 20 * len(rows)) * 86400 + 10 * 3600]))[0]
            rows.append((len(rows) + 1, topic["faq"][0], topic["faq"][1], topic["area"], at, 1))
    return Batch("faq_entries", ("id", "question", "answer", "product_area", "created_at", "version"), rows, 0.10, "FAQ"), by_topic


# --- usage, account users and feedback, chunk by chunk -----------------------------------------------


def _calendar(start: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Workdays (Mon-Fri) of the window, their seasonal x weekday factor, and the Mondays."""
    days = np.arange(start, end + 1, dtype=np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    days = days[weekday < 5]
    weekday = weekday[weekday < 5]
    factor = np.array([1.0, 1.05, 1.05, 1.0, 0.85])[weekday]
    dates = days.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    for y in np.unique(years).tolist():
        mon, day = CNY.get(int(y), (2, 5))
        cny = _day(dt.date(int(y), mon, day))
        off = days - cny
        factor = np.where((off >= -5) & (off <= 8), factor * 0.15,
                          np.where((off >= -12) & (off <= 20) & ((off < -5) | (off > 8)), factor * 0.7, factor))
        summer = (days >= _day(dt.date(int(y), 7, 15))) & (days <= _day(dt.date(int(y), 8, 25)))
        national = (days >= _day(dt.date(int(y), 10, 1))) & (days <= _day(dt.date(int(y), 10, 7)))
        factor = np.where(summer, factor * 0.82, np.where(national, factor * 0.2, factor))
    first_monday = start + (7 - (start + 3) % 7) % 7
    mondays = np.arange(first_monday, end + 1, 7, dtype=np.int64)
    return days, factor, mondays


@dataclass
class _Counters:
    user_id: int = 0
    feedback_id: int = 0
    feedback_history_id: int = 0


def _dormant_months(rng: np.random.Generator, days: np.ndarray, active: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """(customer, day) cells of the calendar months a customer does not use the product at all.

    A month is dormant with 3 % plus a habit of the customer's own (Beta(1, 14), mean 6.7 %) plus half of
    what its activity lacks that month (ramping up after the start, declining before a churn); the
    demo company's activity rate comes out around 85-90 %, lower for customers about to leave."""
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    months, month_of_day = np.unique(month, return_inverse=True)
    m, nm = active.shape[0], len(months)
    lived = np.zeros((m, nm))
    level = np.zeros((m, nm))
    np.add.at(lived.T, month_of_day, active.T.astype(float))
    np.add.at(level.T, month_of_day, np.where(active, factor, 0.0).T)
    lacking = 1.0 - np.divide(level, lived, out=np.ones_like(level), where=lived > 0)
    chance = 0.03 + rng.beta(1.0, 14.0, m)[:, None] + 0.5 * lacking
    dormant = rng.random((m, nm)) < chance
    return dormant[:, month_of_day] & active


def _usage_chunk(w: _World, seed: int, chunk: int, lo: int, hi: int, cal: tuple[np.ndarray, np.ndarray, np.ndarray],
                 ids: _Counters, fb: dict[str, Any], progress: float) -> Iterator[Batch]:
    rng = np.random.default_rng([seed, 100, chunk])  # per chunk: the chunk size alone decides the rows
    days, season, mondays = cal
    nd, m = len(days), hi - lo
    cs = np.arange(lo, hi)
    active = np.zeros((m, nd), dtype=bool)
    factor = np.ones((m, nd))
    for life in (0, 1):
        seg = life * w.n + cs
        s, e, churn = w.seg_start[seg], w.seg_end[seg], w.seg_churn[seg]
        inside = (e >= s)[:, None] & (days >= s[:, None]) & (days <= e[:, None])
        active |= inside
        ramp = np.clip(0.35 + 0.65 * (days - s[:, None]) / 45.0, 0.35, 1.0)
        decline = np.where(churn[:, None], np.clip(0.25 + 0.75 * (e[:, None] - days) / 110.0, 0.25, 1.0), 1.0)
        factor = np.where(inside, ramp * decline, factor)
    n_users = w.n_users[cs]
    base = n_users * rng.uniform(0.45, 0.75, m)
    ci, di = np.nonzero(active)
    lam = base[ci] * factor[ci, di] * season[di] * rng.gamma(8.0, 1 / 8.0, len(ci))
    au = np.minimum(rng.poisson(lam), n_users[ci])
    # Some paying accounts go a whole month without using the product: a few habitually, more while they
    # ramp up and in the months before they churn (a stream of its own, so nothing else shifts).
    dormant = _dormant_months(np.random.default_rng([seed, 101, chunk]), days, active, factor)
    active &= ~dormant
    keep = (au > 0) & ~dormant[ci, di]
    ci, di, au = ci[keep], di[keep], au[keep]

    # Account users and their weekly activity.
    nu = int(n_users.sum())
    owner = np.repeat(np.arange(m), n_users)
    s0 = w.seg_start[cs][owner]
    last_end = np.minimum(np.maximum(w.seg_end[cs], w.seg_end[w.n + cs]), w.end)[owner]
    early = rng.random(nu) < 0.7
    reg = np.where(early, s0 + rng.exponential(12.0, nu).astype(np.int64),
                   s0 + (rng.random(nu) * np.maximum(last_end - s0, 1)).astype(np.int64))
    reg = np.minimum(reg, np.maximum(last_end, s0))
    reg = np.minimum(reg, w.end)
    act = reg + np.floor(rng.exponential(1.5, nu)).astype(np.int64)
    activated = (rng.random(nu) < 0.88) & (act <= w.end)
    uid = ids.user_id + 1 + np.arange(nu)
    ids.user_id += nu
    yield Batch("account_users", ("id", "customer_id", "registered_on", "activated_on"),
                list(zip(uid.tolist(), (cs[owner] + 1).tolist(), _dates(reg), _dates(act, activated), strict=True)),
                progress, "account users")
    nw = len(mondays)
    if nw:
        week_of_day = (days - mondays[0]) // 7
        in_weeks = week_of_day >= 0
        level = np.zeros((m, nw))
        counts = np.bincount(week_of_day[in_weeks], minlength=nw).astype(float)
        weighted = np.where(active, factor * season, 0.0)[:, in_weeks]
        np.add.at(level.T, week_of_day[in_weeks], weighted.T)
        level = np.minimum(1.0, 1.1 * level / np.maximum(counts, 1))
        a_week = np.floor((act - mondays[0]) / 7).astype(np.int64)
        life = np.where(rng.random(nu) < 0.3, rng.exponential(150.0, nu), rng.exponential(10.0, nu))
        sticky = rng.beta(3.0, 2.0, nu)
        k = np.arange(nw)[None, :] - a_week[:, None]
        alive = activated[:, None] & (k >= 0) & (k < life[:, None])
        on = alive & (rng.random((nu, nw)) < sticky[:, None] * level[owner])
        ui, wi = np.nonzero(on)
        week_text = np.asarray(_dates(mondays), dtype=object)
        yield Batch("account_user_weeks", ("account_user_id", "week"),
                    list(zip(uid[ui].tolist(), week_text[wi].tolist(), strict=True)), progress, "account user weeks")

    sessions = au + rng.poisson(au * 0.7)
    page_views = sessions + rng.poisson(sessions * 5.5)
    visitors = au + rng.poisson(au * 0.15)
    events = rng.poisson(sessions * 2.2)
    yield Batch("usage_daily", ("customer_id", "day", "active_users", "sessions", "page_views", "unique_visitors", "feature_events"),
                list(zip((cs[ci] + 1).tolist(), fb["day_text"][di].tolist(), au.tolist(), sessions.tolist(), page_views.tolist(),
                         visitors.tolist(), events.tolist(), strict=True)), progress, f"usage of customers {lo + 1}-{hi}")
    yield from _usage_rollups(cs[ci] + 1, days[di], au, sessions, page_views, visitors, events, progress)
    yield from _feedback(rng, w, ids, fb, cs[ci], days[di], (n_users[ci] / 10.0) ** 0.3, progress)


def _usage_rollups(customer: np.ndarray, day: np.ndarray, active: np.ndarray, sessions: np.ndarray, views: np.ndarray,
                   visitors: np.ndarray, events: np.ndarray, progress: float) -> Iterator[Batch]:
    """The chunk's ``usage_monthly`` rows and its weekly ``usage_periods`` rows, aggregated while its daily
    rows are still in memory: the same sums as ``rollups.refresh_usage_monthly`` and
    ``rollups.refresh_usage_periods`` without a second pass over the loaded table (the weeks' paying flags
    are set with the MRR roll-up, after the load). A chunk holds whole customers, so every week is whole."""
    day = np.asarray(day, dtype=np.int64)

    def per(start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Callable[[np.ndarray], list[int]]]:
        keys, group = np.unique(customer * 100_000 + (start - start.min()), return_inverse=True)
        n = len(keys)
        peak = np.zeros(n, dtype=np.int64)
        np.maximum.at(peak, group, active)
        first = np.zeros(n, dtype=np.int64)
        first[group] = start  # every row of a group has the same start

        def total(values: np.ndarray) -> list[int]:
            return np.bincount(group, weights=values, minlength=n).round().astype(np.int64).tolist()

        return keys // 100_000, first, np.bincount(group, minlength=n), peak, total

    owner, month, days_used, peak, total = per(_month(day))
    yield Batch("usage_monthly", ("customer_id", "month", "active_days", "active_user_days", "peak_active_users", "sessions",
                                  "page_views", "unique_visitors", "feature_events"),
                list(zip(owner.tolist(), _dates(_first_day(month)), days_used.tolist(), total(active), peak.tolist(),
                         total(sessions), total(views), total(visitors), total(events), strict=True)),
                progress, "monthly usage roll-up")
    owner, monday, _, peak, total = per(day - (day + 3) % 7)  # 1970-01-01 was a Thursday
    yield Batch("usage_periods", ("grain", "period_start", "customer_id", "period_end", "user_days", "peak_users", "sessions",
                                  "page_views", "unique_visitors", "feature_events", "paying"),
                list(zip(["week"] * len(owner), _dates(monday), owner.tolist(), _dates(monday + 6), total(active),
                         peak.tolist(), total(sessions), total(views), total(visitors), total(events), [False] * len(owner),
                         strict=True)), progress, "weekly usage roll-up")


def _resolution_hours(size: np.ndarray, severity: np.ndarray) -> np.ndarray:
    """The default resolution target (hours of the service clock) of each item's severity and of the tier its
    customer's size band usually earns (``SERVICE_TIER_BY_SIZE``)."""
    targets = setting_default("feedback.sla_resolution_hours")
    severities = vocab.values(vocab.Severity)
    table = np.asarray([[float(targets[tier][s]) for s in severities] for tier in SERVICE_TIER_BY_SIZE])
    return table[size, severity]


def _feedback_timeline(w: _World, cust: np.ndarray, received: np.ndarray, first: np.ndarray, severity: np.ndarray,
                       pace: np.ndarray, work_start: np.ndarray, closed_after: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Status (index into FeedbackStatus) at ``end`` and the first-response (triage), work-started,
    resolved and closed moments.

    A team that keeps up resolves an item in a lognormal share of its target (median ``RESOLUTION_SHARE``,
    sigma ``RESOLUTION_SPREAD``, from the standard normal ``pace``) counted on Monday-to-Friday time from
    receipt, starts work somewhere in the first 40 % of the way from triage to resolution (``work_start``)
    and closes ``closed_after`` seconds after resolving. The status is where that timeline stands at ``end``
    (18:59:59), so what is open is mostly recent, and only the slow tail is past its target.
    """
    end_ts = w.end * 86400 + 18 * 3600 + 3599
    hours = _resolution_hours(w.size[cust], severity) * np.exp(np.log(RESOLUTION_SHARE) + RESOLUTION_SPREAD * pace)
    resolved = np.maximum(_working_after(received, hours * 3600), first + 600)
    started = first + ((resolved - first) * 0.4 * work_start).astype(np.int64)
    closed = resolved + closed_after
    status = np.select([first > end_ts, started > end_ts, resolved > end_ts, closed > end_ts], [0, 1, 2, 3], 4)
    return status, first, started, resolved, closed


def _feedback(rng: np.random.Generator, w: _World, ids: _Counters, fb: dict[str, Any], cust: np.ndarray, day: np.ndarray,
              weight: np.ndarray, progress: float) -> Iterator[Batch]:
    """~2 items per active customer-year: each active customer-day speaks with probability ~2/250; then
    each item's history as the write path records it (``_feedback_history``)."""
    pick = rng.random(len(cust)) < (2.0 / 250.0) * weight / 1.0
    cust, day = cust[pick], day[pick]
    k = len(cust)
    received = day * 86400 + 8 * 3600 + 1800 + rng.integers(0, 9 * 3600, k)
    ftype = rng.choice(len(FEEDBACK_TYPES), size=k, p=FEEDBACK_TYPE_P)
    topic = np.empty(k, dtype=np.int64)
    for t, name in enumerate(FEEDBACK_TYPES):  # five types
        rows = np.nonzero(ftype == t)[0]
        choices = np.asarray([i for i, tp in enumerate(TOPICS) if tp["type"] == name])
        topic[rows] = choices[rng.integers(0, len(choices), rows.size)]
    eng = w.english[cust] ^ (rng.random(k) < 0.1)
    variant = rng.integers(0, 100, k)
    prefix = rng.integers(0, 12, k)
    zh_pre, en_pre = ("", "您好，", "请问，", "我们这边"), ("", "Hi, ", "Quick question: ", "Hello team, ")
    texts = []
    for t, e, v, p in zip(topic.tolist(), eng.tolist(), variant.tolist(), prefix.tolist(), strict=True):
        options = TOPICS[t]["en" if e else "zh"]
        head = (en_pre if e else zh_pre)[p] if p < 4 else ""
        texts.append(head + options[v % len(options)])
    area = np.asarray([TOPICS[t]["area"] for t in range(len(TOPICS))], dtype=object)[topic]
    # Draws in the order they always had, so an item's text, type, severity, importance, channel and contact stay as
    # they were (a demand link is drawn per triaged item, so where fewer wait for triage some links move).
    work_start = rng.random(k)
    first = _working_after(received, np.exp(rng.normal(np.log(3 * 3600), 1.2, k)))
    pace = rng.normal(0.0, 1.0, k)
    closed_after = rng.integers(1, 11, k) * 86400
    other = (ftype + rng.integers(1, 5, k)) % 5
    v = rng.random(k)
    is_bug = ftype == 0
    severity = np.where(is_bug, _pick(rng, np.tile([0.1, 0.45, 0.35, 0.1], (k, 1))), _pick(rng, np.tile([0.5, 0.4, 0.1, 0.0], (k, 1))))
    status, first, started, resolved, closed = _feedback_timeline(w, cust, received, first, severity, pace, work_start,
                                                                  closed_after)
    has_first = status >= 1
    has_resolved = status >= 3
    has_closed = status == 4
    triaged = status >= 1
    suggested = np.where(triaged, np.where(v < 0.85, ftype, np.where(v < 0.95, other, -1)),
                         np.where(v < 0.6, ftype, np.where(v < 0.75, other, -1)))
    type_names = np.asarray(FEEDBACK_TYPES + (None,), dtype=object)
    stuck = ftype == 4
    importance = np.where(stuck, _pick(rng, np.tile([0.2, 0.45, 0.35], (k, 1))), _pick(rng, np.tile([0.55, 0.35, 0.10], (k, 1))))
    channel = _choice(rng, CHANNELS, k, CHANNEL_P)
    contact = w.first_contact[cust]
    has_contact = (contact > 0) & (rng.random(k) < 0.8)
    faq = np.asarray([fb["faq_by_topic"].get(t, 0) for t in topic.tolist()], dtype=np.int64)
    faq = np.where((faq > 0) & has_resolved & (rng.random(k) < 0.7), faq, 0)
    demand = np.zeros(k, dtype=np.int64)
    link = np.isin(ftype, (0, 3, 4)) & triaged & (rng.random(k) < 0.4)
    for a in np.unique(area[link]).tolist():  # at most seven product areas
        rows = np.nonzero(link & (area == a))[0]
        pool = fb["demand_ids"][fb["demand_area"] == a]
        if pool.size:
            demand[rows] = pool[rng.integers(0, pool.size, rows.size)]
    released = np.zeros(k, dtype=bool)
    released[demand > 0] = fb["demand_status"][demand[demand > 0] - 1] == "released"
    informed = has_closed & released
    fid = ids.feedback_id + 1 + np.arange(k)
    ids.feedback_id += k
    severities, importances, statuses = vocab.values(vocab.Severity), vocab.values(vocab.Importance), vocab.values(vocab.FeedbackStatus)
    rows = list(zip(
        fid.tolist(), (cust + 1).tolist(), np.where(has_contact, contact, 0).tolist(), channel.tolist(), _stamps(received),
        area.tolist(), texts, type_names[suggested].tolist(), np.where(triaged, type_names[ftype], None).tolist(),
        np.asarray(severities)[severity].tolist(), np.asarray(importances)[importance].tolist(),
        np.asarray(statuses)[status].tolist(), demand.tolist(), faq.tolist(), _stamps(first, has_first),
        _stamps(resolved, has_resolved), _stamps(closed, has_closed), _stamps(closed, informed), [1] * k, strict=True))
    rows = [r[:2] + (r[2] or None,) + r[3:12] + (r[12] or None, r[13] or None) + r[14:] for r in rows]
    yield Batch("feedback", ("id", "customer_id", "contact_id", "channel", "received_at", "product_area", "text",
                             "suggested_type", "type", "severity", "importance", "status", "demand_id", "faq_id",
                             "first_response_at", "resolved_at", "closed_at", "informed_at", "version"), rows, progress, "feedback")
    yield _feedback_history(ids, fid, status, (first, started, resolved, closed), w.english[cust],
                            (type_names[ftype], np.asarray(severities)[severity], area), demand, faq, progress)


# Who handles the demo's feedback: the editor of the customer's language.
FEEDBACK_HANDLERS = ("zhang.min", "emma.clark")


def _feedback_history(ids: _Counters, fid: np.ndarray, status: np.ndarray, moments: tuple[np.ndarray, ...],
                      english: np.ndarray, triage: tuple[np.ndarray, ...], demand: np.ndarray, faq: np.ndarray,
                      progress: float) -> Batch:
    """The status changes an item went through up to where its timeline stands, as ``feedback.triage``,
    ``transition`` and the routing functions record them: triaged at the first response (with the type,
    severity and area it was given), linked to its demand then, in progress when work started, resolved
    (and linked to its FAQ entry), closed. Draws nothing, so the rest of the company stays as it was."""
    statuses = np.asarray(vocab.values(vocab.FeedbackStatus), dtype=object)
    first, started, resolved, closed = moments
    types, severities, areas = triage
    handler = np.asarray(FEEDBACK_HANDLERS)[english.astype(np.int64)]
    triaged, working, done, shut = (np.nonzero(status >= reached)[0] for reached in (1, 2, 3, 4))
    on_board, in_faq = triaged[demand[triaged] > 0], done[faq[done] > 0]
    # The steps in the order the write path records them: items, moment, from, to, each item's note.
    steps = (
        (triaged, first, 0, 1, [present.history_note_code("triaged", types[i], severities[i], areas[i]) for i in triaged]),
        (on_board, first, 1, 1, [present.history_note_code("demand", int(demand[i])) for i in on_board]),
        (working, started, 1, 2, [None] * working.size),
        (done, resolved, 2, 3, [None] * done.size),
        (in_faq, resolved, 3, 3, [present.history_note_code("faq", int(faq[i])) for i in in_faq]),
        (shut, closed, 3, 4, [None] * shut.size),
    )
    item = np.concatenate([items for items, *_ in steps])
    step = np.concatenate([np.full(items.size, n) for n, (items, *_) in enumerate(steps)])
    at = np.concatenate([moment[items] for items, moment, *_ in steps])
    source = np.concatenate([np.full(items.size, s) for items, _, s, _, _ in steps])
    target = np.concatenate([np.full(items.size, t) for items, _, _, t, _ in steps])
    notes = np.asarray([note for *_, texts in steps for note in texts], dtype=object)
    chronological = np.lexsort((step, item))  # each item's steps together, in their order
    item, at, source, target, notes = (x[chronological] for x in (item, at, source, target, notes))
    hid = ids.feedback_history_id + 1 + np.arange(item.size)
    ids.feedback_history_id += item.size
    rows = list(zip(hid.tolist(), fid[item].tolist(), _stamps(at), handler[item].tolist(), statuses[source].tolist(),
                    statuses[target].tolist(), notes.tolist(), strict=True))
    return Batch("feedback_history", ("id", "feedback_id", "at", "actor", "from_status", "to_status", "note"), rows,
                 progress, "feedback history")


# --- marketing: events, costs, leads --------------------------------------------------------------------

# An event's name in Chinese and English. A series is numbered ({i}); the shows of a year ({y}) are
# different shows, taken in turn, so two exhibitions of one year do not share a name.
_EVENT_NAMES = {
    "exhibition": (("{y} 中国国际工业博览会", "{y} Industrial Automation Expo"), ("{y} 华南工业自动化展", "{y} South China Automation Fair"),
                   ("{y} 中国国际机床展", "{y} China Machine Tool Show"), ("{y} 智能工厂装备博览会", "{y} Smart Factory Equipment Expo")),
    "supplier_conference": (("{y} 智能制造供应商大会", "{y} Smart Manufacturing Supplier Summit"),
                            ("{y} 工业互联网生态大会", "{y} Industrial Internet Ecosystem Forum"),
                            ("{y} 制造业数字化转型峰会", "{y} Manufacturing Digital Transformation Summit")),
    "salon": (("数字化工厂沙龙 第{i}期", "Digital Plant Salon #{i}"),),
    "open_class": (("MES 实施公开课 第{i}期", "MES Implementation Open Class #{i}"),),
    "live_stream": (("设备管理直播间 第{i}期", "EAM Live Stream #{i}"),),
    "webinar": (("质量管理线上研讨会 第{i}期", "Webinar: Quality Management #{i}"),),
}


def _event_names(kinds: list[str], english: list[bool], years: list[str]) -> list[str]:
    """Each event's name: a series by its running number, a show of the year by the next show of its kind
    (numbered once a kind's shows are used up within a year)."""
    seen: dict[tuple[str, str], int] = {}
    names = []
    for i, (kind, eng, year) in enumerate(zip(kinds, english, years, strict=True)):
        shows = _EVENT_NAMES[kind]
        n = seen[(kind, year)] = seen.get((kind, year), -1) + 1
        name = shows[n % len(shows)][1 if eng else 0].format(y=year, i=i + 1)
        if n >= len(shows):
            name += f" #{n // len(shows) + 1}" if eng else f"（第{n // len(shows) + 1}场）"
        names.append(name)
    return names
_LEADS_PER_EVENT = {"exhibition": 180, "supplier_conference": 80, "salon": 35, "open_class": 220, "live_stream": 300, "webinar": 160}
# What an event costs all in (booth or venue, platform, ads, travel, the staff's days): a webinar is not
# free, and an exhibition's booth is the least of it.
_BUDGET_YUAN = {"exhibition": (400_000, 1_500_000), "supplier_conference": (160_000, 600_000), "salon": (60_000, 200_000),
                "open_class": (40_000, 150_000), "live_stream": (30_000, 120_000), "webinar": (20_000, 100_000)}


def _event_by_budget(start: np.ndarray, weight: np.ndarray, first: np.ndarray, last: np.ndarray,
                     draws: np.ndarray) -> np.ndarray:
    """For each window of days [first, last], the index of an event starting in it, each picked in
    proportion to its ``weight`` (its budget, or a power of it) by ``draws`` (uniform in [0, 1)); -1
    where no event starts in the window. ``start`` is sorted."""
    earliest = np.searchsorted(start, first, side="left")
    latest = np.searchsorted(start, last, side="right") - 1
    spent = np.concatenate([[0.0], np.cumsum(weight.astype(float))])
    low, high = spent[np.clip(earliest, 0, len(start))], spent[np.clip(latest + 1, 0, len(start))]
    picked = np.searchsorted(spent, low + draws * (high - low), side="right") - 1
    return np.where(latest >= earliest, picked, -1)


LARGE_DEAL_CENTS = 50_000_000  # ¥500,000: a first contract this large comes from a big event


def _event_for_deal(start: np.ndarray, budget: np.ndarray, amount: np.ndarray, first: np.ndarray, last: np.ndarray,
                    draws: np.ndarray) -> np.ndarray:
    """The event a deal of ``amount`` cents met among those starting in [first, last] (``_event_by_budget``):
    an ordinary deal picks in proportion to the square root of the event's budget (a cheap webinar reaches
    prospects too), a deal of ``LARGE_DEAL_CENTS`` or more in proportion to its cube (a large account is
    met at an exhibition or a conference, seldom at a webinar)."""
    weight = budget.astype(float)
    return np.where(amount >= LARGE_DEAL_CENTS, _event_by_budget(start, weight ** 3, first, last, draws),
                    _event_by_budget(start, weight ** 0.5, first, last, draws))


def _events(rng: np.random.Generator, w: _World) -> list[Batch]:
    per_year = int(np.clip(w.n / 80, 12, 48))
    n_ev = max(1, per_year * max(1, round((w.end - w.start) / 365)))
    online = rng.random(n_ev) < 0.6
    kind = np.where(online, _choice(rng, ("open_class", "live_stream", "webinar"), n_ev, (0.35, 0.35, 0.30)),
                    _choice(rng, ("exhibition", "supplier_conference", "salon"), n_ev, (0.35, 0.25, 0.40)))
    start = np.sort(w.start + rng.integers(0, max(w.end - w.start - 3, 1), n_ev))
    length = np.asarray([{"exhibition": 3, "supplier_conference": 2}.get(k, 1) for k in kind.tolist()])
    end = start + length - 1
    org_p = {"exhibition": (0.6, 0.3, 0.1), "supplier_conference": (0.3, 0.5, 0.2), "salon": (0.0, 0.4, 0.6)}
    u = rng.random(n_ev)
    orgs = vocab.values(vocab.EventOrganisation)
    organisation = []
    for k, x in zip(kind.tolist(), u.tolist(), strict=True):
        p = org_p.get(k, (0.0, 0.3, 0.7))
        organisation.append(orgs[0] if x < p[0] else orgs[1] if x < p[0] + p[1] else orgs[2])
    purposes_all = ("acquisition", "promotion", "conversion")
    mask = rng.random((n_ev, 3)) < (0.7, 0.5, 0.4)
    mask[~mask.any(axis=1), 0] = True
    purposes = [",".join(p for p, on in zip(purposes_all, row, strict=True) if on) for row in mask.tolist()]
    lo = np.asarray([_BUDGET_YUAN[k][0] for k in kind.tolist()])
    hi = np.asarray([_BUDGET_YUAN[k][1] for k in kind.tolist()])
    budget = _cents(lo + rng.random(n_ev) * (hi - lo), step=1000)
    scale = float(np.clip(w.n / 2000, 0.25, 4.0)) ** 0.5
    expected = np.asarray([_LEADS_PER_EVENT[k] for k in kind.tolist()]) * scale
    n_leads = rng.poisson(expected)
    eng_name = rng.random(n_ev) < 0.3
    year_text = [s[:4] for s in _dates(start)]
    names = _event_names(kind.tolist(), eng_name.tolist(), year_text)
    location = np.where(online, "线上 / Online", _choice(rng, ZH_CITIES[:12], n_ev))
    eff = np.where(online, 0.2, 0.35)
    opp = np.where(online, 0.04, 0.10)
    goal_leads = np.round(expected).astype(np.int64)
    event_rows = list(zip(
        range(1, n_ev + 1), names, np.where(online, "online", "offline").tolist(), kind.tolist(), organisation,
        _dates(start), _dates(end), location.tolist(), purposes, budget.tolist(), goal_leads.tolist(),
        np.round(goal_leads * eff).astype(np.int64).tolist(), np.round(goal_leads * opp).astype(np.int64).tolist(),
        np.maximum(1, np.round(goal_leads * opp * 0.25)).astype(np.int64).tolist(),
        (np.maximum(1, np.round(goal_leads * opp * 0.25)) * 15_000_000).astype(np.int64).tolist(), [1] * n_ev, strict=True))

    # Cost lines: 2-5 per event, summing to roughly the budget.
    n_lines = rng.integers(2, 6, n_ev)
    ev_of_line = np.repeat(np.arange(n_ev), n_lines)
    cats = vocab.values(vocab.CostCategory)
    off_p, on_p = (0.25, 0.25, 0.15, 0.15, 0.05, 0.10, 0.05), (0.0, 0.05, 0.0, 0.15, 0.50, 0.25, 0.05)
    cat = np.where(online[ev_of_line], rng.choice(len(cats), size=len(ev_of_line), p=on_p),
                   rng.choice(len(cats), size=len(ev_of_line), p=off_p))
    share = rng.gamma(2.0, 1.0, len(ev_of_line))
    share = share / np.bincount(ev_of_line, weights=share)[ev_of_line]
    cost = (budget[ev_of_line] * share * rng.uniform(0.8, 1.2, n_ev)[ev_of_line]).astype(np.int64)
    # A second line of one category at one event carries a note ("第2笔"): event, category and note name a line.
    seen_pairs: dict[tuple[int, int], int] = {}
    notes: list[str | None] = []
    for pair in zip(ev_of_line.tolist(), cat.tolist(), strict=True):
        seen_pairs[pair] = seen_pairs.get(pair, 0) + 1
        notes.append(None if seen_pairs[pair] == 1 else f"第{seen_pairs[pair]}笔")
    cost_rows = list(zip(range(1, len(cost) + 1), (ev_of_line + 1).tolist(), np.asarray(cats)[cat].tolist(), cost.tolist(),
                         notes, strict=True))

    # Leads: event attendees, plus acquired customers won from an event lead (~30 %).
    ev = np.repeat(np.arange(n_ev), n_leads)
    n_att = len(ev)
    created = (start[ev] + (rng.random(n_att) * length[ev]).astype(np.int64)) * 86400 + 9 * 3600 + rng.integers(0, 8 * 3600, n_att)
    cust = np.full(n_att, -1)
    acquired = np.nonzero(w.created >= w.start)[0]
    # Events source new customers whose first contracts add up to about 3.5 times what the events cost (a
    # marketing team that pays its way, whatever the company's size or the mix of events it drew): new
    # customers are taken in a random order until their first contracts reach that sum. Each is won from
    # one of the events of the 240 days before it was created (``_event_for_deal``). A stream of its own,
    # so every other draw stays the same.
    in_turn = np.argsort(rng.random(len(acquired)), kind="stable")
    sourced = np.searchsorted(np.cumsum(w.first_amount[acquired[in_turn]]), 3.5 * budget.sum()) + 1
    won_c = np.sort(acquired[in_turn[:min(sourced, len(acquired) // 2)]])
    rng.integers(0, 4, len(won_c))  # the draw the former uniform choice made, kept so later draws stay the same
    draws = np.random.default_rng([len(won_c), n_ev, 7]).random(len(won_c))
    ev_idx = _event_for_deal(start, budget, w.first_amount[won_c], w.created[won_c] - 240, w.created[won_c] - 14, draws)
    ok = (ev_idx >= 0)
    ok[ok] &= start[ev_idx[ok]] >= w.created[won_c[ok]] - 240
    won_c, ev_idx = won_c[ok], ev_idx[ok]
    wl = len(won_c)
    ev = np.concatenate([ev, ev_idx])
    created = np.concatenate([created, start[ev_idx] * 86400 + 10 * 3600 + rng.integers(0, 6 * 3600, wl)])
    cust = np.concatenate([cust, won_c])
    n_all = len(ev)
    is_won = cust >= 0
    ev_online = online[ev]
    title = np.where(ev_online[:, None], np.tile([0.6, 0.28, 0.1, 0.02], (n_all, 1)), np.tile([0.3, 0.35, 0.25, 0.1], (n_all, 1)))
    title_level = np.asarray(vocab.values(vocab.TitleLevel))[_pick(rng, title)]
    budget_ok = is_won | (rng.random(n_all) < np.where(ev_online, 0.08, 0.25))
    ind = np.where(is_won, w.industry[np.maximum(cust, 0)], rng.choice(len(INDUSTRIES), size=n_all, p=INDUSTRY_P))
    company = np.where(is_won, w.names[np.maximum(cust, 0)], rng.choice(w.prospects, size=n_all))
    size = np.where(is_won, w.employees[np.maximum(cust, 0)], np.round(np.exp(rng.normal(5.4, 1.35, n_all)))).astype(np.int64)
    has_opp = is_won | (rng.random(n_all) < np.where(ev_online, 0.04, 0.10) * np.where(budget_ok, 2.0, 1.0))
    won_at = (w.created[np.maximum(cust, 0)] * 86400 + 10 * 3600)
    opp_at = np.where(is_won, created + ((won_at - created) * rng.uniform(0.3, 0.8, n_all)).astype(np.int64),
                      created + rng.integers(7, 61, n_all) * 86400)
    has_opp &= opp_at <= w.end * 86400 + 18 * 3600
    first_amount = w.first_amount[np.maximum(cust, 0)]
    opp_amount = np.where(is_won, (first_amount * rng.uniform(0.9, 1.3, n_all)).astype(np.int64),
                          _cents(np.exp(rng.normal(np.log(150_000), 0.8, n_all))))
    eng = rng.random(n_all) < 0.15
    contact_names, locals_ = _person_names(rng, eng, company.tolist())
    phones = _phones(rng, eng)
    order = np.argsort(created, kind="stable")
    lid = np.empty(n_all, dtype=np.int64)
    lid[order] = np.arange(1, n_all + 1)
    emails = [f"{lp}@{'example.com' if e else 'example.com.cn'}" for lp, e in zip(locals_, eng.tolist(), strict=True)]
    # Most unwon opportunities are lost 3 to 17 weeks after they opened (a stream of its own, so the rest
    # of the company stays as it was); the others are still open.
    closing = np.random.default_rng(n_all * 7919 + n_ev)
    lost_at = opp_at + closing.integers(21, 120, n_all) * 86400
    is_lost = has_opp & ~is_won & (closing.random(n_all) < 0.7) & (lost_at <= w.end * 86400)
    lead_rows = list(zip(
        lid.tolist(), company.tolist(), contact_names, phones, emails, title_level.tolist(), size.tolist(),
        np.asarray(INDUSTRIES)[ind].tolist(), budget_ok.tolist(), _stamps(created), _stamps(opp_at, has_opp),
        np.where(has_opp, opp_amount, 0).tolist(), _stamps(won_at, is_won), np.where(is_won, first_amount, 0).tolist(),
        np.where(is_won, cust + 1, 0).tolist(), [1] * n_all, _stamps(lost_at, is_lost), strict=True))
    lead_rows = [r[:11] + (r[11] or None, r[12], r[13] or None, r[14] or None) + r[15:] for r in lead_rows]
    lead_rows = [lead_rows[i] for i in order.tolist()]

    # Touches: the lead's event, and ~10 % a later second event (before the win for won leads).
    second = rng.random(n_all) < 0.10
    other = ev + 1
    second &= (other >= 0) & (other < n_ev)
    if is_won.any():
        second[is_won] &= start[np.clip(other[is_won], 0, n_ev - 1)] * 86400 < won_at[is_won]
    # A deal is rarely won at one event: a won lead also met up to three other events of the half year
    # before its win (picked as its first event was), so attribution has paths to share (a stream of its own).
    paths = np.random.default_rng([n_all, n_ev, 11])
    won_rows = np.nonzero(is_won)[0]
    extra = np.minimum(paths.poisson(1.5, len(won_rows)), 3)
    x_lead = np.repeat(won_rows, extra)
    x_event = _event_for_deal(start, budget, first_amount[x_lead], won_at[x_lead] // 86400 - 180,
                              won_at[x_lead] // 86400 - 7, paths.random(len(x_lead)))
    x_ok = (x_event >= 0) & (x_event != ev[x_lead])
    x_lead, x_event = x_lead[x_ok], x_event[x_ok]
    pairs = np.unique(np.stack([x_lead, x_event]), axis=1) if len(x_lead) else np.zeros((2, 0), dtype=np.int64)
    t_lead = np.concatenate([lid, lid[second], lid[pairs[0]]])
    t_event = np.concatenate([ev, other[second], pairs[1]])
    t_at = np.concatenate([created, start[other[second]] * 86400 + 11 * 3600, start[pairs[1]] * 86400 + 14 * 3600])
    # A lead meets an event once: an extra event that is also its second one is kept at the earlier moment.
    by_time = np.lexsort((t_at, t_event, t_lead))
    pair = np.stack([t_lead[by_time], t_event[by_time]])
    first_of_pair = np.ones(len(by_time), dtype=bool)
    first_of_pair[1:] = (pair[:, 1:] != pair[:, :-1]).any(axis=0)
    kept = by_time[first_of_pair]
    t_lead, t_event, t_at = t_lead[kept], t_event[kept], t_at[kept]
    order = np.lexsort((t_event, t_at, t_lead))
    touch_rows = list(zip(range(1, len(order) + 1), t_lead[order].tolist(), (t_event[order] + 1).tolist(), _stamps(t_at[order]), strict=True))
    return [
        Batch("events", ("id", "name", "format", "kind", "organisation", "start_date", "end_date", "location", "purposes",
                         "budget_cents", "goal_leads", "goal_effective_leads", "goal_opportunities", "goal_conversions",
                         "goal_revenue_cents", "version"), event_rows, 0.93, "events"),
        Batch("event_costs", ("id", "event_id", "category", "amount_cents", "note"), cost_rows, 0.93, "event costs"),
        Batch("leads", ("id", "company", "contact_name", "phone", "email", "title_level", "company_size", "industry",
                        "budget_confirmed", "created_at", "opportunity_at", "opportunity_amount_cents", "won_at",
                        "won_amount_cents", "customer_id", "version", "lost_at"), lead_rows, 0.94, "leads"),
        Batch("lead_touches", ("id", "lead_id", "event_id", "touched_at"), touch_rows, 0.95, "lead touches"),
    ]


# --- the whole company -----------------------------------------------------------------------------------


def check_arguments(customers: int, years: int) -> None:
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise UsageError(f"customers must be between 1 and {MAX_CUSTOMERS:,}, not {customers}")
    if not 1 <= years <= MAX_YEARS:
        raise UsageError(f"years must be between 1 and {MAX_YEARS}, not {years}")


def iter_batches(customers: int, years: int = 3, seed: int = 7, end: dt.date | None = None) -> Iterator[Batch]:
    """The demo company as batches of rows, parents before children (what ``generate`` loads).

    Exposed so the benchmark can time a raw insert of exactly the same rows.
    """
    check_arguments(customers, years)
    end = end or dt.date.today()
    end_day, start_day = _day(end), _day(_window_start(end, years))
    rng = np.random.default_rng([seed, 1])
    world, csms, custs = _customers(rng, customers, start_day, end_day)
    yield csms
    yield custs
    yield _contacts(np.random.default_rng([seed, 2]), world)
    yield from _contracts(np.random.default_rng([seed, 3]), world)
    yield _referrals(np.random.default_rng([seed, 4]), world)
    releases, rel_dates, rel_status = _releases(np.random.default_rng([seed, 5]), world)
    yield releases
    demand_batches, demand_area, demand_status, demand_ids = _demands(np.random.default_rng([seed, 6]), world, rel_dates, rel_status)
    yield from demand_batches
    faq, faq_by_topic = _faq(world)
    yield faq
    cal = _calendar(start_day, end_day)
    fb = {"faq_by_topic": faq_by_topic, "demand_area": demand_area, "demand_status": demand_status, "demand_ids": demand_ids,
          "day_text": np.asarray(_dates(cal[0]), dtype=object)}
    counters = _Counters()
    chunks = range(0, customers, CHUNK)
    for i, lo in enumerate(chunks):
        hi = min(lo + CHUNK, customers)
        yield from _usage_chunk(world, seed, i, lo, hi, cal, counters, fb, 0.10 + 0.80 * (i + 1) / len(chunks))
    yield from _events(np.random.default_rng([seed, 7]), world)


def _prefetched(batches: Iterator[Batch], depth: int = 2) -> Iterator[Batch]:
    """Generate the next batches in a thread while the caller inserts this one.

    NumPy and both drivers release the GIL for their heavy parts, so on two cores generation
    mostly hides behind the insert. Order (hence the rows) is unchanged.
    """
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        while not stop.is_set():  # never block for good: the consumer may have given up
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    worker = threading.Thread(target=produce, name="demo-generator", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _customer_count(conn: Any) -> int:
    return conn.execute(select(func.count()).select_from(TABLES["customers"])).scalar_one()


def generate(engine: Engine, customers: int, years: int = 3, seed: int = 7, end: dt.date | None = None,
             progress: Progress | None = None, actor: Actor = SYSTEM, replace: bool = False) -> dict[str, int]:
    """Fill the store with the demo company in one transaction; returns rows written per table.

    Refuses a store that already has customers unless ``replace`` (then the demo tables are emptied
    first, in the same transaction, so a failure leaves the old data in place).
    """
    writes.require_role(actor, vocab.Role.admin, "generate the demo company")
    check_arguments(customers, years)
    end = end or dt.date.today()
    report = progress or (lambda _f, _m: None)
    counts: dict[str, int] = {}
    with engine.begin() as conn, bulk.large_cache(conn):
        bulk.begin_sqlite_transaction(conn)
        existing = _customer_count(conn)
        if existing and not replace:
            raise UsageError(f"the store already holds {existing:,} customers; use --replace to overwrite them with the demo company")
        if existing or replace:
            for name in reversed([t.name for t in TABLES.values() if t.name in DEMO_TABLES + _DEPENDENT_TABLES]):
                if name != "users":
                    conn.execute(delete(TABLES[name]))
        dropped = []
        for name in BIG_TABLES:
            if not conn.execute(select(func.count()).select_from(TABLES[name])).scalar_one():
                dropped += bulk.drop_secondary_indexes(conn, name)
        report(0.0, "generating")
        written = demo_company.IdRanges()  # which rows are the demo's, recorded for its removal
        for batch in _prefetched(iter_batches(customers, years, seed, end)):
            counts[batch.table] = counts.get(batch.table, 0) + bulk.bulk_insert(conn, batch.table, batch.columns, batch.rows)
            written.add(batch.table, batch.columns, batch.rows)
            report(batch.progress, batch.message)
        counts["users"] = _add_users(conn)
        report(0.96, "building indexes")
        bulk.create_indexes(conn, dropped)
        report(0.98, "roll-ups")
        rollups.finish_load(conn)
        bulk.reset_sequences(conn, [n for n in DEMO_TABLES if n in counts])
        bulk.refresh_statistics(conn)
        with Session(bind=conn) as session:
            writes.record_bulk(session, actor, "customers", "demo",
                               {"counts": counts, "seed": seed, "years": years, "end": end.isoformat(), "customers": customers})
            demo_company.record(session, actor, written.ranges,
                                {"customers": customers, "years": years, "seed": seed, "end": end.isoformat()})
    report(1.0, "done")
    return counts


def _add_users(conn: Any) -> int:
    """The built-in admin and a few demo users (kept if they already exist)."""
    users = TABLES["users"]
    have = set(conn.execute(select(users.c.username)).scalars())
    rows = [(u, name, role, None, True, 1) for u, name, role in DEMO_USERS if u not in have]
    if rows:
        bulk.bulk_insert(conn, "users", ("username", "display_name", "role", "password_hash", "active", "version"), rows)
    return len(rows)


# --- command line ---------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (use YYYY-MM-DD)") from None


def remove_main(argv: list[str]) -> int:
    """``python -m ops_core.demo remove [--database-url URL]``: remove the demo company as the local admin."""
    parser = _Parser(prog="python -m ops_core.demo remove",
                     description="Remove the demo company; own rows, users, settings and the audit log stay.")
    parser.add_argument("--database-url", default=None)

    def body() -> int:
        args = parser.parse_args(argv)
        with cli.open_store(args.database_url) as engine:
            summary = remove_demo_company(engine, writes.LOCAL_ADMIN)
        deleted = summary["deleted"]
        print(f"removed the demo company: {sum(deleted.values()):,} rows "
              f"({', '.join(f'{k} {v:,}' for k, v in deleted.items())})")
        return 0

    return cli.run(body)


def main(argv: list[str] | None = None) -> int:
    """``python -m ops_core.demo --customers N --seed S [--years Y] [--end D] [--database-url URL] [--replace]``,
    or ``python -m ops_core.demo remove [--database-url URL]``."""
    from ops_core.db.engine import make_engine
    from ops_core.db.schema import upgrade

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["remove"]:
        return remove_main(argv[1:])

    parser = _Parser(prog="python -m ops_core.demo", description="Fill the store with the deterministic demo company.")
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--end", type=_date_arg, default=None, help="last day of the history (default: today)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--replace", action="store_true", help="delete the existing demo data first")
    def body() -> int:
        args = parser.parse_args(argv)  # this parser raises UsageError: one line, exit 2
        check_arguments(args.customers, args.years)
        engine = make_engine(args.database_url)
        upgrade(engine)
        shown = {"pct": -1}

        def progress(fraction: float, message: str) -> None:
            pct = int(fraction * 100)
            if pct != shown["pct"]:
                shown["pct"] = pct
                print(f"{pct:3d}% {message}", file=sys.stderr, flush=True)

        counts = generate(engine, args.customers, args.years, args.seed, args.end, progress, replace=args.replace)
        engine.dispose()
        print(", ".join(f"{k} {v:,}" for k, v in counts.items()))
        return 0

    return cli.run(body)


if __name__ == "__main__":
    from ops_core.cli import run_module

    run_module("ops_core.demo")
