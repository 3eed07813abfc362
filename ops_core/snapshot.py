"""Month-close snapshots: metric values frozen as reported, so a corrected record later does not
silently rewrite a month that was already reported.

A snapshot of a period stores every registry metric overall and for every segment kind
(``metric_snapshots``), replacing an earlier snapshot of the same period, in one transaction with
its audit row. The page then shows "as reported" next to "as of today" and marks differences.

    python -m ops_core.snapshot --period 2026-10 [--grain month] [--database-url URL]
"""
from __future__ import annotations

import argparse
import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from ops_core import metrics, writes
from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.periods import Period, parse_period
from ops_core.vocab import Grain

snapshots = TABLES["metric_snapshots"]
OVERALL = "all"
TOLERANCE = 1e-9  # a value that moved less than this (float noise) is not a difference


def take(session: Session, actor: writes.Actor, grain: Grain | str, period: Period | str,
         as_of: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Freeze every metric of ``period`` (overall and per segment kind); returns the rows stored."""
    writes.check_write(actor, "metric_snapshots", "create")  # the role first, before anything is looked up
    grain = Grain(grain)
    chosen = parse_period(period, grain) if isinstance(period, str) else period
    writes.check_write(actor, "metric_snapshots", "create")
    taken_at = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    conn = session.connection()
    frames = []
    for kind in (None, *metrics.SEGMENTS):  # seven aggregations, each a handful of GROUP BY queries
        values = metrics.compute(conn, grain, chosen.start, chosen.end, segment=kind, as_of=as_of)
        values["segment_kind"] = kind or OVERALL
        frames.append(values)
    stored = pd.concat(frames, ignore_index=True)
    rows = [{"metric_key": k, "grain": grain.value, "period_start": chosen.start, "segment_kind": kind,
             "segment_value": str(seg), "value": None if np.isnan(v) else float(v), "taken_at": taken_at}
            for k, kind, seg, v in zip(stored["metric"], stored["segment_kind"], stored["segment"],
                                       stored["value"].astype(float), strict=True)]
    session.execute(delete(snapshots).where(snapshots.c.grain == grain.value, snapshots.c.period_start == chosen.start))
    if rows:
        session.execute(insert(snapshots), rows)
    writes.record_bulk(session, actor, "metric_snapshots", "snapshot",
                       {"grain": grain.value, "period": chosen.label, "rows": len(rows)})
    return len(rows)


def reported(conn: Connection, grain: Grain | str, starts: list[dt.date], segment_kind: str = OVERALL) -> pd.DataFrame:
    """Values as reported: ``metric, period_start, segment, reported, taken_at`` for the periods snapshotted."""
    rows = conn.execute(select(snapshots.c.metric_key, snapshots.c.period_start, snapshots.c.segment_value,
                               snapshots.c.value, snapshots.c.taken_at)
                        .where(snapshots.c.grain == Grain(grain).value, snapshots.c.period_start.in_(starts),
                               snapshots.c.segment_kind == segment_kind)).all()
    return frame_of(rows, ["metric", "period_start", "segment", "reported", "taken_at"])


def against_today(today: pd.DataFrame, as_reported: pd.DataFrame) -> pd.DataFrame:
    """``today`` (long values of ``metrics.compute``) with ``reported``, ``taken_at`` and ``differs``:
    true where a snapshot exists and today's value is not the reported one (n/a on one side only counts)."""
    keys = ["metric", "period_start", "segment"]
    left = today.assign(period_start=pd.to_datetime(today["period_start"]).dt.date, segment=today["segment"].astype(str))
    right = as_reported.assign(period_start=pd.to_datetime(as_reported["period_start"]).dt.date)
    out = left.merge(right, on=keys, how="left")
    now, was = out["value"].astype(float), out["reported"].astype(float)
    snapped = out["taken_at"].notna()
    both_missing = now.isna() & was.isna()
    moved = ((now - was).abs() > TOLERANCE) | (now.isna() != was.isna())
    out["differs"] = snapped & ~both_missing & moved.fillna(True)
    return out


def main(argv: list[str] | None = None) -> int:
    from ops_core import cli

    parser = argparse.ArgumentParser(prog="python -m ops_core.snapshot", description="Freeze a period's metric values as reported.")
    parser.add_argument("--period", required=True, help="e.g. 2026-10 (month), 2026-W42, 2026-Q3")
    parser.add_argument("--grain", choices=[g.value for g in Grain], default="month")
    parser.add_argument("--as-of", dest="as_of", help="date renewals are judged at (default: the period's end)")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)

    def body() -> int:
        from ops_core.config import redact_url
        from ops_core.db.engine import transaction

        period = parse_period(args.period, args.grain)
        as_of = cli.date_option(args.as_of, "--as-of")
        with cli.open_store(args.database_url) as engine:
            with transaction(engine) as session:
                rows = take(session, writes.SYSTEM, args.grain, period, as_of)
            print(f"froze {rows} values of {period.label} in {redact_url(engine.url)}")
        return 0

    return cli.run(body)


if __name__ == "__main__":
    from ops_core.cli import run_module

    run_module("ops_core.snapshot")
