"""The indicator scorecard cold, for 13 periods of each grain, in process and as the command line runs it.

For each store given (by default a demo company of 50,000 customers with 3 years of daily usage,
built by ``python -m ops_core.demo``), and each grain (week, month, quarter), in the same run:

- project, in process: ``metrics.scorecard`` for the last whole period (13 trend periods and the same
  period a year before) and ``metrics.compute`` for the 13 periods ending there, each on a new
  connection with nothing cached (the functions keep no cache; the app's caches sit above them);
- floor, in process: plain SQL reading what the scorecard reads from the roll-ups, nothing else (the
  company's daily MRR totals up to the last day, the usage totals of the periods, the customers whose
  MRR changed in the span, the account users registered in it);
- project, command line: ``python -m ops_core.metrics --grain G --from A --to B`` in a new process;
- floor, command line: a new interpreter importing ``ops_core.metrics`` and nothing more (start-up).

Medians of ``--repeats`` runs (default 5), the ratio project / floor, and the machine's load.

    .venv/bin/python bench/bench_scorecard.py --store sqlite:////tmp/ops_50k.db \
        --store postgresql+psycopg://postgres@127.0.0.1:5432/ops_bench_50k
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops_core import metrics  # noqa: E402
from ops_core.config import redact_url  # noqa: E402
from ops_core.db.engine import make_engine  # noqa: E402
from ops_core.periods import Period, period_of, periods_between, previous  # noqa: E402


def _timed(action, repeats: int) -> float:
    spent = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        spent.append(time.perf_counter() - started)
    return statistics.median(spent)


def _floor(engine, grain: str, periods: list[Period]) -> None:
    """Plain SQL over the roll-ups: the rows the scorecard's numbers come from."""
    first, last = periods[0].start - dt.timedelta(days=1), periods[-1].end
    params = {"first": first, "last": last, "grain": grain}
    if engine.dialect.name == "sqlite":
        params = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in params.items()}
    with engine.connect() as conn:
        conn.execute(text("SELECT day, mrr, paying, arr FROM mrr_totals WHERE day <= :last"), params).all()
        conn.execute(text("SELECT * FROM usage_totals WHERE grain = :grain AND period_start BETWEEN :first AND :last"),
                     params).all()
        conn.execute(text("SELECT customer_id, MIN(day), MAX(day) FROM mrr_changes WHERE product_line = '' "
                          "AND day > :first AND day <= :last GROUP BY customer_id"), params).all()
        conn.execute(text("SELECT COUNT(*) FROM account_users WHERE registered_on BETWEEN :first AND :last"), params).all()


def _last_whole_period(engine, grain: str) -> Period:
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT MAX(day) FROM usage_daily")).scalar_one()
    newest = newest if isinstance(newest, dt.date) else dt.date.fromisoformat(newest)
    return previous(period_of(grain, newest))


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", action="append", required=True, help="database URL (repeatable)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load before: {_load()}")
    for url in args.store:
        engine = make_engine(url)
        print(f"\n{redact_url(engine.url)}")
        print(f"{'grain':8} {'scorecard':>10} {'compute':>9} {'floor':>7} {'ratio':>6} | {'command':>8} {'start-up':>9} {'ratio':>6}")
        for grain in ("week", "month", "quarter"):
            _measure(engine, url, grain, args.repeats)
        engine.dispose()
    print(f"\nload after: {_load()}")
    return 0


def _measure(engine, url: str, grain: str, repeats: int) -> None:
    last = _last_whole_period(engine, grain)
    periods = periods_between(grain, _back(last, 12).start, last.end)

    def scorecard() -> None:
        with engine.connect() as conn:
            metrics.scorecard(conn, grain, last)

    def compute() -> None:
        with engine.connect() as conn:
            metrics.compute(conn, grain, periods[0].start, last.end)

    python, env = sys.executable, {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [python, "-m", "ops_core.metrics", "--grain", grain, "--from", periods[0].label, "--to", last.label,
               "--database-url", url]
    scorecard()  # the first run pays the imports and the engine's connection set-up, not the query
    project = _timed(scorecard, repeats)
    computed = _timed(compute, repeats)
    floor = _timed(lambda: _floor(engine, grain, periods), repeats)
    cli = _timed(lambda: subprocess.run(command, env=env, check=True, capture_output=True), repeats)
    start_up = _timed(lambda: subprocess.run([python, "-c", "import ops_core.metrics"], env=env, check=True), repeats)
    print(f"{grain:8} {project:9.2f}s {computed:8.2f}s {floor:6.3f}s {project / floor:6.1f} | "
          f"{cli:7.2f}s {start_up:8.2f}s {cli / start_up:6.2f}")


def _back(period: Period, steps: int) -> Period:
    for _ in range(steps):
        period = previous(period)
    return period


if __name__ == "__main__":
    sys.exit(main())
