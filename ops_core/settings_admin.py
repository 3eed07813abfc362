"""What the settings page changes, checked before it is stored: one setting, the tier names with what
hangs on them, and the defaults a business stage and product weight propose.

Every change goes through ``settings.change`` (admin only, versioned, audited). A value is checked
here by what reads it (the tier rules, the service models, the working calendar), so a setting that
would break a page is refused when it is saved, not when the page is next opened.

Stage and product weight (``company.stage``, ``company.product_weight``) follow the source article on
industrial-internet operations: the heavier (management-type) the product, the larger and fewer the
customers, the longer the sales cycle and the more offline and consultative the customer success;
the lighter (tool-type), the smaller the customers, the shorter the cycle and the more online the
service. The stage sets how lean the team is and how tolerant the indicators are of a miss:
- product weight: KA share (heavy 3 %, light 5 %), the service model of each tier (heavy: senior
  CSMs, on-site visits, few accounts each; light: online contact, many accounts each), the
  attribution window (heavy 270 days, light 90: the sales cycle) and the effective-lead standard's
  minimum company size (heavy 200 employees, light 20);
- stage: accounts per CSM x 1.5 when starting (a lean team), x 1 growing, x 0.8 mature (deeper
  service), and the amber threshold (starting 0.90: early targets are guesses; growing 0.95, the
  default; mature 0.97).
A proposal is only shown; the admin saves it, or not, as a whole (``apply``).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ops_core import settings, writes
from ops_core.config import SETTINGS_BY_KEY
from ops_core.errors import StaleVersion, UsageError
from ops_core.vocab import CsmLevel

STAGES = ("starting", "growing", "mature")
WEIGHTS = ("light", "heavy")
SEVERITIES = ("critical", "high", "medium", "low")

# What the settings page shows, by section; the rest (demo builder, saved mappings, first start) are the
# product's own bookkeeping.
SECTIONS: dict[str, tuple[str, ...]] = {
    "profile": ("company.stage", "company.product_weight"),
    "tiers": ("tiers.names", "tiers.service_models", "tiers.csm_headcount", "tiers.mode", "tiers.quotas",
              "tiers.cutoffs", "tiers.by_industry"),
    "service": ("feedback.sla_first_response_hours", "feedback.sla_resolution_hours", "feedback.sla_work_hours",
                "feedback.sla_china_holidays", "feedback.sla_holidays", "feedback.sla_workdays"),
    "thresholds": ("status.amber_ratio", "risk.level_floors", "events.effective_lead_standard", "events.attribution_window_days",
                   "events.decay_half_life_days", "alerts.rules",
                   "import.max_upload_mb", "feedback.group_threshold", "feedback.suggest_min_labelled",
                   "ui.page_size"),
}
SHOWN = tuple(k for keys in SECTIONS.values() for k in keys)


def check(conn: Connection | Session, key: str, value: Any) -> Any:
    """``value`` for ``key`` as it will be stored, or UsageError saying what is wrong with it."""
    from ops_core import events, feedback, tiers

    default = SETTINGS_BY_KEY[key].default
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if key == "alerts.rules":
        from dataclasses import asdict

        from ops_core.alerts import Rule
        return [asdict(Rule(**dict(entry))) for entry in value]
    if key == "tiers.names":
        names = [str(n).strip() for n in value]
        if len(names) < 2 or any(not n for n in names) or len(set(names)) != len(names):
            raise UsageError("tier names: at least two, none empty, no two alike")
        return names
    if key == "tiers.service_models":
        names = settings.get(conn, "tiers.names")
        for entry in value:
            tiers.ServiceModel(**entry)
        lacking = [n for n in names if n not in {e["tier"] for e in value}]
        if lacking:
            raise UsageError(f"tier(s) {', '.join(lacking)} have no service model")
        return value
    if key == "tiers.csm_headcount":
        return {str(k): int(v) for k, v in tiers.planned_headcount(value).items()}
    if key in ("tiers.mode", "tiers.quotas", "tiers.cutoffs", "tiers.by_industry"):
        rules = tiers.tier_rules(conn).to_dict()
        rules[key.split(".", 1)[1]] = value
        tiers.TierRules(**rules)
        return value
    if key in feedback.CALENDAR_SETTINGS:
        feedback.work_calendar({k: value if k == key else settings.get(conn, k) for k in feedback.CALENDAR_SETTINGS})
        return value
    if key in ("feedback.sla_first_response_hours", "feedback.sla_resolution_hours"):
        for tier, by_severity in value.items():
            for severity, hours in by_severity.items():
                if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not hours > 0:
                    raise UsageError(f"{key}: the target of {tier} / {severity} must be more than 0 hours")
        return value
    if key == "events.effective_lead_standard":
        return events.LeadStandard.from_dict(value).to_dict()
    if key in ("company.stage", "company.product_weight"):
        allowed = STAGES if key == "company.stage" else WEIGHTS
        if value not in allowed:
            raise UsageError(f"{key}: use one of {', '.join(allowed)}")
        return value
    if key == "risk.level_floors":
        high, medium = float(value.get("high", -1)), float(value.get("medium", -1))
        if set(value) != {"high", "medium"} or not 0 < medium < high <= 100:
            raise UsageError("risk level floors: 0 < medium < high <= 100")
        return {"high": high, "medium": medium}
    if key == "status.amber_ratio" and not 0 < value <= 1:
        raise UsageError("the amber threshold is a share of the target between 0 and 1")
    if key in ("import.max_upload_mb", "ui.page_size", "events.attribution_window_days", "events.decay_half_life_days",
               "feedback.suggest_min_labelled") and not value >= 1:
        raise UsageError(f"{key} must be at least 1")
    if key == "feedback.group_threshold" and not 0 < value <= 1:
        raise UsageError("the similarity threshold is between 0 and 1")
    return value


def change(session: Session, actor: writes.Actor, key: str, value: Any, expected_version: int) -> dict[str, Any]:
    """Check and store one setting (``settings.change``)."""
    writes.check_write(actor, "settings", "update")
    if key not in SHOWN:
        raise UsageError(f"setting '{key}' is not changed here")
    if key == "tiers.names":  # with what hangs on the names
        return set_tier_names(session, actor, value, expected_version)
    return settings.change(session, actor, key, check(session, key, value), expected_version)


def restore_default(session: Session, actor: writes.Actor, key: str, expected_version: int) -> dict[str, Any]:
    """Put ``key`` back to its declared default (stored as a change, so who did it stays on record)."""
    return change(session, actor, key, copy.deepcopy(SETTINGS_BY_KEY[key].default), expected_version)


def _versions(conn: Connection | Session) -> dict[str, int]:
    table = settings.settings_table
    return {k: int(v) for k, v in conn.execute(select(table.c.key, table.c.version)).all()}


def _by_position(names: Sequence[str], old: Sequence[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` keyed by old tier names, re-keyed by position onto ``names`` (a new tier takes the last one's)."""
    out = {}
    for i, name in enumerate(names):
        source = old[min(i, len(old) - 1)]
        out[name] = copy.deepcopy(values.get(source, values.get(name, next(iter(values.values()), {}))))
    return out


def tier_names_change(conn: Connection | Session, names: Sequence[str]) -> dict[str, Any]:
    """What renaming or re-counting the tiers changes besides the names: the service models, the SLA
    targets (by position: the n-th tier keeps the n-th tier's; a new tier takes the last one's), the
    quotas and cutoffs (one fewer than tiers: cut from the end, or a new share of half what is left
    and a floor of half the last)."""
    old = list(settings.get(conn, "tiers.names"))
    models = {m["tier"]: m for m in settings.get(conn, "tiers.service_models")}
    out: dict[str, Any] = {"tiers.names": list(names)}
    out["tiers.service_models"] = [{**m, "tier": n} for n, m in _by_position(names, old, models).items()]
    for key in ("feedback.sla_first_response_hours", "feedback.sla_resolution_hours"):
        out[key] = _by_position(names, old, settings.get(conn, key))
    quotas = [float(q) for q in settings.get(conn, "tiers.quotas")][: len(names) - 1]
    while len(quotas) < len(names) - 1:
        quotas.append(round((1 - sum(quotas)) / 2, 4))
    cutoffs = [float(c) for c in settings.get(conn, "tiers.cutoffs")][: len(names) - 1]
    while len(cutoffs) < len(names) - 1:
        cutoffs.append(round((cutoffs[-1] if cutoffs else 50.0) / 2, 1))
    out["tiers.quotas"], out["tiers.cutoffs"] = quotas, cutoffs
    return out


def set_tier_names(session: Session, actor: writes.Actor, names: Sequence[str], expected_version: int) -> dict[str, Any]:
    """Rename or re-count the tiers, with what hangs on them (``tier_names_change``), in one transaction."""
    writes.check_write(actor, "settings", "update")
    names = check(session, "tiers.names", list(names))
    versions = _versions(session)
    if versions.get("tiers.names", 0) != expected_version:
        return settings.change(session, actor, "tiers.names", names, expected_version)  # raises StaleVersion
    changes = tier_names_change(session, names)
    result = settings.change(session, actor, "tiers.names", names, expected_version)
    for key, value in changes.items():
        if key != "tiers.names" and value != settings.get(session, key):
            settings.change(session, actor, key, value, versions.get(key, 0))
    return result


# --- stage and product weight -----------------------------------------------------------------------

SERVICE_BY_WEIGHT: dict[str, list[dict[str, Any]]] = {
    "heavy": [
        {"csm_level": "senior", "accounts_per_csm": 5, "cadence_en": "Weekly contact, on-site visit every two weeks",
         "cadence_zh": "每周联系，每两周上门拜访"},
        {"csm_level": "experienced", "accounts_per_csm": 20, "cadence_en": "Weekly contact, monthly on-site visit",
         "cadence_zh": "每周联系，每月上门拜访"},
        {"csm_level": "ordinary", "accounts_per_csm": 60, "cadence_en": "Contact every two weeks, quarterly visit",
         "cadence_zh": "每两周联系，每季度拜访"},
        {"csm_level": "ordinary", "accounts_per_csm": 300, "cadence_en": "Monthly contact",
         "cadence_zh": "每月联系"},
    ],
    "light": [
        {"csm_level": "experienced", "accounts_per_csm": 20, "cadence_en": "Weekly online check-in, quarterly visit",
         "cadence_zh": "每周线上沟通，每季度拜访"},
        {"csm_level": "ordinary", "accounts_per_csm": 80, "cadence_en": "Online contact every two weeks",
         "cadence_zh": "每两周线上联系"},
        {"csm_level": "ordinary", "accounts_per_csm": 300, "cadence_en": "Monthly online contact and group training",
         "cadence_zh": "每月线上联系与集中培训"},
        {"csm_level": "ordinary", "accounts_per_csm": 2000, "cadence_en": "Self-service: help centre and in-product messages",
         "cadence_zh": "自助服务：帮助中心与产品内消息"},
    ],
}
KA_SHARE = {"heavy": 0.03, "light": 0.05}
WINDOW_DAYS = {"heavy": 270, "light": 90}
MIN_COMPANY_SIZE = {"heavy": 200, "light": 20}
ACCOUNTS_FACTOR = {"starting": 1.5, "growing": 1.0, "mature": 0.8}
AMBER = {"starting": 0.90, "growing": 0.95, "mature": 0.97}


def proposal(conn: Connection | Session, stage: str, weight: str) -> dict[str, Any]:
    """The settings ``stage`` and ``weight`` propose (module docstring), for the tiers in force."""
    if stage not in STAGES or weight not in WEIGHTS:
        raise UsageError(f"stage is one of {', '.join(STAGES)} and weight one of {', '.join(WEIGHTS)}")
    names = list(settings.get(conn, "tiers.names"))
    pattern = SERVICE_BY_WEIGHT[weight]
    models = []
    for i, name in enumerate(names):
        model = dict(pattern[min(i, len(pattern) - 1)])
        model["accounts_per_csm"] = max(1, math.floor(model["accounts_per_csm"] * ACCOUNTS_FACTOR[stage] + 0.5))
        models.append({"tier": name, **model})
    quotas = [float(q) for q in settings.get(conn, "tiers.quotas")]
    if quotas:
        quotas[0] = KA_SHARE[weight]
    standard = dict(settings.get(conn, "events.effective_lead_standard"))
    standard["min_company_size"] = MIN_COMPANY_SIZE[weight]
    return {"company.stage": stage, "company.product_weight": weight, "tiers.quotas": quotas,
            "tiers.service_models": models, "events.attribution_window_days": WINDOW_DAYS[weight],
            "events.effective_lead_standard": standard, "status.amber_ratio": AMBER[stage]}


def proposed_changes(conn: Connection | Session, stage: str, weight: str) -> list[tuple[str, Any, Any]]:
    """(setting, value in force, proposed value) for each setting the proposal would change."""
    return [(key, settings.get(conn, key), value) for key, value in proposal(conn, stage, weight).items()
            if settings.get(conn, key) != value]


def apply(session: Session, actor: writes.Actor, proposed: Mapping[str, Any], seen: Mapping[str, int]) -> int:
    """Store a reviewed proposal as one change; ``seen``: the version of each setting the admin saw
    (a setting changed since is refused as stale). Returns how many settings changed."""
    writes.check_write(actor, "settings", "update")
    versions = _versions(session)
    for key in proposed:
        if versions.get(key, 0) != seen.get(key, 0):
            settings.change(session, actor, key, settings.get(session, key), seen.get(key, 0))  # raises StaleVersion
    count = 0
    for key, value in proposed.items():
        if settings.get(session, key) != value:
            settings.change(session, actor, key, check(session, key, value), versions.get(key, 0))
            count += 1
    return count


__all__ = ["SECTIONS", "SHOWN", "STAGES", "WEIGHTS", "CsmLevel", "StaleVersion", "apply", "change", "check",
           "proposal", "proposed_changes", "restore_default", "set_tier_names", "tier_names_change"]
