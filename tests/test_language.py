"""Every page and tab in 简体中文: no English word is left on screen except the field's acronyms and
data as entered (customer names, demand titles, owners' user names, event names, release labels)."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from ops_core import writes
from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from tests import vega
from tests.conftest import ROOT
from tests.wording import english_words

TABS = {
    "pages/home.py": (None, []),
    "pages/indicators.py": ("i_tab", ["指标卡", "双漏斗", "同期群留存", "指标目录", "历史快照", "报告"]),
    "pages/customers.py": ("c_tab", ["分层与服务模式", "得分解释", "方案与对比", "决策链缺口", "续约风险", "RFM 分群",
                                     "客户成功经理待办", "导出"]),
    "pages/demands.py": ("d_tab", ["看板", "优先级列表", "版本发布", "流动指标", "新建需求"]),
    "pages/feedback.py": ("f_tab", ["队列", "录入反馈", "服务效率", "高频问题", "常见问题"]),
    "pages/events.py": ("e_tab", ["活动列表", "单场活动", "对比", "时间线与预算", "导入导出"]),
    "pages/data.py": (None, []),
    "pages/audit.py": (None, []),
}
CASES = [(page, tab) for page, (_, tabs) in TABS.items() for tab in [None, *tabs]]
IDS = [f"{page[6:-3]}-tab{[None, *TABS[page][1]].index(tab)}" for page, tab in CASES]
LETTERS = ["B", "N", "n", "R", "F", "M", "U", "W"]  # B 端, 第 N 周, n 个月, R / F / M scores, U 型, W 型: letters


@pytest.fixture(scope="module")
def data_words(demo_url) -> list[str]:
    """Text the store holds as entered, which a page may show as it is."""
    engine = make_engine(demo_url)
    columns = [TABLES["customers"].c.name, TABLES["customers"].c.code, TABLES["demands"].c.title, TABLES["demands"].c.owner,
               TABLES["events"].c.name, TABLES["releases"].c.version_label, TABLES["feedback"].c.text,
               TABLES["users"].c.username, TABLES["users"].c.display_name]
    with engine.connect() as conn:
        found = [str(v) for column in columns for v in conn.execute(select(column)).scalars() if v]
    engine.dispose()
    # Who saved a record is an account name, shown as entered (the browser tests save as the built-in admin).
    accounts = [writes.LOCAL_ADMIN.username, writes.SYSTEM.username]
    return found + accounts + ["MES", "EAM", "SCM", "QMS", "IoT", "Language", "English", *LETTERS]


def shown_words(app: AppTest) -> list[str]:
    """What a reader sees as words of the product: headings, captions, messages, metric and widget labels,
    table headers and chart titles (option lists hold data and are left to the data)."""
    texts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "success",
                                  "error") for e in getattr(app, kind)]
    texts += [m.label for m in app.metric]
    for kind in ("button", "selectbox", "multiselect", "radio", "slider", "number_input", "text_input", "checkbox",
                 "toggle", "date_input", "text_area"):
        texts += [str(e.label) for e in getattr(app, kind)]
    texts += [str(c) for d in app.dataframe for c in d.value.columns]
    texts += [str(enc["title"]) for spec, _ in vega.charts(app) for layer in vega.layers(spec)
              for enc in layer.get("encoding", {}).values() if isinstance(enc, dict) and enc.get("title")]
    return texts


@pytest.mark.parametrize(("page", "tab"), CASES, ids=IDS)
def test_a_chinese_page_shows_no_english_word_but_acronyms_and_data(demo_url, data_words, monkeypatch, page, tab):
    monkeypatch.setenv("OPS_DATABASE_URL", demo_url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    app.session_state["ops_lang"] = "zh"
    if tab:
        app.session_state[TABS[page][0]] = tab
    app.switch_page(page).run()
    assert [e.value for e in app.exception] == []
    left = {text: english_words(text, data_words) for text in shown_words(app)}
    assert {text: words for text, words in left.items() if words} == {}


def shown_choice(app: AppTest, kind: str, key: str) -> str | list[str]:
    """What a picker shows as chosen: the option texts a person reads, not the stored values."""
    widget = getattr(app, kind)(key=key)
    if kind == "multiselect":
        return [widget.options[i] for i in widget.indices]
    return widget.options[widget.index]


# (page, the picker, a value to pick, what it shows in English, what it shows in Chinese): one picker a
# page. The texts are the translation table's (ops_core/i18n.py) for the picked value.
PICKS = [
    ("pages/indicators.py", "selectbox", "i_grain", "quarter", "Quarter", "季度"),
    ("pages/customers.py", "multiselect", "c_f_risk", ["high"], ["high"], ["高"]),
    ("pages/demands.py", "radio", "d_method", "rice", "RICE", "RICE"),
    ("pages/feedback.py", "multiselect", "f_statuses", ["closed"], ["Closed"], ["已关闭"]),
    ("pages/events.py", "radio", "e_model", "last", "Last touch", "末次接触"),
]


@pytest.mark.parametrize(("page", "kind", "key", "value", "english", "chinese"), PICKS, ids=[p[0][6:-3] for p in PICKS])
def test_a_change_of_language_keeps_the_choice_of_a_picker(demo_url, monkeypatch, page, kind, key, value, english, chinese):
    monkeypatch.setenv("OPS_DATABASE_URL", demo_url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    app.switch_page(page).run()
    getattr(app, kind)(key=key).set_value(value).run()
    assert shown_choice(app, kind, key) == english

    app.selectbox(key="ops_lang").set_value("zh").run()
    assert [e.value for e in app.exception] == []
    assert shown_choice(app, kind, f"{key}.zh") == chinese

    app.selectbox(key="ops_lang").set_value("en").run()
    assert [e.value for e in app.exception] == []
    assert shown_choice(app, kind, key) == english


def test_a_change_of_language_keeps_the_open_tab(demo_url, monkeypatch):
    """Seen: the demand board's Releases tab fell back to the first tab (看板) after switching to 简体中文."""
    monkeypatch.setenv("OPS_DATABASE_URL", demo_url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    app.switch_page("pages/demands.py").run()
    app.session_state["d_tab"] = "Releases"
    app.run()
    app.selectbox(key="ops_lang").set_value("zh").run()
    assert [e.value for e in app.exception] == []
    assert app.session_state["d_tab"] == "版本发布"
    assert app.button(key="d_save_notes").label == "保存说明"  # the Releases tab's own button is drawn
    app.selectbox(key="ops_lang").set_value("en").run()
    assert app.session_state["d_tab"] == "Releases"


def test_a_change_of_language_keeps_an_open_expander_open(demo_url, monkeypatch):
    """Seen: the customer page's tier rules closed when the reader switched to 简体中文."""
    monkeypatch.setenv("OPS_DATABASE_URL", demo_url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    app.switch_page("pages/customers.py").run()
    app.session_state["c_rules_open"] = True
    app.run()
    assert [r.label for r in app.radio] == ["Tier by"]
    app.selectbox(key="ops_lang").set_value("zh").run()
    assert [e.value for e in app.exception] == []
    assert [r.label for r in app.radio] == ["分层方式"]  # the tier rules are still open, in Chinese
    app.selectbox(key="ops_lang").set_value("en").run()
    assert [r.label for r in app.radio] == ["Tier by"]
