"""A viewer is shown what is stored, not forms and buttons that change it (issue: team use).

ops_core refuses a viewer's write whatever a page shows (tests/test_roles.py); these tests check that
the pages do not offer one either. Each is paired with an editor on the same page, who does get the
form, so a page that stopped drawing it for everyone would fail too.
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ops_core import events, users, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.vocab import Role
from tests.conftest import ok, small_company
from tests.test_audit import PASSWORD, signed_in

READ_ONLY_EN = ("You are signed in with the Viewer role: you can read and export (personal data masked); "
                "changing data needs an editor or an admin.")
READ_ONLY_ZH = "你以查看者身份登录：可以查看和导出（个人信息已脱敏）；修改数据需要编辑或管理员角色。"


@pytest.fixture(scope="module")
def team(new_store_url):
    """A small demo company with a viewer and an editor (read only by these tests: nothing is saved)."""
    engine = make_engine(small_company(new_store_url))
    with transaction(engine) as s:
        users.add_user(s, writes.LOCAL_ADMIN, "li.viewer", Role.viewer, display_name="李娜", password=PASSWORD)
        users.add_user(s, writes.LOCAL_ADMIN, "chen.editor", Role.editor, display_name="陈静", password=PASSWORD)
    yield engine
    engine.dispose()


def button_labels(app: AppTest) -> list[str]:
    """The page's buttons, not the sidebar's sign-out."""
    return [b.label for b in app.button if b.key != "ops_sign_out"]


def captions(app: AppTest) -> list[str]:
    return [c.value for c in app.caption]


def open_record(app: AppTest, lang: str, tab: str, tabs: tuple[str, str], go_to: str) -> AppTest:
    """The page's tab ``tabs`` (English, Chinese) open on record 1, by the number box ``go_to``."""
    app.session_state[tab] = tabs[0] if lang == "en" else tabs[1]
    ok(app.run())
    app.number_input(key=go_to).set_value(1)
    return ok(app.run())


def open_feedback_item(app: AppTest, lang: str) -> AppTest:
    return open_record(app, lang, "f_tab", ("Queue", "队列"), "f_go_to")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_viewer_reads_a_feedback_item_without_triage_moves_or_routing(team, monkeypatch, lang):
    page = open_feedback_item(signed_in(team, "li.viewer", "pages/feedback.py", monkeypatch, lang), lang)
    assert [t.label for t in page.tabs] == (["Queue", "Service efficiency", "Frequent questions", "FAQ"] if lang == "en"
                                            else ["队列", "服务效率", "高频问题", "常见问题"])
    assert not any(label.startswith("→") for label in button_labels(page))
    assert ("Confirm type" if lang == "en" else "确认分类") not in button_labels(page)
    assert (READ_ONLY_EN if lang == "en" else READ_ONLY_ZH) in captions(page)
    shown = " ".join(m.value for m in page.markdown)
    assert ("**Status**" if lang == "en" else "**状态**") in shown   # the item's fields, read-only


def test_an_editor_gets_the_triage_form_and_the_new_feedback_tab(team, monkeypatch):
    page = open_feedback_item(signed_in(team, "chen.editor", "pages/feedback.py", monkeypatch), "en")
    assert "New feedback" in [t.label for t in page.tabs]
    assert "Confirm type" in button_labels(page)
    assert READ_ONLY_EN.replace("Viewer", "Editor") not in captions(page)


def open_demand(app: AppTest, lang: str) -> AppTest:
    return open_record(app, lang, "d_tab", ("Ranked list", "优先级列表"), "d_go_to")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_viewer_reads_a_demand_and_its_releases_without_edits_or_moves(team, monkeypatch, lang):
    page = open_demand(signed_in(team, "li.viewer", "pages/demands.py", monkeypatch, lang), lang)
    assert ("New demand" if lang == "en" else "新建需求") not in [t.label for t in page.tabs]
    assert not any(label.startswith("→") for label in button_labels(page))
    assert [b for b in button_labels(page) if b in ("Save", "保存")] == []
    assert (READ_ONLY_EN if lang == "en" else READ_ONLY_ZH) in captions(page)
    page.session_state["d_tab"] = "Releases" if lang == "en" else "版本发布"
    ok(page.run())
    assert [t.key for t in page.text_area] == []          # the notes are shown, not edited
    assert button_labels(page) == []                       # no ship, no save of notes; the download stays
    assert len(page.get("download_button")) == 1


def test_an_editor_gets_the_demand_form_and_the_release_buttons(team, monkeypatch):
    page = open_demand(signed_in(team, "chen.editor", "pages/demands.py", monkeypatch), "en")
    assert "New demand" in [t.label for t in page.tabs]
    assert "Save" in button_labels(page)
    page.session_state["d_tab"] = "Releases"
    ok(page.run())
    assert "Save notes" in button_labels(page)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_viewer_reads_an_event_review_and_not_the_lead_standard_form(team, monkeypatch, lang):
    page = signed_in(team, "li.viewer", "pages/events.py", monkeypatch, lang)
    assert [e.label for e in page.expander if e.label in ("Effective-lead standard", "有效线索标准")] == []
    page.session_state["e_tab"] = "One event" if lang == "en" else "单场活动"
    ok(page.run())
    assert [t.key for t in page.text_area] == []
    assert (READ_ONLY_EN if lang == "en" else READ_ONLY_ZH) in captions(page)


def test_an_editor_writes_an_event_review(team, monkeypatch):
    page = signed_in(team, "chen.editor", "pages/events.py", monkeypatch)
    page.session_state["e_tab"] = "One event"
    ok(page.run())
    assert len(page.text_area) == len(events.REVIEW_TEXTS) and "Save the review" in button_labels(page)


def test_a_viewer_loads_presets_but_saves_none_and_sets_no_target(team, monkeypatch):
    page = signed_in(team, "li.viewer", "pages/customers.py", monkeypatch)
    page.session_state["c_tab"] = "Presets and comparison"
    ok(page.run())
    assert [s.key for s in page.selectbox if s.key == "c_preset_pick"] == ["c_preset_pick"]
    assert "Save current sliders as preset" not in button_labels(page) and "c_preset_name" not in [t.key for t in page.text_input]
    page.switch_page("pages/indicators.py")
    ok(page.run())
    assert [e.label for e in page.expander if e.label.startswith("Target of")] == []
    assert [b for b in button_labels(page) if b.startswith("Save")] == []


def test_an_editor_saves_presets_and_sets_targets(team, monkeypatch):
    page = signed_in(team, "chen.editor", "pages/customers.py", monkeypatch)
    page.session_state["c_tab"] = "Presets and comparison"
    ok(page.run())
    assert "Save current sliders as preset" in button_labels(page)
    page.switch_page("pages/indicators.py")
    ok(page.run())
    assert len([e.label for e in page.expander if e.label.startswith("Target of")]) == 1


@pytest.mark.parametrize("page", ["pages/accounts.py", "pages/settings.py", "pages/audit.py"])
def test_a_viewer_is_told_an_admin_page_is_not_theirs_without_an_error_box(team, monkeypatch, page):
    app = signed_in(team, "li.viewer", page, monkeypatch, "zh")
    assert [e.value for e in app.error] == [] and len(app.info) == 1
