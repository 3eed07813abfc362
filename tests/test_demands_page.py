"""The demand board under AppTest: every tab draws and a card move is written with its history."""
from __future__ import annotations

import datetime as dt

import pandas as pd
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


def _menus(app: AppTest) -> list[str]:
    """The keys of the cards' move menus drawn (closed or open)."""
    found: list[str] = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            if getattr(child, "type", "") == "popover":
                found.append(child.proto.id.rsplit("-", 1)[-1])
            walk(child)

    walk(app.main)
    return found


def test_a_card_move_is_written_with_its_history(page, board_url):
    engine = make_engine(board_url)
    demands, history = TABLES["demands"], TABLES["demand_history"]
    with engine.connect() as conn:
        backlog = {r.id for r in conn.execute(select(demands.c.id).where(demands.c.status == "backlog"))}
    # A card's moves are drawn only once its menu is opened.
    assert not [b for b in page.button if b.key and b.key.startswith("d_mv_")]
    demand_id = next(i for i in sorted(backlog) if f"d_menu_{i}" in _menus(page))
    page.session_state[f"d_menu_{demand_id}"] = True
    page.run()
    moves = sorted(b.key for b in page.button if b.key and b.key.startswith("d_mv_"))
    assert moves == [f"d_mv_{demand_id}_evaluating"]  # backlog moves on to evaluating (rejecting asks a reason)
    page.button(key=f"d_mv_{demand_id}_evaluating").click().run()
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
    newest = pd.to_datetime(shipped["release_date"]).max().to_pydatetime()
    raised = newest - dt.timedelta(days=30)  # raised a month before the newest release shipped
    with transaction(engine) as s:
        row = demand.create(s, writes.LOCAL_ADMIN, {"title": "导出加速", "source": "internal",
                                                    "target_release_id": int(planned["release_id"].iloc[0])}, now=raised)
        for step in ("evaluating", "planned", "in_development", "testing"):
            row = demand.transition(s, writes.LOCAL_ADMIN, row["id"], row["version"], step, now=raised)
    page = open_page(board_url, "pages/demands.py", monkeypatch)
    page.session_state["d_tab"] = "Ranked list"
    page.run()
    page.number_input(key="d_go_to").set_value(row["id"]).run()
    shipped_in = page.selectbox(key=f"d_ship_in_{row['id']}")
    assert shipped_in.label == "Shipped in"
    assert list(shipped_in.options) == shipped["version_label"].tolist()  # never a planned release
    # its target release is still planned: nothing is assumed, and the move waits for a choice
    assert shipped_in.value is None and page.button(key=f"d_mv_{row['id']}_released").disabled
    shipped_in.set_value(int(shipped["release_id"].iloc[0])).run()
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


def test_releasing_a_release_counts_the_demands_it_shipped_and_the_customers_to_inform_in_chinese(page, board_url):
    from ops_core import demand

    engine = make_engine(board_url)
    with engine.connect() as conn:
        releases = demand.load_releases(conn)
        board = demand.load_board(conn, as_of=dt.date.today())
    # The planned release with the most demands in testing: those ship with it (ops_core.demand.ship_release).
    in_testing = board[board["status"] == "testing"].groupby("target_release_id")["demand_id"].apply(list)
    planned = releases[releases["status"] == "planned"].set_index("release_id")
    release_id = max(planned.index, key=lambda r: len(in_testing.get(r, [])))
    testing = in_testing.get(release_id, [])
    assert testing  # the small company has a planned release with demands in testing
    planned = planned.loc[release_id]
    page.session_state["ops_lang"] = "zh"
    page.run()
    page.session_state["d_tab"] = "版本发布"
    page.session_state["d_rel"] = release_id
    page.run()
    page.button(key="d_ship").click().run()
    assert [e.value for e in page.exception] == [] and [e.value for e in page.error] == []
    with engine.connect() as conn:
        waiting = {c for d in testing for c in demand.to_inform(conn, int(d), pending_only=True)["customer_id"]}
        assert demand.load_releases(conn).set_index("release_id").at[release_id, "released"] == len(testing)
    engine.dispose()
    assert [s.value for s in page.success] == [
        f"版本 {planned['version_label']} 已发布：{len(testing):,} 个需求随之发布，需通知 {len(waiting):,} 个客户。"]
