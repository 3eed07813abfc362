"""A save from a stale view never overwrites: two sessions of the app on one store, for every edit form.

Session A opens a form, session B opens the same record and saves new values (as the user
``wang.fang``), then A saves its own values from its older view. A is told, in its language, that
wang.fang changed the record, with B's values as a person reads them; the store still holds B's
values (read through ops_core); "Load the newer version" puts B's values into A's form.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from cockpit import ui
from ops_core import events, writes
from ops_core.db.engine import make_engine
from ops_core.db.models import TABLES
from ops_core.vocab import Role
from tests.conftest import ROOT, ok, small_company

B_USER = writes.Actor("wang.fang", Role.admin)


@pytest.fixture(scope="module")
def store_url(new_store_url) -> str:
    """One small company for the module: each form's test edits a record of its own."""
    return small_company(new_store_url)


@pytest.fixture(scope="module")
def engine(store_url):
    store = make_engine(store_url)
    yield store
    store.dispose()


def session(url: str, page: str, monkeypatch, lang: str = "en") -> AppTest:
    """One browser session of the app, on ``page``."""
    monkeypatch.setenv("OPS_DATABASE_URL", url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.session_state[ui.LANG_KEY] = lang
    app.run()
    app.switch_page(page).run()
    return ok(app)


# --- the forms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """One edit form: how to open it on a record, fill it, save it, and read the record back."""

    name: str
    page: str
    pick: Callable[[Engine], Any]                 # the record this test edits (an id)
    open: Callable[[AppTest, Any], None]          # shows the record's form in a session
    fill: Callable[[AppTest, Any, Any], None]     # puts a value into the form
    save: Callable[[AppTest, Any], None]          # presses the form's save button
    form_value: Callable[[AppTest, Any], Any]     # what the form shows
    stored: Callable[[Engine, Any], Any]          # the record's value as ops_core reads it
    record: Callable[[Any], str]                  # the session's name of the record
    a_value: Any
    b_value: Any
    b_shown: str                                  # B's value as the refusal shows it
    saved: str                                    # the message of a successful save


def _first_event(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(TABLES["events"].c.id).order_by(TABLES["events"].c.id)).first()[0])


def _open_event(app: AppTest, event_id: int) -> None:
    app.session_state["e_tab"] = "One event"
    app.session_state["e_event"] = event_id
    app.run()


def _review_causes(engine: Engine, event_id: int) -> str | None:
    with engine.connect() as conn:
        return (events.load_review(conn, event_id) or {}).get("causes")


REVIEW = Form(
    name="event review", page="pages/events.py", pick=_first_event, open=_open_event,
    fill=lambda app, e, v: app.text_area(key=f"e_review_{e}_causes").set_value(v),
    save=lambda app, e: app.button(key="e_review_save").click().run(),
    form_value=lambda app, e: app.text_area(key=f"e_review_{e}_causes").value,
    stored=_review_causes, record=lambda e: f"event_review:{e}",
    a_value="A: the venue was too far", b_value="B: 邀请了项目负责人，到场率高", b_shown="3. Analysis of causes: B: 邀请了项目负责人，到场率高",
    saved="Review saved.")


def _standard_size(engine: Engine, _: Any) -> int:
    with engine.connect() as conn:
        return events.lead_standard(conn).min_company_size


STANDARD = Form(
    name="effective-lead standard", page="pages/events.py", pick=lambda engine: None, open=lambda app, _: None,
    fill=lambda app, _, v: app.number_input(key="e_std_size").set_value(v),
    save=lambda app, _: app.button(key="e_std_save").click().run(),
    form_value=lambda app, _: app.number_input(key="e_std_size").value,
    stored=_standard_size, record=lambda _: f"settings:{events.STANDARD_KEY}",
    a_value=50, b_value=500, b_shown="Minimum company size (employees): 500", saved="Saved the effective-lead standard; the counts below use it.")

FORMS = [REVIEW, STANDARD]


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_a_save_from_a_stale_view_is_refused_and_the_newer_values_survive(form, store_url, engine, monkeypatch):
    record = form.pick(engine)
    a = session(store_url, form.page, monkeypatch)
    form.open(a, record)
    b = session(store_url, form.page, monkeypatch)
    form.open(b, record)

    form.fill(b, record, form.b_value)
    with monkeypatch.context() as acting:
        acting.setattr(ui, "acting_user", lambda: B_USER)
        form.save(b, record)
    assert [s.value for s in ok(b).success] == [form.saved]
    assert form.stored(engine, record) == form.b_value

    form.fill(a, record, form.a_value)
    form.save(a, record)
    assert [e.value for e in a.exception] == []
    refusal = [e.value for e in a.error]
    assert len(refusal) == 1, refusal
    assert refusal[0].startswith("Not saved: wang.fang changed this on ")
    assert form.b_shown in refusal[0]
    assert "Nothing was overwritten." in refusal[0]
    assert [s.value for s in a.success] == []           # "saved" only when something was saved
    assert form.stored(engine, record) == form.b_value  # B's values survive

    a.button(key=f"ops_reload_{form.record(record)}").click().run()
    assert [e.value for e in ok(a).error] == []
    assert form.form_value(a, record) == form.b_value   # the form now holds the newer version
    form.fill(a, record, form.a_value)                  # and a save from it goes through
    form.save(a, record)
    assert [s.value for s in ok(a).success] == [form.saved]
    assert form.stored(engine, record) == form.a_value
