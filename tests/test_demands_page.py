"""The demand board under AppTest: every tab draws and a card move is written with its history."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from tests.conftest import open_page, small_company


@pytest.fixture(scope="module")
def board_url(new_store_url) -> str:
    """A small company of its own: these tests write to it."""
    return small_company(new_store_url)


@pytest.fixture
def page(board_url, monkeypatch) -> AppTest:
    return open_page(board_url, "pages/demands.py", monkeypatch)


@pytest.mark.parametrize("tab", ["Board", "Ranked list", "Releases", "Flow", "New demand"])
def test_every_tab_draws_without_an_exception(page, tab):
    page.session_state["d_tab"] = tab
    page.run()
    assert [e.value for e in page.exception] == []


def test_a_card_move_is_written_with_its_history(page, board_url):
    engine = make_engine(board_url)
    demands, history = TABLES["demands"], TABLES["demand_history"]
    with engine.connect() as conn:
        backlog = {r.id for r in conn.execute(select(demands.c.id).where(demands.c.status == "backlog"))}
    button = next(b for b in page.button if b.key and b.key.startswith("d_mv_") and b.key.endswith("_evaluating")
                  and int(b.key.split("_")[2]) in backlog)
    demand_id = int(button.key.split("_")[2])
    button.click().run()
    assert [e.value for e in page.exception] == []
    with engine.connect() as conn:
        status = conn.execute(select(demands.c.status).where(demands.c.id == demand_id)).scalar_one()
        last = conn.execute(select(history.c.to_status, history.c.actor).where(history.c.demand_id == demand_id)
                            .order_by(history.c.id.desc())).first()
    engine.dispose()
    assert status == "evaluating" and tuple(last) == ("evaluating", "local-admin")
    assert any("Moved." in s.value for s in page.success)


def test_moving_a_demand_to_released_offers_only_releases_that_have_shipped(board_url, monkeypatch):
    from ops_core import demand, writes
    from ops_core.db.engine import transaction

    engine = make_engine(board_url)
    with engine.connect() as conn:
        releases = demand.load_releases(conn)
    planned = releases[releases["status"] == "planned"]
    shipped = releases[releases["status"] == "released"]
    assert len(planned) and len(shipped)  # the demo company has both
    with transaction(engine) as s:
        row = demand.create(s, writes.LOCAL_ADMIN, {"title": "导出加速", "source": "internal",
                                                    "target_release_id": int(planned["release_id"].iloc[0])}, now=dt.datetime.now())
        for step in ("evaluating", "planned", "in_development", "testing"):
            row = demand.transition(s, writes.LOCAL_ADMIN, row["id"], row["version"], step, now=dt.datetime.now())
    page = open_page(board_url, "pages/demands.py", monkeypatch)
    page.session_state["d_tab"] = "Ranked list"
    page.run()
    page.number_input(key="d_go_to").set_value(row["id"]).run()
    shipped_in = page.selectbox(key=f"d_ship_in_{row['id']}")
    assert shipped_in.label == "Shipped in"
    assert list(shipped_in.options) == shipped["version_label"].tolist()  # never a planned release
    page.button(key=f"d_mv_{row['id']}_released").click().run()
    assert [e.value for e in page.exception] == [] and [e.value for e in page.error] == []
    with engine.connect() as conn:
        after = conn.execute(select(TABLES["demands"].c.status, TABLES["demands"].c.target_release_id)
                             .where(TABLES["demands"].c.id == row["id"])).one()
    engine.dispose()
    assert tuple(after) == ("released", int(shipped["release_id"].iloc[0]))  # into the newest shipped release


def test_a_demands_title_is_edited_on_the_page_and_shown_as_saved(board_url, monkeypatch):
    from ops_core import demand

    engine = make_engine(board_url)
    with engine.connect() as conn:
        demand_id = conn.execute(select(TABLES["demands"].c.id).where(TABLES["demands"].c.status == "evaluating")
                                 .order_by(TABLES["demands"].c.id)).scalars().first()
        version = demand.get(conn, demand_id)["version"]
    page = open_page(board_url, "pages/demands.py", monkeypatch)
    page.session_state["d_tab"] = "Ranked list"
    page.run()
    page.number_input(key="d_go_to").set_value(demand_id).run()
    title = page.text_input(key=f"d_edit_{demand_id}_title")
    assert title.label == "Title"
    title.set_value("  审批流支持会签 / countersigning in approvals  ")
    page.button(key="d_edit_save").click().run()
    assert [e.value for e in page.exception] == [] and [e.value for e in page.error] == []
    assert [s.value for s in page.success] == ["Saved."]
    assert [h.value for h in page.subheader] == [f"#{demand_id} 审批流支持会签 / countersigning in approvals"]
    with engine.connect() as conn:
        stored = demand.get(conn, demand_id)
    engine.dispose()
    assert (stored["title"], stored["version"]) == ("审批流支持会签 / countersigning in approvals", version + 1)
