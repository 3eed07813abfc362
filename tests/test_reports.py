"""Weekly and monthly reports: the executive one names the three biggest movers, none carries personal data."""
from __future__ import annotations

import datetime as dt
import math
import re

import pytest
from sqlalchemy import select

from ops_core import metrics, reports
from ops_core.db.models import TABLES
from ops_core.periods import parse_period, period_of, previous
from ops_core.vocab import Industry, ProductLine, Region
from tests.wording import english_words, visible_text


@pytest.fixture(scope="module")
def last_month(demo_engine):
    return previous(period_of("month", dt.date.today()))


def movers_by_hand(conn, period) -> list[str]:
    """Independent of the report: level-1 values of the period and the one before from ``compute``,
    changes as points for rates and growth for amounts, the three largest |change| first."""
    values = metrics.compute(conn, "month", previous(period).start, period.end,
                             keys=[m.key for m in metrics.LEVEL1]).pivot(index="metric", columns="period", values="value")
    now, was = values[period.label], values[previous(period).label]
    changes = {k: (now[k] - was[k]) if metrics.BY_KEY[k].unit is metrics.Unit.ratio else (now[k] - was[k]) / abs(was[k])
               for k in values.index if not (math.isnan(now[k]) or math.isnan(was[k]) or was[k] == 0)}
    return [metrics.BY_KEY[k].name_en for k in sorted(changes, key=lambda k: -abs(changes[k]))[:3]]


def test_the_executive_report_names_the_three_biggest_movers_and_a_segment_for_each(demo_engine, last_month):
    with demo_engine.connect() as conn:
        report = reports.build(conn, "executive", "month", last_month)
        expected = movers_by_hand(conn, last_month)
    text = report.to_markdown()
    movers = text.split("## Three biggest movers", 1)[1].strip().splitlines()
    assert [line.split("**")[1] for line in movers] == expected
    assert all("largest contribution:" in line or "no segment" in line for line in movers)
    assert f"# Monthly executive report {last_month.label}" in text
    for metric in metrics.LEVEL1:
        assert f"| {metric.name_en} |" in text


def test_the_html_report_is_self_contained_with_charts_and_escaped_text(demo_engine, last_month):
    with demo_engine.connect() as conn:
        page = reports.build(conn, "executive", "month", last_month).to_html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == len(metrics.LEVEL1)
    assert "<script" not in page and "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_the_product_report_counts_feedback_bugs_first_and_shipped_demands(demo_engine, last_month):
    with demo_engine.connect() as conn:
        report = reports.build(conn, "product", "month", last_month)
        by_type = reports.feedback_by_type(conn, last_month)
        shipped = reports.demands_shipped(conn, last_month)
    text = report.to_markdown()
    assert f"{int(by_type['items'].sum()):,} items received" in text
    if "bug" in set(by_type["type"]):
        assert by_type.iloc[0]["type"] == "bug"
    assert f"Demands released: {len(shipped):,}," in text
    assert "Stickiness" in text and "Feature adoption" in text


@pytest.mark.parametrize("kind", reports.KINDS)
def test_no_customer_or_contact_appears_in_a_report(demo_engine, last_month, kind):
    with demo_engine.connect() as conn:
        report = reports.build(conn, kind, "month", last_month)
        names = [r[0] for r in conn.execute(select(TABLES["customers"].c.name))]
        people = [r for row in conn.execute(select(TABLES["contacts"].c.name, TABLES["contacts"].c.email,
                                                   TABLES["contacts"].c.phone)) for r in row if r]
    body = report.to_markdown() + report.to_html()
    assert not [n for n in names + people if n in body]


def test_a_value_is_formatted_by_its_unit():
    assert reports.format_value(metrics.BY_KEY["nrr"], 0.9934) == "99.3%"
    assert reports.format_value(metrics.BY_KEY["arr"], 123_456_789) == "¥1,234,568"   # cents -> yuan
    assert reports.format_change(metrics.BY_KEY["nrr"], -0.031) == "-3.1 pp"
    assert reports.format_change(metrics.BY_KEY["arr"], 0.042) == "+4.2%"
    assert reports.format_value(metrics.BY_KEY["nrr"], math.nan) == "n/a"
    # a change that rounds to nothing has no sign (seen: "-0.0 个百分点")
    assert reports.format_change(metrics.BY_KEY["nrr"], -0.0004, "zh") == "0.0 个百分点"
    assert reports.format_change(metrics.BY_KEY["arr"], -0.0004) == "0.0%"


def test_the_report_says_its_period_and_whose_customers_and_not_the_views_date_range(demo_engine, last_month):
    """Seen: two date ranges under the title, the period's and the sidebar's, neither explained."""
    from ops_core.filters import Filters

    view = Filters(date_from=dt.date(2020, 1, 1), date_to=dt.date(2020, 12, 31), regions=("east_china",))
    with demo_engine.connect() as conn:
        zh = reports.build(conn, "executive", "month", last_month, view, lang="zh").subtitle
        en = reports.build(conn, "executive", "month", last_month, None).subtitle
    start, end = f"{last_month.start:%Y-%m-%d}", f"{last_month.end:%Y-%m-%d}"
    assert zh == f"报告期 {start} 至 {end}；客户范围：区域：华东"
    assert en == f"Period {start} to {end}; customers: all customers"


def test_the_command_writes_a_report_and_refuses_a_missing_folder(demo_url, tmp_path, capsys):
    target = tmp_path / "weekly.html"
    week = previous(period_of("week", dt.date.today())).label
    assert reports.main(["--kind", "executive", "--grain", "week", "--period", week, "--format", "html",
                         "--output", str(target), "--database-url", demo_url]) == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert reports.main(["--period", "2026-10", "--output", str(tmp_path / "none" / "r.md"),
                         "--database-url", demo_url]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert parse_period(week, "week").label == week


# --- what a reader sees: the chosen language, rendered HTML, a contribution that explains the move --------


def report_data(conn) -> list[str]:
    """Data a report may show as entered: demand titles, release labels, product lines."""
    demands, releases = TABLES["demands"], TABLES["releases"]
    return ([r[0] for r in conn.execute(select(demands.c.title))] + [r[0] for r in conn.execute(select(releases.c.version_label))]
            + [p.value for p in ProductLine])


@pytest.mark.parametrize("kind", reports.KINDS)
def test_a_chinese_report_holds_no_english_word_but_the_field_acronyms_and_data(demo_engine, last_month, kind):
    with demo_engine.connect() as conn:
        report = reports.build(conn, kind, "month", last_month, lang="zh")
        data = report_data(conn)
    assert english_words(report.to_markdown(), data) == []
    assert english_words(visible_text(report.to_html()), data) == []
    assert english_words("Monthly report of MES: EAM", data) == ["Monthly", "of", "report"]  # the checker can fail


def test_the_html_report_renders_bold_text_and_lists_with_no_markdown_marks(demo_engine, last_month):
    with demo_engine.connect() as conn:
        page = reports.build(conn, "executive", "month", last_month).to_html()
    assert "**" not in page
    assert page.count("<li><strong>") == 3  # the three movers, each led by its metric's name in bold
    assert "<strong>" in page and "<ul>" in page


SIGN_OF_CHANGE = re.compile(r"\(([+-])[\d.,]+(?: pp|%) vs ")
SIGN_OF_CONTRIBUTION = re.compile(r"largest contribution: [^(]+\(([+-])")


def test_the_largest_contribution_named_moved_in_the_direction_of_the_change(demo_engine, last_month):
    """Seen: "Renewal rate +3.1 pp; largest contribution: product_line = EAM (-15.0 pp)". Over a year of
    the demo company, every mover's named segment contributed with the sign of the mover's change."""
    checked = 0
    period = last_month
    with demo_engine.connect() as conn:
        for _ in range(12):
            for line in reports.build(conn, "executive", "month", period).sections[1].lines:
                change, contribution = SIGN_OF_CHANGE.search(line), SIGN_OF_CONTRIBUTION.search(line)
                if change and contribution:
                    checked += 1
                    assert contribution.group(1) == change.group(1), f"{period.label}: {line}"
            period = previous(period)
    assert checked >= 20


def test_the_largest_contribution_names_its_segment_by_label_in_the_readers_language(demo_engine, last_month):
    with demo_engine.connect() as conn:
        english = reports.build(conn, "executive", "month", last_month).sections[1].lines
        chinese = reports.build(conn, "executive", "month", last_month, lang="zh").sections[1].lines
    codes = {v.value for enum in (Industry, Region) for v in enum} - {v.value for v in ProductLine}
    named = [line.split("largest contribution: ", 1)[1] for line in english if "largest contribution: " in line]
    assert named and not [n for n in named if set(re.findall(r"[a-z_]+", n)) & codes]
    assert all("贡献最大：" in line or "没有分组" in line for line in chinese)


def test_the_report_command_writes_a_chinese_report_when_asked(demo_url, last_month, tmp_path):
    """As a user runs it: python -m ops_core.reports ... --lang zh."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = tmp_path / "report.md"
    done = subprocess.run([sys.executable, "-m", "ops_core.reports", "--kind", "executive", "--grain", "month", "--period",
                           last_month.label, "--format", "md", "--output", str(out), "--lang", "zh", "--database-url", demo_url],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith(f"# {last_month.label} 管理层月报\n") and "## 变动最大的三项指标" in text


def test_a_rate_trend_in_the_html_report_is_not_flattened_by_a_zero_baseline():
    """NRR between 97 % and 100 %: the bars rise from just below 97 %, so the lowest is clearly shorter."""
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" fill', reports.bar_chart_svg([0.97, 0.99, 1.0], from_data=True))]
    assert len(heights) == 3 and heights[0] < heights[2] / 3
    zero_based = [float(h) for h in re.findall(r'height="([\d.]+)" fill', reports.bar_chart_svg([0.97, 0.99, 1.0]))]
    assert zero_based[0] > zero_based[2] * 0.9  # what it looked like from zero: three nearly equal bars


def test_the_html_report_draws_rates_from_their_values(demo_engine, last_month):
    with demo_engine.connect() as conn:
        report = reports.build(conn, "executive", "month", last_month)
    rates = {caption: rate for caption, _, rate in report.sections[0].charts}
    assert rates["Net revenue retention"] is True and rates["ARR"] is False


@pytest.mark.parametrize(("lang", "words"), [("en", "judged on {day}"), ("zh", "{day} 后可计算")])
def test_a_repurchase_rate_still_to_come_says_on_which_day_as_the_tile_does(demo_engine, last_month, lang, words):
    """Seen: the report's repurchase row read "n/a" for every recent month, with no word of when. Its window
    is a year after the period (indicators.REPURCHASE_WINDOW_DAYS), so last month's is known a year after it ends."""
    with demo_engine.connect() as conn:
        report = reports.build(conn, "executive", "month", last_month, lang=lang)
    table = report.sections[0].table
    row = table[table.iloc[:, 0] == metrics.BY_KEY["repurchase_rate"].name(lang)].iloc[0]
    day = (last_month.end + dt.timedelta(days=365)).isoformat()
    assert row.iloc[3] == words.format(day=day)
    assert words.format(day=day) in report.to_markdown()
