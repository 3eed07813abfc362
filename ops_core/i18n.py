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
    "filters.choose": ("All", "全部"),
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
    # customer tiers and value weights
    "customers.caption": ("Scores as of {as_of} for {filters}. Weights are shown as shares of 100%; every move re-scores in memory.",
                          "评分基准日 {as_of}，范围：{filters}。权重按占比显示（合计 100%），拖动滑块即在内存中重新评分。"),
    "customers.as_of": ("Scores as of", "评分基准日"),
    "customers.weights": ("Value weights", "价值权重"),
    "customers.methods": ("Normalisation methods", "归一化方法"),
    "customers.floor": ("floor", "下限"),
    "customers.ceiling": ("ceiling", "上限"),
    "customers.tier_rules": ("Tier rules", "分层规则"),
    "customers.mode": ("Tier by", "分层方式"),
    "customers.mode.quota": ("quotas (top shares)", "配额（前若干比例）"),
    "customers.mode.cutoff": ("score cut-offs", "分数线"),
    "customers.quota": ("{tier}: share of customers", "{tier}：客户占比"),
    "customers.cutoff": ("{tier}: lowest score", "{tier}：最低分"),
    "customers.by_industry": ("Tier within each industry", "按行业内分层"),
    "customers.zero_weights": ("All weights are zero: give at least one dimension a weight to score customers.",
                               "所有权重均为零：请至少为一个维度设置权重后再评分。"),
    "customers.missing": ("Missing raw values, filled with the dimension's minimum: {detail}",
                          "原始值缺失（按该维度最小值补齐）：{detail}"),
    "customers.matching": ("{shown:,} of {total:,} customers match", "{total:,} 家客户中有 {shown:,} 家符合条件"),
    "customers.tier_metric": ("{tier} customers", "{tier} 客户"),
    "customers.distribution": ("Score distribution by tier", "各层级得分分布"),
    "customers.industry_chart": ("Tiers by industry", "各行业分层"),
    "customers.list": ("Customer list", "客户列表"),
    "customers.page": ("Page", "页码"),
    "customers.page_of": ("of {pages:,}", "共 {pages:,} 页"),
    "customers.select_hint": ("Select a row to explain that customer's score.", "选中一行即可查看该客户得分明细。"),
    "customers.filter.tiers": ("Tier", "层级"),
    "customers.filter.lines": ("Product line", "产品线"),
    "customers.filter.risk": ("Renewal risk", "续约风险"),
    "customers.filter.score": ("Score range", "得分区间"),
    "customers.filter.search": ("Search name or code", "搜索名称或编号"),
    "customers.tab.service": ("Tiers and service models", "分层与服务模式"),
    "customers.tab.explain": ("Explanation", "得分解释"),
    "customers.tab.presets": ("Presets and comparison", "方案与对比"),
    "customers.tab.chain": ("Decision-chain gaps", "决策链缺口"),
    "customers.tab.risk": ("Renewal risk", "续约风险"),
    "customers.tab.rfm": ("RFM", "RFM 分群"),
    "customers.tab.actions": ("Next actions per CSM", "客户成功经理待办"),
    "customers.tab.export": ("Export", "导出"),
    "customers.workload": ("CSM workload the tiering implies", "当前分层所需的客户成功经理工作量"),
    "customers.shortfall": ("Capacity is short for: {tiers}", "以下层级人手不足：{tiers}"),
    "customers.no_shortfall": ("The CSM team covers every tier's service model.", "现有客户成功经理可覆盖各层级服务模式。"),
    "customers.explain.pick": ("Customer", "客户"),
    "customers.explain.summary": ("Score {score:.1f}, tier {tier}.", "得分 {score:.1f}，层级 {tier}。"),
    "customers.explain.gap": ("{gap:.1f} points to {next_tier}; {dimension} closes the gap fastest.",
                              "距 {next_tier} 还差 {gap:.1f} 分；提升「{dimension}」最快。"),
    "customers.explain.top": ("Already in the top tier.", "已处于最高层级。"),
    "customers.explain.history": ("Published score and tier by month", "按月发布的得分与层级"),
    "customers.preset.name": ("Preset name", "方案名称"),
    "customers.preset.save": ("Save current sliders as preset", "将当前设置保存为方案"),
    "customers.preset.saved": ("Saved preset {name}.", "已保存方案 {name}。"),
    "customers.preset.load": ("Load preset", "载入方案"),
    "customers.preset.none": ("(current sliders)", "（当前滑块设置）"),
    "customers.preset.compare": ("Compare the sliders with", "与以下方案对比"),
    "customers.preset.publish": ("Publish as the tier assignment", "发布为正式分层"),
    "customers.preset.published": ("Published: {name}", "已发布：{name}"),
    "customers.preset.snapshot": ("Snapshot published scores for {month}", "保存 {month} 的发布得分快照"),
    "customers.preset.snapshot_done": ("Saved {rows:,} scores for {month}.", "已保存 {month} 的 {rows:,} 条得分。"),
    "customers.preset.matrix": ("Tier migration (rows: preset, columns: sliders)", "层级迁移矩阵（行：方案，列：当前滑块）"),
    "customers.preset.movers": ("Customers who move", "发生迁移的客户"),
    "customers.preset.empty": ("No presets saved yet.", "尚未保存任何方案。"),
    "customers.chain.caption": ("KA and standard customers whose decision chain misses a role.",
                                "决策链缺少角色的 KA 与标准客户。"),
    "customers.risk.horizon": ("Contracts ending within (days)", "合同到期天数范围"),
    "customers.risk.caption": ("Sorted by revenue at risk within each level.", "按风险等级内的风险收入排序。"),
    "customers.export.columns": ("Columns", "导出列"),
    "customers.export.unmasked": ("Include personal data unmasked (admins only)", "导出未脱敏的个人信息（仅管理员）"),
    "customers.export.rows": ("{rows:,} rows will be exported.", "将导出 {rows:,} 行。"),
    "risk.high": ("high", "高"),
    "risk.medium": ("medium", "中"),
    "risk.low": ("low", "低"),
    "col.code": ("Code", "编号"),
    "col.name": ("Customer", "客户"),
    "col.tier": ("Tier", "层级"),
    "col.score": ("Score", "得分"),
    "col.industry": ("Industry", "行业"),
    "col.region": ("Region", "区域"),
    "col.csm": ("CSM", "客户成功经理"),
    "col.product_lines": ("Product lines", "产品线"),
    "col.arr": ("ARR (¥)", "ARR（元）"),
    "col.risk_level": ("Risk", "风险"),
    "col.customers": ("Customers", "客户数"),
    "col.dimension": ("Dimension", "维度"),
    "col.raw": ("Raw value", "原始值"),
    "col.normalised": ("Normalised", "归一化值"),
    "col.weight": ("Weight", "权重"),
    "col.points": ("Points", "得分贡献"),
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
