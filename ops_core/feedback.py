"""The feedback queue: intake, type suggestion, triage, status, routing, service timers, duplicates, FAQ.

Every change goes through ``ops_core.writes`` in the caller's session (one transaction per user
action: ``with transaction(engine) as session``). Status changes are recorded in
``feedback_history`` (who, when, from, to). Times are the team's local wall-clock times, naive, as
``received_at`` is stored; actions take ``now`` (default: the wall clock, read once per action),
calculations never read the clock.

Workflow (``TRANSITIONS``): new -> triaged -> in_progress -> resolved -> closed, and a resolved item
can be reopened (resolved -> in_progress) when the fix did not hold. The first move out of "new" is
the first response (``first_response_at``); the product manager triages (confirms the type) before
anything reaches engineers. Routing: bugs, feature requests, management problems and sales stuck
points may go to the demand board; usage questions and management problems may go to the FAQ.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, case, func, or_, select
from sqlalchemy.orm import Session

from ops_core import demand as demand_board
from ops_core import present, settings, writes
from ops_core.config import setting_default
from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.errors import Refused, StaleVersion, UsageError, ValidationError, require_columns
from ops_core.filters import Filters
from ops_core.i18n import Either, Phrase, either_label, listed
from ops_core.similarity import TfidfMatrix, normalise
from ops_core.vocab import DemandSource, FeedbackStatus, FeedbackType
from ops_core.workcal import WorkCalendar, parse_days, parse_time

feedback_t = TABLES["feedback"]
history_t = TABLES["feedback_history"]
customers_t = TABLES["customers"]
contacts_t = TABLES["contacts"]
csms_t = TABLES["csms"]
faq_t = TABLES["faq_entries"]

F = FeedbackStatus
T = FeedbackType

# --- workflow, as data ---------------------------------------------------------------------------

TRANSITIONS: Mapping[FeedbackStatus, tuple[FeedbackStatus, ...]] = {
    F.new: (F.triaged,),
    F.triaged: (F.in_progress,),
    F.in_progress: (F.resolved,),
    F.resolved: (F.closed, F.in_progress),  # back to work when the fix did not hold
    F.closed: (),
}
OPEN_STATUSES = (F.new, F.triaged, F.in_progress)
DEMAND_SOURCE_BY_TYPE: Mapping[FeedbackType, DemandSource] = {
    T.bug: DemandSource.customer_feedback,
    T.feature_request: DemandSource.customer_feedback,
    T.management_problem: DemandSource.customer_feedback,
    T.sales_stuck_point: DemandSource.sales_stuck_point,
}
FAQ_TYPES = (T.usage_question, T.management_problem)  # a management problem may become a manual entry
INTAKE_FIELDS = ("customer_id", "contact_id", "channel", "received_at", "product_area", "text", "severity", "importance")


def allowed_moves(status: str) -> tuple[FeedbackStatus, ...]:
    return TRANSITIONS[FeedbackStatus(status)]


# --- reading one item ----------------------------------------------------------------------------


def get(conn: Connection | Session, feedback_id: int) -> dict[str, Any]:
    """One feedback item as stored; UsageError when there is none."""
    row = conn.execute(select(feedback_t).where(feedback_t.c.id == feedback_id)).mappings().first()
    if row is None:
        raise Refused("refuse.no_feedback", item=feedback_id)
    return dict(row)


def _checked(session: Session, feedback_id: int, expected_version: int) -> dict[str, Any]:
    """The item if the caller's version is still current (checked first: the caller's view may be stale)."""
    current = get(session, feedback_id)
    if current["version"] != expected_version:
        raise StaleVersion("feedback", feedback_id, expected_version, writes.jsonable(current))
    return current


def _record(session: Session, actor: writes.Actor, feedback_id: int, from_status: str | None, to_status: str,
            note: str | None, now: dt.datetime) -> None:
    writes.create(session, actor, "feedback_history", {
        "feedback_id": feedback_id, "at": now, "actor": actor.username, "from_status": from_status,
        "to_status": to_status, "note": note,
    })


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now()).replace(tzinfo=None, microsecond=0)


def history(conn: Connection | Session, feedback_id: int) -> pd.DataFrame:
    """Every status change of one item, oldest first: at, actor, from_status, to_status, note."""
    rows = conn.execute(select(history_t.c.at, history_t.c.actor, history_t.c.from_status, history_t.c.to_status,
                               history_t.c.note).where(history_t.c.feedback_id == feedback_id)
                        .order_by(history_t.c.at, history_t.c.id)).all()
    return frame_of(rows, columns=["at", "actor", "from_status", "to_status", "note"])


# --- type suggestion -----------------------------------------------------------------------------

# Keyword -> weight per type, Chinese and English, matched on the normalised text (NFKC, lower case;
# English words at word boundaries). Question words weigh half: bugs are often reported as questions.
KEYWORDS: Mapping[FeedbackType, Mapping[str, float]] = {
    T.bug: {
        "报错": 1, "错误": 1, "失败": 1, "闪退": 1, "崩溃": 1, "打不开": 1, "无法": 1, "超时": 1, "异常": 1,
        "卡死": 1, "白屏": 1, "乱码": 1, "不一致": 1, "显示错误": 1, "重复导入": 1, "转圈": 1, "丢失": 1, "bug": 1,
        "error": 1, "fails": 1, "failed": 1, "crash": 1, "crashes": 1, "broken": 1, "times out": 1,
        "timeout": 1, "not working": 1, "does not work": 1, "doesn't work": 1, "will not open": 1,
        "won't open": 1, "wrong": 1, "garbled": 1, "twice": 1, "exception": 1, "does not match": 1,
    },
    T.usage_question: {
        "如何": 0.5, "怎么": 0.5, "怎样": 0.5, "在哪": 0.5, "哪里": 0.5, "能不能": 0.5, "请问": 0.5, "操作步骤": 1,
        "教程": 1, "找不到": 0.5, "how do i": 1, "how can": 0.5, "how to": 0.5, "where is": 1, "where can": 1,
        "is there a way": 1, "can i": 0.5, "does the": 0.5, "instructions": 1,
    },
    T.management_problem: {
        "权限": 1, "角色": 1, "部门": 1, "审批流程": 1, "审批节点": 1, "代理人": 1, "组织架构": 1, "分配": 0.5,
        "permission": 1, "permissions": 1, "role": 1, "roles": 1, "department": 1, "approvals": 1,
        "approval steps": 1, "delegation": 1, "access": 0.5, "org chart": 1,
    },
    T.feature_request: {
        "希望": 1, "建议": 1, "增加": 1, "新增": 0.5, "支持": 0.5, "开放": 0.5, "接口": 0.5, "能否": 0.5,
        "please add": 1, "would like": 1, "feature": 1, "could you add": 1, "we need": 1, "support for": 1,
        "please allow": 1, "could": 0.5, "api": 0.5, "webhook": 1, "webhooks": 1, "wish": 1,
    },
    T.sales_stuck_point: {
        "竞品": 1, "报价": 1, "价格": 1, "降价": 1, "采购": 0.5, "签约": 1, "私有化部署": 1, "等保": 1, "预算": 1,
        "competitor": 1, "cheaper": 1, "price": 1, "discount": 1, "procurement": 1, "quote": 1,
        "on-premise": 1, "certification": 1, "budget": 1, "before signing": 1, "prospect": 1,
    },
}
# Equal keyword scores go to the earlier type: a question that names an error is a bug first.
TYPE_ORDER: tuple[FeedbackType, ...] = (T.bug, T.sales_stuck_point, T.management_problem, T.feature_request,
                                        T.usage_question)
MIN_LABELLED = 30          # confirmed items needed to train the classifier (setting feedback.suggest_min_labelled)
MIN_PER_TYPE = 5           # ... with at least two types having this many
SUGGESTION_COLUMNS = ("suggested_type", "confidence", "reason", "keyword_type", "keyword_confidence")


def _keyword_pattern(word: str) -> str:
    import re

    escaped = re.escape(word)
    if word.isascii():  # English: whole words only ("role" must not match "control")
        return rf"(?<![a-z0-9]){escaped}(?![a-z0-9])"
    return escaped


@dataclass(frozen=True)
class TypeClassifier:
    """A classifier learned from confirmed items: TF-IDF of the similarity features, logistic regression."""

    tfidf: TfidfMatrix
    model: Any
    trained_on: int
    classes: tuple[str, ...] = field(default=())

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba(self.tfidf.transform(texts))


def type_classifier(labelled: pd.DataFrame, min_rows: int = MIN_LABELLED) -> TypeClassifier | None:
    """Train on ``labelled`` (columns text, type) when it has ``min_rows`` rows and at least two types with
    ``MIN_PER_TYPE`` rows each; else None (the keyword table alone decides)."""
    require_columns(labelled, ("text", "type"), "labelled items")
    usable = labelled.dropna(subset=["text", "type"])
    usable = usable[usable["type"].isin([t.value for t in FeedbackType])]
    counts = usable["type"].value_counts()
    if len(usable) < min_rows or int((counts >= MIN_PER_TYPE).sum()) < 2:
        return None
    from sklearn.linear_model import LogisticRegression

    tfidf = TfidfMatrix.fit(usable["text"].astype(str).tolist())
    model = LogisticRegression(C=10.0, max_iter=2000)
    model.fit(tfidf.matrix, usable["type"].astype(str).to_numpy())
    return TypeClassifier(tfidf, model, len(usable), tuple(str(c) for c in model.classes_))


def keyword_scores(texts: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per text the keyword score of each type (columns in ``TYPE_ORDER``) and the matched keywords
    (a long frame: row, type, keyword)."""
    normalised = pd.Series([normalise(t) for t in texts], dtype=object)
    keywords = [(t.value, word, weight) for t in TYPE_ORDER for word, weight in KEYWORDS[t].items()]
    hits = np.column_stack([normalised.str.contains(_keyword_pattern(word), regex=True).to_numpy(dtype=bool)
                            for _, word, _ in keywords]) if len(normalised) else np.zeros((0, len(keywords)), dtype=bool)
    weight = np.zeros((len(keywords), len(TYPE_ORDER)))
    for k, (type_name, _, w) in enumerate(keywords):
        weight[k, [t.value for t in TYPE_ORDER].index(type_name)] = w
    scores = pd.DataFrame(hits.astype(float) @ weight, columns=[t.value for t in TYPE_ORDER])
    rows, ks = np.nonzero(hits)
    matched = pd.DataFrame({"row": rows, "type": [keywords[k][0] for k in ks], "keyword": [keywords[k][1] for k in ks]})
    return scores, matched


def suggest_type(texts: Sequence[str], labelled: pd.DataFrame | TypeClassifier | None = None) -> pd.DataFrame:
    """Per text a suggested type, a confidence (0..1) and the reason, in text order.

    Rule. Keywords first: each type scores the summed weights of its keywords found in the text
    (``KEYWORDS``); the highest score wins, ties go to the earlier type in ``TYPE_ORDER``; the
    confidence is top score / (sum of all scores + 1), so one keyword gives 0.5, two of one type 0.67,
    one of each of two types 0.33; no keyword gives no suggestion (None, confidence 0).
    Then, when ``labelled`` (columns text, type: the store's confirmed items, see ``labelled_items``;
    or a ``TypeClassifier`` already trained on them) has enough rows, a classifier trained on them
    gives its own type and probability, and its type is taken when that probability is higher than
    the keyword confidence. The reason says which happened, e.g. "keywords: 报错, error" or
    "learned from 240 confirmed items (p=0.82); keywords: 如何".

    Columns: suggested_type, confidence, reason, keyword_type, keyword_confidence.
    """
    texts = [str(t) for t in texts]
    scores, matched = keyword_scores(texts)
    values = scores.to_numpy()
    best = values.argmax(axis=1) if len(values) else np.zeros(0, dtype=np.int64)  # argmax takes the first of ties
    top = values.max(axis=1) if len(values) else np.zeros(0)
    names = np.asarray([t.value for t in TYPE_ORDER], dtype=object)
    keyword_type = np.where(top > 0, names[best] if len(values) else names[:0], None)
    keyword_conf = np.where(top > 0, top / (values.sum(axis=1) + 1.0) if len(values) else top, 0.0)
    winners = matched[matched["type"].to_numpy() == keyword_type[matched["row"].to_numpy()]] if len(matched) else matched
    words = winners.groupby("row")["keyword"].agg(list) if len(winners) else pd.Series(dtype=object)
    found = {row: Either(listed(kept, "en"), listed(kept, "zh")) for row, kept in zip(words.index, words, strict=True)}
    # Reasons are phrases: English as text, readable in the reader's language (i18n.say).
    reason = pd.Series([Phrase("f.reason.keywords", words=found[i]) if i in found else Phrase("f.reason.none")
                        for i in range(len(texts))], dtype=object)
    out = pd.DataFrame({"suggested_type": keyword_type, "confidence": keyword_conf.astype(float), "reason": reason,
                        "keyword_type": keyword_type, "keyword_confidence": keyword_conf.astype(float)})
    classifier = labelled if isinstance(labelled, TypeClassifier) or labelled is None else type_classifier(labelled)
    if classifier is None or not texts:
        return out
    proba = classifier.probabilities(texts)
    learned = np.asarray(classifier.classes, dtype=object)[proba.argmax(axis=1)]
    p = proba.max(axis=1)
    take = p > keyword_conf
    because = np.asarray([Phrase("f.reason.learned_keywords", items=classifier.trained_on, p=float(v), words=found[i])
                          if i in found else Phrase("f.reason.learned", items=classifier.trained_on, p=float(v))
                          for i, v in enumerate(p)], dtype=object)
    out.loc[take, "suggested_type"] = learned[take]
    out.loc[take, "confidence"] = p[take]
    out.loc[take, "reason"] = because[take]
    return out


def labelled_items(conn: Connection | Session, limit: int = 5000) -> pd.DataFrame:
    """The most recent confirmed items (type set by triage, status past new): columns text, type."""
    rows = conn.execute(select(feedback_t.c.text, feedback_t.c.type)
                        .where(feedback_t.c.type.is_not(None), feedback_t.c.status != F.new)
                        .order_by(feedback_t.c.received_at.desc(), feedback_t.c.id.desc()).limit(limit)).all()
    return frame_of(rows, columns=["text", "type"])


def store_classifier(conn: Connection | Session) -> TypeClassifier | None:
    """The classifier trained on the store's confirmed items (None while there are too few)."""
    return type_classifier(labelled_items(conn), int(settings.get(conn, "feedback.suggest_min_labelled")))


def suggestion_accuracy(conn: Connection | Session) -> dict[str, Any]:
    """How often the suggestion was right: over triaged items (confirmed type set), the share whose
    suggested type equals the confirmed one (no suggestion counts as wrong).

    Returns {"overall": {"items", "correct", "accuracy"}, "by_type": {type: {...}}}, every type listed
    (accuracy None where no item has that confirmed type).
    """
    hit = case((feedback_t.c.suggested_type == feedback_t.c.type, 1), else_=0)
    rows = conn.execute(select(feedback_t.c.type, func.count(), func.sum(hit))
                        .where(feedback_t.c.type.is_not(None)).group_by(feedback_t.c.type)).all()
    found = {row[0]: (int(row[1]), int(row[2] or 0)) for row in rows}

    def entry(items: int, correct: int) -> dict[str, Any]:
        return {"items": items, "correct": correct, "accuracy": correct / items if items else None}

    by_type = {t.value: entry(*found.get(t.value, (0, 0))) for t in FeedbackType}
    total = sum(v["items"] for v in by_type.values())
    return {"overall": entry(total, sum(v["correct"] for v in by_type.values())), "by_type": by_type}


# --- intake --------------------------------------------------------------------------------------


def submit(session: Session, actor: writes.Actor, values: Mapping[str, Any],
           labelled: pd.DataFrame | TypeClassifier | None = None) -> dict[str, Any]:
    """Take in one item (status new, with the suggested type); returns the stored row.

    ``values``: customer_id, contact_id (optional), channel, received_at, product_area, text, severity,
    importance. The text is stored exactly as given (any language, any length, formulas included: the
    export neutralises them). A bad field raises ValidationError naming it.
    """
    writes.check_write(actor, "feedback", "create")  # the role first, before anything is looked up
    unknown = sorted(set(values) - set(INTAKE_FIELDS))
    problems: list[tuple[int | None, str, str]] = [(None, name, "cannot be given at intake") for name in unknown]
    text = values.get("text")
    if text is None or (isinstance(text, str) and not text.strip()):
        problems.append((None, "text", Phrase("problem.required")))
    if problems:
        raise ValidationError(problems)
    clean = writes.validate(feedback_t, {k: values.get(k) for k in INTAKE_FIELDS}, creating=False)
    _check_customer_and_contact(session, clean)
    suggestion = suggest_type([str(values["text"])], labelled).iloc[0]
    return writes.create(session, actor, "feedback", {
        **{k: values.get(k) for k in INTAKE_FIELDS}, "status": F.new, "suggested_type": suggestion["suggested_type"],
    })


def _check_customer_and_contact(session: Session, clean: Mapping[str, Any]) -> None:
    customer_id, contact_id = clean.get("customer_id"), clean.get("contact_id")
    if customer_id is None:
        raise ValidationError([(None, "customer_id", "is required")])
    if session.execute(select(customers_t.c.id).where(customers_t.c.id == customer_id)).first() is None:
        raise ValidationError([(None, "customer_id", f"there is no customer {customer_id}")])
    if contact_id is not None:
        owner = session.execute(select(contacts_t.c.customer_id).where(contacts_t.c.id == contact_id)).first()
        if owner is None:
            raise ValidationError([(None, "contact_id", f"there is no contact {contact_id}")])
        if owner[0] != customer_id:
            raise ValidationError([(None, "contact_id", f"contact {contact_id} belongs to customer {owner[0]}, "
                                                        f"not to customer {customer_id}")])


# --- triage and status ---------------------------------------------------------------------------


def triage(session: Session, actor: writes.Actor, feedback_id: int, expected_version: int, type: str,
           severity: str, product_area: str, *, note: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Confirm the type, severity and product area. A new item moves to triaged (its first response);
    an item already past new is re-classified without a status change. Returns the stored row."""
    writes.check_write(actor, "feedback", "triage")  # the role first, before anything is looked up
    if type is None or str(type).strip() == "":
        raise ValidationError([(None, "type", "is required: triage confirms the type")])
    current = _checked(session, feedback_id, expected_version)
    if current["status"] == F.closed:
        raise Refused("refuse.feedback_closed", item=feedback_id)
    changes: dict[str, Any] = {"type": type, "severity": severity, "product_area": product_area}
    writes.validate(feedback_t, changes, creating=False)  # names a bad field before anything is written
    at = _now(now)
    if current["status"] == F.new:
        changes |= {"status": F.triaged, "first_response_at": current["first_response_at"] or at}
    stored = writes.update(session, actor, "feedback", feedback_id, expected_version, changes)
    if current["status"] == F.new:
        _record(session, actor, feedback_id, F.new, F.triaged,
                note or present.history_note_code("triaged", type, severity, product_area), at)
    elif (type, severity, product_area) != (current["type"], current["severity"], current["product_area"]):
        _record(session, actor, feedback_id, current["status"], current["status"],  # re-classified, same status
                note or present.history_note_code("retriaged", type, severity, product_area), at)
    return stored


def transition(session: Session, actor: writes.Actor, feedback_id: int, expected_version: int, to_status: str,
               note: str | None = None, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Move an item to ``to_status`` if ``TRANSITIONS`` allows it; records the history row and stamps
    first_response_at (first move out of new), resolved_at and closed_at. Returns the stored row.

    A stale ``expected_version`` raises StaleVersion; a forbidden move a UsageError naming both statuses.
    """
    writes.check_write(actor, "feedback", "change")  # the role first, before anything is looked up
    try:
        target = FeedbackStatus(str(to_status).strip())
    except ValueError:
        raise ValidationError([(None, "to_status", f"'{to_status}' is not one of {', '.join(F)}")]) from None
    current = _checked(session, feedback_id, expected_version)
    source = FeedbackStatus(current["status"])
    allowed = TRANSITIONS[source]
    if target not in allowed:
        options = ", ".join(f"'{s}'" for s in allowed) or "nowhere (it is final)"
        raise UsageError(f"feedback {feedback_id} cannot move from '{source}' to '{target}'; from '{source}' it can "
                         f"go to {options}")
    if source == F.new and current["type"] is None:
        raise UsageError(f"feedback {feedback_id} has no confirmed type: triage it (type, severity, area) first")
    at = _now(now)
    changes: dict[str, Any] = {"status": target}
    if source == F.new and current["first_response_at"] is None:
        changes["first_response_at"] = at
    if target == F.resolved:
        changes["resolved_at"] = at
    if target == F.closed:
        changes["closed_at"] = at
        if current["resolved_at"] is None:
            changes["resolved_at"] = at
    if source == F.resolved and target == F.in_progress:
        changes["resolved_at"] = None  # reopened: the resolution clock runs again
    stored = writes.update(session, actor, "feedback", feedback_id, expected_version, changes)
    _record(session, actor, feedback_id, source, target, note, at)
    return stored


# --- routing -------------------------------------------------------------------------------------


def _confirmed_type(current: Mapping[str, Any]) -> FeedbackType:
    if current["type"] is None:
        raise Refused("refuse.not_triaged", item=current["id"])
    return FeedbackType(current["type"])


def _title_from(text: str, limit: int = 120) -> str:
    first = next((line.strip() for line in str(text).splitlines() if line.strip()), "")
    return first if len(first) <= limit else first[: limit - 1] + "…"


def route_to_demand(session: Session, actor: writes.Actor, feedback_id: int, expected_version: int,
                    demand_id: int | None = None, title: str | None = None, *,
                    now: dt.datetime | None = None) -> dict[str, Any]:
    """Link a bug, feature request, management problem or sales stuck point to a demand, or create one.

    With ``demand_id``: link to that demand (not one merged away) and add the customer to its asking
    customers. Without: a new demand in backlog, prefilled from the item (title = ``title`` or the
    text's first line, description = the text, source customer_feedback, or sales_stuck_point for a
    stuck point, the item's product area), with its history row and the customer linked.
    Returns {"feedback": stored item, "demand": the demand}.
    """
    writes.check_write(actor, "feedback", "route")  # the role first, before anything is looked up
    current = _checked(session, feedback_id, expected_version)
    kind = _confirmed_type(current)
    if kind not in DEMAND_SOURCE_BY_TYPE:
        raise Refused("refuse.route_to_faq", item=feedback_id, kind=either_label(FeedbackType, kind, lower=True))
    if current["demand_id"] is not None and current["demand_id"] != demand_id:
        raise Refused("refuse.already_linked", item=feedback_id, demand=current["demand_id"])
    at = _now(now)
    if demand_id is None:
        target = demand_board.create(session, actor, {
            "title": title or _title_from(current["text"]), "description": current["text"],
            "source": DEMAND_SOURCE_BY_TYPE[kind], "product_area": current["product_area"],
        }, [current["customer_id"]], now=at)
    else:
        found = session.execute(select(TABLES["demands"]).where(TABLES["demands"].c.id == demand_id)).mappings().first()
        if found is None:
            raise ValidationError([(None, "demand_id", f"there is no demand {demand_id}")])
        if found["merged_into_id"] is not None:
            raise Refused("refuse.demand_merged_link", demand=demand_id, into=found["merged_into_id"])
        demand_board.link_customers(session, actor, demand_id, [current["customer_id"]])
        target = dict(found)
    stored = writes.update(session, actor, "feedback", feedback_id, expected_version, {"demand_id": target["id"]})
    if current["demand_id"] != target["id"]:
        _record(session, actor, feedback_id, current["status"], current["status"],
                present.history_note_code("demand", target["id"]), at)
    return {"feedback": stored, "demand": target}


def route_to_faq(session: Session, actor: writes.Actor, feedback_id: int, expected_version: int,
                 faq_id: int | None = None, question: str | None = None, answer: str | None = None, *,
                 now: dt.datetime | None = None) -> dict[str, Any]:
    """Link a usage question (or a management problem, as a manual entry) to an FAQ entry, or create one
    (question = ``question`` or the item's text; ``answer`` required). Returns {"feedback", "faq"}."""
    writes.check_write(actor, "feedback", "route")  # the role first, before anything is looked up
    current = _checked(session, feedback_id, expected_version)
    kind = _confirmed_type(current)
    if kind not in FAQ_TYPES:
        raise Refused("refuse.route_to_board", item=feedback_id, kind=either_label(FeedbackType, kind, lower=True))
    if faq_id is None:
        if answer is None or not str(answer).strip():
            raise ValidationError([(None, "answer", "is required to create an FAQ entry")])
        target = writes.create(session, actor, "faq_entries", {
            "question": question if question and str(question).strip() else current["text"], "answer": answer,
            "product_area": current["product_area"], "created_at": _now(now),
        })
    else:
        found = session.execute(select(faq_t).where(faq_t.c.id == faq_id)).mappings().first()
        if found is None:
            raise ValidationError([(None, "faq_id", f"there is no FAQ entry {faq_id}")])
        target = dict(found)
    stored = writes.update(session, actor, "feedback", feedback_id, expected_version, {"faq_id": target["id"]})
    if current["faq_id"] != target["id"]:
        _record(session, actor, feedback_id, current["status"], current["status"],
                present.history_note_code("faq", target["id"]), _now(now))
    return {"feedback": stored, "faq": target}


# --- duplicates ----------------------------------------------------------------------------------


def merge(session: Session, actor: writes.Actor, keep_id: int, duplicate_ids: Sequence[int],
          versions: Mapping[int, int]) -> pd.DataFrame:
    """Mark ``duplicate_ids`` as duplicates of ``keep_id``; nothing is deleted, every item keeps its customer.

    ``versions``: the version the caller read of each duplicate (and of the kept item, if given: it is
    checked). Items already marked as duplicates of a merged item follow it to ``keep_id``. When the
    kept item is linked to a demand, the duplicates' customers are linked to that demand too.
    Returns the whole group (``duplicate_group``).
    """
    writes.check_write(actor, "feedback", "merge")  # the role first, before anything is looked up
    wanted = list(dict.fromkeys(int(i) for i in duplicate_ids))
    if not wanted:
        raise Refused("refuse.no_duplicate")
    if keep_id in wanted:
        raise Refused("refuse.duplicate_of_itself", item=keep_id)
    missing = [i for i in wanted if i not in versions]
    if missing:
        raise UsageError(f"give the version you read of feedback {', '.join(map(str, missing))}")
    keep = _checked(session, keep_id, versions[keep_id]) if keep_id in versions else get(session, keep_id)
    if keep["duplicate_of_id"] is not None:
        raise Refused("refuse.kept_is_duplicate", item=keep_id, of=keep["duplicate_of_id"])
    items = [_checked(session, i, versions[i]) for i in wanted]  # a handful per action
    for item in items:
        writes.update(session, actor, "feedback", item["id"], item["version"], {"duplicate_of_id": keep_id})
    followers = session.execute(select(feedback_t.c.id, feedback_t.c.version)
                                .where(feedback_t.c.duplicate_of_id.in_(wanted)).order_by(feedback_t.c.id)).all()
    for item_id, version in followers:
        writes.update(session, actor, "feedback", item_id, version, {"duplicate_of_id": keep_id})
    if keep["demand_id"] is not None:
        customers = {item["customer_id"] for item in items} | set(session.execute(
            select(feedback_t.c.customer_id).where(feedback_t.c.id.in_([i for i, _ in followers]))).scalars())
        demand_board.link_customers(session, actor, keep["demand_id"], customers)
    return duplicate_group(session, keep_id)


GROUP_COLUMNS = ("id", "kept", "customer_id", "customer_code", "customer_name", "received_at", "status", "type", "text")


def duplicate_group(conn: Connection | Session, feedback_id: int) -> pd.DataFrame:
    """The kept item of ``feedback_id``'s group and all its duplicates, kept first, each with its customer."""
    root = get(conn, feedback_id)["duplicate_of_id"] or feedback_id
    rows = conn.execute(
        select(feedback_t.c.id, (feedback_t.c.id == root).label("kept"), feedback_t.c.customer_id,
               customers_t.c.code, customers_t.c.name, feedback_t.c.received_at, feedback_t.c.status,
               feedback_t.c.type, feedback_t.c.text)
        .join(customers_t, customers_t.c.id == feedback_t.c.customer_id)
        .where(or_(feedback_t.c.id == root, feedback_t.c.duplicate_of_id == root))
        .order_by((feedback_t.c.id != root), feedback_t.c.id)).all()
    frame = frame_of(rows, columns=list(GROUP_COLUMNS))
    frame["kept"] = frame["kept"].astype(bool)
    return frame


# --- loading items for the queue and the timers --------------------------------------------------

ITEM_COLUMNS = ("id", "customer_id", "customer_code", "customer_name", "contact_id", "channel", "received_at",
                "product_area", "text", "suggested_type", "type", "severity", "importance", "status", "demand_id",
                "faq_id", "duplicate_of_id", "first_response_at", "resolved_at", "closed_at", "owner", "team", "version")
FILTERABLE = ("channel", "product_area", "suggested_type", "type", "severity", "importance", "status", "customer_id",
              "demand_id", "faq_id")


def load_items(conn: Connection | Session, first: dt.date, last: dt.date,
               filters: Filters | Mapping[str, Sequence[Any]] | None = None, *, include_open: bool = False) -> pd.DataFrame:
    """Feedback received from ``first`` to ``last`` (inclusive) with its customer's code and name and the
    customer's CSM as owner (and the CSM's team). Columns ``ITEM_COLUMNS``, oldest first.

    ``filters``: the shared customer ``Filters`` (segment), or a mapping of feedback fields
    (``FILTERABLE``) to the values kept. ``include_open`` adds items received before ``first`` that
    are still open (new, triaged, in progress): the backlog.
    """
    start = dt.datetime.combine(first, dt.time())
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    in_range = and_(feedback_t.c.received_at >= start, feedback_t.c.received_at < end)
    if include_open:
        in_range = or_(in_range, and_(feedback_t.c.received_at < start, feedback_t.c.status.in_(list(OPEN_STATUSES))))
    query = (select(feedback_t.c.id, feedback_t.c.customer_id, customers_t.c.code, customers_t.c.name,
                    feedback_t.c.contact_id, feedback_t.c.channel, feedback_t.c.received_at, feedback_t.c.product_area,
                    feedback_t.c.text, feedback_t.c.suggested_type, feedback_t.c.type, feedback_t.c.severity,
                    feedback_t.c.importance, feedback_t.c.status, feedback_t.c.demand_id, feedback_t.c.faq_id,
                    feedback_t.c.duplicate_of_id, feedback_t.c.first_response_at, feedback_t.c.resolved_at,
                    feedback_t.c.closed_at, csms_t.c.name, csms_t.c.team, feedback_t.c.version)
             .join(customers_t, customers_t.c.id == feedback_t.c.customer_id)
             .outerjoin(csms_t, csms_t.c.id == customers_t.c.csm_id)
             .where(in_range)
             .order_by(feedback_t.c.received_at, feedback_t.c.id))
    if isinstance(filters, Filters):
        query = query.where(filters.customer_clause(customers_t))
    elif filters:
        unknown = sorted(set(filters) - set(FILTERABLE))
        if unknown:
            raise UsageError(f"cannot filter feedback by {', '.join(unknown)}; by: {', '.join(FILTERABLE)}")
        for name, chosen in filters.items():
            if chosen is not None and len(chosen):
                query = query.where(feedback_t.c[name].in_(list(chosen)))
    frame = frame_of(conn.execute(query).all(), columns=list(ITEM_COLUMNS))
    for name in ("received_at", "first_response_at", "resolved_at", "closed_at"):
        frame[name] = pd.to_datetime(frame[name])
    for name in ("contact_id", "demand_id", "faq_id", "duplicate_of_id"):
        frame[name] = frame[name].astype("Int64")
    return frame


# --- service timers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaTargets:
    """Hours allowed per tier and severity (``{tier: {severity: hours}}``) and the working calendar the
    hours are counted on (``ops_core.workcal``)."""

    first_response: Mapping[str, Mapping[str, float]]
    resolution: Mapping[str, Mapping[str, float]]
    calendar: WorkCalendar = WorkCalendar()

    @property
    def holidays(self) -> tuple[dt.date, ...]:
        """The company's extra days off."""
        return self.calendar.days_off


def work_calendar(values: Mapping[str, Any]) -> WorkCalendar:
    """The working calendar from the values of the settings feedback.sla_work_hours, _china_holidays,
    _holidays and _workdays (keyed by setting)."""
    hours = values["feedback.sla_work_hours"]
    return WorkCalendar(day_start=parse_time(hours.get("start", "00:00"), "feedback.sla_work_hours start"),
                        day_end=parse_time(hours.get("end", "24:00"), "feedback.sla_work_hours end"),
                        china_holidays=bool(values["feedback.sla_china_holidays"]),
                        days_off=parse_days(values["feedback.sla_holidays"], "feedback.sla_holidays"),
                        days_worked=parse_days(values["feedback.sla_workdays"], "feedback.sla_workdays"))


CALENDAR_SETTINGS = ("feedback.sla_work_hours", "feedback.sla_china_holidays", "feedback.sla_holidays",
                     "feedback.sla_workdays")
DEFAULT_SLA_TARGETS = SlaTargets(setting_default("feedback.sla_first_response_hours"),
                                 setting_default("feedback.sla_resolution_hours"),
                                 work_calendar({k: setting_default(k) for k in CALENDAR_SETTINGS}))


def sla_targets(conn: Connection | Session) -> SlaTargets:
    """The targets and the working calendar in force (settings feedback.sla_*)."""
    return SlaTargets(settings.get(conn, "feedback.sla_first_response_hours"),
                      settings.get(conn, "feedback.sla_resolution_hours"),
                      work_calendar({k: settings.get(conn, k) for k in CALENDAR_SETTINGS}))


def business_hours(start: Any, end: Any, holidays: Sequence[dt.date] = (),
                   calendar: WorkCalendar | None = None) -> np.ndarray:
    """Working hours from ``start`` to ``end`` (arrays of datetimes) on ``calendar``; without one, the
    whole of Monday to Friday but ``holidays`` (``WorkCalendar.hours``):
    hours = 24 x (working days from start's day up to, not including, end's day)
            - hours already gone on start's day (if it is a working day)
            + hours gone on end's day (if it is a working day).
    E.g. Friday 22:00 -> Monday 02:00: 24 x 1 (Friday) - 22 + 2 = 4 hours. NaT in either gives NaN;
    an end before the start gives 0.
    """
    return (calendar or WorkCalendar(days_off=tuple(holidays))).hours(start, end)


def _target(tiers: pd.Series, severity: pd.Series, table: Mapping[str, Mapping[str, float]]) -> np.ndarray:
    flat = pd.Series({(tier, sev): float(h) for tier, by_sev in table.items() for sev, h in by_sev.items()}, dtype=float)
    if flat.empty:
        return np.full(len(tiers), np.nan)
    keys = pd.MultiIndex.from_arrays([tiers.astype(object).to_numpy(), severity.astype(object).to_numpy()])
    return flat.reindex(keys).to_numpy(dtype=float)


DUE_SOON_SHARE = 0.2  # an open timer with at most this share of its target left is "due soon"
SLA_COLUMNS = ("id", "customer_id", "tier", "type", "severity", "status", "owner", "team", "received_at",
               "first_response_hours", "first_response_target", "first_response_done", "first_response_met",
               "first_response_breached", "first_response_due_soon", "resolution_hours", "resolution_target",
               "resolution_done", "resolution_met", "resolution_breached", "resolution_due_soon", "breached",
               "due_soon", "open", "age_days")


def sla_table(items: pd.DataFrame, tiers: pd.Series, targets: SlaTargets | None = None, *,
              now: dt.datetime) -> pd.DataFrame:
    """Per item the two service timers at ``now``: elapsed hours, target, met, breached, due soon.

    Input: ``items`` (``load_items``: id, customer_id, severity, received_at, first_response_at,
    resolved_at; type, status, closed_at, owner, team used when present) and ``tiers`` (index
    customer_id, tier name). Clock: the targets' working calendar. A timer is done when its time stamp is at or
    before ``now`` (resolution: resolved_at, else closed_at); an open timer runs to ``now``. Met: done
    within the target (exactly on it counts as met); breached: more hours than the target, done or
    still running; due soon: still running, not breached, at most 20 % of the target left. No target
    (a tier or severity not in ``targets``) gives NaN hours targets and False flags. Items received
    after ``now`` are left out. ``age_days``: calendar days since received. Columns ``SLA_COLUMNS``.
    """
    require_columns(items, ("id", "customer_id", "severity", "received_at", "first_response_at", "resolved_at"), "feedback items")
    targets = targets or DEFAULT_SLA_TARGETS
    moment = pd.Timestamp(now)
    frame = items[pd.to_datetime(items["received_at"]) <= moment].reset_index(drop=True)
    received = pd.to_datetime(frame["received_at"])
    out = pd.DataFrame({"id": frame["id"].to_numpy(), "customer_id": frame["customer_id"].to_numpy()})
    out["tier"] = frame["customer_id"].map(tiers).to_numpy()
    for name in ("type", "severity", "status", "owner", "team"):
        out[name] = frame[name].to_numpy() if name in frame.columns else None
    out["received_at"] = received.to_numpy()
    closed = pd.to_datetime(frame["closed_at"]) if "closed_at" in frame.columns else pd.Series(pd.NaT, index=frame.index)
    stops = {"first_response": pd.to_datetime(frame["first_response_at"]),
             "resolution": pd.to_datetime(frame["resolved_at"]).fillna(closed)}
    tables = {"first_response": targets.first_response, "resolution": targets.resolution}
    for timer, stop in stops.items():
        done = (stop.notna() & (stop <= moment)).to_numpy()
        hours = targets.calendar.hours(received, stop.where(done, moment))
        target = _target(out["tier"], out["severity"], tables[timer])
        has_target = ~np.isnan(target)
        out[f"{timer}_hours"] = hours
        out[f"{timer}_target"] = target
        out[f"{timer}_done"] = done
        out[f"{timer}_met"] = done & has_target & (hours <= target)
        out[f"{timer}_breached"] = has_target & (hours > target)
        out[f"{timer}_due_soon"] = (~done & has_target & (hours <= target)
                                    & (target - hours <= DUE_SOON_SHARE * target))
    out["breached"] = out["first_response_breached"] | out["resolution_breached"]
    out["due_soon"] = out["first_response_due_soon"] | out["resolution_due_soon"]
    out["open"] = ~out["resolution_done"]
    out["age_days"] = (moment - received).dt.total_seconds().to_numpy() / 86400.0
    return out[list(SLA_COLUMNS)]


AGE_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("0-1 d", 0, 1), ("1-3 d", 1, 3), ("3-7 d", 3, 7), ("7-30 d", 7, 30), (">30 d", 30, np.inf))
SUMMARY_COLUMNS = ("section", "by", "group", "items", "first_response_median_h", "first_response_p90_h",
                   "resolution_median_h", "resolution_p90_h", "first_response_met_share", "resolution_met_share",
                   "open_items")


def sla_times(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Median and 90th percentile of the finished timers' hours per ``by`` (linear interpolation, as
    numpy's percentile): a running timer has no duration yet and is left out."""
    require_columns(table, (by, "first_response_hours", "first_response_done", "resolution_hours", "resolution_done"), "the SLA table")
    keys = table[by].fillna("(none)")
    parts = {"items": table.groupby(keys).size()}
    for timer in ("first_response", "resolution"):
        done = table[f"{timer}_hours"].where(table[f"{timer}_done"])
        grouped = done.groupby(keys)
        parts[f"{timer}_median_h"] = grouped.median()
        parts[f"{timer}_p90_h"] = grouped.quantile(0.9)
    return pd.DataFrame(parts).rename_axis("group").reset_index()


def sla_met(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share of targets met per ``by``: met / (finished + still running but already breached); timers
    without a target and running timers not yet breached are left out. NaN where nothing counts."""
    require_columns(table, (by, "first_response_met", "first_response_done", "first_response_breached"), "the SLA table")
    keys = table[by].fillna("(none)")
    parts = {"items": table.groupby(keys).size()}
    for timer in ("first_response", "resolution"):
        judged = (table[f"{timer}_done"] & table[f"{timer}_target"].notna()) | table[f"{timer}_breached"]
        met = table[f"{timer}_met"].astype(float).where(judged)
        parts[f"{timer}_met_share"] = met.groupby(keys).mean()
    return pd.DataFrame(parts).rename_axis("group").reset_index()


def backlog_ages(table: pd.DataFrame) -> pd.DataFrame:
    """Open items (resolution timer running) by age: 0-1 d, 1-3 d, 3-7 d, 7-30 d, >30 d (lower bound in)."""
    require_columns(table, ("open", "age_days"), "the SLA table")
    ages = table.loc[table["open"].astype(bool), "age_days"].to_numpy(dtype=float)
    lower = np.asarray([lo for _, lo, _ in AGE_BUCKETS], dtype=float)
    bucket = np.searchsorted(lower, np.maximum(ages, 0.0), side="right") - 1
    counts = np.bincount(bucket, minlength=len(AGE_BUCKETS))
    return pd.DataFrame({"group": [name for name, _, _ in AGE_BUCKETS], "open_items": counts.astype(np.int64)})


def sla_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The service-efficiency summary of an ``sla_table``, one frame (columns ``SUMMARY_COLUMNS``):

    - section "time": median and p90 hours of finished timers by type and by tier (``sla_times``);
    - section "met": share of targets met by owner, team and type, and over all items (``sla_met``);
    - section "backlog": open items by age bucket (``backlog_ages``).
    """
    parts = []
    for by in ("type", "tier"):
        parts.append(sla_times(table, by).assign(section="time", by=by))
    everything = table.assign(all="all")
    for by in ("owner", "team", "type", "all"):
        parts.append(sla_met(everything, by).assign(section="met", by=by))
    parts.append(backlog_ages(table).assign(section="backlog", by="age",
                                            items=lambda f: f["open_items"]))
    summary = pd.concat(parts, ignore_index=True)
    for name in SUMMARY_COLUMNS:
        if name not in summary.columns:
            summary[name] = np.nan
    return summary[list(SUMMARY_COLUMNS)]


# --- FAQ -----------------------------------------------------------------------------------------

FAQ_COLUMNS = ("id", "question", "answer", "product_area", "created_at", "version", "feedback_count")


def faq_entries(conn: Connection | Session) -> pd.DataFrame:
    """Every FAQ entry with how many feedback items link to it, most asked first."""
    linked = func.count(feedback_t.c.id)
    rows = conn.execute(select(faq_t.c.id, faq_t.c.question, faq_t.c.answer, faq_t.c.product_area, faq_t.c.created_at,
                               faq_t.c.version, linked.label("feedback_count"))
                        .outerjoin(feedback_t, feedback_t.c.faq_id == faq_t.c.id)
                        .group_by(faq_t.c.id, faq_t.c.question, faq_t.c.answer, faq_t.c.product_area,
                                  faq_t.c.created_at, faq_t.c.version)
                        .order_by(linked.desc(), faq_t.c.id)).all()
    frame = frame_of(rows, columns=list(FAQ_COLUMNS))
    frame["feedback_count"] = frame["feedback_count"].astype(np.int64)
    return frame


def _markdown_block(text: Any) -> str:
    """Multi-line text shown literally: each line escaped, line breaks kept, blank lines as paragraphs."""
    lines = [demand_board.escape_markdown(line) if line.strip() else "" for line in str(text).splitlines()]
    return "  \n".join(lines).replace("  \n  \n", "\n\n")


def faq_markdown(frame: pd.DataFrame, title: str = "FAQ") -> str:
    """The FAQ for the product manual: a section per product area (in frame order), each question a
    heading and its answer below, every text escaped so it shows literally in Markdown."""
    require_columns(frame, ("question", "answer"), "FAQ entries")
    out = [f"# {demand_board.escape_markdown(title)}", ""]
    areas = frame["product_area"].fillna("general") if "product_area" in frame.columns else pd.Series("general", index=frame.index)
    for area in dict.fromkeys(areas.tolist()):  # a handful of areas
        out += [f"## {demand_board.escape_markdown(area)}", ""]
        for question, answer in frame.loc[areas == area, ["question", "answer"]].itertuples(index=False):
            out += [f"### {demand_board.escape_markdown(question)}", "", _markdown_block(answer), ""]
    return "\n".join(out).rstrip() + "\n"
