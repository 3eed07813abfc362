"""A setting as a person reads it: its name and its value in the reader's language.

One place for the settings page, the refusal of a stale save on it and the audit trail, so a setting
reads the same wherever it is shown: tiers by their names, severities and CSM levels by their labels,
hours and days with their units, alert rules in words.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from ops_core import alerts, events, metrics, present
from ops_core.i18n import TEXT, label, t
from ops_core.vocab import CsmLevel, Severity


def name(key: str, lang: str) -> str:
    """The setting's name (the settings page's heading); a setting kept for the tool itself by its key."""
    return t(f"setting.{key}", lang) if f"setting.{key}" in TEXT else key


def plain_text(value: Any, lang: str) -> str:
    """Any other value: empty as a dash, yes/no in ``lang``, dates as dates, numbers with separators."""
    if present.missing(value) or (isinstance(value, str) and not value.strip()):
        return t("edit.empty", lang)
    if isinstance(value, bool):
        return t("edit.yes" if value else "edit.no", lang)
    if isinstance(value, (dt.date, dt.datetime)):
        return present.date_text(value)
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    if isinstance(value, (int, float)):
        return f"{value:,}"
    return str(value)


def _hours(value: float, lang: str) -> str:
    return t("settings.hours", lang, hours=f"{value:g}")


def value_text(key: str, value: Any, lang: str) -> str:
    """A setting's value as a person reads it, in ``lang``."""
    sep, colon = t("edit.list_sep", lang), t("settings.colon", lang)
    if key == "tiers.names":
        return "、".join(present.tier_label(n, lang) for n in value) if lang == "zh" else ", ".join(map(str, value))
    if key == "tiers.service_models":
        return sep.join(t("settings.model_text", lang, tier=present.tier_label(m["tier"], lang),
                          level=label(CsmLevel, m["csm_level"], lang), accounts=m["accounts_per_csm"],
                          cadence=m.get(f"cadence_{lang}") or m.get("cadence_en", ""))
                        for m in value)
    if key == "tiers.csm_headcount":
        return sep.join(f"{label(CsmLevel, k, lang)}{colon}{v}" for k, v in value.items()) \
            or t("settings.from_team_list", lang)
    if key in ("feedback.sla_first_response_hours", "feedback.sla_resolution_hours"):
        return sep.join(f"{present.tier_label(tier, lang)}{colon}" + t("settings.comma", lang).join(
            f"{label(Severity, s, lang)} {_hours(h, lang)}" for s, h in by_severity.items())
            for tier, by_severity in value.items())
    if key == "feedback.sla_work_hours":
        return f"{value.get('start', '00:00')}–{value.get('end', '24:00')}"
    if key in ("feedback.sla_holidays", "feedback.sla_workdays"):
        return ", ".join(map(str, value)) or t("edit.empty", lang)
    if key == "risk.level_floors":
        return t("settings.risk.text", lang, high=f"{float(value['high']):g}", medium=f"{float(value['medium']):g}")
    if key == "status.amber_ratio":
        return f"{float(value):.0%}"
    if key == "tiers.quotas":
        return ", ".join(f"{float(q):.0%}" for q in value)
    if key == "tiers.cutoffs":
        return ", ".join(f"{float(c):g}" for c in value)
    if key == "tiers.mode":
        return t(f"customers.mode.{value}", lang)
    if key == "events.effective_lead_standard":
        return events.LeadStandard.from_dict(value).describe(lang)
    if key == "company.stage":
        return t(f"settings.stage.{value}", lang)
    if key == "company.product_weight":
        return t(f"settings.weight.{value}", lang)
    if key == "import.max_upload_mb":
        return f"{value:g} MB"
    if key == "events.attribution_window_days":
        return t("settings.days", lang, days=value)
    if key == "events.decay_half_life_days":
        return t("settings.days", lang, days=f"{float(value):g}")
    if key == "alerts.rules":
        return sep.join(rule_text(alerts.Rule(**r), lang) for r in value) or t("edit.empty", lang)
    return plain_text(value, lang)


def rule_text(rule: alerts.Rule, lang: str) -> str:
    """An alert rule in words: the metric, the rule, and its segment if it has one."""
    colon = t("settings.colon", lang)
    where = "" if rule.segment is None else \
        f" ({t('alerts.col.segment', lang)}{colon}{t(f'ind.segment.{rule.segment}', lang)})"
    return f"{metrics.BY_KEY[rule.metric].name(lang)}{colon}{rule.describe(lang)}{where}"
