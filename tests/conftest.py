"""Shared fixtures: one suite, two engines.

SQLite by default; when ``OPS_TEST_DATABASE_URL`` names a PostgreSQL server, every store a test asks
for is a fresh database created on that server and dropped at the end of the run.
"""
from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops_core.config import parse_url  # noqa: E402
from ops_core.db.engine import make_engine  # noqa: E402
from ops_core.db.schema import upgrade  # noqa: E402

# The app's tests run in single-user mode on both engines (PostgreSQL would otherwise mean team mode);
# the sign-in tests (tests/test_signin*.py) switch team mode on themselves.
os.environ.setdefault("OPS_SIGN_IN", "off")
PG_URL = os.environ.get("OPS_TEST_DATABASE_URL", "").strip()
BACKEND = "postgresql" if PG_URL else "sqlite"
DEMO_CUSTOMERS = 300
SMALL_CUSTOMERS = 60  # the small company of small_company()
DEMO_YEARS = 3
DEMO_SEED = 11


def pytest_report_header(config):
    return f"ops-cockpit store backend: {BACKEND}" + (f" ({parse_url(PG_URL).render_as_string(hide_password=True)})" if PG_URL else "")


@pytest.fixture(scope="session")
def new_store_url(tmp_path_factory) -> Iterator[Callable[[], str]]:
    """A factory of URLs of new, empty databases on the backend under test."""
    created: list[str] = []
    admin: Engine | None = None
    if PG_URL:
        admin = create_engine(parse_url(PG_URL), isolation_level="AUTOCOMMIT")

    def make() -> str:
        if admin is None:
            return f"sqlite:///{tmp_path_factory.mktemp('store') / 'ops.db'}"
        name = f"ops_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return parse_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def fresh_engine(new_store_url) -> Iterator[Engine]:
    """An empty store with the schema applied, for one test."""
    engine = make_engine(new_store_url())
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def demo_url(new_store_url) -> str:
    """A store holding a small demo company (read-only for tests: never write to it)."""
    from ops_core import demo

    url = new_store_url()
    engine = make_engine(url)
    upgrade(engine)
    demo.generate(engine, customers=DEMO_CUSTOMERS, years=DEMO_YEARS, seed=DEMO_SEED)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_engine(demo_url) -> Iterator[Engine]:
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


def pytest_configure(config):
    config.addinivalue_line("markers", "one_engine: behaviour that does not depend on the store's engine, tested "
                                       "on servers of its own: runs in the SQLite pass only")


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, ``one_engine`` tests are deselected (not skipped: CI forbids skips); the SQLite
    pass runs them. Browser tests that start their own servers cost a minute each."""
    if BACKEND != "postgresql":
        return
    once = [item for item in items if item.get_closest_marker("one_engine")]
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = [item for item in items if not item.get_closest_marker("one_engine")]


def pytest_sessionfinish(session, exitstatus):
    """In CI (OPS_FORBID_SKIPS=1) a skipped test is a failure: browser and PostgreSQL tests must run."""
    if os.environ.get("OPS_FORBID_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"OPS_FORBID_SKIPS: {len(skipped)} tests were skipped; CI requires every test to run", red=True)
        session.exitstatus = 1


def small_company(new_store_url) -> str:
    """A store of its own holding a small demo company (``SMALL_CUSTOMERS``, one year), for tests that write."""
    from ops_core import demo

    url = new_store_url()
    engine = make_engine(url)
    upgrade(engine)
    demo.generate(engine, customers=SMALL_CUSTOMERS, years=1, seed=5)
    engine.dispose()
    return url


def open_page(database_url: str, page: str, monkeypatch) -> object:
    """The app under AppTest against ``database_url``, switched to ``page`` (e.g. "pages/events.py"),
    having run without an exception."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OPS_DATABASE_URL", database_url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.switch_page(page).run()
    assert [e.value for e in app.exception] == []
    return app


def ok(app):
    """The AppTest run shows neither an exception nor an error box; returns the app for chaining."""
    assert [e.value for e in app.exception] == []
    assert [e.value for e in app.error] == []
    return app
