"""The settings page and what its settings change: the feedback timers on the working calendar (China's
public holidays and make-up workdays, the company's own days, business hours), the SLA breaches, the
customer page's workload, the upload limit; stage and product weight proposing defaults; stale saves
refused per form; the page in Chinese. On SQLite and PostgreSQL (the store fixtures follow the backend)."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from cockpit import frame, ui
from ops_core import feedback, importer, readers, settings, settings_admin, tiers, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.db.schema import upgrade
from ops_core.errors import PermissionDenied, StaleVersion
from ops_core.vocab import Role
from tests.conftest import ROOT, ok, small_company
from tests.wording import english_words

ADMIN = writes.LOCAL_ADMIN
B_USER = writes.Actor("wang.fang", Role.admin)
T = pd.Timestamp


def change(engine, key: str, value: Any, actor: writes.Actor = ADMIN) -> None:
    with engine.connect() as conn:
        version = int(settings.all_settings(conn).set_index("key").loc[key, "version"])
    with transaction(engine) as s:
        settings_admin.change(s, actor, key, value, version)


# --- the working calendar and the feedback timers --------------------------------------------------

# Around China's National Day 2025 (State Council schedule, recorded by the holidays package):
# Wed 1 Oct to Wed 8 Oct are days off (Sat 4 / Sun 5 are weekend days anyway); Sun 28 Sep and Sat 11 Oct
# are worked in their place. Business hours 09:00-18:00: 9 working hours a day.
ITEMS = pd.DataFrame({
    "id": [1, 2], "customer_id": [10, 10], "severity": ["high", "high"],
    "received_at": [T("2025-09-26 17:00"), T("2025-09-30 17:00")],        # Friday 17:00; Tuesday 17:00
    "first_response_at": [T("2025-09-29 10:00"), T("2025-10-09 10:00")],  # Monday 10:00; Thursday 10:00
    "resolved_at": [pd.NaT, T("2025-10-09 10:00")],
})
NOW = dt.datetime(2025, 10, 20, 12)
KA = pd.Series({10: "KA"})


def first_response_hours(engine) -> list[float]:
    with engine.connect() as conn:
        table = feedback.sla_table(ITEMS, KA, feedback.sla_targets(conn), now=NOW)
    return table["first_response_hours"].tolist()


def test_a_holiday_and_a_make_up_workday_change_a_feedback_timer_exactly(fresh_engine):
    change(fresh_engine, "feedback.sla_work_hours", {"start": "09:00", "end": "18:00"})
    change(fresh_engine, "feedback.sla_china_holidays", False)
    # Weekends only. Item 1: Fri 17:00-18:00 = 1 h, Sat and Sun off, Mon 09:00-10:00 = 1 h: 2 h.
    # Item 2: Tue 17-18 = 1 h; Wed 1, Thu 2, Fri 3 Oct = 27 h; Sat 4, Sun 5 off; Mon 6, Tue 7, Wed 8 = 27 h;
    # Thu 9 09:00-10:00 = 1 h: 56 h.
    assert first_response_hours(fresh_engine) == [2.0, 56.0]

    change(fresh_engine, "feedback.sla_china_holidays", True)
    # Item 1: Sun 28 Sep is a make-up workday: 2 + 9 = 11 h. Item 2: 1-3 and 6-8 Oct are public days off:
    # 56 - 54 = 2 h (Tue 17-18 and Thu 09-10).
    assert first_response_hours(fresh_engine) == [11.0, 2.0]

    change(fresh_engine, "feedback.sla_workdays", ["2025-10-04"])  # the company works Saturday 4 Oct
    change(fresh_engine, "feedback.sla_holidays", ["2025-09-29"])  # and gives Monday 29 Sep off
    # Item 1: Fri 1 h + Sun 28 Sep 9 h + Mon off (its 1 h no longer counts) = 10 h. Item 2: 2 + 9 (Sat 4 Oct) = 11 h.
    assert first_response_hours(fresh_engine) == [10.0, 11.0]


def test_the_whole_day_default_keeps_the_around_the_clock_weekday_timer(fresh_engine):
    with fresh_engine.connect() as conn:
        targets = feedback.sla_targets(conn)
    assert (targets.calendar.day_start, targets.calendar.day_end, targets.calendar.china_holidays) == (0.0, 24.0, True)
    # Item 1 on the whole day with China's schedule: Fri 17:00 -> 24:00 = 7 h, Sat 27 Sep off,
    # Sun 28 Sep (a make-up workday) 24 h, Mon 00:00-10:00 = 10 h: 41 h.
    assert first_response_hours(fresh_engine)[0] == 41.0


def test_an_sla_target_change_changes_the_breaches(fresh_engine):
    change(fresh_engine, "feedback.sla_work_hours", {"start": "09:00", "end": "18:00"})

    def breached() -> list[bool]:
        with fresh_engine.connect() as conn:
            return feedback.sla_table(ITEMS, KA, feedback.sla_targets(conn), now=NOW)["first_response_breached"].tolist()

    # KA / high first response: 4 h by default. Item 1 took 11 working hours (test above): breached; item 2, 2 h: met.
    assert breached() == [True, False]
    with fresh_engine.connect() as conn:
        targets = settings.get(conn, "feedback.sla_first_response_hours")
    change(fresh_engine, "feedback.sla_first_response_hours", {**targets, "KA": {**targets["KA"], "high": 12}})
    assert breached() == [False, False]  # 11 h within 12 h
    change(fresh_engine, "feedback.sla_first_response_hours", {**targets, "KA": {**targets["KA"], "high": 1}})
    assert breached() == [True, True]    # 11 h and 2 h both over 1 h


def test_calendar_settings_are_checked_before_they_are_stored(fresh_engine):
    with pytest.raises(Exception, match="not a date"):
        change(fresh_engine, "feedback.sla_holidays", ["2025-13-01"])
    change(fresh_engine, "feedback.sla_holidays", ["2025-10-04"])
    with pytest.raises(Exception, match="both an extra day off and an extra day worked"):
        change(fresh_engine, "feedback.sla_workdays", ["2025-10-04"])
    with pytest.raises(Exception, match="start before they end"):
        change(fresh_engine, "feedback.sla_work_hours", {"start": "18:00", "end": "09:00"})
    with pytest.raises(PermissionDenied):
        change(fresh_engine, "feedback.sla_holidays", [], writes.Actor("e", Role.editor))


# --- service models, headcount, workload ---------------------------------------------------------


def test_the_headcount_setting_overrides_the_team_list_per_level(fresh_engine):
    with fresh_engine.connect() as conn:
        counted = tiers.csm_headcount(conn)
    assert counted == {"senior": 0, "experienced": 0, "ordinary": 0}  # an empty store has no CSMs
    change(fresh_engine, "tiers.csm_headcount", {"senior": 3})
    with fresh_engine.connect() as conn:
        assert tiers.csm_headcount(conn) == {"senior": 3, "experienced": 0, "ordinary": 0}


def test_renaming_and_adding_a_tier_carries_what_hangs_on_the_tiers_over_by_position(fresh_engine):
    with fresh_engine.connect() as conn:
        version = int(settings.all_settings(conn).set_index("key").loc["tiers.names", "version"])
    with transaction(fresh_engine) as s:
        settings_admin.set_tier_names(s, ADMIN, ["VIP", "standard", "small", "micro", "trial"], version)
    with fresh_engine.connect() as conn:
        models = tiers.service_models(conn)
        sla = settings.get(conn, "feedback.sla_first_response_hours")
        quotas = settings.get(conn, "tiers.quotas")
        cutoffs = settings.get(conn, "tiers.cutoffs")
    assert models["tier"].tolist() == ["VIP", "standard", "small", "micro", "trial"]
    assert models.iloc[0]["accounts_per_csm"] == 10 and models.iloc[4]["accounts_per_csm"] == 1000  # KA's; micro's
    assert sla["VIP"]["critical"] == 2 and sla["trial"] == sla["micro"]
    # quotas 5 %, 20 %, 35 % and a new one of half what is left: (1 - 0.60) / 2 = 0.20; cut-offs 65, 50, 35, 35 / 2.
    assert quotas == [0.05, 0.20, 0.35, 0.20] and cutoffs == [65.0, 50.0, 35.0, 17.5]


# --- upload limit --------------------------------------------------------------------------------


def test_the_stored_upload_limit_takes_effect_under_the_servers_cap(fresh_engine, monkeypatch):
    monkeypatch.delenv(readers.SIZE_LIMIT_ENV, raising=False)
    change(fresh_engine, "import.max_upload_mb", 1)
    with fresh_engine.connect() as conn:
        assert importer.upload_limit(conn) == 1024 * 1024
    with pytest.raises(readers.FileProblem) as caught:
        importer.peek(b"a,b\n" + b"1,2\n" * 300_000, "big.csv", limit=1024 * 1024)  # 4 + 1,200,000 bytes > 1 MiB
    assert caught.value.message.key == "file.too_big"
    change(fresh_engine, "import.max_upload_mb", 500)
    monkeypatch.setenv(readers.SIZE_LIMIT_ENV, "50")  # the server's cap wins over a larger setting
    with fresh_engine.connect() as conn:
        assert importer.upload_limit(conn) == 50 * 1024 * 1024


# --- stage and product weight ----------------------------------------------------------------------


def test_a_heavy_starting_business_is_proposed_fewer_ka_and_a_longer_window_saved_only_on_confirmation(fresh_engine):
    with fresh_engine.connect() as conn:
        proposed = dict((k, new) for k, _, new in settings_admin.proposed_changes(conn, "starting", "heavy"))
        assert settings.get(conn, "tiers.quotas") == [0.05, 0.20, 0.35]  # nothing stored by proposing
    assert proposed["tiers.quotas"] == [0.03, 0.20, 0.35]
    assert proposed["events.attribution_window_days"] == 270
    # heavy KA: a senior CSM for 5 accounts, x 1.5 when starting = 7.5, rounded half up: 8.
    assert proposed["tiers.service_models"][0]["accounts_per_csm"] == 8
    assert proposed["status.amber_ratio"] == 0.90
    with transaction(fresh_engine) as s:
        assert settings_admin.apply(s, ADMIN, proposed, {}) == len(proposed)
    with fresh_engine.connect() as conn:
        assert settings.get(conn, "company.product_weight") == "heavy"
        assert settings.get(conn, "events.attribution_window_days") == 270
        # a proposal made from versions that are no longer the stored ones is refused as a whole
        again = dict((k, new) for k, _, new in settings_admin.proposed_changes(conn, "mature", "light"))
    with pytest.raises(StaleVersion):
        with transaction(fresh_engine) as s:
            settings_admin.apply(s, ADMIN, again, {})
    with fresh_engine.connect() as conn:
        assert settings.get(conn, "company.product_weight") == "heavy"


# --- the page --------------------------------------------------------------------------------------


def settings_session(url: str, monkeypatch, tab: str | None = None) -> AppTest:
    monkeypatch.setenv("OPS_DATABASE_URL", url)
    monkeypatch.setenv("OPS_START", "empty")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("pages/settings.py").run()
    if tab is not None:
        app.session_state["s_tab"] = tab
        app.run()
    return ok(app)


@pytest.fixture(scope="module")
def company_url(new_store_url) -> str:
    return small_company(new_store_url)


def _workload(app: AppTest) -> pd.DataFrame:
    frame_ = next(d.value for d in app.dataframe if "CSMs needed" in d.value.columns)
    return frame_.set_index("Tier")


def test_a_service_model_and_headcount_saved_on_the_settings_page_change_the_customer_pages_workload(
        company_url, monkeypatch):
    monkeypatch.setenv("OPS_DATABASE_URL", company_url)
    customers = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    customers.switch_page("pages/customers.py").run()
    before = _workload(ok(customers)).loc["KA"]
    assert before["Accounts per CSM"] == 10  # the default KA model
    accounts = int(before["Accounts"])

    page = settings_session(company_url, monkeypatch, "Tiers and service")
    page.number_input(key="s_tiers_service_models_KA_per").set_value(3)
    page.button(key="s_tiers_service_models_save").click().run()
    assert [s.value for s in ok(page).success] == ["Saved: Service model of each tier."]
    engine = make_engine(company_url)
    with engine.connect() as conn:
        planned = tiers.active_csms(conn)["senior"] + 2  # two seniors more than the team list has
    engine.dispose()
    page.number_input(key="s_tiers_csm_headcount_senior").set_value(planned)
    page.button(key="s_tiers_csm_headcount_save").click().run()
    assert [s.value for s in ok(page).success] == ["Saved: CSM headcount per level."]

    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()  # the next visit
    again.switch_page("pages/customers.py").run()
    after = _workload(ok(again)).loc["KA"]
    # KA accounts unchanged; CSMs needed = ceil(accounts / 3); the senior level (KA's, the only tier served by
    # seniors) has the planned headcount: allocated min(planned, needed), short by the rest.
    needed = math.ceil(accounts / 3)
    assert (after["Accounts"], after["Accounts per CSM"], after["CSMs needed"]) == (accounts, 3, needed)
    assert (after["Headcount at level"], after["Allocated"]) == (planned, min(planned, needed))
    assert after["Short by"] == needed - min(planned, needed)


def test_a_viewer_or_editor_is_told_the_page_is_for_admins(new_store_url, monkeypatch):
    url = new_store_url()
    monkeypatch.setattr(ui, "acting_user", lambda: writes.Actor("e", Role.editor))
    app = settings_session(url, monkeypatch)
    assert [w.value for w in app.info] == ["Only an admin may see and change the settings."]
    assert not [b for b in app.button if b.key and b.key.startswith("s_")]
    assert "Settings" not in [link.label for link in app.get("page_link")]


@dataclass(frozen=True)
class SettingForm:
    key: str
    tab: str
    fill: Callable[[AppTest, str, Any], None]  # (app, widget name, value)
    widget: str
    b: Any        # B's entry
    a: Any        # A's entry from the older view
    b_stored: Any


def _number(app: AppTest, name: str, value: Any) -> None:
    app.number_input(key=_current(app, name)).set_value(value)


def _text(app: AppTest, name: str, value: Any) -> None:
    widgets = [w for w in (*app.text_input, *app.text_area) if w.key == _current(app, name)]
    widgets[0].set_value(value)


def _check(app: AppTest, name: str, value: Any) -> None:
    app.checkbox(key=_current(app, name)).set_value(value)


def _select(app: AppTest, name: str, value: Any) -> None:
    [w for w in (*app.selectbox, *app.radio) if w.key == _current(app, name)][0].set_value(value)


def _current(app: AppTest, name: str) -> str:
    keys = [w.key for kind in ("text_input", "text_area", "number_input", "selectbox", "checkbox", "radio", "multiselect")
            for w in getattr(app, kind) if w.key]
    found = sorted((k for k in keys if k == name or k.startswith(f"{name}@")), key=lambda k: (len(k), k))
    return found[-1] if found else name


def _models(per: int) -> list[dict[str, Any]]:
    models = [dict(m) for m in settings.SETTINGS_BY_KEY["tiers.service_models"].default]
    models[0]["accounts_per_csm"] = per
    return models


def _sla(key: str, hours: int) -> dict[str, Any]:
    table = {t: dict(v) for t, v in settings.SETTINGS_BY_KEY[key].default.items()}
    table["KA"]["high"] = hours
    return table


TIERS, SERVICE, LIMITS = "Tiers and service", "Service targets and calendar", "Thresholds and standards"
FORMS = [
    SettingForm("tiers.names", TIERS, _text, "value", "VIP\nstandard\nsmall\nmicro", "Key\nstandard\nsmall\nmicro",
                ["VIP", "standard", "small", "micro"]),
    SettingForm("tiers.service_models", TIERS, _number, "KA_per", 7, 12, _models(7)),
    SettingForm("tiers.csm_headcount", TIERS, _number, "senior", 4, 6, {"senior": 4}),
    SettingForm("tiers.mode", TIERS, _select, "value", "quota", "quota", "quota"),
    SettingForm("tiers.quotas", TIERS, _number, "0", 4.0, 6.0, [0.04, 0.20, 0.35]),
    SettingForm("tiers.cutoffs", TIERS, _number, "0", 70.0, 60.0, [70.0, 50.0, 35.0]),
    SettingForm("tiers.by_industry", TIERS, _check, "value", True, True, True),
    SettingForm("feedback.sla_first_response_hours", SERVICE, _number, "KA_high", 6.0, 3.0,
                _sla("feedback.sla_first_response_hours", 6)),
    SettingForm("feedback.sla_resolution_hours", SERVICE, _number, "KA_high", 48.0, 60.0,
                _sla("feedback.sla_resolution_hours", 48)),
    SettingForm("feedback.sla_work_hours", SERVICE, _select, "start", "09:00", "08:00", {"start": "09:00", "end": "24:00"}),
    SettingForm("feedback.sla_china_holidays", SERVICE, _check, "value", False, False, False),
    SettingForm("feedback.sla_holidays", SERVICE, _text, "value", "2026-12-31", "2026-12-30", ["2026-12-31"]),
    SettingForm("feedback.sla_workdays", SERVICE, _text, "value", "2026-12-26", "2026-12-19", ["2026-12-26"]),
    SettingForm("status.amber_ratio", LIMITS, _number, "value", 90.0, 80.0, 0.9),
    SettingForm("risk.level_floors", LIMITS, _number, "high", 50.0, 60.0, {"high": 50.0, "medium": 20.0}),
    SettingForm("events.effective_lead_standard", LIMITS, _number, "size", 500, 50,
                {"title_levels": ["manager", "director", "executive"], "min_company_size": 500, "industries": [],
                 "budget_confirmed": False}),
    SettingForm("events.attribution_window_days", LIMITS, _number, "value", 90, 120, 90),
    SettingForm("events.decay_half_life_days", LIMITS, _number, "value", 14.0, 3.0, 14.0),
    SettingForm("import.max_upload_mb", LIMITS, _number, "value", 50, 20, 50),
    SettingForm("feedback.group_threshold", LIMITS, _number, "value", 0.4, 0.3, 0.4),
    SettingForm("feedback.suggest_min_labelled", LIMITS, _number, "value", 40, 50, 40),
    SettingForm("ui.page_size", LIMITS, _number, "value", 100, 300, 100),
]


def _stored(url: str, key: str) -> Any:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return settings.get(conn, key)
    finally:
        engine.dispose()


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.key)
def test_a_settings_save_from_a_stale_view_is_refused_with_who_and_the_newer_value(form, new_store_url, monkeypatch):
    url = new_store_url()
    prefix = settings_admin_prefix(form.key)
    a = settings_session(url, monkeypatch, form.tab)
    b = settings_session(url, monkeypatch, form.tab)
    with monkeypatch.context() as acting:
        acting.setattr(ui, "acting_user", lambda: B_USER)
        form.fill(b, prefix + form.widget, form.b)
        b.button(key=f"{prefix}save").click().run()
    label = frame.tr(f"setting.{form.key}")
    assert [s.value for s in ok(b).success] == [f"Saved: {label}."]
    assert _stored(url, form.key) == form.b_stored

    form.fill(a, prefix + form.widget, form.a)
    a.button(key=f"{prefix}save").click().run()
    assert [e.value for e in a.exception] == []
    refusal = [e.value for e in a.error]
    assert len(refusal) == 1, refusal
    assert refusal[0].startswith("Not saved: wang.fang changed this on ") and "Nothing was overwritten." in refusal[0]
    assert f"{label}: " in refusal[0]          # the newer value, as a person reads it
    assert [s.value for s in a.success] == []
    assert _stored(url, form.key) == form.b_stored

    a.button(key=f"ops_reload_settings:{form.key}").click().run()
    ok(a)
    a.button(key=f"{prefix}restore").click().run()  # from the newer version: goes through
    assert [s.value for s in ok(a).success] == [f"Restored the default: {label}."]
    assert _stored(url, form.key) == settings.SETTINGS_BY_KEY[form.key].default


def settings_admin_prefix(key: str) -> str:
    return "s_" + key.replace(".", "_") + "_"


def test_the_setting_shows_meaning_default_value_in_force_and_who_changed_it_when(new_store_url, monkeypatch):
    url = new_store_url()
    engine = make_engine(url)
    upgrade(engine)
    change(engine, "events.attribution_window_days", 90, B_USER)
    engine.dispose()
    app = settings_session(url, monkeypatch, LIMITS)
    shown = [c.value for c in app.caption]
    assert "Revenue counts for an event only when won within this many days of the touch." in shown
    block = next(c for c in shown if c.startswith("Default: 180 days"))
    assert "In force: 90 days" in block and "Last changed by wang.fang on " in block


def test_a_proposal_is_shown_as_value_in_force_and_proposed_and_saved_only_on_confirmation(new_store_url, monkeypatch):
    url = new_store_url()
    app = settings_session(url, monkeypatch)
    app.selectbox(key="s_stage").set_value("starting")
    app.selectbox(key="s_weight").set_value("heavy")
    app.button(key="s_propose").click().run()
    table = ok(app).table[0].value.set_index("Setting")
    assert table.loc["Attribution window", ["In force", "Proposed"]].tolist() == ["180 days", "270 days"]
    assert table.loc["Product weight", "Proposed"] == "heavy (management-type)"
    assert _stored(url, "events.attribution_window_days") == 180   # not saved yet
    app.button(key="s_confirm").click().run()
    assert [s.value for s in ok(app).success] == [f"Saved {len(table)} settings."]
    assert _stored(url, "events.attribution_window_days") == 270
    assert _stored(url, "company.stage") == "starting"


def _all_text(app: AppTest) -> str:
    """Every word the page's main area shows (the sidebar's filters are the frame's, tested elsewhere)."""
    main = app.main
    parts: list[str] = []
    for kind in ("title", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(e.value) for e in getattr(main, kind)]
    for kind in ("number_input", "text_input", "text_area", "checkbox", "button", "selectbox", "radio", "multiselect"):
        for widget in getattr(main, kind):
            parts.append(str(widget.label))
            if kind in ("selectbox", "radio", "multiselect"):
                parts += [str(o) for o in widget.options]  # as shown
    for table in (*main.dataframe, *main.table):
        parts += [str(c) for c in table.value.columns] + [str(v) for v in table.value.to_numpy().ravel()]
    parts += [str(e.label) for e in main.expander] + [str(t.label) for t in main.tabs]
    return "\n".join(parts)


def test_the_settings_page_in_chinese_has_no_english_word_but_acronyms_and_data(new_store_url, monkeypatch):
    for module in (frame, ui):
        monkeypatch.setattr(module, "language", lambda: "zh")
    url = new_store_url()
    app = settings_session(url, monkeypatch)
    app.button(key="s_propose").click().run()  # the proposal table too
    texts = [_all_text(ok(app))]
    for tab in ("分层与服务", "服务时限与工作日历", "阈值与标准"):
        app.session_state["s_tab"] = tab
        texts.append(_all_text(ok(app.run())))
    text = "\n".join(texts)
    assert "工作日的工作时间" in text and "按国家法定节假日与调休安排" in text and "上传文件上限" in text
    # MB: the unit the upload field itself shows in Chinese; OPS_IMPORT_MAX_MB: the server's variable as typed.
    assert english_words(text, ["MB", "OPS_IMPORT_MAX_MB"]) == [], text


def test_the_calendar_lists_the_days_that_differ_from_their_weekday_with_their_names():
    from ops_core.workcal import WorkCalendar

    calendar = WorkCalendar(china_holidays=True, days_off=(dt.date(2026, 9, 28),))
    odd = calendar.days_in(dt.date(2026, 9, 20), dt.date(2026, 10, 12), "zh").set_index("date")
    # The 2026 schedule: Sun 20 Sep and Sat 10 Oct are worked for the National Day week; Fri 25 Sep is
    # the Mid-Autumn Festival; Mon 28 Sep is the company's own day off.
    assert odd.loc[dt.date(2026, 9, 20), ["working", "source"]].tolist() == [True, "china"]
    assert odd.loc[dt.date(2026, 10, 10), ["working", "source"]].tolist() == [True, "china"]
    assert odd.loc[dt.date(2026, 9, 25), ["working", "holiday"]].tolist() == [False, "中秋节"]
    assert odd.loc[dt.date(2026, 9, 28), ["working", "source", "holiday"]].tolist() == [False, "company", ""]
    assert odd.loc[dt.date(2026, 10, 1), "holiday"] == "国庆节"


def _metric(app: AppTest, name: str) -> str:
    return next(m.value for m in app.metric if m.label == name)


def test_service_targets_saved_on_the_settings_page_change_the_feedback_queues_breaches_on_the_next_visit(
        company_url, monkeypatch):
    monkeypatch.setenv("OPS_DATABASE_URL", company_url)
    engine = make_engine(company_url)
    with transaction(engine) as s:  # an item left in progress for three weeks: past any default target
        customer = s.execute(select(TABLES["customers"].c.id).order_by(TABLES["customers"].c.id)).scalars().first()
        received = dt.datetime.combine(dt.date.today() - dt.timedelta(days=21), dt.time(9, 0))
        item = feedback.submit(s, writes.LOCAL_ADMIN, {"customer_id": customer, "channel": "email", "text": "看板加载很慢",
                                                       "product_area": "dashboard", "severity": "high",
                                                       "importance": "important", "received_at": received})
        feedback.triage(s, writes.LOCAL_ADMIN, item["id"], 1, "bug", "high", "dashboard", now=received + dt.timedelta(hours=1))
        feedback.transition(s, writes.LOCAL_ADMIN, item["id"], 2, "in_progress", now=received + dt.timedelta(hours=2))
    engine.dispose()
    queue = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    queue.switch_page("pages/feedback.py").run()
    assert _metric(ok(queue), "Past their target") != "0"

    page = settings_session(company_url, monkeypatch, SERVICE)
    for key in ("feedback.sla_first_response_hours", "feedback.sla_resolution_hours"):
        prefix = settings_admin_prefix(key)
        for tier in ("KA", "standard", "small", "micro"):
            for severity in settings_admin.SEVERITIES:
                page.number_input(key=f"{prefix}{tier}_{severity}").set_value(10_000.0)
        page.button(key=f"{prefix}save").click().run()
        assert [s.value for s in ok(page).success] == [f"Saved: {frame.tr(f'setting.{key}')}."]

    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    again.switch_page("pages/feedback.py").run()
    # 10,000 working hours is more than any item of a one-year company can have run: 366 days x 24 h = 8,784 h.
    assert _metric(ok(again), "Past their target") == "0"


def test_the_renewal_risk_levels_follow_the_stored_floors(new_store_url):
    from ops_core import risk

    engine = make_engine(small_company(new_store_url))
    as_of = dt.date.today()
    with engine.connect() as conn:
        before = risk.renewal_risk(conn, as_of, 90)
    # The default floors: high from 40, medium from 20.
    assert before["risk_level"].tolist() == ["high" if s >= 40 else "medium" if s >= 20 else "low"
                                             for s in before["risk_score"]]
    change(engine, "risk.level_floors", {"high": 15.0, "medium": 5.0})
    with engine.connect() as conn:
        after = risk.renewal_risk(conn, as_of, 90).set_index("contract_id")
    scores = before.set_index("contract_id")["risk_score"]
    assert after["risk_level"].to_dict() == {c: "high" if s >= 15 else "medium" if s >= 5 else "low"
                                             for c, s in scores.items()}
    moved = after["risk_level"].sort_index() != before.set_index("contract_id")["risk_level"].sort_index()
    assert moved.any()  # the new floors moved some contracts to another level
    with pytest.raises(Exception, match="0 < medium < high"):
        change(engine, "risk.level_floors", {"high": 5.0, "medium": 15.0})
    engine.dispose()
