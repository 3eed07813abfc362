"""Demand board: workflow and history, board counts, priority (value and RICE), merge, concurrency,
flow metrics, releases and notes, the catalogue, and closing the loop with the customers who asked."""
from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from ops_core import demand, present, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.db.models import TABLES
from ops_core.db.schema import upgrade
from ops_core.errors import Conflict, PermissionDenied, Refused, StaleVersion, UsageError, ValidationError
from ops_core.vocab import Role
from tests.factories import make_csm, make_customer

PM = writes.Actor("zhang.pm", Role.editor)
OTHER_PM = writes.Actor("li.pm", Role.editor)
VIEWER = writes.Actor("wu.viewer", Role.viewer)
FLOW = ("backlog", "evaluating", "planned", "in_development", "testing", "released")


def at(month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2025, month, day, hour)


T0 = at(3, 3)


def new_demand(engine, title: str = "报表导出 Excel", customers=(), now: dt.datetime = T0, **values: Any) -> dict[str, Any]:
    with transaction(engine) as s:
        return demand.create(s, PM, {"title": title, "source": "customer_feedback", **values}, customers, now=now)


def move(engine, demand_id: int, version: int, to: str, now: dt.datetime, actor=PM, **kw: Any) -> dict[str, Any]:
    with transaction(engine) as s:
        return demand.transition(s, actor, demand_id, version, to, now=now, **kw)


def walk(engine, row: dict[str, Any], statuses, times=None) -> dict[str, Any]:
    """Move a demand through ``statuses`` one by one (at ``times``, default one day apart from T0)."""
    for i, status in enumerate(statuses):
        when = times[i] if times else T0 + dt.timedelta(days=i + 1)
        row = move(engine, row["id"], row["version"], status, when, reason="不做 / won't do" if status == "rejected" else None)
    return row


def path_to(status: str) -> list[str]:
    if status == "rejected":
        return ["rejected"]
    return list(FLOW[1:FLOW.index(status) + 1])


def new_release(engine, label: str = "v2.1", day: dt.date = dt.date(2025, 4, 1), status: str = "released",
                **values: Any) -> dict[str, Any]:
    """A release (shipped unless told: a demand is released only into a shipped release)."""
    with transaction(engine) as s:
        return demand.create_release(s, PM, {"version_label": label, "release_date": day, "status": status, **values})


def new_feedback(engine, customer_id: int, demand_id: int | None, importance: str = "important",
                 status: str = "triaged", **values: Any) -> dict[str, Any]:
    row = {"customer_id": customer_id, "channel": "wechat", "received_at": at(3, 1), "product_area": "reports",
           "text": "导出太慢 / export is slow", "severity": "medium", "importance": importance, "status": status,
           "demand_id": demand_id} | values
    with transaction(engine) as s:
        return writes.create(s, PM, "feedback", row)


def customers(engine, *names: str, csm_id: int | None = None) -> list[int]:
    with transaction(engine) as s:
        return [make_customer(s, name=n, csm_id=csm_id)["id"] for n in names]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with every missing value as None (pandas shows a missing text as NaN)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def stored(engine, table: str, key: int) -> dict[str, Any]:
    t = TABLES[table]
    with engine.connect() as conn:
        return dict(conn.execute(select(t).where(t.c.id == key)).mappings().one())


def history_count(engine, demand_id: int) -> int:
    h = TABLES["demand_history"]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(h.c.demand_id == demand_id)).scalar_one()


@pytest.fixture(scope="module")
def shared_engine(new_store_url):
    """One store for the many small workflow cases (each makes its own demand)."""
    engine = make_engine(new_store_url())
    upgrade(engine)
    yield engine
    engine.dispose()


# --- workflow ------------------------------------------------------------------------------------

ALLOWED = [
    ("backlog", "evaluating"), ("evaluating", "planned"), ("planned", "in_development"),
    ("in_development", "testing"), ("testing", "released"),                                   # one step forward
    ("evaluating", "backlog"), ("planned", "evaluating"), ("in_development", "planned"),
    ("testing", "in_development"),                                                            # one step back
    ("backlog", "rejected"), ("evaluating", "rejected"), ("planned", "rejected"),
    ("in_development", "rejected"), ("testing", "rejected"),                                  # reject from any open
    ("rejected", "backlog"),                                                                  # reopen
]
FORBIDDEN = [
    ("backlog", "planned"), ("backlog", "released"), ("evaluating", "testing"),               # skipping a step
    ("planned", "backlog"), ("testing", "planned"),                                           # two steps back
    ("released", "testing"), ("released", "rejected"), ("released", "backlog"),              # released is final
    ("rejected", "evaluating"), ("rejected", "released"),                                     # reopen only to backlog
    ("backlog", "backlog"),                                                                   # no move at all
]


def test_the_workflow_table_allows_exactly_the_listed_moves():
    table = {(str(f), str(t)) for f, tos in demand.TRANSITIONS.items() for t in tos}
    assert table == set(ALLOWED)
    assert demand.allowed_moves("testing") == ("released", "in_development", "rejected")


@pytest.mark.parametrize(("start", "to"), ALLOWED, ids=[f"{f}->{t}" for f, t in ALLOWED])
def test_an_allowed_move_changes_the_status_and_writes_one_history_row(shared_engine, start, to):
    engine = shared_engine
    release = new_release(engine, label=f"v-{start}-{to}")
    row = walk(engine, new_demand(engine, target_release_id=release["id"]), path_to(start))
    before = history_count(engine, row["id"])
    when = at(4, 20)
    moved = move(engine, row["id"], row["version"], to, when, reason="超出范围 / out of scope")
    assert (moved["status"], moved["version"]) == (to, row["version"] + 1)
    assert history_count(engine, row["id"]) == before + 1
    with engine.connect() as conn:
        last = demand.history(conn, row["id"]).iloc[-1]
    assert (last["at"], last["actor"], last["from_status"], last["to_status"]) == (pd.Timestamp(when), "zhang.pm", start, to)


@pytest.mark.parametrize(("start", "to"), FORBIDDEN, ids=[f"{f}->{t}" for f, t in FORBIDDEN])
def test_a_forbidden_move_is_refused_naming_from_and_to_and_changes_nothing(shared_engine, start, to):
    engine = shared_engine
    release = new_release(engine, label=f"x-{start}-{to}")
    row = walk(engine, new_demand(engine, target_release_id=release["id"]), path_to(start))
    before = history_count(engine, row["id"])
    with pytest.raises(UsageError, match=f"from {start} to {to}"):
        move(engine, row["id"], row["version"], to, at(4, 20), reason="because")
    after = stored(engine, "demands", row["id"])
    assert (after["status"], after["version"], history_count(engine, row["id"])) == (start, row["version"], before)


def test_rejecting_needs_a_reason_and_releasing_needs_a_target_release(fresh_engine):
    row = new_demand(fresh_engine)
    with pytest.raises(ValidationError, match="'reason'"):
        move(fresh_engine, row["id"], 1, "rejected", at(3, 4), reason="  ")
    row = walk(fresh_engine, row, FLOW[1:5])
    with pytest.raises(Refused) as refused:
        move(fresh_engine, row["id"], row["version"], "released", at(3, 20))
    assert refused.value.message("en") == f"Demand #{row['id']} was not moved: choose the release it shipped in first."
    assert stored(fresh_engine, "demands", row["id"])["status"] == "testing"


def test_a_new_demand_starts_in_backlog_with_valid_fields(fresh_engine):
    with pytest.raises(UsageError, match="starts in backlog"):
        new_demand(fresh_engine, status="planned")
    with pytest.raises(ValidationError) as caught:
        new_demand(fresh_engine, title=" ", urgency=5, effort_days=0, target_release_id=99)
    fields = [field for _, field, _ in caught.value.problems]
    assert fields == ["title", "urgency", "effort_days", "target_release_id"]
    with pytest.raises(ValidationError, match="'source'"):
        new_demand(fresh_engine, source="rumour")
    with pytest.raises(PermissionDenied), transaction(fresh_engine) as s:
        demand.create(s, VIEWER, {"title": "x", "source": "market"}, now=T0)
    with fresh_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TABLES["demands"])).scalar_one() == 0


def test_every_status_change_is_recorded_with_who_when_from_to_and_note(fresh_engine):
    row = new_demand(fresh_engine)
    row = move(fresh_engine, row["id"], 1, "evaluating", at(3, 4), actor=OTHER_PM, note="看起来有用 / looks useful")
    row = move(fresh_engine, row["id"], 2, "rejected", at(3, 5), reason="超出范围 / out of scope")
    assert row["reject_reason"] == "超出范围 / out of scope"
    row = move(fresh_engine, row["id"], 3, "backlog", at(3, 6), note="客户再次要求 / asked again")
    assert stored(fresh_engine, "demands", row["id"])["reject_reason"] is None  # reopened: the reason leaves the demand...
    with fresh_engine.connect() as conn:
        rows = demand.history(conn, row["id"])
    assert records(rows) == [  # ...but stays in the history
        {"at": pd.Timestamp(T0), "actor": "zhang.pm", "from_status": None, "to_status": "backlog", "note": present.history_note_code("created")},
        {"at": pd.Timestamp(at(3, 4)), "actor": "li.pm", "from_status": "backlog", "to_status": "evaluating",
         "note": "看起来有用 / looks useful"},
        {"at": pd.Timestamp(at(3, 5)), "actor": "zhang.pm", "from_status": "evaluating", "to_status": "rejected",
         "note": "超出范围 / out of scope"},
        {"at": pd.Timestamp(at(3, 6)), "actor": "zhang.pm", "from_status": "rejected", "to_status": "backlog",
         "note": "客户再次要求 / asked again"},
    ]
    audit = TABLES["audit_log"]
    with fresh_engine.connect() as conn:
        entities = conn.execute(select(audit.c.entity, func.count()).group_by(audit.c.entity)).all()
    assert dict(entities) == {"demands": 4, "demand_history": 4}  # 1 create + 3 moves; 4 history rows


def test_update_changes_editable_fields_only_and_checks_the_version(fresh_engine):
    row = new_demand(fresh_engine)
    with transaction(fresh_engine) as s:
        changed = demand.update(s, PM, row["id"], 1, {"owner": "zhang.pm", "effort_days": 3.5, "urgency": 3})
    assert (changed["owner"], changed["effort_days"], changed["urgency"], changed["version"]) == ("zhang.pm", 3.5, 3, 2)
    with pytest.raises(UsageError, match="status"), transaction(fresh_engine) as s:
        demand.update(s, PM, row["id"], 2, {"status": "planned"})
    with pytest.raises(StaleVersion), transaction(fresh_engine) as s:
        demand.update(s, PM, row["id"], 1, {"owner": "someone.else"})
    assert stored(fresh_engine, "demands", row["id"])["owner"] == "zhang.pm"


# --- two people, one demand ------------------------------------------------------------------------


def test_two_people_moving_a_demand_from_the_same_version_the_second_is_refused_with_the_newer_values(fresh_engine):
    row = new_demand(fresh_engine)
    with pytest.raises(StaleVersion) as caught, transaction(fresh_engine) as second:
        seen = second.execute(select(TABLES["demands"].c.version).where(TABLES["demands"].c.id == row["id"])).scalar_one()
        with transaction(fresh_engine) as first:  # the first person commits while the second still has the form open
            demand.transition(first, PM, row["id"], seen, "evaluating", now=at(3, 4))
        demand.transition(second, OTHER_PM, row["id"], seen, "rejected", reason="不做 / won't do", now=at(3, 4, 10))
    assert (caught.value.current["status"], caught.value.current["version"]) == ("evaluating", 2)
    after = stored(fresh_engine, "demands", row["id"])
    assert (after["status"], after["reject_reason"], after["version"]) == ("evaluating", None, 2)
    with fresh_engine.connect() as conn:
        assert list(demand.history(conn, row["id"])["to_status"]) == ["backlog", "evaluating"]


def test_two_sessions_writing_at_the_same_moment_the_one_waiting_on_the_lock_is_refused(fresh_engine):
    # The second session reads version 1 while the first has written (not committed) version 2; its
    # update then waits for the first to commit, finds the version moved and is refused: nothing is lost.
    row = new_demand(fresh_engine)
    outcome: dict[str, Any] = {}

    def second_person() -> None:
        try:
            with transaction(fresh_engine) as s:
                demand.transition(s, OTHER_PM, row["id"], 1, "rejected", reason="不做 / won't do", now=at(3, 4, 10))
            outcome["result"] = "committed"
        except StaleVersion as exc:
            outcome["result"] = exc

    with transaction(fresh_engine) as first:
        demand.transition(first, PM, row["id"], 1, "evaluating", now=at(3, 4))
        worker = threading.Thread(target=second_person)
        worker.start()
        time.sleep(0.5)  # the second session is now blocked on the row (PostgreSQL) or the write lock (SQLite)
    worker.join(timeout=60)
    assert isinstance(outcome["result"], StaleVersion)
    assert outcome["result"].current["status"] == "evaluating"
    after = stored(fresh_engine, "demands", row["id"])
    assert (after["status"], after["reject_reason"], after["version"]) == ("evaluating", None, 2)
    assert history_count(fresh_engine, row["id"]) == 2


# --- the board ------------------------------------------------------------------------------------


def test_the_board_counts_each_customer_once_with_feedback_items_and_highest_importance(fresh_engine):
    a, b, c = customers(fresh_engine, "甲 Steel", "乙 Glass", "丙 Paper")
    one = new_demand(fresh_engine, "报表导出 Excel", customers=[a, b, b], effort_days=2.0, urgency=3, product_area="reports")
    two = new_demand(fresh_engine, "Offline mode", source="market")
    new_feedback(fresh_engine, a, one["id"], "nice_to_have")
    new_feedback(fresh_engine, a, one["id"], "blocker")        # a second person at customer a
    new_feedback(fresh_engine, c, one["id"], "important")      # c asks through feedback only
    new_feedback(fresh_engine, b, None, "blocker")             # not linked to any demand
    move(fresh_engine, two["id"], 1, "rejected", at(3, 5, 12), reason="no")
    with fresh_engine.connect() as conn:
        board = demand.load_board(conn, as_of=dt.date(2025, 3, 10))
        links = demand.load_links(conn)
        backlog = demand.load_board(conn, demand.BoardFilters(statuses=("backlog",)), as_of=dt.date(2025, 3, 10))
    assert list(board.columns) == list(demand.BOARD_COLUMNS)
    first, second = board.iloc[0], board.iloc[1]
    # customers {a, b} linked + {a, c} through feedback = {a, b, c}: 3; feedback items 3; highest blocker
    assert (first["customers"], first["feedback_items"], first["max_importance"]) == (3, 3, "blocker")
    # created 3 March 09:00, as of the end of 10 March (11 March 00:00): 7 days 15 hours -> 7
    assert (first["age_days"], first["days_in_status"], first["status"]) == (7, 7, "backlog")
    assert (second["customers"], second["feedback_items"]) == (0, 0) and pd.isna(second["max_importance"])
    # rejected 5 March 12:00: age when closed 2 days 3 hours -> 2; in status until 11 March 00:00: 5.5 -> 5
    assert (second["age_days"], second["days_in_status"], second["reject_reason"]) == (2, 5, "no")
    assert list(backlog["demand_id"]) == [one["id"]]
    assert records(links) == [
        {"demand_id": one["id"], "customer_id": a, "importance": "blocker"},
        {"demand_id": one["id"], "customer_id": b, "importance": None},
        {"demand_id": one["id"], "customer_id": c, "importance": "important"},
    ]
    with pytest.raises(UsageError, match="unknown statuses: done"):
        demand.BoardFilters(statuses=("done",))


def test_linking_a_customer_twice_keeps_one_link_and_unlinking_removes_it(fresh_engine):
    a, b = customers(fresh_engine, "甲", "乙")
    row = new_demand(fresh_engine, customers=[a])
    with transaction(fresh_engine) as s:
        assert demand.link_customers(s, PM, row["id"], [a, b, b]) == [b]  # a was linked already
    with pytest.raises(ValidationError, match="no customer 999"), transaction(fresh_engine) as s:
        demand.link_customers(s, PM, row["id"], [999])
    with transaction(fresh_engine) as s:
        assert demand.unlink_customers(s, PM, row["id"], [a, 999]) == [a]
    with fresh_engine.connect() as conn:
        assert demand.load_links(conn)["customer_id"].tolist() == [b]


def test_two_people_linking_the_same_customer_at_once_the_second_is_told_and_one_link_stays(fresh_engine):
    # Both read "not linked yet"; the second's insert waits for the first to commit, then meets the
    # key the first wrote. The second gets a Conflict it can show (not a driver IntegrityError) and
    # nothing of its action is kept.
    a, b = customers(fresh_engine, "甲", "乙")
    row = new_demand(fresh_engine)
    outcome: dict[str, Any] = {}

    def second_person() -> None:
        try:
            with transaction(fresh_engine) as s:
                demand.link_customers(s, OTHER_PM, row["id"], [b, a])
            outcome["result"] = "committed"
        except Exception as exc:  # the test asserts which one
            outcome["result"] = exc

    with transaction(fresh_engine) as first:
        demand.link_customers(first, PM, row["id"], [a])
        worker = threading.Thread(target=second_person)
        worker.start()
        time.sleep(0.5)  # the second session is now waiting on the key (PostgreSQL) or the write lock (SQLite)
    worker.join(timeout=60)
    assert isinstance(outcome["result"], Conflict), outcome["result"]
    assert "nothing was saved" in str(outcome["result"])
    with fresh_engine.connect() as conn:
        assert demand.load_links(conn)["customer_id"].tolist() == [a]  # b, from the refused action, is not kept
        audited = conn.execute(select(func.count()).select_from(TABLES["audit_log"]).where(
            TABLES["audit_log"].c.entity == "demand_customers")).scalar_one()
    assert audited == 1


# --- priority -------------------------------------------------------------------------------------


def priority_fixture() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    board = pd.DataFrame({
        "demand_id": [1, 2, 3, 4, 5],
        "status": ["backlog", "planned", "evaluating", "released", "backlog"],
        "source": ["customer_feedback", "market", "sales_stuck_point", "internal", "internal"],
        "effort_days": [2.0, 4.0, np.nan, 1.0, 3.0],
        "urgency": [3, 1, 2, 3, 2],
        "feedback_items": [3, 1, 1, 0, 0],
        "merged_into_id": [None, None, None, None, None],
    })
    links = pd.DataFrame({
        "demand_id": [1, 1, 1, 2, 3],
        "customer_id": [10, 11, 11, 12, 11],  # customer 11 twice on demand 1: counted once, its highest importance
        "importance": ["blocker", "nice_to_have", "important", "blocker", "important"],
    })
    scores = pd.Series({10: 80.0, 11: 50.0, 12: 20.0}, name="score")
    return board, links, scores


def test_value_priority_of_a_hand_computed_board():
    board, links, scores = priority_fixture()
    out = demand.priority(board, links, scores).set_index("demand_id")
    # d1: value 0.8×3 + 0.5×2 = 3.4; 2 customers; 3 items; urgency 3; effort 2
    #     -> 3.4/2 + 0.5×2/2 + 0.1×3/2 + 1×3/2 = 1.7 + 0.5 + 0.15 + 1.5 = 3.85
    # d2: value 0.2×3 = 0.6; 1; 1; urgency 1; effort 4 -> 0.15 + 0.125 + 0.025 + 0.25 = 0.55
    # d3: value 0.5×2 = 1.0; 1; 1; urgency 2; effort not set = 5 -> 0.2 + 0.1 + 0.02 + 0.4 = 0.72
    # d4: released -> 3/1 = 3.0 but not ranked; d5: no customers -> 1×2/3 = 0.6667
    assert out.loc[1, ["customer_value", "customers", "from_customer_value", "from_customers", "from_feedback",
                       "from_urgency"]].tolist() == pytest.approx([3.4, 2, 1.7, 0.5, 0.15, 1.5])
    assert out["priority"].to_dict() == pytest.approx({1: 3.85, 3: 0.72, 5: 2 / 3, 2: 0.55, 4: 3.0})
    assert out.loc[3, "effort_used"] == 5.0
    assert out["rank"].tolist()[:4] == [1, 2, 3, 4] and list(out.index) == [1, 3, 5, 2, 4]
    assert pd.isna(out.loc[4, "rank"])
    parts = out[["from_customer_value", "from_customers", "from_feedback", "from_urgency"]].sum(axis=1)
    assert parts.to_numpy() == pytest.approx(out["priority"].to_numpy())
    assert out.attrs["method"] == "value" and "effort days" in out.attrs["formula"]


def test_raising_one_customers_score_reranks_the_board():
    board, links, scores = priority_fixture()
    raised = scores.copy()
    raised[12] = 100.0  # customer 12 asks only for demand 2
    out = demand.priority(board, links, raised).set_index("demand_id")
    # d2: value 1.0×3 = 3.0 -> 3.0/4 + 0.125 + 0.025 + 0.25 = 1.15, now above d3 (0.72) and d5 (0.667)
    assert out.loc[2, "priority"] == pytest.approx(1.15)
    assert list(out.index[:4]) == [1, 2, 3, 5]


def test_rice_priority_of_a_hand_computed_board():
    board, links, scores = priority_fixture()
    out = demand.priority(board, links, scores, method="rice").set_index("demand_id")
    # d1: reach 2 × impact 3 (blocker) × confidence (0.8 + 3×0.05 = 0.95) / effort 2 = 2.85
    # d2: 1 × 3 × (0.5 + 0.05 = 0.55) / 4 = 0.4125
    # d3: 1 × 2 × (0.8 + 0.05 = 0.85) / 5 = 0.34
    # d4, d5: reach 0 -> 0
    assert out.loc[[1, 2, 3], ["reach", "impact", "confidence"]].to_numpy().ravel().tolist() == pytest.approx(
        [2, 3, 0.95, 1, 3, 0.55, 1, 2, 0.85])
    assert out["priority"].to_dict() == pytest.approx({1: 2.85, 2: 0.4125, 3: 0.34, 4: 0.0, 5: 0.0})
    assert list(out.index[:4]) == [1, 2, 3, 5] and out["rank"].tolist()[:4] == [1, 2, 3, 4]
    # scores do not enter RICE; a confidence weight does: full confidence for market demands
    more = demand.priority(board, links, scores, method="rice", weights={"confidence_market": 1.0}).set_index("demand_id")
    assert more.loc[2, "confidence"] == 1.0 and more.loc[2, "priority"] == pytest.approx(0.75)  # 1×3×1/4


def test_priority_weights_change_the_order_and_bad_input_is_named():
    board, links, scores = priority_fixture()
    # urgency alone: d1 3/2 = 1.5, d5 2/3, d3 2/5 = 0.4, d2 1/4
    only_urgency = demand.priority(board, links, scores, weights={"customer_value": 0, "customers": 0, "feedback_items": 0})
    assert list(only_urgency["demand_id"][:4]) == [1, 5, 3, 2]
    with pytest.raises(UsageError, match="lacks the column"):
        demand.priority(board.drop(columns="urgency"), links, scores)
    with pytest.raises(UsageError, match="unknown value priority weight"):
        demand.priority(board, links, scores, weights={"reach": 1})
    with pytest.raises(UsageError, match="unknown priority method"):
        demand.priority(board, links, scores, method="gut")
    with pytest.raises(UsageError, match="zero or positive"):
        demand.priority(board, links, scores, weights={"urgency": -1})


def test_narrowing_keeps_the_whole_board_ranks_and_drops_merged_duplicates():
    board, links, scores = priority_fixture()
    board = board.assign(owner=["li", "wang", None, "li", "li"], target_release_id=[7, None, 7, 8, None],
                         merged_into_id=[None, None, None, None, 1])  # demand 5 was merged into 1
    ranked = demand.priority(board, links, scores)
    everything = demand.narrow(ranked, links)
    assert sorted(everything["demand_id"]) == [1, 2, 3, 4]  # only the merged duplicate goes
    assert everything.equals(ranked[ranked["demand_id"] != 5])  # same rows, same ranks, same order
    # owner li: 1 and 4 (5 is merged); release 7: 1 and 3 -> both: 1
    assert list(demand.narrow(ranked, links, owners=["li"], releases=[7])["demand_id"]) == [1]
    # customer 11 asks for 1 and 3 (links); with the source "sales_stuck_point" only 3 stays
    assert sorted(demand.narrow(ranked, links, asking_customers=[11])["demand_id"]) == [1, 3]
    assert list(demand.narrow(ranked, links, sources=["sales_stuck_point"], asking_customers=[11])["demand_id"]) == [3]
    assert demand.narrow(ranked, links, asking_customers=[]).empty  # a tier with no customer asks for nothing


def test_priority_from_the_store_uses_the_links_and_the_board(fresh_engine):
    a, b = customers(fresh_engine, "甲 Steel", "乙 Glass")
    one = new_demand(fresh_engine, customers=[a], effort_days=2.0, urgency=2)
    new_feedback(fresh_engine, b, one["id"], "blocker")
    with fresh_engine.connect() as conn:
        out = demand.priority(demand.load_board(conn, as_of=T0), demand.load_links(conn), pd.Series({a: 50.0, b: 100.0}))
    # value 0.5×1 (no feedback) + 1.0×3 = 3.5; 2 customers; 1 item; urgency 2; effort 2
    # -> 1.75 + 0.5 + 0.05 + 1.0 = 3.3
    assert out.loc[0, "priority"] == pytest.approx(3.3)


# --- merge ----------------------------------------------------------------------------------------


def test_merge_keeps_every_customer_and_feedback_item(fresh_engine):
    a, b, c, d = customers(fresh_engine, "甲", "乙", "丙", "丁")
    keep = new_demand(fresh_engine, "Export to Excel", customers=[a, b])
    dup = new_demand(fresh_engine, "导出 Excel", customers=[b, c])
    kept_item = new_feedback(fresh_engine, a, keep["id"])
    moved_items = [new_feedback(fresh_engine, c, dup["id"]), new_feedback(fresh_engine, d, dup["id"], "blocker")]
    with transaction(fresh_engine) as s:
        kept = demand.merge(s, PM, keep["id"], dup["id"], 1, 1, now=at(3, 8))
    assert kept["version"] == 2
    links = TABLES["demand_customers"]
    fb = TABLES["feedback"]
    with fresh_engine.connect() as conn:
        linked = conn.execute(select(links.c.demand_id, links.c.customer_id).order_by(links.c.demand_id, links.c.customer_id)).all()
        items = dict(conn.execute(select(fb.c.id, fb.c.demand_id)).all())
        board = demand.load_board(conn, as_of=at(3, 9)).set_index("demand_id")
        dup_history = demand.history(conn, dup["id"])
    # b was on both: kept once; c moved; d asks through its feedback item, which moved
    assert linked == [(keep["id"], a), (keep["id"], b), (keep["id"], c)]
    assert items == {kept_item["id"]: keep["id"], moved_items[0]["id"]: keep["id"], moved_items[1]["id"]: keep["id"]}
    assert board.loc[keep["id"], ["customers", "feedback_items", "max_importance"]].tolist() == [4, 3, "blocker"]
    assert board.loc[dup["id"], ["status", "merged_into_id", "customers", "feedback_items"]].tolist() == \
        ["rejected", keep["id"], 0, 0]
    reason = board.loc[dup["id"], "reject_reason"]   # as a person reads it, in either language
    assert (present.history_note(reason, "en"), present.history_note(reason, "zh")) == \
        (f"Duplicate of demand #{keep['id']}", f"与需求 #{keep['id']} 重复")
    assert dup_history.iloc[-1][["from_status", "to_status"]].tolist() == ["backlog", "rejected"]
    note = dup_history.iloc[-1]["note"]
    assert (present.history_note(note, "en"), present.history_note(note, "zh")) == \
        (f"Merged into demand #{keep['id']}", f"合并到需求 #{keep['id']}")
    with pytest.raises(UsageError, match="was merged into"):
        move(fresh_engine, dup["id"], 2, "backlog", at(3, 9))


def test_merge_checks_both_versions_and_refuses_odd_merges(fresh_engine):
    keep, dup = new_demand(fresh_engine, "A"), new_demand(fresh_engine, "B")
    with pytest.raises(StaleVersion), transaction(fresh_engine) as s:
        demand.merge(s, PM, keep["id"], dup["id"], 1, 7, now=at(3, 8))
    with pytest.raises(UsageError, match="into itself"), transaction(fresh_engine) as s:
        demand.merge(s, PM, keep["id"], keep["id"], 1, 1, now=at(3, 8))
    assert stored(fresh_engine, "demands", dup["id"])["merged_into_id"] is None
    release = new_release(fresh_engine)
    shipped = walk(fresh_engine, new_demand(fresh_engine, "C", target_release_id=release["id"]), FLOW[1:])
    with pytest.raises(UsageError, match="released"), transaction(fresh_engine) as s:
        demand.merge(s, PM, keep["id"], shipped["id"], 1, shipped["version"], now=at(3, 8))


# --- flow -----------------------------------------------------------------------------------------


def test_flow_metrics_give_wip_cycle_time_and_demands_per_source(fresh_engine):
    release = new_release(fresh_engine, day=dt.date(2025, 3, 13))

    def shipped(created: dt.datetime, times: list[dt.datetime]) -> None:
        walk(fresh_engine, new_demand(fresh_engine, now=created, target_release_id=release["id"]), FLOW[1:], times)

    shipped(at(3, 3), [at(3, 4), at(3, 5), at(3, 6), at(3, 8), at(3, 13)])    # d1: released 13 Mar, 10 days
    shipped(at(3, 3), [at(3, 4), at(3, 5), at(3, 6), at(3, 21), at(3, 23)])   # d2: in development on 20 Mar; 20 days
    shipped(at(2, 19), [at(2, 20), at(2, 21), at(2, 22), at(2, 23), at(3, 31)])  # d3: testing on 20 Mar; 40 days
    shipped(at(3, 3), [at(3, 4), at(3, 5), at(3, 6), at(3, 7), at(4, 2)])     # d4: testing on 20 Mar; 30 days, April
    walk(fresh_engine, new_demand(fresh_engine, now=at(3, 10), source="market"), ["evaluating"], [at(3, 11)])
    new_demand(fresh_engine, now=at(3, 12), source="competitor")
    d7 = new_demand(fresh_engine, now=at(3, 15), source="internal")
    move(fresh_engine, d7["id"], 1, "rejected", at(3, 16), reason="no")
    new_demand(fresh_engine, now=at(3, 25), source="sales_stuck_point")       # d8: after 20 March
    with fresh_engine.connect() as conn:
        early = demand.flow_metrics(conn, dt.date(2025, 3, 20))
        late = demand.flow_metrics(conn, dt.date(2025, 4, 30))
    assert early["wip"].to_dict("records") == [
        {"status": "backlog", "demands": 1}, {"status": "evaluating", "demands": 1}, {"status": "planned", "demands": 0},
        {"status": "in_development", "demands": 1}, {"status": "testing", "demands": 2}]
    assert early["cycle_time"].to_dict("records") == [
        {"month": dt.date(2025, 3, 1), "released": 1, "median_days": 10.0, "p90_days": 10.0}]
    # March: 10, 20, 40 days -> median 20; p90 at position 0.9 × 2 = 1.8 -> 20 + 0.8 × (40 - 20) = 36
    assert late["cycle_time"].to_dict("records") == [
        {"month": dt.date(2025, 3, 1), "released": 3, "median_days": 20.0, "p90_days": pytest.approx(36.0)},
        {"month": dt.date(2025, 4, 1), "released": 1, "median_days": 30.0, "p90_days": 30.0}]
    assert late["by_source"].to_dict("records") == [
        {"month": dt.date(2025, 2, 1), "source": "customer_feedback", "demands": 1},
        {"month": dt.date(2025, 3, 1), "source": "competitor", "demands": 1},
        {"month": dt.date(2025, 3, 1), "source": "customer_feedback", "demands": 3},
        {"month": dt.date(2025, 3, 1), "source": "internal", "demands": 1},
        {"month": dt.date(2025, 3, 1), "source": "market", "demands": 1},
        {"month": dt.date(2025, 3, 1), "source": "sales_stuck_point", "demands": 1}]
    assert sum(r["demands"] for r in early["by_source"].to_dict("records")) == 7  # d8 not yet created


# --- releases -------------------------------------------------------------------------------------

TRICKY = "Export *all* [reports] to `Excel` | 50% faster_now #1 <b>"
TRICKY_ESCAPED = r"Export \*all\* \[reports\] to \`Excel\` \| 50% faster\_now \#1 \<b\>"


def test_release_notes_list_every_released_demand_escaped_and_grouped(fresh_engine):
    (a,) = customers(fresh_engine, "甲")
    release = new_release(fresh_engine, "v2.1", dt.date(2025, 4, 1))
    other = new_release(fresh_engine, "v2.2", dt.date(2025, 5, 13))
    rel = {"target_release_id": release["id"]}
    walk(fresh_engine, new_demand(fresh_engine, TRICKY, customers=[a], product_area="reports", **rel), FLOW[1:])
    walk(fresh_engine, new_demand(fresh_engine, "批量导入权限配置", product_area="permissions", **rel), FLOW[1:])
    walk(fresh_engine, new_demand(fresh_engine, "Mobile $5 plan & more\nsecond line", **rel), FLOW[1:])
    walk(fresh_engine, new_demand(fresh_engine, "Still in testing", product_area="reports", **rel), FLOW[1:5])
    walk(fresh_engine, new_demand(fresh_engine, "Next release", target_release_id=other["id"]), FLOW[1:])
    with fresh_engine.connect() as conn:
        notes = demand.release_notes(conn, release["id"])
        empty = demand.release_notes(conn, new_release(fresh_engine, "v3.0")["id"])
        catalogue = demand.catalogue(conn)
    assert notes.splitlines() == [
        r"# v2\.1 (2025-04-01)", "",
        "3 changes in this release.", "",
        "## Reports", "",
        f"- {TRICKY_ESCAPED} (demand 1; asked by 1 customer)", "",
        "## Permissions", "",
        "- 批量导入权限配置 (demand 2)", "",
        "## Other", "",
        r"- Mobile \$5 plan \& more second line (demand 3)",
    ]
    assert TRICKY not in notes and "Still in testing" not in notes and "Next release" not in notes
    assert "No demand has been released" in empty
    with transaction(fresh_engine) as s:
        saved = demand.save_release_notes(s, PM, release["id"], 1, notes + "\nEdited by hand.")
    assert saved["version"] == 2
    with pytest.raises(StaleVersion), transaction(fresh_engine) as s:
        demand.save_release_notes(s, PM, release["id"], 1, "lost update")
    assert stored(fresh_engine, "releases", release["id"])["notes"].endswith("Edited by hand.")
    # the catalogue: released functions online (newest release first), testing ones in development
    assert catalogue[["state", "title", "version_label"]].values.tolist() == [
        ["online", "Next release", "v2.2"],
        ["online", TRICKY, "v2.1"],
        ["online", "Mobile $5 plan & more\nsecond line", "v2.1"],
        ["online", "批量导入权限配置", "v2.1"],
        ["in_development", "Still in testing", "v2.1"],
    ]


def test_release_labels_are_unique(fresh_engine):
    new_release(fresh_engine, "v2.1")
    with pytest.raises(ValidationError, match="already exists"):
        new_release(fresh_engine, "v2.1")
    with fresh_engine.connect() as conn:
        assert demand.load_releases(conn)[["version_label", "demands", "released"]].values.tolist() == [["v2.1", 0, 0]]


def test_a_planned_release_ships_once_and_a_stale_version_is_refused(fresh_engine):
    release = new_release(fresh_engine, "v3.0", status="planned")
    with transaction(fresh_engine) as s:
        shipped = demand.ship_release(s, PM, release["id"], release["version"], on=dt.date(2026, 11, 20))
    assert (shipped["status"], shipped["release_date"]) == ("released", dt.date(2026, 11, 20))
    with pytest.raises(UsageError, match="already released"), transaction(fresh_engine) as s:
        demand.ship_release(s, PM, release["id"], shipped["version"], on=dt.date(2026, 11, 21))
    other = new_release(fresh_engine, "v3.1", status="planned")
    with transaction(fresh_engine) as s:
        demand.save_release_notes(s, PM, other["id"], other["version"], "notes")
    with pytest.raises(StaleVersion), transaction(fresh_engine) as s:  # read before the notes were saved
        demand.ship_release(s, PM, other["id"], other["version"], on=dt.date(2026, 11, 21))


def test_a_demand_is_never_released_into_a_planned_release_and_the_refusal_is_in_the_readers_language(fresh_engine):
    planned = new_release(fresh_engine, "v4.0", status="planned")
    shipped = new_release(fresh_engine, "v3.9", status="released")
    row = walk(fresh_engine, new_demand(fresh_engine, target_release_id=planned["id"]), FLOW[1:5])
    for release_id in (None, planned["id"]):  # its own target, or that release named
        with pytest.raises(Refused) as refused:
            move(fresh_engine, row["id"], row["version"], "released", at(3, 20), release_id=release_id)
        assert refused.value.message("en") == (
            f"Demand #{row['id']} was not moved: release v4.0 is still planned. A demand is released only in a release "
            "that has shipped: release v4.0 first (Releases tab), which ships its tested demands, or choose a release "
            "that has shipped.")
        assert refused.value.message("zh") == (
            f"需求 #{row['id']} 未移动：版本 v4.0 仍在计划中。需求只能归入已发布的版本：请先在“版本发布”页签发布版本 v4.0"
            "（其中测试中的需求会随之发布），或选择一个已发布的版本。")
    after = stored(fresh_engine, "demands", row["id"])
    assert (after["status"], after["version"], after["target_release_id"]) == ("testing", row["version"], planned["id"])
    done = move(fresh_engine, row["id"], row["version"], "released", at(3, 21), release_id=shipped["id"])
    assert (done["status"], done["target_release_id"]) == ("released", shipped["id"])  # it shipped in v3.9


def test_releasing_a_release_ships_its_tested_demands_and_leaves_the_others_where_they_are(fresh_engine):
    release = new_release(fresh_engine, "v5.0", status="planned")
    asking = customers(fresh_engine, "Anshan Steel", "Baotou Glass", "Chengdu Paper")
    tested = walk(fresh_engine, new_demand(fresh_engine, "已测试", customers=asking[:2], target_release_id=release["id"]),
                  FLOW[1:5])
    also = walk(fresh_engine, new_demand(fresh_engine, "也已测试", customers=asking[1:2], target_release_id=release["id"]),
                FLOW[1:5])
    building = walk(fresh_engine, new_demand(fresh_engine, "开发中", customers=asking[2:], target_release_id=release["id"]),
                    FLOW[1:4])
    with transaction(fresh_engine) as s:
        shipped = demand.ship_release(s, PM, release["id"], release["version"], on=dt.date(2025, 4, 1))
    # Two tested demands shipped; Anshan and Baotou asked for them (Baotou for both), Chengdu only for the one in development.
    assert (shipped["version_label"], shipped["demands_shipped"], shipped["customers_to_inform"]) == ("v5.0", 2, 2)
    assert stored(fresh_engine, "demands", also["id"])["status"] == "released"
    assert stored(fresh_engine, "demands", tested["id"])["status"] == "released"
    assert stored(fresh_engine, "demands", building["id"])["status"] == "in_development"
    with fresh_engine.connect() as conn:
        last = demand.history(conn, tested["id"]).iloc[-1]
    assert (last["from_status"], last["to_status"]) == ("testing", "released")
    assert (present.history_note(last["note"], "en"), present.history_note(last["note"], "zh")) == \
        ("Released in v5.0", "随 v5.0 发布")


# --- closing the loop -----------------------------------------------------------------------------


@pytest.fixture
def shipped_demand(fresh_engine):
    """A released demand asked for by five customers: four of two CSMs, one without a CSM."""
    with transaction(fresh_engine) as s:
        wang, li = make_csm(s, name="Wang Fang")["id"], make_csm(s, name="Li Na")["id"]
    w1, w2 = customers(fresh_engine, "Anshan Steel", "Baotou Glass", csm_id=wang)
    (l1,) = customers(fresh_engine, "Chengdu Paper", csm_id=li)
    (l2,) = customers(fresh_engine, "Erlian Coal", csm_id=li)
    (n1,) = customers(fresh_engine, "Dalian Port")
    release = new_release(fresh_engine)
    row = new_demand(fresh_engine, customers=[w1, w2, n1], target_release_id=release["id"])
    items = {
        "w1_first": new_feedback(fresh_engine, w1, row["id"], status="triaged"),
        "w1_second": new_feedback(fresh_engine, w1, row["id"], status="closed", closed_at=at(3, 2)),  # another person at w1
        "l1": new_feedback(fresh_engine, l1, row["id"], status="new"),  # l1 asks through feedback only
        "l2": new_feedback(fresh_engine, l2, row["id"], status="closed", closed_at=at(3, 2), informed_at=at(3, 2)),
        "w2_elsewhere": new_feedback(fresh_engine, w2, None),
    }
    row = walk(fresh_engine, row, FLOW[1:])
    return fresh_engine, row, {"w1": w1, "w2": w2, "l1": l1, "l2": l2, "n1": n1, "wang": wang, "li": li}, items


def test_to_inform_lists_each_customer_once_grouped_by_csm(shipped_demand):
    engine, row, ids, items = shipped_demand
    with engine.connect() as conn:
        listed = demand.to_inform(conn, row["id"])
    assert [list(r.values()) for r in records(listed[["csm", "customer", "feedback_items", "feedback_ids"]])] == [
        ["Li Na", "Chengdu Paper", 1, str(items["l1"]["id"])],
        ["Li Na", "Erlian Coal", 1, str(items["l2"]["id"])],
        ["Wang Fang", "Anshan Steel", 2, f"{items['w1_first']['id']}, {items['w1_second']['id']}"],
        ["Wang Fang", "Baotou Glass", 0, ""],
        [None, "Dalian Port", 0, ""],
    ]
    assert listed["customer_id"].is_unique
    # only Erlian Coal was told: through its one feedback item, informed on 2 March
    assert listed.set_index("customer")["informed_at"].dropna().to_dict() == {"Erlian Coal": pd.Timestamp(at(3, 2))}
    assert listed["csm_id"].tolist()[:4] == [ids["li"], ids["li"], ids["wang"], ids["wang"]]


def test_mark_informed_stamps_links_and_feedback_and_resolves_open_items(shipped_demand):
    engine, row, ids, items = shipped_demand
    when = at(4, 3, 15)
    with transaction(engine) as s:
        done = demand.mark_informed(s, PM, row["id"], [ids["w1"], ids["l1"], ids["w1"]], now=when)
    # links: w1 stamped, l1 linked and stamped; feedback: w1's two items and l1's one
    assert done == {"customers": 2, "feedback_items": 3}
    first, second, l1_item = (stored(engine, "feedback", items[k]["id"]) for k in ("w1_first", "w1_second", "l1"))
    assert (first["status"], first["informed_at"], first["resolved_at"], first["version"]) == ("resolved", when, when, 2)
    assert (second["status"], second["informed_at"], second["closed_at"]) == ("closed", when, at(3, 2))  # stays closed
    assert (l1_item["status"], l1_item["first_response_at"], l1_item["informed_at"]) == ("resolved", when, when)
    assert stored(engine, "feedback", items["w2_elsewhere"]["id"])["informed_at"] is None
    with engine.connect() as conn:
        pending = demand.to_inform(conn, row["id"], pending_only=True)
        informed = demand.to_inform(conn, row["id"]).set_index("customer")
    assert pending["customer"].tolist() == ["Baotou Glass", "Dalian Port"]
    assert informed.loc["Anshan Steel", "informed_at"] == pd.Timestamp(when)
    assert informed.loc["Chengdu Paper", "informed_at"] == pd.Timestamp(when)
    with transaction(engine) as s:  # telling them again keeps the first time
        again = demand.mark_informed(s, PM, row["id"], [ids["w1"]], now=at(4, 9))
    assert again == {"customers": 0, "feedback_items": 0}
    assert stored(engine, "feedback", items["w1_first"]["id"])["informed_at"] == when


def test_mark_informed_refuses_strangers_and_unreleased_demands(shipped_demand):
    engine, row, ids, _ = shipped_demand
    (stranger,) = customers(engine, "Ezhou Glass")
    with pytest.raises(UsageError, match=f"customer\\(s\\) {stranger} did not ask"), transaction(engine) as s:
        demand.mark_informed(s, PM, row["id"], [ids["w1"], stranger], now=at(4, 3))
    links = TABLES["demand_customers"]
    with engine.connect() as conn:  # nothing half-written: w1 was not stamped either
        assert conn.execute(select(links.c.informed_at).where(links.c.customer_id == ids["w1"])).scalar_one() is None
    open_one = new_demand(engine, customers=[ids["w1"]])
    with pytest.raises(UsageError, match="not released"), transaction(engine) as s:
        demand.mark_informed(s, PM, open_one["id"], [ids["w1"]], now=at(4, 3))


def test_escape_markdown_neutralises_every_special_character():
    assert demand.escape_markdown("a_b*c\n# d $x$ [l](u) <i> `c` 1. ~s~ a|b &amp;") == \
        r"a\_b\*c \# d \$x\$ \[l\]\(u\) \<i\> \`c\` 1\. \~s\~ a\|b \&amp;"


# --- the demo company: an independent oracle ------------------------------------------------------


def test_the_board_on_the_demo_company_agrees_with_the_raw_tables(demo_engine):
    dc, fb = TABLES["demand_customers"], TABLES["feedback"]
    with demo_engine.connect() as conn:
        end = conn.execute(select(func.max(TABLES["usage_daily"].c.day))).scalar_one()
        board = demand.load_board(conn, as_of=end)
        linked = pd.DataFrame(conn.execute(select(dc.c.demand_id, dc.c.customer_id)).all(), columns=["demand_id", "customer_id"])
        items = pd.DataFrame(conn.execute(select(fb.c.demand_id, fb.c.customer_id).where(fb.c.demand_id.is_not(None))).all(),
                             columns=["demand_id", "customer_id"])
        ranked = demand.priority(board, demand.load_links(conn), demand.default_scores(conn, end))
        flow = demand.flow_metrics(conn, end)
    asking = pd.concat([linked, items]).drop_duplicates().groupby("demand_id").size()
    by_id = board.set_index("demand_id")
    assert (by_id["customers"] == asking.reindex(by_id.index, fill_value=0)).all()
    assert (by_id["feedback_items"] == items.groupby("demand_id").size().reindex(by_id.index, fill_value=0)).all()
    open_now = board["status"].isin(["backlog", "evaluating", "planned", "in_development", "testing"])
    assert sorted(ranked["rank"].dropna().astype(int)) == list(range(1, int(open_now.sum()) + 1))
    assert flow["wip"]["demands"].sum() == open_now.sum()  # the history ends in each demand's current status
    assert flow["cycle_time"]["released"].sum() == (board["status"] == "released").sum()
    assert flow["by_source"]["demands"].sum() == len(board)


def test_a_demand_lists_the_feedback_items_routed_to_it_newest_first(fresh_engine):
    a, b = customers(fresh_engine, "甲厂", "乙厂")
    row = new_demand(fresh_engine)
    older = new_feedback(fresh_engine, a, row["id"], received_at=at(3, 1))
    newer = new_feedback(fresh_engine, b, row["id"], received_at=at(3, 5), text="还是很慢")
    new_feedback(fresh_engine, a, None)  # not on this demand
    with fresh_engine.connect() as conn:
        linked = demand.linked_feedback(conn, row["id"])
        assert demand.get(conn, row["id"])["title"] == "报表导出 Excel"
    assert list(linked.columns) == list(demand.LINKED_FEEDBACK_COLUMNS)
    assert linked[["feedback_id", "customer_name", "text"]].values.tolist() == [
        [newer["id"], "乙厂", "还是很慢"], [older["id"], "甲厂", "导出太慢 / export is slow"]]


def test_a_demand_is_never_released_into_a_release_that_shipped_before_it_was_raised(fresh_engine):
    """Seen in the browser: a demand raised on 6 December moved into v1.8, shipped on 30 November."""
    old = new_release(fresh_engine, "v1.8", day=dt.date(2025, 2, 28))
    row = walk(fresh_engine, new_demand(fresh_engine, now=at(3, 2)), FLOW[1:5])
    with pytest.raises(Refused) as refused:
        move(fresh_engine, row["id"], row["version"], "released", at(3, 20), release_id=old["id"])
    assert refused.value.message("en") == (f"Demand #{row['id']} was not moved: release v1.8 shipped on 2025-02-28, "
                                           "before the demand was raised on 2025-03-02. Choose the release it really shipped in.")
    assert refused.value.message("zh") == (f"需求 #{row['id']} 未移动：版本 v1.8 于 2025-02-28 发布，早于需求提出的 "
                                           "2025-03-02。请选择它实际发布的版本。")
    assert stored(fresh_engine, "demands", row["id"])["status"] == "testing"
