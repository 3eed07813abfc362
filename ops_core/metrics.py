"""The metric registry: every indicator of the indicator system, declared once.

The page, the reports, the snapshots, the command line and the tests all read ``REGISTRY``. Each
metric names where its value comes from (a column of ``indicators.level1`` or
``usage.usage_by_period``) and, for rates, the additive numerator and denominator columns behind
it, so a change can be split into the segments that caused it. The formula stays in code; the
owner, the description and the targets per period are editable in the app (``metric_definitions``
and ``metric_targets``, written through ``ops_core.writes``).

Rules used everywhere (and tested in ``tests/test_metrics.py``):

- Comparisons: a rate's change is the difference in percentage points (0.91 -> 0.94 is +3.0 pp),
  never the growth of a percentage; an amount's or count's change is relative growth.
- Status: with the target and an optional minimum of the period (or the metric's default target),
  a value that meets the target is green; one that misses it but meets the minimum is amber
  (without a minimum: within ``status.amber_ratio`` of the target, e.g. at least 95 % of it, or
  for a lower-is-better metric at most target / 0.95); anything else red. No value: "n/a".
- Contribution of a segment to a rate's change: with additive numerator N and denominator D, the
  segment's rate r = N_s / D_s and weight w = D_s / D, its own move plus its change of weight
  ``mean(w) * (r_now - r_before) + (w_now - w_before) * (mean(r) - mean(R))`` (R the overall rate,
  means of the two periods; a segment absent from a period keeps its other rate). A segment whose
  due contracts grew at the company's rate moves nothing; the contributions of segments that
  partition the customers add up to the overall change exactly. For an amount:
  ``value_s,now - value_s,before``.

    python -m ops_core.metrics --grain month --from 2026-01 --to 2026-10 [--segment industry] --format csv|json
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ops_core import indicators, settings, usage, writes
from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.errors import StaleVersion, UsageError
from ops_core.filters import Filters
from ops_core.i18n import METRIC_TEXT_ZH, TEXT, t
from ops_core.periods import Period, parse_period, period_of, periods_between, previous, year_before
from ops_core.vocab import Grain

SEGMENTS = ("industry", "region", "size_band", "tier", "product_line", "csm")

definitions_table = TABLES["metric_definitions"]
targets_table = TABLES["metric_targets"]


class Direction(StrEnum):
    up = "higher_is_better"
    down = "lower_is_better"


class Unit(StrEnum):
    ratio = "ratio"        # shown as a percentage; compared in percentage points
    cents = "cents"        # money, shown in yuan
    count = "count"
    number = "number"      # a measured quantity that is not a count (an average)


class Compounding(StrEnum):
    """How a metric's monthly rate becomes a week's or a quarter's (n months: 3 a quarter, 12/52.18 a
    week), so a period without a target of its own is judged by the monthly target restated for it."""

    none = "none"            # a share of a population (renewal, activity): the same at every grain
    retention = "retention"  # kept revenue compounds: m^n
    churn = "churn"          # what survives compounds: 1 - (1 - m)^n
    growth = "growth"        # growth on growth: (1 + m)^n - 1

    def restate(self, monthly: float | None, months: float) -> float | None:
        if monthly is None or monthly != monthly:
            return None
        match self:
            case Compounding.retention:
                return monthly ** months
            case Compounding.churn:
                return 1 - (1 - monthly) ** months
            case Compounding.growth:
                return (1 + monthly) ** months - 1
            case _:
                return monthly


MONTHS_IN = {Grain.week: 12 / (365.2425 / 7), Grain.month: 1.0, Grain.quarter: 3.0}


class Source(StrEnum):
    revenue = "revenue"    # indicators.level1
    usage = "usage"        # usage.usage_by_period


@dataclass(frozen=True)
class Metric:
    key: str
    name_en: str
    name_zh: str
    definition: str
    formula: str
    unit: Unit
    direction: Direction
    level: int
    parent: str | None
    owner: str
    default_target: float | None
    source: Source
    column: str
    numerator: str | None = None     # additive columns behind a rate (for contributions)
    denominator: str | None = None
    compounding: Compounding = Compounding.none  # how the monthly target reads for a week or a quarter

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def definition_in(self, lang: str) -> str:
        """The plain-language definition in ``lang`` (Chinese from the translation table)."""
        return METRIC_TEXT_ZH[self.key][0] if lang == "zh" and self.key in METRIC_TEXT_ZH else self.definition

    def formula_in(self, lang: str) -> str:
        return METRIC_TEXT_ZH[self.key][1] if lang == "zh" and self.key in METRIC_TEXT_ZH else self.formula


def _m(key: str, en: str, zh: str, definition: str, formula: str, unit: Unit, direction: Direction, level: int,
       parent: str | None, owner: str, target: float | None, source: Source, column: str | None = None,
       numerator: str | None = None, denominator: str | None = None,
       compounding: Compounding = Compounding.none) -> Metric:
    return Metric(key, en, zh, definition, formula, unit, direction, level, parent, owner, target, source,
                  column or key, numerator, denominator, compounding)


UP, DOWN = Direction.up, Direction.down
REV, USE = Source.revenue, Source.usage

REGISTRY: tuple[Metric, ...] = (
    # --- level 1: the core business ------------------------------------------------------------
    _m("arr", "ARR", "年度经常性收入", "Annual recurring revenue at the end of the period: 12 × the MRR of every "
       "contract in force on the last day. A contract's MRR is its amount over its term in months: whole months "
       "from the start day, a partial month by its share of days; a contract that starts and ends within one "
       "calendar month counts for nothing.",
       "12 × Σ amount / term in months, contracts in force on the last day",
       Unit.cents, UP, 1, None, "Head of operations", None, REV),
    _m("nrr", "Net revenue retention", "净收入留存率 (NRR)", "Recurring revenue kept from the customers paying at the "
       "start, after their expansion, contraction and churn; new and returning customers excluded.",
       "(Start + Expansion − Contraction − Churn) / Start", Unit.ratio, UP, 1, None, "Head of customer success", 1.0,
       REV, numerator="retained_mrr", denominator="mrr_start", compounding=Compounding.retention),
    _m("grr", "Gross revenue retention", "总收入留存率 (GRR)", "Recurring revenue kept from the customers paying at "
       "the start, counting only losses; never above 100 %.", "1 − (Churn + Contraction) / Start", Unit.ratio, UP, 1,
       None, "Head of customer success", 0.9, REV, numerator="grr_numerator", denominator="mrr_start",
       compounding=Compounding.retention),
    _m("logo_churn", "Logo churn", "客户流失率", "Customers paying at the start who pay nothing at the end; customers "
       "who join and leave inside the period are not counted.", "customers churned / customers paying at the start",
       Unit.ratio, DOWN, 1, None, "Head of customer success", 0.02, REV, numerator="customers_churned",
       denominator="logo_count_start", compounding=Compounding.churn),
    _m("renewal_rate", "Renewal rate", "续约率", "Contracts ending in the period that were renewed (a renewal contract "
       "signed), by count.", "renewed / contracts up for renewal", Unit.ratio, UP, 1, None, "Head of customer success",
       0.85, REV, numerator="renewed", denominator="renewals_due"),
    _m("expansion_rate", "Expansion rate", "增购率", "Recurring revenue added by customers already paying at the "
       "start, against the recurring revenue at the start.", "Expansion MRR / Start MRR", Unit.ratio, UP, 1, None,
       "Head of sales", 0.02, REV, numerator="expansion", denominator="mrr_start", compounding=Compounding.growth),
    _m("repurchase_rate", "Repurchase rate", "复购率", "Customers whose first order fell in the period and who "
       "ordered again within a year of it; recent periods are not complete yet.",
       "customers with a second order within 365 days / customers with a first order", Unit.ratio, UP, 1, None,
       "Head of sales", 0.3, REV, numerator="repurchased", denominator="first_orders"),
    _m("activity_rate", "Activity rate", "活跃率", "Paying accounts with any product usage in the period.",
       "active paying accounts / paying accounts", Unit.ratio, UP, 1, None, "Head of operations", 0.8, REV,
       numerator="active_accounts", denominator="paying_accounts"),
    # --- level 2: what the core numbers are made of ----------------------------------------------
    _m("mrr_new", "New MRR", "新增 MRR", "Monthly recurring revenue of customers paying for the first time.",
       "Σ end MRR of new customers", Unit.cents, UP, 2, "arr", "Head of sales", None, REV, "new"),
    _m("mrr_expansion", "Expansion MRR", "增购 MRR", "MRR added by customers paying at the start and the end.",
       "Σ (end − start) where end > start > 0", Unit.cents, UP, 2, "expansion_rate", "Head of sales", None, REV,
       "expansion"),
    _m("mrr_reactivation", "Reactivation MRR", "回流 MRR", "MRR of customers who had paid before, stopped, and pay again.",
       "Σ end MRR of returning customers", Unit.cents, UP, 2, "arr", "Head of customer success", None, REV,
       "reactivation"),
    _m("mrr_contraction", "Contraction MRR", "缩减 MRR", "MRR lost by customers who still pay, but less.",
       "Σ (start − end) where start > end > 0", Unit.cents, DOWN, 2, "grr", "Head of customer success", None, REV,
       "contraction"),
    _m("mrr_churn", "Churned MRR", "流失 MRR", "MRR of customers who stopped paying (a contraction to zero is churn).",
       "Σ start MRR where end = 0", Unit.cents, DOWN, 2, "grr", "Head of customer success", None, REV, "churn"),
    _m("customers_churned", "Customers churned", "流失客户数", "Customers paying at the start and not at the end.",
       "count", Unit.count, DOWN, 2, "logo_churn", "Head of customer success", None, REV),
    _m("renewal_rate_arr", "Renewal rate by ARR", "续约率（按 ARR）", "Annual value of the contracts ending in the "
       "period that were renewed, against the annual value of all of them.", "renewed ARR / ARR up for renewal",
       Unit.ratio, UP, 2, "renewal_rate", "Head of customer success", 0.85, REV, numerator="renewed_arr",
       denominator="renewals_due_arr"),
    _m("renewals_due", "Contracts up for renewal", "到期合同数", "Contracts whose last day falls in the period.",
       "count", Unit.count, UP, 2, "renewal_rate", "Head of customer success", None, REV),
    _m("paying_accounts", "Paying accounts", "付费客户数", "Customers with a contract in force on the period's last day.",
       "count", Unit.count, UP, 2, "activity_rate", "Head of operations", None, REV),
    _m("active_accounts", "Active paying accounts", "活跃付费客户数", "Paying accounts with any usage in the period.",
       "count", Unit.count, UP, 2, "activity_rate", "Head of operations", None, REV),
    _m("stickiness", "Stickiness (DAU/MAU)", "粘性 (DAU/MAU)", "How much of an account's period audience comes back "
       "on an ordinary day, averaged over active accounts.", "mean over accounts of average DAU / period active users",
       Unit.ratio, UP, 2, "activity_rate", "Head of product", 0.3, USE),
    _m("feature_adoption", "Feature adoption", "功能采用率", "Active accounts that used the tracked features.",
       "accounts with feature events / active accounts", Unit.ratio, UP, 2, "activity_rate", "Head of product", 0.6, USE),
    _m("new_users", "New users", "新增用户", "Users registered inside customer accounts in the period.", "count",
       Unit.count, UP, 2, "activity_rate", "Head of product", None, USE),
    # --- level 3: usage detail -------------------------------------------------------------------
    _m("dau", "DAU", "日活跃用户 (DAU)", "Average daily active users over the period's days.",
       "Σ daily active users / days in the period", Unit.number, UP, 3, "stickiness", "Head of product", None, USE),
    _m("period_active_users", "Period active users (WAU / MAU)", "周期活跃用户（周活/MAU）", "Users active in the week "
       "(WAU) or month (MAU), summed over accounts; each account counts its busiest day, so it is a lower bound.",
       "Σ over accounts of the peak daily active users in the period", Unit.count, UP, 3, "stickiness",
       "Head of product", None, USE),
    _m("page_views", "Page views (PV)", "页面浏览量 (PV)", "Pages viewed in the period.", "Σ page views",
       Unit.count, UP, 3, "active_accounts", "Head of product", None, USE),
    _m("unique_visitors", "Unique visitors (UV)", "独立访客 (UV)", "Distinct visitors, summed over accounts and days.",
       "Σ unique visitors", Unit.count, UP, 3, "active_accounts", "Head of product", None, USE),
)
BY_KEY: dict[str, Metric] = {m.key: m for m in REGISTRY}
LEVEL1: tuple[Metric, ...] = tuple(m for m in REGISTRY if m.level == 1)


# --- registry checks (run by a test and when the page starts) -----------------------------------


def registry_problems(metrics: Sequence[Metric] = REGISTRY) -> list[str]:
    """Everything wrong with a registry, one sentence each (empty when it is sound)."""
    problems: list[str] = []
    keys = [m.key for m in metrics]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"metric key '{key}' is declared more than once")
    by_key = {m.key: m for m in metrics}
    for m in metrics:
        if m.level not in (1, 2, 3):
            problems.append(f"metric '{m.key}' has level {m.level}; levels are 1, 2 and 3")
        if m.level == 1 and m.parent is not None:
            problems.append(f"level-1 metric '{m.key}' has a parent")
        if m.level > 1:
            parent = by_key.get(m.parent or "")
            if parent is None:
                problems.append(f"metric '{m.key}' names parent '{m.parent}', which is not declared")
            elif parent.level != m.level - 1:
                problems.append(f"metric '{m.key}' (level {m.level}) sits under '{parent.key}' (level {parent.level})")
        if (m.numerator is None) != (m.denominator is None):
            problems.append(f"metric '{m.key}' names only one of numerator and denominator")
        if m.unit is Unit.ratio and m.numerator is None and m.source is Source.revenue:
            problems.append(f"rate '{m.key}' names no numerator and denominator")
    for m in metrics:  # a cycle would make a tree walk loop forever
        seen, current = set(), m
        while current is not None and current.parent is not None:
            if current.key in seen:
                problems.append(f"metric '{m.key}' is its own ancestor")
                break
            seen.add(current.key)
            current = by_key.get(current.parent)
    return problems


def children(key: str | None) -> list[Metric]:
    return [m for m in REGISTRY if m.parent == key]


# Metrics that move a metric without being its children in the tree (each has one parent): NRR moves
# with the expansion under the expansion rate and the contraction and churn under GRR.
DRIVERS: dict[str, tuple[str, ...]] = {"nrr": ("mrr_expansion", "mrr_contraction", "mrr_churn")}


def components(key: str) -> list[Metric]:
    """What a reader opens under a metric: its children, else the metrics that drive it."""
    return children(key) or [BY_KEY[k] for k in DRIVERS.get(key, ())]


# --- values ----------------------------------------------------------------------------------------


def wide_values(conn: Connection, periods: list[Period], filters: Filters | None = None, segment: str | None = None,
                as_of: dt.date | None = None, sources: Iterable[Source] = tuple(Source),
                parts: Iterable[str] = tuple(indicators.LEVEL1_PARTS)) -> pd.DataFrame:
    """Every source column per (period, segment): ``indicators.level1`` joined with ``usage.usage_by_period``;
    ``sources`` and ``parts`` (level1's) leave out what no metric asked for reads: one metric's
    breakdown reads only where its own numbers come from."""
    if segment is not None and segment not in SEGMENTS:
        raise UsageError(f"unknown segment '{segment}'; choose one of {', '.join(SEGMENTS)}")
    sources = set(sources)
    keys = ["period", "period_start", "segment"]
    revenue = indicators.level1(conn, periods, filters, segment, as_of=as_of, parts=parts) if Source.revenue in sources else None
    activity = usage.usage_by_period(conn, periods, filters, segment) if Source.usage in sources else None
    if activity is None:
        wide = revenue
    elif revenue is None:
        return activity.sort_values(["period_start", "segment"], ignore_index=True)
    else:
        extra = [c for c in activity.columns if c not in revenue.columns or c in keys]
        if revenue.empty:  # no customer in any segment (an empty store): its key columns come back as floats
            revenue = revenue.astype({k: activity[k].dtype for k in keys})
        elif activity.empty:
            activity = activity.astype({k: revenue[k].dtype for k in keys})
        wide = revenue.merge(activity[extra], on=keys, how="outer")
    wide["grr_numerator"] = wide["mrr_start"] - wide["lost_mrr"]  # GRR = this / Start, additive over segments
    return wide.sort_values(["period_start", "segment"], ignore_index=True)


def reads_for(keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """What ``wide_values`` must read for the metrics ``keys`` (its ``sources`` and ``parts`` arguments):
    their sources, and of level1's reads besides the bridge only those their columns come from."""
    chosen = [BY_KEY[k] for k in keys]
    return {"sources": tuple(dict.fromkeys(m.source for m in chosen)),
            "parts": indicators.level1_parts_for(c for m in chosen for c in (m.column, m.numerator, m.denominator))}


def compute(conn: Connection, grain: Grain | str, first: dt.date | str, last: dt.date | str,
            filters: Filters | None = None, segment: str | None = None, as_of: dt.date | None = None,
            keys: Iterable[str] | None = None) -> pd.DataFrame:
    """Every metric (or ``keys``) per period and segment, long form.

    Out: ``period, period_start, segment, metric, value`` plus, for rates, ``numerator`` and
    ``denominator``; value NaN where the metric is undefined (shown "n/a").
    """
    periods = periods_between(grain, first, last)
    return long_values(wide_values(conn, periods, filters, segment, as_of), keys)


def long_values(wide: pd.DataFrame, keys: Iterable[str] | None = None) -> pd.DataFrame:
    """``wide_values`` as one row per (period, segment, metric): value, and a rate's numerator and denominator."""
    chosen = [BY_KEY[k] for k in keys] if keys is not None else list(REGISTRY)
    parts = []
    for m in chosen:  # one vectorised block per metric: a few dozen, never per customer
        part = wide[["period", "period_start", "segment"]].copy()
        part["metric"] = m.key
        part["value"] = wide[m.column].astype(float) if m.column in wide else np.nan
        part["numerator"] = wide[m.numerator].astype(float) if m.numerator else np.nan
        part["denominator"] = wide[m.denominator].astype(float) if m.denominator else np.nan
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def in_display_units(metric: Metric, values: pd.Series) -> pd.Series:
    """Values as a chart shows them: money in yuan (stored in cents), everything else as computed."""
    return values.astype(float) / 100.0 if metric.unit is Unit.cents else values.astype(float)


def change(metric: Metric, now: float | None, before: float | None) -> float:
    """Percentage points for a rate (as a fraction: 0.03 is +3 pp), relative growth otherwise; NaN if undefined."""
    one = pd.Series([now, before], dtype=float)
    return float(_changes(pd.Series([metric.key]), one.iloc[:1], one.iloc[1:].set_axis([0])).iloc[0])


def _changes(metric_keys: pd.Series, now: pd.Series, before: pd.Series) -> pd.Series:
    """The rule of ``change`` over aligned Series of metric keys and values (one vectorised pass)."""
    ratio = metric_keys.map(lambda k: BY_KEY[k].unit is Unit.ratio).astype(bool).to_numpy()
    now_v, before_v = now.to_numpy(dtype=float), before.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(before_v == 0, np.nan, (now_v - before_v) / np.abs(before_v))
    return pd.Series(np.where(ratio, now_v - before_v, relative), index=now.index)


def with_comparisons(values: pd.DataFrame, grain: Grain | str) -> pd.DataFrame:
    """Adds ``previous``, ``change``, ``year_before`` and ``yoy_change`` to a long frame of ``compute``
    (the earlier periods must be in the frame for their values to be found)."""
    grain = Grain(grain)
    out = values.copy()
    starts = pd.to_datetime(out["period_start"]).dt.date
    index = out.set_index(["metric", "segment", "period_start"])["value"]
    index = index[~index.index.duplicated()]
    for column, shift in (("previous", previous), ("year_before", year_before)):
        earlier = starts.map(lambda d, s=shift: s(period_of(grain, d)).start)
        lookup = pd.MultiIndex.from_arrays([out["metric"], out["segment"], pd.Series(earlier.to_numpy(), dtype=object)])
        out[column] = index.reindex(lookup).to_numpy()
    out["change"] = _changes(out["metric"], out["value"], out["previous"])
    out["yoy_change"] = _changes(out["metric"], out["value"], out["year_before"])
    return out


# --- targets and status ------------------------------------------------------------------------


def _stored_targets(conn: Connection, grain: Grain, starts: Sequence[dt.date]) -> pd.DataFrame:
    return frame_of(conn.execute(
        select(targets_table.c.metric_key, targets_table.c.period_start, targets_table.c.minimum,
               targets_table.c.target, targets_table.c.stretch, targets_table.c.id, targets_table.c.version)
        .where(targets_table.c.grain == grain.value, targets_table.c.period_start.in_(list(starts)))).all(),
        columns=["metric", "period_start", "minimum", "target", "stretch", "target_id", "target_version"])


def targets(conn: Connection, grain: Grain | str, periods: Sequence[Period]) -> pd.DataFrame:
    """Target, minimum and stretch per (metric, period), each period judged at its own grain.

    ``basis`` says where they come from: "set" (a row stored for this grain and period); for a week or
    a quarter without one, "monthly" (the month's target of the period's first day, stored or the
    default, restated by the metric's ``compounding``: a 2 % monthly churn target is 5.88 % a quarter);
    else "default" (the metric's default, a monthly figure). ``monthly`` is the monthly target a
    restated one came from. Columns ``metric, period_start, minimum, target, stretch, target_id,
    target_version, basis, monthly``."""
    grain = Grain(grain)
    starts = [p.start for p in periods]
    grid = pd.MultiIndex.from_product([[m.key for m in REGISTRY], starts], names=["metric", "period_start"]).to_frame(index=False)
    out = grid.merge(_stored_targets(conn, grain, starts), on=["metric", "period_start"], how="left")
    for column in ("minimum", "target", "stretch"):
        out[column] = out[column].astype(float)
    out["basis"] = np.where(out["target"].notna(), "set", "default")
    out["monthly"] = np.nan
    missing = out["target"].isna()
    if grain is not Grain.month:
        month_of = {p.start: period_of(Grain.month, p.start).start for p in periods}
        monthly = _stored_targets(conn, Grain.month, sorted(set(month_of.values()))).set_index(["metric", "period_start"])
        months = MONTHS_IN[grain]
        for i in out.index[missing]:
            metric = BY_KEY[out.at[i, "metric"]]
            key = (metric.key, month_of[out.at[i, "period_start"]])
            found = monthly.loc[key] if key in monthly.index else None
            base = found if found is not None else {"target": metric.default_target, "minimum": None, "stretch": None}
            if base["target"] is None or pd.isna(base["target"]):
                continue
            out.at[i, "monthly"] = float(base["target"])
            for column in ("minimum", "target", "stretch"):
                value = None if base[column] is None or pd.isna(base[column]) else float(base[column])
                out.at[i, column] = metric.compounding.restate(value, months)
            out.at[i, "basis"] = "monthly"
    defaults = out["metric"].map(lambda k: BY_KEY[k].default_target).astype(float)
    out["target"] = out["target"].fillna(defaults)
    out.loc[out["target"].isna(), "basis"] = "none"
    return out


def status(metric: Metric, value: float, target: float | None, minimum: float | None, amber_ratio: float) -> str:
    """green / amber / red / n/a / no target, by the rule in the module docstring."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if target is None or (isinstance(target, float) and math.isnan(target)):
        return "no target"
    has_minimum = minimum is not None and not (isinstance(minimum, float) and math.isnan(minimum))
    if metric.direction is Direction.up:
        if value >= target:
            return "green"
        floor = minimum if has_minimum else target * amber_ratio
        return "amber" if value >= floor else "red"
    if value <= target:
        return "green"
    ceiling = minimum if has_minimum else target / amber_ratio
    return "amber" if value <= ceiling else "red"


def set_target(session: Session, actor: writes.Actor, key: str, grain: Grain | str, period: Period,
               target: float, minimum: float | None = None, stretch: float | None = None,
               expected_version: int | None = None) -> dict[str, Any]:
    """Store the target of one metric for one period (a new row, or the existing one at ``expected_version``)."""
    writes.check_write(actor, "metric_targets", "change")  # the role first, before anything is looked up
    if key not in BY_KEY:
        raise UsageError(f"unknown metric '{key}'")
    values = {"metric_key": key, "grain": Grain(grain).value, "period_start": period.start,
              "minimum": minimum, "target": target, "stretch": stretch}
    found = session.execute(select(targets_table.c.id).where(
        targets_table.c.metric_key == key, targets_table.c.grain == Grain(grain).value,
        targets_table.c.period_start == period.start)).first()
    if found is None:
        return writes.create(session, actor, "metric_targets", values)
    if expected_version is None:  # the caller saw no target; someone has set one since
        current = session.execute(select(targets_table).where(targets_table.c.id == found[0])).mappings().one()
        raise StaleVersion("metric_targets", found[0], 0, writes.jsonable(current))
    return writes.update(session, actor, "metric_targets", found[0], expected_version,
                         {"minimum": minimum, "target": target, "stretch": stretch})


def scorecard(conn: Connection, grain: Grain | str, period: Period | str, filters: Filters | None = None,
              as_of: dt.date | None = None, keys: Iterable[str] | None = None, trend_periods: int = 12) -> pd.DataFrame:
    """One row per metric for one period: value, previous, change, year before, target, variance,
    status and the trend of the last ``trend_periods`` values (for a sparkline)."""
    grain = Grain(grain)
    chosen = parse_period(period, grain) if isinstance(period, str) else period
    values = long_values(wide_values(conn, scorecard_span(grain, chosen, trend_periods), filters, None, as_of), keys)
    return scorecard_of(values, grain, chosen, targets(conn, grain, [chosen]), float(settings.get(conn, "status.amber_ratio")),
                        trend_periods)


def scorecard_span(grain: Grain | str, chosen: Period, trend_periods: int = 12) -> list[Period]:
    """The periods a scorecard reads: its sparkline's (the previous one among them) and the same period a
    year before; the periods between are never read (for weeks that saves 40 of 53 periods' queries)."""
    trend_span = periods_between(Grain(grain), _back(chosen, trend_periods - 1).start, chosen.end)
    return sorted({*trend_span, year_before(chosen)})


def scorecard_of(values: pd.DataFrame, grain: Grain | str, chosen: Period, goals: pd.DataFrame, amber_ratio: float,
                 trend_periods: int = 12) -> pd.DataFrame:
    """``scorecard`` from the long values (``long_values``) of periods ending with ``chosen`` that hold its
    span (more before it change nothing), the period's ``targets`` and the amber ratio: a page that also
    shows those periods' values reads them once."""
    values = with_comparisons(values, Grain(grain))
    trend = values.groupby("metric", sort=False)["value"].apply(lambda s: s.tail(trend_periods).tolist())
    row = values[values["period_start"] == chosen.start].set_index("metric")
    goals = goals.set_index("metric")
    out = row[["period", "value", "numerator", "denominator", "previous", "change", "year_before", "yoy_change"]].join(
        goals[["minimum", "target", "stretch", "target_id", "target_version", "basis", "monthly"]])
    out["variance"] = out["value"] - out["target"]
    out["status"] = [status(BY_KEY[k], v, t, mn, amber_ratio)
                     for k, v, t, mn in zip(out.index, out["value"], out["target"], out["minimum"], strict=True)]
    out["trend"] = trend.reindex(out.index)
    out.insert(0, "level", [BY_KEY[k].level for k in out.index])
    return out.reset_index()


def values_of(conn: Connection, periods: Sequence[Period], filters: Filters | None = None) -> pd.DataFrame:
    """Every metric for the given periods (one grain, ending with the last), long form, as ``compute``."""
    return long_values(wide_values(conn, list(periods), filters))


def _back(period: Period, steps: int) -> Period:
    for _ in range(steps):
        period = previous(period)
    return period


# --- breakdown: which segment moved a metric ------------------------------------------------------


def breakdown(conn: Connection, key: str, grain: Grain | str, period: Period | str, segment: str,
              filters: Filters | None = None, as_of: dt.date | None = None) -> pd.DataFrame:
    """One metric by segment for a period and the one before: value now and before, and each
    segment's contribution to the change (``contributions``), largest mover first.
    Columns ``segment, value, previous, change, contribution, share_of_change``."""
    metric = BY_KEY.get(key)
    if metric is None:
        raise UsageError(f"unknown metric '{key}'")
    grain = Grain(grain)
    chosen = parse_period(period, grain) if isinstance(period, str) else period
    before = previous(chosen)
    span = [before, chosen]
    return contributions(metric, wide_values(conn, span, filters, segment, as_of, **reads_for([key])),
                         before.start, chosen.start)


def contributions(metric: Metric, parts: pd.DataFrame, before_start: dt.date, now_start: dt.date) -> pd.DataFrame:
    """Each segment's share of the change of ``metric`` from ``before_start`` to ``now_start`` (pure).

    A rate's denominators are summed over the segments, so the contributions add up to the change
    of the rate over those segments: the overall change when segments partition the customers,
    and the change per (customer, product line) for the product-line split."""
    def at(start: dt.date) -> pd.DataFrame:
        return parts[pd.to_datetime(parts["period_start"]).dt.date == start].set_index("segment")

    now, was = at(now_start), at(before_start)
    segments = now.index.union(was.index)
    now, was = now.reindex(segments), was.reindex(segments)
    out = pd.DataFrame(index=segments)
    out["value"] = now[metric.column].astype(float) if metric.column in now else np.nan
    out["previous"] = was[metric.column].astype(float) if metric.column in was else np.nan
    out["change"] = _changes(pd.Series(metric.key, index=segments), out["value"], out["previous"])
    if metric.numerator:
        out["contribution"] = _rate_contributions(now[metric.numerator], now[metric.denominator],
                                                  was[metric.numerator], was[metric.denominator])
    else:
        out["contribution"] = out["value"].fillna(0.0) - out["previous"].fillna(0.0)
    overall = out["contribution"].sum()
    out["share_of_change"] = out["contribution"] / overall if overall else np.nan
    out = out.reset_index(names="segment")
    return out.reindex(out["contribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def _rate_contributions(n_now: pd.Series, d_now: pd.Series, n_was: pd.Series, d_was: pd.Series) -> pd.Series:
    """Each segment's own move of the rate plus its change of weight (module docstring). Why not
    N_s,now / D_now - N_s,before / D_before: that credits a segment with every contract that became due
    in it, so one whose renewals fell but whose due contracts doubled "raised" the renewal rate. The
    midpoint split is exact: w1 r1 - w0 r0 = mean(w) dr + mean(r) dw, and the weights' changes sum to 0."""
    n_now, d_now, n_was, d_was = (x.astype(float).fillna(0.0) for x in (n_now, d_now, n_was, d_was))
    total_now, total_was = float(d_now.sum()), float(d_was.sum())
    w_now = d_now / total_now if total_now else d_now * 0.0
    w_was = d_was / total_was if total_was else d_was * 0.0
    r_now = (n_now / d_now.where(d_now != 0)).astype(float)
    r_was = (n_was / d_was.where(d_was != 0)).astype(float)
    r_now, r_was = r_now.fillna(r_was).fillna(0.0), r_was.fillna(r_now).fillna(0.0)
    overall_now = float(n_now.sum()) / total_now if total_now else 0.0
    overall_was = float(n_was.sum()) / total_was if total_was else 0.0
    # A side with nothing due at all has no rate: the whole change is then the other side's level.
    if not total_now or not total_was:
        return w_now * r_now - w_was * r_was
    return ((w_now + w_was) / 2 * (r_now - r_was)
            + (w_now - w_was) * ((r_now + r_was) / 2 - (overall_now + overall_was) / 2))


def leading_segment(split: pd.DataFrame, change: float | None) -> pd.Series | None:
    """The row of ``contributions`` that contributed most in the direction of ``change`` (a segment
    that moved against the change explains nothing of it); None when no segment moved with it."""
    if change is None or change != change or change == 0 or split.empty:
        return None
    along = split[split["contribution"] * change > 0]
    return None if along.empty else along.loc[along["contribution"].abs().idxmax()]


# --- editable definitions ------------------------------------------------------------------------


def catalogue(conn: Connection, lang: str = "en") -> pd.DataFrame:
    """Every metric's definition record, with the owner and description as edited in the app."""
    stored = {r.key: r for r in conn.execute(select(definitions_table)).all()}
    rows = []
    for m in REGISTRY:
        edited = stored.get(m.key)
        owner_key = f"metric.owner.{m.owner}"
        rows.append({
            "key": m.key, "name": m.name(lang), "level": m.level, "parent": BY_KEY[m.parent].name(lang) if m.parent else "",
            "definition": (edited.description if edited and edited.description else m.definition_in(lang)),
            "formula": m.formula_in(lang), "unit": t(f"metric.unit.{m.unit.value}", lang),
            "direction": t(f"metric.direction.{m.direction.value}", lang),
            "owner": edited.owner if edited and edited.owner else (t(owner_key, lang) if owner_key in TEXT else m.owner),
            "default_target": m.default_target, "updated_by": edited.updated_by if edited else None,
            "updated_at": edited.updated_at if edited else None, "version": edited.version if edited else 0,
        })
    return pd.DataFrame(rows)


def edit_definition(session: Session, actor: writes.Actor, key: str, owner: str, description: str,
                    expected_version: int) -> dict[str, Any]:
    """Change a metric's owner and description (``expected_version`` 0: never edited before)."""
    if key not in BY_KEY:
        raise UsageError(f"unknown metric '{key}'")
    stamp = {"owner": owner.strip() or None, "description": description.strip() or None,
             "updated_at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "updated_by": actor.username}
    if expected_version == 0:
        exists = session.execute(select(definitions_table.c.version).where(definitions_table.c.key == key)).first()
        if exists is None:
            return writes.create(session, actor, "metric_definitions", {"key": key, **stamp})
    return writes.update(session, actor, "metric_definitions", key, expected_version, stamp)


# --- command line --------------------------------------------------------------------------------


def table_for_output(values: pd.DataFrame) -> pd.DataFrame:
    """Long values as printed: one row per (period, segment, metric), 'n/a' where undefined."""
    out = values[["period", "segment", "metric", "value"]].copy()
    out["value"] = [("n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else
                     (round(v, 6) if BY_KEY[k].unit in (Unit.ratio, Unit.number) else int(round(v))))
                    for k, v in zip(out["metric"], out["value"], strict=True)]
    return out


def alerts_main(argv: list[str]) -> int:
    """``python -m ops_core.metrics alerts``: a period's alerts as Markdown or JSON; exit 0 with none."""
    from ops_core import alerts, cli

    parser = argparse.ArgumentParser(prog="python -m ops_core.metrics alerts",
                                     description="Print the alerts of one period (the rules of the alerts.rules setting).")
    parser.add_argument("--grain", choices=[g.value for g in Grain], default="month")
    parser.add_argument("--period", required=True, help="the period, e.g. 2026-11, 2026-W45, 2026-Q4")
    parser.add_argument("--format", choices=["md", "json"], default="md")
    parser.add_argument("--lang", choices=["en", "zh"], default="en")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)

    def body() -> int:
        period = parse_period(args.period, args.grain)  # a bad label fails before the store is opened
        with cli.open_store(args.database_url) as engine, engine.connect() as conn:
            found = alerts.evaluate(conn, args.grain, period)
        if args.format == "json":
            json.dump([a.record(args.lang) for a in found], sys.stdout, ensure_ascii=False, indent=1, default=str)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(alerts.markdown(found, args.grain, period, args.lang))
        return 0

    return cli.run(body)


def main(argv: list[str] | None = None) -> int:
    from ops_core import cli

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["alerts"]:
        return alerts_main(argv[1:])

    parser = argparse.ArgumentParser(prog="python -m ops_core.metrics", description="Print every metric of the registry per period.")
    parser.add_argument("--grain", choices=[g.value for g in Grain], default="month")
    parser.add_argument("--from", dest="first", required=True, help="first period, e.g. 2026-01, 2026-W03, 2026-Q1")
    parser.add_argument("--to", dest="last", required=True, help="last period")
    parser.add_argument("--segment", choices=SEGMENTS)
    parser.add_argument("--format", choices=["csv", "json"], default="csv")
    parser.add_argument("--as-of", dest="as_of", help="date renewals are judged at (default: the last period's end)")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)

    def body() -> int:
        as_of = cli.date_option(args.as_of, "--as-of")
        periods_between(args.grain, args.first, args.last)  # a bad label fails before the store is opened
        with cli.open_store(args.database_url) as engine, engine.connect() as conn:
            values = compute(conn, args.grain, args.first, args.last, segment=args.segment, as_of=as_of)
        out = table_for_output(values)
        if args.format == "json":
            json.dump(out.to_dict("records"), sys.stdout, ensure_ascii=False, indent=1, default=str)
            sys.stdout.write("\n")
        else:
            out.to_csv(sys.stdout, index=False)
        return 0

    return cli.run(body)


if __name__ == "__main__":
    from ops_core.cli import run_module

    run_module("ops_core.metrics")
