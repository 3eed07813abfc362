"""The indicator system at scale: every level-1 metric for 36 months, cold, against plain SQL.

For each store given (SQLite and PostgreSQL, each holding a demo company, by default 50,000
customers with 3 years of daily usage built by ``python -m ops_core.demo``), in the same run:

- project, cold (no cache): ``indicators.level1`` for the 36 months ending ``--last`` by month,
  then the same split by industry (one breakdown);
- floor: the same aggregates as plain hand-written SQL, three statements per run (the MRR bridge
  with ARR and activity, the renewals, the first and second orders), grouped by month (and by
  industry for the breakdown), nothing else: no calendar helpers, no frames, no checks;
- both are checked to agree (ARR and the bridge's five movements, month by month);
- warm page: the indicator page under Streamlit's AppTest, run once to fill the caches and then
  timed on a rerun (what a user sees when coming back to the page or switching a tab).

Medians of ``--repeats`` runs (default 3) are printed with the ratio project / floor.

    .venv/bin/python bench/bench_indicators.py --store sqlite:////tmp/ops_bench_ind_50k.db \
        --store postgresql+psycopg://postgres@127.0.0.1:5432/ops_bench_50k --last 2026-10
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops_core import indicators  # noqa: E402
from ops_core.db.engine import make_engine  # noqa: E402
from ops_core.periods import periods_between, previous  # noqa: E402


def _mrr(dialect: str, day: str) -> str:
    """Plain SQL: a contract's MRR in cents if in force on ``day`` (a column name), else 0."""
    days = ("(julianday(c.end_date) - julianday(c.start_date) + 1)" if dialect == "sqlite"
            else "(c.end_date - c.start_date + 1)")
    return (f"CASE WHEN c.start_date <= {day} AND c.end_date >= {day} "
            f"THEN c.amount_cents * 365.0 / {days} / 12.0 ELSE 0 END")


def floor_queries(dialect: str, periods, by_industry: bool) -> list[str]:
    """The three plain statements: bridge + ARR + activity, renewals, repurchase."""
    date = (lambda d: f"'{d.isoformat()}'") if dialect == "sqlite" else (lambda d: f"DATE '{d.isoformat()}'")
    calendar = " UNION ALL ".join(
        f"SELECT {date(p.start)} AS period_start, {date(p.start - pd.Timedelta(days=1))} AS start_day, {date(p.end)} AS end_day"
        for p in periods)
    seg, seg_join, seg_group = ("", "", "")
    if by_industry:
        seg, seg_join, seg_group = ", cu.industry", " JOIN customers cu ON cu.id = u.customer_id", ", cu.industry"
    round_to_cents = "ROUND({})" if dialect == "sqlite" else "ROUND(CAST({} AS NUMERIC))"
    bridge = f"""
WITH cal AS ({calendar}),
first_start AS (SELECT customer_id, MIN(start_date) AS first_day FROM contracts GROUP BY customer_id),
u AS (
  SELECT cal.period_start, cal.start_day, c.customer_id,
         {round_to_cents.format(f"SUM({_mrr(dialect, 'cal.start_day')})")} AS s,
         {round_to_cents.format(f"SUM({_mrr(dialect, 'cal.end_day')})")} AS e,
         SUM({_mrr(dialect, 'cal.end_day')}) * 12 AS arr
  FROM cal JOIN contracts c ON c.start_date <= cal.end_day AND c.end_date >= cal.start_day
  GROUP BY cal.period_start, cal.start_day, c.customer_id)
SELECT u.period_start{seg},
       SUM(u.arr) AS arr, SUM(u.s) AS start_mrr, SUM(u.e) AS end_mrr,
       SUM(CASE WHEN u.s = 0 AND u.e > 0 AND f.first_day > u.start_day THEN u.e ELSE 0 END) AS new,
       SUM(CASE WHEN u.s = 0 AND u.e > 0 AND f.first_day <= u.start_day THEN u.e ELSE 0 END) AS reactivation,
       SUM(CASE WHEN u.s > 0 AND u.e > u.s THEN u.e - u.s ELSE 0 END) AS expansion,
       SUM(CASE WHEN u.e > 0 AND u.e < u.s THEN u.s - u.e ELSE 0 END) AS contraction,
       SUM(CASE WHEN u.s > 0 AND u.e = 0 THEN u.s ELSE 0 END) AS churn,
       SUM(CASE WHEN u.s > 0 THEN 1 ELSE 0 END) AS customers_start,
       SUM(CASE WHEN u.s > 0 AND u.e = 0 THEN 1 ELSE 0 END) AS churned,
       SUM(CASE WHEN u.e > 0 THEN 1 ELSE 0 END) AS paying,
       SUM(CASE WHEN u.e > 0 AND um.customer_id IS NOT NULL THEN 1 ELSE 0 END) AS active
FROM u JOIN first_start f ON f.customer_id = u.customer_id{seg_join}
LEFT JOIN usage_monthly um ON um.customer_id = u.customer_id AND um.month = u.period_start
GROUP BY u.period_start{seg_group} ORDER BY u.period_start{seg_group}"""
    as_of = date(periods[-1].end)
    renewals = f"""
WITH cal AS ({calendar})
SELECT cal.period_start{seg}, COUNT(*) AS due,
       SUM(CASE WHEN EXISTS (SELECT 1 FROM contracts r WHERE r.renewal_of_id = c.id AND r.signed_on <= {as_of})
           THEN 1 ELSE 0 END) AS renewed
FROM cal JOIN contracts c ON c.end_date >= cal.period_start AND c.end_date <= cal.end_day AND c.kind <> 'expansion'
{'JOIN customers cu ON cu.id = c.customer_id' if by_industry else ''}
GROUP BY cal.period_start{seg_group}"""
    within = "julianday(o2.signed_on) - julianday(f.first_day) <= 365" if dialect == "sqlite" else "o2.signed_on - f.first_day <= 365"
    repurchase = f"""
WITH cal AS ({calendar}),
f AS (SELECT customer_id, MIN(signed_on) AS first_day FROM contracts GROUP BY customer_id)
SELECT cal.period_start{seg}, COUNT(*) AS first_orders,
       SUM(CASE WHEN EXISTS (SELECT 1 FROM contracts o2 WHERE o2.customer_id = f.customer_id
                             AND o2.signed_on > f.first_day AND {within} AND o2.signed_on <= {as_of})
           THEN 1 ELSE 0 END) AS repurchased
FROM cal JOIN f ON f.first_day >= cal.period_start AND f.first_day <= cal.end_day
{'JOIN customers cu ON cu.id = f.customer_id' if by_industry else ''}
GROUP BY cal.period_start{seg_group}"""
    return [bridge, renewals, repurchase]


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def warm_page_seconds(url: str, repeats: int) -> float:
    """The indicator page under AppTest: one run fills the caches, then reruns are timed."""
    from streamlit.testing.v1 import AppTest

    os.environ["OPS_DATABASE_URL"] = url
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    app.switch_page("pages/indicators.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == "Indicator system" and len(app.metric) == 8  # the scorecard, not another page
    seconds, _ = timed(lambda: app.run(), repeats)
    assert not app.exception and len(app.metric) == 8
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", required=True, help="database URL (repeat for each engine)")
    parser.add_argument("--last", default="2026-10", help="last month of the 36")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    periods = _last_36(args.last)
    print(f"36 months {periods[0].label}..{periods[-1].label}; medians of {args.repeats} runs; cold = no cache")
    print(f"{'store':<12} {'customers':>9} {'what':<26} {'project s':>10} {'floor s':>8} {'ratio':>6}")
    for url in args.store:
        engine = make_engine(url)
        dialect = engine.dialect.name
        with engine.connect() as conn:
            customers = conn.execute(text("SELECT COUNT(*) FROM customers")).scalar_one()
            for label, segment in (("all level-1, by month", None), ("... by industry", "industry")):
                project_s, ours = timed(lambda s=segment: indicators.level1(conn, periods, segment=s), args.repeats)
                floor_s, theirs = timed(lambda s=segment, d=dialect: [conn.execute(text(q)).all()
                                                           for q in floor_queries(d, periods, s is not None)],
                                        args.repeats)
                if segment is None:  # the two agree month by month
                    bridge = pd.DataFrame(theirs[0], columns=["period_start", "arr", "start_mrr", "end_mrr", "new",
                                                              "reactivation", "expansion", "contraction", "churn",
                                                              "customers_start", "churned", "paying", "active"])
                    for column in ("new", "reactivation", "expansion", "contraction", "churn", "end_mrr"):
                        mine = ours["mrr_end" if column == "end_mrr" else column].astype(float).to_numpy()
                        assert (abs(mine - bridge[column].astype(float).to_numpy()) < 0.5).all(), column
                    assert (abs(ours["arr"].astype(float).to_numpy() - bridge["arr"].astype(float).to_numpy()) < 1).all()
                print(f"{dialect:<12} {customers:>9,} {label:<26} {project_s:>10.2f} {floor_s:>8.2f} {project_s / floor_s:>5.2f}x")
        engine.dispose()
        print(f"{dialect:<12} {customers:>9,} {'warm page (AppTest rerun)':<26} {warm_page_seconds(url, args.repeats):>10.2f}")
    return 0


def _last_36(last: str):
    end = periods_between("month", last, last)[0]
    start = end
    for _ in range(35):
        start = previous(start)
    return periods_between("month", start.start, end.end)


if __name__ == "__main__":
    sys.exit(main())
