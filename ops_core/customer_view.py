"""The customer-tiers page's view model: score, tier, filter, summarise and page the customer list.

Pure functions over DataFrames that are already in memory (features are derived once in SQL and
cached), so moving a weight slider re-runs only NumPy and pandas here, never a database query.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ops_core import present, scoring, tiers
from ops_core.filters import Filters
from ops_core.i18n import clauses, label, listed, named, t
from ops_core.vocab import ProductLine

RISK_ORDER = ("high", "medium", "low")
TABLE_COLUMNS = ("code", "name", "tier", "score", "industry", "region", "size_band", "csm_name", "product_lines",
                 "arr_cents", "risk_level")
EXPORT_COLUMNS = (*TABLE_COLUMNS, "key_contact", "key_contact_title", "key_contact_role", "key_contact_phone",
                  "key_contact_email")
EXPORT_DEFAULT_COLUMNS = ("code", "name", "tier", "score", "industry", "region", "size_band", "csm_name", "arr_cents",
                          "key_contact", "key_contact_phone", "key_contact_email")


@dataclass(frozen=True)
class ViewFilters:
    """The page's own filters, on top of the shared sidebar; query parameters start with ``c_``."""

    tiers: tuple[str, ...] = field(default=())
    product_lines: tuple[str, ...] = field(default=())
    risk_levels: tuple[str, ...] = field(default=())
    score_min: float = 0.0
    score_max: float = 100.0
    text: str = ""

    def to_query_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for name, key in (("tiers", "c_tiers"), ("product_lines", "c_lines"), ("risk_levels", "c_risk")):
            if getattr(self, name):
                params[key] = ",".join(getattr(self, name))
        if (self.score_min, self.score_max) != (0.0, 100.0):
            params["c_score"] = f"{self.score_min:g}-{self.score_max:g}"
        if self.text.strip():
            params["c_q"] = self.text.strip()
        return params

    @classmethod
    def from_query_params(cls, params: Mapping[str, str]) -> ViewFilters:
        """Lenient: a malformed value falls back to 'no restriction'."""
        def listed(key: str) -> tuple[str, ...]:
            return tuple(v for v in str(params.get(key, "")).split(",") if v)
        low, high = 0.0, 100.0
        try:
            low_text, high_text = str(params.get("c_score", "0-100")).split("-", 1)
            low, high = sorted((max(0.0, min(100.0, float(low_text))), max(0.0, min(100.0, float(high_text)))))
        except ValueError:
            pass
        return cls(listed("c_tiers"), listed("c_lines"), tuple(v for v in listed("c_risk") if v in RISK_ORDER),
                   low, high, str(params.get("c_q", ""))[:100])

    def describe(self, lang: str = "en") -> str:
        parts = []
        if self.tiers:
            parts.append(named(t("customers.filter.tiers", lang), listed((present.tier_label(n, lang) for n in self.tiers), lang), lang))
        if self.product_lines:
            parts.append(named(t("customers.filter.lines", lang), listed((label(ProductLine, p, lang) for p in self.product_lines), lang),
                               lang))
        if self.risk_levels:
            parts.append(named(t("customers.filter.risk", lang), listed((t("risk." + r, lang) for r in self.risk_levels), lang), lang))
        if (self.score_min, self.score_max) != (0.0, 100.0):
            parts.append(named(t("customers.filter.score", lang), f"{self.score_min:g}-{self.score_max:g}", lang))
        if self.text.strip():
            parts.append(named(t("customers.filter.search", lang), self.text.strip(), lang))
        return clauses(parts, lang)


def customer_risk_levels(risk: pd.DataFrame) -> pd.Series:
    """A customer's worst renewal-risk level over its contracts up for renewal (others: none)."""
    if risk.empty:
        return pd.Series(dtype="string", name="risk_level")
    rank = risk["risk_level"].map({level: i for i, level in enumerate(RISK_ORDER)})
    worst = rank.groupby(risk["customer_id"]).min()
    return worst.map(dict(enumerate(RISK_ORDER))).rename("risk_level")


def scored_customers(features: pd.DataFrame, normalised: pd.DataFrame, weights: Mapping[str, float],
                     rules: tiers.TierRules, risk_levels: pd.Series | None = None) -> pd.DataFrame:
    """Every customer with its score and tier (tiers are ranked over all customers, never a filtered subset)."""
    scores = scoring.score(normalised, weights).round(2)
    table = features[list(scoring.DESCRIPTIVE_COLUMNS)].copy()
    table["score"] = scores
    table["tier"] = tiers.assign_tiers(scores, rules, features["industry"] if rules.by_industry else None)
    levels = risk_levels if risk_levels is not None else pd.Series(dtype="string")
    table["risk_level"] = levels.reindex(table.index).astype("string")
    return table


def apply_filters(table: pd.DataFrame, shared: Filters, view: ViewFilters) -> pd.DataFrame:
    """The rows the sidebar and the page filters keep."""
    mask = shared.customer_mask(table)
    if view.tiers:
        mask &= table["tier"].isin(view.tiers)
    if view.product_lines:
        lines = table["product_lines"].fillna("")
        held = lines.map(lambda text: set(str(text).split(",")))   # whole codes: "MES" is not in "MES2"
        mask &= np.logical_or.reduce([held.map(lambda codes, line=line: line in codes).to_numpy(dtype=bool)
                                      for line in view.product_lines])
    if view.risk_levels:
        mask &= table["risk_level"].isin(view.risk_levels).fillna(False).astype(bool)
    mask &= table["score"].between(view.score_min, view.score_max)
    text = view.text.strip().lower()
    if text:
        mask &= (table["name"].str.lower().str.contains(text, regex=False)
                 | table["code"].str.lower().str.contains(text, regex=False))
    return table[mask]


def tier_counts(table: pd.DataFrame, names: tuple[str, ...]) -> dict[str, int]:
    return {name: int(count) for name, count in tiers.tier_counts(table["tier"], names).items()}


def score_histogram(table: pd.DataFrame, names: tuple[str, ...], bins: int = 40) -> pd.DataFrame:
    """Customers per score bin and tier: about forty bars for the chart, never one point per customer."""
    edges = np.linspace(0.0, 100.0, bins + 1)
    position = np.clip(np.searchsorted(edges, table["score"].to_numpy(), side="right") - 1, 0, bins - 1)
    tier_code = pd.Categorical(table["tier"], categories=list(names)).codes
    counted = np.bincount(position * len(names) + tier_code, minlength=bins * len(names))
    cells = np.flatnonzero(counted)
    return pd.DataFrame({
        "tier": np.asarray(names, dtype=object)[cells % len(names)], "customers": counted[cells],
        "score_from": edges[cells // len(names)], "score_to": edges[cells // len(names) + 1],
        "tier_rank": cells % len(names),
    })


def tier_by_industry(table: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """Customers per industry and tier (long form, for a stacked bar)."""
    counts = table.groupby(["industry", "tier"], observed=True).size().rename("customers").reset_index()
    counts["tier_rank"] = counts["tier"].map({n: i for i, n in enumerate(names)})
    return counts


def tier_floors(table: pd.DataFrame) -> dict[str, float]:
    """The lowest score in each tier: how far a customer is from the next tier up."""
    return {str(k): float(v) for k, v in table.groupby("tier", observed=True)["score"].min().items()}


def page_of(table: pd.DataFrame, number: int, size: int) -> pd.DataFrame:
    """One page of the list, highest score first (ties: lower customer id first)."""
    order = np.lexsort((table.index.to_numpy(), -table["score"].to_numpy()))
    start = max(0, (number - 1) * size)
    return table.iloc[order[start:start + size]][[c for c in TABLE_COLUMNS if c in table.columns]]


def export_frame(shown: pd.DataFrame, key_contacts: pd.DataFrame, columns: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """The filtered list in list order with the chosen columns (key contact joined in; masked later by exports)."""
    ordered = page_of(shown, 1, max(len(shown), 1)) if len(shown) else shown[list(TABLE_COLUMNS)]
    joined = ordered.join(key_contacts, how="left")
    chosen = [c for c in columns if c in joined.columns] or list(EXPORT_DEFAULT_COLUMNS)
    return joined[chosen].reset_index(drop=True)


def export_notes(weights: Mapping[str, float], methods: Mapping[str, scoring.MethodSpec], rules: tiers.TierRules,
                 shared: str, view: str, preset: str | None, made_at: dt.datetime, as_of: dt.date, *,
                 mappings: Mapping[str, Mapping[str, float]] | None = None, lang: str = "en") -> list[str]:
    """What a file was made with, in ``lang``: reference date, weights (as shares), methods, category
    mappings (None: the defaults), tier rule, filters, preset, time. Dimensions, methods, categories
    and default tier names read by their names; ``shared`` and ``view`` come described in ``lang``."""
    vector = scoring.weight_vector(weights, scoring.DIMENSION_KEYS)
    shares = listed((f"{scoring.dimension_name(key, lang)} {share:.1%}"
                     for key, share in zip(scoring.DIMENSION_KEYS, vector, strict=True)), lang)
    method_text = listed((f"{scoring.dimension_name(key, lang)} {methods[key].describe(lang)}"
                          for key in scoring.DIMENSION_KEYS if key in methods), lang)
    names = [present.tier_label(n, lang) for n in rules.names]
    if str(rules.mode) == "quota":
        tiers_text = listed((f"{n} {q:.0%}" for n, q in zip(names, rules.quotas, strict=False)), lang)
        rule_text = t("cv.notes.quota", lang, tiers=tiers_text, last=names[-1])
    else:
        tiers_text = listed((f"{n} >= {c:g}" for n, c in zip(names, rules.cutoffs, strict=False)), lang)
        rule_text = t("cv.notes.cutoff", lang, tiers=tiers_text, last=names[-1])
    filters = clauses([shared, view] if view else [shared], lang)
    return [
        t("cv.notes.made", lang, made=f"{made_at:%Y-%m-%d %H:%M}", as_of=as_of.isoformat()),
        t("cv.notes.weights", lang, value=shares),
        t("cv.notes.methods", lang, value=method_text),
        t("cv.notes.mappings", lang, value=scoring.describe_mappings(mappings, lang)),
        t("cv.notes.tiers", lang, value=rule_text + (t("cv.notes.by_industry", lang) if rules.by_industry else "")),
        t("cv.notes.filters", lang, value=filters),
        t("cv.notes.preset", lang, value=preset or t("cv.notes.unsaved", lang)),
    ]
