"""The first start of an empty store under AppTest: the choice between the demo company and an empty
start (``OPS_START=ask``, the default), what each choice does, and every page on an empty store."""
from __future__ import annotations

import importlib

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from ops_core import demo_company, io
from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from ops_core.i18n import t
from tests.conftest import ROOT, ok

APP = str(ROOT / "app.py")
WORDS = {  # what the choice shows, in each language
    "en": ("Welcome to Ops Cockpit", "This store is empty. How would you like to begin?", "Explore a demo company",
           "Start empty and import my data"),
    "zh": ("欢迎使用运营驾驶舱", "数据库还是空的。您想如何开始？", "浏览演示公司", "从空白开始，导入我的数据"),
}


def first_visit(url: str, monkeypatch, lang: str = "en", start: str | None = None) -> AppTest:
    monkeypatch.setenv("OPS_DATABASE_URL", url)
    monkeypatch.setenv("OPS_DEMO_CUSTOMERS", "12")
    monkeypatch.setenv("OPS_DEMO_YEARS", "1")
    if start is None:
        monkeypatch.delenv("OPS_START", raising=False)
    else:
        monkeypatch.setenv("OPS_START", start)
    app = AppTest.from_file(APP, default_timeout=180)
    app.query_params["lang"] = lang
    return app.run()


def customers_in(url: str) -> tuple[int, str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(TABLES["customers"])).scalar_one()
        started = demo_company.start_chosen(conn)
    engine.dispose()
    return count, started


@pytest.fixture
def empty_url(new_store_url) -> str:
    return new_store_url()  # migrated by the app on its first run


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_empty_stores_first_start_offers_the_demo_company_or_an_empty_start(empty_url, monkeypatch, lang):
    app = ok(first_visit(empty_url, monkeypatch, lang))
    title, body, demo, empty = WORDS[lang]
    assert app.title[0].value == title
    assert [b.label for b in app.button] == [demo, empty]
    assert [s.value for s in app.subheader] == [demo, empty]
    assert body in [m.value for m in app.markdown]
    # 12 customers, 1 year: OPS_DEMO_CUSTOMERS and OPS_DEMO_YEARS set by first_visit.
    assert app.caption[0].value == t("start.demo.help", lang, customers=12, years=1)
    assert app.caption[1].value == t("start.empty.help", lang)
    assert customers_in(empty_url) == (0, "")  # showing the choice writes nothing


@pytest.mark.parametrize(("lang", "heading"), [("en", "Ops Cockpit"), ("zh", "运营驾驶舱")])
def test_exploring_the_demo_company_builds_it_and_opens_the_home_page(empty_url, monkeypatch, lang, heading):
    app = first_visit(empty_url, monkeypatch, lang)
    app.button(key="start_demo").click().run()
    ok(app)
    assert app.title[0].value == heading
    assert app.metric[0].value == "12"  # the customers tile: OPS_DEMO_CUSTOMERS
    assert customers_in(empty_url) == (12, "demo")
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        assert demo_company.marker(conn)["ids"]["customers"] == [1, 12]
    engine.dispose()
    again = ok(first_visit(empty_url, monkeypatch, lang))  # a later visit opens at once
    assert again.title[0].value == heading


@pytest.mark.parametrize(("lang", "heading", "order"), [
    ("en", "Data", "Import in this order, so that each file finds the rows it refers to: Customers, Contacts, "
                   "Contracts, Invoices, Payments, Usage, Feedback, Events, Event costs, Leads, Lead touches."),
    ("zh", "数据", "请按以下顺序导入，使每个文件都能找到它所引用的数据：客户、联系人、合同、发票、回款、使用数据、反馈、活动、"
                   "活动费用、线索、线索触达。"),
])
def test_starting_empty_opens_the_import_tab_with_the_order_to_import_in(empty_url, monkeypatch, lang, heading, order):
    app = first_visit(empty_url, monkeypatch, lang)
    app.button(key="start_empty").click().run()
    ok(app)
    assert app.title[0].value == heading
    assert app.session_state["data_tab"] == t("data.import", lang)  # the import tab is the open one
    assert order in [c.value for c in app.caption]
    assert customers_in(empty_url) == (0, "empty")
    again = ok(first_visit(empty_url, monkeypatch, lang))  # the choice was kept in the store: not asked again
    assert again.title[0].value == t("home.title", lang)
    assert [b.label for b in again.button if b.label in WORDS[lang]] == []


def test_every_environment_switch_is_declared_with_its_meaning_and_documented_in_the_readme():
    from ops_core.config import ENVIRONMENT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [e.name for e in ENVIRONMENT if f"`{e.name}`" not in readme or len(e.help) < 20] == []
    assert {e.name for e in ENVIRONMENT} >= {"OPS_DATABASE_URL", "OPS_START", "OPS_DEMO_CUSTOMERS", "OPS_DEMO_YEARS"}


def test_the_order_sentence_names_every_importable_entity_in_the_file_order():
    """The sentence is built from io.ENTITIES, so a new entity is named without another text."""
    assert list(io.ENTITIES)[:6] == ["customers", "contacts", "contracts", "invoices", "payments", "usage"]


def test_ops_start_demo_builds_at_once_and_empty_opens_the_empty_store(new_store_url, monkeypatch):
    built = new_store_url()
    app = ok(first_visit(built, monkeypatch, start="demo"))
    assert app.title[0].value == "Ops Cockpit" and app.metric[0].value == "12"
    assert customers_in(built) == (12, "demo")
    empty = new_store_url()
    app = ok(first_visit(empty, monkeypatch, start="empty"))
    assert app.title[0].value == "Ops Cockpit" and app.metric[0].value == "0"
    assert customers_in(empty) == (0, "")  # nothing was chosen, nothing written


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_home_page_of_an_empty_store_points_to_the_import(empty_url, monkeypatch, lang):
    app = ok(first_visit(empty_url, monkeypatch, lang, start="empty"))
    assert [i.value for i in app.info][0] == {
        "en": "The store holds no customers yet: import your data on the data page, customers first.",
        "zh": "数据库中还没有客户：请在数据页面导入您的数据，先导入客户。"}[lang]
    app.button(key="start_to_import").click().run()
    ok(app)
    assert app.title[0].value == t("data.title", lang)
    assert app.session_state["data_tab"] == t("data.import", lang)


def test_an_ops_start_value_not_understood_says_so_and_asks(empty_url, monkeypatch):
    app = first_visit(empty_url, monkeypatch, start="maybe")
    assert [e.value for e in app.exception] == []
    assert [w.value for w in app.warning] == [
        "OPS_START=maybe is not understood (use ask, demo or empty), so the choice is offered."]
    assert app.title[0].value == "Welcome to Ops Cockpit"


# --- every page and tab on an empty store ------------------------------------------------------------
PAGE_TABS = {  # page -> (module of its tabs, the tabs' session key); the data and home pages have no lazy tabs
    "pages/home.py": None, "pages/data.py": None,
    "pages/indicators.py": ("indicator_tabs", "i_tab"), "pages/customers.py": ("customer_tabs", "c_tab"),
    "pages/demands.py": ("demand_tabs", "d_tab"), "pages/feedback.py": ("feedback_tabs", "f_tab"),
    "pages/events.py": ("event_tabs", "e_tab"),
}
VIEWS = [(page, text) for page, tabs in PAGE_TABS.items()
         for text in ([None] if tabs is None else list(importlib.import_module(f"cockpit.{tabs[0]}").TABS))]


@pytest.fixture(scope="module")
def started_empty(new_store_url) -> str:
    url = new_store_url()
    engine = make_engine(url)
    from ops_core.db.schema import upgrade

    upgrade(engine)
    engine.dispose()
    return url


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("page", "tab"), VIEWS, ids=[f"{p[6:-3]}-{t_ or 'page'}" for p, t_ in VIEWS])
def test_every_page_and_tab_draws_on_an_empty_store(started_empty, monkeypatch, lang, page, tab):
    """Seen before the fix: the scorecard and reports failed on a pandas merge of empty frames, the service
    efficiency tab on a column dropped from an empty summary."""
    app = first_visit(started_empty, monkeypatch, lang, start="empty")
    app.switch_page(page)
    if tab is not None:
        app.session_state[PAGE_TABS[page][1]] = t(tab, lang)
    ok(app.run())
    assert len(app.title) == 1  # the page drew its heading, not the first-start choice
    assert app.title[0].value != t("start.title", lang)
