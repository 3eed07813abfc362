"""The demand board: workflow, customers and feedback behind each demand, priority, flow metrics,
releases and closing the loop with the customers who asked (DESIGN.md section 3).

Every change goes through ``ops_core.writes`` in the caller's transaction (one per user action), so
the change, its audit rows and its ``demand_history`` row commit or roll back together. Every change
of status writes one history row: who (actor), when (``now``, always an argument), from, to, note.

Rules chosen (tested in ``tests/test_demand.py``):

- Workflow (``TRANSITIONS``, data): one step forward along backlog -> evaluating -> planned ->
  in_development -> testing -> released; one step back between open statuses (re-evaluate, unplan,
  a failed test goes back to development), never skipping a step; rejected from any open status
  with a required reason; a rejected demand may be reopened to backlog (its reject reason is
  cleared; the history keeps it). Released is final: a follow-up is a new demand. Moving to
  released needs a target release (the release it ships in, so notes and catalogue find it).
- Versions: every action names the version the caller read; a stale one raises StaleVersion with
  the newer values and writes nothing (the check is repeated atomically by ``writes.update``).
- Customers: a customer counts once per demand, however many of its people ask. The customers of
  a demand are the union of ``demand_customers`` and the customers of its linked feedback items.
- Merge: the duplicate gets ``merged_into_id``, moves to rejected ("duplicate of #keep", with a
  history row), and hands every customer link and feedback item to the kept demand; a customer on
  both stays once (the kept demand's link wins). A released demand cannot be merged away; the kept
  demand must be open or released. A merged demand can no longer be changed or moved.
- Priority: see ``priority``; only open, unmerged demands are ranked.
- Closing the loop: only a released demand's customers are informed; informing stamps
  ``demand_customers.informed_at`` (creating the link for a customer known only through feedback),
  and on each not yet informed feedback item of those customers stamps ``informed_at``, moves
  new / triaged / in_progress to resolved (``resolved_at``, and ``first_response_at`` if it had
  none: telling the customer is a response); resolved and closed items keep their status. A first
  ``informed_at`` is never overwritten.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, assert_never

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, case, func, literal, select, union, union_all
from sqlalchemy.orm import Session

from ops_core import present, writes
from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of, month_start
from ops_core.errors import Refused, StaleVersion, UsageError, ValidationError, require_columns
from ops_core.i18n import Phrase, either_label, t
from ops_core.vocab import DemandSource, DemandStatus, FeedbackStatus, Importance, ProductArea, ReleaseStatus, values

S = DemandStatus
demands_t = TABLES["demands"]
links_t = TABLES["demand_customers"]
history_t = TABLES["demand_history"]
releases_t = TABLES["releases"]
feedback_t = TABLES["feedback"]
customers_t = TABLES["customers"]
csms_t = TABLES["csms"]

# --- workflow as data ----------------------------------------------------------------------------

FLOW: tuple[DemandStatus, ...] = (S.backlog, S.evaluating, S.planned, S.in_development, S.testing, S.released)
OPEN_STATUSES: tuple[DemandStatus, ...] = FLOW[:-1]
CLOSED_STATUSES: tuple[DemandStatus, ...] = (S.released, S.rejected)

# Allowed moves, from -> to (in the order a page shows them as buttons).
TRANSITIONS: dict[DemandStatus, tuple[DemandStatus, ...]] = {
    S.backlog: (S.evaluating, S.rejected),
    S.evaluating: (S.planned, S.backlog, S.rejected),
    S.planned: (S.in_development, S.evaluating, S.rejected),
    S.in_development: (S.testing, S.planned, S.rejected),
    S.testing: (S.released, S.in_development, S.rejected),
    S.released: (),
    S.rejected: (S.backlog,),
}

EDITABLE = ("title", "description", "source", "owner", "effort_days", "urgency", "product_area",
            "target_release_id", "competitor_ref")
URGENCY_LEVELS = (1, 2, 3)  # 1 low, 2 normal, 3 urgent

# The order of importance (SQL takes the highest) and its weight in the value priority.
IMPORTANCE_ORDER: dict[str, int] = {Importance.nice_to_have.value: 1, Importance.important.value: 2, Importance.blocker.value: 3}
IMPORTANCE_WEIGHT: dict[str, float] = {Importance.nice_to_have.value: 1.0, Importance.important.value: 2.0,
                                       Importance.blocker.value: 3.0}
UNSTATED_IMPORTANCE_WEIGHT = 1.0  # a customer linked without feedback counts as nice-to-have


def allowed_moves(status: str) -> tuple[DemandStatus, ...]:
    """The statuses a demand in ``status`` may move to."""
    return TRANSITIONS[_status(status)]


def _status(raw: str) -> DemandStatus:
    try:
        return DemandStatus(raw)
    except ValueError:
        raise UsageError(f"unknown demand status '{raw}'; known: {', '.join(values(DemandStatus))}") from None


# --- reading one demand in the caller's session --------------------------------------------------


def _demand(session: Session | Connection, demand_id: int) -> dict[str, Any]:
    row = session.execute(select(demands_t).where(demands_t.c.id == demand_id)).mappings().first()
    if row is None:
        raise Refused("refuse.no_demand", demand=demand_id)
    return dict(row)


def get(conn: Connection | Session, demand_id: int) -> dict[str, Any]:
    """One demand as stored; UsageError when there is none."""
    return _demand(conn, demand_id)


LINKED_FEEDBACK_COLUMNS = ("feedback_id", "received_at", "customer_code", "customer_name", "status", "importance", "text")


def linked_feedback(conn: Connection | Session, demand_id: int) -> pd.DataFrame:
    """The feedback items routed to a demand (``feedback.demand_id``), newest first, with their customer
    (columns ``LINKED_FEEDBACK_COLUMNS``): the voices behind it, each of which a page links back to."""
    f, c = feedback_t, customers_t
    rows = conn.execute(select(f.c.id, f.c.received_at, c.c.code, c.c.name, f.c.status, f.c.importance, f.c.text)
                        .select_from(f.outerjoin(c, c.c.id == f.c.customer_id)).where(f.c.demand_id == demand_id)
                        .order_by(f.c.received_at.desc(), f.c.id.desc())).all()
    return frame_of(rows, columns=list(LINKED_FEEDBACK_COLUMNS))


def _check_version(current: dict[str, Any], expected_version: int) -> None:
    if current["version"] != expected_version:
        raise StaleVersion("demands", current["id"], expected_version, writes.jsonable(current))


def _not_merged(current: dict[str, Any], action: str) -> None:
    if current["merged_into_id"] is not None:
        raise Refused("refuse.demand_merged", demand=current["id"], into=current["merged_into_id"],
                      action=Phrase(f"refuse.demand_merged.{action}"))


def _record(session: Session, actor: writes.Actor, demand_id: int, from_status: str | None, to_status: str,
            note: str | None, now: dt.datetime) -> None:
    writes.create(session, actor, "demand_history", {
        "demand_id": demand_id, "at": now, "actor": actor.username, "from_status": from_status,
        "to_status": to_status, "note": note,
    })


def _check_fields(session: Session, values: Mapping[str, Any]) -> None:
    """Rules the column types cannot say: a title, urgency 1-3, positive effort, an existing release."""
    problems: list[tuple[int | None, str, str]] = []
    if "title" in values and not str(values["title"] or "").strip():
        problems.append((None, "title", Phrase("problem.required")))
    if "urgency" in values and values["urgency"] not in (None, "") and _int_or_none(values["urgency"]) not in URGENCY_LEVELS:
        problems.append((None, "urgency", f"'{values['urgency']}' is not 1 (low), 2 (normal) or 3 (urgent)"))
    effort = values.get("effort_days")
    if effort not in (None, ""):
        try:
            if not float(effort) > 0:
                problems.append((None, "effort_days", f"{effort} is not a positive number of days"))
        except (TypeError, ValueError):
            pass  # the write path names the bad number
    release = values.get("target_release_id")
    if release not in (None, ""):
        found = _int_or_none(release)
        if found is None or session.execute(select(releases_t.c.id).where(releases_t.c.id == found)).first() is None:
            problems.append((None, "target_release_id", f"there is no release {release}"))
    if problems:
        raise ValidationError(problems)


def _int_or_none(raw: Any) -> int | None:
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


# --- create, update, transition ------------------------------------------------------------------


def create(session: Session, actor: writes.Actor, values: Mapping[str, Any], customer_ids: Iterable[int] = (),
           *, now: dt.datetime) -> dict[str, Any]:
    """A new demand in backlog (created_at ``now``), its first history row and its asking customers."""
    values = dict(values)
    if values.get("status", S.backlog) != S.backlog:
        raise UsageError(f"a new demand starts in backlog, not '{values['status']}'; move it with transition")
    unknown = set(values) - set(EDITABLE) - {"status"}
    if unknown:
        raise UsageError(f"a new demand cannot set {', '.join(sorted(unknown))}; it may set {', '.join(EDITABLE)}")
    _check_fields(session, {"title": values.get("title"), **values})
    stored = writes.create(session, actor, "demands", {**values, "status": S.backlog, "created_at": now})
    _record(session, actor, stored["id"], None, S.backlog, present.history_note_code("created"), now)
    link_customers(session, actor, stored["id"], customer_ids)
    return stored


def update(session: Session, actor: writes.Actor, demand_id: int, expected_version: int,
           changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change a demand's editable fields (not its status: that is ``transition``); returns the stored row."""
    writes.check_write(actor, "demands", "change")  # the role first, before anything is looked up
    if not changes:
        raise UsageError("nothing to change")
    fixed = set(changes) - set(EDITABLE)
    if fixed:
        raise UsageError(f"{', '.join(sorted(fixed))} cannot be edited here (status moves through transition, "
                         f"merges through merge); editable: {', '.join(EDITABLE)}")
    current = _demand(session, demand_id)
    _check_version(current, expected_version)
    _not_merged(current, "change")
    _check_fields(session, changes)
    if current["status"] == S.released and "target_release_id" in changes:  # it stays in a shipped release
        _check_shipped_in(session, demand_id, _int_or_none(changes["target_release_id"]))
    return writes.update(session, actor, "demands", demand_id, expected_version, changes)


def _check_shipped_in(session: Session, demand_id: int, release_id: int | None, raised: dt.date | None = None) -> None:
    """A demand is released only into a release that has been released, never into a planned one, and
    (given the day it was ``raised``) never into one that shipped before that day."""
    if release_id is None:
        raise Refused("d.refuse.no_release", demand=demand_id)
    row = session.execute(select(releases_t.c.version_label, releases_t.c.status, releases_t.c.release_date)
                          .where(releases_t.c.id == release_id)).first()
    if row is None:
        raise UsageError(f"there is no release {release_id}")
    if row.status != ReleaseStatus.released:
        raise Refused("d.refuse.planned_release", demand=demand_id, release=row.version_label)
    if raised is not None and row.release_date < raised:
        raise Refused("d.refuse.release_before_demand", demand=demand_id, release=row.version_label,
                      shipped=row.release_date.isoformat(), raised=raised.isoformat())


def transition(session: Session, actor: writes.Actor, demand_id: int, expected_version: int, to_status: str,
               note: str | None = None, reason: str | None = None, *, now: dt.datetime,
               release_id: int | None = None) -> dict[str, Any]:
    """Move a demand to ``to_status`` if ``TRANSITIONS`` allows it; writes the history row. Returns the stored row.

    A stale ``expected_version`` raises StaleVersion (checked first: the caller's view is out of date);
    a forbidden move raises UsageError naming from and to; rejecting needs a ``reason``. Moving to
    released needs a release that has been released (``release_id``, else the target release; it
    becomes the target release): a planned one is refused (``Refused``), so notes and catalogue never
    list as shipped what has not shipped.
    """
    writes.check_write(actor, "demands", "change")  # the role first, before anything is looked up
    target = _status(to_status)
    current = _demand(session, demand_id)
    _check_version(current, expected_version)
    _not_merged(current, "move")
    source = DemandStatus(current["status"])
    if target not in TRANSITIONS[source]:
        allowed = ", ".join(TRANSITIONS[source]) or "nothing (it is final)"
        raise UsageError(f"demand {demand_id} cannot move from {source} to {target}; from {source} it may move to {allowed}")
    changes: dict[str, Any] = {"status": target}
    match target:
        case S.rejected:
            reason = (reason or "").strip()
            if not reason:
                raise ValidationError([(None, "reason", "is required to reject a demand")])
            changes["reject_reason"] = reason
            note = note or reason
        case S.released:
            shipped_in = current["target_release_id"] if release_id is None else release_id
            _check_shipped_in(session, demand_id, shipped_in, current["created_at"].date())
            changes["target_release_id"] = shipped_in
        case S.backlog if source == S.rejected:
            changes["reject_reason"] = None  # reopened; the history keeps the old reason
        case S.backlog | S.evaluating | S.planned | S.in_development | S.testing:
            pass
        case _:
            assert_never(target)
    stored = writes.update(session, actor, "demands", demand_id, expected_version, changes)
    _record(session, actor, demand_id, source, target, note, now)
    return stored


# --- customers -----------------------------------------------------------------------------------


def link_customers(session: Session, actor: writes.Actor, demand_id: int, customer_ids: Iterable[int]) -> list[int]:
    """Link customers to a demand (each once, however often given or already linked); returns the new ones."""
    writes.check_write(actor, "demand_customers", "create")  # the role first, before anything is looked up
    wanted = sorted({int(c) for c in customer_ids})
    if not wanted:
        return []
    _not_merged(_demand(session, demand_id), "link")
    known = set(session.execute(select(customers_t.c.id).where(customers_t.c.id.in_(wanted))).scalars())
    missing = [c for c in wanted if c not in known]
    if missing:
        raise ValidationError([(None, "customer_id", f"there is no customer {', '.join(map(str, missing))}")])
    linked = set(session.execute(select(links_t.c.customer_id).where(
        links_t.c.demand_id == demand_id, links_t.c.customer_id.in_(wanted))).scalars())
    new = [c for c in wanted if c not in linked]
    for customer_id in new:  # a handful per action
        writes.create(session, actor, "demand_customers", {"demand_id": demand_id, "customer_id": customer_id})
    return new


def unlink_customers(session: Session, actor: writes.Actor, demand_id: int, customer_ids: Iterable[int]) -> list[int]:
    """Remove customer links put on a demand by mistake (links through feedback stay); returns the removed ones."""
    writes.check_write(actor, "demand_customers", "delete")  # the role first, before anything is looked up
    wanted = sorted({int(c) for c in customer_ids})
    linked = set(session.execute(select(links_t.c.customer_id).where(
        links_t.c.demand_id == demand_id, links_t.c.customer_id.in_(wanted))).scalars()) if wanted else set()
    gone = [c for c in wanted if c in linked]
    for customer_id in gone:
        writes.remove(session, actor, "demand_customers", (demand_id, customer_id), None)
    return gone


def merge(session: Session, actor: writes.Actor, keep_id: int, duplicate_id: int, keep_version: int,
          duplicate_version: int, *, now: dt.datetime, note: str | None = None) -> dict[str, Any]:
    """Merge ``duplicate_id`` into ``keep_id``: every linked customer and feedback item moves to the kept
    demand, the duplicate is marked merged and rejected. Both versions are checked; returns the kept row."""
    writes.check_write(actor, "demands", "merge")  # the role first, before anything is looked up
    if keep_id == duplicate_id:
        raise UsageError(f"demand {keep_id} cannot be merged into itself")
    keep, dup = _demand(session, keep_id), _demand(session, duplicate_id)
    _check_version(keep, keep_version)
    _check_version(dup, duplicate_version)
    _not_merged(keep, "keep")
    _not_merged(dup, "merge")
    if dup["status"] == S.released:
        raise UsageError(f"demand {duplicate_id} is released (a function online): it cannot be merged away")
    if keep["status"] == S.rejected:
        raise UsageError(f"demand {keep_id} is rejected: reopen it before merging demand {duplicate_id} into it")
    kept_customers = set(session.execute(select(links_t.c.customer_id).where(links_t.c.demand_id == keep_id)).scalars())
    moving = session.execute(select(links_t).where(links_t.c.demand_id == duplicate_id)
                             .order_by(links_t.c.customer_id)).mappings().all()
    for link in moving:
        if link["customer_id"] not in kept_customers:
            writes.create(session, actor, "demand_customers", {"demand_id": keep_id, "customer_id": link["customer_id"],
                                                               "informed_at": link["informed_at"]})
        writes.remove(session, actor, "demand_customers", (duplicate_id, link["customer_id"]), None)
    items = session.execute(select(feedback_t.c.id, feedback_t.c.version).where(feedback_t.c.demand_id == duplicate_id)
                            .order_by(feedback_t.c.id)).all()
    for item_id, version in items:
        writes.update(session, actor, "feedback", item_id, version, {"demand_id": keep_id})
    text = note or present.history_note_code("merged", keep_id)
    changes: dict[str, Any] = {"merged_into_id": keep_id}
    if dup["status"] != S.rejected:
        changes |= {"status": S.rejected, "reject_reason": present.history_note_code("duplicate", keep_id)}
    writes.update(session, actor, "demands", duplicate_id, duplicate_version, changes)
    if dup["status"] != S.rejected:
        _record(session, actor, duplicate_id, dup["status"], S.rejected, text, now)
    # The kept demand's version moves on too: anyone holding it now sees more customers behind it.
    return writes.update(session, actor, "demands", keep_id, keep_version, {})


# --- the board -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    """Which demands the board shows; an empty tuple means any."""

    statuses: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    product_areas: tuple[str, ...] = ()
    release_ids: tuple[int, ...] = ()
    include_merged: bool = True

    def __post_init__(self) -> None:
        for name, vocabulary in (("statuses", DemandStatus), ("sources", DemandSource), ("product_areas", ProductArea)):
            unknown = [v for v in getattr(self, name) if v not in values(vocabulary)]
            if unknown:
                raise UsageError(f"unknown {name.replace('_', ' ')}: {', '.join(map(str, unknown))}; "
                                 f"known: {', '.join(values(vocabulary))}")


def _moment(as_of: dt.date | dt.datetime) -> dt.datetime:
    """A day means up to the end of that day (the next midnight); a datetime is taken as given."""
    if isinstance(as_of, dt.datetime):
        return as_of.replace(tzinfo=None)
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


def _importance_rank(column: Any) -> Any:
    return case(IMPORTANCE_ORDER, value=column, else_=0)


def _asking() -> Any:
    """(demand_id, customer_id) of every customer asking for a demand: linked directly or through feedback."""
    return union(
        select(links_t.c.demand_id, links_t.c.customer_id),
        select(feedback_t.c.demand_id, feedback_t.c.customer_id).where(feedback_t.c.demand_id.is_not(None)),
    ).subquery("asking")


BOARD_COLUMNS = ("demand_id", "title", "status", "source", "owner", "product_area", "effort_days", "urgency",
                 "target_release_id", "target_release", "target_release_date", "merged_into_id", "reject_reason",
                 "customers", "feedback_items", "max_importance", "created_at", "status_since", "age_days",
                 "days_in_status", "version")


def load_board(conn: Connection | Session, filters: BoardFilters | None = None, *,
               as_of: dt.date | dt.datetime) -> pd.DataFrame:
    """Every demand (``filters`` narrow it) with its counts, aggregated in SQL; one row per demand, by id.

    Columns (``BOARD_COLUMNS``): customers = distinct customers asking (linked or through feedback);
    feedback_items = linked feedback items; max_importance = the highest importance among them (None
    without feedback); status_since = when it entered its current status; age_days = whole days from
    created_at to ``as_of`` (open) or to status_since (released / rejected: age when closed);
    days_in_status = whole days from status_since to ``as_of``; version for the next change.
    """
    f = filters or BoardFilters()
    d, r, h = demands_t, releases_t, history_t
    asking = _asking()
    customers = select(asking.c.demand_id, func.count().label("customers")).group_by(asking.c.demand_id).subquery()
    items = (select(feedback_t.c.demand_id, func.count().label("feedback_items"),
                    func.max(_importance_rank(feedback_t.c.importance)).label("importance_rank"))
             .where(feedback_t.c.demand_id.is_not(None)).group_by(feedback_t.c.demand_id).subquery())
    since = (select(h.c.demand_id, func.max(h.c.at).label("status_since"))
             .select_from(h.join(d, and_(h.c.demand_id == d.c.id, h.c.to_status == d.c.status)))
             .group_by(h.c.demand_id).subquery())
    query = (
        select(d.c.id.label("demand_id"), d.c.title, d.c.status, d.c.source, d.c.owner, d.c.product_area, d.c.effort_days,
               d.c.urgency, d.c.target_release_id, r.c.version_label.label("target_release"),
               r.c.release_date.label("target_release_date"), d.c.merged_into_id, d.c.reject_reason,
               func.coalesce(customers.c.customers, 0).label("customers"),
               func.coalesce(items.c.feedback_items, 0).label("feedback_items"), items.c.importance_rank,
               d.c.created_at, since.c.status_since, d.c.version)
        .select_from(d.outerjoin(r, r.c.id == d.c.target_release_id)
                     .outerjoin(customers, customers.c.demand_id == d.c.id)
                     .outerjoin(items, items.c.demand_id == d.c.id)
                     .outerjoin(since, since.c.demand_id == d.c.id))
        .order_by(d.c.id)
    )
    for column, chosen in ((d.c.status, f.statuses), (d.c.source, f.sources), (d.c.owner, f.owners),
                           (d.c.product_area, f.product_areas), (d.c.target_release_id, f.release_ids)):
        if chosen:
            query = query.where(column.in_(chosen))
    if not f.include_merged:
        query = query.where(d.c.merged_into_id.is_(None))
    rows = conn.execute(query).mappings().all()
    board = pd.DataFrame([dict(row) for row in rows], columns=[*BOARD_COLUMNS[:15], "importance_rank", "created_at",
                                                               "status_since", "version"])
    by_rank = {rank: name for name, rank in IMPORTANCE_ORDER.items()}
    board["max_importance"] = board.pop("importance_rank").map(lambda v: by_rank.get(v) if pd.notna(v) else None)
    for column in ("created_at", "status_since"):
        board[column] = pd.to_datetime(board[column])
    moment = pd.Timestamp(_moment(as_of))
    closed = board["status"].isin(CLOSED_STATUSES)
    end = board["status_since"].where(closed, moment)
    board["age_days"] = (end - board["created_at"]).dt.days.astype("Int64")
    board["days_in_status"] = (moment - board["status_since"]).dt.days.astype("Int64")
    for column in ("demand_id", "customers", "feedback_items", "urgency", "version"):
        board[column] = board[column].astype("int64")
    board["effort_days"] = board["effort_days"].astype(float)
    for column in ("target_release_id", "merged_into_id"):
        board[column] = board[column].astype("Int64")
    return board[list(BOARD_COLUMNS)]


def load_links(conn: Connection | Session, demand_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per (demand_id, customer_id) asking, with ``importance``: the highest importance of that
    customer's feedback on the demand (None when it is linked without feedback). Input of ``priority``."""
    direct = select(links_t.c.demand_id, links_t.c.customer_id, literal(0).label("rank"))
    through = (select(feedback_t.c.demand_id, feedback_t.c.customer_id, _importance_rank(feedback_t.c.importance).label("rank"))
               .where(feedback_t.c.demand_id.is_not(None)))
    both = union_all(direct, through).subquery("both_links")
    query = (select(both.c.demand_id, both.c.customer_id, func.max(both.c.rank).label("rank"))
             .group_by(both.c.demand_id, both.c.customer_id).order_by(both.c.demand_id, both.c.customer_id))
    if demand_ids is not None:
        query = query.where(both.c.demand_id.in_(list(demand_ids)))
    frame = frame_of(conn.execute(query).all(), columns=["demand_id", "customer_id", "rank"])
    by_rank = {rank: name for name, rank in IMPORTANCE_ORDER.items()}
    frame["importance"] = frame.pop("rank").map(by_rank)
    return frame.astype({"demand_id": "int64", "customer_id": "int64", "importance": object})


def default_scores(conn: Connection | Session, as_of: dt.date) -> pd.Series:
    """Every customer's value score 0..100 with the default weights (index customer_id), for ``priority``.

    The page passes the scores from the user's sliders instead; ``scoring.scored_table`` drops the
    customer id, so this recomputes the same default score keyed by id.
    """
    from ops_core import scoring  # only the default needs the scoring module

    features = scoring.derive_features(conn, as_of)
    return scoring.score(scoring.normalise(features).values, scoring.DEFAULT_WEIGHTS)


# --- priority ------------------------------------------------------------------------------------


class PriorityMethod(StrEnum):
    value = "value"
    rice = "rice"


DEFAULT_VALUE_WEIGHTS: dict[str, float] = {"customer_value": 1.0, "customers": 0.5, "feedback_items": 0.1, "urgency": 1.0}
DEFAULT_RICE_WEIGHTS: dict[str, float] = {
    **{f"confidence_{source.value}": base for source, base in (
        (DemandSource.customer_feedback, 0.8), (DemandSource.sales_stuck_point, 0.8), (DemandSource.market, 0.5),
        (DemandSource.competitor, 0.5), (DemandSource.internal, 0.5))},
    "confidence_per_feedback_item": 0.05,
}
DEFAULT_EFFORT_DAYS = 5.0  # effort not estimated yet
MIN_EFFORT_DAYS = 0.5  # so a tiny estimate cannot make a demand's priority explode

def priority_formula(method: PriorityMethod | str, lang: str = "en") -> str:
    """How a method computes a demand's priority, in words, in ``lang`` (the translation table's
    ``d.formula.<method>``)."""
    return t(f"d.formula.{PriorityMethod(method).value}", lang)


PRIORITY_FORMULA: dict[PriorityMethod, str] = {m: priority_formula(m) for m in PriorityMethod}


def _weights(method: PriorityMethod, weights: Mapping[str, float] | None) -> dict[str, float]:
    defaults = DEFAULT_VALUE_WEIGHTS if method == PriorityMethod.value else DEFAULT_RICE_WEIGHTS
    unknown = set(weights or {}) - set(defaults)
    if unknown:
        raise UsageError(f"unknown {method} priority weight(s) {', '.join(sorted(unknown))}; known: {', '.join(defaults)}")
    chosen = defaults | {k: float(v) for k, v in (weights or {}).items()}
    bad = [k for k, v in chosen.items() if not np.isfinite(v) or v < 0]
    if bad:
        raise UsageError(f"priority weights must be zero or positive numbers: {', '.join(bad)}")
    return chosen


def priority(board: pd.DataFrame, links: pd.DataFrame, scores: pd.Series, method: str = "value",
             weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The board with a priority, its breakdown and a rank, sorted by rank (pure, vectorised).

    Inputs: ``board`` (``load_board``: demand_id, status, source, effort_days, urgency, feedback_items;
    merged_into_id if present), ``links`` (``load_links``: demand_id, customer_id, importance, one or
    more rows per customer: the highest importance counts), ``scores`` (index customer_id, 0..100; a
    customer without a score counts 0). Formulas: ``PRIORITY_FORMULA``; weights override
    ``DEFAULT_VALUE_WEIGHTS`` / ``DEFAULT_RICE_WEIGHTS``.

    Output adds customers (from ``links``) and effort_used, then per method: value -> customer_value and
    the contributions from_customer_value, from_customers, from_feedback, from_urgency (they add up to
    priority); rice -> reach, impact, confidence. ``rank`` 1 = first among open, unmerged demands (ties:
    higher urgency, then lower id); others get no rank and follow, by priority. ``attrs`` holds the
    method, weights and formula text.
    """
    require_columns(board, ("demand_id", "status", "source", "effort_days", "urgency", "feedback_items"), "the board")
    require_columns(links, ("demand_id", "customer_id", "importance"), "the links")
    try:
        chosen = PriorityMethod(method)
    except ValueError:
        raise UsageError(f"unknown priority method '{method}'; known: {', '.join(values(PriorityMethod))}") from None
    w = _weights(chosen, weights)
    weight = links["importance"].map(IMPORTANCE_WEIGHT).astype(float).fillna(UNSTATED_IMPORTANCE_WEIGHT)
    per_customer = (pd.DataFrame({"demand_id": links["demand_id"].to_numpy(), "customer_id": links["customer_id"].to_numpy(),
                                  "weight": weight.to_numpy()})
                    .groupby(["demand_id", "customer_id"], as_index=False)["weight"].max())
    score = per_customer["customer_id"].map(scores).astype(float).fillna(0.0)
    per_customer["points"] = score / 100.0 * per_customer["weight"]
    per_demand = per_customer.groupby("demand_id").agg(
        customers=("customer_id", "size"), customer_value=("points", "sum"), impact=("weight", "max"))
    out = board.drop(columns=[c for c in ("customers", "customer_value", "priority", "rank") if c in board.columns])
    ids = out["demand_id"]
    out["customers"] = ids.map(per_demand["customers"]).fillna(0).astype("int64")
    effort = out["effort_days"].astype(float).fillna(DEFAULT_EFFORT_DAYS).clip(lower=MIN_EFFORT_DAYS)
    out["effort_used"] = effort
    items = out["feedback_items"].astype(float)
    match chosen:
        case PriorityMethod.value:
            out["customer_value"] = ids.map(per_demand["customer_value"]).astype(float).fillna(0.0)
            out["from_customer_value"] = w["customer_value"] * out["customer_value"] / effort
            out["from_customers"] = w["customers"] * out["customers"] / effort
            out["from_feedback"] = w["feedback_items"] * items / effort
            out["from_urgency"] = w["urgency"] * out["urgency"].astype(float) / effort
            out["priority"] = out["from_customer_value"] + out["from_customers"] + out["from_feedback"] + out["from_urgency"]
        case PriorityMethod.rice:
            out["reach"] = out["customers"]
            out["impact"] = ids.map(per_demand["impact"]).astype(float).fillna(UNSTATED_IMPORTANCE_WEIGHT)
            base = out["source"].map({s: w[f"confidence_{s}"] for s in values(DemandSource)}).astype(float)
            out["confidence"] = (base + w["confidence_per_feedback_item"] * items).clip(upper=1.0)
            out["priority"] = out["reach"] * out["impact"] * out["confidence"] / effort
        case _:
            assert_never(chosen)
    rankable = out["status"].isin(OPEN_STATUSES)
    if "merged_into_id" in out.columns:
        rankable &= out["merged_into_id"].isna()
    out["_open"] = rankable
    out = out.sort_values(["_open", "priority", "urgency", "demand_id"], ascending=[False, False, False, True], kind="stable")
    is_open = out["_open"].to_numpy(dtype=bool)
    out["rank"] = pd.Series(np.cumsum(is_open), index=out.index, dtype="Int64").where(is_open)
    out = out.drop(columns="_open").reset_index(drop=True)
    out.attrs = {"method": str(chosen), "weights": w, "formula": PRIORITY_FORMULA[chosen]}
    return out


# --- history and flow ----------------------------------------------------------------------------


def history(conn: Connection | Session, demand_id: int) -> pd.DataFrame:
    """Every status change of one demand, oldest first: at, actor, from_status, to_status, note."""
    h = history_t
    rows = conn.execute(select(h.c.at, h.c.actor, h.c.from_status, h.c.to_status, h.c.note)
                        .where(h.c.demand_id == demand_id).order_by(h.c.at, h.c.id)).all()
    frame = frame_of(rows, columns=["at", "actor", "from_status", "to_status", "note"])
    frame["at"] = pd.to_datetime(frame["at"])
    return frame


def flow_metrics(conn: Connection | Session, as_of: dt.date | dt.datetime) -> dict[str, pd.DataFrame]:
    """Flow of the board as of a moment (a day: up to its end), from the history.

    - ``wip``: status, demands: open demands per status, each at its latest history row by then.
    - ``cycle_time``: month, released, median_days, p90_days: days from created_at to the first move
      to released, per month of that move (p90 by linear interpolation).
    - ``by_source``: month, source, demands created that month (months with none are absent).
    """
    end = _moment(as_of)
    h, d = history_t, demands_t
    latest = (select(h.c.demand_id, h.c.to_status,
                     func.row_number().over(partition_by=h.c.demand_id, order_by=(h.c.at.desc(), h.c.id.desc())).label("n"))
              .where(h.c.at < end).subquery())
    counts = dict(conn.execute(select(latest.c.to_status, func.count()).where(latest.c.n == 1)
                               .group_by(latest.c.to_status)).all())
    wip = pd.DataFrame({"status": [str(s) for s in OPEN_STATUSES],
                        "demands": [int(counts.get(s, 0)) for s in OPEN_STATUSES]})

    released = (select(h.c.demand_id, func.min(h.c.at).label("released_at"))
                .where(h.c.to_status == S.released, h.c.at < end).group_by(h.c.demand_id).subquery())
    rows = conn.execute(select(d.c.created_at, released.c.released_at)
                        .select_from(d.join(released, released.c.demand_id == d.c.id))).all()
    done = frame_of(rows, columns=["created_at", "released_at"])
    done["released_at"] = pd.to_datetime(done["released_at"])
    done["days"] = (done["released_at"] - pd.to_datetime(done["created_at"])).dt.total_seconds() / 86400.0
    done["month"] = done["released_at"].dt.to_period("M").dt.to_timestamp().dt.date
    grouped = done.groupby("month")["days"]
    cycle = pd.DataFrame({"released": grouped.size(), "median_days": grouped.median(), "p90_days": grouped.quantile(0.9)})
    cycle = cycle.reset_index().astype({"released": "int64", "median_days": float, "p90_days": float})

    month = month_start(d.c.created_at)
    rows = conn.execute(select(month.label("month"), d.c.source, func.count().label("demands"))
                        .where(d.c.created_at < end).group_by(month, d.c.source).order_by(month, d.c.source)).all()
    by_source = frame_of(rows, columns=["month", "source", "demands"]).astype({"demands": "int64"})
    return {"wip": wip, "cycle_time": cycle[["month", "released", "median_days", "p90_days"]], "by_source": by_source}


# --- releases ------------------------------------------------------------------------------------


def create_release(session: Session, actor: writes.Actor, values: Mapping[str, Any]) -> dict[str, Any]:
    """A new release (version_label, release_date, status default planned, notes); labels are unique."""
    values = {"status": ReleaseStatus.planned, **values}
    label = str(values.get("version_label") or "").strip()
    if label and session.execute(select(releases_t.c.id).where(releases_t.c.version_label == label)).first():
        raise ValidationError([(None, "version_label", f"release '{label}' already exists")])
    return writes.create(session, actor, "releases", {**values, "version_label": label})


def save_release_notes(session: Session, actor: writes.Actor, release_id: int, expected_version: int,
                       notes: str) -> dict[str, Any]:
    """Store the (edited) notes of a release, if nobody changed the release since it was read."""
    return writes.update(session, actor, "releases", release_id, expected_version, {"notes": notes})


def ship_release(session: Session, actor: writes.Actor, release_id: int, expected_version: int, *,
                 on: dt.date, now: dt.datetime | None = None) -> dict[str, Any]:
    """Mark a planned release released on ``on``; a release already shipped is refused, not re-dated.

    Its demands in testing ship with it: each moves to released (a history row "released in <label>",
    at ``now``, default midnight after ``on``). Demands still further back keep their target and status.
    Returns the stored release with ``demands_shipped`` (how many moved to released) and
    ``customers_to_inform`` (the customers who asked for them and have not been told yet).
    """
    writes.check_write(actor, "releases", "change")  # the role first, before anything is looked up
    current = session.execute(select(releases_t.c.status, releases_t.c.version_label).where(releases_t.c.id == release_id)).first()
    if current is None:
        raise Refused("refuse.no_release", release=release_id)
    if current[0] == ReleaseStatus.released:
        raise Refused("refuse.release_shipped", release=current[1])
    stored = writes.update(session, actor, "releases", release_id, expected_version,
                           {"status": ReleaseStatus.released.value, "release_date": on})
    at = now or dt.datetime.combine(on, dt.time())
    tested = session.execute(select(demands_t.c.id, demands_t.c.version).where(
        demands_t.c.target_release_id == release_id, demands_t.c.status == S.testing,
        demands_t.c.merged_into_id.is_(None)).order_by(demands_t.c.id)).all()
    for demand_id, version in tested:  # a release holds tens of demands, each its own audited write
        transition(session, actor, demand_id, version, S.released, note=present.history_note_code("released", current[1]), now=at)
    waiting = {int(c) for demand_id, _ in tested for c in to_inform(session, demand_id, pending_only=True)["customer_id"]}
    return {**stored, "demands_shipped": len(tested), "customers_to_inform": len(waiting)}


def load_releases(conn: Connection | Session) -> pd.DataFrame:
    """Every release, newest first: release_id, version_label, release_date, status, notes, demands
    (demands targeting it), released (of those, released), version."""
    r, d = releases_t, demands_t
    per = (select(d.c.target_release_id.label("release_id"), func.count().label("demands"),
                  func.sum(case((d.c.status == S.released, 1), else_=0)).label("released"))
           .where(d.c.target_release_id.is_not(None), d.c.merged_into_id.is_(None))
           .group_by(d.c.target_release_id).subquery())
    rows = conn.execute(select(r.c.id.label("release_id"), r.c.version_label, r.c.release_date, r.c.status, r.c.notes,
                               func.coalesce(per.c.demands, 0), func.coalesce(per.c.released, 0), r.c.version)
                        .select_from(r.outerjoin(per, per.c.release_id == r.c.id))
                        .order_by(r.c.release_date.desc(), r.c.id.desc())).all()
    return frame_of(rows, columns=["release_id", "version_label", "release_date", "status", "notes", "demands",
                                   "released", "version"]).astype({"demands": "int64", "released": "int64"})


_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~&$")


def escape_markdown(text: str) -> str:
    """Text shown literally in Markdown (and in Streamlit, where $ starts maths): one line, specials escaped."""
    flat = " ".join(str(text).split())
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in flat)


def release_notes(conn: Connection | Session, release_id: int, group_by: str = "product_area") -> str:
    """Draft Markdown notes from the demands released in a release (status released, targeting it),
    grouped by product area (vocabulary order, none last) or by source; titles escaped."""
    if group_by not in ("product_area", "source"):
        raise UsageError(f"release notes group by product_area or source, not '{group_by}'")
    release = conn.execute(select(releases_t).where(releases_t.c.id == release_id)).mappings().first()
    if release is None:
        raise UsageError(f"there is no release {release_id}")
    d = demands_t
    asking = _asking()
    customers = select(asking.c.demand_id, func.count().label("customers")).group_by(asking.c.demand_id).subquery()
    rows = conn.execute(select(d.c.id, d.c.title, d.c.product_area, d.c.source, func.coalesce(customers.c.customers, 0))
                        .select_from(d.outerjoin(customers, customers.c.demand_id == d.c.id))
                        .where(d.c.target_release_id == release_id, d.c.status == S.released)
                        .order_by(d.c.id)).all()
    lines = [f"# {escape_markdown(release['version_label'])} ({release['release_date'].isoformat()})", ""]
    if not rows:
        return "\n".join([*lines, "_No demand has been released in this release yet._", ""])
    lines += [f"{len(rows)} {'change' if len(rows) == 1 else 'changes'} in this release.", ""]
    order = values(ProductArea) if group_by == "product_area" else values(DemandSource)
    index = 2 if group_by == "product_area" else 3
    groups: dict[str | None, list[Any]] = {}
    for row in rows:  # the demands of one release: a few dozen at most
        groups.setdefault(row[index], []).append(row)
    for key in [*[k for k in order if k in groups], *([None] if None in groups else [])]:
        heading = "Other" if key is None else key.replace("_", " ").capitalize()
        lines += [f"## {heading}", ""]
        for demand_id, title, *_, asked in groups[key]:
            who = f"; asked by {asked} {'customer' if asked == 1 else 'customers'}" if asked else ""
            lines.append(f"- {escape_markdown(title)} (demand {demand_id}{who})")
        lines.append("")
    return "\n".join(lines)


CATALOGUE_COLUMNS = ("state", "demand_id", "title", "description", "product_area", "source", "status", "release_id",
                     "version_label", "release_date")


def catalogue(conn: Connection | Session) -> pd.DataFrame:
    """Functions online (released) and in development (in_development, testing) with their release and
    description (the instructions), online first, then by release date (newest first) and title."""
    d, r = demands_t, releases_t
    state = case((d.c.status == S.released, "online"), else_="in_development")
    rows = conn.execute(select(state.label("state"), d.c.id, d.c.title, d.c.description, d.c.product_area, d.c.source,
                               d.c.status, d.c.target_release_id, r.c.version_label, r.c.release_date)
                        .select_from(d.outerjoin(r, r.c.id == d.c.target_release_id))
                        .where(d.c.status.in_((S.released, S.in_development, S.testing)), d.c.merged_into_id.is_(None))
                        .order_by(case((d.c.status == S.released, 0), else_=1), r.c.release_date.desc(), d.c.title,
                                  d.c.id)).all()
    return frame_of(rows, columns=list(CATALOGUE_COLUMNS))


# --- closing the loop ----------------------------------------------------------------------------


TO_INFORM_COLUMNS = ("csm_id", "csm", "csm_email", "customer_id", "customer_code", "customer", "feedback_items",
                     "feedback_ids", "informed_at")


def to_inform(conn: Connection | Session, demand_id: int, *, pending_only: bool = False) -> pd.DataFrame:
    """The customers to tell that a demand shipped, one row each, grouped by CSM (sorted by CSM name,
    customers without a CSM last, then customer name), with their feedback items on it.

    Columns (``TO_INFORM_COLUMNS``): feedback_items and feedback_ids ("12, 15") of the customer's
    feedback on the demand; informed_at from the customer's link, or, when the link has none, the
    latest ``informed_at`` of its feedback items if every one has one (NaT: not told yet).
    ``pending_only`` keeps the customers not told yet.
    """
    _demand(conn, demand_id)
    asking = (union(select(links_t.c.customer_id).where(links_t.c.demand_id == demand_id),
                    select(feedback_t.c.customer_id).where(feedback_t.c.demand_id == demand_id)).subquery("asking"))
    c, m = customers_t, csms_t
    link = links_t.alias("link")
    query = (select(c.c.csm_id, m.c.name, m.c.email, c.c.id, c.c.code, c.c.name, link.c.informed_at)
             .select_from(asking.join(c, c.c.id == asking.c.customer_id).outerjoin(m, m.c.id == c.c.csm_id)
                          .outerjoin(link, and_(link.c.customer_id == c.c.id, link.c.demand_id == demand_id))))
    people = frame_of(conn.execute(query).all(), columns=["csm_id", "csm", "csm_email", "customer_id", "customer_code",
                                                          "customer", "informed_at"])
    items = frame_of(conn.execute(select(feedback_t.c.customer_id, feedback_t.c.id, feedback_t.c.informed_at)
                                  .where(feedback_t.c.demand_id == demand_id).order_by(feedback_t.c.id)).all(),
                     columns=["customer_id", "feedback_id", "informed_at"])
    items["informed_at"] = pd.to_datetime(items["informed_at"])
    grouped = items.groupby("customer_id")
    per = grouped["feedback_id"].agg(feedback_items="size", feedback_ids=lambda ids: ", ".join(str(i) for i in ids))
    # A customer known only through feedback counts as told once every one of its items was.
    told = grouped["informed_at"].max().where(grouped["informed_at"].count() == per["feedback_items"])
    ids = people["customer_id"].to_numpy()
    people["feedback_items"] = per["feedback_items"].reindex(ids, fill_value=0).to_numpy(dtype="int64")
    people["feedback_ids"] = per["feedback_ids"].reindex(ids, fill_value="").to_numpy()
    people["informed_at"] = pd.to_datetime(people["informed_at"]).fillna(
        pd.Series(pd.to_datetime(told.reindex(ids)).to_numpy(), index=people.index))
    if pending_only:
        people = people[people["informed_at"].isna()]
    people = people.assign(_no_csm=people["csm_id"].isna()).sort_values(
        ["_no_csm", "csm", "csm_id", "customer", "customer_id"], kind="stable", na_position="last")
    people["csm_id"] = people["csm_id"].astype("Int64")
    return people[list(TO_INFORM_COLUMNS)].reset_index(drop=True)


OPEN_FEEDBACK = (FeedbackStatus.new, FeedbackStatus.triaged, FeedbackStatus.in_progress)


def informed_version(conn: Connection | Session, demand_id: int) -> int:
    """The version of a demand's informing, as a reader sees it: how many of its asking customers were
    told (a customer is never untold, so it only grows)."""
    return int(to_inform(conn, demand_id)["informed_at"].notna().sum())


def _last_informed(session: Session, demand_id: int) -> dict[str, Any] | None:
    """Who last told a customer of this demand, and when (the audit rows of its customer links)."""
    log = TABLES["audit_log"]
    found = session.execute(select(log.c.actor, log.c.at).where(
        log.c.entity == "demand_customers", log.c.entity_id.like(f"({int(demand_id)}, %")).order_by(log.c.id.desc()).limit(1)).mappings().first()
    return None if found is None else dict(found)


def mark_informed(session: Session, actor: writes.Actor, demand_id: int, customer_ids: Iterable[int], *,
                  now: dt.datetime, expected_version: int | None = None) -> dict[str, int]:
    """Record that these customers were told their released demand shipped (rules in the module doc).

    ``expected_version`` is the ``informed_version`` the caller read: when others were told since, the
    whole action is refused (StaleVersion with how many are told now), not silently merged. Returns how
    many customer links and feedback items were stamped. Every feedback item is updated with the
    version read in this transaction, so a concurrent change refuses the whole action.
    """
    writes.check_write(actor, "demand_customers", "change")  # the role first, before anything is looked up
    current = _demand(session, demand_id)
    if current["status"] != S.released:
        raise Refused("refuse.inform_unreleased", demand=demand_id, status=either_label(S, current["status"], lower=True))
    if expected_version is not None:
        told = to_inform(session, demand_id)
        now_told = int(told["informed_at"].notna().sum())
        if now_told != expected_version:
            raise StaleVersion("demand_customers", demand_id, expected_version,
                               {"version": now_told, "told": now_told, "customers": len(told)},
                               last=_last_informed(session, demand_id))
    wanted = sorted({int(c) for c in customer_ids})
    if not wanted:
        raise Refused("refuse.inform_nobody")
    asking = set(session.execute(union(
        select(links_t.c.customer_id).where(links_t.c.demand_id == demand_id),
        select(feedback_t.c.customer_id).where(feedback_t.c.demand_id == demand_id))).scalars())
    strangers = [c for c in wanted if c not in asking]
    if strangers:
        raise Refused("refuse.inform_strangers", customers=", ".join(map(str, strangers)), demand=demand_id)
    links = {row["customer_id"]: row for row in session.execute(
        select(links_t).where(links_t.c.demand_id == demand_id, links_t.c.customer_id.in_(wanted))).mappings()}
    stamped_links = 0
    for customer_id in wanted:
        link = links.get(customer_id)
        if link is None:
            writes.create(session, actor, "demand_customers", {"demand_id": demand_id, "customer_id": customer_id,
                                                               "informed_at": now})
            stamped_links += 1
        elif link["informed_at"] is None:
            writes.update(session, actor, "demand_customers", (demand_id, customer_id), None, {"informed_at": now})
            stamped_links += 1
    items = session.execute(select(feedback_t).where(
        feedback_t.c.demand_id == demand_id, feedback_t.c.customer_id.in_(wanted), feedback_t.c.informed_at.is_(None))
        .order_by(feedback_t.c.id)).mappings().all()
    for item in items:
        changes: dict[str, Any] = {"informed_at": now}
        if item["status"] in OPEN_FEEDBACK:
            changes |= {"status": FeedbackStatus.resolved, "resolved_at": item["resolved_at"] or now}
            if item["first_response_at"] is None:
                changes["first_response_at"] = now
        writes.update(session, actor, "feedback", item["id"], item["version"], changes)
    return {"customers": stamped_links, "feedback_items": len(items)}


def customer_choices(conn: Connection | Session) -> pd.DataFrame:
    """Customers to pick from when a demand is created or linked: customer_id, code, name (by name)."""
    c = TABLES["customers"]
    rows = conn.execute(select(c.c.id, c.c.code, c.c.name).order_by(c.c.name, c.c.id)).all()
    return frame_of(rows, columns=["customer_id", "code", "name"])


def asked_by(links: pd.DataFrame, customer_ids: Iterable[int]) -> set[int]:
    """Demands that at least one of ``customer_ids`` asks for (``links`` from ``load_links``)."""
    return set(links.loc[links["customer_id"].isin(list(customer_ids)), "demand_id"].astype(int))


def narrow(ranked: pd.DataFrame, links: pd.DataFrame, *, sources: Iterable[str] = (), owners: Iterable[str] = (),
           releases: Iterable[int] = (), asking_customers: Iterable[int] | None = None) -> pd.DataFrame:
    """The ranked list (``priority``) without merged duplicates, cut to the chosen sources, owners and
    target releases and, when ``asking_customers`` is given, to demands one of them asks for. Empty
    choices keep everything; ranks stay those over the whole board."""
    kept = ranked["merged_into_id"].isna() if "merged_into_id" in ranked.columns else pd.Series(True, index=ranked.index)
    for column, chosen in (("source", list(sources)), ("owner", list(owners)), ("target_release_id", list(releases))):
        if chosen:
            kept &= ranked[column].isin(chosen)
    if asking_customers is not None:
        kept &= ranked["demand_id"].isin(asked_by(links, asking_customers))
    return ranked[kept]
