"""Renewal risk, decision-chain coverage and the next-actions list per CSM (DESIGN.md section 2).

The database does the aggregation (a few GROUP BY queries, merged in pandas); nothing loops over
customers in Python. ``as_of`` is always an argument.

Renewal risk follows the health-score practice of customer-success platforms (Gainsight's
"Customer Health Scores", ChurnZero's "ChurnScore"): a few observable signals, each turned into
0..1, combined by weights that sum to 1 into a 0..100 score, then cut into levels.

Signals (per contract, from its customer):
- usage decline: active user-days (``usage_monthly``) of the three calendar months before the
  month of ``as_of`` against the three before those; decline = max(0, 1 - recent / baseline), 0 when
  the baseline is 0 (nothing to fall from). Signal = min(1, decline / ``usage_full``); a drop is
  flagged at ``usage_flag`` (30 %).
- key-contact change: a key contact, boss or veto head of the customer whose ``end_date`` lies in
  [as_of - 180 days, as_of) (a contact whose last day is as_of is still current). Signal 1 or 0.
- overdue invoices: invoices due before ``as_of`` with money outstanding on ``as_of`` (payments up to
  ``as_of``). Signal = min(1, days the oldest is overdue / ``overdue_full_days``).
- competitor price cut: ``customers.competitor_price_cut``, a flag the CSM sets. Signal 1 or 0.

Default weights: usage 0.40, key contact 0.20, overdue 0.20, price cut 0.20 (usage leads, as in
those platforms' default health scores); levels: high >= 40, medium >= 20, else low. So a usage
collapse (a fall of 50 % or more) alone, or any two other signals at full strength, make a contract
high; any one signal at full strength makes it medium; a flagged 30 % usage drop alone scores 24.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, ColumnElement, Connection, and_, case, cast, exists, func, or_, select

from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.errors import UsageError, require_columns
from ops_core.i18n import clauses, label, listed, t
from ops_core.overview import annualised_cents, in_force
from ops_core.periods import add_months
from ops_core.vocab import ContactRole

customers = TABLES["customers"]
contracts = TABLES["contracts"]
contacts = TABLES["contacts"]
invoices = TABLES["invoices"]
payments = TABLES["payments"]
usage_monthly = TABLES["usage_monthly"]
csms = TABLES["csms"]

SIGNALS = ("usage_decline", "key_contact_change", "overdue", "competitor_price_cut")
DEFAULT_RISK_WEIGHTS: dict[str, float] = {
    "usage_decline": 0.40, "key_contact_change": 0.20, "overdue": 0.20, "competitor_price_cut": 0.20}
LEVELS = ("high", "medium", "low")
ROLES = ("user", "boss", "veto_head")
KEY_ROLES = ("boss", "veto_head")


@dataclass(frozen=True)
class RiskConfig:
    """Tunables of the renewal-risk score (weights are normalised to sum 1)."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RISK_WEIGHTS))
    usage_flag: float = 0.30          # decline counted as a usage drop
    usage_full: float = 0.50          # decline that gives the full usage signal
    overdue_full_days: int = 90       # days overdue that give the full overdue signal
    key_contact_days: int = 180       # how far back a key contact leaving counts
    high: float = 40.0                # score floor of the high level
    medium: float = 20.0              # score floor of the medium level


DEFAULT_RISK_CONFIG = RiskConfig()


DEFAULT_PRIORITIES: dict[str, int] = {"renewal_risk": 1, "overdue": 2, "chain_gap": 3, "usage_drop": 4}


@dataclass(frozen=True)
class ActionConfig:
    """Which findings become next actions and how urgent each reason is (1 = first)."""

    gap_tiers: tuple[str, ...] = ("KA",)
    risk_levels: tuple[str, ...] = ("high",)
    usage_flag: float = 0.30
    priorities: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))


DEFAULT_ACTION_CONFIG = ActionConfig()
ACTION_COLUMNS = ("csm_id", "csm_name", "customer_id", "customer_code", "customer_name", "tier", "reason", "priority",
                  "facts")


def normalised_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Weights per signal summing to 1; unknown names, negatives or an all-zero set are refused."""
    raw = dict(DEFAULT_RISK_WEIGHTS if weights is None else weights)
    unknown = sorted(set(raw) - set(SIGNALS))
    if unknown:
        raise UsageError(f"unknown risk signal '{unknown[0]}'; known: {', '.join(SIGNALS)}")
    if any(w < 0 for w in raw.values()):
        raise UsageError("risk weights must not be negative")
    total = sum(raw.values())
    if total <= 0:
        raise UsageError("at least one risk weight must be above zero")
    return {s: raw.get(s, 0.0) / total for s in SIGNALS}


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _key_contact_left(as_of: dt.date, days: int) -> ColumnElement[bool]:
    """A key contact, boss or veto head whose last day falls within the ``days`` before ``as_of``.

    Strictly before: a contact whose end_date is as_of is still current (decision_chain counts them).
    """
    return and_(or_(contacts.c.is_key.is_(True), contacts.c.role.in_(KEY_ROLES)),
                contacts.c.end_date >= as_of - dt.timedelta(days=days), contacts.c.end_date < as_of)


# --- per-customer aggregates (each one GROUP BY) -------------------------------------------------


def usage_change(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """Active user-days of the 3 months before as_of's month vs the 3 before those, per customer.

    Index customer_id; columns usage_recent, usage_baseline, usage_decline (0..1, 0 when no baseline).
    Only customers with a contract in force on as_of and usage in those six months appear: a lapsed
    account's silence is churn, not a usage drop to act on.
    """
    return usage_change_of(usage_sums(conn, as_of), customers_in_force(conn, as_of))


def usage_sums(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """``usage_change``'s two sums (usage_recent, usage_baseline) for every account with usage in the six
    months; read apart from the contracts, so a contract signed does not sum the usage again."""
    current = dt.date(as_of.year, as_of.month, 1)
    recent_from, baseline_from = add_months(current, -3), add_months(current, -6)
    um = usage_monthly.c
    rows = conn.execute(
        select(um.customer_id,
               cast(func.sum(case((um.month >= recent_from, um.active_user_days), else_=0)), BigInteger),
               cast(func.sum(case((um.month < recent_from, um.active_user_days), else_=0)), BigInteger))
        .where(um.month >= baseline_from, um.month < current)
        .group_by(um.customer_id)
    ).all()
    return frame_of(rows, columns=["customer_id", "usage_recent", "usage_baseline"]).set_index("customer_id").astype("int64")


def customers_in_force(conn: Connection, as_of: dt.date) -> pd.Index:
    """The customers with a contract in force on as_of."""
    return pd.Index(conn.execute(select(contracts.c.customer_id).distinct().where(in_force(as_of))).scalars().all(),
                    name="customer_id")


def usage_change_of(sums: pd.DataFrame, in_force: pd.Index) -> pd.DataFrame:
    """``usage_change`` from ``usage_sums`` and ``customers_in_force`` (pure)."""
    frame = sums[sums.index.isin(in_force)].copy()
    baseline = frame["usage_baseline"].to_numpy(dtype=float)
    ratio = np.divide(frame["usage_recent"].to_numpy(dtype=float), baseline, out=np.ones_like(baseline), where=baseline > 0)
    frame["usage_decline"] = np.clip(1.0 - ratio, 0.0, 1.0)
    return frame


def overdue_by_customer(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """Invoices due before as_of with money outstanding on as_of, per customer.

    Index customer_id; columns overdue_invoices, overdue_max_days (days since the oldest due date),
    overdue_cents. Only customers with an overdue invoice appear.
    """
    paid = (select(payments.c.invoice_id, func.sum(payments.c.amount_cents).label("paid"))
            .where(payments.c.paid_on <= as_of).group_by(payments.c.invoice_id).subquery())
    outstanding = invoices.c.amount_cents - func.coalesce(paid.c.paid, 0)
    rows = conn.execute(
        select(invoices.c.customer_id, func.count(), func.min(invoices.c.due_on), cast(func.sum(outstanding), BigInteger))
        .select_from(invoices.outerjoin(paid, paid.c.invoice_id == invoices.c.id))
        .where(invoices.c.due_on < as_of, outstanding > 0)
        .group_by(invoices.c.customer_id)
    ).all()
    frame = frame_of(rows, columns=["customer_id", "overdue_invoices", "oldest_due", "overdue_cents"])
    frame["overdue_max_days"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["oldest_due"])).dt.days
    frame = frame.set_index("customer_id")[["overdue_invoices", "overdue_max_days", "overdue_cents"]]
    return frame.astype("int64")


def key_contact_changes(conn: Connection, as_of: dt.date, days: int) -> pd.Series:
    """Key contacts (``_key_contact_left``) who left within ``days`` before as_of, counted per customer."""
    rows = conn.execute(select(contacts.c.customer_id, func.count()).where(_key_contact_left(as_of, days))
                        .group_by(contacts.c.customer_id)).all()
    return pd.Series(dict(rows), dtype="int64", name="key_contacts_left")


# --- renewal risk --------------------------------------------------------------------------------


def contracts_up_for_renewal(conn: Connection, as_of: dt.date, horizon_days: int) -> pd.DataFrame:
    """The latest contract per customer and product line (signed by as_of) ending within the horizon, not renewed.

    Renewed: a renewal signed by as_of points at it or at a co-terminous contract of the same
    customer (a mid-term add-on rolls into the renewal of the contract it was added to).
    """
    if horizon_days < 0:
        raise UsageError("horizon_days must be zero or more")
    later, renewal, base = contracts.alias("later"), contracts.alias("renewal"), contracts.alias("base")
    has_later = exists().where(
        later.c.customer_id == contracts.c.customer_id, later.c.product_line == contracts.c.product_line,
        later.c.signed_on <= as_of,
        or_(later.c.end_date > contracts.c.end_date, and_(later.c.end_date == contracts.c.end_date, later.c.id > contracts.c.id)))
    renewed = exists().select_from(renewal.join(base, renewal.c.renewal_of_id == base.c.id)).where(
        base.c.customer_id == contracts.c.customer_id, base.c.end_date == contracts.c.end_date, renewal.c.signed_on <= as_of)
    rows = conn.execute(
        select(contracts.c.id, contracts.c.code, contracts.c.customer_id, customers.c.code, customers.c.name,
               customers.c.csm_id, csms.c.name, contracts.c.product_line, contracts.c.kind, contracts.c.end_date,
               annualised_cents(), customers.c.competitor_price_cut)
        .select_from(contracts.join(customers, customers.c.id == contracts.c.customer_id)
                     .outerjoin(csms, csms.c.id == customers.c.csm_id))
        .where(contracts.c.signed_on <= as_of, contracts.c.end_date >= as_of,
               contracts.c.end_date <= as_of + dt.timedelta(days=horizon_days), ~has_later, ~renewed)
    ).all()
    return frame_of(rows, columns=["contract_id", "contract_code", "customer_id", "customer_code", "customer_name",
                                   "csm_id", "csm_name", "product_line", "kind", "end_date", "annual_cents",
                                   "competitor_price_cut"])


def risk_levels(scores: pd.Series, config: RiskConfig = DEFAULT_RISK_CONFIG) -> pd.Series:
    """high / medium / low from the 0..100 score and the config's floors."""
    return pd.Series(np.select([scores >= config.high, scores >= config.medium], ["high", "medium"], "low"),
                     index=scores.index, name="risk_level", dtype=object)


def score_risk(frame: pd.DataFrame, weights: Mapping[str, float] | None = None,
               config: RiskConfig = DEFAULT_RISK_CONFIG) -> pd.DataFrame:
    """Signals -> 0..1 strengths, risk_score (0..100) and risk_level; a pure transform.

    Input columns: usage_decline, key_contact_change, overdue_max_days, competitor_price_cut.
    """
    require_columns(frame, ("usage_decline", "key_contact_change", "overdue_max_days", "competitor_price_cut"), "score_risk")
    w = normalised_weights(config.weights if weights is None else weights)
    strength = pd.DataFrame({
        "usage_decline": (frame["usage_decline"].astype(float) / config.usage_full).clip(0.0, 1.0),
        "key_contact_change": frame["key_contact_change"].astype(float),
        "overdue": (frame["overdue_max_days"].astype(float) / config.overdue_full_days).clip(0.0, 1.0),
        "competitor_price_cut": frame["competitor_price_cut"].astype(float),
    }, index=frame.index)
    out = frame.copy()
    out["risk_score"] = 100.0 * (strength[list(SIGNALS)].to_numpy() @ np.array([w[s] for s in SIGNALS]))
    out["risk_level"] = risk_levels(out["risk_score"], config)
    return out


RISK_COLUMNS = ("contract_id", "contract_code", "customer_id", "customer_code", "customer_name", "csm_id", "csm_name",
                "product_line", "kind", "end_date", "days_to_end", "revenue_at_risk_cents", "usage_recent",
                "usage_baseline", "usage_decline", "usage_drop", "key_contact_change", "overdue_invoices",
                "overdue_max_days", "overdue_cents", "competitor_price_cut", "risk_score", "risk_level")


def stored_config(conn: Connection) -> RiskConfig:
    """The risk config with the level floors in force (setting ``risk.level_floors``, an admin's on the
    settings page): a score at or above ``high`` is high (red), at or above ``medium`` medium (amber), else low."""
    from ops_core import settings  # settings imports config only

    floors = settings.get(conn, "risk.level_floors")
    return RiskConfig(high=float(floors["high"]), medium=float(floors["medium"]))


def renewal_risk(conn: Connection, as_of: dt.date, horizon_days: int = 90, weights: Mapping[str, float] | None = None,
                 config: RiskConfig | None = None) -> pd.DataFrame:
    """Contracts ending within ``horizon_days`` of ``as_of`` and not yet renewed, with signals, score and level.

    Contracts: the latest per customer and product line among those signed by as_of (any kind),
    ending in [as_of, as_of + horizon], with no renewal signed by as_of pointing at it or at a
    co-terminous contract of the same customer (add-ons roll into the main contract's renewal).
    Levels by ``config`` (default: the stored level floors, ``stored_config``).
    One row per contract (columns RISK_COLUMNS); revenue at risk is the contract's annualised value
    (cents, rounded). Sorted by level (high first), then revenue at risk (largest first), then id.
    """
    config = stored_config(conn) if config is None else config
    return risk_from(as_of, contracts_up_for_renewal(conn, as_of, horizon_days), usage_change(conn, as_of),
                     overdue_by_customer(conn, as_of), key_contact_changes(conn, as_of, config.key_contact_days),
                     weights, config)


def risk_from(as_of: dt.date, due: pd.DataFrame, usage: pd.DataFrame, overdue: pd.DataFrame, left: pd.Series,
              weights: Mapping[str, float] | None = None, config: RiskConfig = DEFAULT_RISK_CONFIG) -> pd.DataFrame:
    """``renewal_risk`` from its four reads (pure). Each is read on its own so a cache keyed by the
    tables a value read keeps the others when one moves: a contract signed reads the contracts due
    again, not the overdue invoices or the key contacts (cockpit/ui.py)."""
    frame = due.copy()
    by = frame["customer_id"]
    frame["days_to_end"] = (pd.to_datetime(frame["end_date"]) - pd.Timestamp(as_of)).dt.days.astype("int64")
    frame["revenue_at_risk_cents"] = frame["annual_cents"].astype(float).round().astype("int64")
    frame["csm_id"] = frame["csm_id"].astype("Int64")
    for column in ("usage_recent", "usage_baseline"):
        frame[column] = by.map(usage[column]).fillna(0).astype("int64")
    frame["usage_decline"] = by.map(usage["usage_decline"]).fillna(0.0).astype(float)
    frame["usage_drop"] = frame["usage_decline"] >= config.usage_flag
    frame["key_contact_change"] = by.map(left).fillna(0).astype("int64") > 0
    for column in ("overdue_invoices", "overdue_max_days", "overdue_cents"):
        frame[column] = by.map(overdue[column]).fillna(0).astype("int64")
    frame["competitor_price_cut"] = frame["competitor_price_cut"].astype(bool)
    frame = score_risk(frame, weights, config)
    frame["_level"] = frame["risk_level"].map({level: i for i, level in enumerate(LEVELS)})
    frame = frame.sort_values(["_level", "revenue_at_risk_cents", "contract_id"], ascending=[True, False, True],
                              ignore_index=True)
    return frame[list(RISK_COLUMNS)]


# --- decision chain ------------------------------------------------------------------------------

CHAIN_COLUMNS = ("customer_code", "customer_name", "csm_id", "csm_name", "n_user", "n_boss", "n_veto_head", "has_user",
                 "has_boss", "has_veto_head", "n_missing", "missing_roles", "key_contact_change")


def decision_chain(conn: Connection, as_of: dt.date, key_contact_days: int = 180) -> pd.DataFrame:
    """Which roles (user, boss, veto_head) a current contact covers, for every customer; one GROUP BY.

    Current: start_date <= as_of and (no end_date or end_date >= as_of). Index customer_id; columns
    CHAIN_COLUMNS; ``missing_roles`` joins the uncovered role codes with "," ("" when complete);
    ``key_contact_change``: a key contact, boss or veto head left in the ``key_contact_days`` before as_of.
    """
    current = and_(contacts.c.start_date <= as_of, or_(contacts.c.end_date.is_(None), contacts.c.end_date >= as_of))
    counts = [_count(and_(current, contacts.c.role == role)).label(f"n_{role}") for role in ROLES]
    rows = conn.execute(
        select(customers.c.id, customers.c.code, customers.c.name, customers.c.csm_id, csms.c.name, *counts,
               _count(_key_contact_left(as_of, key_contact_days)))
        .select_from(customers.outerjoin(contacts, contacts.c.customer_id == customers.c.id)
                     .outerjoin(csms, csms.c.id == customers.c.csm_id))
        .group_by(customers.c.id, customers.c.code, customers.c.name, customers.c.csm_id, csms.c.name)
        .order_by(customers.c.id)
    ).all()
    frame = frame_of(rows, columns=["customer_id", "customer_code", "customer_name", "csm_id", "csm_name",
                                    *(f"n_{r}" for r in ROLES), "key_left"]).set_index("customer_id")
    frame["csm_id"] = frame["csm_id"].astype("Int64")
    missing = pd.Series("", index=frame.index, dtype=object)
    for role in ROLES:
        frame[f"n_{role}"] = frame[f"n_{role}"].astype("int64")
        frame[f"has_{role}"] = frame[f"n_{role}"] > 0
        missing = missing + np.where(frame[f"has_{role}"], "", role + ",")
    frame["n_missing"] = (~frame[[f"has_{r}" for r in ROLES]]).sum(axis=1).astype("int64")
    frame["missing_roles"] = missing.str.rstrip(",").astype(object)
    frame["key_contact_change"] = frame["key_left"].astype("int64") > 0
    return frame[list(CHAIN_COLUMNS)]


def chain_gaps(chain: pd.DataFrame, tiers: pd.Series, tiers_to_check: Sequence[str] = ("KA", "standard")) -> pd.DataFrame:
    """Customers of ``tiers_to_check`` whose decision chain misses a role; chain columns plus ``tier``.

    ``tiers`` is indexed by customer_id (as ``tiers.assign_tiers`` returns); sorted by tier order, then id.
    """
    require_columns(chain, ("n_missing", "missing_roles"), "chain_gaps")
    tier = tiers.reindex(chain.index)
    order = {name: i for i, name in enumerate(tiers_to_check)}
    out = chain.assign(tier=tier.astype(object))[tier.isin(list(tiers_to_check)) & (chain["n_missing"] > 0)]
    return out.iloc[np.lexsort((out.index.to_numpy(), out["tier"].map(order).to_numpy()))]


# --- next actions --------------------------------------------------------------------------------


def _items(customer_ids: pd.Series | pd.Index, reason: str, facts: pd.DataFrame) -> pd.DataFrame:
    """One action per customer for ``reason``; ``facts`` (one row each) are what its text is written from."""
    return pd.DataFrame({"customer_id": pd.array(customer_ids, dtype="int64"), "reason": reason,
                         "facts": facts.to_dict("records") if len(facts.columns) else [{}] * len(customer_ids)})


def next_actions(tiers: pd.Series, chain: pd.DataFrame, risk: pd.DataFrame, overdue: pd.DataFrame | None = None,
                 usage: pd.DataFrame | None = None, config: ActionConfig = DEFAULT_ACTION_CONFIG) -> pd.DataFrame:
    """The to-do list per CSM: one row per (customer, reason); a pure function over the frames.

    Sources: decision-chain gaps of ``config.gap_tiers`` customers (``chain``), contracts at a
    ``config.risk_levels`` renewal risk (``risk``), overdue invoices (``overdue``, as
    :func:`overdue_by_customer`) and usage drops of at least ``config.usage_flag`` (``usage``, as
    :func:`usage_change`). ``reason`` is a code and ``facts`` a dict of the numbers behind it, which
    :func:`action_texts` turns into words; the CSM and names come from ``chain`` (every customer).
    Sorted by CSM id, priority, customer id.
    """
    require_columns(chain, ("customer_code", "customer_name", "csm_id", "csm_name", "missing_roles", "n_missing"), "next_actions chain")
    require_columns(risk, ("customer_id", "contract_code", "end_date", "days_to_end", "risk_level", "risk_score"), "next_actions risk")
    parts: list[pd.DataFrame] = []
    gaps = chain_gaps(chain, tiers, config.gap_tiers)
    parts.append(_items(gaps.index, "chain_gap", pd.DataFrame({"roles": gaps["missing_roles"].str.split(",")})))
    hot = risk[risk["risk_level"].isin(list(config.risk_levels))]
    parts.append(_items(hot["customer_id"], "renewal_risk", pd.DataFrame({
        "contract": hot["contract_code"].astype(str), "end_date": hot["end_date"].astype(str),
        "days": hot["days_to_end"].astype("int64"), "level": hot["risk_level"].astype(str),
        "score": hot["risk_score"].round().astype("int64")})))
    if overdue is not None:
        require_columns(overdue, ("overdue_invoices", "overdue_max_days"), "next_actions overdue")
        late = overdue[overdue["overdue_invoices"] > 0]
        parts.append(_items(late.index, "overdue", pd.DataFrame({
            "invoices": late["overdue_invoices"].astype("int64"), "days": late["overdue_max_days"].astype("int64")})))
    if usage is not None:
        require_columns(usage, ("usage_decline",), "next_actions usage")
        drop = usage[usage["usage_decline"] >= config.usage_flag]
        parts.append(_items(drop.index, "usage_drop", pd.DataFrame({"decline": drop["usage_decline"].astype(float)})))
    found = [p for p in parts if not p.empty]
    items = pd.concat(found, ignore_index=True) if found else _items(pd.Index([]), "", pd.DataFrame())
    who = chain[["customer_code", "customer_name", "csm_id", "csm_name"]]
    items = items.join(who, on="customer_id")
    items["tier"] = items["customer_id"].map(tiers).astype(object)
    items["priority"] = items["reason"].map(dict(config.priorities)).astype("int64")
    items = items.sort_values(["csm_id", "priority", "customer_id"], na_position="last", kind="stable", ignore_index=True)
    return items[list(ACTION_COLUMNS)]


PRIORITY_WORDS = {1: "urgent", 2: "high", 3: "medium", 4: "low"}  # priority number -> the word a person reads


def priority_word(priority: int) -> str:
    """The word key of a priority number (1 first); anything past the last word reads as the last."""
    return PRIORITY_WORDS.get(int(priority), PRIORITY_WORDS[max(PRIORITY_WORDS)])


def _fact_values(reason: str, facts: Mapping[str, object], lang: str) -> dict[str, object]:
    """The values an action's sentences are filled with, in the reader's words (labels, not codes)."""
    match reason:
        case "chain_gap":
            return {"roles": listed((label(ContactRole, r, lang) for r in facts["roles"]), lang)}  # type: ignore[attr-defined]
        case "renewal_risk":
            return {**facts, "level": t(f"risk.{facts['level']}", lang)}
        case "usage_drop":
            return {"decline": f"{float(facts['decline']):.0%}"}  # type: ignore[arg-type]
        case _:
            return dict(facts)


ACTION_TEXT_COLUMNS = ("csm_id", "csm_name", "customer_id", "customer_code", "customer_name", "tier", "priority",
                       "priority_word", "why", "what_to_do", "priority_reason")


def action_texts(items: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Next actions (as :func:`next_actions` returns them) as a person reads them, in ``lang``:
    ``why`` the customer is on the list, ``what_to_do`` about it, the priority as a word
    (``priority_word``: Urgent / High / Medium / Low) and ``priority_reason``: why that priority.
    Every text comes from the translation table; no reason or role code is left."""
    require_columns(items, ("reason", "facts", "priority"), "action_texts")
    values = [_fact_values(r, f, lang) for r, f in zip(items["reason"], items["facts"], strict=True)]
    out = items.drop(columns=["reason", "facts"]).assign(
        priority_word=[t(f"action.priority.{priority_word(p)}", lang) for p in items["priority"]],
        why=[t(f"action.why.{r}", lang, **v) for r, v in zip(items["reason"], values, strict=True)],
        what_to_do=[t(f"action.do.{r}", lang) for r in items["reason"]],
        priority_reason=[t(f"action.priority_reason.{r}", lang) for r in items["reason"]])
    return out[list(ACTION_TEXT_COLUMNS)]


def priority_legend(config: ActionConfig = DEFAULT_ACTION_CONFIG, lang: str = "en") -> str:
    """One line saying what each priority means: its word, its number and the reasons that carry it."""
    parts = []
    for number in sorted(set(config.priorities.values())):
        reasons = [t(f"action.reason.{r}", lang) for r, p in config.priorities.items() if p == number]
        parts.append(t("action.legend_item", lang, word=t(f"action.priority.{priority_word(number)}", lang), number=number,
                       reasons=listed(reasons, lang)))
    return t("action.legend", lang, items=clauses(parts, lang))


RENEWAL_TEXT_COLUMNS = ("risk_level", "customer_code", "customer_name", "why", "what_to_do", "end_date", "days_to_end",
                        "revenue_at_risk_cents", "risk_score", "csm_name", "product_line", "kind", "contract_code")


def renewal_texts(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Contracts up for renewal (as :func:`renewal_risk` returns them) as a CSM reads them, in ``lang``:
    the level first, ``why`` (each signal that fired, in words, or that none did) and ``what_to_do`` at
    that level; the raw signals stay in :func:`renewal_risk`'s columns for the files."""
    require_columns(frame, RISK_COLUMNS, "renewal_texts")

    def why(row: Any) -> str:
        signals = []
        if row.usage_drop:
            signals.append(t("risk.why.usage", lang, decline=f"{float(row.usage_decline):.0%}"))
        if row.key_contact_change:
            signals.append(t("risk.why.contact", lang))
        if row.overdue_invoices:
            signals.append(t("risk.why.overdue", lang, invoices=int(row.overdue_invoices), days=int(row.overdue_max_days)))
        if row.competitor_price_cut:
            signals.append(t("risk.why.competitor", lang))
        return clauses(signals, lang) if signals else t("risk.why.none", lang)

    return frame.assign(why=[why(r) for r in frame.itertuples(index=False)],
                        what_to_do=[t(f"risk.do.{level}", lang) for level in frame["risk_level"]])[list(RENEWAL_TEXT_COLUMNS)]
