"""The Event ROI page under AppTest: the effective-lead standard and the review go through the write path."""
from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from ops_core import events
from ops_core.db.engine import make_engine
from tests.conftest import ROOT, open_page, small_company


@pytest.fixture(scope="module")
def events_url(new_store_url) -> str:
    """A small company of its own: these tests write to it."""
    return small_company(new_store_url)


@pytest.fixture
def page(events_url, monkeypatch) -> AppTest:
    return open_page(events_url, "pages/events.py", monkeypatch)


def tiles(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def expected_effective_leads(url: str, standard: events.LeadStandard) -> int:
    """The page's figure recomputed straight from ops_core (default sidebar: the last twelve months)."""
    today = dt.date.today()
    engine = make_engine(url)
    with engine.connect() as conn:
        data = events.load(conn, dt.date(today.year - 1, today.month, 1), today)
        window = 180  # events.attribution_window_days default
        metrics = events.event_metrics(data, standard, events.Model.first, window, today)
    engine.dispose()
    return int(metrics["effective_leads"].sum())


def test_changing_the_effective_lead_standard_changes_the_counts(page, events_url):
    before = tiles(page)
    assert int(before["Effective leads"].replace(",", "")) == expected_effective_leads(events_url, events.LeadStandard())
    wider = events.LeadStandard(title_levels=("staff", "manager", "director", "executive"), min_company_size=0)
    page.multiselect(key="e_std_titles").set_value(list(wider.title_levels))
    page.number_input(key="e_std_size").set_value(0)
    page.button(key="e_std_save").click().run()
    assert [e.value for e in page.exception] == []
    after = tiles(page)
    assert int(after["Effective leads"].replace(",", "")) == expected_effective_leads(events_url, wider)
    assert after["Effective leads"] != before["Effective leads"]
    assert after["Cost per effective lead (¥)"] != before["Cost per effective lead (¥)"]
    assert "title level staff, manager, director or executive" in page.caption[0].value.lower() or \
        any("staff" in c.value for c in page.caption)


def test_a_saved_review_is_there_after_a_reload(page, events_url, monkeypatch):
    page.tabs  # noqa: B018 - the tabs exist; AppTest opens the one chosen through the session state below
    page.session_state["e_tab"] = "One event"
    page.run()
    event_id = page.selectbox(key="e_event").value
    page.text_area(key=f"e_review_{event_id}_causes").set_value("线下沙龙到场率高：邀请了项目负责人 =SUM(A1)")
    page.button(key="e_review_save").click().run()
    assert [e.value for e in page.exception] == []
    monkeypatch.setenv("OPS_DATABASE_URL", events_url)
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    again.switch_page("pages/events.py")
    again.session_state["e_tab"] = "One event"
    again.session_state["e_event"] = event_id
    again.run()
    assert again.text_area(key=f"e_review_{event_id}_causes").value == "线下沙龙到场率高：邀请了项目负责人 =SUM(A1)"


def test_the_budget_chart_keeps_two_events_of_the_same_name_apart(events_url, monkeypatch):
    """Seen: two events named alike drawn as one pair of bars. One pair of bars per event, each under
    its own label (name and date); the event added here repeats the name of the newest one."""
    from sqlalchemy import select

    from ops_core import writes
    from ops_core.db.engine import transaction
    from ops_core.db.models import TABLES
    from tests import vega

    engine = make_engine(events_url)
    table = TABLES["events"]
    with engine.connect() as conn:
        newest = conn.execute(select(table).order_by(table.c.start_date.desc())).mappings().first()
    with transaction(engine) as s:
        writes.create(s, writes.LOCAL_ADMIN, "events", {
            k: newest[k] for k in ("name", "format", "kind", "organisation", "purposes")} | {
            "start_date": newest["start_date"] - dt.timedelta(days=3), "end_date": newest["start_date"] - dt.timedelta(days=3),
            "budget_cents": 1_000_00})
    engine.dispose()
    page = open_page(events_url, "pages/events.py", monkeypatch)
    page.session_state["e_tab"] = "Timeline and budget"
    page.run()
    assert [e.value for e in page.exception] == []
    bars = [(spec, data[spec["data"]["name"]]) for spec, data in vega.charts(page)
            if spec.get("mark", {}).get("type") == "bar" and "xOffset" in spec["encoding"]]
    assert len(bars) == 1
    spec, data = bars[0]
    x = spec["encoding"]["x"]["field"]
    same_name = data[data[x].astype(str).str.startswith(newest["name"])]
    assert same_name[x].nunique() == 2                      # the two events of one name, apart
    assert data.groupby(x).size().eq(2).all()               # a budget bar and a cost bar per event
    assert data[x].nunique() == data["event_id"].nunique()  # one place on the axis per event
