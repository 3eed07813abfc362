"""The metric registry: its checks, comparisons in points, status rules, contributions, targets and definitions."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import math

import pandas as pd
import pytest

from ops_core import metrics, writes
from ops_core.db.engine import transaction
from ops_core.errors import StaleVersion, UsageError
from ops_core.metrics import BY_KEY, REGISTRY
from ops_core.periods import parse_period
from ops_core.vocab import Role

EDITOR = writes.Actor("wang.editor", Role.editor)
OTHER = writes.Actor("zhao.editor", Role.editor)


def test_the_registry_is_sound():
    assert metrics.registry_problems() == []


def test_the_registry_holds_the_eight_level_one_metrics():
    assert {m.key for m in metrics.LEVEL1} == {"activity_rate", "renewal_rate", "expansion_rate", "repurchase_rate",
                                               "nrr", "grr", "logo_churn", "arr"}
    assert all(m.name_zh and m.name_en and m.definition and m.formula and m.owner for m in REGISTRY)


@pytest.mark.parametrize(("change", "problem"), [
    ({"parent": "nowhere"}, "not declared"),
    ({"level": 3}, "sits under"),
    ({"level": 4}, "levels are 1, 2 and 3"),
    ({"numerator": None}, "only one of numerator"),
], ids=["missing-parent", "skips-a-level", "bad-level", "half-a-rate"])
def test_a_broken_registry_is_named(change, problem):
    broken = dataclasses.replace(BY_KEY["renewal_rate_arr"], **change)
    found = metrics.registry_problems([*(m for m in REGISTRY if m.key != "renewal_rate_arr"), broken])
    assert any(problem in p for p in found), found


def test_duplicate_keys_and_cycles_are_named():
    duplicate = metrics.registry_problems([*REGISTRY, BY_KEY["arr"]])
    assert any("more than once" in p for p in duplicate)
    a = dataclasses.replace(BY_KEY["dau"], key="a", level=2, parent="b")
    b = dataclasses.replace(BY_KEY["dau"], key="b", level=2, parent="a")
    assert any("own ancestor" in p for p in metrics.registry_problems([a, b]))


def test_a_rate_changes_in_points_and_an_amount_in_percent():
    # NRR 0.91 -> 0.94: +0.03, i.e. +3 pp (not +3.3 % growth of a percentage)
    assert metrics.change(BY_KEY["nrr"], 0.94, 0.91) == pytest.approx(0.03)
    # ARR 1,000,000 -> 1,100,000 cents: +10 %
    assert metrics.change(BY_KEY["arr"], 1_100_000, 1_000_000) == pytest.approx(0.10)
    assert math.isnan(metrics.change(BY_KEY["arr"], 5.0, 0.0))
    assert math.isnan(metrics.change(BY_KEY["nrr"], math.nan, 0.9))


@pytest.mark.parametrize(("key", "value", "target", "minimum", "expected"), [
    ("nrr", 1.02, 1.0, None, "green"),        # meets the target
    ("nrr", 0.96, 1.0, None, "amber"),        # 0.96 >= 0.95 x 1.0
    ("nrr", 0.94, 1.0, None, "red"),          # below 0.95
    ("nrr", 0.92, 1.0, 0.90, "amber"),        # a stored minimum replaces the ratio
    ("nrr", 0.89, 1.0, 0.90, "red"),
    ("logo_churn", 0.02, 0.02, None, "green"),  # lower is better: at the target
    ("logo_churn", 0.021, 0.02, None, "amber"),  # <= 0.02 / 0.95 = 0.02105
    ("logo_churn", 0.022, 0.02, None, "red"),
    ("nrr", math.nan, 1.0, None, "n/a"),
    ("arr", 5.0, None, None, "no target"),
])
def test_status_follows_direction_target_and_minimum(key, value, target, minimum, expected):
    assert metrics.status(BY_KEY[key], value, target, minimum, amber_ratio=0.95) == expected


def _frame(rows):
    return pd.DataFrame(rows, columns=["period_start", "segment", "renewed", "renewals_due", "arr"])


def test_contributions_of_a_rate_add_up_to_its_change():
    # before: east 8/10 renewed, west 1/10 -> 9/20 = 0.45; now: east 9/10, west 6/10 -> 15/20 = 0.75; change +0.30
    # east contributes 9/20 - 8/20 = +0.05, west 6/20 - 1/20 = +0.25: west moved it most
    before, now = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
    parts = _frame([(before, "east", 8, 10, 0), (before, "west", 1, 10, 0), (now, "east", 9, 10, 0), (now, "west", 6, 10, 0)])
    out = metrics.contributions(BY_KEY["renewal_rate"], parts, before, now)
    assert list(out["segment"]) == ["west", "east"]
    assert out["contribution"].tolist() == pytest.approx([0.25, 0.05])
    assert out["contribution"].sum() == pytest.approx(0.75 - 0.45)
    assert out["share_of_change"].tolist() == pytest.approx([0.25 / 0.30, 0.05 / 0.30])


def test_a_segment_whose_due_contracts_grew_at_its_own_rate_is_credited_only_with_the_shift():
    """Seen in the executive report: a segment named for a renewal rate's rise when only the number of its
    contracts due had grown. Hand-computed: before east 8/10 (0.8), west 4/10 (0.4), overall 12/20 = 0.6;
    now east 16/20 (0.8), west 4/10 (0.4), overall 20/30 = 0.6667, change +0.0667 with no segment's rate
    moving. Weights: east 0.5 -> 0.6667, west 0.5 -> 0.3333; mean overall rate 0.6333.
    east: 0.5833 * 0 + 0.1667 * (0.8 - 0.6333) = +0.0278; west: 0.4167 * 0 - 0.1667 * (0.4 - 0.6333) = +0.0389.
    The former formula (N_s,now / D_now - N_s,before / D_before) gave east +0.1333 and west -0.0667."""
    before, now = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
    parts = _frame([(before, "east", 8, 10, 0), (before, "west", 4, 10, 0), (now, "east", 16, 20, 0), (now, "west", 4, 10, 0)])
    out = metrics.contributions(BY_KEY["renewal_rate"], parts, before, now).set_index("segment")
    assert out.loc["east", "contribution"] == pytest.approx(1 / 6 * (0.8 - 19 / 30))
    assert out.loc["west", "contribution"] == pytest.approx(-1 / 6 * (0.4 - 19 / 30))
    assert out["contribution"].sum() == pytest.approx(20 / 30 - 12 / 20)


def test_a_segment_new_in_a_period_contributes_its_weight_at_its_rate_against_the_mean():
    # before: east 8/10; now east 8/10 and north (new) 1/10: overall 0.8 -> 0.45, change -0.35.
    # north keeps its one rate 0.1: 0.25 * 0 + 0.5 * (0.1 - 0.625) = -0.2625; east: 0.75 * 0 - 0.5 * (0.8 - 0.625) = -0.0875.
    before, now = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
    parts = _frame([(before, "east", 8, 10, 0), (now, "east", 8, 10, 0), (now, "north", 1, 10, 0)])
    out = metrics.contributions(BY_KEY["renewal_rate"], parts, before, now).set_index("segment")
    assert out["contribution"].to_dict() == pytest.approx({"north": -0.2625, "east": -0.0875})
    assert out["contribution"].sum() == pytest.approx(0.45 - 0.8)


def test_contributions_of_an_amount_are_differences():
    # ARR east 100 -> 90 (-10), west 50 -> 80 (+30): total +20, west first
    before, now = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
    parts = _frame([(before, "east", 0, 0, 100), (before, "west", 0, 0, 50), (now, "east", 0, 0, 90), (now, "west", 0, 0, 80)])
    out = metrics.contributions(BY_KEY["arr"], parts, before, now)
    assert out[["segment", "contribution"]].values.tolist() == [["west", 30.0], ["east", -10.0]]


def test_targets_default_from_the_registry_and_change_per_period(fresh_engine):
    october, november = parse_period("2026-10", "month"), parse_period("2026-11", "month")
    with transaction(fresh_engine) as session:
        metrics.set_target(session, EDITOR, "nrr", "month", november, 1.05, minimum=0.98, stretch=1.1)
    with fresh_engine.connect() as conn:
        goals = metrics.targets(conn, "month", [october, november]).set_index(["metric", "period_start"])
    assert goals.loc[("nrr", october.start), "target"] == 1.0     # the registry's default
    assert goals.loc[("nrr", november.start), ["minimum", "target", "stretch"]].tolist() == [0.98, 1.05, 1.1]
    assert math.isnan(goals.loc[("arr", october.start), "target"])  # ARR has no default target


def test_a_quarter_is_judged_by_its_own_target_or_the_monthly_one_restated_by_the_metrics_compounding(fresh_engine):
    """The issue's case: a 2 % monthly churn target made a 1.2 % November green and a 2.7 % quarter red.
    Restated for a quarter it is 1 - 0.98^3 = 5.8808 %: the quarter is green too."""
    q4 = parse_period("2026-Q4", "quarter")
    with fresh_engine.connect() as conn:
        goals = metrics.targets(conn, "quarter", [q4]).set_index("metric")
    churn = goals.loc["logo_churn"]
    assert (churn["target"], churn["basis"], churn["monthly"]) == (pytest.approx(1 - 0.98 ** 3), "monthly", 0.02)
    assert metrics.status(BY_KEY["logo_churn"], 0.027, churn["target"], None, 0.95) == "green"
    assert goals.loc["nrr", "target"] == pytest.approx(1.0) and goals.loc["grr", "target"] == pytest.approx(0.9 ** 3)
    assert goals.loc["expansion_rate", "target"] == pytest.approx(1.02 ** 3 - 1)       # 6.1208 %
    assert goals.loc["renewal_rate", "target"] == 0.85                                  # a share: the same at any grain
    with transaction(fresh_engine) as session:  # October's own monthly target, minimum and stretch restate too
        metrics.set_target(session, EDITOR, "logo_churn", "month", parse_period("2026-10", "month"), 0.01,
                           minimum=0.015, stretch=0.005)
    with fresh_engine.connect() as conn:
        churn = metrics.targets(conn, "quarter", [q4]).set_index("metric").loc["logo_churn"]
    assert churn[["minimum", "target", "stretch"]].tolist() == pytest.approx(
        [1 - 0.985 ** 3, 1 - 0.99 ** 3, 1 - 0.995 ** 3])                              # 4.43 %, 2.97 %, 1.49 %
    with transaction(fresh_engine) as session:  # a quarter's own target wins
        metrics.set_target(session, EDITOR, "logo_churn", "quarter", q4, 0.025)
    with fresh_engine.connect() as conn:
        churn = metrics.targets(conn, "quarter", [q4]).set_index("metric").loc["logo_churn"]
        week = metrics.targets(conn, "week", [parse_period("2026-W45", "week")]).set_index("metric").loc["logo_churn"]
    assert (churn["target"], churn["basis"]) == (0.025, "set")
    # a week of November restates the default monthly 2 % over 12 / 52.18 of a month: 1 - 0.98^0.23 = 0.4636 %
    assert week["target"] == pytest.approx(1 - 0.98 ** (12 / (365.2425 / 7))) and week["basis"] == "monthly"


def test_a_target_set_from_a_view_without_one_is_refused_once_someone_has_set_it(fresh_engine):
    october = parse_period("2026-10", "month")
    with transaction(fresh_engine) as session:  # both read "no target stored"; the first one sets it
        metrics.set_target(session, EDITOR, "grr", "month", october, 0.9)
    with pytest.raises(StaleVersion) as caught, transaction(fresh_engine) as session:
        metrics.set_target(session, OTHER, "grr", "month", october, 0.8, expected_version=None)
    assert caught.value.current["target"] == 0.9
    with fresh_engine.connect() as conn:
        assert metrics.targets(conn, "month", [october]).set_index("metric").loc["grr", "target"] == 0.9


def test_a_target_changed_from_a_stale_version_is_refused(fresh_engine):
    october = parse_period("2026-10", "month")
    with transaction(fresh_engine) as session:
        stored = metrics.set_target(session, EDITOR, "grr", "month", october, 0.9)
    with transaction(fresh_engine) as session:
        metrics.set_target(session, EDITOR, "grr", "month", october, 0.92, expected_version=stored["version"])
    with pytest.raises(StaleVersion), transaction(fresh_engine) as session:
        metrics.set_target(session, OTHER, "grr", "month", october, 0.8, expected_version=stored["version"])
    with fresh_engine.connect() as conn:
        assert metrics.targets(conn, "month", [october]).set_index("metric").loc["grr", "target"] == 0.92


def test_owner_and_description_are_edited_with_who_and_when(fresh_engine):
    with transaction(fresh_engine) as session:
        metrics.edit_definition(session, EDITOR, "nrr", "李娜 (CS)", "客户留存收入占比", expected_version=0)
    with fresh_engine.connect() as conn:
        row = metrics.catalogue(conn, "zh").set_index("key").loc["nrr"]
    assert (row["owner"], row["definition"], row["updated_by"], row["version"]) == ("李娜 (CS)", "客户留存收入占比", "wang.editor", 1)
    assert row["formula"] == BY_KEY["nrr"].formula_in("zh") == "（期初 + 增购 − 缩减 − 流失）/ 期初"  # the formula stays in code
    with pytest.raises(StaleVersion), transaction(fresh_engine) as session:
        metrics.edit_definition(session, OTHER, "nrr", "someone else", "", expected_version=0)


def test_unknown_metric_and_segment_are_refused(fresh_engine):
    with pytest.raises(UsageError, match="unknown metric"), transaction(fresh_engine) as session:
        metrics.edit_definition(session, EDITOR, "nps", "x", "y", 0)
    with fresh_engine.connect() as conn, pytest.raises(UsageError, match="unknown segment"):
        metrics.compute(conn, "month", "2026-01", "2026-02", segment="planet")


def test_the_command_prints_every_metric_per_period_and_segment(demo_url, capsys):
    assert metrics.main(["--grain", "month", "--from", "2026-01", "--to", "2026-03", "--segment", "region",
                         "--format", "csv", "--database-url", demo_url]) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(printed.columns) == ["period", "segment", "metric", "value"]
    assert set(printed["period"]) == {"2026-01", "2026-02", "2026-03"}
    assert set(printed["metric"]) == {m.key for m in REGISTRY}
    assert metrics.main(["--grain", "quarter", "--from", "2026-Q1", "--to", "2026-Q2", "--format", "json",
                         "--database-url", demo_url]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 * len(REGISTRY) and {r["segment"] for r in rows} == {"all"}


def test_an_undefined_metric_prints_n_a_and_a_bad_period_exits_2(fresh_engine, capsys):
    url = fresh_engine.url.render_as_string(hide_password=False)
    assert metrics.main(["--from", "2026-01", "--to", "2026-01", "--database-url", url]) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out), keep_default_na=False)
    assert printed.set_index("metric").loc["nrr", "value"] == "n/a"   # no customer at the start: no division
    assert metrics.main(["--from", "2026-13", "--to", "2026-01", "--database-url", url]) == 2
    assert "write it like 2026-10" in capsys.readouterr().err


def test_a_week_scorecard_reads_only_its_sparkline_and_the_week_a_year_before(demo_engine, monkeypatch):
    # 12 sparkline weeks (the previous one among them) + the same ISO week a year earlier = 13 periods,
    # not the 53 from a year back; the values match compute() over plain contiguous ranges.
    from ops_core.filters import Filters
    from ops_core.periods import period_of, previous, year_before

    today = dt.date.today()
    week = previous(period_of("week", today + dt.timedelta(days=1)))
    asked: list = []
    real = metrics.wide_values
    monkeypatch.setattr(metrics, "wide_values", lambda conn, periods, *a, **k: asked.extend(periods) or real(conn, periods, *a, **k))
    with demo_engine.connect() as conn:
        card = metrics.scorecard(conn, "week", week, Filters.default(today)).set_index("metric")
        read = list(asked)
        recent = metrics.compute(conn, "week", previous(previous(week)).start, week.end, Filters.default(today), keys=["arr"])
        year_ago = metrics.compute(conn, "week", year_before(week).start, year_before(week).end, Filters.default(today),
                                   keys=["arr"])
    assert len(read) == 13 and year_before(week) in read and previous(week) in read
    arr = recent.set_index("period_start")["value"]
    assert card.at["arr", "value"] == pytest.approx(arr.iloc[-1])
    assert card.at["arr", "previous"] == pytest.approx(arr.iloc[-2])
    assert card.at["arr", "year_before"] == pytest.approx(year_ago["value"].iloc[0])
    assert card.at["arr", "trend"][-3:] == pytest.approx(arr.tolist())


@pytest.mark.parametrize("grain", ["week", "month", "quarter"])
def test_the_indicator_pages_one_read_gives_the_scorecard_and_the_trend_as_read_apart(demo_engine, grain):
    """The page reads every metric once over the scorecard's periods and its own (a year back): the
    scorecard made from that read is the one ``scorecard`` reads alone, and its slice is ``compute``'s."""
    from ops_core import settings
    from ops_core.periods import period_of, periods_between, previous

    today = dt.date.today()
    chosen = previous(period_of(grain, today + dt.timedelta(days=1)))
    shown = periods_between(grain, chosen.start - dt.timedelta(days=365), chosen.end)
    with demo_engine.connect() as conn:
        values = metrics.values_of(conn, tuple(sorted({*metrics.scorecard_span(grain, chosen), *shown})))
        card = metrics.scorecard_of(values, grain, chosen, metrics.targets(conn, grain, [chosen]),
                                    float(settings.get(conn, "status.amber_ratio")))
        alone = metrics.scorecard(conn, grain, chosen)
        trend = metrics.compute(conn, grain, shown[0].start, chosen.end)
    pd.testing.assert_frame_equal(card, alone)
    starts = pd.to_datetime(values["period_start"]).dt.date
    pd.testing.assert_frame_equal(values[(starts >= shown[0].start) & (starts <= chosen.start)].reset_index(drop=True), trend)


def test_the_chinese_catalogue_reads_every_definition_formula_unit_direction_and_owner_in_chinese(fresh_engine):
    """Seen: the metric catalogue in 简体中文 with English definitions, formulas and owners."""
    from tests.wording import english_words

    with fresh_engine.connect() as conn:
        shown = metrics.catalogue(conn, "zh").drop(columns=["key"])
    cells = [str(v) for v in shown.drop(columns=["updated_by", "updated_at", "version"]).to_numpy().ravel()]
    assert [c for c in cells if c != "nan" and english_words(c)] == []  # no default target: an empty cell
    assert shown.set_index("name").loc["客户流失率", "direction"] == "越低越好"


# The columns (and rates) each of level1's reads besides the bridge gives (indicators.level1's docstring).
READ_BY = {"_renewals_frame": {"renewal_rate", "renewal_rate_arr", "renewals_due", "renewed", "renewals_due_arr",
                               "renewed_arr"},
           "_repurchase_frame": {"repurchase_rate", "first_orders", "repurchased"},
           "_active_paying": {"activity_rate", "active_accounts", "paying_accounts"}}


@pytest.mark.parametrize("segment", ["industry", "product_line"])
def test_a_metrics_breakdown_reads_only_its_own_source_and_gives_what_every_source_gives(demo_engine, segment,
                                                                                         monkeypatch):
    """The breakdown of one metric reads only the source of its numbers (revenue: the MRR bridge,
    renewals and first orders; usage: the usage roll-up), and its contributions are those of the
    read of every source, for every metric of the registry."""
    from ops_core import indicators, usage
    from ops_core.periods import period_of, previous

    read: list[str] = []
    for module, name, source in ((indicators, "level1", "revenue"), (usage, "usage_by_period", "usage")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, real=real, source=source, **k: read.append(source) or real(*a, **k))
    # Which of level1's parts besides the bridge each revenue metric reads: none for money and retention.
    asked: dict[str, set[str]] = {}
    for name in ("_renewals_frame", "_repurchase_frame", "_active_paying"):
        real = getattr(indicators, name)
        monkeypatch.setattr(indicators, name, lambda *a, real=real, name=name, **k: asked.setdefault("now", set()).add(name)
                            or real(*a, **k))

    chosen = previous(period_of("month", dt.date.today()))
    span = [previous(chosen), chosen]
    with demo_engine.connect() as conn:
        everything = metrics.wide_values(conn, span, None, segment)
        for metric in REGISTRY:
            read.clear()
            asked.clear()
            alone = metrics.breakdown(conn, metric.key, "month", chosen, segment)
            assert read == [metric.source.value], metric.key
            own = {metric.column, metric.numerator, metric.denominator}
            expected = {frame for frame, columns in READ_BY.items() if own & columns and metric.source.value == "revenue"}
            if segment == "product_line":  # the bridge from the contracts counts the active accounts itself
                expected.discard("_active_paying")
            assert asked.get("now", set()) == expected, metric.key
            full = metrics.contributions(metric, everything, span[0].start, chosen.start)
            pd.testing.assert_frame_equal(alone, full, obj=metric.key)
