"""Customer tiers: rules that turn scores into tiers, service models per tier, presets and history.

Tiering is a pure transform over a score Series (index ``customer_id``); presets and monthly
snapshots are stored through the one write path (``ops_core.writes``). The scoring maths itself
lives in ``ops_core.scoring``; this module only needs its ``MethodSpec`` to round-trip presets and
imports it lazily (only presets need it), so tiering never loads the scoring module.

Rules chosen (and tested in ``tests/test_tiers.py``):

- Quota rounding: the first k tiers together hold ``round_half_up(n × (q1 + … + qk))`` customers
  and each tier gets the difference of consecutive bounds. Rounding the cumulative share (not each
  tier's share) keeps the counts non-negative, makes them always sum to n, and stops rounding
  errors piling up in the last tier. ``n × share`` is first rounded to 9 decimals so that binary
  float noise (0.1 + 0.2 = 0.30000000000000004) cannot move a count.
- Ties: customers are ranked by score, highest first, then by customer id, lowest first. Two
  customers with an equal score that straddle a quota boundary: the lower customer id takes the
  higher tier, so the quota counts stay exact and a rerun gives the same answer.
- Cutoff mode: a customer belongs to the first tier whose floor is at or below its score
  (``score >= floor``; a score exactly on a floor takes the higher tier). ``by_industry`` has no
  effect in cutoff mode, since floors are absolute.
- Shared CSM levels in the workload: the headcount of one level is a single pool shared by every
  tier served by that level; it is given to those tiers highest-value tier first, so a shortage
  shows on the lowest tier that needs the level. Levels never stand in for each other.
- Saving a preset under an existing name is refused unless the caller passes the version it read
  (``expected_version``); then the preset is updated with the usual version check.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import repeat
from typing import TYPE_CHECKING, Any, assert_never

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.orm import Session

from ops_core import writes
from ops_core.config import setting_default
from ops_core.db import bulk
from ops_core.db.models import TABLES
from ops_core.errors import Refused, StaleVersion, UsageError
from ops_core.i18n import TEXT, Either, t
from ops_core.vocab import CsmLevel

if TYPE_CHECKING:
    from ops_core.scoring import MethodSpec

presets_table = TABLES["weight_presets"]
snapshots_table = TABLES["score_snapshots"]
csms_table = TABLES["csms"]

MISSING = "—"  # the row / column of customers absent on one side of a comparison


class TierMode(StrEnum):
    quota = "quota"    # top shares of customers
    cutoff = "cutoff"  # score floors


def _setting(conn: Connection | Session | None, key: str) -> Any:
    if conn is None:
        return setting_default(key)
    from ops_core import settings  # settings imports config only; local import keeps this module light

    return settings.get(conn, key)


# --- tier rules --------------------------------------------------------------------------------



def _tier_word(name: str) -> str:
    """A tier name inside a message: a default name in the reader's language, a typed name as entered."""
    key = f"tier.{name}"
    return Either(t(key, "en"), t(key, "zh")) if key in TEXT else name

@dataclass(frozen=True)
class TierRules:
    """How scores become tiers. Checked on construction, so a bad rule never reaches a page."""

    mode: TierMode | str = TierMode.quota
    names: tuple[str, ...] = ("KA", "standard", "small", "micro")
    quotas: tuple[float, ...] = (0.05, 0.20, 0.35)  # top shares for all but the last tier
    cutoffs: tuple[float, ...] = (80.0, 60.0, 40.0)  # score floors for all but the last tier
    by_industry: bool = False

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "mode", TierMode(self.mode))
        except ValueError:
            raise UsageError(f"tier mode '{self.mode}' is unknown; use 'quota' or 'cutoff'") from None
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "quotas", tuple(float(q) for q in self.quotas))
        object.__setattr__(self, "cutoffs", tuple(float(c) for c in self.cutoffs))
        object.__setattr__(self, "by_industry", bool(self.by_industry))
        names = self.names
        if len(names) < 2:
            raise UsageError(f"tiering needs at least two tier names, got {len(names)}")
        if any(not isinstance(n, str) or not n.strip() for n in names):
            raise UsageError("every tier name must be a non-empty text")
        if len(set(names)) != len(names):
            raise UsageError(f"tier names must be unique: {', '.join(names)}")
        if MISSING in names:
            raise UsageError(f"'{MISSING}' is reserved for customers missing from a comparison")
        # Only the list the mode uses is checked: a cutoff rule may carry stale quotas and vice versa.
        mode = TierMode(self.mode)
        if mode is TierMode.quota:
            self._check_quotas()
        elif mode is TierMode.cutoff:
            self._check_cutoffs()
        else:
            assert_never(mode)

    def _check_quotas(self) -> None:
        need = len(self.names) - 1
        if len(self.quotas) != need:
            raise UsageError(f"quota mode needs {need} shares (one per tier but the last, {self.names[-1]}); "
                             f"got {len(self.quotas)}")
        bad = [q for q in self.quotas if not (0.0 < q < 1.0)]
        if bad:
            raise Refused("refuse.quota_share", share=bad[0])
        if sum(self.quotas) >= 1.0:
            raise Refused("refuse.quota_sum", tier=_tier_word(self.names[-1]), total=f"{sum(self.quotas):.4g}")

    def _check_cutoffs(self) -> None:
        need = len(self.names) - 1
        if len(self.cutoffs) != need:
            raise UsageError(f"cutoff mode needs {need} score floors (one per tier but the last, "
                             f"{self.names[-1]}); got {len(self.cutoffs)}")
        if any(not math.isfinite(c) for c in self.cutoffs):
            raise UsageError("score floors must be finite numbers")
        if any(a <= b for a, b in zip(self.cutoffs, self.cutoffs[1:], strict=False)):
            raise Refused("refuse.cutoffs_down", cutoffs=list(self.cutoffs))

    def to_dict(self) -> dict[str, Any]:
        return {"mode": str(self.mode), "names": list(self.names), "quotas": list(self.quotas),
                "cutoffs": list(self.cutoffs), "by_industry": self.by_industry}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TierRules:
        unknown = set(data) - {"mode", "names", "quotas", "cutoffs", "by_industry"}
        if unknown:
            raise UsageError(f"tier rules have unknown field(s): {', '.join(sorted(unknown))}")
        return cls(**dict(data))


DEFAULT_TIER_RULES = TierRules(
    mode=setting_default("tiers.mode"), names=tuple(setting_default("tiers.names")),
    quotas=tuple(setting_default("tiers.quotas")), cutoffs=tuple(setting_default("tiers.cutoffs")),
    by_industry=setting_default("tiers.by_industry"),
)


def tier_rules(conn: Connection | Session | None = None) -> TierRules:
    """The tier rules in force: the ``tiers.*`` settings (their defaults when ``conn`` is None)."""
    return TierRules(
        mode=_setting(conn, "tiers.mode"), names=tuple(_setting(conn, "tiers.names")),
        quotas=tuple(_setting(conn, "tiers.quotas")), cutoffs=tuple(_setting(conn, "tiers.cutoffs")),
        by_industry=_setting(conn, "tiers.by_industry"),
    )


def quota_bounds(sizes: np.ndarray, quotas: tuple[float, ...]) -> np.ndarray:
    """Cumulative tier bounds, shape (len(sizes), len(quotas)): how many of a group's customers the
    first k tiers hold together, ``round_half_up(size × cumulative share)`` (module docstring)."""
    cumulative = np.cumsum(np.asarray(quotas, dtype=float))
    raw = np.round(np.asarray(sizes, dtype=float)[:, None] * cumulative[None, :], 9)
    return np.floor(raw + 0.5).astype(np.int64)


def quota_counts(n: int, rules: TierRules) -> dict[str, int]:
    """Customers per tier that quota mode gives ``n`` customers (sums to ``n``)."""
    bounds = np.concatenate(([0], quota_bounds(np.array([n]), rules.quotas)[0], [n]))
    return dict(zip(rules.names, np.diff(bounds).tolist(), strict=True))


def assign_tiers(scores: pd.Series, rules: TierRules = DEFAULT_TIER_RULES,
                 industry: pd.Series | None = None) -> pd.Series:
    """Tier name per customer.

    In: ``scores`` indexed by customer_id (unique, no missing values); ``industry`` on the same index
    when ``rules.by_industry`` (quotas then apply within each industry; a missing industry is its own
    group). Out: a Series named ``tier`` of tier names (categorical, categories in tier order) on the
    same index, in the same order.
    Rounding and tie rules: module docstring.
    """
    if not isinstance(scores, pd.Series):
        raise UsageError("assign_tiers needs a Series of scores indexed by customer_id")
    if not scores.index.is_unique:
        raise UsageError("scores have duplicate customer ids; each customer must appear once")
    numeric = scores if pd.api.types.is_float_dtype(scores.dtype) else pd.to_numeric(scores, errors="coerce")
    values = numeric.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values.min(initial=0.0)):  # NaN propagates through min: one cheap pass in the usual case
        missing = int(np.isnan(values).sum())
        raise UsageError(f"{missing} customer(s) have no score; score every customer before tiering")
    names = rules.names
    mode = TierMode(rules.mode)
    if mode is TierMode.cutoff:
        # The tier index counts the floors a score does not reach: one comparison per floor is
        # several times faster than a binary search per score (np.searchsorted) on unsorted scores.
        position = np.full(len(values), len(rules.cutoffs), dtype=np.int8)
        for floor in rules.cutoffs:
            position -= values >= floor
    elif mode is TierMode.quota:
        use_industry = rules.by_industry and industry is not None
        position = _quota_positions(scores.index, values, industry if use_industry else None, rules.quotas)
    else:
        assert_never(mode)
    # Categorical: the tier names, stored as small integer codes (a million strings cost more than the
    # tiering). The codes are ours and in range, so pandas need not check them again.
    return pd.Series(pd.Categorical.from_codes(position, dtype=_tier_dtype(tuple(names)), validate=False),
                     index=scores.index, name="tier")


@functools.lru_cache(maxsize=16)
def _tier_dtype(names: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of a tier Series; built once per set of names (building it costs more
    than tiering 100k customers)."""
    return pd.CategoricalDtype(list(names))


def _quota_positions(index: pd.Index, values: np.ndarray, industry: pd.Series | None,
                     quotas: tuple[float, ...]) -> np.ndarray:
    """Tier position (0 = first tier) per customer. Groups are industries (a closed vocabulary), so
    the loop below runs a handful of times, never once per customer."""
    n = len(values)
    if industry is None:
        return _positions_in_group(index.to_numpy(), values, quota_bounds(np.array([n]), quotas)[0])
    aligned = industry if industry.index.equals(index) else industry.reindex(index)
    groups, uniques = pd.factorize(aligned)  # a missing industry gets -1: make it a group of its own
    groups = np.where(groups < 0, len(uniques), groups)
    sizes = np.bincount(groups) if n else np.zeros(0, dtype=np.int64)
    bounds = quota_bounds(sizes, quotas)
    ids = index.to_numpy()
    # One stable sort by group (radix sort for small integers) instead of a mask per group.
    by_group = np.argsort(groups.astype(np.int16 if len(sizes) < 2**15 else np.int64), kind="stable")
    ends = np.cumsum(sizes)
    position = np.empty(n, dtype=np.int64)
    for group, (start, end) in enumerate(zip(ends - sizes, ends, strict=True)):
        members = by_group[start:end]
        position[members] = _positions_in_group(ids[members], values[members], bounds[group])
    return position


_CHUNK = 1 << 15   # values per chunk of the histogram pass: its temporaries stay in the CPU cache
_BUCKETS = 4096    # histogram buckets; a bound's bucket holds about n / 4096 customers
_RANK_DIRECTLY = 2048  # at most this many candidates are ranked by a sort instead of a finer histogram


def _positions_in_group(ids: np.ndarray, values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Positions from cumulative bounds without sorting or partitioning the whole group.

    Values are bucketed into a histogram (one chunked pass); each bound falls in one bucket, and
    only that bucket's customers are ranked by (value desc, id asc) in ``_best``. Bucketing is
    monotone, so everyone in a better bucket ranks above the bound and everyone in a worse one
    below it. Same tiers as a full sort (the oracle in ``tests/test_tiers.py``), several times
    faster than ``np.partition`` at a million customers.
    """
    n = len(values)
    position = np.full(n, len(bounds), dtype=np.int8)
    if n == 0:
        return position
    bucket, at_or_above = _histogram(values)
    for bound in (int(b) for b in bounds):
        if bound <= 0:
            continue
        if bound >= n:
            position -= 1
            continue
        edge, need = _edge(at_or_above, bound)
        position -= bucket > edge
        members = np.flatnonzero(bucket == edge)
        position[members[_best(ids[members], values[members], need)]] -= 1
    return position


def _histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bucket per value (0 = lowest) and, per bucket from the best down, how many values lie at or above it.

    Chunked so the scaled copy and the integer copy ``bincount`` wants stay in the cache: at a
    million values this halves the time of one whole-array pass per step.
    """
    low, high = float(values.min()), float(values.max())
    # (value − low) × k lies in [−ulps, buckets − 1 + ulps]; truncation maps it into the buckets.
    k = (_BUCKETS - 1) / (high - low) if high > low else 0.0
    if not math.isfinite(k):  # values a few subnormal steps apart: scale into 0..1 first
        values = (values - low) / (high - low)
        low, k = 0.0, float(_BUCKETS - 1)
    bucket = np.empty(len(values), dtype=np.uint16)
    counts = np.zeros(_BUCKETS, dtype=np.intp)
    scaled, truncated = np.empty(min(_CHUNK, len(values))), np.empty(min(_CHUNK, len(values)), dtype=np.intp)
    for start in range(0, len(values), _CHUNK):
        chunk = values[start:start + _CHUNK]
        size = len(chunk)
        np.subtract(chunk, low, out=scaled[:size])
        np.multiply(scaled[:size], k, out=truncated[:size], casting="unsafe")  # truncates toward zero
        counts += np.bincount(truncated[:size], minlength=_BUCKETS)
        bucket[start:start + size] = truncated[:size]
    return bucket, np.cumsum(counts[::-1])


def _edge(at_or_above: np.ndarray, bound: int) -> tuple[int, int]:
    """The bucket the ``bound``-th best value falls in, and how many of its members are needed to reach the bound."""
    step = int(np.searchsorted(at_or_above, bound))  # first bucket, best first, reaching the bound
    above = int(at_or_above[step - 1]) if step else 0
    return len(at_or_above) - 1 - step, bound - above


def _best(ids: np.ndarray, values: np.ndarray, need: int) -> np.ndarray:
    """Indices of the ``need`` best of these candidates by (value desc, id asc).

    A few candidates are sorted; many (a crowded bucket: most scores in a narrow band next to a far
    outlier) get a finer histogram of their own, so no input makes the cost a sort of the group.
    """
    if values.min() == values.max():  # all tied: the lowest ids, without sorting them all
        return np.argpartition(ids, need - 1)[:need] if need < len(ids) else np.arange(len(ids))
    if len(values) <= _RANK_DIRECTLY:
        return np.lexsort((ids, -values))[:need]
    bucket, at_or_above = _histogram(values)
    edge, still = _edge(at_or_above, need)
    members = np.flatnonzero(bucket == edge)
    return np.concatenate((np.flatnonzero(bucket > edge), members[_best(ids[members], values[members], still)]))


def tier_counts(tiers: pd.Series, names: tuple[str, ...]) -> pd.Series:
    """Customers per tier, every tier listed in order (zero where empty)."""
    return tiers.value_counts().reindex(list(names), fill_value=0).astype(int).rename("customers")


# --- service models and workload ---------------------------------------------------------------


@dataclass(frozen=True)
class ServiceModel:
    """How a tier is served: who (CSM level), how often (cadence) and how many accounts per CSM."""

    tier: str
    csm_level: CsmLevel
    accounts_per_csm: int
    cadence_en: str
    cadence_zh: str

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "csm_level", CsmLevel(self.csm_level))
        except ValueError:
            raise UsageError(f"service model of tier '{self.tier}': CSM level '{self.csm_level}' is unknown; "
                             f"use one of {', '.join(CsmLevel)}") from None
        if isinstance(self.accounts_per_csm, bool) or not isinstance(self.accounts_per_csm, int) \
                or self.accounts_per_csm < 1:
            raise UsageError(f"service model of tier '{self.tier}': accounts per CSM must be a whole number "
                             f"of at least 1, got {self.accounts_per_csm!r}")


SERVICE_MODEL_COLUMNS = ("tier", "csm_level", "accounts_per_csm", "cadence_en", "cadence_zh")


def service_models(conn_or_none: Connection | Session | None = None) -> pd.DataFrame:
    """One row per tier, in tier order: the ``tiers.service_models`` setting checked against
    ``tiers.names`` (defaults when no connection is given). A tier without a model is an error
    that names the setting to fix, rather than a silent gap in the workload."""
    names = tuple(_setting(conn_or_none, "tiers.names"))
    raw = _setting(conn_or_none, "tiers.service_models")
    models: dict[str, ServiceModel] = {}
    for entry in raw:
        unknown = set(entry) - set(SERVICE_MODEL_COLUMNS)
        if unknown:
            raise UsageError(f"setting tiers.service_models: unknown field(s) {', '.join(sorted(unknown))}")
        model = ServiceModel(**entry)
        models[model.tier] = model
    lacking = [n for n in names if n not in models]
    if lacking:
        raise UsageError(f"tier(s) {', '.join(lacking)} have no service model; add them to the setting "
                         "tiers.service_models")
    return pd.DataFrame([{c: getattr(models[n], c) for c in SERVICE_MODEL_COLUMNS} for n in names],
                        columns=list(SERVICE_MODEL_COLUMNS))


def active_csms(conn: Connection | Session) -> dict[CsmLevel, int]:
    """Active CSMs of the team list per level (every level listed, zero where none)."""
    rows = conn.execute(select(csms_table.c.level, func.count()).where(csms_table.c.active.is_(True))
                        .group_by(csms_table.c.level)).all()
    found = {CsmLevel(level): int(count) for level, count in rows}
    return {level: found.get(level, 0) for level in CsmLevel}


def planned_headcount(raw: Mapping[str, Any]) -> dict[CsmLevel, int]:
    """The setting ``tiers.csm_headcount`` checked: known levels, whole numbers of at least 0."""
    out: dict[CsmLevel, int] = {}
    for level, count in raw.items():
        try:
            known = CsmLevel(level)
        except ValueError:
            raise UsageError(f"setting tiers.csm_headcount: CSM level '{level}' is unknown; "
                             f"use one of {', '.join(CsmLevel)}") from None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise UsageError(f"setting tiers.csm_headcount: the headcount of '{level}' must be a whole number "
                             f"of at least 0, got {count!r}")
        out[known] = count
    return out


def csm_headcount(conn: Connection | Session) -> dict[CsmLevel, int]:
    """CSMs per level the workload plans with: the setting ``tiers.csm_headcount`` where it sets a
    level, else the active CSMs of the team list (every level listed, zero where none)."""
    planned = planned_headcount(_setting(conn, "tiers.csm_headcount"))
    counted = active_csms(conn)
    return {level: planned.get(level, counted[level]) for level in CsmLevel}


def workload(tier_counts: Mapping[str, int], csm_headcount: Mapping[str, int],
             models: pd.DataFrame) -> pd.DataFrame:
    """The CSMs a tiering needs against those available.

    In: customers per tier, active CSMs per level, ``service_models()``. Out: one row per model
    row (tier order) with ``accounts, accounts_per_csm, csms_needed = ceil(accounts /
    accounts_per_csm), csm_level, level_headcount`` (the whole level), ``allocated`` and
    ``shortfall``. A level's headcount is shared by its tiers, highest tier first (module docstring).
    """
    missing = [c for c in ("tier", "csm_level", "accounts_per_csm") if c not in models.columns]
    if missing:
        raise UsageError(f"service models lack column '{missing[0]}'")
    frame = models[["tier", "csm_level", "accounts_per_csm"]].reset_index(drop=True).copy()
    frame["csm_level"] = frame["csm_level"].astype(str)
    frame.insert(1, "accounts", frame["tier"].map(lambda t: int(tier_counts.get(t, 0))).astype(np.int64))
    per = frame["accounts_per_csm"].to_numpy(dtype=np.int64)
    frame["csms_needed"] = -(-frame["accounts"].to_numpy(dtype=np.int64) // per)  # integer ceil
    heads = {str(k): int(v) for k, v in csm_headcount.items()}
    frame["level_headcount"] = frame["csm_level"].map(lambda lv: heads.get(lv, 0)).astype(np.int64)
    needed_before = frame.groupby("csm_level", sort=False)["csms_needed"].cumsum() - frame["csms_needed"]
    left = (frame["level_headcount"] - needed_before).clip(lower=0)
    frame["allocated"] = np.minimum(left, frame["csms_needed"]).astype(np.int64)
    frame["shortfall"] = (frame["csms_needed"] - frame["allocated"]).astype(np.int64)
    return frame


# --- comparing two tierings --------------------------------------------------------------------


def migration_matrix(before: pd.Series, after: pd.Series, names: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Customers moving between tiers: rows = tier before, columns = tier after, cells = counts.

    Both Series are indexed by customer_id. Every tier in ``names`` is a row and a column (zeros
    kept); tiers outside ``names`` follow in sorted order; customers present on one side only are
    counted in a ``—`` row or column. The cells sum to the number of distinct customers.
    """
    pair = _Pair.of(before, after, names)
    rows = pair.labels + ([MISSING] if (pair.before < 0).any() else [])
    cols = pair.labels + ([MISSING] if (pair.after < 0).any() else [])
    # Missing is -1: as a row/column number it must point at the last row/column, the "—" one.
    r = np.where(pair.before < 0, len(rows) - 1, pair.before)
    c = np.where(pair.after < 0, len(cols) - 1, pair.after)
    counts = np.bincount(r * len(cols) + c, minlength=len(rows) * len(cols)).reshape(len(rows), len(cols))
    return pd.DataFrame(counts.astype(np.int64), index=pd.Index(rows, name="before"),
                        columns=pd.Index(cols, name="after"))


def movers(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Customers whose tier differs (``—`` where absent on one side): customer_id, from, to."""
    pair = _Pair.of(before, after, ())
    moved = np.flatnonzero(pair.before != pair.after)
    labels = np.array([*pair.labels, MISSING], dtype=object)  # index -1 reads "—"
    frame = pd.DataFrame({"customer_id": pair.index.to_numpy()[moved], "from": labels[pair.before[moved]],
                          "to": labels[pair.after[moved]]})
    return frame.sort_values("customer_id", ignore_index=True)


@dataclass(frozen=True)
class _Pair:
    """Two tierings on one customer index as label numbers (-1 = customer absent on that side)."""

    index: pd.Index
    labels: list[str]
    before: np.ndarray
    after: np.ndarray

    @classmethod
    def of(cls, before: pd.Series, after: pd.Series, names: tuple[str, ...] | list[str]) -> _Pair:
        index = before.index if before.index.equals(after.index) else before.index.union(after.index)
        b_codes, b_uniques = pd.factorize(before if before.index.equals(index) else before.reindex(index))
        a_codes, a_uniques = pd.factorize(after if after.index.equals(index) else after.reindex(index))
        seen = {str(u) for u in b_uniques} | {str(u) for u in a_uniques}
        labels = list(names) + sorted(seen - set(names) - {MISSING})
        number = {label: i for i, label in enumerate(labels)} | {MISSING: -1}
        b_map = np.array([number[str(u)] for u in b_uniques] + [-1], dtype=np.int64)
        a_map = np.array([number[str(u)] for u in a_uniques] + [-1], dtype=np.int64)
        return cls(index, labels, b_map[b_codes], a_map[a_codes])


# --- presets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named scoring set-up as stored: who saved it last and when, and whether it is published."""

    id: int
    name: str
    weights: dict[str, float]
    methods: dict[str, MethodSpec]
    tier_rules: TierRules
    published: bool
    created_by: str
    created_at: dt.datetime
    version: int
    mappings: dict[str, dict[str, float]]  # category value tables, every categorical dimension filled in


# scoring is imported inside these two functions so that tiering never pays for (or cycles with) it.
def _methods_out(methods: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """JSON for the ``methods`` column; dicts go through ``MethodSpec`` so a bad one is refused now."""
    from ops_core.scoring import MethodSpec

    out: dict[str, dict[str, Any]] = {}
    for key, spec in methods.items():
        if isinstance(spec, Mapping):
            spec = MethodSpec.from_dict(spec)
        if not isinstance(spec, MethodSpec):
            raise UsageError(f"method of '{key}' must be a MethodSpec or a dict, not {type(spec).__name__}")
        out[str(key)] = spec.to_dict()
    return out


def _methods_in(stored: Mapping[str, Any] | None) -> dict[str, MethodSpec]:
    from ops_core.scoring import MethodSpec

    return {key: MethodSpec.from_dict(value) for key, value in dict(stored or {}).items()}


def _mappings_out(mappings: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, float]] | None:
    """JSON for the ``mappings`` column: each category's value a number in 0..1, else UsageError now."""
    if mappings is None:
        return None
    out: dict[str, dict[str, float]] = {}
    for key, table in mappings.items():
        out[str(key)] = {}
        for category, value in dict(table).items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise UsageError(f"mapping '{key}': the value of '{category}' is not a number: {value!r}") from None
            if not 0.0 <= number <= 1.0:
                raise UsageError(f"mapping '{key}': the value of '{category}' must be between 0 and 1, not {number}")
            out[str(key)][str(category)] = number
    return out


def _mappings_in(stored: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    """The stored tables over the defaults (a preset saved before mappings were kept has none)."""
    from ops_core.scoring import mappings_in_force

    return mappings_in_force(stored)


def _weights_out(weights: Mapping[str, Any]) -> dict[str, float]:
    clean: dict[str, float] = {}
    for key, value in weights.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"weight of '{key}' is not a number: {value!r}") from None
        if not math.isfinite(number):
            raise UsageError(f"weight of '{key}' is not a finite number")
        clean[str(key)] = number
    return clean


def _preset(row: Mapping[str, Any]) -> Preset:
    return Preset(
        id=row["id"], name=row["name"], weights=dict(row["weights"] or {}), methods=_methods_in(row["methods"]),
        tier_rules=TierRules.from_dict(row["tier_rules"] or {}), published=bool(row["published"]),
        created_by=row["created_by"], created_at=row["created_at"], version=row["version"],
        mappings=_mappings_in(row.get("mappings")),
    )


def save_preset(session: Session, actor: writes.Actor, name: str, weights: Mapping[str, float],
                methods: Mapping[str, Any], tier_rules: TierRules, *,
                mappings: Mapping[str, Mapping[str, float]] | None = None,
                expected_version: int | None = None) -> Preset:
    """Store a set-up under ``name``; ``mappings`` are the category value tables in force (None: the
    defaults). A new name is created; an existing name is overwritten only when ``expected_version``
    is the version the caller read (else UsageError / StaleVersion), so two people cannot silently
    overwrite each other's preset. A published preset stays published."""
    name = (name or "").strip()
    if not name:
        raise UsageError("a preset needs a name")
    values = {
        "weights": _weights_out(weights), "methods": _methods_out(methods), "mappings": _mappings_out(mappings),
        "tier_rules": tier_rules.to_dict(),
        "created_by": actor.username, "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }
    existing = session.execute(select(presets_table).where(presets_table.c.name == name)).mappings().first()
    if existing is None:
        stored = writes.create(session, actor, "weight_presets", {"name": name, "published": False, **values})
    else:
        if expected_version is None:
            raise Refused("refuse.preset_exists", name=name, version=existing["version"])
        stored = writes.update(session, actor, "weight_presets", existing["id"], expected_version, values)
    return _preset(stored)


def list_presets(conn: Connection | Session) -> list[Preset]:
    """Every preset, by name."""
    rows = conn.execute(select(presets_table).order_by(presets_table.c.name)).mappings().all()
    return [_preset(row) for row in rows]


def load_preset(conn: Connection | Session, name: str) -> Preset:
    """The preset called ``name``; UsageError naming the known ones when there is none."""
    row = conn.execute(select(presets_table).where(presets_table.c.name == name)).mappings().first()
    if row is None:
        known = conn.execute(select(presets_table.c.name).order_by(presets_table.c.name)).scalars().all()
        raise UsageError(f"no preset named '{name}'; known: {', '.join(known) or '(none saved yet)'}")
    return _preset(row)


def published_preset(conn: Connection | Session) -> Preset | None:
    """The preset whose tiers are the official assignment, if one has been published."""
    row = conn.execute(select(presets_table).where(presets_table.c.published.is_(True))
                       .order_by(presets_table.c.id)).mappings().first()
    return None if row is None else _preset(row)


def publish_preset(session: Session, actor: writes.Actor, preset_id: int, expected_version: int) -> Preset:
    """Make ``preset_id`` the one published preset, unpublishing any other in the same transaction.

    Every preset row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite has one writer anyway),
    so two people publishing at once are serialised and never leave two presets published.
    """
    writes.check_write(actor, "weight_presets", "publish")
    rows = session.execute(select(presets_table.c.id, presets_table.c.version, presets_table.c.published)
                           .order_by(presets_table.c.id).with_for_update()).all()
    if preset_id not in {r.id for r in rows}:
        raise UsageError(f"no preset with id {preset_id}")
    target = next(r for r in rows if r.id == preset_id)
    if not target.published or target.version != expected_version:
        writes.update(session, actor, "weight_presets", preset_id, expected_version, {"published": True})
    for row in rows:
        if row.published and row.id != preset_id:
            writes.update(session, actor, "weight_presets", row.id, row.version, {"published": False})
    found = session.execute(select(presets_table).where(presets_table.c.id == preset_id)).mappings().one()
    return _preset(found)


# --- monthly history ---------------------------------------------------------------------------


def snapshot_version(conn: Connection | Session, month: dt.date) -> int:
    """The version of ``month``'s snapshot as a reader sees it: the audit id of its last freeze (0: none)."""
    log = TABLES["audit_log"]
    found = conn.execute(select(func.max(log.c.id)).where(
        log.c.entity == "score_snapshots", log.c.entity_id == dt.date(month.year, month.month, 1).isoformat())).scalar()
    return int(found or 0)


def snapshot_month(session_or_conn: Session | Connection, actor: writes.Actor, month: dt.date,
                   scores: pd.Series, tiers: pd.Series, preset_id: int | None, *,
                   expected_version: int | None = None) -> int:
    """Store every customer's score and tier for ``month`` (its first day), replacing that month's
    rows; returns the rows written. Bulk path, audited as one row (keyed by the month), in the caller's
    transaction. ``expected_version`` is the ``snapshot_version`` the caller read: a month frozen again
    since is not replaced (StaleVersion with the newer freeze's rows), so one person's snapshot never
    silently replaces another's."""
    writes.check_write(actor, "score_snapshots", "snapshot")
    if not scores.index.is_unique:
        raise UsageError("scores have duplicate customer ids; each customer must appear once")
    if not scores.index.equals(tiers.index) and set(scores.index) != set(tiers.index):
        raise UsageError("scores and tiers must cover the same customers")
    tiers = tiers.reindex(scores.index)
    values = pd.to_numeric(scores, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).all() or tiers.isna().any():
        raise UsageError("every customer needs a finite score and a tier before a snapshot")
    first = dt.date(month.year, month.month, 1)
    if expected_version is not None:
        now = snapshot_version(session_or_conn, first)
        if now != expected_version:
            rows = session_or_conn.execute(select(func.count()).select_from(snapshots_table)
                                           .where(snapshots_table.c.month == first)).scalar_one()
            raise StaleVersion("score_snapshots", first.isoformat(), expected_version,
                               {"version": now, "month": first.isoformat(), "rows": int(rows)})
    if isinstance(session_or_conn, Session):
        return _snapshot(session_or_conn, actor, first, scores.index, values, tiers, preset_id)
    with Session(bind=session_or_conn) as session:  # joins the connection's transaction
        return _snapshot(session, actor, first, scores.index, values, tiers, preset_id)


def _snapshot(session: Session, actor: writes.Actor, first: dt.date, ids: pd.Index, values: np.ndarray,
              tiers: pd.Series, preset_id: int | None) -> int:
    conn = session.connection()
    replaced = conn.execute(delete(snapshots_table).where(snapshots_table.c.month == first)).rowcount
    rows = list(zip(repeat(first), ids.astype(int).tolist(), repeat(preset_id), values.tolist(),
                    tiers.astype(str).tolist(), strict=False))
    written = bulk.bulk_insert(conn, "score_snapshots", ("month", "customer_id", "preset_id", "score", "tier"), rows)
    # Audited under the month, so the month's snapshot has a version (snapshot_version) and an author.
    writes.audit(session, actor, "snapshot", "score_snapshots", first.isoformat(), None,
                 {"month": first.isoformat(), "rows": written, "replaced": replaced, "preset_id": preset_id})
    return written


def score_history(conn: Connection | Session, customer_id: int) -> pd.DataFrame:
    """One customer's snapshots over time: month, score, tier (oldest first)."""
    rows = conn.execute(select(snapshots_table.c.month, snapshots_table.c.score, snapshots_table.c.tier)
                        .where(snapshots_table.c.customer_id == customer_id)
                        .order_by(snapshots_table.c.month)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["month", "score", "tier"])


def tier_counts_history(conn: Connection | Session) -> pd.DataFrame:
    """Customers per tier per snapshot month: month, tier, count (counted in the database)."""
    rows = conn.execute(select(snapshots_table.c.month, snapshots_table.c.tier, func.count().label("count"))
                        .group_by(snapshots_table.c.month, snapshots_table.c.tier)
                        .order_by(snapshots_table.c.month, snapshots_table.c.tier)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["month", "tier", "count"])
    frame["count"] = frame["count"].astype(np.int64)
    return frame
