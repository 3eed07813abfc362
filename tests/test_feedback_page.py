"""The loop from a customer's voice to a shipped release under AppTest: feedback with Chinese text and a
formula string is taken in, triaged as a bug, sent to the board as a new demand, released, and its
customer is listed to inform; the text is stored as given and exported neutralised."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from ops_core import entity_files
from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from ops_core.i18n import t
from tests.conftest import ok, open_page, small_company

HOSTILE = '客户反馈：导出报表时报错 500，请尽快修复 🙏 =HYPERLINK("http://evil.example","点我")'


@pytest.fixture(scope="module")
def loop_url(new_store_url) -> str:
    """A small company of its own: these tests write to it."""
    return small_company(new_store_url)


@pytest.mark.parametrize("tab", ["Queue", "New feedback", "Service efficiency", "Frequent questions", "FAQ"])
def test_every_feedback_tab_draws_without_an_exception(loop_url, monkeypatch, tab):
    page = open_page(loop_url, "pages/feedback.py", monkeypatch)
    page.session_state["f_tab"] = tab
    page.run()
    assert [e.value for e in page.exception] == []


def test_feedback_becomes_a_released_demand_whose_customer_is_listed_to_inform(loop_url, monkeypatch):
    engine = make_engine(loop_url)
    feedback, demands = TABLES["feedback"], TABLES["demands"]
    page = open_page(loop_url, "pages/feedback.py", monkeypatch)
    page.session_state["f_tab"] = "New feedback"
    ok(page.run())
    page.session_state["f_new_text"] = HOSTILE  # what the live text box holds after typing (cockpit.live_text)
    ok(page.run())
    with engine.connect() as conn:
        chosen = conn.execute(select(TABLES["customers"].c.id).order_by(TABLES["customers"].c.id)).scalars().all()[3]
    page.selectbox[[s.label for s in page.selectbox].index("Customer")].set_value(chosen)
    page.button[[b.label for b in page.button].index("Add feedback")].click()
    ok(page.run())
    with engine.connect() as conn:
        row = conn.execute(select(feedback).order_by(feedback.c.id.desc())).mappings().first()
    assert row["text"] == HOSTILE  # stored exactly as given
    assert row["status"] == "new" and row["suggested_type"] == "bug"
    item_id, customer_id = row["id"], row["customer_id"]
    assert customer_id == chosen

    page.session_state["f_tab"] = "Queue"
    ok(page.run())
    page.number_input(key="f_go_to").set_value(item_id)
    ok(page.run())
    assert any(c.value == HOSTILE for c in page.code)  # shown as plain text, not rendered
    type_box = next(s for s in page.selectbox if s.label == "Type")
    type_box.set_value("bug")
    page.button[[b.label for b in page.button].index("Confirm type")].click()
    ok(page.run())
    page.button(key=f"f_route_demand_{item_id}").click()
    ok(page.run())
    with engine.connect() as conn:
        routed = conn.execute(select(feedback.c.type, feedback.c.status, feedback.c.demand_id)
                              .where(feedback.c.id == item_id)).one()
    assert routed.type == "bug" and routed.status == "triaged" and routed.demand_id is not None
    demand_id = routed.demand_id

    board = open_page(loop_url, "pages/demands.py", monkeypatch)
    board.session_state["d_tab"] = "Ranked list"
    ok(board.run())
    board.number_input(key="d_go_to").set_value(demand_id)
    ok(board.run())
    release_box = next(s for s in board.selectbox if s.label == "Target release")
    releases = TABLES["releases"]
    with engine.connect() as conn:  # planned into the next release, which ships once the demand is tested
        release_id = conn.execute(select(releases.c.id).where(releases.c.status == "planned")
                                  .order_by(releases.c.release_date)).scalars().first()
    release_box.set_value(release_id)
    board.button[[b.label for b in board.button].index("Save")].click()
    ok(board.run())
    for step in ("evaluating", "planned", "in_development", "testing"):
        board.button(key=f"d_mv_{demand_id}_{step}").click()
        ok(board.run())
    board.session_state["d_tab"] = "Releases"
    ok(board.run())
    board.selectbox(key="d_rel").set_value(release_id).run()
    board.button(key="d_ship").click()
    ok(board.run())
    with engine.connect() as conn:
        assert conn.execute(select(demands.c.status).where(demands.c.id == demand_id)).scalar_one() == "released"
    board.session_state["d_tab"] = "Ranked list"
    ok(board.run())
    board.number_input(key="d_go_to").set_value(demand_id)
    ok(board.run())
    codes = [c for frame in board.dataframe for c in frame.value.astype(str).to_numpy().ravel()]
    with engine.connect() as conn:
        code = conn.execute(select(TABLES["customers"].c.code).where(TABLES["customers"].c.id == customer_id)).scalar_one()
        feedback_file = entity_files.export_file(conn, "feedback", "zh")
        exported = entity_files.file_bytes(feedback_file, "feedback", "zh", "csv").decode("utf-8-sig")
    assert code in codes  # the customer to inform
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert HOSTILE in cells  # exported whole (it does not start with a formula character)...
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]  # ...and no cell can run as a formula
    engine.dispose()


def test_the_suggested_type_and_similar_items_show_while_typing_before_anything_is_submitted(loop_url, monkeypatch):
    from ops_core import feedback as fb

    engine = make_engine(loop_url)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(TABLES["feedback"])).scalar_one()
        texts = conn.execute(select(TABLES["feedback"].c.text).order_by(TABLES["feedback"].c.id).limit(200)).scalars().all()
    # The demo company is built up to today, so its first item varies by date: take the first whose words
    # with a bug's keyword read as a bug (some items carry a stronger keyword of another type).
    stored_text = next(t for t in texts if fb.suggest_type([t + " 报错"]).iloc[0]["suggested_type"] == "bug")
    page = open_page(loop_url, "pages/feedback.py", monkeypatch)
    page.session_state["f_tab"] = "New feedback"
    ok(page.run())
    typed = stored_text + " 报错"  # a stored item's words, and a bug's keyword
    page.session_state["f_new_text"] = typed  # what the live text box holds after typing (cockpit.live_text)
    ok(page.run())  # typed, not submitted
    suggestion = fb.suggest_type([typed]).iloc[0]  # the rule the store applies at intake
    assert suggestion["suggested_type"] == "bug"
    assert [i.value for i in page.info] == [
        f"Suggested type: Bug ({suggestion['confidence']:.0%}) — {suggestion['reason']}"]
    assert "**Similar items already stored: link instead of entering again**" in [m.value for m in page.markdown]
    similar = page.dataframe[-1].value  # read as a person does: numbers and headers, no ids or None
    assert list(similar.columns) == ["Item", "Customer", "Received", "Status", "Text", "FAQ entry", "Demand", "Similarity"]
    assert "None" not in similar.astype(str).to_numpy()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TABLES["feedback"])).scalar_one() == before  # nothing written
    engine.dispose()


def test_the_suggestion_while_typing_reads_in_chinese(loop_url, monkeypatch):
    page = open_page(loop_url, "pages/feedback.py", monkeypatch)
    page.session_state["ops_lang"] = "zh"
    ok(page.run())
    page.session_state["f_tab"] = "录入反馈"
    ok(page.run())
    page.session_state["f_new_text"] = "导出时报错"  # what the live text box holds after typing (cockpit.live_text)
    ok(page.run())
    assert [i.value for i in page.info] == ["建议类型：缺陷（50%）— 关键词：报错"]  # one bug keyword: 1 / (1 + 1)


def test_adding_feedback_names_the_new_item_and_empties_the_form(loop_url, monkeypatch):
    engine = make_engine(loop_url)
    page = open_page(loop_url, "pages/feedback.py", monkeypatch)
    page.session_state["f_tab"] = "New feedback"
    ok(page.run())
    page.session_state["f_new_text"] = "移动端审批页面打不开 / approval page does not open on mobile"  # what the live text box holds after typing (cockpit.live_text)
    ok(page.run())
    with engine.connect() as conn:
        chosen = conn.execute(select(TABLES["customers"].c.id).order_by(TABLES["customers"].c.id)).scalars().all()[5]
    page.selectbox(key="f_new_customer").set_value(chosen)
    ok(page.run())
    page.button[[b.label for b in page.button].index("Add feedback")].click()
    ok(page.run())
    with engine.connect() as conn:
        new_id = conn.execute(select(func.max(TABLES["feedback"].c.id))).scalar_one()
    engine.dispose()
    assert [s.value for s in page.success] == [f"Feedback #{new_id} added."]
    assert page.session_state["f_new_text"] == ""       # the next item starts empty
    assert page.selectbox(key="f_new_customer").value is None
    assert page.selectbox(key="f_new_contact").value is None
    assert [i.value for i in page.info] == []                 # no suggestion left over from the last text


@pytest.fixture(scope="module")
def routed(loop_url) -> dict:
    """A feedback item sent to the board as a new demand (through ops_core), and that demand."""
    from ops_core import feedback as fb
    from ops_core import writes
    from ops_core.db.engine import transaction

    engine = make_engine(loop_url)
    with engine.connect() as conn:
        customer_id = conn.execute(select(TABLES["customers"].c.id).order_by(TABLES["customers"].c.id)).scalars().all()[7]
    now = dt.datetime.now().replace(microsecond=0)
    with transaction(engine) as s:
        item = fb.submit(s, writes.LOCAL_ADMIN, {"customer_id": customer_id, "channel": "wechat", "product_area": "reports",
                                                 "text": "报表导出超时 / report export times out", "severity": "high",
                                                 "importance": "blocker", "received_at": now})
        item = fb.triage(s, writes.LOCAL_ADMIN, item["id"], item["version"], "bug", "high", "reports", now=now)
        sent = fb.route_to_demand(s, writes.LOCAL_ADMIN, item["id"], item["version"], demand_id=None, now=now)
        customer = s.execute(select(TABLES["customers"].c.name).where(TABLES["customers"].c.id == customer_id)).scalar_one()
    engine.dispose()
    return {"item": item["id"], "demand": sent["demand"]["id"], "title": sent["demand"]["title"], "customer": customer}


def test_an_item_sent_to_the_board_links_to_its_demand(loop_url, routed, monkeypatch):
    page = open_page(loop_url, "pages/feedback.py", monkeypatch)
    page.number_input(key="f_go_to").set_value(routed["item"])
    ok(page.run())
    links = [(link.value, link.proto.page, link.proto.query_string) for link in page.page_link]
    assert (f"On the demand board: demand #{routed['demand']} · {routed['title']} (Backlog)", "demands",
            f"demand={routed['demand']}") in links


def test_a_link_to_a_demand_opens_it_and_it_links_back_to_its_feedback_items(loop_url, routed, monkeypatch):
    page = open_page(loop_url, "pages/feedback.py", monkeypatch)  # the app, then the demand page from a link
    page.query_params["demand"] = str(routed["demand"])
    page.switch_page("pages/demands.py")
    ok(page.run())
    assert [h.value for h in page.subheader] == [f"#{routed['demand']} {routed['title']}"]  # opened on the ranked list
    links = [(link.value, link.proto.page, link.proto.query_string) for link in page.page_link]
    assert (f"Feedback #{routed['item']} · {routed['customer']} · 报表导出超时 / report export times out", "feedback",
            f"item={routed['item']}") in links

    back = open_page(loop_url, "pages/demands.py", monkeypatch)  # and that link opens the item in the queue
    back.query_params["item"] = str(routed["item"])
    back.switch_page("pages/feedback.py")
    ok(back.run())
    assert back.subheader[0].value.startswith(f"#{routed['item']} · ")


@pytest.mark.parametrize(("lang", "message"), [("en", "there is no feedback item 999999"),
                                               ("zh", "没有编号为 999999 的反馈")])
def test_an_item_number_that_does_not_exist_is_said_in_the_readers_language(loop_url, monkeypatch, lang, message):
    page = open_page(loop_url, "pages/feedback.py", monkeypatch)
    page.session_state["ops_lang"] = lang
    page.session_state["f_tab"] = "Queue" if lang == "en" else "队列"
    page.run()
    page.number_input(key="f_go_to").set_value(999999).run()
    assert [e.value for e in page.exception] == []
    assert [e.value for e in page.error] == [message]


def _grid_ids(page) -> list[int]:
    """The item numbers in the queue's grid, as sent to the browser (an Arrow table in the component's args)."""
    import json

    from tests.test_data_files_page import _grid

    grid = _grid(page)
    assert not json.loads(page.get("component_instance")[0].proto.json_args)["gridOptions"].get("pagination")  # one pager
    return [int(v) for v in grid.iloc[:, 0]]  # the first column is the item number ("Item", "编号")


@pytest.mark.parametrize(("lang", "rows_text"), [("en", "Rows 51-100 of {total}, page 2 of {pages}"),
                                                  ("zh", "第 51-100 行，共 {total} 行；第 2 页，共 {pages} 页")])
def test_the_queue_sends_one_page_of_fifty_items_and_pages_through_all(demo_url, monkeypatch, lang, rows_text):
    """Seen: the queue sent its first 500 items to the browser and the rest could only be reached by number."""
    page = open_page(demo_url, "pages/feedback.py", monkeypatch)
    page.session_state["ops_lang"] = lang
    every = ["new", "triaged", "in_progress", "resolved", "closed"]  # every status: the English picker, and the
    page.session_state["f_statuses"], page.session_state["f_statuses.kept"] = every, every  # one a new language starts from
    ok(page.run())
    before, after = t("f.shown", lang, shown="{}").split("{}")  # the queue's own count, as the caption says it
    total = int(next(c.value for c in page.caption if c.value.startswith(before) and c.value.endswith(after))
                .removeprefix(before).removesuffix(after).replace(",", ""))
    pages = -(-total // 50)
    assert total > 100 and page.number_input(key="f_page").max == pages
    seen = _grid_ids(page)
    assert len(seen) == 50
    for number in range(2, pages + 1):
        page.number_input(key="f_page").set_value(number)
        ok(page.run())
        if number == 2:
            assert rows_text.format(total=f"{total:,}", pages=pages) in [c.value for c in page.caption]
        shown = _grid_ids(page)
        assert len(shown) == (50 if number < pages else total - 50 * (pages - 1))
        seen += shown
    assert len(seen) == len(set(seen)) == total  # every item once, on exactly one page
    engine = make_engine(demo_url)
    with engine.connect() as conn:  # newest first across the pages, as on one list
        received = dict(conn.execute(select(TABLES["feedback"].c.id, TABLES["feedback"].c.received_at)
                                     .where(TABLES["feedback"].c.id.in_(seen))).all())
    engine.dispose()
    assert [received[i] for i in seen] == sorted(received.values(), reverse=True)
