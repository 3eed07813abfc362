"""Customer value scoring: nine dimensions (DESIGN.md section 2), normalisation, weighted score, explanation.

The pipeline has three pure steps so a weight slider never touches the database:

1. ``derive_features(conn, as_of)``: one row per customer existing on ``as_of`` (``created_on <=
   as_of``) with the nine raw dimension values, from a handful of GROUP BY queries merged in pandas;
2. ``normalise(features, methods, mappings)``: each dimension to 0..1 by its method (cacheable);
3. ``score(normalised, weights)``: ``100 × Σ wᵢ·xᵢ`` with the weights scaled to sum to 1 (one
   matrix-vector product).

Rules that apply to every method:
- a column whose known values are all equal normalises to 0.5 for everyone (nothing to rank; never a
  division by zero);
- a dimension with ``higher_is_better=False`` is flipped (``1 − x``) after normalising;
- a missing raw value (NaN, or a category absent from the mapping) gets 0, the worst normalised
  value, after the flip: a customer is never rewarded for lacking data. Missing values are counted
  per dimension in ``Normalised.missing_counts``.

Command line (schedulers and scripts; both honour ``--database-url``)::

    python -m ops_core.scoring score [--preset NAME] [--as-of DATE] --output FILE [--database-url URL]
    python -m ops_core.scoring rfm [--as-of DATE] --output FILE [--database-url URL]
"""
from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, assert_never

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, Float, and_, case, cast, distinct, func, literal, select

from ops_core.db.models import TABLES
from ops_core.db.queries import days_between, frame_of
from ops_core.errors import Refused, UsageError
from ops_core.i18n import DIMENSION_TEXT_ZH, TEXT, Either, clauses, listed, t
from ops_core.overview import annualised_cents, in_force
from ops_core.vocab import DemandType

customers = TABLES["customers"]
contracts = TABLES["contracts"]
invoices = TABLES["invoices"]
payments = TABLES["payments"]
referrals = TABLES["referrals"]
csms = TABLES["csms"]


# --- methods -----------------------------------------------------------------------------------


class Method(StrEnum):
    """How one dimension is brought to 0..1 (the page's method selector lists these)."""

    minmax = "minmax"          # (x − min) / (max − min)
    percentile = "percentile"  # average rank of ties, (rank − 1) / (n − 1)
    log_minmax = "log_minmax"  # sign(x)·log1p(|x|), then min-max: tames heavy tails, accepts negatives
    winsorised = "winsorised"  # clipped to the (1 − p) and p quantiles, then min-max
    bounded = "bounded"        # clipped to [floor, ceiling] the user sets, then scaled linearly
    mapping = "mapping"        # categorical: each category's value from a mapping table


@dataclass(frozen=True)
class MethodSpec:
    """A method with its parameters; ``floor``/``ceiling`` matter for ``bounded`` only (None = observed min/max)."""

    method: Method
    winsor_pct: float = 0.95
    floor: float | None = None
    ceiling: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method.value, "winsor_pct": self.winsor_pct, "floor": self.floor, "ceiling": self.ceiling}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MethodSpec:
        try:
            method = Method(d["method"])
        except (KeyError, ValueError):
            raise UsageError(f"unknown normalisation method {d.get('method')!r}; known: "
                             f"{', '.join(m.value for m in Method)}") from None
        floor, ceiling = d.get("floor"), d.get("ceiling")
        return cls(method, float(d.get("winsor_pct", 0.95)),
                   None if floor is None else float(floor), None if ceiling is None else float(ceiling))

    def describe(self, lang: str = "en") -> str:
        """The method in words of ``lang``, with its parameters (``bounded 0..6``, ``winsorised 95%``):
        the page's picker, a file's notes."""
        match self.method:
            case Method.winsorised:
                return t("method.winsorised", lang, share=f"{self.winsor_pct:.0%}")
            case Method.bounded:
                low = t("method.min", lang) if self.floor is None else f"{self.floor:g}"
                high = t("method.max", lang) if self.ceiling is None else f"{self.ceiling:g}"
                return t("method.bounded", lang, low=low, high=high)
            case Method.minmax | Method.percentile | Method.log_minmax | Method.mapping:
                return t(f"method.{self.method.value}", lang)
            case _:
                assert_never(self.method)


# --- the nine dimensions -----------------------------------------------------------------------


# The raw value's unit: "cents" (money), "employees", "yuan_days" (unpaid yuan × days overdue),
# "points", "share" (already 0..1), "ratio" (growth: −1 .. +1 and beyond), "category".
Unit = Literal["cents", "employees", "yuan_days", "points", "share", "ratio", "category", "number"]


@dataclass(frozen=True)
class Dimension:
    """One value dimension: its names, its default method and weight, and what its raw value means."""

    key: str
    name_en: str
    name_zh: str
    kind: Literal["numeric", "categorical"]
    default_method: MethodSpec
    default_weight: float
    higher_is_better: bool
    definition: str
    unit: Unit = "number"  # what the raw value counts, so a person is shown yuan rather than cents

    def definition_in(self, lang: str) -> str:
        """What the raw value means, in ``lang`` (Chinese from the translation table)."""
        return DIMENSION_TEXT_ZH.get(self.key, self.definition) if lang == "zh" else self.definition


# Cooperation: partnership level as points, combined with years since the first contract started.
PARTNERSHIP_LEVEL_POINTS: dict[str, float] = {"basic": 0.25, "silver": 0.5, "gold": 0.75, "strategic": 1.0}
COOPERATION_LEVEL_SHARE = 0.6
COOPERATION_FULL_YEARS = 5.0
# Brand image points; influence: each signed referral counts 1, a reference case counts as 2.
BRAND_POINTS: dict[str, float] = {"fortune500": 3.0, "listed": 2.0, "high_valuation": 1.0}
REFERENCE_CASE_POINTS = 2.0

DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        "order_amount", "Order amount (12 months)", "订单金额（近12个月）", "numeric",
        MethodSpec(Method.log_minmax), 0.20, True,
        "Sum of amount_cents of the customer's contracts signed in the 12 months up to the reference date "
        "(signed_on after the same day one year earlier, up to and including the reference date); cents. "
        "No contract signed in that window gives 0.", unit="cents"),
    Dimension(
        "company_size", "Company size", "企业规模", "numeric",
        MethodSpec(Method.log_minmax), 0.10, True,
        "Number of employees as recorded on the customer.", unit="employees"),
    Dimension(
        "gross_profit", "Gross profit (12 months)", "贡献毛利（近12个月）", "numeric",
        MethodSpec(Method.winsorised, 0.95), 0.15, True,
        "For the contracts signed in the same 12-month window as the order amount: amount minus delivery "
        "cost minus service cost, summed; cents (may be negative).", unit="cents"),
    Dimension(
        "demand_type", "Product demand type", "产品需求类型", "categorical",
        MethodSpec(Method.mapping), 0.10, True,
        "The customer's demand type (standard / configured / customised / platform), scored through "
        "the editable mapping table (default 0.25 / 0.5 / 0.75 / 1.0).", unit="category"),
    Dimension(
        "cooperation", "Cooperation status", "合作状态", "numeric",
        MethodSpec(Method.bounded, floor=0.0, ceiling=1.0), 0.10, True,
        "0.6 × partnership level points (basic 0.25, silver 0.5, gold 0.75, strategic 1.0) + "
        "0.4 × min(years since the first contract started / 5, 1); years = days / 365.25 up to the "
        "reference date; no contract started yet counts 0 years. Already 0..1.", unit="share"),
    Dimension(
        "influence", "Industry influence", "行业影响力", "numeric",
        MethodSpec(Method.bounded, floor=0.0, ceiling=4.0), 0.10, True,
        "Customers this customer referred (referred on or before the reference date) who had signed a "
        "contract by then, plus 2 if it is a reference case (the flag as it stands today).", unit="points"),
    Dimension(
        "brand", "Brand image", "品牌形象", "numeric",
        MethodSpec(Method.bounded, floor=0.0, ceiling=6.0), 0.10, True,
        "Points: Fortune 500 = 3, listed company = 2, high-valuation company = 1, summed (0..6).", unit="points"),
    Dimension(
        "payment", "Payment collection", "回款情况", "numeric",
        MethodSpec(Method.log_minmax), 0.10, False,
        "Overdue yuan-days on the reference date: for every invoice due before that day with an amount "
        "still unpaid (payments made on or before the day count), unpaid yuan × days past due, summed. "
        "0 means nothing overdue; higher is worse, so the normalised value is flipped.", unit="yuan_days"),
    Dimension(
        "growth", "Growth potential", "增长潜力", "numeric",
        MethodSpec(Method.bounded, floor=-1.0, ceiling=1.0), 0.05, True,
        "Order amount of the last 12 months against the 12 months before: (recent − prior) / prior, "
        "so −1 is orders stopped, 0 flat, +1 doubled. No orders in either period: 0 (flat, e.g. a "
        "multi-year contract). Orders now but none in the prior period: missing (no baseline, e.g. a "
        "new customer), which scores 0.", unit="ratio"),
)
DIMENSION_KEYS: tuple[str, ...] = tuple(d.key for d in DIMENSIONS)
DIMENSIONS_BY_KEY: dict[str, Dimension] = {d.key: d for d in DIMENSIONS}
DEFAULT_WEIGHTS: dict[str, float] = {d.key: d.default_weight for d in DIMENSIONS}
DEFAULT_METHODS: dict[str, MethodSpec] = {d.key: d.default_method for d in DIMENSIONS}
CATEGORY_VOCABULARIES = {"demand_type": DemandType}  # a categorical dimension's categories, read by their labels
DEFAULT_MAPPINGS: dict[str, dict[str, float]] = {
    "demand_type": {"standard": 0.25, "configured": 0.5, "customised": 0.75, "platform": 1.0},
}
DESCRIPTIVE_COLUMNS: tuple[str, ...] = (
    "code", "name", "industry", "region", "size_band", "csm_id", "csm_name", "product_lines", "arr_cents")
MISSING_FILL = 0.0
CONSTANT_VALUE = 0.5


# --- deriving the raw dimensions ---------------------------------------------------------------


def _one_year_before(day: dt.date) -> dt.date:
    """The same day one year earlier (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    return frame_of(rows, columns).set_index("customer_id")


def derive_features(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """Raw features of every customer existing on ``as_of`` (``created_on <= as_of``).

    Output: index ``customer_id`` (ascending); columns ``DESCRIPTIVE_COLUMNS`` then the nine
    dimension keys (definitions in ``DIMENSIONS``). Five GROUP BY queries (``FEATURE_SOURCES``:
    customers, contracts, overdue invoices, referrals, product lines in force), merged on customer_id;
    no per-customer loop.
    """
    return features_from({source: feature_source(conn, as_of, source) for source in FEATURE_SOURCES})


# The reads derive_features merges. Each reads its own tables, so a cache that keeps a value until a
# table it read is written keeps the others when one moves: an invoice paid reads the overdue
# amounts again, not every customer's contracts (cockpit/ui.py caches them one by one).
FEATURE_SOURCES = ("accounts", "orders", "overdue", "referrals", "lines")


def feature_source(conn: Connection, as_of: dt.date, source: str) -> pd.DataFrame:
    """One of ``FEATURE_SOURCES`` on ``as_of``, indexed by customer_id (input of ``features_from``)."""
    year_ago = _one_year_before(as_of)
    two_years_ago = _one_year_before(year_ago)
    day = literal(as_of, Date)
    signed = contracts.c.signed_on
    recent = and_(signed > year_ago, signed <= as_of)
    prior = and_(signed > two_years_ago, signed <= year_ago)
    margin = contracts.c.amount_cents - contracts.c.delivery_cost_cents - contracts.c.service_cost_cents
    match source:
        case "accounts":
            return _frame(conn.execute(
                select(customers.c.id, customers.c.code, customers.c.name, customers.c.industry, customers.c.region,
                       customers.c.size_band, customers.c.csm_id, csms.c.name, customers.c.employees,
                       customers.c.demand_type, customers.c.partnership_level, customers.c.reference_case,
                       customers.c.fortune500, customers.c.listed, customers.c.high_valuation)
                .select_from(customers.outerjoin(csms, csms.c.id == customers.c.csm_id))
                .where(customers.c.created_on <= as_of).order_by(customers.c.id)
            ).all(), ["customer_id", "code", "name", "industry", "region", "size_band", "csm_id", "csm_name", "employees",
                      "demand_type", "partnership_level", "reference_case", "fortune500", "listed", "high_valuation"])
        case "orders":
            return _frame(conn.execute(
                select(contracts.c.customer_id,
                       func.sum(case((recent, contracts.c.amount_cents), else_=0)),
                       func.sum(case((prior, contracts.c.amount_cents), else_=0)),
                       func.sum(case((recent, margin), else_=0)),
                       func.max(case((contracts.c.start_date <= as_of, days_between(contracts.c.start_date, day)))),
                       func.sum(case((in_force(as_of), annualised_cents()), else_=0.0)))
                .where(signed <= as_of).group_by(contracts.c.customer_id)
            ).all(), ["customer_id", "order_recent", "order_prior", "gross_profit", "coop_days", "arr_cents"])
        case "overdue":
            paid = (select(payments.c.invoice_id, func.sum(payments.c.amount_cents).label("paid"))
                    .where(payments.c.paid_on <= as_of).group_by(payments.c.invoice_id).subquery())
            unpaid = invoices.c.amount_cents - func.coalesce(paid.c.paid, 0)
            return _frame(conn.execute(
                select(invoices.c.customer_id,
                       func.sum(cast(unpaid, Float) * days_between(invoices.c.due_on, day) / 100.0))  # floats: cents × days overflow nothing
                .select_from(invoices.outerjoin(paid, paid.c.invoice_id == invoices.c.id))
                .where(invoices.c.issued_on <= as_of, invoices.c.due_on < as_of, unpaid > 0)
                .group_by(invoices.c.customer_id)
            ).all(), ["customer_id", "payment"])
        case "referrals":
            first_signed = (select(contracts.c.customer_id, func.min(signed).label("first_signed"))
                            .group_by(contracts.c.customer_id).subquery())
            return _frame(conn.execute(
                select(referrals.c.referrer_id, func.count(distinct(referrals.c.referred_customer_id)))
                .select_from(referrals.join(first_signed, first_signed.c.customer_id == referrals.c.referred_customer_id))
                .where(referrals.c.referred_on <= as_of, first_signed.c.first_signed <= as_of)
                .group_by(referrals.c.referrer_id)
            ).all(), ["customer_id", "referred_signed"])
        case "lines":
            lines = frame_of(conn.execute(
                select(contracts.c.customer_id, contracts.c.product_line).distinct()
                .where(in_force(as_of), signed <= as_of).order_by(contracts.c.customer_id, contracts.c.product_line)
            ).all(), columns=["customer_id", "product_line"])
            # "EAM,MES": a customer's lines in force, named in order; one vectorised step per line (a Python join
            # per customer took 0.8 s at 50,000 customers).
            held = lines.assign(held=True).pivot(index="customer_id", columns="product_line", values="held").notna()
            named = pd.Series("", index=held.index, dtype=object)
            for line in sorted(held.columns):
                named = named.where(~held[line], np.where(named == "", line, named + "," + line))
            return named.rename("product_lines").to_frame()
    raise UsageError(f"unknown feature source '{source}'; choose one of {', '.join(FEATURE_SOURCES)}")


def features_from(sources: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """``derive_features`` from its sources (``feature_source`` of each of ``FEATURE_SOURCES``): pure."""
    base = sources["accounts"]
    f = base.join([sources[name] for name in FEATURE_SOURCES[1:]], how="left")
    for column in ("order_recent", "order_prior", "gross_profit", "arr_cents", "payment", "referred_signed"):
        f[column] = pd.to_numeric(f[column]).fillna(0)
    f["product_lines"] = f["product_lines"].fillna("")
    f["csm_id"] = f["csm_id"].astype("Int64")
    f["csm_name"] = f["csm_name"].fillna("")

    out = f[["code", "name", "industry", "region", "size_band", "csm_id", "csm_name", "product_lines"]].copy()
    out["arr_cents"] = f["arr_cents"].astype(float).round().astype("int64")
    out["order_amount"] = f["order_recent"].astype("int64")
    out["company_size"] = pd.to_numeric(f["employees"]).astype(float)
    out["gross_profit"] = f["gross_profit"].astype("int64")
    out["demand_type"] = f["demand_type"].astype(object)
    years = pd.to_numeric(f["coop_days"]).fillna(0).clip(lower=0) / 365.25
    level = f["partnership_level"].map(PARTNERSHIP_LEVEL_POINTS).astype(float)
    out["cooperation"] = (COOPERATION_LEVEL_SHARE * level
                          + (1 - COOPERATION_LEVEL_SHARE) * np.minimum(years / COOPERATION_FULL_YEARS, 1.0))
    out["influence"] = f["referred_signed"].astype(float) + REFERENCE_CASE_POINTS * f["reference_case"].astype(bool)
    out["brand"] = sum(points * f[flag].astype(bool) for flag, points in BRAND_POINTS.items()).astype(float)
    out["payment"] = f["payment"].astype(float)
    prior_orders = f["order_prior"].astype(float)
    recent_orders = f["order_recent"].astype(float)
    growth = (recent_orders - prior_orders) / prior_orders.where(prior_orders > 0)
    out["growth"] = growth.mask((prior_orders == 0) & (recent_orders == 0), 0.0)
    out.index.name = "customer_id"
    return out


# --- normalising -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Normalised:
    """Normalised dimensions: ``values`` 0..1 (index as the features, one column per key) and missing counts."""

    values: pd.DataFrame
    missing_counts: dict[str, int] = field(default_factory=dict)


def _scale(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Linear map of [lo, hi] to [0, 1]; a constant column (hi == lo) is 0.5 everywhere."""
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        return np.where(np.isnan(x), np.nan, CONSTANT_VALUE)
    return (x - lo) / (hi - lo)


def _minmax(x: np.ndarray) -> np.ndarray:
    known = x[~np.isnan(x)]
    if known.size == 0:
        return x.copy()
    return _scale(x, float(known.min()), float(known.max()))


def normalise_series(raw: pd.Series, spec: MethodSpec, mapping: Mapping[str, float] | None = None) -> pd.Series:
    """One raw column to 0..1 by ``spec`` (before any flip); missing stays NaN.

    minmax: (x − min)/(max − min). percentile: ranks with ties given their average rank,
    (rank − 1)/(n − 1) over the known values. log_minmax: sign(x)·log1p(|x|), then min-max.
    winsorised: clipped to the (1 − p) and p quantiles (linear interpolation), then min-max.
    bounded: clipped to [floor, ceiling] (None: the observed min/max), then (x − floor)/(ceiling − floor).
    mapping: the category's value from ``mapping``, clipped to 0..1; an unknown category is missing.
    Every method gives 0.5 to all when the known values are all equal.
    """
    method = spec.method
    if method is Method.mapping:
        if mapping is None:
            raise UsageError(f"'{raw.name}' uses the mapping method but has no mapping table")
        mapped = raw.map(lambda v: mapping.get(v, np.nan) if isinstance(v, str) else np.nan)
        return pd.to_numeric(mapped, errors="coerce").astype(float).clip(0.0, 1.0)
    try:
        x = pd.to_numeric(raw, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        raise UsageError(f"'{raw.name}' holds text; use the mapping method for it") from None
    x = np.where(np.isfinite(x), x, np.nan)
    match method:
        case Method.minmax:
            out = _minmax(x)
        case Method.percentile:
            known = ~np.isnan(x)
            n = int(known.sum())
            ranks = pd.Series(x).rank(method="average").to_numpy()
            out = (ranks - 1) / (n - 1) if n > 1 else np.where(known, CONSTANT_VALUE, np.nan)
        case Method.log_minmax:
            out = _minmax(np.sign(x) * np.log1p(np.abs(x)))
        case Method.winsorised:
            p = spec.winsor_pct
            if not 0.5 <= p <= 1.0:
                raise UsageError(f"winsorising percentile for '{raw.name}' must be between 0.5 and 1, not {p}")
            known = x[~np.isnan(x)]
            if known.size == 0:
                out = x.copy()
            else:
                lo, hi = np.quantile(known, [1 - p, p])
                out = _scale(np.clip(x, lo, hi), float(lo), float(hi))
        case Method.bounded:
            known = x[~np.isnan(x)]
            lo = spec.floor if spec.floor is not None else (float(known.min()) if known.size else 0.0)
            hi = spec.ceiling if spec.ceiling is not None else (float(known.max()) if known.size else 1.0)
            if spec.floor is not None and spec.ceiling is not None and hi <= lo:
                raise Refused("refuse.bounded", dimension=_dimension_word(str(raw.name)), ceiling=f"{hi:g}", floor=f"{lo:g}")
            out = _scale(np.clip(x, lo, hi), lo, hi) if hi > lo else _scale(x, lo, hi)
        case Method.mapping:
            raise AssertionError("handled above")
        case _:
            assert_never(method)
    return pd.Series(np.clip(out, 0.0, 1.0), index=raw.index, name=raw.name)


def mappings_in_force(mappings: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, dict[str, float]]:
    """Each categorical dimension's value table: the one given, else the default (fresh copies)."""
    return {k: dict(v) for k, v in DEFAULT_MAPPINGS.items()} | {str(k): dict(v) for k, v in (mappings or {}).items()}


def describe_mappings(mappings: Mapping[str, Mapping[str, float]] | None = None, lang: str = "en") -> str:
    """The category value tables in force (the defaults where none is given), for a file's notes:
    each dimension and category by its name in ``lang``."""
    from ops_core.present import label_of  # present reads the dimensions' names from here

    return clauses((f"{dimension_name(key, lang)} " + listed(
        (f"{label_of(category, CATEGORY_VOCABULARIES[key], lang) if key in CATEGORY_VOCABULARIES else category} {value:g}"
         for category, value in table.items()), lang) for key, table in mappings_in_force(mappings).items()), lang)


def dimension_name(key: str, lang: str) -> str:
    """A dimension by its name in ``lang`` (its key if unknown)."""
    found = DIMENSIONS_BY_KEY.get(key)
    return key if found is None else found.name_zh if lang == "zh" else found.name_en


def _dimension_word(key: str) -> str:
    """A dimension inside a message, by its name in the reader's language."""
    found = DIMENSIONS_BY_KEY.get(key)
    return Either(found.name_en, found.name_zh) if found else key


def normalise(features: pd.DataFrame, methods: Mapping[str, MethodSpec] | None = None,
              mappings: Mapping[str, Mapping[str, float]] | None = None) -> Normalised:
    """Every dimension of ``features`` (output of ``derive_features``) to 0..1.

    ``methods`` and ``mappings`` override the defaults per dimension key. Lower-is-better dimensions
    are flipped; missing values become 0 after the flip and are counted.
    """
    missing_keys = [k for k in DIMENSION_KEYS if k not in features.columns]
    if missing_keys:
        raise UsageError(f"features lack the dimension column(s): {', '.join(missing_keys)}")
    unknown = set(methods or {}) - set(DIMENSION_KEYS)
    if unknown:
        raise UsageError(f"methods name unknown dimension(s): {', '.join(sorted(unknown))}")
    chosen = DEFAULT_METHODS | dict(methods or {})
    tables = mappings_in_force(mappings)
    columns: dict[str, np.ndarray] = {}
    missing: dict[str, int] = {}
    for dim in DIMENSIONS:  # nine columns, each vectorised
        spec = chosen[dim.key]
        if (dim.kind == "categorical") != (spec.method is Method.mapping):
            raise UsageError(f"'{dim.key}' is {dim.kind}: "
                             + ("only the mapping method applies" if dim.kind == "categorical" else "the mapping method does not apply"))
        x = normalise_series(features[dim.key], spec, tables.get(dim.key)).to_numpy(dtype=float)
        if not dim.higher_is_better:
            x = 1.0 - x
        gaps = np.isnan(x)
        missing[dim.key] = int(gaps.sum())
        columns[dim.key] = np.where(gaps, MISSING_FILL, x)
    # One float block, so score() reads the matrix without a copy.
    matrix = np.column_stack([columns[k] for k in DIMENSION_KEYS]) if len(features) else np.empty((0, len(DIMENSION_KEYS)))
    values = pd.DataFrame(matrix, index=features.index, columns=list(DIMENSION_KEYS))
    return Normalised(values, missing)


# --- scoring -----------------------------------------------------------------------------------


def weight_vector(weights: Mapping[str, float], columns: Sequence[str]) -> np.ndarray:
    """Weights aligned with ``columns`` and scaled to sum to 1; absent keys weigh 0.

    Raises UsageError for an unknown key, a negative or non-finite weight, or weights summing to 0.
    """
    unknown = [k for k in weights if k not in columns]
    if unknown:
        raise UsageError(f"weights name unknown dimension(s): {', '.join(map(str, unknown))}")
    w = np.array([float(weights.get(c, 0.0)) for c in columns], dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise UsageError("weights must be zero or positive numbers")
    total = w.sum()
    if total <= 0:
        raise UsageError("all weights are zero: give at least one dimension a positive weight")
    return w / total


def slider_positions(weights: Mapping[str, float]) -> dict[str, int]:
    """Weights as the 0..100 positions of the weight sliders, in the same proportions.

    Weights are scale-free (``score`` scales them to sum to 1), and two scales reach the sliders:
    shares that sum to 1 (the defaults) and slider positions as a person left them (kept weights,
    saved presets). Shares are turned into percent; positions are kept as they are, clamped to the
    slider's range. Scaling a set that never exceeds 1 by 100 keeps its proportions, so the rule
    needs no record of where a set came from.
    """
    numbers = {str(k): float(v) for k, v in weights.items()}
    factor = 100.0 if numbers and max(numbers.values()) <= 1.0 else 1.0
    return {k: int(min(max(round(v * factor), 0), 100)) for k, v in numbers.items()}


def score(normalised_values: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Score 0..100 per row: ``100 × Σ wᵢ·xᵢ`` with the weights scaled to sum to 1 (same index, name 'score')."""
    w = weight_vector(weights, list(normalised_values.columns)) * 100.0
    out = normalised_values.to_numpy(dtype=float, copy=False) @ w
    np.clip(out, 0.0, 100.0, out=out)  # rounding can leave 100.00000000000001
    return pd.Series(out, index=normalised_values.index, name="score", copy=False)  # ``out`` is ours: no copy


# --- explaining one customer -------------------------------------------------------------------


def gap_to_next_tier(score: float, next_floor: float, normalised_row: pd.Series | Mapping[str, float],
                     weights: Mapping[str, float]) -> tuple[float, str | None]:
    """Points still missing to reach ``next_floor`` and the dimension that closes the gap fastest.

    The fastest dimension is the one with the most points still available, ``100·w·(1 − x)`` (w
    scaled to sum to 1): improving it moves the score furthest. Ties go to the earlier dimension in
    ``DIMENSIONS``. Already at or above the floor: ``(0.0, None)``; no headroom anywhere: None.
    """
    gap = float(next_floor) - float(score)
    if gap <= 0:
        return 0.0, None
    row = pd.Series(normalised_row, dtype=float)
    keys = [k for k in DIMENSION_KEYS if k in row.index] + [k for k in row.index if k not in DIMENSIONS_BY_KEY]
    w = weight_vector(weights, keys)
    headroom = 100.0 * w * (1.0 - row[keys].to_numpy(dtype=float))
    best = int(np.argmax(headroom))  # argmax returns the first of equal maxima
    return gap, (keys[best] if headroom[best] > 0 else None)


def explain(features: pd.DataFrame, normalised_values: pd.DataFrame, weights: Mapping[str, float],
            customer_id: Any, tier_floors: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One customer's score, dimension by dimension.

    Rows in ``DIMENSIONS`` order: ``key, name_en, name_zh, raw, normalised, weight_share, points,
    headroom`` where ``points = 100·w·x`` (they sum to the score) and ``headroom = 100·w·(1 − x)``.
    ``attrs`` carries ``score`` and, when ``tier_floors`` (tier name -> lowest score in it) is given,
    ``tier``, ``next_tier``, ``gap_points`` and ``closes_gap_fastest``.
    """
    if customer_id not in normalised_values.index:
        raise UsageError(f"no customer with id {customer_id!r} in the scored list")
    keys = list(normalised_values.columns)
    w = weight_vector(weights, keys)
    x = normalised_values.loc[customer_id].to_numpy(dtype=float)
    raw = [features.at[customer_id, k] if k in features.columns and customer_id in features.index else np.nan for k in keys]
    table = pd.DataFrame({
        "key": keys,
        "name_en": [DIMENSIONS_BY_KEY[k].name_en if k in DIMENSIONS_BY_KEY else k for k in keys],
        "name_zh": [DIMENSIONS_BY_KEY[k].name_zh if k in DIMENSIONS_BY_KEY else k for k in keys],
        "raw": pd.Series(raw, dtype=object),
        "normalised": x,
        "weight_share": w,
        "points": 100.0 * w * x,
        "headroom": 100.0 * w * (1.0 - x),
    })
    total = float(table["points"].sum())
    table.attrs["score"] = total
    if tier_floors:
        floors = sorted(tier_floors.items(), key=lambda item: item[1])
        reached = [name for name, floor in floors if total >= floor]
        above = [(name, floor) for name, floor in floors if total < floor]
        table.attrs["tier"] = reached[-1] if reached else None
        if above:
            next_name, next_floor = above[0]
            gap, fastest = gap_to_next_tier(total, next_floor, pd.Series(x, index=keys), weights)
            table.attrs.update(next_tier=next_name, gap_points=gap, closes_gap_fastest=fastest)
        else:
            table.attrs.update(next_tier=None, gap_points=0.0, closes_gap_fastest=None)
    return table


# --- command line ------------------------------------------------------------------------------


# The kind of a raw value's cells in a file, by its unit (``present.Kind`` names; others are numbers).
_UNIT_KIND = {"cents": "money", "ratio": "percent", "category": "vocabulary"}


def file_columns() -> dict[str, Any]:
    """The score file's dimension columns as ``present.frame`` shows them: each raw value under the
    dimension's name and unit (yuan for money, a percentage for growth, a category by its label), its
    normalised value (0-1) beside it."""
    from ops_core import present

    def words(d: Dimension, unit: str) -> tuple[str, str]:
        suffix = TEXT.get(f"unit.header.{unit}", ("", ""))
        return d.name_en + suffix[0], d.name_zh + suffix[1]

    out: dict[str, Any] = {}
    for d in DIMENSIONS:
        out[d.key] = present.Column(f"dim.{d.key}", present.Kind(_UNIT_KIND.get(d.unit, "number")),
                                    DemandType if d.unit == "category" else None,
                                    decimals={"share": 4, "employees": 0, "yuan_days": 0}.get(d.unit), words=words(d, d.unit))
        out[f"{d.key}_norm"] = present.Column(f"dim.{d.key}_norm", present.Kind.number, decimals=4,
                                              words=words(d, "normalised"))
    return out


def scored_table(conn: Connection, as_of: dt.date, preset: str | None = None,
                 lang: str = "en") -> tuple[pd.DataFrame, list[str]]:
    """Every customer's descriptive columns, raw and normalised dimensions, score and tier, with header
    notes in ``lang`` (those of the customer page's download, ``customer_view.export_notes``)."""
    from ops_core import customer_view, tiers  # written alongside; imported late (they import scoring)

    if preset:
        chosen = tiers.load_preset(conn, preset)
        weights, methods, rules, mappings = dict(chosen.weights), dict(chosen.methods), chosen.tier_rules, chosen.mappings
        source = t("score.notes.preset", lang, name=chosen.name, version=chosen.version) + (
            t("score.notes.published", lang) if chosen.published else "")
    else:
        weights, methods, rules, mappings = DEFAULT_WEIGHTS, DEFAULT_METHODS, tiers.tier_rules(conn), DEFAULT_MAPPINGS  # tier settings in force
        source = t("score.notes.default", lang)
    features = derive_features(conn, as_of)
    normalised = normalise(features, methods, mappings)
    scores = score(normalised.values, weights)
    tier = tiers.assign_tiers(scores, rules, features["industry"] if rules.by_industry else None)
    out = features[["code", "name", "industry", "region", "size_band", "csm_name"]].rename(columns={"csm_name": "csm"})
    for key in DIMENSION_KEYS:
        raw = features[key]
        out[key] = raw.round(4) if pd.api.types.is_float_dtype(raw) else raw
    for key in DIMENSION_KEYS:
        out[f"{key}_norm"] = normalised.values[key].round(4)
    out["score"] = scores.round(2)
    out["tier"] = tier
    out = out.reset_index().sort_values(["score", "customer_id"], ascending=[False, True]).drop(columns="customer_id")
    gaps = listed((f"{dimension_name(k, lang)} {n}" for k, n in normalised.missing_counts.items() if n), lang)
    notes = [
        t("score.notes.title", lang, as_of=as_of.isoformat(), customers=len(out), source=source),
        *customer_view.export_notes(weights, DEFAULT_METHODS | methods, rules, t("filters.all", lang), "", source,
                                    dt.datetime.now(dt.UTC), as_of, mappings=mappings, lang=lang)[1:],
        t("score.notes.missing", lang, value=gaps or t("score.notes.none_missing", lang)),
    ]
    return out, notes


def rfm_export(conn: Connection, as_of: dt.date, lang: str = "en") -> tuple[pd.DataFrame, list[str]]:
    """The RFM table with each customer's code and name in front, and header notes in ``lang``."""
    from ops_core import rfm  # written alongside; imported late so scoring works without it

    table = rfm.rfm_table(conn, as_of)
    names = frame_of(conn.execute(select(customers.c.id, customers.c.code, customers.c.name, customers.c.industry)).all(),
                     columns=["customer_id", "code", "name", "industry"]).set_index("customer_id")
    out = names.join(table, how="inner").reset_index(drop=True)
    notes = [t("rfm.notes.title", lang, as_of=as_of.isoformat(), customers=len(out),
               made=f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}")]
    return out, notes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops_core.scoring", description="Customer value scores and RFM as files.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("score", "write every customer's dimensions, score and tier"),
                       ("rfm", "write recency, frequency, monetary, the 1-5 scores and the segment")):
        sub = commands.add_parser(name, help=text, description=text)
        if name == "score":
            sub.add_argument("--preset", default=None, help="a saved preset's name (default: the default weights)")
        sub.add_argument("--as-of", default=None, help="reference date YYYY-MM-DD (default: today)")
        sub.add_argument("--output", required=True, type=Path, help="a .csv (UTF-8 with BOM) or .xlsx file")
        sub.add_argument("--lang", choices=("en", "zh"), default="en", help="the language of the headers, labels and notes")
        sub.add_argument("--database-url", default=None, help="default: OPS_DATABASE_URL or the embedded SQLite file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 2 with one clear line on stderr otherwise."""
    from ops_core import cli

    args = _parser().parse_args(argv)

    def body() -> int:
        as_of = cli.date_option(args.as_of, "--as-of") or dt.date.today()  # the command line is where "today" enters
        build = (lambda conn: scored_table(conn, as_of, args.preset, args.lang)) if args.command == "score" else \
            (lambda conn: rfm_export(conn, as_of, args.lang))
        return cli.write_report(args.database_url, args.output, args.command, build,
                                f"customers' {args.command} rows as of {as_of}", args.lang,
                                file_columns() if args.command == "score" else None)

    return cli.run(body, args.output)


if __name__ == "__main__":
    from ops_core.cli import run_module

    run_module("ops_core.scoring")
