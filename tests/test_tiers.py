"""Tiers: quota and cutoff rules, service models and workload, migration, presets and monthly history."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from ops_core import scoring, settings, tiers, writes
from ops_core.db.engine import transaction
from ops_core.db.models import AuditLog, ScoreSnapshot, WeightPreset
from ops_core.errors import PermissionDenied, StaleVersion, UsageError
from ops_core.scoring import Method, MethodSpec
from ops_core.tiers import TierRules
from ops_core.vocab import CsmLevel, Role
from tests.factories import make_csm, make_customer

VIEWER = writes.Actor("li.viewer", Role.viewer)
EDITOR = writes.Actor("zhang.editor", Role.editor)
OTHER_EDITOR = writes.Actor("chen.editor", Role.editor)
ADMIN = writes.Actor("wang.admin", Role.admin)  # publishing is an admin's
OTHER_ADMIN = writes.Actor("chen.admin", Role.admin)
TENTHS = TierRules(quotas=(0.1, 0.2, 0.3))


def ten_customers() -> pd.Series:
    # customer 1 scores 100, customer 2 scores 90, ... customer 10 scores 10
    return pd.Series([100.0 - 10 * i for i in range(10)], index=pd.Index(range(1, 11), name="customer_id"))


# --- quota mode ----------------------------------------------------------------------------------


def test_quotas_on_ten_customers_give_one_two_three_four():
    # cumulative shares 0.1, 0.3, 0.6 of 10 -> bounds 1, 3, 6 -> counts 1, 2, 3, 4
    result = tiers.assign_tiers(ten_customers(), TENTHS)
    assert result.to_dict() == {1: "KA", 2: "standard", 3: "standard", 4: "small", 5: "small", 6: "small",
                                7: "micro", 8: "micro", 9: "micro", 10: "micro"}
    assert result.name == "tier"


@pytest.mark.parametrize(("n", "quotas", "expected"), [
    (10, (0.1, 0.2, 0.3), (1, 2, 3, 4)),      # bounds 1, 3, 6
    (7, (0.1, 0.2, 0.3), (1, 1, 2, 3)),       # 0.7, 2.1, 4.2 -> 1, 2, 4
    (7, (0.05, 0.20, 0.35), (0, 2, 2, 3)),    # 0.35, 1.75, 4.2 -> 0, 2, 4
    (5, (0.1, 0.2, 0.3), (1, 1, 1, 2)),       # 0.5, 1.5, 3.0 -> half up: 1, 2, 3
    (1, (0.1, 0.2, 0.3), (0, 0, 1, 0)),       # 0.1, 0.3, 0.6 -> 0, 0, 1: the one customer is small
    (10, (0.15, 0.2, 0.3), (2, 2, 3, 3)),     # 1.5, 3.5, 6.5 (float gives 6.4999…; rounded first) -> 2, 4, 7
    (0, (0.1, 0.2, 0.3), (0, 0, 0, 0)),
], ids=["10-even", "7-tenths", "7-defaults", "5-half-up", "1-customer", "float-noise", "empty"])
def test_quota_counts_round_the_cumulative_share_half_up_and_sum_to_n(n, quotas, expected):
    rules = TierRules(quotas=quotas)
    assert tuple(tiers.quota_counts(n, rules).values()) == expected
    assert sum(expected) == n
    scores = pd.Series(np.linspace(90, 10, n) if n else [], index=pd.RangeIndex(1, n + 1), dtype=float)
    counted = tiers.tier_counts(tiers.assign_tiers(scores, rules), rules.names)
    assert tuple(counted) == expected


def test_equal_scores_at_a_boundary_the_lower_customer_id_takes_the_higher_tier():
    # customers 7 and 3 tie at 95 for the single KA place (1 of 10): customer 3 gets it, 7 is standard,
    # whatever the order the Series comes in.
    scores = pd.Series({7: 95.0, 3: 95.0, 1: 50.0, 2: 40.0, 4: 30.0, 5: 20.0, 6: 10.0, 8: 5.0, 9: 4.0, 10: 3.0})
    result = tiers.assign_tiers(scores, TENTHS)
    assert (result[3], result[7]) == ("KA", "standard")
    assert list(result.index) == list(scores.index)
    assert tiers.assign_tiers(scores.iloc[::-1], TENTHS).sort_index().equals(result.sort_index())


def test_all_equal_scores_are_tiered_by_customer_id():
    scores = pd.Series(50.0, index=range(101, 111))
    result = tiers.assign_tiers(scores, TENTHS)
    assert list(result.sort_index()) == ["KA", "standard", "standard", "small", "small", "small",
                                         "micro", "micro", "micro", "micro"]


SCORE_SHAPES = {
    # ~150 customers on each of 20 scores: every bound falls inside a tie
    "many-ties": lambda rng, n: rng.integers(0, 20, n).astype(float),
    # heavy-tailed with negatives: most customers crowd a few histogram buckets
    "heavy-tail": lambda rng, n: rng.lognormal(0, 3, n) - 5,
    # distinct only in the last bits: the whole group spans a range of 1e-9
    "near-equal": lambda rng, n: 50 + rng.random(n) * 1e-9,
    "continuous": lambda rng, n: rng.random(n) * 100,
    # one far outlier: everyone else shares the lowest histogram bucket, which needs a finer one
    "outlier": lambda rng, n: np.where(np.arange(n) == 0, 1e12, rng.random(n) * 100),
    # a span of three subnormal steps: the bucket scale 4095 / span overflows
    "subnormal": lambda rng, n: rng.integers(0, 4, n) * 5e-324,
}


@pytest.mark.parametrize("shape", SCORE_SHAPES)
@pytest.mark.parametrize(("by_industry", "n"), [(False, 3000), (True, 3000), (False, 200_000)],
                         ids=["overall", "by-industry", "200k"])
def test_quota_tiers_match_a_full_sort(by_industry, n, shape):
    # Oracle: sort by (industry, score desc, id asc) with lexsort and cut each group at the rounded
    # cumulative bounds; the module finds the same cut from a histogram instead of a sort.
    rng = np.random.default_rng(5)
    ids = rng.permutation(np.arange(1, n + 1))
    scores = pd.Series(SCORE_SHAPES[shape](rng, n), index=ids)
    industry = pd.Series(rng.choice(["energy", "food", "retail"], n), index=ids)
    rules = TierRules(quotas=(0.05, 0.2, 0.35), by_industry=by_industry)
    groups = pd.factorize(industry)[0] if by_industry else np.zeros(n, dtype=int)
    order = np.lexsort((ids, -scores.to_numpy(), groups))
    expected = np.empty(n, dtype=object)
    for group in np.unique(groups):
        ranked = order[groups[order] == group]
        bounds = [0, *tiers.quota_bounds(np.array([len(ranked)]), rules.quotas)[0], len(ranked)]
        for tier, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
            expected[ranked[lo:hi]] = rules.names[tier]
    assert tiers.assign_tiers(scores, rules, industry).astype(object).equals(
        pd.Series(expected, index=ids, name="tier", dtype=object))


def test_quotas_apply_within_each_industry_when_asked():
    # manufacturing: customers 1-10 score 100..10; energy: customers 11-15 score 9..5 (below all of them)
    scores = pd.concat([ten_customers(), pd.Series([9.0, 8.0, 7.0, 6.0, 5.0], index=range(11, 16))])
    industry = pd.Series(["manufacturing"] * 10 + ["energy"] * 5, index=scores.index)
    overall = tiers.assign_tiers(scores, TENTHS, industry)
    by_industry = tiers.assign_tiers(scores, TierRules(quotas=(0.1, 0.2, 0.3), by_industry=True), industry)
    # overall on 15: 1.5, 4.5, 9.0 -> 2, 5, 9 -> 2/3/4/6, every energy customer micro
    assert tuple(tiers.tier_counts(overall, TENTHS.names)) == (2, 3, 4, 6)
    assert set(overall[11:]) == {"micro"}
    # within energy (5): 0.5, 1.5, 3 -> 1, 2, 3 -> 1/1/1/2; manufacturing (10) -> 1/2/3/4
    assert by_industry.loc[11:].tolist() == ["KA", "standard", "small", "micro", "micro"]
    assert tuple(tiers.tier_counts(by_industry.loc[:10], TENTHS.names)) == (1, 2, 3, 4)


def test_a_missing_industry_is_a_group_of_its_own():
    scores = pd.Series([90.0, 80.0, 70.0], index=[1, 2, 3])
    industry = pd.Series(["energy", None, "energy"], index=[1, 2, 3])
    result = tiers.assign_tiers(scores, TierRules(quotas=(0.4, 0.1, 0.1), by_industry=True), industry)
    # energy (2 customers): 0.8, 1.0, 1.2 -> bounds 1, 1, 1 -> customer 1 KA, customer 3 micro;
    # the lone unknown-industry customer: 0.4, 0.5, 0.6 -> bounds 0, 1, 1 -> standard
    assert result.to_dict() == {1: "KA", 2: "standard", 3: "micro"}


# --- cutoff mode ---------------------------------------------------------------------------------


def test_cutoffs_put_a_score_exactly_on_a_floor_in_the_higher_tier():
    rules = TierRules(mode="cutoff", cutoffs=(80, 60, 40))
    scores = pd.Series({1: 100.0, 2: 80.0, 3: 79.999, 4: 60.0, 5: 40.0, 6: 39.9, 7: 0.0})
    assert tiers.assign_tiers(scores, rules).to_dict() == {
        1: "KA", 2: "KA", 3: "standard", 4: "standard", 5: "small", 6: "micro", 7: "micro"}


def test_tier_names_and_count_come_from_the_rules():
    rules = TierRules(mode="cutoff", names=("gold", "silver", "bronze"), cutoffs=(70, 30))
    scores = pd.Series({1: 70.0, 2: 50.0, 3: 10.0})
    assert tiers.assign_tiers(scores, rules).tolist() == ["gold", "silver", "bronze"]


def test_rules_round_trip_through_a_dict():
    rules = TierRules(mode="cutoff", names=("A", "B"), quotas=(0.3,), cutoffs=(55.5,), by_industry=True)
    assert TierRules.from_dict(rules.to_dict()) == rules
    assert rules.to_dict()["mode"] == "cutoff"


@pytest.mark.parametrize(("fields", "message"), [
    ({"quotas": (0.1, 0.2)}, "needs 3 shares"),
    ({"quotas": (0.0, 0.2, 0.3)}, "strictly between 0 and 1"),
    ({"quotas": (0.1, 1.0, 0.3)}, "strictly between 0 and 1"),
    ({"quotas": (0.3, 0.3, 0.4)}, "sum to less than 1"),
    ({"mode": "cutoff", "cutoffs": (80, 60)}, "needs 3 score floors"),
    ({"mode": "cutoff", "cutoffs": (60, 80, 40)}, "strictly down"),
    ({"mode": "cutoff", "cutoffs": (80, 60, 60)}, "strictly down"),
    ({"mode": "cutoff", "cutoffs": (80, math.nan, 40)}, "finite"),
    ({"mode": "random"}, "unknown"),
    ({"names": ("KA",), "quotas": ()}, "at least two"),
    ({"names": ("KA", "KA"), "quotas": (0.5,)}, "unique"),
    ({"names": ("KA", "—"), "quotas": (0.5,)}, "reserved"),
], ids=["too-few-quotas", "zero-share", "share-of-one", "shares-sum-to-one", "too-few-cutoffs",
        "cutoffs-rising", "cutoffs-equal", "cutoff-nan", "unknown-mode", "one-tier", "duplicate-names",
        "reserved-name"])
def test_bad_rules_are_refused_with_a_clear_message(fields, message):
    with pytest.raises(UsageError, match=message):
        TierRules(**fields)


def test_from_dict_refuses_unknown_fields():
    with pytest.raises(UsageError, match="unknown field"):
        TierRules.from_dict({"mode": "quota", "quota": [0.1]})


def test_missing_scores_and_duplicate_ids_are_refused():
    with pytest.raises(UsageError, match="1 customer"):
        tiers.assign_tiers(pd.Series([1.0, None]), TENTHS)
    with pytest.raises(UsageError, match="duplicate"):
        tiers.assign_tiers(pd.Series([1.0, 2.0], index=[5, 5]), TENTHS)


def test_default_rules_follow_the_settings(fresh_engine):
    assert tiers.tier_rules() == tiers.DEFAULT_TIER_RULES
    assert tiers.DEFAULT_TIER_RULES.names == ("KA", "standard", "small", "micro")
    with transaction(fresh_engine) as s:
        settings.change(s, writes.LOCAL_ADMIN, "tiers.mode", "cutoff", expected_version=0)
        settings.change(s, writes.LOCAL_ADMIN, "tiers.cutoffs", [90.0, 70.0, 50.0], expected_version=0)
    with fresh_engine.connect() as conn:
        rules = tiers.tier_rules(conn)
    assert (rules.mode, rules.cutoffs) == ("cutoff", (90.0, 70.0, 50.0))


# --- service models and workload -----------------------------------------------------------------


def test_default_service_models_cover_every_tier_in_both_languages():
    models = tiers.service_models().set_index("tier")
    assert list(models.index) == ["KA", "standard", "small", "micro"]
    assert models["accounts_per_csm"].to_dict() == {"KA": 10, "standard": 40, "small": 120, "micro": 1000}
    assert models["csm_level"].to_dict() == {"KA": "senior", "standard": "experienced", "small": "ordinary",
                                             "micro": "ordinary"}
    assert "weekly" in models.loc["KA", "cadence_en"].lower() and "每周" in models.loc["KA", "cadence_zh"]
    assert "批量" in models.loc["micro", "cadence_zh"]


def test_a_tier_without_a_service_model_is_named(fresh_engine):
    with transaction(fresh_engine) as s:
        settings.change(s, writes.LOCAL_ADMIN, "tiers.names", ["KA", "standard", "small", "tail"], expected_version=0)
    with fresh_engine.connect() as conn, pytest.raises(UsageError, match="tail"):
        tiers.service_models(conn)


def test_workload_shares_a_level_highest_tier_first():
    counts = {"KA": 25, "standard": 90, "small": 300, "micro": 2500}
    heads = {"senior": 2, "experienced": 3, "ordinary": 3}
    load = tiers.workload(counts, heads, tiers.service_models()).set_index("tier")
    # KA: ceil(25/10)=3 seniors, 2 exist -> short 1. standard: ceil(90/40)=3, 3 experienced -> 0.
    # small: ceil(300/120)=3 and micro: ceil(2500/1000)=3 share the 3 ordinary CSMs; small comes first
    # and takes all 3, so micro gets 0 and is short 3.
    assert load["csms_needed"].to_dict() == {"KA": 3, "standard": 3, "small": 3, "micro": 3}
    assert load["allocated"].to_dict() == {"KA": 2, "standard": 3, "small": 3, "micro": 0}
    assert load["shortfall"].to_dict() == {"KA": 1, "standard": 0, "small": 0, "micro": 3}
    assert load["level_headcount"].to_dict() == {"KA": 2, "standard": 3, "small": 3, "micro": 3}
    assert load["accounts"].sum() == 2915


def test_workload_of_an_empty_tier_needs_nobody():
    load = tiers.workload({"KA": 0}, {}, tiers.service_models()).set_index("tier")
    assert load["csms_needed"].sum() == 0 and load["shortfall"].sum() == 0


def test_csm_headcount_counts_active_csms_by_level(fresh_engine):
    with transaction(fresh_engine) as s:
        make_csm(s, level="senior")
        make_csm(s, level="senior")
        make_csm(s, level="experienced")
        make_csm(s, level="experienced", active=False)
    with fresh_engine.connect() as conn:
        heads = tiers.csm_headcount(conn)
    assert heads == {CsmLevel.senior: 2, CsmLevel.experienced: 1, CsmLevel.ordinary: 0}


# --- migration between two tierings --------------------------------------------------------------


def test_migration_matrix_of_a_hand_built_example():
    # customer 6 is gone afterwards, customer 7 is new
    before = pd.Series({1: "KA", 2: "KA", 3: "standard", 4: "small", 5: "micro", 6: "small"})
    after = pd.Series({1: "KA", 2: "standard", 3: "standard", 4: "micro", 5: "micro", 7: "KA"})
    matrix = tiers.migration_matrix(before, after, ("KA", "standard", "small", "micro"))
    assert list(matrix.index) == ["KA", "standard", "small", "micro", "—"]
    assert list(matrix.columns) == ["KA", "standard", "small", "micro", "—"]
    assert matrix.loc["KA"].tolist() == [1, 1, 0, 0, 0]
    assert matrix.loc["standard"].tolist() == [0, 1, 0, 0, 0]
    assert matrix.loc["small"].tolist() == [0, 0, 0, 1, 1]
    assert matrix.loc["micro"].tolist() == [0, 0, 0, 1, 0]
    assert matrix.loc["—"].tolist() == [1, 0, 0, 0, 0]
    assert matrix.to_numpy().sum() == 7  # customers 1-7
    moved = tiers.movers(before, after)
    assert moved.to_dict("records") == [
        {"customer_id": 2, "from": "KA", "to": "standard"}, {"customer_id": 4, "from": "small", "to": "micro"},
        {"customer_id": 6, "from": "small", "to": "—"}, {"customer_id": 7, "from": "—", "to": "KA"}]


def test_migration_matrix_totals_equal_the_customer_count():
    scores = pd.Series(np.random.default_rng(3).uniform(0, 100, 200), index=range(1, 201))
    before = tiers.assign_tiers(scores, tiers.DEFAULT_TIER_RULES)
    after = tiers.assign_tiers(scores, TierRules(mode="cutoff", cutoffs=(70, 50, 30)))
    matrix = tiers.migration_matrix(before, after, tiers.DEFAULT_TIER_RULES.names)
    assert "—" not in matrix.index and "—" not in matrix.columns
    assert matrix.to_numpy().sum() == 200
    assert matrix.sum(axis=1).tolist() == tiers.tier_counts(before, tiers.DEFAULT_TIER_RULES.names).tolist()
    assert matrix.sum(axis=0).tolist() == tiers.tier_counts(after, tiers.DEFAULT_TIER_RULES.names).tolist()
    assert len(tiers.movers(before, after)) == 200 - int(np.trace(matrix.to_numpy()))


# --- presets -------------------------------------------------------------------------------------

WEIGHTS = {"order_amount": 0.3, "gross_profit": 0.2, "payment": 0.5}
METHODS = {"order_amount": {"method": "log_minmax", "winsor_pct": 0.95, "floor": None, "ceiling": None}}




def preset_count(engine, **where) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(WeightPreset)
        for key, value in where.items():
            query = query.where(getattr(WeightPreset, key) == value)
        return conn.execute(query).scalar_one()


def audit_rows(engine, entity: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(AuditLog).where(AuditLog.entity == entity)
                                              .order_by(AuditLog.id)).mappings()]


def test_a_saved_preset_loads_back_with_who_and_when(fresh_engine):
    rules = TierRules(mode="cutoff", cutoffs=(85, 65, 45), by_industry=True)
    with transaction(fresh_engine) as s:
        saved = tiers.save_preset(s, EDITOR, "  Q3 review ", WEIGHTS, METHODS, rules)
    with fresh_engine.connect() as conn:
        loaded = tiers.load_preset(conn, "Q3 review")
        assert tiers.list_presets(conn) == [loaded]
        assert tiers.published_preset(conn) is None
    assert loaded == saved
    assert (loaded.name, loaded.weights, loaded.tier_rules, loaded.version) == ("Q3 review", WEIGHTS, rules, 1)
    assert loaded.methods["order_amount"] == MethodSpec(Method.log_minmax)
    assert (loaded.created_by, loaded.published) == ("zhang.editor", False)
    assert isinstance(loaded.created_at, dt.datetime)
    assert [(a["action"], a["actor"]) for a in audit_rows(fresh_engine, "weight_presets")] == [("create", "zhang.editor")]


def test_a_preset_keeps_its_category_mapping_and_an_older_one_reads_the_defaults(fresh_engine):
    mapping = {"demand_type": {"standard": 0.1, "configured": 0.3, "customised": 0.9, "platform": 0.6}}
    with transaction(fresh_engine) as s:
        tiers.save_preset(s, EDITOR, "custom", WEIGHTS, METHODS, TENTHS, mappings=mapping)
        tiers.save_preset(s, EDITOR, "older", WEIGHTS, METHODS, TENTHS)  # saved without one: stored as null
    with fresh_engine.connect() as conn:
        assert tiers.load_preset(conn, "custom").mappings == mapping
        assert tiers.load_preset(conn, "older").mappings == scoring.DEFAULT_MAPPINGS
        assert conn.execute(select(WeightPreset.mappings).where(WeightPreset.name == "older")).scalar_one() is None


@pytest.mark.parametrize(("value", "message"), [(1.5, "must be between 0 and 1"), ("high", "is not a number")])
def test_a_mapping_value_outside_0_to_1_is_refused_and_nothing_is_saved(fresh_engine, value, message):
    with pytest.raises(UsageError, match=f"mapping 'demand_type': the value of 'platform' {message}"), \
            transaction(fresh_engine) as s:
        tiers.save_preset(s, EDITOR, "bad", WEIGHTS, METHODS, TENTHS, mappings={"demand_type": {"platform": value}})
    assert preset_count(fresh_engine) == 0


def test_saving_an_existing_name_needs_the_version_read(fresh_engine):
    with transaction(fresh_engine) as s:
        tiers.save_preset(s, EDITOR, "base", WEIGHTS, METHODS, TENTHS)
    with pytest.raises(UsageError, match="already exists"), transaction(fresh_engine) as s:
        tiers.save_preset(s, OTHER_EDITOR, "base", {"payment": 1.0}, {}, TENTHS)
    with transaction(fresh_engine) as s:
        updated = tiers.save_preset(s, OTHER_EDITOR, "base", {"payment": 1.0}, {}, TENTHS, expected_version=1)
    assert (updated.version, updated.weights, updated.created_by) == (2, {"payment": 1.0}, "chen.editor")
    # A second person still holding version 1 is told, and nothing changes.
    with pytest.raises(StaleVersion), transaction(fresh_engine) as s:
        tiers.save_preset(s, EDITOR, "base", WEIGHTS, METHODS, TENTHS, expected_version=1)
    with fresh_engine.connect() as conn:
        assert tiers.load_preset(conn, "base").weights == {"payment": 1.0}
    assert preset_count(fresh_engine) == 1


def test_a_viewer_may_not_save_or_publish_presets(fresh_engine):
    with pytest.raises(PermissionDenied, match="viewer"), transaction(fresh_engine) as s:
        tiers.save_preset(s, VIEWER, "mine", WEIGHTS, METHODS, TENTHS)
    with transaction(fresh_engine) as s:
        saved = tiers.save_preset(s, EDITOR, "base", WEIGHTS, METHODS, TENTHS)
    with pytest.raises(PermissionDenied, match="viewer"), transaction(fresh_engine) as s:
        tiers.publish_preset(s, VIEWER, saved.id, saved.version)
    with pytest.raises(PermissionDenied, match="editor"), transaction(fresh_engine) as s:
        tiers.publish_preset(s, EDITOR, saved.id, saved.version)  # saving is an editor's, publishing an admin's
    assert preset_count(fresh_engine, published=True) == 0


def test_publishing_leaves_exactly_one_published_preset(fresh_engine):
    with transaction(fresh_engine) as s:
        first = tiers.save_preset(s, EDITOR, "first", WEIGHTS, METHODS, TENTHS)
        second = tiers.save_preset(s, EDITOR, "second", {"payment": 1.0}, {}, TENTHS)
    with transaction(fresh_engine) as s:
        published = tiers.publish_preset(s, ADMIN, first.id, first.version)
    assert (published.published, published.version) == (True, 2)
    with transaction(fresh_engine) as s:
        tiers.publish_preset(s, OTHER_ADMIN, second.id, second.version)
    with fresh_engine.connect() as conn:
        assert tiers.published_preset(conn).name == "second"
        assert {p.name: p.published for p in tiers.list_presets(conn)} == {"first": False, "second": True}
    assert preset_count(fresh_engine, published=True) == 1
    # create, create, publish first, then publish second and unpublish first in one action
    actions = [(a["action"], a["actor"], a["entity_id"], (a["new_values"] or {}).get("published"))
               for a in audit_rows(fresh_engine, "weight_presets")]
    assert actions[2:] == [("update", "wang.admin", str(first.id), True),
                           ("update", "chen.admin", str(second.id), True),
                           ("update", "chen.admin", str(first.id), False)]


def test_publishing_from_a_stale_version_changes_nothing(fresh_engine):
    with transaction(fresh_engine) as s:
        first = tiers.save_preset(s, EDITOR, "first", WEIGHTS, METHODS, TENTHS)
        second = tiers.save_preset(s, EDITOR, "second", WEIGHTS, METHODS, TENTHS)
        tiers.publish_preset(s, ADMIN, first.id, first.version)
    with transaction(fresh_engine) as s:
        tiers.save_preset(s, OTHER_EDITOR, "second", {"payment": 1.0}, {}, TENTHS, expected_version=1)
    with pytest.raises(StaleVersion), transaction(fresh_engine) as s:
        tiers.publish_preset(s, ADMIN, second.id, second.version)
    with fresh_engine.connect() as conn:
        assert tiers.published_preset(conn).name == "first"


def test_an_unknown_normalisation_method_is_refused_when_saving(fresh_engine):
    with pytest.raises(UsageError, match="unknown normalisation method"), transaction(fresh_engine) as s:
        tiers.save_preset(s, EDITOR, "bad", WEIGHTS, {"payment": {"method": "cube_root"}}, TENTHS)
    assert preset_count(fresh_engine) == 0


def test_loading_an_unknown_preset_names_the_known_ones(fresh_engine):
    with transaction(fresh_engine) as s:
        tiers.save_preset(s, EDITOR, "base", WEIGHTS, METHODS, TENTHS)
    with fresh_engine.connect() as conn, pytest.raises(UsageError, match="known: base"):
        tiers.load_preset(conn, "nope")
    with pytest.raises(UsageError, match="no preset with id"), transaction(fresh_engine) as s:
        tiers.publish_preset(s, ADMIN, 999, 1)


# --- monthly history -----------------------------------------------------------------------------


def snapshot_rows(engine, month: dt.date) -> dict[int, tuple[float, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(ScoreSnapshot.customer_id, ScoreSnapshot.score, ScoreSnapshot.tier)
                            .where(ScoreSnapshot.month == month)).all()
    return {r.customer_id: (r.score, r.tier) for r in rows}


def test_a_snapshot_replaces_its_month_and_history_reads_back(fresh_engine):
    with transaction(fresh_engine) as s:
        ids = [make_customer(s)["id"] for _ in range(3)]
        preset = tiers.save_preset(s, EDITOR, "base", WEIGHTS, METHODS, TENTHS)
    a, b, c = ids
    jan, feb = dt.date(2025, 1, 1), dt.date(2025, 2, 1)
    with transaction(fresh_engine) as s:
        written = tiers.snapshot_month(s, EDITOR, dt.date(2025, 1, 17), pd.Series({a: 90.0, b: 50.0, c: 10.0}),
                                       pd.Series({a: "KA", b: "small", c: "micro"}), preset.id)
    assert written == 3
    # Re-running January with only two customers replaces all three rows.
    with transaction(fresh_engine) as s:
        tiers.snapshot_month(s, EDITOR, jan, pd.Series({a: 88.5, b: 61.0}), pd.Series({b: "standard", a: "KA"}), None)
    with fresh_engine.begin() as conn:  # a plain connection works too
        tiers.snapshot_month(conn, EDITOR, feb, pd.Series({a: 70.0, b: 65.0}), pd.Series({a: "standard", b: "standard"}),
                             preset.id)
    assert snapshot_rows(fresh_engine, jan) == {a: (88.5, "KA"), b: (61.0, "standard")}
    with fresh_engine.connect() as conn:
        history = tiers.score_history(conn, a)
        counts = tiers.tier_counts_history(conn)
    assert history.to_dict("records") == [{"month": jan, "score": 88.5, "tier": "KA"},
                                          {"month": feb, "score": 70.0, "tier": "standard"}]
    assert counts.to_dict("records") == [{"month": jan, "tier": "KA", "count": 1},
                                         {"month": jan, "tier": "standard", "count": 1},
                                         {"month": feb, "tier": "standard", "count": 2}]
    audits = audit_rows(fresh_engine, "score_snapshots")
    assert [(x["action"], x["new_values"]["month"], x["new_values"]["rows"], x["new_values"]["replaced"])
            for x in audits] == [("snapshot", "2025-01-01", 3, 0), ("snapshot", "2025-01-01", 2, 3),
                                 ("snapshot", "2025-02-01", 2, 0)]


def test_a_viewer_may_not_snapshot_and_bad_input_is_refused(fresh_engine):
    with transaction(fresh_engine) as s:
        cid = make_customer(s)["id"]
    with pytest.raises(PermissionDenied), transaction(fresh_engine) as s:
        tiers.snapshot_month(s, VIEWER, dt.date(2025, 1, 1), pd.Series({cid: 1.0}), pd.Series({cid: "KA"}), None)
    with pytest.raises(UsageError, match="same customers"), transaction(fresh_engine) as s:
        tiers.snapshot_month(s, EDITOR, dt.date(2025, 1, 1), pd.Series({cid: 1.0}), pd.Series({cid + 1: "KA"}), None)
    with fresh_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ScoreSnapshot)).scalar_one() == 0


def test_a_tiered_snapshot_is_counted_per_tier_in_the_database(fresh_engine):
    with transaction(fresh_engine) as s:
        ids = [make_customer(s)["id"] for _ in range(40)]
    scores = pd.Series(np.arange(40, 0, -1, dtype=float) * 2.5, index=ids)
    assigned = tiers.assign_tiers(scores, tiers.TierRules("quota"))
    with transaction(fresh_engine) as s:
        assert tiers.snapshot_month(s, EDITOR, dt.date(2025, 3, 1), scores, assigned, None) == 40
    with fresh_engine.connect() as conn:
        counts = tiers.tier_counts_history(conn).set_index("tier")["count"].to_dict()
    # 40 customers, default quotas: 2, 10, 24 -> 2/8/14/16
    assert counts == {"KA": 2, "standard": 8, "small": 14, "micro": 16}
