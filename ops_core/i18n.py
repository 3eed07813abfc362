"""The one translation table: every label, heading and message in English and 简体中文.

Data is shown as entered, in any language; only the product's own words come from here. Keys are
dotted (``nav.home``, ``industry.manufacturing``); vocabulary values are labelled by
``<vocabulary>.<value>``. A test checks that every key has both languages and every vocabulary value
has a label.
"""
from __future__ import annotations

from enum import StrEnum

from ops_core import vocab

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"

TEXT: dict[str, tuple[str, str]] = {
    # app frame
    "app.title": ("Ops Cockpit", "运营驾驶舱"),
    "app.language": ("Language / 语言", "语言 / Language"),
    "nav.home": ("Home", "首页"),
    "nav.indicators": ("Indicator system", "指标体系"),
    "nav.customers": ("Customer tiers & value", "客户分层与价值"),
    "nav.demands": ("Demand board", "需求看板"),
    "nav.feedback": ("Feedback queue", "反馈队列"),
    "nav.events": ("Event ROI", "活动 ROI"),
    "nav.data": ("Data", "数据"),
    # shared sidebar
    "filters.header": ("Filters", "筛选"),
    "filters.date_range": ("Date range", "日期范围"),
    "filters.industries": ("Industry", "行业"),
    "filters.regions": ("Region", "区域"),
    "filters.size_bands": ("Company size", "企业规模"),
    "filters.csms": ("CSM", "客户成功经理"),
    "filters.all": ("all customers", "全部客户"),
    "filters.describe.dates": ("{start} to {end}", "{start} 至 {end}"),
    "filters.reset": ("Reset filters", "重置筛选"),
    "filters.link_hint": ("The address bar holds these filters: copy it to share this view.",
                          "地址栏已包含当前筛选条件，复制链接即可分享此视图。"),
    # store
    "store.down.title": ("The database cannot be reached", "无法连接数据库"),
    "store.down.body": ("Ops Cockpit could not open its database. Nothing was changed. Check that the "
                        "database server is running and the URL is right, then retry.",
                        "运营驾驶舱无法打开数据库，未做任何更改。请确认数据库服务已启动且地址正确，然后重试。"),
    "store.down.url": ("Database URL", "数据库地址"),
    "store.down.reason": ("Reason", "原因"),
    "store.down.retry": ("Retry", "重试"),
    "store.first_start": ("First start: creating the demo company ({customers} customers, {years} years of history)…",
                          "首次启动：正在生成演示公司（{customers} 家客户，{years} 年历史数据）……"),
    "store.first_start_done": ("Demo company ready.", "演示公司已生成。"),
    # home
    "home.title": ("Ops Cockpit", "运营驾驶舱"),
    "home.caption": ("Core business indicators of {company} at {as_of}, for {filters}.",
                     "{company} 截至 {as_of} 的核心经营指标，范围：{filters}。"),
    "home.customers": ("Customers", "客户数"),
    "home.active_customers": ("Customers under contract", "在约客户"),
    "home.arr": ("ARR", "年度经常性收入 ARR"),
    "home.overdue": ("Overdue receivables", "逾期应收"),
    "home.open_feedback": ("Open feedback", "未关闭反馈"),
    "home.open_demands": ("Demands in flight", "进行中需求"),
    "home.events": ("Events in range", "期间活动"),
    "home.chart.title": ("Active accounts and ARR by month", "按月活跃客户与 ARR"),
    "home.chart.month": ("Month", "月份"),
    "home.chart.active_accounts": ("Active accounts", "活跃客户数"),
    "home.chart.arr": ("ARR (¥)", "ARR（元）"),
    "home.by_industry": ("Customers and ARR by industry", "各行业客户数与 ARR"),
    "home.col.industry": ("Industry", "行业"),
    "home.col.customers": ("Customers", "客户数"),
    "home.col.arr": ("ARR (¥)", "ARR（元）"),
    "home.empty": ("No data for these filters.", "当前筛选条件下没有数据。"),
    # pages whose issue has not landed
    "page.pending": ("This page's full feature set is being built; below is what the store already holds.",
                     "本页完整功能正在建设中；以下为数据库中已有的数据。"),
    "indicators.summary": ("Monthly usage from the roll-up", "月度使用情况（汇总表）"),
    "customers.summary": ("Customers by size band and industry", "按规模与行业的客户分布"),
    "demands.summary": ("Demands by status", "各状态需求数"),
    "feedback.summary": ("Feedback by type and status", "按类型与状态的反馈数"),
    "events.summary": ("Events by format and kind", "按形式与类型的活动"),
    "col.count": ("Count", "数量"),
    "col.status": ("Status", "状态"),
    "col.type": ("Type", "类型"),
    "col.format": ("Format", "形式"),
    "col.kind": ("Kind", "类型"),
    "col.cost": ("Cost (¥)", "费用（元）"),
    "col.leads": ("Leads", "线索数"),
    "col.month": ("Month", "月份"),
    "col.active_accounts": ("Active accounts", "活跃客户数"),
    "col.page_views": ("Page views", "页面浏览量"),
    "col.size_band": ("Size band", "规模"),
    "col.untriaged": ("(not triaged)", "（未分类）"),
    # data page
    "data.title": ("Data", "数据"),
    "data.tables": ("What the store holds", "数据库内容"),
    "data.col.table": ("Table", "数据表"),
    "data.col.rows": ("Rows", "行数"),
    "data.export": ("Export", "导出"),
    "data.export.entity": ("Entity to export", "导出对象"),
    "data.export.masked": ("Personal data is masked in exports.", "导出文件中的个人信息已脱敏。"),
    "data.import": ("Import", "导入"),
    "data.import.entity": ("Entity to import", "导入对象"),
    "data.import.file": ("CSV or Excel file", "CSV 或 Excel 文件"),
    "data.import.run": ("Validate and import", "校验并导入"),
    "data.import.ok": ("Imported {rows} rows into {entity}.", "已向 {entity} 导入 {rows} 行。"),
    "data.import.failed": ("Nothing was imported: {count} problems. Fix them and import the file again.",
                           "未导入任何数据：发现 {count} 个问题，请修正后重新导入。"),
    "data.import.col.row": ("Row", "行"),
    "data.import.col.field": ("Field", "字段"),
    "data.import.col.problem": ("Problem", "问题"),
    "data.audit": ("Recent changes", "最近变更"),
    "download.csv": ("Download CSV", "下载 CSV"),
    "download.excel": ("Download Excel", "下载 Excel"),
    "error.permission": ("You may not do this: {reason}", "无权执行此操作：{reason}"),
}

_VOCABULARY_LABELS: dict[type[StrEnum], dict[str, tuple[str, str]]] = {
    vocab.Industry: {
        "manufacturing": ("Manufacturing", "制造业"), "construction": ("Construction", "建筑业"),
        "logistics": ("Logistics", "物流"), "energy": ("Energy", "能源"), "retail": ("Retail", "零售"),
        "healthcare": ("Healthcare", "医疗健康"), "automotive": ("Automotive", "汽车"),
        "chemicals": ("Chemicals", "化工"), "electronics": ("Electronics", "电子"), "food": ("Food & beverage", "食品饮料"),
    },
    vocab.Region: {
        "east_china": ("East China", "华东"), "north_china": ("North China", "华北"), "south_china": ("South China", "华南"),
        "central_china": ("Central China", "华中"), "southwest_china": ("Southwest China", "西南"),
        "northwest_china": ("Northwest China", "西北"), "northeast_china": ("Northeast China", "东北"),
        "overseas": ("Overseas", "海外"),
    },
    vocab.SizeBand: {
        "micro": ("Micro (<50)", "微型（<50人）"), "small": ("Small (50-249)", "小型（50-249人）"),
        "medium": ("Medium (250-999)", "中型（250-999人）"), "large": ("Large (1,000-4,999)", "大型（1000-4999人）"),
        "enterprise": ("Enterprise (5,000+)", "超大型（5000人以上）"),
    },
    vocab.DemandStatus: {
        "backlog": ("Backlog", "待处理"), "evaluating": ("Evaluating", "评估中"), "planned": ("Planned", "已规划"),
        "in_development": ("In development", "开发中"), "testing": ("Testing", "测试中"), "released": ("Released", "已发布"),
        "rejected": ("Rejected", "已拒绝"),
    },
    vocab.FeedbackType: {
        "bug": ("Bug", "缺陷"), "usage_question": ("Usage question", "使用问题"),
        "management_problem": ("Operations-management problem", "运营管理问题"),
        "feature_request": ("Feature request", "功能需求"), "sales_stuck_point": ("Sales stuck point", "销售卡点"),
    },
    vocab.FeedbackStatus: {
        "new": ("New", "新建"), "triaged": ("Triaged", "已分类"), "in_progress": ("In progress", "处理中"),
        "resolved": ("Resolved", "已解决"), "closed": ("Closed", "已关闭"),
    },
    vocab.EventFormat: {"offline": ("Offline", "线下"), "online": ("Online", "线上")},
    vocab.EventKind: {
        "exhibition": ("Industry exhibition", "行业展会"), "supplier_conference": ("Supplier conference", "供应商大会"),
        "salon": ("Salon", "沙龙"), "open_class": ("Open class", "公开课"), "live_stream": ("Live stream", "直播"),
        "webinar": ("Webinar", "网络研讨会"), "other": ("Other", "其他"),
    },
}

for _enum, _labels in _VOCABULARY_LABELS.items():
    for _value, _pair in _labels.items():
        TEXT[f"{_enum.__name__.lower()}.{_value}"] = _pair

LABELLED_VOCABULARIES = tuple(_VOCABULARY_LABELS)


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text for ``key`` in ``lang`` with ``{placeholders}`` filled; an unknown key shows itself."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "zh" else pair[0]
    return text.format(**values) if values else text


def label(enum: type[StrEnum], value: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """A vocabulary value as a person reads it; unknown values are shown as stored."""
    if value is None:
        return ""
    key = f"{enum.__name__.lower()}.{value}"
    return t(key, lang) if key in TEXT else str(value)
