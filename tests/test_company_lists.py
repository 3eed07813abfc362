"""The company's own lists: industries, regions and product lines stored with their labels, seeded on a
new store, changed by admins only through the write path, and shown by their stored labels wherever a
stored code is shown (filters, tables, exported files); the data page's editor, in Chinese and from a
stale view."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from ops_core import cells, company_lists, entity_files, filters, i18n, present, store_copy, writes
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.errors import PermissionDenied, Refused, StaleVersion, ValidationError
from ops_core.vocab import Industry, ProductLine, Region, Role
from tests.conftest import ROOT, ok
from tests.factories import make_customer

ADMIN = writes.LOCAL_ADMIN
B_USER = writes.Actor("wang.fang", Role.admin)
audit_log = TABLES["audit_log"]


def _audit(engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.entity == "company_lists").order_by(audit_log.c.id))
        return [dict(r) for r in rows.mappings()]


def _labels(engine, list_name: str) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        return company_lists.labels(conn, list_name)


# --- the seed ----------------------------------------------------------------------------------------


def test_a_new_store_holds_the_built_in_values_plus_other_in_each_list(fresh_engine):
    industries = _labels(fresh_engine, "industry")
    # The ten built-in industries (vocab.Industry, labels from ops_core/i18n.py) in their order, then "other".
    assert list(industries) == [*(m.value for m in Industry), "other"]
    assert industries["manufacturing"] == ("Manufacturing", "制造业")
    assert industries["food"] == ("Food & beverage", "食品饮料")
    assert industries["other"] == ("Other", "其他")
    assert list(_labels(fresh_engine, "region")) == [*(m.value for m in Region), "other"]
    assert _labels(fresh_engine, "region")["east_china"] == ("East China", "华东")
    assert _labels(fresh_engine, "product_line") == {
        "MES": ("MES", "MES"), "EAM": ("EAM", "EAM"), "SCM": ("SCM", "SCM"), "QMS": ("QMS", "QMS"),
        "IoT": ("IoT", "物联网"), "other": ("Other", "其他")}
    # The migration's seed is what the code's built-in labels say (one source for tests and copies).
    with fresh_engine.connect() as conn:
        assert company_lists.read_all(conn) == i18n.SEEDED_LISTS
        # A store holding only the seed counts as empty: a copy may go into it.
        assert store_copy.first_table_with_rows(conn) is None


# --- adding and renaming -------------------------------------------------------------------------------


def test_an_admin_adds_a_value_whose_code_is_made_from_its_english_name_and_audited(fresh_engine):
    with transaction(fresh_engine) as s:
        stored = company_lists.add(s, ADMIN, "industry", None, " Mining &  metals ", "采矿与金属")
    assert (stored["code"], stored["label_en"], stored["label_zh"], stored["version"]) == (
        "mining_metals", "Mining & metals", "采矿与金属", 1)
    assert stored["position"] == 12   # after the ten built-in industries and "other"
    assert list(_labels(fresh_engine, "industry"))[-1] == "mining_metals"
    [row] = _audit(fresh_engine)
    assert (row["actor"], row["action"], row["entity_id"], row["old_values"]) == ("local-admin", "create", str(stored["id"]), None)
    assert {k: row["new_values"][k] for k in ("list_name", "code", "label_en", "label_zh")} == {
        "list_name": "industry", "code": "mining_metals", "label_en": "Mining & metals", "label_zh": "采矿与金属"}


def test_a_given_code_is_kept_and_a_derived_one_never_clashes(fresh_engine):
    with transaction(fresh_engine) as s:
        assert company_lists.add(s, ADMIN, "product_line", "CRM", "CRM", "客户关系管理")["code"] == "CRM"
        assert company_lists.add(s, ADMIN, "region", "", "Hong Kong, Macao and Taiwan", "港澳台")["code"] == "hong_kong_macao_and_taiwan"
    assert company_lists.derive_code("Retail", ["retail", "retail_2"]) == "retail_3"
    assert company_lists.derive_code("零售", []) == "value"   # no ASCII letter in the name: a plain code
    assert len(company_lists.derive_code("A" * 40, [])) == 32 and company_lists.derive_code("A" * 40, ["a" * 32]) == "a" * 30 + "_2"


def test_a_rename_changes_the_names_not_the_code_and_audits_old_and_new(fresh_engine):
    with transaction(fresh_engine) as s:
        stored = company_lists.rename(s, ADMIN, "industry", "manufacturing", "Discrete manufacturing", "离散制造", 1)
    assert (stored["code"], stored["version"]) == ("manufacturing", 2)
    assert _labels(fresh_engine, "industry")["manufacturing"] == ("Discrete manufacturing", "离散制造")
    [row] = _audit(fresh_engine)
    assert row["action"] == "update"
    assert row["old_values"] == {"label_en": "Manufacturing", "label_zh": "制造业", "version": 1}
    assert row["new_values"] == {"label_en": "Discrete manufacturing", "label_zh": "离散制造", "version": 2}


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_viewers_and_editors_may_not_change_the_lists(fresh_engine, role):
    actor = writes.Actor("li.lei", role)
    with pytest.raises(PermissionDenied, match=f"li.lei \\({role}\\) may not change the industry list"):
        with transaction(fresh_engine) as s:
            company_lists.add(s, actor, "industry", None, "Mining", "采矿")
    with pytest.raises(PermissionDenied):
        with transaction(fresh_engine) as s:
            company_lists.rename(s, actor, "industry", "manufacturing", "Factories", "工厂", 1)
    assert _labels(fresh_engine, "industry") == i18n.SEEDED_LISTS["industry"]
    assert _audit(fresh_engine) == []
    # The generic write path refuses them too.
    with pytest.raises(PermissionDenied):
        with transaction(fresh_engine) as s:
            writes.create(s, actor, "company_lists", {"list_name": "industry", "code": "x", "label_en": "X",
                                                      "label_zh": "X", "position": 99})


def test_a_rename_from_a_stale_view_is_refused_with_who_changed_it_and_nothing_is_lost(fresh_engine):
    with transaction(fresh_engine) as s:   # B saves first, from version 1
        company_lists.rename(s, B_USER, "region", "east_china", "East", "华东地区", 1)
    with pytest.raises(StaleVersion) as refused:   # A saves from the version 1 it opened
        with transaction(fresh_engine) as s:
            company_lists.rename(s, ADMIN, "region", "east_china", "Eastern China", "东部", 1)
    assert refused.value.current["label_en"] == "East" and refused.value.current["version"] == 2
    with fresh_engine.connect() as conn:
        assert writes.last_change(conn, "company_lists", refused.value.record_id)["actor"] == "wang.fang"
    assert _labels(fresh_engine, "region")["east_china"] == ("East", "华东地区")


@pytest.mark.parametrize(("code", "en", "zh", "english", "chinese"), [
    (None, "manufacturing", "新制造", "'manufacturing' already names Manufacturing in Industries: each name may stand "
     "for one value only", "“manufacturing”已是行业中“制造业”的名称：每个名称只能对应一个值"),
    (None, "Heavy industry", "化工", "'化工' already names Chemicals in Industries: each name may stand for one value only",
     "“化工”已是行业中“化工”的名称：每个名称只能对应一个值"),
    ("Energy", "Power", "电力", "the code 'Energy' is already used by Energy in Industries", "代码“Energy”已被行业中的“能源”使用"),
    ("power plant", "Power", "电力", "the code 'power plant' may hold only letters, digits and underscores, at most 32",
     "代码“power plant”只能包含字母、数字和下划线，最多 32 个字符"),
    (None, "Power", " ", "a value needs both an English and a Chinese name", "值需要同时填写英文名称和中文名称"),
])
def test_a_value_that_would_be_named_like_another_is_refused_in_both_languages(fresh_engine, code, en, zh, english, chinese):
    with pytest.raises(Refused) as refused:
        with transaction(fresh_engine) as s:
            company_lists.add(s, ADMIN, "industry", code, en, zh)
    assert (refused.value.message("en"), refused.value.message("zh")) == (english, chinese)
    assert _labels(fresh_engine, "industry") == i18n.SEEDED_LISTS["industry"]


# --- reading files --------------------------------------------------------------------------------------


def test_labels_read_a_cell_by_code_or_either_name_and_new_values_lists_what_matches_none(fresh_engine):
    with transaction(fresh_engine) as s:
        company_lists.add(s, ADMIN, "industry", "mining", "Mining", "采矿")
    with fresh_engine.connect() as conn:
        vocabulary = company_lists.labels(conn, "industry")
        assert [cells.read_choice(v, vocabulary) for v in ("采矿", "MINING", "ｍｉｎｉｎｇ", "制造业", "Other", "其他")] == [
            "mining", "mining", "mining", "manufacturing", "other", "other"]
        file_cells = ["制造业", " Shipbuilding ", "", None, "shipbuilding", "采矿", "造船", "Energy", "造船"]
        assert company_lists.new_values(conn, "industry", file_cells) == ["Shipbuilding", "造船"]


# --- shown by the stored label ----------------------------------------------------------------------------


@pytest.fixture
def new_values_store(fresh_engine):
    """A customer in an industry and a region the company added, with a contract of an added product line."""
    with transaction(fresh_engine) as s:
        company_lists.add(s, ADMIN, "industry", None, "Shipbuilding", "造船")
        company_lists.add(s, ADMIN, "region", None, "Hong Kong", "香港")
        company_lists.add(s, ADMIN, "product_line", "CRM", "CRM suite", "客户关系管理")
        customer = make_customer(s, code="C9001", name="江南造船", industry="shipbuilding", region="hong_kong")
        writes.create(s, ADMIN, "contracts", {"code": "HT-9001", "customer_id": customer["id"], "kind": "new",
                                              "product_line": "CRM", "signed_on": dt.date(2025, 1, 2),
                                              "start_date": dt.date(2025, 1, 2), "end_date": dt.date(2025, 12, 31),
                                              "amount_cents": 1_000_000})
    return fresh_engine


def test_an_export_of_customers_and_contracts_writes_an_added_value_by_its_label(new_values_store):
    with new_values_store.connect() as conn:
        zh = entity_files.export_file(conn, "customers", "zh")
        en = entity_files.export_file(conn, "customers", "en")
        contracts = entity_files.export_file(conn, "contracts", "zh")
    assert (zh.loc[0, "行业"], zh.loc[0, "区域"]) == ("造船", "香港")
    assert (en.loc[0, "Industry"], en.loc[0, "Region"]) == ("Shipbuilding", "Hong Kong")
    assert contracts.loc[0, "产品线"] == "客户关系管理"


def test_a_file_naming_an_added_value_imports_and_an_unknown_one_is_refused_with_the_stored_names(fresh_engine):
    from ops_core import importer

    with transaction(fresh_engine) as s:
        company_lists.add(s, ADMIN, "industry", None, "Shipbuilding", "造船")
    text = ("客户编号,客户名称,行业,区域,员工人数,建档日期\n"
            "C1,江南造船,造船,其他,1200,2025-03-01\n"
            "C2,北方重工,重工,华北,80,2025-03-02\n")
    outcome = importer.run(fresh_engine, ADMIN, "customers", text.encode(), "客户.csv", valid_rows=True, lang="zh")
    assert (outcome.added, outcome.rejected) == (1, 1)
    # The refusal lists the stored list in Chinese, the added value and "other" included.
    assert outcome.problem_lines("zh") == ["第 3 行，列「行业」：「重工」不是可选值之一：制造业、建筑业、物流、能源、零售、医疗健康、"
                                           "汽车、化工、电子、食品饮料、其他、造船"]
    with fresh_engine.connect() as conn:
        shown = entity_files.export_file(conn, "customers", "zh")
        assert company_lists.new_values(conn, "industry", ["造船", "重工"]) == ["重工"]
    assert shown[["客户编号", "行业", "区域"]].values.tolist() == [["C1", "造船", "其他"]]


def test_a_code_in_no_list_is_refused_by_the_write_path(fresh_engine):
    with pytest.raises(ValidationError, match="'shipbuilding' is not one of"):
        with transaction(fresh_engine) as s:
            make_customer(s, code="C9002", industry="shipbuilding")


def test_tables_filters_and_their_words_show_an_added_value_by_its_label(new_values_store):
    with new_values_store.connect() as conn, company_lists.in_force(conn):
        assert i18n.label(Industry, "shipbuilding", "zh") == "造船"
        assert i18n.vocabulary_values(Region)[-1] == "hong_kong"
        assert present.segment_label("product_line", "CRM", "en") == "CRM suite"
        shared = filters.Filters.from_query_params({"industries": "shipbuilding,nonsense", "regions": "hong_kong"},
                                                   dt.date(2026, 1, 1))
        assert (shared.industries, shared.regions) == (("shipbuilding",), ("hong_kong",))
        assert shared.describe("zh", dates=False) == "行业：造船；区域：香港"
    # Outside, the built-in labels apply: the code is shown as stored.
    assert i18n.label(Industry, "shipbuilding", "zh") == "shipbuilding"
    assert i18n.label(ProductLine, "IoT", "zh") == "物联网"


def test_the_effective_lead_standard_may_name_an_added_industry(new_values_store):
    from ops_core import events
    from ops_core.errors import UsageError

    with transaction(new_values_store) as s, company_lists.in_force(s):
        wanted = events.LeadStandard(industries=("shipbuilding", "energy"))
        events.save_lead_standard(s, ADMIN, wanted, 0)
        assert wanted.industries == ("energy", "shipbuilding")   # the list's order: energy is built in, shipbuilding added
        assert "造船" in wanted.describe("zh")
    with new_values_store.connect() as conn:   # read back without lists put in force: the store's are read
        assert events.lead_standard(conn).industries == ("energy", "shipbuilding")
    with pytest.raises(UsageError, match="unknown industry\\(ies\\) whaling"):
        events.LeadStandard(industries=("whaling",))


# --- the editor on the data page ------------------------------------------------------------------------


def _data_page(url: str, monkeypatch, lang: str) -> AppTest:
    monkeypatch.setenv("OPS_DATABASE_URL", url)
    monkeypatch.setenv("OPS_START", "empty")   # an empty store, opened without the first-start question
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("pages/data.py").run()
    app.session_state["ops_lang"] = lang
    app.session_state["lists_open" if lang == "en" else "lists_open.zh"] = True   # the editor's expander, open
    return ok(app.run())


@pytest.fixture
def store_url(new_store_url):
    from ops_core.db.engine import make_engine
    from ops_core.db.schema import upgrade

    url = new_store_url()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _table(app: AppTest) -> list[list[str]]:
    frame = next(d.value for d in app.dataframe if list(d.value.columns)[:1] in (["代码"], ["Code"]))
    return frame.values.tolist()


def test_the_editor_in_chinese_lists_adds_and_the_new_industry_is_offered_in_the_sidebar(store_url, monkeypatch):
    app = _data_page(store_url, monkeypatch, "zh")
    editor = next(e for e in app.expander if e.label == "行业、区域和产品线")
    assert "这些列表是贵公司自己的数据" in editor.caption[0].value
    assert list(next(d.value for d in app.dataframe if "代码" in d.value.columns).columns) == ["代码", "英文名称", "中文名称"]
    assert _table(app)[0] == ["manufacturing", "Manufacturing", "制造业"]
    assert _table(app)[-1] == ["other", "Other", "其他"]
    assert [b.label for b in app.button if b.key and b.key.startswith("lists_")] == ["新增", "保存名称"]

    app.text_input(key="lists_add_industry_en").set_value("Shipbuilding")
    app.text_input(key="lists_add_industry_zh").set_value("造船")
    app.button(key="lists_add_run_industry").click().run()
    ok(app)
    assert [s.value for s in app.success] == ["已新增：造船 (shipbuilding)。"]
    assert _table(app)[-1] == ["shipbuilding", "Shipbuilding", "造船"]
    assert app.text_input(key="lists_add_industry_en@1").value == ""   # the form starts empty again (new fields)
    # The sidebar's industry filter offers it by its Chinese name.
    assert "造船" in app.multiselect(key="ops_filter_industries.zh").options

    # The region list, picked in the segmented control, has its own rows.
    app.session_state["lists_pick.zh"] = "region"   # the list picker (one widget per language)
    app.run()
    assert _table(app)[0] == ["east_china", "East China", "华东"]


def test_a_rename_from_a_stale_view_in_the_editor_is_refused_and_nothing_is_lost(store_url, monkeypatch):
    a = _data_page(store_url, monkeypatch, "en")
    b = _data_page(store_url, monkeypatch, "en")
    for app in (a, b):   # both open "Manufacturing", the first value of the industry list, at version 1
        assert app.selectbox(key="lists_rn_pick_industry").value == "manufacturing"
    b.text_input(key="lists_rn_industry_manufacturing_en").set_value("Factories")
    b.text_input(key="lists_rn_industry_manufacturing_zh").set_value("工厂")
    b.button(key="lists_rn_run_industry").click().run()
    assert [s.value for s in ok(b).success] == ["Saved the new names: Factories (manufacturing)."]

    a.text_input(key="lists_rn_industry_manufacturing_en").set_value("Discrete manufacturing")
    a.button(key="lists_rn_run_industry").click().run()
    [error] = [e.value for e in a.error]
    assert error.startswith("Not saved: Local admin changed this on ")
    assert error.endswith("after you opened it. Nothing was overwritten. Their values: English: Factories; "
                          "Chinese: 工厂. Load the newer version, then make your change again.")
    from ops_core.db.engine import make_engine

    engine = make_engine(store_url)
    assert _labels(engine, "industry")["manufacturing"] == ("Factories", "工厂")
    # Loading the newer version puts B's names into A's form; A's save from there goes through.
    a.button(key="ops_reload_company_list:industry:manufacturing").click().run()
    assert a.text_input(key="lists_rn_industry_manufacturing_en@1").value == "Factories"
    a.text_input(key="lists_rn_industry_manufacturing_en@1").set_value("Discrete manufacturing")
    a.button(key="lists_rn_run_industry").click().run()
    assert [s.value for s in ok(a).success] == ["Saved the new names: Discrete manufacturing (manufacturing)."]
    assert _labels(engine, "industry")["manufacturing"] == ("Discrete manufacturing", "工厂")
    engine.dispose()


# --- in the browser ----------------------------------------------------------------------------------------


def test_an_industry_added_in_the_chinese_editor_is_offered_and_shown_on_the_customer_page_in_chromium(
        new_store_url, tmp_path):
    """In headless Chromium, in Chinese: the editor adds 造船 (Shipbuilding); the customer page's sidebar
    offers it, and filtering by it shows the one customer of that industry by its Chinese name."""
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, start_app, wait_for_render

    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    from ops_core.db.engine import make_engine
    from ops_core.db.schema import upgrade

    url = new_store_url()
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:   # the customer names a code the list does not hold yet: it is added below
        customer = make_customer(s, code="C1", name="江南造船厂", industry="manufacturing")
    process, base = start_app(url, tmp_path / "streamlit.log", OPS_START="empty")
    shots = Path(os.environ.get("OPS_SCREENSHOT_DIR") or tmp_path)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"{base}/data?lang=zh")
            wait_for_render(page)
            page.get_by_text("行业、区域和产品线").click()
            wait_for_render(page)
            page.get_by_label("英文名称", exact=True).first.fill("Shipbuilding")
            page.get_by_label("中文名称", exact=True).first.fill("造船")
            page.get_by_role("button", name="新增", exact=True).click()
            page.get_by_text("已新增：造船 (shipbuilding)。").wait_for(timeout=60_000)
            wait_for_render(page)
            assert page.get_by_label("英文名称", exact=True).first.input_value() == ""   # the form starts empty again
            page.screenshot(path=str(shots / "company-lists-editor-zh.png"))
            with transaction(engine) as s:   # the customer moves to the new industry (as an import would do it)
                writes.update(s, ADMIN, "customers", customer["id"], customer["version"], {"industry": "shipbuilding"})

            page.goto(f"{base}/customers?lang=zh")
            wait_for_render(page, timeout_ms=180_000)
            page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect]").first.click()
            page.keyboard.type("造船")   # the industry picker offers it (typed: the list scrolls)
            page.get_by_role("option", name="造船").click()
            page.keyboard.press("Escape")
            wait_for_render(page, timeout_ms=180_000)
            assert "industries=shipbuilding" in page.url
            grid = page.frame_locator('iframe[title="st_aggrid.AgGrid.agGrid"]').first
            row = grid.locator(".ag-center-cols-container .ag-row").first
            row.wait_for(timeout=60_000)
            assert "江南造船厂" in row.inner_text() and "造船" in row.inner_text().replace("江南造船厂", "")
            page.screenshot(path=str(shots / "company-lists-customers-zh.png"))
            assert page.locator("[data-testid=stException]").count() == 0
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
        engine.dispose()
