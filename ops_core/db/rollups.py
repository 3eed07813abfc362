"""Roll-up tables the indicator and usage queries read instead of the raw history.

- ``usage_monthly``: usage by account and month (the customer pages read it);
- ``usage_periods``: usage by account and week, month or quarter, with whether the account paid at
  the period's end (the usage indicators and the activity rate read one row per account and period);
- ``mrr_changes``: each day a customer's (or one of its product lines') MRR changes, with the value
  before and after, so the MRR bridge sums the changes inside a period and the levels at its ends are
  running sums (``indicators``);
- ``usage_totals``, ``mrr_totals`` and ``mrr_segment_totals``: the two above summed over every
  customer (per period; per day; per day and value of a customer's own segment), for the unfiltered
  company figures and breakdowns; adjusted by difference (a refreshed customer's old rows
  are taken out and its new rows added), so a change to one customer costs that customer's rows.

Every roll-up is refreshed in the transaction that changes what it sums:
- contracts: a trigger on ``contracts`` notes the customer in ``rollup_pending`` (any writer: the
  import, the demo, a copy, a hand-written INSERT), as does one on a customer's own segment fields
  (industry, region, size band, CSM), and the commit refreshes those customers' MRR changes and
  paying flags before it ends (``settle``, called by ``versions`` at commit);
- usage: the usage import refreshes the customers it loaded (``refresh_usage``), the demo builds its
  own rows while generating them.
``python -m ops_core.db.rollups rebuild`` rebuilds every roll-up from the raw tables, and
``python -m ops_core.db.rollups check`` compares them with a fresh computation.

Monthly usage over millions of daily rows costs seconds; the same from the roll-up costs a
fraction of one (STACK-NOTES.md, "Bulk loading and aggregation").
"""
from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ops_core.db.models import TABLES
from ops_core.db.queries import month_start, period_end, quarter_start, round_half_up, shift_days, week_start

_ID_CHUNK = 10_000  # stays under SQLite's bound-parameter limit
WHOLE_CUSTOMER = ""  # mrr_changes.product_line of the customer as a whole

contracts = TABLES["contracts"]
customers = TABLES["customers"]
mrr_changes = TABLES["mrr_changes"]
usage_daily = TABLES["usage_daily"]
usage_monthly = TABLES["usage_monthly"]
usage_periods = TABLES["usage_periods"]
usage_totals = TABLES["usage_totals"]
mrr_totals = TABLES["mrr_totals"]
mrr_segment_totals = TABLES["mrr_segment_totals"]
pending = TABLES["rollup_pending"]
TOTALS = ("mrr_totals", "mrr_segment_totals", "usage_totals")  # over every customer, not one row per customer
# A customer's own fields the MRR roll-ups are also summed by (the csm by id; "" for none in the totals).
OWN_SEGMENTS = ("industry", "region", "size_band", "csm_id")


def _chunks(customer_ids: Iterable[int] | None) -> Iterator[list[int] | None]:
    """The ids in parameter-sized chunks, or a single None (every customer)."""
    if customer_ids is None:
        yield None
        return
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), _ID_CHUNK):
        yield ids[start:start + _ID_CHUNK]


def _of(column, part: list[int] | None):
    return true() if part is None else column.in_(part)


# --- usage ---------------------------------------------------------------------------------------


def refresh_usage_monthly(conn: Connection, customer_ids: Iterable[int] | None = None) -> int:
    """Rebuild ``usage_monthly`` from ``usage_daily`` (all accounts, or only ``customer_ids``).

    One DELETE and one INSERT ... SELECT ... GROUP BY per chunk of ids, in the caller's transaction.
    Returns the number of roll-up rows written.
    """
    daily, monthly = usage_daily, usage_monthly
    month = month_start(daily.c.day).label("month")
    query = select(
        daily.c.customer_id,
        month,
        func.count().label("active_days"),
        func.sum(daily.c.active_users),
        func.max(daily.c.active_users),
        func.sum(daily.c.sessions),
        func.sum(daily.c.page_views),
        func.sum(daily.c.unique_visitors),
        func.sum(daily.c.feature_events),
    ).group_by(daily.c.customer_id, month)
    target = ["customer_id", "month", "active_days", "active_user_days", "peak_active_users", "sessions",
              "page_views", "unique_visitors", "feature_events"]
    written = 0
    for part in _chunks(customer_ids):
        conn.execute(delete(monthly).where(_of(monthly.c.customer_id, part)))
        conn.execute(insert(monthly).from_select(target, query.where(_of(daily.c.customer_id, part))))
        # Counted afterwards: the drivers do not agree on rowcount for INSERT ... SELECT.
        written += conn.execute(select(func.count()).select_from(monthly)
                                .where(_of(monthly.c.customer_id, part))).scalar_one()
    return written


_PERIOD_COLUMNS = ["grain", "period_start", "customer_id", "period_end", "user_days", "peak_users", "sessions",
                   "page_views", "unique_visitors", "feature_events", "paying"]
_MONTHS_OF = {"month": 1, "quarter": 3}
GRAINS = ("week", "month", "quarter")


def paying_on(customer_id, day):
    """SQL: the customer's MRR on ``day`` is above 0 (its newest change on or before that day)."""
    newest = (select(mrr_changes.c.mrr_after > 0)
              .where(mrr_changes.c.customer_id == customer_id, mrr_changes.c.product_line == WHOLE_CUSTOMER,
                     mrr_changes.c.day <= day)
              .order_by(mrr_changes.c.day.desc()).limit(1).scalar_subquery())
    return func.coalesce(newest, false())


def _usage_by_grain(grain: str, part: list[int] | None) -> Select:
    """One row per (account, period of ``grain``) in ``usage_periods``' columns, paying flag included."""
    if grain == "week":
        u = usage_daily.c
        start = week_start(u.day)
        sums = (func.sum(u.active_users), func.max(u.active_users))
        end = shift_days(start, 6)
    else:
        u = usage_monthly.c
        start = u.month if grain == "month" else quarter_start(u.month)
        sums = (func.sum(u.active_user_days), func.max(u.peak_active_users))
        end = period_end(start, _MONTHS_OF[grain])
    grouped = (select(u.customer_id.label("customer_id"), start.label("period_start"), end.label("period_end"),
                      sums[0].label("user_days"), sums[1].label("peak_users"), func.sum(u.sessions).label("sessions"),
                      func.sum(u.page_views).label("page_views"), func.sum(u.unique_visitors).label("unique_visitors"),
                      func.sum(u.feature_events).label("feature_events"))
               .where(_of(u.customer_id, part)).group_by(u.customer_id, start).subquery("grouped"))
    g = grouped.c
    return select(literal(grain).label("grain"), g.period_start, g.customer_id, g.period_end, g.user_days, g.peak_users,
                  g.sessions, g.page_views, g.unique_visitors, g.feature_events,
                  paying_on(g.customer_id, g.period_end).label("paying"))


def refresh_usage_periods(conn: Connection, customer_ids: Iterable[int] | None = None) -> int:
    """Rebuild ``usage_periods`` (weeks from the daily rows, months and quarters from ``usage_monthly``,
    which must be current) and ``usage_totals`` for every account or only ``customer_ids``. Returns
    the rows written."""
    written = 0
    for part in _chunks(customer_ids):
        with _totals_follow(conn, part, (usage_totals,)):
            conn.execute(delete(usage_periods).where(_of(usage_periods.c.customer_id, part)))
            for grain in GRAINS:
                conn.execute(insert(usage_periods).from_select(_PERIOD_COLUMNS, _usage_by_grain(grain, part)))
        written += conn.execute(select(func.count()).select_from(usage_periods)
                                .where(_of(usage_periods.c.customer_id, part))).scalar_one()
    return written


def refresh_usage(conn: Connection, customer_ids: Iterable[int] | None = None) -> int:
    """Both usage roll-ups of ``customer_ids`` (or everyone) from the daily rows: what a usage load
    calls in its transaction. Returns the monthly rows written."""
    ids = None if customer_ids is None else sorted(set(customer_ids))
    monthly = refresh_usage_monthly(conn, ids)
    refresh_usage_periods(conn, ids)
    return monthly


# --- MRR -----------------------------------------------------------------------------------------


def _mrr_changes_query(part: list[int] | None) -> Select:
    """Each (unit, day) on which the unit's MRR or ARR moves: the days a contract starts or the day
    after one ends, the contracts' annual values summed the day before and that day."""
    c = contracts.c
    chosen = _of(c.customer_id, part)
    bounds = union(*(select(c.customer_id, line.label("line"), day.label("day")).where(chosen)
                     for line in (literal(WHOLE_CUSTOMER), c.product_line)
                     for day in (c.start_date, shift_days(c.end_date, 1)))).subquery("bounds")
    k = contracts.alias("k")
    annual = k.c.unrounded_mrr * 12.0
    eve = shift_days(bounds.c.day, -1)
    arr_before = func.sum(case((k.c.start_date <= eve, annual), else_=0.0))
    arr_after = func.sum(case((k.c.end_date >= bounds.c.day, annual), else_=0.0))
    values = (select(bounds.c.customer_id, bounds.c.line, bounds.c.day,
                     round_half_up(arr_before / 12.0).label("mrr_before"), round_half_up(arr_after / 12.0).label("mrr_after"),
                     arr_before.label("arr_before"), arr_after.label("arr_after"))
              # The unit's contracts in force the day before or that day: start on or before the day, end on or after its eve.
              .select_from(bounds.join(k, and_(k.c.customer_id == bounds.c.customer_id,
                                               or_(bounds.c.line == WHOLE_CUSTOMER, k.c.product_line == bounds.c.line),
                                               k.c.start_date <= bounds.c.day, k.c.end_date >= eve)))
              .group_by(bounds.c.customer_id, bounds.c.line, bounds.c.day)
              .subquery("v"))
    v = values.c
    # A contract starting the day after another of the same value ends moves nothing: no row.
    moved = select(v.customer_id, v.line, v.day, v.mrr_before, v.mrr_after, v.arr_before, v.arr_after).where(
        or_(v.mrr_before != v.mrr_after, func.abs(v.arr_after - v.arr_before) > 1e-6)).subquery("moved")
    m = moved.c
    unit = {"partition_by": [m.customer_id, m.line], "order_by": m.day}
    return (select(m.customer_id, m.line, m.day, m.mrr_before, m.mrr_after, m.arr_before, m.arr_after,
                   func.lag(m.day).over(**unit).label("prev_day"), func.lead(m.day).over(**unit).label("next_day"),
                   *(customers.c[name] for name in OWN_SEGMENTS))
            .select_from(moved.join(customers, customers.c.id == m.customer_id)))


def refresh_mrr(conn: Connection, customer_ids: Iterable[int] | None = None) -> int:
    """Rebuild ``mrr_changes`` for ``customer_ids`` (or everyone), the paying flags of their usage
    periods, which depend on it, and both totals. Returns the change rows written."""
    target = ["customer_id", "product_line", "day", "mrr_before", "mrr_after", "arr_before", "arr_after", "prev_day",
              "next_day", *OWN_SEGMENTS]
    written = 0
    for part in _chunks(customer_ids):
        with _totals_follow(conn, part, (mrr_totals, mrr_segment_totals, usage_totals)):
            conn.execute(delete(mrr_changes).where(_of(mrr_changes.c.customer_id, part)))
            conn.execute(insert(mrr_changes).from_select(target, _mrr_changes_query(part)))
            conn.execute(update(usage_periods).where(_of(usage_periods.c.customer_id, part))
                         .values(paying=paying_on(usage_periods.c.customer_id, usage_periods.c.period_end)))
        written += conn.execute(select(func.count()).select_from(mrr_changes)
                                .where(_of(mrr_changes.c.customer_id, part))).scalar_one()
    return written


# --- totals ----------------------------------------------------------------------------------------


def _counted(condition) -> object:
    return func.sum(case((condition, 1), else_=0))


def change_sums(sign: int = 1) -> list[ColumnElement]:
    """Sums over ``mrr_changes`` rows, times ``sign``: the MRR change (cents), the customers starting (+)
    or stopping (-) to pay, and the ARR change (unrounded cents): the totals hold these, and a
    running sum of them is the level on a day."""
    ch = mrr_changes.c
    return [cast(func.sum(ch.mrr_after - ch.mrr_before) * sign, BigInteger).label("mrr"),
            cast((_counted(ch.mrr_after > 0) - _counted(ch.mrr_before > 0)) * sign, BigInteger).label("paying"),
            cast(func.sum(ch.arr_after - ch.arr_before) * sign, Float).label("arr")]


def _sums_of(table: Table, part: list[int] | None, sign: int) -> Select:
    """``table``'s (a totals roll-up) rows summed from the per-customer roll-up over ``part``, times ``sign``."""
    ch = mrr_changes.c
    sums = change_sums(sign)
    whole = and_(ch.product_line == WHOLE_CUSTOMER, _of(ch.customer_id, part))
    if table is mrr_totals:
        return select(ch.day, *sums).where(whole).group_by(ch.day)
    if table is mrr_segment_totals:
        by = {name: ch[name] for name in OWN_SEGMENTS}
        by["csm_id"] = func.coalesce(cast(ch.csm_id, String), "")
        return union_all(*(select(literal(name.removesuffix("_id")), value, ch.day, *sums).where(whole).group_by(value, ch.day)
                           for name, value in by.items()))
    up = usage_periods.c
    return (select(up.grain, up.period_start, func.count() * sign, func.sum(up.user_days) * sign,
                   func.sum(up.peak_users) * sign, _counted(up.peak_users > 0) * sign,
                   func.coalesce(func.sum(cast(up.user_days, Float) / func.nullif(up.peak_users, 0)), 0.0) * sign,
                   func.sum(up.sessions) * sign, func.sum(up.page_views) * sign, func.sum(up.unique_visitors) * sign,
                   _counted(up.feature_events > 0) * sign, _counted(up.paying == true()) * sign)
            .where(_of(up.customer_id, part)).group_by(up.grain, up.period_start))


def _add_into(conn: Connection, table: Table, rows: Select) -> None:
    """Add ``rows`` (all of ``table``'s columns, in order) into ``table``: a row whose key is there
    already is summed into it."""
    keys = [c.name for c in table.primary_key.columns]
    names = [c.name for c in table.columns]
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = dialect_insert(table).from_select(names, rows)
    conn.execute(statement.on_conflict_do_update(
        index_elements=keys, set_={n: table.c[n] + statement.excluded[n] for n in names if n not in keys}))


@contextmanager
def _totals_follow(conn: Connection, part: list[int] | None, tables: Sequence[Table]) -> Iterator[None]:
    """Keep ``tables`` (totals roll-ups) equal to the sum of their per-customer roll-ups while the
    block rewrites ``part``'s rows (everyone's when None): its old rows out, its new rows in."""
    for table in tables:
        if part is None:
            conn.execute(delete(table))
        else:
            _add_into(conn, table, _sums_of(table, part, -1))
    yield
    for table in tables:
        _add_into(conn, table, _sums_of(table, part, 1))


# --- keeping them current ----------------------------------------------------------------------------


def settle(conn: Connection) -> None:
    """Refresh the roll-ups of the customers whose contracts this transaction changed (the trigger
    noted them), then forget them: run at commit, so the roll-ups move with the rows."""
    noted = conn.execute(select(pending.c.customer_id)).scalars().all()
    if noted:
        refresh_mrr(conn, noted)
        conn.execute(delete(pending))


_TRIGGER_SQLITE = """
CREATE TRIGGER IF NOT EXISTS contracts_note_{op} AFTER {OP} ON contracts BEGIN
  {rows}
END"""


_MOVED_CUSTOMER = "AFTER UPDATE OF industry, region, size_band, csm_id ON customers"
_MOVED_WHEN = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ("industry", "region", "size_band", "csm_id"))


def install_triggers(conn: Connection) -> None:
    """The triggers that note every customer whose contracts are inserted, updated or deleted, or whose
    own segment fields (industry, region, size band, CSM) change. A later SQLite migration that rebuilds
    ``contracts`` or ``customers`` (Alembic's batch mode copies the table) drops them: it must call this again."""
    if conn.dialect.name == "sqlite":
        note = "INSERT OR IGNORE INTO rollup_pending (customer_id) VALUES ({}.customer_id);"
        for op, rows in (("insert", [note.format("NEW")]), ("update", [note.format("OLD"), note.format("NEW")]),
                         ("delete", [note.format("OLD")])):
            conn.exec_driver_sql(_TRIGGER_SQLITE.format(op=op, OP=op.upper(), rows="\n  ".join(rows)))
        conn.exec_driver_sql(f"CREATE TRIGGER IF NOT EXISTS customers_note_segments {_MOVED_CUSTOMER} "
                             f"WHEN {_MOVED_WHEN.replace('IS DISTINCT FROM', 'IS NOT')} BEGIN\n"
                             "  INSERT OR IGNORE INTO rollup_pending (customer_id) VALUES (NEW.id);\nEND")
        return
    conn.exec_driver_sql("""
CREATE OR REPLACE FUNCTION customers_note_segments() RETURNS trigger AS $$
BEGIN
  INSERT INTO rollup_pending (customer_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$ LANGUAGE plpgsql""")
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS customers_note_segments ON customers")
    conn.exec_driver_sql(f"CREATE TRIGGER customers_note_segments {_MOVED_CUSTOMER} "
                         f"FOR EACH ROW WHEN ({_MOVED_WHEN}) EXECUTE FUNCTION customers_note_segments()")
    conn.exec_driver_sql("""
CREATE OR REPLACE FUNCTION contracts_note_customer() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO rollup_pending (customer_id) VALUES (OLD.customer_id) ON CONFLICT DO NOTHING;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO rollup_pending (customer_id) VALUES (NEW.customer_id) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""")
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS contracts_note ON contracts")
    conn.exec_driver_sql("CREATE TRIGGER contracts_note AFTER INSERT OR UPDATE OR DELETE ON contracts "
                         "FOR EACH ROW EXECUTE FUNCTION contracts_note_customer()")


def drop_triggers(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for name in ("contracts_note_insert", "contracts_note_update", "contracts_note_delete", "customers_note_segments"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        return
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS contracts_note ON contracts")
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS contracts_note_customer()")
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS customers_note_segments ON customers")
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS customers_note_segments()")


def finish_load(conn: Connection) -> None:
    """Complete the roll-ups after a load that wrote ``usage_monthly`` and the weekly ``usage_periods``
    rows itself (the demo): the months and quarters, then the MRR changes, paying flags and totals."""
    for grain in ("month", "quarter"):
        conn.execute(insert(usage_periods).from_select(_PERIOD_COLUMNS, _usage_by_grain(grain, None)))
    refresh_mrr(conn)
    conn.execute(delete(pending))


def rebuild(conn: Connection) -> dict[str, int]:
    """Every roll-up from the raw tables, in the caller's transaction. Returns rows per roll-up."""
    counts = {"usage_monthly": refresh_usage_monthly(conn), "usage_periods": refresh_usage_periods(conn),
              "mrr_changes": refresh_mrr(conn)}
    conn.execute(delete(pending))
    for name in TOTALS:
        counts[name] = conn.execute(select(func.count()).select_from(TABLES[name])).scalar_one()
    return counts


def differences(conn: Connection) -> dict[str, int]:
    """Rows of each roll-up that differ from a fresh computation (missing, extra or changed): 0 when
    the roll-ups are current. Read-only; unrounded cents compared to a hundredth of a cent."""
    found: dict[str, int] = {}
    checks = {
        "mrr_changes": (mrr_changes, _mrr_changes_query(None), ["customer_id", "product_line", "day"]),
        "usage_periods": (usage_periods, union(*(_usage_by_grain(g, None) for g in GRAINS)),
                          ["grain", "period_start", "customer_id"]),
        "mrr_totals": (mrr_totals, _sums_of(mrr_totals, None, 1), ["day"]),
        "mrr_segment_totals": (mrr_segment_totals, _sums_of(mrr_segment_totals, None, 1), ["dimension", "value", "day"]),
        "usage_totals": (usage_totals, _sums_of(usage_totals, None, 1), ["grain", "period_start"]),
    }
    for name, (table, fresh_query, keys) in checks.items():
        values = [c.name for c in table.columns if c.name not in keys]
        fresh = fresh_query.subquery("fresh")
        kept = table.alias("kept")
        fresh_cols = list(fresh.c)
        fresh_values = fresh_cols[len(keys):]
        on = and_(*(kept.c[k] == fresh_cols[i] for i, k in enumerate(keys)))
        differ = or_(*(_differs(kept.c[v], fresh_values[i]) for i, v in enumerate(values)))
        # A total of zero is as good as no total (the adjustments may leave one behind, a sum may make one).
        totals = table.name in TOTALS
        kept_counts = or_(*(kept.c[v] != 0 for v in values)) if totals else true()
        fresh_counts = or_(*(c != 0 for c in fresh_values)) if totals else true()
        changed = conn.execute(select(func.count()).select_from(kept.join(fresh, on)).where(differ)).scalar_one()
        extra = conn.execute(select(func.count()).select_from(kept.outerjoin(fresh, on))
                             .where(fresh_cols[0].is_(None), kept_counts)).scalar_one()
        missing = conn.execute(select(func.count()).select_from(fresh.outerjoin(kept, on))
                               .where(kept.c[keys[0]].is_(None), fresh_counts)).scalar_one()
        found[name] = changed + extra + missing
    return found


def _differs(kept, fresh):
    if kept.type.python_type is float:  # cents: a hundredth of one is noise of the running adjustments
        return func.abs(kept - fresh) > 0.01
    return kept.is_distinct_from(fresh)  # NULL (no previous change) against a day differs too


def main(argv: list[str] | None = None) -> int:
    """``python -m ops_core.db.rollups rebuild|check [--database-url URL]``."""
    from ops_core import cli

    parser = argparse.ArgumentParser(prog="python -m ops_core.db.rollups",
                                     description="Rebuild the roll-up tables from the raw history, or check them.")
    parser.add_argument("action", choices=("rebuild", "check"))
    parser.add_argument("--database-url", default=None, help="the store (default: OPS_DATABASE_URL or data/ops.db)")

    def body() -> int:
        args = parser.parse_args(argv)
        with cli.open_store(args.database_url) as engine:
            if args.action == "rebuild":
                with engine.begin() as conn:
                    counts = rebuild(conn)
                print("rebuilt: " + ", ".join(f"{name} {rows:,} rows" for name, rows in counts.items()))
                return 0
            with engine.connect() as conn:
                found = differences(conn)
        print("; ".join(f"{name}: {n:,} rows differ" for name, n in found.items()))
        return 1 if any(found.values()) else 0

    return cli.run(body)


if __name__ == "__main__":
    from ops_core.cli import run_module

    run_module("ops_core.db.rollups")
