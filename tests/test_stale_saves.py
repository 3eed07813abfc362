"""A save from a stale view never overwrites: two sessions of the app on one store, for every edit form.

Session A opens a form, session B opens the same record and saves new values (as the user
``wang.fang``), then A saves its own values from its older view. A is told, in its language, that
wang.fang changed the record, with B's values as a person reads them; the store still holds B's
values (read through ops_core); "Load the newer version" puts B's values into A's form.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from cockpit import frame, ui
from ops_core import demand, events, feedback, metrics, scoring, tiers, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.periods import Period, period_of, previous
from ops_core.vocab import Grain, Role
from tests.conftest import ROOT, SMALL_CUSTOMERS, ok, small_company

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


def session(url: str, page: str, monkeypatch) -> AppTest:
    """One browser session of the app, on ``page``."""
    monkeypatch.setenv("OPS_DATABASE_URL", url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.switch_page(page).run()
    return ok(app)


def current(app: AppTest, name: str) -> str:
    """A form widget's key as drawn now: ``name``, or ``name@N`` once the newer version was loaded N times
    (the form then draws new widgets, so the browser shows the newer values, not what was typed)."""
    found = sorted((k for k in _keys(app) if k == name or k.startswith(f"{name}@")), key=lambda k: (len(k), k))
    return found[-1] if found else name


def _keys(app: AppTest) -> list[str]:
    kinds = ("text_input", "text_area", "number_input", "selectbox", "multiselect", "checkbox", "slider", "select_slider")
    return [w.key for kind in kinds for w in getattr(app, kind) if w.key]


# --- the forms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """One edit form: how a session opens it on a record, how B and A change it, and what is stored.

    ``b_change`` and ``a_change`` fill the form and press save (B's new values, then A's from its older
    view); ``stored`` reads the record back through ops_core; ``b_stored`` is what B's save leaves and
    ``b_shown`` how the refusal shows B's values; ``shown`` reads what A's form shows once the newer
    version is loaded (``b_form``); ``a_again`` is A's save from that newer version, leaving ``a_stored``."""

    name: str
    page: str
    pick: Callable[[Engine], Any]                 # the record this test edits (an id)
    open: Callable[[AppTest, Any], None]          # shows the record's form in a session
    b_change: Callable[[AppTest, Any], None]
    a_change: Callable[[AppTest, Any], None]
    stored: Callable[[Engine, Any], Any]
    b_stored: Any
    b_shown: str
    saved: str                                    # the message of a successful save
    record: Callable[[Any], str]                  # the session's name of the record
    shown: Callable[[AppTest, Any], Any]
    b_form: Any
    a_again: Callable[[AppTest, Any], None]
    a_stored: Any
    a_saved: str | Callable[[Engine, Any], str] | None = None  # A's save's message, when not ``saved``


def read(engine: Engine, query: Callable[[Any], Any]) -> Any:
    with engine.connect() as conn:
        return query(conn)


# --- event page


def _first_event(engine: Engine) -> int:
    return int(read(engine, lambda c: c.execute(select(TABLES["events"].c.id).order_by(TABLES["events"].c.id)).first()[0]))


def _open_event(app: AppTest, event_id: int) -> None:
    app.session_state["e_tab"] = "One event"
    app.session_state["e_event"] = event_id
    app.run()


def _review(text: str) -> Callable[[AppTest, int], None]:
    def change(app: AppTest, event_id: int) -> None:
        app.text_area(key=current(app, f"e_review_{event_id}_causes")).set_value(text)
        app.button(key="e_review_save").click().run()
    return change


def _size(value: int) -> Callable[[AppTest, Any], None]:
    def change(app: AppTest, _: Any) -> None:
        app.number_input(key=current(app, "e_std_size")).set_value(value)
        app.button(key="e_std_save").click().run()
    return change


# --- demand board


def _demand_in(status: str, nth: int) -> Callable[[Engine], int]:
    def pick(engine: Engine) -> int:
        d = TABLES["demands"]
        ids = read(engine, lambda c: c.execute(select(d.c.id).where(d.c.status == status, d.c.merged_into_id.is_(None))
                                               .order_by(d.c.id)).scalars().all())
        return int(ids[nth])
    return pick


def _open_demand(app: AppTest, demand_id: int) -> None:
    app.session_state["d_tab"] = "Ranked list"
    app.run()
    app.number_input(key="d_go_to").set_value(demand_id).run()


def _owner(name: str) -> Callable[[AppTest, int], None]:
    def change(app: AppTest, demand_id: int) -> None:
        app.text_input(key=current(app, f"d_edit_{demand_id}_owner")).set_value(name)
        app.button(key="d_edit_save").click().run()
    return change


def _title(text: str) -> Callable[[AppTest, int], None]:
    def change(app: AppTest, demand_id: int) -> None:
        app.text_input(key=current(app, f"d_edit_{demand_id}_title")).set_value(text)
        app.button(key="d_edit_save").click().run()
    return change


def _demand_title(engine: Engine, demand_id: int) -> str:
    return read(engine, lambda c: demand.get(c, demand_id))["title"]


def _demand_owner(engine: Engine, demand_id: int) -> str:
    return read(engine, lambda c: demand.load_board(c, as_of=dt.date.today()).set_index("demand_id").at[demand_id, "owner"])


def _demand_move(to: str) -> Callable[[AppTest, int], None]:
    return lambda app, demand_id: app.button(key=f"d_mv_{demand_id}_{to}").click().run()


def _demand_moves(engine: Engine, demand_id: int) -> list[tuple[str, str]]:
    """The demand's status changes after it was created: (to, by whom)."""
    moves = read(engine, lambda c: demand.history(c, demand_id))
    return [(t, a) for t, a in zip(moves["to_status"], moves["actor"], strict=True)][1:]


def _planned_release(nth: int) -> Callable[[Engine], int]:
    def pick(engine: Engine) -> int:
        releases = read(engine, demand.load_releases)
        return int(releases.loc[releases["status"] == "planned", "release_id"].iloc[nth])
    return pick


def _open_release(app: AppTest, release_id: int) -> None:
    app.session_state["d_tab"] = "Releases"
    app.session_state["d_rel"] = release_id
    app.run()


def _notes(text: str) -> Callable[[AppTest, int], None]:
    def change(app: AppTest, release_id: int) -> None:
        app.text_area(key=current(app, f"d_notes_{release_id}")).set_value(text)
        app.button(key="d_save_notes").click().run()
    return change


def _shipped_message(engine: Engine, release_id: int) -> str:
    """What shipping the release says: its label, the demands now released in it (the release was planned,
    so each was shipped by this save) and the customers who asked for them and were not told yet."""
    releases = read(engine, demand.load_releases).set_index("release_id")
    board = read(engine, lambda c: demand.load_board(c, as_of=dt.date.today()))
    shipped = board.loc[(board["target_release_id"] == release_id) & (board["status"] == "released"), "demand_id"]
    waiting = {c for d in shipped for c in read(engine, lambda c, d=d: demand.to_inform(c, int(d), pending_only=True))["customer_id"]}
    return (f"Released {releases.at[release_id, 'version_label']}: {len(shipped):,} demands shipped; "
            f"{len(waiting):,} customers to inform.")


def _release(engine: Engine, release_id: int) -> tuple[str, str]:
    row = read(engine, demand.load_releases).set_index("release_id").loc[release_id]
    return row["status"], row["notes"]


# --- feedback queue


def _item_in_progress(severity: str) -> Callable[[Engine], int]:
    """A feedback item of its own for the test, triaged at ``severity`` and in progress (the demo's
    open items depend on the day it is built up to, so none is borrowed from it)."""
    def pick(engine: Engine) -> int:
        customer = read(engine, lambda c: c.execute(select(TABLES["customers"].c.id).order_by(TABLES["customers"].c.id)
                                                    .limit(1)).scalar_one())
        now = dt.datetime.now().replace(microsecond=0)
        with transaction(engine) as s:
            item = feedback.submit(s, writes.LOCAL_ADMIN, {"customer_id": customer, "channel": "email", "text": "报表导出很慢",
                                                           "product_area": "reports", "severity": severity,
                                                           "importance": "important", "received_at": now - dt.timedelta(hours=3)})
            feedback.triage(s, writes.LOCAL_ADMIN, item["id"], 1, "bug", severity, "reports", now=now)
            feedback.transition(s, writes.LOCAL_ADMIN, item["id"], 2, "in_progress", now=now)
        return int(item["id"])
    return pick


def _open_item(app: AppTest, item_id: int) -> None:
    app.session_state["f_tab"] = "Queue"
    app.run()
    app.number_input(key="f_go_to").set_value(item_id).run()


def _severity(value: str) -> Callable[[AppTest, int], None]:
    def change(app: AppTest, item_id: int) -> None:
        app.selectbox(key=current(app, f"f_triage_{item_id}_severity")).set_value(value)
        app.button(key="f_triage_save").click().run()
    return change


def _item(engine: Engine, item_id: int) -> dict:
    return read(engine, lambda c: feedback.get(c, item_id))


def _item_move(to: str) -> Callable[[AppTest, int], None]:
    return lambda app, item_id: app.button(key=f"f_mv_{item_id}_{to}").click().run()


def _item_moves(engine: Engine, item_id: int) -> list[tuple[str, str]]:
    moves = read(engine, lambda c: feedback.history(c, item_id))
    return [(t, a) for t, a in zip(moves["to_status"], moves["actor"], strict=True)]


def _route_to_new_demand(app: AppTest, item_id: int) -> None:
    app.button(key=f"f_route_demand_{item_id}").click().run()


# --- indicator page


def _last_month(engine: Engine) -> Period:
    """The period the indicator page opens on: the last complete month."""
    return previous(period_of(Grain.month, dt.date.today() + dt.timedelta(days=1)))


def _open_target(app: AppTest, month: Period) -> None:
    assert app.selectbox(key="i_period").value == month
    app.session_state["i_metric"] = "nrr"
    app.run()


def _target(value: float) -> Callable[[AppTest, Period], None]:
    def change(app: AppTest, month: Period) -> None:
        app.number_input(key=current(app, f"i_t_nrr_month_{month.start}_target")).set_value(value)
        app.button(key="i_t_save").click().run()
    return change


def _stored_target(engine: Engine, month: Period) -> float:
    return float(read(engine, lambda c: metrics.targets(c, "month", [month])).set_index("metric").at["nrr", "target"])


def _open_definition(app: AppTest, key: str) -> None:
    app.session_state["i_tab"] = "Metric catalogue"
    app.session_state["i_edit_key"] = key
    app.run()


def _definition_owner(name: str) -> Callable[[AppTest, str], None]:
    def change(app: AppTest, key: str) -> None:
        app.text_input(key=current(app, f"i_def_{key}_owner")).set_value(name)
        app.button(key="i_def_save").click().run()
    return change


def _stored_owner(engine: Engine, key: str) -> str:
    return read(engine, lambda c: metrics.catalogue(c)).set_index("key").at[key, "owner"]


# --- customer page: presets


def _preset(engine: Engine) -> str:
    """A preset saved before both sessions open the page (weights as slider positions)."""
    with transaction(engine) as session:
        tiers.save_preset(session, writes.SYSTEM, "Q3 focus", dict(scoring.DEFAULT_WEIGHTS), scoring.DEFAULT_METHODS,
                          tiers.TierRules(), expected_version=None)
    return "Q3 focus"


def _open_preset(app: AppTest, name: str) -> None:
    app.session_state["c_tab"] = "Presets and comparison"
    app.run()
    app.selectbox(key="c_preset_pick").set_value(name).run()


def _published_month(engine: Engine) -> dt.date:
    """This month, whose scores the page freezes, with a preset published before both sessions open it."""
    with transaction(engine) as session:
        stored = tiers.save_preset(session, writes.SYSTEM, "Snapshot basis", dict(scoring.DEFAULT_WEIGHTS),
                                   scoring.DEFAULT_METHODS, tiers.TierRules(), expected_version=None)
        tiers.publish_preset(session, writes.SYSTEM, stored.id, stored.version)
    return dt.date.today().replace(day=1)


def _open_snapshot(app: AppTest, month: dt.date) -> None:
    app.session_state["c_tab"] = "Presets and comparison"
    app.run()


def _freeze(app: AppTest, month: dt.date) -> None:
    app.button(key="c_snapshot").click().run()


def _freezes(engine: Engine, month: dt.date) -> list[str]:
    """Who froze the month's scores, oldest first (one audit row per freeze)."""
    log = TABLES["audit_log"]
    return read(engine, lambda c: c.execute(select(log.c.actor).where(
        log.c.entity == "score_snapshots", log.c.entity_id == month.isoformat()).order_by(log.c.id)).scalars().all())


def _weight_and_save(position: int) -> Callable[[AppTest, str], None]:
    def change(app: AppTest, name: str) -> None:
        app.slider(key="c_weight_order_amount").set_value(position).run()
        app.button(key="c_preset_save").click().run()
    return change


def _stored_weight(engine: Engine, name: str) -> float:
    return read(engine, lambda c: tiers.load_preset(c, name)).weights["order_amount"]


def _publish(app: AppTest, name: str) -> None:
    app.button(key="c_publish").click().run()


def _published(engine: Engine, name: str) -> tuple[bool, float]:
    preset = read(engine, lambda c: tiers.load_preset(c, name))
    return preset.published, preset.weights["order_amount"]


FORMS = [
    Form("event review", "pages/events.py", _first_event, _open_event,
         b_change=_review("B: 邀请了项目负责人，到场率高"), a_change=_review("A: the venue was too far"),
         stored=lambda e, i: read(e, lambda c: events.load_review(c, i))["causes"], b_stored="B: 邀请了项目负责人，到场率高",
         b_shown="3. Analysis of causes: B: 邀请了项目负责人，到场率高", saved="Review saved.",
         record=lambda i: f"event_review:{i}", shown=lambda app, i: app.text_area(key=current(app, f"e_review_{i}_causes")).value,
         b_form="B: 邀请了项目负责人，到场率高", a_again=_review("A: the venue was too far"), a_stored="A: the venue was too far"),
    Form("effective-lead standard", "pages/events.py", lambda e: None, lambda app, _: None,
         b_change=_size(500), a_change=_size(50), stored=lambda e, _: read(e, events.lead_standard).min_company_size,
         b_stored=500, b_shown="Minimum company size (employees): 500",
         saved="Saved the effective-lead standard; the counts below use it.",
         record=lambda _: f"settings:{events.STANDARD_KEY}", shown=lambda app, _: app.number_input(key=current(app, "e_std_size")).value,
         b_form=500, a_again=_size(50), a_stored=50),
    Form("demand edit", "pages/demands.py", _demand_in("backlog", 0), _open_demand,
         b_change=_owner("Wang Fang"), a_change=_owner("Li Lei"), stored=_demand_owner, b_stored="Wang Fang",
         b_shown="Owner: Wang Fang", saved="Saved.", record=lambda i: f"demand:{i}",
         shown=lambda app, i: app.text_input(key=current(app, f"d_edit_{i}_owner")).value, b_form="Wang Fang",
         a_again=_owner("Li Lei"), a_stored="Li Lei"),
    Form("demand title", "pages/demands.py", _demand_in("backlog", 2), _open_demand,
         b_change=_title("B: 报表导出提速"), a_change=_title("A: faster export"), stored=_demand_title,
         b_stored="B: 报表导出提速", b_shown="Title: B: 报表导出提速", saved="Saved.", record=lambda i: f"demand:{i}",
         shown=lambda app, i: app.text_input(key=current(app, f"d_edit_{i}_title")).value, b_form="B: 报表导出提速",
         a_again=_title("A: faster export"), a_stored="A: faster export"),
    Form("demand status move", "pages/demands.py", _demand_in("backlog", 1), _open_demand,
         b_change=_demand_move("evaluating"), a_change=_demand_move("evaluating"), stored=_demand_moves,
         b_stored=[("evaluating", "wang.fang")], b_shown="Status: Evaluating", saved="Moved.", record=lambda i: f"demand:{i}",
         shown=lambda app, i: f"d_mv_{i}_planned" in {b.key for b in app.button}, b_form=True,  # moves from evaluating
         a_again=_demand_move("planned"),
         a_stored=[("evaluating", "wang.fang"), ("planned", "local-admin")]),
    Form("release notes", "pages/demands.py", _planned_release(0), _open_release,
         b_change=_notes("B: 修复了审批流"), a_change=_notes("A: approval flow"), stored=lambda e, i: _release(e, i)[1],
         b_stored="B: 修复了审批流", b_shown="B: 修复了审批流", saved="Saved.", record=lambda i: f"release:{i}",
         shown=lambda app, i: app.text_area(key=current(app, f"d_notes_{i}")).value, b_form="B: 修复了审批流",
         a_again=_notes("A: approval flow"), a_stored="A: approval flow"),
    Form("release shipping", "pages/demands.py", _planned_release(1), _open_release,
         b_change=_notes("B: shipped notes"), a_change=lambda app, i: app.button(key="d_ship").click().run(),
         stored=_release, b_stored=("planned", "B: shipped notes"), b_shown="Status: Planned", saved="Saved.",
         record=lambda i: f"release:{i}", shown=lambda app, i: app.text_area(key=current(app, f"d_notes_{i}")).value,
         b_form="B: shipped notes", a_again=lambda app, i: app.button(key="d_ship").click().run(),
         a_stored=("released", "B: shipped notes"), a_saved=_shipped_message),
    Form("feedback triage", "pages/feedback.py", _item_in_progress("low"), _open_item,
         b_change=_severity("critical"), a_change=_severity("high"), stored=lambda e, i: _item(e, i)["severity"],
         b_stored="critical", b_shown="Severity: Critical", saved="Triaged.", record=lambda i: f"feedback:{i}",
         shown=lambda app, i: app.selectbox(key=current(app, f"f_triage_{i}_severity")).value, b_form="critical",
         a_again=_severity("high"), a_stored="high"),
    Form("feedback status move", "pages/feedback.py", _item_in_progress("low"), _open_item,
         b_change=_item_move("resolved"), a_change=_item_move("resolved"),
         stored=lambda e, i: _item_moves(e, i)[-1:], b_stored=[("resolved", "wang.fang")], b_shown="Status: Resolved",
         saved="Status changed.", record=lambda i: f"feedback:{i}",
         shown=lambda app, i: f"f_mv_{i}_closed" in {b.key for b in app.button}, b_form=True,  # moves from resolved
         a_again=_item_move("closed"), a_stored=[("closed", "local-admin")]),
    # a rate's target is typed in percent (107 for 107 %) and stored as a fraction
    Form("metric target", "pages/indicators.py", _last_month, _open_target,
         b_change=_target(107.0), a_change=_target(99.0), stored=_stored_target, b_stored=1.07, b_shown="Target: 107.0%",
         saved="Saved.", record=lambda m: f"target:nrr:month:{m.start}",
         shown=lambda app, m: app.number_input(key=current(app, f"i_t_nrr_month_{m.start}_target")).value,
         b_form=107.0, a_again=_target(99.0), a_stored=0.99),
    Form("metric owner and definition", "pages/indicators.py", lambda e: "grr", _open_definition,
         b_change=_definition_owner("王芳"), a_change=_definition_owner("Li Lei"), stored=_stored_owner, b_stored="王芳",
         b_shown="Owner: 王芳", saved="Saved.", record=lambda k: f"metric_definition:{k}",
         shown=lambda app, k: app.text_input(key=current(app, f"i_def_{k}_owner")).value, b_form="王芳",
         a_again=_definition_owner("Li Lei"), a_stored="Li Lei"),
    Form("preset save", "pages/customers.py", _preset, _open_preset,
         b_change=_weight_and_save(60), a_change=_weight_and_save(5), stored=_stored_weight, b_stored=60,
         b_shown="Order amount", saved="Saved preset Q3 focus.", record=lambda n: f"preset:{n}",
         shown=lambda app, n: app.slider(key="c_weight_order_amount").value, b_form=60,
         a_again=_weight_and_save(5), a_stored=5),
    # Both froze the same scores: what must survive is B's freeze, not replaced by A's from an older view.
    Form("month snapshot", "pages/customers.py", _published_month, _open_snapshot,
         b_change=_freeze, a_change=_freeze, stored=_freezes, b_stored=["wang.fang"],
         b_shown=f"Customers frozen: {SMALL_CUSTOMERS}", saved=f"Saved {SMALL_CUSTOMERS} scores for {dt.date.today():%Y-%m}.",
         record=lambda m: f"snapshot:{m.isoformat()}",
         shown=lambda app, m: any("frozen by wang.fang" in c.value for c in app.caption), b_form=True,
         a_again=_freeze, a_stored=["wang.fang", "local-admin"]),
]


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_a_save_from_a_stale_view_is_refused_and_the_newer_values_survive(form, store_url, engine, monkeypatch):
    record = form.pick(engine)
    a = session(store_url, form.page, monkeypatch)
    form.open(a, record)
    b = session(store_url, form.page, monkeypatch)
    form.open(b, record)

    with monkeypatch.context() as acting:
        acting.setattr(ui, "acting_user", lambda: B_USER)
        form.b_change(b, record)
    assert [s.value for s in ok(b).success] == [form.saved]
    assert form.stored(engine, record) == form.b_stored

    form.a_change(a, record)
    assert [e.value for e in a.exception] == []
    refusal = [e.value for e in a.error]
    assert len(refusal) == 1, refusal
    assert refusal[0].startswith("Not saved: wang.fang changed this on ")
    assert form.b_shown in refusal[0]
    assert "Nothing was overwritten." in refusal[0]
    assert [s.value for s in a.success] == []               # "saved" only when something was saved
    assert form.stored(engine, record) == form.b_stored     # B's values survive

    a.button(key=f"ops_reload_{form.record(record)}").click().run()
    assert [e.value for e in ok(a).error] == []
    assert form.shown(a, record) == form.b_form             # the form now holds the newer version
    form.a_again(a, record)                                 # and a save from it goes through
    a_saved = form.a_saved(engine, record) if callable(form.a_saved) else form.a_saved
    assert [s.value for s in ok(a).success] == [a_saved or form.saved]
    assert form.stored(engine, record) == form.a_stored


def test_the_refusal_speaks_the_readers_language(store_url, engine, monkeypatch):
    demand_id = _demand_in("backlog", 3)(engine)
    # Both readers chose 简体中文. (Set where the app reads it: AppTest formats a widget's options
    # outside the script run, where the sidebar's choice is not visible.)
    for module in (frame, ui):
        monkeypatch.setattr(module, "language", lambda: "zh")
    a = session(store_url, "pages/demands.py", monkeypatch)
    a.session_state["d_tab"] = "优先级列表"
    a.run()
    a.number_input(key="d_go_to").set_value(demand_id).run()
    b = session(store_url, "pages/demands.py", monkeypatch)
    b.session_state["d_tab"] = "优先级列表"
    b.run()
    b.number_input(key="d_go_to").set_value(demand_id).run()
    with monkeypatch.context() as acting:
        acting.setattr(ui, "acting_user", lambda: B_USER)
        _owner("王芳")(b, demand_id)
    _owner("李雷")(a, demand_id)
    refusal = [e.value for e in ok_but_refused(a)]
    assert len(refusal) == 1 and refusal[0].startswith("未保存：wang.fang 在 "), refusal
    assert "负责人：王芳" in refusal[0] and "未覆盖任何内容" in refusal[0]
    assert a.button(key=f"ops_reload_demand:{demand_id}").label == "载入较新版本"
    assert _demand_owner(engine, demand_id) == "王芳"


def ok_but_refused(app: AppTest) -> list:
    assert [e.value for e in app.exception] == []
    assert [s.value for s in app.success] == []
    return list(app.error)


@pytest.mark.parametrize("form", [REVIEW_FORM := FORMS[0], FORMS[2]], ids=lambda f: f.name)
def test_saving_an_unchanged_form_says_nothing_was_saved(form, store_url, engine, monkeypatch):
    """The case seen in the issue: "Saved." on a press that wrote nothing of the reader's."""
    reviewed = form is REVIEW_FORM
    record = (_first_event(engine) + 1) if reviewed else _demand_in("backlog", 4)(engine)
    app = session(store_url, form.page, monkeypatch)
    form.open(app, record)

    def stored() -> object:  # the review (none yet), or the demand's version
        return read(engine, lambda c: events.load_review(c, record) if reviewed else demand.get(c, record)["version"])

    before = stored()
    app.button(key="e_review_save" if reviewed else "d_edit_save").click().run()
    assert [i.value for i in ok(app).info] == ["Nothing changed, so nothing was saved."]
    assert [s.value for s in app.success] == []
    assert stored() == before


def _released_demand_with_customers_to_tell(engine: Engine) -> int:
    """A released demand of the small company with customers not told yet."""
    board = read(engine, lambda c: demand.load_board(c, as_of=dt.date.today()))
    for demand_id in board.loc[board["status"] == "released", "demand_id"]:
        if len(read(engine, lambda c, d=int(demand_id): demand.to_inform(c, d, pending_only=True))) > 0:
            return int(demand_id)
    # The demo company is built up to today, so on some days every released demand has been told:
    # then the first released demand with asking customers is made untold again (test set-up, in SQL).
    for demand_id in board.loc[board["status"] == "released", "demand_id"]:
        if len(read(engine, lambda c, d=int(demand_id): demand.to_inform(c, d))) > 0:
            with engine.begin() as conn:
                for table in (TABLES["demand_customers"], TABLES["feedback"]):
                    conn.execute(table.update().where(table.c.demand_id == int(demand_id)).values(informed_at=None))
            return int(demand_id)
    raise AssertionError("the small company has no released demand with customers asking for it")


def test_marking_customers_informed_from_a_stale_view_is_refused_and_the_first_marks_survive(store_url, engine,
                                                                                            monkeypatch):
    demand_id = _released_demand_with_customers_to_tell(engine)
    asking = read(engine, lambda c: demand.to_inform(c, demand_id))
    pending = asking["informed_at"].isna().sum()

    def open_demand(app: AppTest) -> None:
        app.session_state["d_tab"] = "Ranked list"
        app.session_state["d_go_to"] = demand_id
        app.run()

    a = session(store_url, "pages/demands.py", monkeypatch)
    open_demand(a)
    b = session(store_url, "pages/demands.py", monkeypatch)
    open_demand(b)
    with monkeypatch.context() as acting:
        acting.setattr(ui, "acting_user", lambda: B_USER)
        b.button(key="d_inform").click().run()
    assert [s.value for s in ok(b).success] == ["Marked informed; their feedback is resolved."]
    told_by_b = read(engine, lambda c: demand.to_inform(c, demand_id))["informed_at"].tolist()

    a.button(key="d_inform").click().run()
    refusal = [e.value for e in ok_but_refused(a)]
    assert len(refusal) == 1 and refusal[0].startswith("Not saved: wang.fang changed this on "), refusal
    # Every asking customer is told now: B told the ones pending when both opened the demand.
    assert f"Customers told: {len(asking)} of {len(asking)}" in refusal[0] and pending > 0
    assert read(engine, lambda c: demand.to_inform(c, demand_id))["informed_at"].tolist() == told_by_b  # B's marks stay
    a.button(key=f"ops_reload_inform:{demand_id}").click().run()
    assert [e.value for e in ok(a).error] == []
    assert a.button(key="d_inform").label == "Mark as informed (0)" and a.button(key="d_inform").disabled
