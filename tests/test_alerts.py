"""Alerts on the textbook company of tests/test_mrr.py (quarterly figures worked by hand there): the rules,
the customers behind a move, the digest command, the home page, and the rules as a versioned setting."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from sqlalchemy.orm import Session

from ops_core import alerts, metrics, settings, writes
from ops_core.db.engine import make_engine, transaction
from ops_core.errors import StaleVersion, UsageError
from ops_core.periods import parse_period, period_of, previous
from ops_core.vocab import Grain
from tests.conftest import ROOT, ok, open_page, small_company
from tests.test_mrr import textbook  # noqa: F401 (fixture)

Q1, Q2 = (parse_period(f"2025-Q{q}", Grain.quarter) for q in (1, 2))
# Q2 2025 by hand (tests/test_mrr.py): NRR 595/845 = 70.4 % after Q1's 845/830 = 101.8 % (-31.4 pp); B (200,000
# cents a month) and H (50,000) churned; logo churn 2 of 7 = 28.6 % against the monthly 2 % restated, 5.9 %.
NRR_MOVE = alerts.Rule("nrr", "change", 0.10, "previous")
CHURN_RED = alerts.Rule("logo_churn", "off_target")


def test_a_big_move_names_the_metric_the_value_the_rule_and_the_customers_behind_it(textbook):  # noqa: F811
    with textbook.connect() as conn:
        found = alerts.evaluate(conn, Grain.quarter, Q2, [NRR_MOVE, CHURN_RED])
    assert [(a.rule.metric, a.segment) for a in found] == [("nrr", "all"), ("logo_churn", "all")]
    nrr, churn = found
    assert nrr.value == pytest.approx(595 / 845) and nrr.compared == pytest.approx(845 / 830)
    assert nrr.customers == ("B 客户 B", "H 客户 H")  # largest churn first
    assert nrr.sentence("en") == ("Net revenue retention 2025-Q2: 70.4%, moved more than 10 pp against the previous "
                              "period (compared with 101.8%). Behind it: B 客户 B, H 客户 H.")
    assert nrr.sentence("zh") == ("净收入留存率 (NRR) 2025-Q2：70.4%，较上期变动超过 10 个百分点（对比值 101.8%）。"
                              "主要涉及客户：B 客户 B、H 客户 H。")
    assert churn.value == pytest.approx(2 / 7) and churn.compared == pytest.approx(1 - 0.98 ** 3)
    assert churn.customers == ("B 客户 B", "H 客户 H")


def test_rules_on_revenue_read_neither_the_usage_nor_renewals_and_first_orders(textbook, monkeypatch):  # noqa: F811
    """The home page's alerts read only where their metrics' numbers come from: NRR and logo churn are
    the MRR bridge's; usage, renewals and first orders are not read (the same alerts as above)."""
    from ops_core import indicators, usage

    def unread(*args, **kwargs):
        raise AssertionError("read for rules that do not need it")

    for module, name in ((usage, "usage_by_period"), (indicators, "_renewals_frame"), (indicators, "_repurchase_frame")):
        monkeypatch.setattr(module, name, unread)
    with textbook.connect() as conn:
        found = alerts.evaluate(conn, Grain.quarter, Q2, [NRR_MOVE, CHURN_RED])
    assert [(a.rule.metric, a.segment, round(a.value, 4)) for a in found] == [("nrr", "all", round(595 / 845, 4)),
                                                                              ("logo_churn", "all", round(2 / 7, 4))]


def test_a_quiet_quarter_gives_no_alert(textbook):  # noqa: F811
    # Q1: NRR 101.8 % after 2024-Q4 (no contract history before: n/a) and logo churn 1 of 8 = 12.5 % is red,
    # so only the churn rule fires; a 50 pp move rule never does
    with textbook.connect() as conn:
        found = alerts.evaluate(conn, Grain.quarter, Q1, [alerts.Rule("nrr", "change", 0.5), CHURN_RED])
    assert [(a.rule.metric, a.value) for a in found] == [("logo_churn", pytest.approx(1 / 8))]
    assert found[0].customers == ("C 客户 C",)


def test_the_digest_command_prints_markdown_or_json_and_exits_0_with_or_without_alerts(textbook):  # noqa: F811
    url = textbook.url.render_as_string(hide_password=False)
    with transaction(textbook) as session:
        alerts.save_rules(session, writes.LOCAL_ADMIN, [NRR_MOVE], 0)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ops_core.metrics", "alerts", "--grain", "quarter",
                               "--database-url", url, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)

    digest = run("--period", "2025-Q2")
    assert digest.returncode == 0, digest.stderr
    assert digest.stdout.startswith("# Alerts for 2025-Q2: 1\n") and "Behind it: B 客户 B, H 客户 H." in digest.stdout
    records = json.loads(run("--period", "2025-Q2", "--format", "json", "--lang", "zh").stdout)
    assert [(r["metric"], r["customers"]) for r in records] == [("nrr", ["B 客户 B", "H 客户 H"])]
    quiet = run("--period", "2025-Q4")  # NRR 705/735 = 95.9 % after Q3's 100 %: 4.1 pp, under 10
    assert (quiet.returncode, quiet.stdout) == (0, "# Alerts for 2025-Q4: 0\n\nNo metric breaks a rule.\n")
    bad = run("--period", "2025-13")
    assert bad.returncode == 2 and "2025-13" in bad.stderr


def test_rules_are_checked_and_saved_through_the_write_path_and_a_stale_save_is_refused(textbook):  # noqa: F811
    with pytest.raises(UsageError, match="threshold above 0"):
        alerts.Rule("arr", "change", 0.0)
    with pytest.raises(UsageError, match="unknown segment"):
        alerts.Rule("arr", "change", 0.1, segment="planet")
    with transaction(textbook) as session:
        alerts.save_rules(session, writes.LOCAL_ADMIN, [NRR_MOVE], 0)
    with pytest.raises(StaleVersion), transaction(textbook) as session:  # a second admin's view from before
        alerts.save_rules(session, writes.LOCAL_ADMIN, [CHURN_RED], 0)
    with Session(textbook) as session:
        assert alerts.rules(session) == [NRR_MOVE]
        assert settings.get(session, alerts.RULES_KEY)[0]["metric"] == "nrr"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_home_page_shows_last_months_alerts_in_the_readers_language(new_store_url, monkeypatch, lang):
    """A rule that fires on any value (ARR off target: a target of 10^12 yuan is never met) on the small demo
    company: the home page draws it as a warning naming ARR and the last complete month."""
    url = small_company(new_store_url)
    month = previous(period_of("month", dt.date.today() + dt.timedelta(days=1)))
    engine = make_engine(url)
    with transaction(engine) as session:
        alerts.save_rules(session, writes.LOCAL_ADMIN, [alerts.Rule("arr", "off_target")], 0)
        metrics.set_target(session, writes.LOCAL_ADMIN, "arr", "month", month, 1e14)
    engine.dispose()
    page = open_page(url, "pages/home.py", monkeypatch)
    page.session_state["ops_lang"] = lang
    ok(page.run())
    shown = [w.value for w in page.warning]
    assert len(shown) == 1
    assert shown[0].startswith(("ARR " if lang == "en" else "年度经常性收入 ") + month.label)
    assert ("off target (red)" if lang == "en" else "未达标（红色）") in shown[0]
