"""The demand board under AppTest: every tab draws and a card move is written with its history."""
from __future__ import annotations

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
