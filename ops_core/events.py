"""Event ROI: events, costs and leads, the effective-lead standard, multi-touch attribution, metrics
per event and per group of events, and the four-step review (DESIGN.md section 5, seed 002).

Numbers are taken *as of* a day: a touch, opportunity or win after the end of that day has not
happened yet. Definitions, per event:

- lead: a lead with at least one touch of the event (a lead touched by two events is a lead of both);
- effective lead: a lead meeting the ``LeadStandard`` in force;
- opportunity: a lead of the event that has become an opportunity (``opportunity_at``);
- conversion: a lead of the event that was won with a touch of this event inside the attribution
  window (touched on or before ``won_at`` and at most ``window_days`` before it); a lead won later
  than that is not a conversion of the event and brings it no revenue;
- attributed revenue: each won lead's amount split over its touches inside the window (touches of
  *every* event on the lead's path) by the attribution ``Model``, in whole cents by the largest-
  remainder rule, so the shares of all events add up exactly to the amount won;
- pipeline: the amounts of open opportunities, split by the same model over the lead's touches
  inside the window before ``opportunity_at``. Open: opened on or before as_of, neither won nor
  lost (``lost_at``: lost or closed without a win) by as_of, however long ago it was opened;
- ROI = (attributed revenue - cost) / cost; pipeline ROI = (pipeline - cost) / cost; both NaN when the
  cost is 0 (shown as n/a, never infinity); cost per lead / effective lead / opportunity / conversion
  = cost / count, NaN when the count is 0;
- days to conversion: from the lead's first in-window touch of the event to ``won_at``;
- too early: leads of the event neither won nor lost by as_of whose window, counted from their last
  touch of the event, is still open after as_of (a win tomorrow would still be credited to the event).

Touches of one lead at the same moment are ordered by event id (lower id first): it decides which is
"first" and "last", and which touch gets a left-over cent.
"""
from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, assert_never

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Connection, cast, func, select
from sqlalchemy.orm import Session

from ops_core import present, settings, writes
from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.errors import Refused, StaleVersion, UsageError, require_columns
from ops_core.i18n import label, lists_in_force, t, vocabulary_values
from ops_core.vocab import EventFormat, EventKind, EventOrganisation, Industry, TitleLevel, values

STANDARD_KEY = "events.effective_lead_standard"
WINDOW_KEY = "events.attribution_window_days"
GROUP_BY = ("format", "kind", "organisation")
PURPOSES = ("acquisition", "promotion", "conversion")
REVIEW_TEXTS = ("goals_vs_results", "evaluation", "causes", "patterns")
REVIEW_FIELDS = (*REVIEW_TEXTS, "updated_by", "updated_at", "version")
REVIEW_STEPS = {
    "goals_vs_results": "1. Goals vs results",
    "evaluation": "2. Evaluation of the results",
    "causes": "3. Analysis of causes",
    "patterns": "4. Patterns to keep",
}


# --- the effective-lead standard ---------------------------------------------------------------


def _ordered(chosen: Sequence[str], allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise UsageError(f"unknown {what} {', '.join(map(str, unknown))}; known: {', '.join(allowed)}")
    return tuple(v for v in allowed if v in set(chosen))  # vocabulary order: equal standards compare equal


@dataclass(frozen=True)
class LeadStandard:
    """What makes a lead *effective*: every criterion must hold. The user sets it in the app."""

    title_levels: tuple[str, ...] = ("manager", "director", "executive")
    min_company_size: int = 100
    industries: tuple[str, ...] = ()  # empty = any
    budget_confirmed: bool = False  # True = required

    def __post_init__(self) -> None:
        object.__setattr__(self, "title_levels", _ordered(self.title_levels, values(TitleLevel), "title level(s)"))
        # Industries: the company's list in force (lead_standard reads the store's when none is).
        object.__setattr__(self, "industries", _ordered(self.industries, vocabulary_values(Industry), "industry(ies)"))
        if not self.title_levels:
            raise Refused("refuse.no_title_level")
        if isinstance(self.min_company_size, bool) or not isinstance(self.min_company_size, int) or self.min_company_size < 0:
            raise UsageError(f"the minimum company size must be a whole number >= 0, not {self.min_company_size!r}")
        if not isinstance(self.budget_confirmed, bool):
            raise UsageError(f"budget_confirmed must be true or false, not {self.budget_confirmed!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"title_levels": list(self.title_levels), "min_company_size": self.min_company_size,
                "industries": list(self.industries), "budget_confirmed": self.budget_confirmed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeadStandard:
        unknown = set(data) - {"title_levels", "min_company_size", "industries", "budget_confirmed"}
        if unknown:
            raise UsageError(f"unknown effective-lead criteria: {', '.join(sorted(unknown))}")
        default = cls()
        return cls(title_levels=tuple(data.get("title_levels", default.title_levels)),
                   min_company_size=data.get("min_company_size", default.min_company_size),
                   industries=tuple(data.get("industries", default.industries)),
                   budget_confirmed=data.get("budget_confirmed", default.budget_confirmed))

    def describe(self, lang: str = "en") -> str:
        """The standard in words, printed on the page, exports and reviews; in Chinese the title levels
        and industries read by their labels."""
        def names(enum: type[StrEnum], values: Sequence[str]) -> str:
            shown = list(values) if lang == "en" else [label(enum, v, lang) for v in values]
            return shown[0] if len(shown) == 1 else t("events.std.or", lang, items=("、" if lang == "zh" else ", ").join(shown[:-1]),
                                                      last=shown[-1])

        size = (t("events.std.any_size", lang) if self.min_company_size == 0
                else t("events.std.size", lang, size=f"{self.min_company_size:,}"))
        industry = (t("events.std.any_industry", lang) if not self.industries
                    else t("events.std.industry", lang, industries=names(Industry, self.industries)))
        budget = t("events.std.budget" if self.budget_confirmed else "events.std.no_budget", lang)
        return t("events.std.describe", lang, titles=names(TitleLevel, self.title_levels), size=size, industry=industry,
                 budget=budget)

    def mask(self, leads: pd.DataFrame) -> pd.Series:
        """True for each lead (row) that meets the standard; vectorised."""
        require_columns(leads, ("title_level", "company_size", "industry", "budget_confirmed"), "leads")
        ok = leads["title_level"].isin(self.title_levels).to_numpy(dtype=bool)
        if self.min_company_size > 0:
            size = pd.to_numeric(leads["company_size"], errors="coerce").astype("float64").to_numpy()
            ok = ok & (size >= self.min_company_size)  # NaN (unknown size) compares False
        if self.industries:
            ok = ok & leads["industry"].isin(self.industries).to_numpy(dtype=bool)
        if self.budget_confirmed:
            ok = ok & leads["budget_confirmed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        return pd.Series(ok, index=leads.index, name="effective")


def lead_standard(conn: Connection | Session) -> LeadStandard:
    """The standard in force: the stored setting, or the default when none was saved."""
    if lists_in_force() is None:   # its industries may be values the company added
        from ops_core import company_lists

        with company_lists.in_force(conn):
            return LeadStandard.from_dict(settings.get(conn, STANDARD_KEY))
    return LeadStandard.from_dict(settings.get(conn, STANDARD_KEY))


def lead_standard_version(conn: Connection | Session) -> int:
    """The stored standard's version (0: never stored), to pass back to ``save_lead_standard``."""
    table = TABLES["settings"]
    found = conn.execute(select(table.c.version).where(table.c.key == STANDARD_KEY)).first()
    return 0 if found is None else int(found[0])


def save_lead_standard(session: Session, actor: writes.Actor, standard: LeadStandard, expected_version: int) -> None:
    """Store a new standard (admin only, versioned and audited like every setting)."""
    settings.change(session, actor, STANDARD_KEY, standard.to_dict(), expected_version)


# --- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventData:
    """Events in a date range with everything their metrics need.

    ``events`` is indexed by event_id; ``leads`` are the leads touched by those events; ``touches``
    are *all* touches of those leads, including touches of events outside the range, so attribution
    sees each lead's whole path. Credit that lands on an event outside the range is computed (it
    reduces the in-range events' shares) and then left out, so an event's numbers do not depend on
    the range it was loaded with.
    """

    events: pd.DataFrame
    costs: pd.DataFrame
    leads: pd.DataFrame
    touches: pd.DataFrame
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def describe_range(self, lang: str = "en") -> str:
        if self.date_from is None and self.date_to is None:
            return t("events.report.all", lang)
        anytime = t("events.report.any_time", lang)
        return t("events.report.range", lang, start=self.date_from or anytime, end=self.date_to or anytime)


_EVENT_COLUMNS = ("name", "format", "kind", "organisation", "start_date", "end_date", "location", "purposes",
                  "budget_cents", "goal_leads", "goal_effective_leads", "goal_opportunities", "goal_conversions",
                  "goal_revenue_cents")
_LEAD_COLUMNS = ("id", "company", "contact_name", "phone", "email", "title_level", "company_size", "industry",
                 "budget_confirmed", "created_at", "opportunity_at", "opportunity_amount_cents", "won_at",
                 "won_amount_cents", "customer_id", "lost_at")


def _frame(rows: Sequence[Any], columns: Sequence[str], *, times: Sequence[str] = (), ints: Sequence[str] = (),
           nullable_ints: Sequence[str] = ()) -> pd.DataFrame:
    df = frame_of(rows, columns)
    for name in times:
        df[name] = pd.to_datetime(df[name]).astype("datetime64[ns]")
    for name in ints:
        df[name] = df[name].astype("int64")
    for name in nullable_ints:
        df[name] = df[name].astype("Int64")
    return df


def load(conn: Connection | Session, date_from: dt.date | None = None, date_to: dt.date | None = None) -> EventData:
    """Events starting in [date_from, date_to] (either end open), their costs, leads and touches."""
    if date_from and date_to and date_from > date_to:
        raise UsageError(f"the range starts ({date_from}) after it ends ({date_to})")
    e, c, lead, t = TABLES["events"], TABLES["event_costs"], TABLES["leads"], TABLES["lead_touches"]
    in_range = []
    if date_from is not None:
        in_range.append(e.c.start_date >= date_from)
    if date_to is not None:
        in_range.append(e.c.start_date <= date_to)
    event_ids = select(e.c.id).where(*in_range)
    lead_ids = select(t.c.lead_id).where(t.c.event_id.in_(event_ids))
    cost_sum = (select(c.c.event_id, func.sum(c.c.amount_cents).label("total"))
                .group_by(c.c.event_id).subquery())
    events_q = (select(e.c.id, *(e.c[n] for n in _EVENT_COLUMNS),
                       cast(func.coalesce(cost_sum.c.total, 0), BigInteger).label("cost_cents"))
                .outerjoin(cost_sum, cost_sum.c.event_id == e.c.id).where(*in_range).order_by(e.c.start_date, e.c.id))
    events = _frame(conn.execute(events_q).all(), ("event_id", *_EVENT_COLUMNS, "cost_cents"),
                    times=("start_date", "end_date"), ints=("event_id", "budget_cents", "cost_cents"),
                    nullable_ints=("goal_leads", "goal_effective_leads", "goal_opportunities", "goal_conversions",
                                   "goal_revenue_cents")).set_index("event_id")
    costs = _frame(conn.execute(select(c.c.id, c.c.event_id, c.c.category, c.c.amount_cents, c.c.note)
                                .where(c.c.event_id.in_(event_ids)).order_by(c.c.event_id, c.c.id)).all(),
                   ("id", "event_id", "category", "amount_cents", "note"), ints=("id", "event_id", "amount_cents"))
    leads = _frame(conn.execute(select(*(lead.c[n] for n in _LEAD_COLUMNS)).where(lead.c.id.in_(lead_ids))
                                .order_by(lead.c.id)).all(), _LEAD_COLUMNS,
                   times=("created_at", "opportunity_at", "won_at", "lost_at"), ints=("id",),
                   nullable_ints=("company_size", "opportunity_amount_cents", "won_amount_cents", "customer_id"))
    leads["budget_confirmed"] = leads["budget_confirmed"].astype(bool)
    touches = _frame(conn.execute(select(t.c.lead_id, t.c.event_id, t.c.touched_at).where(t.c.lead_id.in_(lead_ids))
                                  .order_by(t.c.lead_id, t.c.touched_at, t.c.event_id)).all(),
                     ("lead_id", "event_id", "touched_at"), times=("touched_at",), ints=("lead_id", "event_id"))
    return EventData(events, costs, leads, touches, date_from, date_to)


def has_purpose(events: pd.DataFrame, *purposes: str) -> pd.Series:
    """True for events whose comma-separated ``purposes`` include any of ``purposes`` (the list filter)."""
    require_columns(events, ("purposes",), "events")
    wanted = set(purposes)
    return events["purposes"].fillna("").str.split(",").apply(lambda parts: not wanted.isdisjoint(parts)).astype(bool)


def select_events(metrics: pd.DataFrame, events: pd.DataFrame, formats: Sequence[str] = (), kinds: Sequence[str] = (),
                  organisations: Sequence[str] = (), purposes: Sequence[str] = ()) -> pd.DataFrame:
    """The rows of ``metrics`` whose event matches every non-empty filter (an empty filter keeps all),
    ranked by attributed revenue (highest first; ties: earlier event id), so the list is the ranking."""
    keep = pd.Series(True, index=metrics.index)
    for column, chosen in (("format", formats), ("kind", kinds), ("organisation", organisations)):
        if chosen:
            keep &= metrics[column].isin(list(chosen))
    if purposes:
        keep &= has_purpose(events, *purposes).reindex(metrics.index, fill_value=False)
    chosen = metrics[keep]
    order = np.lexsort((chosen.index.to_numpy(), -chosen["attributed_revenue_cents"].to_numpy(dtype=float)))
    return chosen.iloc[order]


def cost_breakdown(costs: pd.DataFrame, event_id: int) -> pd.DataFrame:
    """One event's cost by category (category, amount_cents, share), largest first."""
    require_columns(costs, ("event_id", "category", "amount_cents"), "costs")
    out = (costs[costs["event_id"] == event_id].groupby("category", as_index=False)["amount_cents"].sum()
           .sort_values(["amount_cents", "category"], ascending=[False, True], ignore_index=True))
    total = out["amount_cents"].sum()
    out["share"] = out["amount_cents"] / total if total else np.nan
    return out


# --- attribution -------------------------------------------------------------------------------


class Model(StrEnum):
    """How a won lead's revenue is shared among the events that touched it."""

    first = "first"
    last = "last"
    linear = "linear"
    u = "u"
    w = "w"
    decay = "decay"


DEFAULT_HALF_LIFE_DAYS = 7.0  # time decay: a touch a week before the win weighs half a touch on the day (HubSpot's default)
HALF_LIFE_KEY = "events.decay_half_life_days"
_DECAY_SCALE = 1_000_000  # time-decay weights as whole numbers (exact splits); amount × scale stays inside int64


def as_model(value: Model | str) -> Model:
    try:
        return Model(value)
    except ValueError:
        raise UsageError(f"unknown attribution model '{value}'; use {', '.join(m.value for m in Model)}") from None


def model_text(model: Model | str, lang: str = "en") -> str:
    """An attribution model in words, in ``lang``."""
    return t(f"events.model_text.{as_model(model).value}", lang)


def _check_window(window_days: int) -> int:
    if isinstance(window_days, bool) or not isinstance(window_days, (int, np.integer)) or window_days < 0:
        raise UsageError(f"the attribution window must be a whole number of days >= 0, not {window_days!r}")
    return int(window_days)


def _weights(t: pd.DataFrame, model: Model, half_life_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Each touch's share as an exact fraction numerator / denominator (the denominator is per lead).

    ``t``: the leads' touches in time order within each lead, with lead_id, touched_at, anchor, position,
    count and, when known, opportunity (when the lead became one; a pipeline's anchor is that moment).

    - W-shaped: 30 % each to the first touch, the opportunity touch (the last one on or before the lead
      became an opportunity) and the last touch, 10 % shared by the others. One touch holding two roles
      gets both shares. A role nobody holds (no opportunity touch in the window), or no other touch,
      leaves its share spread over the rest in proportion 30 : 30 : 30 : 10 — with three touches each
      key touch gets a third; with two, the first gets two thirds when it opened the opportunity.
    - Time decay: a touch weighs 2^(-days before the anchor / half-life); the weights are scaled to whole
      numbers (at least 1) so the split stays exact.
    """
    position = t["position"].to_numpy(dtype=np.int64)
    count = t["count"].to_numpy(dtype=np.int64)
    one = np.ones_like(count)
    match model:
        case Model.first:
            return (position == 0).astype(np.int64), one
        case Model.last:
            return (position == count - 1).astype(np.int64), one
        case Model.linear:
            return one, count
        case Model.u:
            # n >= 3: ends 2(n-2) / 5(n-2) = 40 % each, middle 1 / 5(n-2) = 20 % / (n-2) each.
            end = (position == 0) | (position == count - 1)
            numerator = np.where(count <= 2, 1, np.where(end, 2 * (count - 2), 1))
            denominator = np.where(count <= 2, count, 5 * (count - 2))
            return numerator.astype(np.int64), denominator.astype(np.int64)
        case Model.w:
            opened = t["opportunity"] if "opportunity" in t else t["anchor"]
            before = (t["touched_at"] <= opened).to_numpy(dtype=bool)
            by_lead = t["lead_id"]
            last_before = pd.Series(np.where(before, position, -1), index=t.index).groupby(by_lead).transform("max")
            opportunity = before & (position == last_before.to_numpy(dtype=np.int64))
            roles = (position == 0).astype(np.int64) + opportunity + (position == count - 1)
            present = np.where(pd.Series(opportunity, index=t.index).groupby(by_lead).transform("any")
                               .to_numpy(dtype=bool), 3, 2)
            others = count - pd.Series(roles > 0, index=t.index).groupby(by_lead).transform("sum").to_numpy(dtype=np.int64)
            # key touch: 3 × roles parts; the others share 1 part (each 1 / others); over 3 × roles present (+1)
            spread = np.maximum(others, 1)
            numerator = np.where(roles > 0, 3 * roles * spread, 1)
            denominator = (3 * present + (others > 0)) * spread
            return numerator.astype(np.int64), denominator.astype(np.int64)
        case Model.decay:
            days = ((t["anchor"] - t["touched_at"]) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64)
            numerator = np.maximum(1, np.round(_DECAY_SCALE * np.exp2(-days / half_life_days))).astype(np.int64)
            total = pd.Series(numerator, index=t.index).groupby(t["lead_id"]).transform("sum").to_numpy(dtype=np.int64)
            return numerator, total
        case _:
            assert_never(model)


def _split(touches: pd.DataFrame, anchors: pd.DataFrame, model: Model, window_days: int,
           half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> pd.DataFrame:
    """Split each anchor's amount over its lead's touches in the window before the anchor time.

    ``anchors``: lead_id, anchor (time), amount_cents, and optionally opportunity (the time the lead
    became an opportunity, for the W-shaped model). Returns event_id, lead_id, credit, cents with one
    row per (event, lead) with credit > 0; a lead's credits sum to 1 and its cents to its amount exactly.
    """
    columns = ["event_id", "lead_id", "credit", "cents"]
    t = touches[["lead_id", "event_id", "touched_at"]].merge(anchors, on="lead_id", how="inner")
    t = t[(t["touched_at"] <= t["anchor"]) & (t["touched_at"] >= t["anchor"] - pd.Timedelta(days=window_days))]
    if t.empty:
        return pd.DataFrame({"event_id": pd.Series(dtype="int64"), "lead_id": pd.Series(dtype="int64"),
                             "credit": pd.Series(dtype="float64"), "cents": pd.Series(dtype="int64")})
    t = t.sort_values(["lead_id", "touched_at", "event_id"], kind="stable", ignore_index=True)
    by_lead = t.groupby("lead_id", sort=False)
    position = by_lead.cumcount().to_numpy(dtype=np.int64)
    t["position"], t["count"] = position, by_lead["event_id"].transform("size").to_numpy(dtype=np.int64)
    numerator, denominator = _weights(t, model, half_life_days)
    amount = pd.to_numeric(t["amount_cents"]).fillna(0).to_numpy(dtype=np.int64)
    product = amount * numerator
    t["credit"] = numerator / denominator
    t["cents"] = product // denominator
    t["remainder"] = product % denominator  # same denominator within a lead, so comparable there
    left = amount - t.groupby("lead_id", sort=False)["cents"].transform("sum").to_numpy(dtype=np.int64)
    t["left"] = left
    # Largest remainder: the cents lost to rounding down go to the largest remainders, earlier touch first.
    t = t.sort_values(["lead_id", "remainder", "position"], ascending=[True, False, True], kind="stable")
    t["cents"] += (t.groupby("lead_id", sort=False).cumcount() < t["left"]).astype(np.int64)
    out = t[t["credit"] > 0].groupby(["event_id", "lead_id"], as_index=False)[["credit", "cents"]].sum()
    return out[columns].sort_values(["lead_id", "event_id"], ignore_index=True)


def attribute(touches: pd.DataFrame, leads: pd.DataFrame, model: Model | str, window_days: int,
              half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> pd.DataFrame:
    """Credit of each event for each won lead: event_id, lead_id, credit, revenue_cents.

    Only touches on or before ``won_at`` and at most ``window_days`` before it count; the model
    shares each won lead's credit among them (one row per event and lead with credit > 0; a lead's credits sum to 1
    and its revenue_cents to ``won_amount_cents`` exactly). Won leads without such a touch get no row.
    Pure: ``touches`` (lead_id, event_id, touched_at), ``leads`` (id, won_at, won_amount_cents, and
    opportunity_at for the W-shaped model's opportunity touch; without it no touch holds that role).
    """
    require_columns(touches, ("lead_id", "event_id", "touched_at"), "touches")
    require_columns(leads, ("id", "won_at", "won_amount_cents"), "leads")
    model, window_days = as_model(model), _check_window(window_days)
    won = leads.loc[leads["won_at"].notna()]
    anchors = pd.DataFrame({"lead_id": won["id"].astype("int64"), "anchor": pd.to_datetime(won["won_at"]),
                            "amount_cents": won["won_amount_cents"],
                            "opportunity": pd.to_datetime(won["opportunity_at"]) if "opportunity_at" in won
                            else pd.Series(pd.NaT, index=won.index, dtype="datetime64[ns]")})
    timed = touches.assign(touched_at=pd.to_datetime(touches["touched_at"]))
    return _split(timed, anchors, model, window_days, half_life_days).rename(columns={"cents": "revenue_cents"})


# --- metrics -----------------------------------------------------------------------------------

_SUMS = ("cost_cents", "budget_cents", "leads", "effective_leads", "opportunities", "conversions",
         "attributed_revenue_cents", "pipeline_cents", "too_early")


def _per(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN (not infinity) where the denominator is 0."""
    return numerator.astype("float64") / denominator.astype("float64").where(denominator != 0)


def _with_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Rates, ROI and cost ratios recomputed from the counts and sums in ``df`` (never averaged)."""
    cost = df["cost_cents"]
    return df.assign(
        effective_rate=_per(df["effective_leads"], df["leads"]),
        roi=_per(df["attributed_revenue_cents"] - cost, cost),
        pipeline_roi=_per(df["pipeline_cents"] - cost, cost),
        cost_per_lead=_per(cost, df["leads"]),
        cost_per_effective_lead=_per(cost, df["effective_leads"]),
        cost_per_opportunity=_per(cost, df["opportunities"]),
        cost_per_conversion=_per(cost, df["conversions"]),
    )


def _end_of(as_of: dt.date) -> pd.Timestamp:
    return pd.Timestamp(as_of) + pd.Timedelta(days=1)


def event_metrics(data: EventData, standard: LeadStandard, model: Model | str, window_days: int,
                  as_of: dt.date, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> pd.DataFrame:
    """One row per event (index event_id) with counts, money and ratios as defined in the module docstring.

    Columns: name, format, kind, organisation, start_date, cost_cents, budget_cents, leads,
    effective_leads, effective_rate, opportunities, conversions, attributed_conversions (sum of credits),
    attributed_revenue_cents, pipeline_cents, roi, pipeline_roi, cost_per_lead, cost_per_effective_lead,
    cost_per_opportunity, cost_per_conversion (money in cents), median_days_to_conversion, too_early.
    ``attrs`` name the model, window, as-of day and standard.
    """
    model, window_days = as_model(model), _check_window(window_days)
    require_columns(data.events, ("name", "format", "kind", "organisation", "start_date", "cost_cents", "budget_cents"), "events")
    require_columns(data.leads, ("id", "opportunity_at", "opportunity_amount_cents", "won_at", "won_amount_cents"), "leads")
    end, window = _end_of(as_of), pd.Timedelta(days=window_days)
    touches = data.touches[data.touches["touched_at"] < end]
    leads = data.leads.assign(effective=standard.mask(data.leads))
    leads["won_at"] = leads["won_at"].where(leads["won_at"] < end)  # not yet won on as_of
    leads["opportunity_at"] = leads["opportunity_at"].where(leads["opportunity_at"] < end)
    lost = pd.to_datetime(leads["lost_at"]) if "lost_at" in leads else pd.Series(pd.NaT, index=leads.index)
    leads["lost"] = (lost < end).to_numpy(dtype=bool)  # lost or closed by as_of

    pairs = (touches.groupby(["event_id", "lead_id"], as_index=False)["touched_at"].max()
             .rename(columns={"touched_at": "last_touch"})
             .merge(leads[["id", "effective", "opportunity_at", "won_at", "lost"]], left_on="lead_id", right_on="id"))
    pairs["too_early"] = pairs["won_at"].isna() & ~pairs["lost"] & (pairs["last_touch"] + window > end)
    pairs["effective_opportunity"] = pairs["effective"] & pairs["opportunity_at"].notna()
    counts = pairs.groupby("event_id").agg(leads=("lead_id", "size"), effective_leads=("effective", "sum"),
                                           opportunities=("opportunity_at", "count"), too_early=("too_early", "sum"),
                                           effective_opportunities=("effective_opportunity", "sum"))

    won = touches.merge(leads.loc[leads["won_at"].notna(), ["id", "won_at"]], left_on="lead_id", right_on="id")
    won = won[(won["touched_at"] <= won["won_at"]) & (won["touched_at"] >= won["won_at"] - window)]
    converted = won.groupby(["event_id", "lead_id"], as_index=False).agg(first=("touched_at", "min"), won_at=("won_at", "first"))
    converted["days"] = (converted["won_at"] - converted["first"]) / pd.Timedelta(days=1)
    converted["effective"] = converted["lead_id"].map(leads.set_index("id")["effective"]).fillna(False).astype(bool)
    conversions = converted.groupby("event_id").agg(conversions=("lead_id", "size"),
                                                    effective_conversions=("effective", "sum"),
                                                    median_days_to_conversion=("days", "median"))

    credited = attribute(touches, leads, model, window_days, half_life_days).groupby("event_id").agg(
        attributed_revenue_cents=("revenue_cents", "sum"), attributed_conversions=("credit", "sum"))
    is_open = leads["won_at"].isna() & leads["opportunity_at"].notna() & ~leads["lost"]
    open_ = pd.DataFrame({"lead_id": leads.loc[is_open, "id"], "anchor": leads.loc[is_open, "opportunity_at"],
                          "amount_cents": leads.loc[is_open, "opportunity_amount_cents"]})
    pipeline = (_split(touches, open_, model, window_days, half_life_days)
                .groupby("event_id")["cents"].sum().rename("pipeline_cents"))

    out = data.events[["name", "format", "kind", "organisation", "start_date", "cost_cents", "budget_cents"]].join(
        [counts, conversions, credited, pipeline])
    for name in ("leads", "effective_leads", "opportunities", "too_early", "conversions", "effective_opportunities",
                 "effective_conversions", "attributed_revenue_cents", "pipeline_cents"):
        out[name] = out[name].fillna(0).astype("int64")
    out["attributed_conversions"] = out["attributed_conversions"].fillna(0.0)
    out = _with_ratios(out)
    out.index.name = "event_id"
    out = out[["name", "format", "kind", "organisation", "start_date", "cost_cents", "budget_cents", "leads",
               "effective_leads", "effective_rate", "opportunities", "conversions", "attributed_conversions",
               "attributed_revenue_cents", "pipeline_cents", "roi", "pipeline_roi", "cost_per_lead",
               "cost_per_effective_lead", "cost_per_opportunity", "cost_per_conversion",
               "median_days_to_conversion", "too_early", "effective_opportunities", "effective_conversions"]]
    out.attrs = {"model": model.value, "window_days": window_days, "as_of": as_of.isoformat(),
                 "standard": standard.describe()}
    return out


def group_metrics(metrics: pd.DataFrame, by: str) -> pd.DataFrame:
    """One row per value of ``by`` (a column: format, kind, organisation, or any other such as a constant
    for a grand total): sums, then rates, ROI and cost ratios recomputed from the sums, never averaged.

    Lead counts are sums over events, so a lead touched by two events of a group counts twice (once
    per event); revenue and pipeline do not double-count (attribution already split them).
    """
    require_columns(metrics, (by, *_SUMS), "metrics")
    sums = metrics.groupby(by, observed=True).agg(events=("cost_cents", "size"), **{n: (n, "sum") for n in _SUMS})
    out = _with_ratios(sums).reset_index()
    out.attrs = dict(metrics.attrs)
    return out


def model_comparison(data: EventData, standard: LeadStandard, window_days: int, as_of: dt.date,
                     half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> pd.DataFrame:
    """Each event under each model: event_id, name, model, attributed_revenue_cents, roi, rank.

    rank is the event's place by ROI under that model (1 = best; events without cost, whose ROI is
    n/a, come last), so the page can show how the choice of model reorders events.
    """
    frames = []
    for model in Model:  # six models, each fully vectorised
        m = event_metrics(data, standard, model, window_days, as_of, half_life_days)
        frames.append(pd.DataFrame({
            "event_id": m.index.to_numpy(), "name": m["name"].to_numpy(), "model": model.value,
            "attributed_revenue_cents": m["attributed_revenue_cents"].to_numpy(), "roi": m["roi"].to_numpy(),
            "rank": m["roi"].rank(ascending=False, method="min", na_option="bottom").to_numpy(dtype="int64"),
        }))
    return pd.concat(frames, ignore_index=True)


def rank_table(comparison: pd.DataFrame, event_ids: Sequence[int] | pd.Index | None = None) -> pd.DataFrame:
    """One row per event: ROI and rank under each model, re-ranked among ``event_ids`` (default all).

    ``spread`` = worst rank - best rank across models; rows are sorted by it, largest first, so the
    events whose standing depends most on the model come first.
    """
    require_columns(comparison, ("event_id", "name", "model", "roi"), "comparison")
    chosen = comparison if event_ids is None else comparison[comparison["event_id"].isin(list(event_ids))]
    chosen = chosen.assign(rank=chosen.groupby("model")["roi"].rank(ascending=False, method="min", na_option="bottom"))
    wide = chosen.pivot(index="event_id", columns="model", values=["roi", "rank"])
    out = pd.DataFrame({"name": chosen.drop_duplicates("event_id").set_index("event_id")["name"]})
    for model in Model:
        if ("roi", model.value) in wide.columns:
            out[f"roi_{model.value}"] = wide[("roi", model.value)]
            out[f"rank_{model.value}"] = wide[("rank", model.value)].astype("int64")
    ranks = out[[c for c in out.columns if c.startswith("rank_")]]
    out["spread"] = (ranks.max(axis=1) - ranks.min(axis=1)).astype("int64") if len(ranks.columns) else 0
    out.index.name = "event_id"
    return out.sort_values(["spread", "name"], ascending=[False, True]).reset_index()


def funnel(metrics_row: pd.Series) -> pd.DataFrame:
    """An event's funnel: step, count, rate_from_previous (NaN on the first step), rate_from_top.

    Each step is a subset of the one before: leads, the effective ones, the effective ones that became
    opportunities, and of those the ones won. Opportunities and wins from leads below the standard are
    counted apart (``funnel_apart``), so no step rate exceeds 100 %.
    """
    steps = ("leads", "effective", "opportunity", "won")
    count = pd.Series([int(metrics_row[c]) for c in ("leads", "effective_leads", "effective_opportunities",
                                                     "effective_conversions")], dtype="int64")
    return pd.DataFrame({"step": steps, "count": count, "rate_from_previous": _per(count, count.shift(1)),
                         "rate_from_top": _per(count, pd.Series([count.iloc[0]] * len(count)))})


def funnel_apart(metrics_row: pd.Series) -> tuple[int, int]:
    """Opportunities and wins of the event from leads below the standard: outside the funnel's steps."""
    return (int(metrics_row["opportunities"] - metrics_row["effective_opportunities"]),
            int(metrics_row["conversions"] - metrics_row["effective_conversions"]))


_GOALS = (("leads", "goal_leads", "leads"), ("effective_leads", "goal_effective_leads", "effective_leads"),
          ("opportunities", "goal_opportunities", "opportunities"), ("conversions", "goal_conversions", "conversions"),
          ("revenue_cents", "goal_revenue_cents", "attributed_revenue_cents"))


def goals_vs_results(event_row: pd.Series, metrics_row: pd.Series) -> pd.DataFrame:
    """goal, target (NA when not set), actual, share = actual / target (NaN without a target)."""
    target = pd.Series([event_row.get(goal) for _, goal, _ in _GOALS], dtype="Int64")
    actual = pd.Series([int(metrics_row[col]) for _, _, col in _GOALS], dtype="int64")
    return pd.DataFrame({"goal": [g for g, _, _ in _GOALS], "target": target, "actual": actual,
                         "share": _per(actual, target.astype("float64").fillna(0))})


def timeline(data: EventData, as_of: dt.date) -> pd.DataFrame:
    """Planned and past events for the calendar: budget against actual cost.

    Columns: event_id, name, label, start_date, end_date, budget_cents, cost_cents, variance_cents (cost -
    budget), status: 'planned' when the event starts after as_of, else 'past' (running events are past).
    ``label`` names the event on a chart, one per event: its name and start date, and its number
    when two events share both (two events of one name are never drawn as one).
    """
    ev = data.events
    start = ev["start_date"]
    named = ev["name"].astype(str) + " · " + pd.to_datetime(start).dt.strftime("%Y-%m-%d")
    twins = named.duplicated(keep=False)
    labels = named.where(~twins, named + " #" + ev.index.astype(str))
    return pd.DataFrame({
        "event_id": ev.index.to_numpy(), "name": ev["name"].to_numpy(), "label": labels.to_numpy(), "start_date": start.to_numpy(),
        "end_date": ev["end_date"].to_numpy(), "budget_cents": ev["budget_cents"].to_numpy(),
        "cost_cents": ev["cost_cents"].to_numpy(),
        "variance_cents": (ev["cost_cents"] - ev["budget_cents"]).to_numpy(),
        "status": np.where(start > pd.Timestamp(as_of), "planned", "past"),
    })


# --- the four-step review ----------------------------------------------------------------------


def _review_row(conn: Connection | Session, event_id: int) -> dict[str, Any] | None:
    table = TABLES["event_reviews"]
    found = conn.execute(select(table).where(table.c.event_id == event_id)).mappings().first()
    return None if found is None else dict(found)


def load_review(conn: Connection | Session, event_id: int) -> dict[str, Any] | None:
    """The stored review of an event (the four texts, who and when, version), or None."""
    found = _review_row(conn, event_id)
    return None if found is None else {"event_id": event_id, **{k: found[k] for k in REVIEW_FIELDS}}


def save_review(session: Session, actor: writes.Actor, event_id: int, texts: Mapping[str, str],
                expected_version: int | None, *, at: dt.datetime | None = None) -> dict[str, Any]:
    """Create (expected_version None) or update an event's review through the write path; returns it.

    Stamps updated_by and updated_at (``at``, default now in UTC). A stale version, or creating a
    review someone else has just created, raises StaleVersion with the newer values.
    """
    writes.check_write(actor, "event_reviews", "change")  # the role first, before anything is looked up
    unknown = set(texts) - set(REVIEW_TEXTS)
    if unknown:
        raise UsageError(f"a review has the texts {', '.join(REVIEW_TEXTS)}, not {', '.join(sorted(unknown))}")
    events = TABLES["events"]
    if session.execute(select(events.c.id).where(events.c.id == event_id)).first() is None:
        raise UsageError(f"there is no event {event_id}")
    stamp = {"updated_by": actor.username,
             "updated_at": at or dt.datetime.now(dt.UTC).replace(tzinfo=None)}
    if expected_version is None:
        current = _review_row(session, event_id)
        if current is not None:
            raise StaleVersion("event_reviews", event_id, 0, writes.jsonable(current))
        stored = writes.create(session, actor, "event_reviews", {"event_id": event_id, **texts, **stamp})
    else:
        stored = writes.update(session, actor, "event_reviews", event_id, expected_version, {**texts, **stamp})
    return {"event_id": event_id, **{k: stored[k] for k in REVIEW_FIELDS}}


def yuan(cents: Any) -> str:
    """Cents as yuan with two decimals and thousands separators, exactly (no float rounding)."""
    if cents is None or pd.isna(cents):
        return "n/a"
    whole, part = divmod(abs(int(cents)), 100)
    return f"{'-' if int(cents) < 0 else ''}{whole:,}.{part:02d}"


def _ratio_text(value: Any, percent: bool = False) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    return f"{value:,.1%}" if percent else f"{value:,.2f}"


def review_markdown(event_row: pd.Series, metrics_row: pd.Series, review: Mapping[str, Any] | None,
                    standard: LeadStandard, *, model: Model | str | None = None, window_days: int | None = None,
                    as_of: dt.date | None = None, lang: str = "en") -> str:
    """The four-step review as Markdown in ``lang``: step 1 filled in from the data, the standard and
    model named. In Chinese the event's format, kind and organisation read by their labels.

    model, window_days and as_of default to those recorded on ``event_metrics``' result (``attrs``).
    """
    basis = dict(getattr(metrics_row, "attrs", {}) or {})
    model = as_model(model if model is not None else basis.get("model", ""))
    window = window_days if window_days is not None else basis.get("window_days")
    day = as_of.isoformat() if as_of is not None else basis.get("as_of", "?")
    review = review or {}
    start, end = pd.Timestamp(event_row["start_date"]).date(), pd.Timestamp(event_row["end_date"]).date()
    dates = str(start) if start == end else t("events.md.dates", lang, start=start, end=end)

    def word(enum: type[StrEnum], column: str) -> str:
        return present.label_of(event_row[column], enum, lang)  # a label in every language, never the code

    na = t("report.na", lang)
    purposes = event_row.get("purposes") or ""
    if lang != "en":
        purposes = "、".join(t(f"events.purpose.{p.strip()}", lang) for p in purposes.split(",") if p.strip())
    lines = [
        "# " + t("events.md.title", lang, name=event_row["name"]), "",
        t("events.md.summary", lang, format=word(EventFormat, "format"), kind=word(EventKind, "kind"),
          organisation=word(EventOrganisation, "organisation"), dates=dates,
          location=event_row.get("location") or t("events.md.no_location", lang), purposes=purposes or "-"), "",
        "- " + t("events.md.as_of", lang, day=day),
        "- " + t("events.md.model", lang, model=model_text(model, lang), window=window),
        f"- {standard.describe(lang)}", "",
        f"## {REVIEW_STEPS['goals_vs_results'] if lang == 'en' else t('events.review.goals_vs_results', lang)}", "",
        t("events.md.table", lang), "|---|---:|---:|---:|",
    ]
    for row in goals_vs_results(event_row, metrics_row).itertuples():
        money = row.goal == "revenue_cents"
        show = (lambda v: na if pd.isna(v) else yuan(v)) if money else (lambda v: na if pd.isna(v) else f"{int(v):,}")
        share = na if row.share is None or pd.isna(row.share) else _ratio_text(row.share, True)
        lines.append(f"| {t(f'events.goal.{row.goal}', lang)} | {show(row.target)} | {show(row.actual)} | {share} |")
    lines += [
        "",
        t("events.md.money", lang, cost=yuan(metrics_row["cost_cents"]), budget=yuan(event_row["budget_cents"]),
          roi=na if pd.isna(metrics_row["roi"]) else _ratio_text(metrics_row["roi"], True),
          pipeline=yuan(metrics_row["pipeline_cents"]),
          cpel=na if pd.isna(metrics_row["cost_per_effective_lead"]) else yuan(_round_cents(metrics_row["cost_per_effective_lead"])),
          early=int(metrics_row["too_early"])),
    ]
    for key, title in REVIEW_STEPS.items():
        text = (review.get(key) or "").strip()
        if key == "goals_vs_results":
            if text:
                lines += ["", text]
            continue
        lines += ["", f"## {title if lang == 'en' else t(f'events.review.{key}', lang)}", "",
                  text or t("events.md.not_written", lang)]
    if review.get("updated_by"):
        lines += ["", t("events.md.saved", lang, who=present.actor_name(review["updated_by"], lang),
                        when=present.date_text(review.get("updated_at")),
                        version=review.get("version"))]
    return "\n".join(lines) + "\n"


def _round_cents(value: Any) -> Any:
    return None if value is None or pd.isna(value) else int(round(float(value)))


# --- command line ------------------------------------------------------------------------------

REPORT_COLUMNS = {
    "name": "event", "format": "format", "kind": "kind", "organisation": "organisation", "start_date": "start_date",
    "cost_cents": "cost_cents", "leads": "leads", "effective_leads": "effective_leads",
    "opportunities": "opportunities", "conversions": "conversions",
    "attributed_revenue_cents": "attributed_revenue_cents", "pipeline_cents": "pipeline_cents", "roi": "roi",
    "pipeline_roi": "pipeline_roi", "cost_per_lead": "cost_per_lead_cents",
    "cost_per_effective_lead": "cost_per_effective_lead_cents", "cost_per_opportunity": "cost_per_opportunity_cents",
    "cost_per_conversion": "cost_per_conversion_cents", "median_days_to_conversion": "median_days_to_conversion",
    "too_early": "too_early",
}


def export_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """``event_metrics`` rows as a file: money in whole cents, ROI to 4 decimals, 'n/a' where undefined
    (``present`` shows them as yuan, percentages and blanks)."""
    require_columns(metrics, list(REPORT_COLUMNS), "metrics")
    df = metrics[list(REPORT_COLUMNS)].rename(columns=REPORT_COLUMNS).reset_index()
    df["start_date"] = pd.to_datetime(df["start_date"]).dt.date
    for name in ("cost_per_lead_cents", "cost_per_effective_lead_cents", "cost_per_opportunity_cents",
                 "cost_per_conversion_cents"):
        cents = df[name].round(0)
        df[name] = cents.astype("Int64").astype(object).where(cents.notna(), "n/a")
    for name in ("roi", "pipeline_roi"):
        df[name] = df[name].round(4).astype(object).where(df[name].notna(), "n/a")
    df["median_days_to_conversion"] = df["median_days_to_conversion"].round(1)
    return df


def report_table(conn: Connection, model: Model | str, as_of: dt.date, date_from: dt.date | None = None,
                 date_to: dt.date | None = None, lang: str = "en") -> tuple[pd.DataFrame, list[str]]:
    """One row per event for the report file (see ``export_table``) and its header notes in ``lang``."""
    model = as_model(model)
    standard = lead_standard(conn)
    window = int(settings.get(conn, WINDOW_KEY))
    half_life = float(settings.get(conn, HALF_LIFE_KEY))
    data = load(conn, date_from, date_to)
    df = export_table(event_metrics(data, standard, model, window, as_of, half_life))
    notes = [
        t("events.report.notes.title", lang, as_of=as_of, events=len(df), range=data.describe_range(lang)),
        t("events.export.notes.model", lang, model=model_text(model, lang), window=window, as_of=as_of)
        + (t("events.report.half_life", lang, days=f"{half_life:g}") if model is Model.decay else ""),
        standard.describe(lang),
        t("events.report.notes.roi", lang),
    ]
    return df, notes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops_core.events", description="Event ROI as a file.")
    commands = parser.add_subparsers(dest="command", required=True)
    text = "write one row per event: cost, leads, effective leads, opportunities, conversions, revenue, ROI, cost ratios"
    sub = commands.add_parser("report", help=text, description=text)
    sub.add_argument("--model", required=True, help="attribution model: first, last, linear, u (U-shaped 40/20/40), "
                     "w (W-shaped 30/30/30, 10 to the rest) or decay (time decay, the half-life a setting)")
    sub.add_argument("--output", required=True, type=Path, help="a .csv (UTF-8 with BOM) or .xlsx file")
    sub.add_argument("--as-of", default=None, help="reference date YYYY-MM-DD (default: today)")
    sub.add_argument("--from", dest="date_from", default=None, help="first event start date YYYY-MM-DD")
    sub.add_argument("--to", dest="date_to", default=None, help="last event start date YYYY-MM-DD")
    sub.add_argument("--lang", choices=("en", "zh"), default="en", help="the language of the headers, labels and notes")
    sub.add_argument("--database-url", default=None, help="default: OPS_DATABASE_URL or the embedded SQLite file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 2 with one clear line on stderr otherwise."""
    from ops_core import cli

    args = _parser().parse_args(argv)

    def body() -> int:
        model = as_model(args.model)
        as_of = cli.date_option(args.as_of, "--as-of") or dt.date.today()  # the command line is where "today" enters
        date_from, date_to = cli.date_option(args.date_from, "--from"), cli.date_option(args.date_to, "--to")
        return cli.write_report(args.database_url, args.output, "events",
                                lambda conn: report_table(conn, model, as_of, date_from, date_to, args.lang),
                                f"events (model {model}) as of {as_of}", args.lang)

    return cli.run(body, args.output)


if __name__ == "__main__":
    from ops_core.cli import run_module

    run_module("ops_core.events")
