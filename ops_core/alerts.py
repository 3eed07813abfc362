"""Alerts: a watch list of rules on the registry's metrics, evaluated for one period.

A rule watches one metric, over all customers or per value of one segment, for one of two things:
- ``off_target``: the period's status is red (below its minimum, or outside the amber band of its
  target, ``metrics.status``), judged at the period's own grain (``metrics.targets``);
- ``change``: the value moved by more than ``threshold`` against the previous period or the same
  period a year before, in either direction: percentage points for a rate (0.01 = 1 pp), percent
  for an amount or a count (0.05 = 5 %), as ``metrics.with_comparisons`` measures changes.

The rules are one setting (``alerts.rules``), changed through the write path and audited like any
setting. An alert names the metric, the segment, the value, the rule and, for a revenue metric,
the customers behind the move (the largest movements of the period, ``indicators.movement_customers``).
``python -m ops_core.metrics alerts`` prints a period's alerts; the home page shows the last
complete month's. A scheduler (cron) sends the digest: nothing here runs on its own.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ops_core import indicators, metrics, reports, settings, settings_admin, writes
from ops_core.errors import UsageError
from ops_core.filters import Filters
from ops_core.i18n import t
from ops_core.periods import Period, previous, year_before
from ops_core.present import segment_label
from ops_core.vocab import Grain

RULES_KEY = "alerts.rules"
KINDS = ("off_target", "change")
AGAINST = ("previous", "year_before")
# Which MRR movements explain a metric's move, by the direction it moved: (when down, when up).
BEHIND = {
    "arr": (("churn", "contraction"), ("new", "expansion", "reactivation")),
    "nrr": (("churn", "contraction"), ("expansion",)),
    "grr": (("churn", "contraction"), ()),
    "logo_churn": ((), ("churn",)),
    "expansion_rate": ((), ("expansion",)),
    "mrr_churn": ((), ("churn",)),
    "mrr_contraction": ((), ("contraction",)),
    "mrr_expansion": ((), ("expansion",)),
    "mrr_new": ((), ("new",)),
}
NAMED_CUSTOMERS = 5


@dataclass(frozen=True)
class Rule:
    metric: str
    kind: str = "change"
    threshold: float = 0.0          # for "change": pp of a rate as a fraction, or a relative change
    against: str = "previous"
    segment: str | None = None      # None: all customers; else one alert per value of this segment

    def __post_init__(self) -> None:
        if self.metric not in metrics.BY_KEY:
            raise UsageError(f"unknown metric '{self.metric}'")
        if self.kind not in KINDS:
            raise UsageError(f"an alert rule is one of {', '.join(KINDS)}, not '{self.kind}'")
        if self.against not in AGAINST:
            raise UsageError(f"an alert compares with {' or '.join(AGAINST)}, not '{self.against}'")
        if self.segment is not None and self.segment not in metrics.SEGMENTS:
            raise UsageError(f"unknown segment '{self.segment}'")
        if self.kind == "change" and not self.threshold > 0:
            raise UsageError("a change rule needs a threshold above 0")

    def describe(self, lang: str = "en") -> str:
        metric = metrics.BY_KEY[self.metric]
        if self.kind == "off_target":
            return t("alerts.rule.off_target", lang)
        size = (f"{self.threshold * 100:g} {t('alerts.pp', lang)}" if metric.unit is metrics.Unit.ratio
                else f"{self.threshold * 100:g}%")
        return t(f"alerts.rule.change.{self.against}", lang, size=size)


@dataclass(frozen=True)
class Alert:
    rule: Rule
    period: str
    segment: str                    # "all", or the segment's value (code)
    value: float | None
    compared: float | None          # the previous / year-before value, or the target
    change: float | None
    customers: tuple[str, ...] = field(default_factory=tuple)  # codes and names behind the move

    def sentence(self, lang: str = "en") -> str:
        metric = metrics.BY_KEY[self.rule.metric]
        where = "" if self.segment == "all" else f" [{segment_label(self.rule.segment, self.segment, lang)}]"
        line = t("alerts.line", lang, metric=metric.name(lang), where=where, period=self.period,
                 value=reports.format_value(metric, self.value, lang), rule=self.rule.describe(lang),
                 compared=reports.format_value(metric, self.compared, lang))
        if self.customers:
            line += ("" if lang == "zh" else " ") + t("alerts.behind", lang,
                                                      customers=("、" if lang == "zh" else ", ").join(self.customers))
        return line

    def record(self, lang: str = "en") -> dict[str, Any]:
        return {"metric": self.rule.metric, "segment": self.segment, "period": self.period, "value": self.value,
                "compared": self.compared, "change": self.change, "rule": asdict(self.rule),
                "customers": list(self.customers), "text": self.sentence(lang)}


def rules(conn: Connection | Session) -> list[Rule]:
    """The rules in force (the setting's list, each checked)."""
    return [Rule(**entry) for entry in settings.get(conn, RULES_KEY)]


def save_rules(session: Session, actor: writes.Actor, wanted: Sequence[Rule], expected_version: int) -> dict[str, Any]:
    """Replace the rules (write path: role checked, version compared, audited)."""
    return settings_admin.change(session, actor, RULES_KEY, [asdict(r) for r in wanted], expected_version)


def evaluate(conn: Connection, grain: Grain | str, period: Period, chosen: Sequence[Rule] | None = None,
             filters: Filters | None = None, as_of: dt.date | None = None) -> list[Alert]:
    """The alerts of ``period``: every rule against every segment value it watches, in the order of the rules."""
    grain = Grain(grain)
    chosen = rules(conn) if chosen is None else list(chosen)
    if not chosen:
        return []
    span = sorted({year_before(period), previous(period), period})
    goals = metrics.targets(conn, grain, [period]).set_index("metric")
    amber = float(settings.get(conn, "status.amber_ratio"))
    found: list[Alert] = []
    for segment in dict.fromkeys(r.segment for r in chosen):  # one query set per segment, not per rule
        watched = [r.metric for r in chosen if r.segment == segment]  # read only where their numbers come from
        long = metrics.long_values(metrics.wide_values(conn, span, filters, segment, as_of, **metrics.reads_for(watched)),
                                   watched)
        values = metrics.with_comparisons(long, grain)
        now = values[pd.to_datetime(values["period_start"]).dt.date == period.start]
        for rule in (r for r in chosen if r.segment == segment):
            metric = metrics.BY_KEY[rule.metric]
            for row in now[now["metric"] == rule.metric].itertuples():
                alert = _check(rule, metric, row, goals.loc[rule.metric], amber, period)
                if alert is not None:
                    found.append(_with_customers(conn, alert, period, filters))
    return found


def _check(rule: Rule, metric: metrics.Metric, row: Any, goal: pd.Series, amber: float, period: Period) -> Alert | None:
    value = None if pd.isna(row.value) else float(row.value)
    if value is None:
        return None
    if rule.kind == "off_target":
        target = None if pd.isna(goal["target"]) else float(goal["target"])
        minimum = None if pd.isna(goal["minimum"]) else float(goal["minimum"])
        if metrics.status(metric, value, target, minimum, amber) != "red":
            return None
        return Alert(rule, period.label, row.segment, value, target, value - target)
    compared = row.previous if rule.against == "previous" else row.year_before
    change = row.change if rule.against == "previous" else row.yoy_change
    if pd.isna(change) or abs(float(change)) <= rule.threshold:
        return None
    return Alert(rule, period.label, row.segment, value, float(compared), float(change))


def _with_customers(conn: Connection, alert: Alert, period: Period, filters: Filters | None) -> Alert:
    """The alert with the customers whose MRR movements make the move, largest first."""
    down, up = BEHIND.get(alert.rule.metric, ((), ()))
    moved_up = alert.change is not None and alert.change > 0
    movements = up if moved_up else down
    if not movements:
        return alert
    segment, value = (None, None) if alert.segment == "all" else (alert.rule.segment, alert.segment)
    lists = [indicators.movement_customers(conn, period, m, filters, segment, value) for m in movements]
    rows = pd.concat([x for x in lists if len(x)], ignore_index=True) if any(len(x) for x in lists) else None
    if rows is None:
        return alert
    biggest = rows.reindex(rows["change"].abs().sort_values(ascending=False).index).head(NAMED_CUSTOMERS)
    named = tuple(f"{code} {name}" for code, name in zip(biggest["code"], biggest["name"], strict=True))
    return Alert(alert.rule, alert.period, alert.segment, alert.value, alert.compared, alert.change, named)


def markdown(found: Sequence[Alert], grain: Grain | str, period: Period, lang: str = "en") -> str:
    """The digest a scheduler sends: a title line and one bullet per alert (or that there is none)."""
    head = t("alerts.digest", lang, period=period.label, count=len(found))
    if not found:
        return f"# {head}\n\n{t('alerts.none', lang)}\n"
    return f"# {head}\n\n" + "".join(f"- {a.sentence(lang)}\n" for a in found)
