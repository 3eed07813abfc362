"""The feedback queue: intake, suggestion, workflow, routing, duplicates, service timers and the FAQ."""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from ops_core import feedback, present, writes
from ops_core.db.engine import transaction
from ops_core.db.models import TABLES
from ops_core.errors import StaleVersion, UsageError, ValidationError
from ops_core.feedback import SlaTargets
from ops_core.filters import Filters
from tests.factories import make_csm, make_customer

ADMIN = writes.LOCAL_ADMIN
PM = writes.Actor("pm.zhang", "editor")
MON = dt.datetime(2025, 6, 9)  # a Monday; 2025-06-06 is the Friday before


def item(session, customer_id: int, text: str = "导出大报表时报错500", **overrides: Any) -> dict[str, Any]:
    values = {"customer_id": customer_id, "channel": "wechat", "received_at": MON + dt.timedelta(hours=9),
              "product_area": "reports", "text": text, "severity": "high", "importance": "important"} | overrides
    return feedback.submit(session, ADMIN, values)


@pytest.fixture
def store(fresh_engine):
    """Two customers of CSM 王芳 (team East); customer A has a contact."""
    with transaction(fresh_engine) as s:
        csm = make_csm(s, team="East")
        a = make_customer(s, code="C-A", name="甲公司", csm_id=csm["id"])
        b = make_customer(s, code="C-B", name="Beta GmbH", csm_id=csm["id"])
        contact = writes.create(s, ADMIN, "contacts", {"customer_id": a["id"], "name": "李娜", "role": "user",
                                                       "start_date": dt.date(2024, 1, 1)})
    return {"engine": fresh_engine, "a": a["id"], "b": b["id"], "contact": contact["id"]}


def current(engine, feedback_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return feedback.get(conn, feedback_id)


# --- intake --------------------------------------------------------------------------------------


def test_a_text_with_chinese_emoji_and_a_formula_is_stored_byte_for_byte(store):
    text = '=HYPERLINK("http://x","y") 报表导出乱码 😀🎉\n第二行\t  trailing spaces  \r\n' + "长" * 5000
    with transaction(store["engine"]) as s:
        stored = item(s, store["a"], text, contact_id=store["contact"])
    again = current(store["engine"], stored["id"])
    assert again["text"] == text
    assert again["text"].encode("utf-8") == text.encode("utf-8")
    assert again["status"] == "new" and again["version"] == 1 and again["contact_id"] == store["contact"]


def test_intake_stores_status_new_and_the_suggested_type(store):
    with transaction(store["engine"]) as s:
        stored = item(s, store["a"], "The Android app crashes after scanning a barcode")
    assert (stored["status"], stored["suggested_type"], stored["type"]) == ("new", "bug", None)


@pytest.mark.parametrize(("change", "field"), [
    ({"text": "   "}, "text"),
    ({"channel": "fax"}, "channel"),
    ({"severity": None}, "severity"),
    ({"received_at": "yesterday"}, "received_at"),
    ({"customer_id": 999}, "customer_id"),
    ({"status": "closed"}, "status"),
], ids=["blank-text", "unknown-channel", "missing-severity", "bad-time", "unknown-customer", "not-an-intake-field"])
def test_intake_names_the_bad_field_and_writes_nothing(store, change, field):
    change = dict(change)
    with pytest.raises(ValidationError) as caught, transaction(store["engine"]) as s:
        item(s, change.pop("customer_id", store["a"]), **change)
    assert f"field '{field}'" in str(caught.value)
    with store["engine"].connect() as conn:
        assert conn.execute(select(TABLES["feedback"].c.id)).first() is None


def test_a_contact_of_another_customer_is_refused(store):
    with pytest.raises(ValidationError, match="contact_id.*belongs to customer"), transaction(store["engine"]) as s:
        item(s, store["b"], contact_id=store["contact"])


# --- type suggestion -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind", "confidence", "reason"), [
    # one keyword: 1 / (1 + 1) = 0.5
    ("导出大报表时报错500", "bug", 0.5, "keywords: 报错"),
    ("The Android app crashes after scanning a barcode", "bug", 0.5, "keywords: crashes"),
    ("How do I export a report to Excel?", "usage_question", 0.5, "keywords: how do i"),
    # three stuck-point keywords: 3 / (3 + 1) = 0.75
    ("客户说竞品报价低30%，要求降价", "sales_stuck_point", 0.75, "keywords: 竞品, 报价, 降价"),
    # please add + webhooks: 2 / 3
    ("Please add webhooks for alarm notifications", "feature_request", 2 / 3, "keywords: please add, webhooks"),
    # 权限 + 角色 + 部门 = 3 against 怎么 = 0.5 for a usage question: 3 / (3.5 + 1)
    ("新部门的角色权限怎么配置？", "management_problem", 3 / 4.5, "keywords: 权限, 角色, 部门"),
    # bug 1 against feature request 希望 1: a tie goes to bug, 1 / (2 + 1)
    ("希望修复这个bug", "bug", 1 / 3, "keywords: bug"),
    ("今天天气不错", None, 0.0, "no keyword matched"),
], ids=["zh-bug", "en-bug", "en-usage", "zh-stuck", "en-feature", "zh-management", "tie", "none"])
def test_keywords_suggest_a_type_in_chinese_and_english(text, kind, confidence, reason):
    got = feedback.suggest_type([text]).iloc[0]
    assert (got["suggested_type"] if isinstance(got["suggested_type"], str) else None) == kind
    assert got["confidence"] == pytest.approx(confidence)
    assert got["reason"] == reason


def test_english_keywords_match_whole_words_only():
    got = feedback.suggest_type(["Production control report", "We need a role for auditors"])
    assert got["suggested_type"].tolist()[0] is None or pd.isna(got["suggested_type"].iloc[0])  # "role" in "control"
    assert got["keyword_type"].iloc[1] == "management_problem"


def test_a_classifier_learned_from_confirmed_items_refines_the_keywords():
    # Printing templates have no keyword; the store says they are feature requests.
    labelled = pd.DataFrame({
        "text": [f"打印模板{n}号能不能换成横版" for n in range(20)] + [f"第{n}条生产线的数据同步报错" for n in range(20)],
        "type": ["feature_request"] * 20 + ["bug"] * 20,
    })
    got = feedback.suggest_type(["打印模板想换个样式", "今天天气不错"], labelled).iloc[0]
    assert got["suggested_type"] == "feature_request"
    assert got["reason"].startswith("learned from 40 confirmed items (p=")
    assert got["keyword_type"] is None or pd.isna(got["keyword_type"])
    # Fewer than 30 confirmed items: the keywords alone decide.
    assert feedback.type_classifier(labelled.head(29)) is None
    alone = feedback.suggest_type(["打印模板想换个样式"], labelled.head(29)).iloc[0]
    assert alone["reason"] == "no keyword matched"


def test_suggestion_accuracy_on_a_fixture(store):
    # suggested -> confirmed: bug -> bug, bug -> bug, usage -> management (wrong), none -> feature (wrong), one untriaged.
    # overall 2 / 4 = 0.5; bug 2 / 2; management 0 / 1; feature request 0 / 1; usage question: no item.
    cases = [("导出报表时报错", "bug", "bug"), ("App crashes on start", "bug", "bug"),
             ("How do I add a chart?", "usage_question", "management_problem"),
             ("打印模板换成横版", None, "feature_request"), ("导出失败", "bug", None)]
    with transaction(store["engine"]) as s:
        for text, suggested, confirmed in cases:
            stored = item(s, store["a"], text)
            assert stored["suggested_type"] == suggested
            if confirmed:
                feedback.triage(s, PM, stored["id"], 1, confirmed, "low", "reports", now=MON)
    with store["engine"].connect() as conn:
        accuracy = feedback.suggestion_accuracy(conn)
    assert accuracy["overall"] == {"items": 4, "correct": 2, "accuracy": 0.5}
    assert accuracy["by_type"]["bug"] == {"items": 2, "correct": 2, "accuracy": 1.0}
    assert accuracy["by_type"]["management_problem"]["accuracy"] == 0.0
    assert accuracy["by_type"]["feature_request"]["accuracy"] == 0.0
    assert accuracy["by_type"]["usage_question"] == {"items": 0, "correct": 0, "accuracy": None}


# --- workflow ------------------------------------------------------------------------------------


def test_the_whole_workflow_stamps_its_times_and_records_who_and_when(store):
    e = store["engine"]
    with transaction(e) as s:
        stored = item(s, store["a"])
    with transaction(e) as s:
        stored = feedback.triage(s, PM, stored["id"], 1, "bug", "critical", "reports", now=MON + dt.timedelta(hours=10))
    for version, status, hour in ((2, "in_progress", 11), (3, "resolved", 15), (4, "closed", 17)):
        with transaction(e) as s:
            stored = feedback.transition(s, PM, stored["id"], version, status, note=f"to {status}",
                                         now=MON + dt.timedelta(hours=hour))
    final = current(e, stored["id"])
    assert (final["status"], final["type"], final["severity"], final["version"]) == ("closed", "bug", "critical", 5)
    assert final["first_response_at"] == MON + dt.timedelta(hours=10)
    assert final["resolved_at"] == MON + dt.timedelta(hours=15)
    assert final["closed_at"] == MON + dt.timedelta(hours=17)
    with e.connect() as conn:
        steps = feedback.history(conn, stored["id"])
    assert steps[["from_status", "to_status"]].values.tolist() == [
        ["new", "triaged"], ["triaged", "in_progress"], ["in_progress", "resolved"], ["resolved", "closed"]]
    assert set(steps["actor"]) == {"pm.zhang"}
    assert steps["at"].tolist() == [MON + dt.timedelta(hours=h) for h in (10, 11, 15, 17)]


def _walk(engine, customer_id: int, to: str) -> dict[str, Any]:
    """A new item moved along the main path up to status ``to``."""
    with transaction(engine) as s:
        stored = item(s, customer_id)
    path = ["new", "triaged", "in_progress", "resolved", "closed"]
    for status in path[1: path.index(to) + 1]:
        with transaction(engine) as s:
            if status == "triaged":
                stored = feedback.triage(s, PM, stored["id"], stored["version"], "bug", "high", "reports", now=MON)
            else:
                stored = feedback.transition(s, PM, stored["id"], stored["version"], status, now=MON)
    return stored


@pytest.mark.parametrize(("start", "to"), [
    ("new", "in_progress"), ("new", "resolved"), ("new", "closed"), ("triaged", "resolved"), ("triaged", "new"),
    ("in_progress", "closed"), ("in_progress", "triaged"), ("closed", "in_progress"), ("closed", "new"),
])
def test_forbidden_transitions_are_refused_naming_both_statuses(store, start, to):
    stored = _walk(store["engine"], store["a"], start)
    with pytest.raises(UsageError) as caught, transaction(store["engine"]) as s:
        feedback.transition(s, PM, stored["id"], stored["version"], to, now=MON)
    assert f"from '{start}' to '{to}'" in str(caught.value)
    assert current(store["engine"], stored["id"])["version"] == stored["version"]  # nothing written


def test_the_transition_table_is_data_and_closed_is_final():
    assert feedback.TRANSITIONS["new"] == ("triaged",)
    assert feedback.allowed_moves("resolved") == ("closed", "in_progress")
    assert feedback.allowed_moves("closed") == ()


def test_a_reopened_item_loses_its_resolution_time_and_keeps_its_first_response(store):
    stored = _walk(store["engine"], store["a"], "resolved")
    with transaction(store["engine"]) as s:
        reopened = feedback.transition(s, PM, stored["id"], stored["version"], "in_progress", note="fix did not hold",
                                       now=MON + dt.timedelta(days=1))
    assert reopened["resolved_at"] is None and reopened["first_response_at"] == MON


def test_leaving_new_needs_a_confirmed_type(store):
    with transaction(store["engine"]) as s:
        stored = item(s, store["a"])
    with pytest.raises(UsageError, match="triage it"), transaction(store["engine"]) as s:
        feedback.transition(s, PM, stored["id"], 1, "triaged", now=MON)
    with pytest.raises(ValidationError, match="'to_status'"), transaction(store["engine"]) as s:
        feedback.transition(s, PM, stored["id"], 1, "done", now=MON)


def test_a_second_session_from_the_same_version_gets_stale_version_and_nothing_is_lost(store):
    e = store["engine"]
    with transaction(e) as s:
        stored = item(s, store["a"])
    read_version = current(e, stored["id"])["version"]  # both people opened the item at version 1
    with transaction(e) as first:
        feedback.triage(first, PM, stored["id"], read_version, "bug", "critical", "reports", now=MON)
    with pytest.raises(StaleVersion) as caught, transaction(e) as second:
        feedback.triage(second, ADMIN, stored["id"], read_version, "usage_question", "low", "mobile", now=MON)
    assert caught.value.current["type"] == "bug" and caught.value.current["version"] == 2
    with pytest.raises(StaleVersion), transaction(e) as second:
        feedback.transition(second, ADMIN, stored["id"], read_version, "triaged", now=MON)
    kept = current(e, stored["id"])
    assert (kept["type"], kept["severity"], kept["product_area"], kept["version"]) == ("bug", "critical", "reports", 2)
    with e.connect() as conn:
        assert len(feedback.history(conn, stored["id"])) == 1


def test_retriage_after_new_changes_the_type_without_a_status_change(store):
    stored = _walk(store["engine"], store["a"], "in_progress")
    with transaction(store["engine"]) as s:
        again = feedback.triage(s, PM, stored["id"], stored["version"], "feature_request", "low", "workflow", now=MON)
    assert (again["status"], again["type"], again["first_response_at"]) == ("in_progress", "feature_request", MON)


# --- routing -------------------------------------------------------------------------------------


def _triaged(engine, customer_id: int, kind: str, text: str = "导出大报表时报错500") -> dict[str, Any]:
    with transaction(engine) as s:
        stored = item(s, customer_id, text)
        return feedback.triage(s, PM, stored["id"], 1, kind, "high", "reports", now=MON)


def test_routing_a_bug_creates_a_backlog_demand_with_its_customer_and_history(store):
    e = store["engine"]
    bug = _triaged(e, store["a"], "bug", "导出大报表时报错500\n详细步骤：打开年报")
    with transaction(e) as s:
        routed = feedback.route_to_demand(s, PM, bug["id"], bug["version"], now=MON + dt.timedelta(hours=12))
    demand = routed["demand"]
    assert (demand["title"], demand["source"], demand["status"], demand["product_area"]) == (
        "导出大报表时报错500", "customer_feedback", "backlog", "reports")
    assert demand["description"] == "导出大报表时报错500\n详细步骤：打开年报"
    assert routed["feedback"]["demand_id"] == demand["id"] and routed["feedback"]["version"] == bug["version"] + 1
    with e.connect() as conn:
        links = conn.execute(select(TABLES["demand_customers"].c.customer_id)
                             .where(TABLES["demand_customers"].c.demand_id == demand["id"])).scalars().all()
        steps = conn.execute(select(TABLES["demand_history"].c.to_status, TABLES["demand_history"].c.actor)
                             .where(TABLES["demand_history"].c.demand_id == demand["id"])).all()
    assert links == [store["a"]]
    assert [tuple(r) for r in steps] == [("backlog", "pm.zhang")]


def test_a_sales_stuck_point_becomes_a_demand_from_sales(store):
    stuck = _triaged(store["engine"], store["a"], "sales_stuck_point", "客户要求私有化部署")
    with transaction(store["engine"]) as s:
        routed = feedback.route_to_demand(s, PM, stuck["id"], stuck["version"], title="私有化部署方案", now=MON)
    assert (routed["demand"]["source"], routed["demand"]["title"]) == ("sales_stuck_point", "私有化部署方案")


def test_linking_to_an_existing_demand_counts_the_customer_once(store):
    e = store["engine"]
    first, second = _triaged(e, store["a"], "bug"), _triaged(e, store["a"], "bug", "年报又报错了")
    with transaction(e) as s:
        demand_id = feedback.route_to_demand(s, PM, first["id"], first["version"], now=MON)["demand"]["id"]
    with transaction(e) as s:
        feedback.route_to_demand(s, PM, second["id"], second["version"], demand_id=demand_id, now=MON)
    with e.connect() as conn:
        links = conn.execute(select(TABLES["demand_customers"]).where(
            TABLES["demand_customers"].c.demand_id == demand_id)).all()
    assert len(links) == 1
    assert current(e, second["id"])["demand_id"] == demand_id


@pytest.mark.parametrize(("kind", "route", "message"), [
    ("usage_question", "demand", "usage question: route it to the FAQ"),
    ("bug", "faq", "bug: route it to the demand board"),
    ("feature_request", "faq", "feature request: route it to the demand board"),
    (None, "demand", "not triaged yet"),
    (None, "faq", "not triaged yet"),
])
def test_routes_that_do_not_fit_the_type_are_refused(store, kind, route, message):
    e = store["engine"]
    if kind is None:
        with transaction(e) as s:
            stored = item(s, store["a"])
    else:
        stored = _triaged(e, store["a"], kind)
    with pytest.raises(UsageError, match=message), transaction(e) as s:
        if route == "demand":
            feedback.route_to_demand(s, PM, stored["id"], stored["version"], now=MON)
        else:
            feedback.route_to_faq(s, PM, stored["id"], stored["version"], answer="x", now=MON)


def test_a_usage_question_becomes_an_faq_entry_and_the_next_one_links_to_it(store):
    e = store["engine"]
    first = _triaged(e, store["a"], "usage_question", "如何把报表导出成Excel？")
    second = _triaged(e, store["b"], "usage_question", "How do I export a report to Excel?")
    with pytest.raises(ValidationError, match="'answer'"), transaction(e) as s:
        feedback.route_to_faq(s, PM, first["id"], first["version"], now=MON)
    with transaction(e) as s:
        faq = feedback.route_to_faq(s, PM, first["id"], first["version"], answer="报表 → 导出 → Excel", now=MON)["faq"]
    with transaction(e) as s:
        feedback.route_to_faq(s, PM, second["id"], second["version"], faq_id=faq["id"], now=MON)
    assert (faq["question"], faq["product_area"]) == ("如何把报表导出成Excel？", "reports")
    with e.connect() as conn:
        entries = feedback.faq_entries(conn)
    assert entries[["id", "feedback_count"]].values.tolist() == [[faq["id"], 2]]
    assert list(entries.columns) == list(feedback.FAQ_COLUMNS)


# --- duplicates ----------------------------------------------------------------------------------


def test_merge_keeps_every_item_and_every_customer(store):
    e = store["engine"]
    with transaction(e) as s:
        third = make_customer(s, code="C-C", name="丙公司")["id"]
    keep = _triaged(e, store["a"], "bug")
    dup_b, dup_c = _triaged(e, store["b"], "bug", "Exporting a large report fails with a 500 error"), _triaged(e, third, "bug")
    with transaction(e) as s:
        demand_id = feedback.route_to_demand(s, PM, keep["id"], keep["version"], now=MON)["demand"]["id"]
    with transaction(e) as s:  # dup_c is first merged into dup_b, then dup_b into the kept item: dup_c follows
        feedback.merge(s, PM, dup_b["id"], [dup_c["id"]], {dup_c["id"]: dup_c["version"]})
    with transaction(e) as s:
        group = feedback.merge(s, PM, keep["id"], [dup_b["id"]], {dup_b["id"]: dup_b["version"]})
    assert group["id"].tolist() == [keep["id"], dup_b["id"], dup_c["id"]]
    assert group["kept"].tolist() == [True, False, False]
    assert group["customer_id"].tolist() == [store["a"], store["b"], third]
    assert group["customer_name"].tolist() == ["甲公司", "Beta GmbH", "丙公司"]
    with e.connect() as conn:
        assert feedback.duplicate_group(conn, dup_c["id"])["id"].tolist() == group["id"].tolist()
        assert conn.execute(select(TABLES["feedback"].c.id)).scalars().all() == [keep["id"], dup_b["id"], dup_c["id"]]
        asking = conn.execute(select(TABLES["demand_customers"].c.customer_id).where(
            TABLES["demand_customers"].c.demand_id == demand_id).order_by(TABLES["demand_customers"].c.customer_id)).scalars().all()
    assert asking == sorted([store["a"], store["b"], third])
    assert current(e, dup_c["id"])["duplicate_of_id"] == keep["id"]


def test_merge_refuses_a_stale_duplicate_and_odd_requests(store):
    e = store["engine"]
    keep, dup = _triaged(e, store["a"], "bug"), _triaged(e, store["b"], "bug")
    with pytest.raises(StaleVersion), transaction(e) as s:
        feedback.merge(s, PM, keep["id"], [dup["id"]], {dup["id"]: dup["version"] - 1})
    with pytest.raises(UsageError, match="itself"), transaction(e) as s:
        feedback.merge(s, PM, keep["id"], [keep["id"]], {keep["id"]: keep["version"]})
    with pytest.raises(UsageError, match="version you read"), transaction(e) as s:
        feedback.merge(s, PM, keep["id"], [dup["id"]], {})
    assert current(e, dup["id"])["duplicate_of_id"] is None


# --- loading and service timers ------------------------------------------------------------------


def test_load_items_reads_a_range_with_customer_and_owner_and_filters(store):
    e = store["engine"]
    with transaction(e) as s:
        a1 = item(s, store["a"], received_at=dt.datetime(2025, 6, 1, 0, 0))
        item(s, store["b"], "How do I export?", received_at=dt.datetime(2025, 6, 30, 23, 59), channel="email")
        item(s, store["a"], received_at=dt.datetime(2025, 7, 1, 0, 0))
        old = item(s, store["b"], received_at=dt.datetime(2025, 5, 2, 8, 0))
    with e.connect() as conn:
        june = feedback.load_items(conn, dt.date(2025, 6, 1), dt.date(2025, 6, 30))
        email = feedback.load_items(conn, dt.date(2025, 6, 1), dt.date(2025, 6, 30), {"channel": ["email"]})
        backlog = feedback.load_items(conn, dt.date(2025, 6, 1), dt.date(2025, 6, 30), include_open=True)
        segment = feedback.load_items(conn, dt.date(2025, 6, 1), dt.date(2025, 6, 30), Filters(
            dt.date(2025, 6, 1), dt.date(2025, 6, 30), csms=(999,)))
        with pytest.raises(UsageError, match="cannot filter feedback by text"):
            feedback.load_items(conn, dt.date(2025, 6, 1), dt.date(2025, 6, 30), {"text": ["x"]})
    assert list(june.columns) == list(feedback.ITEM_COLUMNS)
    assert june["customer_code"].tolist() == ["C-A", "C-B"] and june["id"].iloc[0] == a1["id"]
    assert june[["owner", "team"]].values.tolist() == [["王芳", "East"], ["王芳", "East"]]
    assert email["customer_name"].tolist() == ["Beta GmbH"]
    assert backlog["id"].iloc[0] == old["id"] and len(backlog) == 3
    assert segment.empty


@pytest.mark.parametrize(("start", "end", "hours"), [
    # Friday 22:00 -> Monday 02:00: 24 x 1 working day (Fri) - 22 + 2 = 4
    ("2025-06-06 22:00", "2025-06-09 02:00", 4.0),
    # same Monday: 24 x 0 - 9 + 11.5 = 2.5
    ("2025-06-09 09:00", "2025-06-09 11:30", 2.5),
    # Saturday 10:00 -> Monday 09:00: 24 x 0 - 0 (Saturday does not count) + 9 = 9
    ("2025-06-07 10:00", "2025-06-09 09:00", 9.0),
    # Friday 22:00 -> Saturday 05:00: 24 x 1 - 22 + 0 = 2
    ("2025-06-06 22:00", "2025-06-07 05:00", 2.0),
    # Thursday 10:00 -> Tuesday 10:00: 24 x 3 (Thu, Fri, Mon) - 10 + 10 = 72
    ("2025-06-05 10:00", "2025-06-10 10:00", 72.0),
    # an end before the start: 0
    ("2025-06-09 10:00", "2025-06-09 09:00", 0.0),
], ids=["fri-night-to-mon", "same-day", "from-saturday", "into-saturday", "thu-to-tue", "backwards"])
def test_service_clocks_skip_the_weekend(start, end, hours):
    assert feedback.business_hours([pd.Timestamp(start)], [pd.Timestamp(end)])[0] == pytest.approx(hours)


def test_holidays_stop_the_clock_and_a_missing_time_gives_nan():
    # Friday 22:00 -> Tuesday 02:00 with Monday a holiday: 24 x 1 (Fri) - 22 + 2 = 4
    got = feedback.business_hours([pd.Timestamp("2025-06-06 22:00"), pd.Timestamp("2025-06-06 22:00")],
                                  [pd.Timestamp("2025-06-10 02:00"), pd.NaT], holidays=[dt.date(2025, 6, 9)])
    assert got[0] == pytest.approx(4.0) and np.isnan(got[1])


TARGETS = SlaTargets(first_response={"KA": {"high": 4}, "micro": {"low": 72}},
                     resolution={"KA": {"high": 24}, "micro": {"low": 720}})


def test_sla_table_flags_breaches_and_items_due_soon():
    now = dt.datetime(2025, 6, 9, 12, 30)  # Monday
    t = pd.Timestamp
    items = pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6],
        "customer_id": [10, 10, 10, 20, 30, 10],
        "severity": ["high", "high", "high", "low", "high", "high"],
        "received_at": [t("2025-06-06 22:00"), t("2025-06-09 09:00"), t("2025-06-09 06:00"), t("2025-06-06 10:00"),
                        t("2025-06-09 08:00"), t("2025-06-09 13:00")],
        "first_response_at": [t("2025-06-09 02:00"), pd.NaT, pd.NaT, t("2025-06-09 10:00"), pd.NaT, pd.NaT],
        "resolved_at": [t("2025-06-09 12:00"), pd.NaT, pd.NaT, pd.NaT, pd.NaT, pd.NaT],
    })
    tiers = pd.Series({10: "KA", 20: "micro"})  # customer 30 has no tier
    table = feedback.sla_table(items, tiers, TARGETS, now=now).set_index("id")
    assert 6 not in table.index  # received after now
    # 1: Fri 22:00 -> Mon 02:00 = 4 h = the 4 h target: met; resolved Mon 12:00 = 4 + 10 = 14 h <= 24: met.
    assert table.loc[1, ["first_response_hours", "resolution_hours"]].tolist() == [4.0, 14.0]
    assert table.loc[1, ["first_response_met", "first_response_breached", "resolution_met", "open"]].tolist() == [
        True, False, True, False]
    # 2: Mon 09:00 -> now 12:30 = 3.5 h of 4: 0.5 h left <= 20 % x 4 = 0.8 h: due soon, not breached.
    assert table.loc[2, "first_response_hours"] == 3.5
    assert table.loc[2, ["first_response_due_soon", "first_response_breached", "due_soon"]].tolist() == [True, False, True]
    # 3: Mon 06:00 -> 12:30 = 6.5 h > 4: breached while still running.
    assert table.loc[3, ["first_response_breached", "breached", "first_response_met"]].tolist() == [True, True, False]
    # 4: micro/low: Fri 10:00 -> Mon 10:00 = 24 - 10 + 10 = 24 h <= 72; resolution running 24 - 10 + 12.5 = 26.5 h of 720.
    assert table.loc[4, ["first_response_hours", "resolution_hours"]].tolist() == [24.0, 26.5]
    assert not table.loc[4, "due_soon"] and table.loc[4, "open"]
    # 5: no tier: no target, no flags.
    assert np.isnan(table.loc[5, "first_response_target"]) and not table.loc[5, "breached"]
    assert table.loc[1, "age_days"] == pytest.approx((now - dt.datetime(2025, 6, 6, 22)).total_seconds() / 86400)


def test_median_and_p90_on_a_hand_fixture():
    now = dt.datetime(2025, 6, 3, 12)
    t0 = pd.Timestamp("2025-06-02 00:00")  # Monday
    # bugs answered after 1, 2, 3, 4, 10 h: median 3; p90 at position 0.9 x 4 = 3.6: 4 + 0.6 x (10 - 4) = 7.6.
    # One usage question answered after 5 h. Target 4 h (KA high): met 1, 2, 3, 4 -> 4 of 5 bugs = 0.8.
    items = pd.DataFrame({
        "id": range(1, 7), "customer_id": [1] * 6, "severity": ["high"] * 6,
        "type": ["bug"] * 5 + ["usage_question"], "owner": ["王芳"] * 3 + ["Tom"] * 3,
        "received_at": [t0] * 6,
        "first_response_at": [t0 + pd.Timedelta(hours=h) for h in (1, 2, 3, 4, 10, 5)],
        "resolved_at": [pd.NaT] * 6,
    })
    table = feedback.sla_table(items, pd.Series({1: "KA"}), TARGETS, now=now)
    summary = feedback.sla_summary(table)
    bug = summary[(summary["section"] == "time") & (summary["by"] == "type") & (summary["group"] == "bug")].iloc[0]
    assert (bug["items"], bug["first_response_median_h"], bug["first_response_p90_h"]) == (5, 3.0, pytest.approx(7.6))
    assert np.isnan(bug["resolution_median_h"])  # every resolution timer still runs
    met = summary[summary["section"] == "met"].set_index(["by", "group"])
    assert met.loc[("type", "bug"), "first_response_met_share"] == pytest.approx(0.8)
    # owners: 王芳 1, 2, 3 h all met = 1.0; Tom 4 h met, 10 h and 5 h breached = 1 / 3.
    assert met.loc[("owner", "王芳"), "first_response_met_share"] == 1.0
    assert met.loc[("owner", "Tom"), "first_response_met_share"] == pytest.approx(1 / 3)
    assert met.loc[("all", "all"), "first_response_met_share"] == pytest.approx(4 / 6)
    # Resolution: 36 h running against 24 h: all breached, none met.
    assert met.loc[("all", "all"), "resolution_met_share"] == 0.0
    assert list(summary.columns) == list(feedback.SUMMARY_COLUMNS)


def test_backlog_is_counted_by_age_bucket_with_the_lower_bound_in():
    now = dt.datetime(2025, 6, 30, 12)
    ages = [0.5, 1.0, 2.5, 3.0, 10.0, 40.0]  # days: 0-1 d: 1; 1-3 d: 1.0, 2.5; 3-7 d: 3.0; 7-30 d: 10; >30 d: 40
    items = pd.DataFrame({
        "id": range(1, 8), "customer_id": [1] * 7, "severity": ["high"] * 7,
        "received_at": [pd.Timestamp(now) - pd.Timedelta(days=a) for a in ages] + [pd.Timestamp("2025-06-01")],
        "first_response_at": [pd.NaT] * 7,
        "resolved_at": [pd.NaT] * 6 + [pd.Timestamp("2025-06-02")],  # the last one is resolved: not in the backlog
    })
    backlog = feedback.backlog_ages(feedback.sla_table(items, pd.Series({1: "KA"}), TARGETS, now=now))
    assert dict(zip(backlog["group"], backlog["open_items"], strict=True)) == {
        "0-1 d": 1, "1-3 d": 2, "3-7 d": 1, "7-30 d": 1, ">30 d": 1}


def test_sla_table_names_a_missing_column():
    with pytest.raises(UsageError, match="received_at"):
        feedback.sla_table(pd.DataFrame({"id": [1]}), pd.Series(dtype=object), TARGETS, now=MON)


def test_the_sla_targets_are_settings_with_sensible_defaults(fresh_engine):
    with fresh_engine.connect() as conn:
        targets = feedback.sla_targets(conn)
    assert targets.first_response["KA"]["critical"] == 2 and targets.resolution["KA"]["critical"] == 24
    assert targets.first_response["micro"]["low"] == 72 and targets.resolution["micro"]["low"] == 720
    assert targets.holidays == ()


# --- FAQ for the manual --------------------------------------------------------------------------


def test_faq_markdown_escapes_markdown_and_keeps_line_breaks():
    frame = pd.DataFrame({
        "question": ["如何使用 *通配符* 和 [链接](http://x)?", "How much is $5 #1?"],
        "answer": ["第一步：打开报表\n第二步：点击 `导出`\n\n注意 <b>不要</b>", "1. Ask sales."],
        "product_area": ["reports", None],
    })
    text = feedback.faq_markdown(frame)
    assert "### 如何使用 \\*通配符\\* 和 \\[链接\\]\\(http://x\\)?" in text
    assert "第一步：打开报表  \n第二步：点击 \\`导出\\`\n\n注意 \\<b\\>不要\\</b\\>" in text
    assert "## general" in text and "### How much is \\$5 \\#1?" in text and "1\\. Ask sales\\." in text
    assert text.startswith("# FAQ\n\n## reports\n")


def test_triage_re_triage_and_routing_are_each_in_the_items_history_in_the_readers_words(store):
    """The history says what happened to an item as a person reads it (labels, not codes): its triage,
    a later change of type or severity without a change of status, and where it was routed."""
    engine = store["engine"]
    with transaction(engine) as s:
        stored = item(s, store["a"], "How do I export to Excel?")
    with transaction(engine) as s:
        feedback.triage(s, PM, stored["id"], 1, "bug", "high", "reports", now=MON + dt.timedelta(hours=10))
    with transaction(engine) as s:
        feedback.triage(s, PM, stored["id"], 2, "usage_question", "low", "reports", now=MON + dt.timedelta(hours=11))
    with transaction(engine) as s:
        feedback.route_to_faq(s, PM, stored["id"], 3, answer="Data page, Export.", now=MON + dt.timedelta(hours=12))
    with engine.connect() as conn:
        history = feedback.history(conn, stored["id"])
    assert history[["from_status", "to_status"]].values.tolist() == [["new", "triaged"], ["triaged", "triaged"],
                                                                     ["triaged", "triaged"]]
    faq = int(history["note"].iloc[2].split(":")[1])
    assert [present.history_note(n, "en") for n in history["note"]] == [
        "Triaged: Bug · High · Reports", "Re-triaged: Usage question · Low · Reports", f"Linked to FAQ entry #{faq}"]
    assert [present.history_note(n, "zh") for n in history["note"]] == [
        "分类：缺陷 · 高 · 报表", "重新分类：使用问题 · 低 · 报表", f"归入常见问题 #{faq}"]
