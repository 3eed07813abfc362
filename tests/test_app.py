"""Every page runs under Streamlit's AppTest without an exception, in both languages."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cockpit import ui
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
PAGES = {
    "pages/home.py": "Ops Cockpit",
    "pages/indicators.py": "Indicator system",
    "pages/customers.py": "Customer tiers & value",
    "pages/demands.py": "Demand board",
    "pages/feedback.py": "Feedback queue",
    "pages/events.py": "Event ROI",
    "pages/data.py": "Data",
    "pages/accounts.py": "Accounts",
    "pages/audit.py": "Audit trail",
}


@pytest.fixture
def app(demo_url, monkeypatch) -> AppTest:
    monkeypatch.setenv("OPS_DATABASE_URL", demo_url)
    return AppTest.from_file(APP, default_timeout=120)


@pytest.mark.parametrize(("page", "heading"), PAGES.items(), ids=list(PAGES))
def test_page_runs_without_exception(app, page, heading):
    app.run()
    if page != "pages/home.py":
        app.switch_page(page).run()
    assert [e.value for e in app.exception] == []
    assert app.title[0].value == heading


def test_home_shows_real_counts_from_the_store(app):
    app.run()
    metrics = {m.label: m.value for m in app.metric}
    # The demo fixture holds 300 customers (tests/conftest.py DEMO_CUSTOMERS) and no filter is set.
    assert metrics["Customers"] == "300"
    assert int(metrics["Customers under contract"].replace(",", "")) > 0
    assert metrics["ARR"].startswith("¥")


def test_chinese_is_chosen_from_the_link(app):
    app.query_params["lang"] = "zh"
    app.run()
    assert [e.value for e in app.exception] == []
    assert app.title[0].value == "运营驾驶舱"
    assert "客户数" in {m.label for m in app.metric}


def test_filters_come_from_the_link_and_narrow_the_counts(app):
    app.query_params["industries"] = "energy"
    app.run()
    assert app.sidebar.multiselect(key="ops_filter_industries").value == ["energy"]
    assert int(app.metric[0].value.replace(",", "")) < 300
    assert "Industry: Energy" in app.caption[0].value


def test_an_unreachable_database_gives_a_clear_page(monkeypatch):
    monkeypatch.setenv("OPS_DATABASE_URL", "postgresql+psycopg://ops:s3cret@127.0.0.1:1/ops")
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert [e.value for e in app.exception] == []
    assert app.title[0].value == "The database cannot be reached"
    page_text = " ".join(m.value for m in app.markdown)
    assert "postgresql+psycopg://ops:***@127.0.0.1:1/ops" in page_text
    assert "s3cret" not in page_text


def test_the_app_recovers_without_a_restart_once_the_database_is_back(new_store_url, monkeypatch, tmp_path):
    """Take the store away under a running session, see the clear page, bring it back, press Retry."""
    from sqlalchemy import create_engine, text

    from ops_core.config import parse_url
    from ops_core.db.engine import make_engine, transaction
    from ops_core.db.schema import upgrade
    from tests.factories import make_customer

    url = new_store_url()
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        make_customer(session)
    engine.dispose()
    monkeypatch.setenv("OPS_DATABASE_URL", url)
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert app.title[0].value == "Ops Cockpit"

    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        live, away = Path(parsed.database).parent, tmp_path / "moved-away"

        def down() -> None:
            live.rename(away)

        def up() -> None:
            away.rename(live)
    else:
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")

        def down() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{parsed.database}" ALLOW_CONNECTIONS false'))
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": parsed.database})

        def up() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{parsed.database}" ALLOW_CONNECTIONS true'))
    down()
    try:
        ui.drop_kept_values()  # what the page shows must come from the store, not from the cache
        app.run()
        assert [e.value for e in app.exception] == []
        assert app.title[0].value == "The database cannot be reached"
    finally:
        up()
    app.button[0].click().run()  # Retry
    assert [e.value for e in app.exception] == []
    assert app.title[0].value == "Ops Cockpit"
