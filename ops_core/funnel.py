"""The double funnel (seed 004, DESIGN.md section 1): the B side from target accounts to renewed
customers, and the user side inside the accounts from registration to retention.

Both are cohort funnels: the entrants are fixed by a date range (leads created, users registered)
and followed to whatever they reached by ``as_of`` (default: everything stored). Each step is a
subset of the step before, so counts never rise and every share lies in 0..1. Every count is one
SQL aggregation (SQLAlchemy Core, the same statement on SQLite and PostgreSQL).

Result shape of both funnels: one row per step, columns ``step`` (key), ``count``,
``from_previous`` (count / previous step's count; NaN on the first step) and ``from_top``
(count / first step's count); a share whose denominator is 0 is NaN, never an error.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    select,
    true,
    union_all,
)

from ops_core import events
from ops_core.db.models import TABLES
from ops_core.db.queries import date_of, days_between, week_start
from ops_core.errors import UsageError
from ops_core.events import LeadStandard
from ops_core.filters import Filters

leads = TABLES["leads"]
referrals = TABLES["referrals"]
customers = TABLES["customers"]
contracts = TABLES["contracts"]
account_users = TABLES["account_users"]
account_user_weeks = TABLES["account_user_weeks"]

ACCOUNT_STEPS = ("target_accounts", "leads", "effective_leads", "opportunities", "paying", "renewed_expanded")
USER_STEPS = ("registered", "activated", "active", "retained")
RENEWING_KINDS = ("renewal", "expansion")
# Lowest head count of each size band but micro (vocab.SizeBand's bounds; tests check ops_core.demo uses the same).
SIZE_FLOORS = (("enterprise", 5_000), ("large", 1_000), ("medium", 250), ("small", 50))


def _check_range(first: dt.date, last: dt.date) -> None:
    if first > last:
        raise UsageError(f"the range starts ({first}) after it ends ({last})")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def steps_frame(steps: tuple[str, ...], counts: list[int]) -> pd.DataFrame:
    """step, count, from_previous, from_top for counts already in funnel order (NaN over a zero)."""
    count = pd.Series(counts, dtype="int64")
    previous = count.shift(1).astype("float64")
    top = pd.Series(float(count.iloc[0]) if len(count) else 0.0, index=count.index)
    as_float = count.astype("float64")
    return pd.DataFrame({"step": list(steps), "count": count,
                         "from_previous": as_float / previous.where(previous != 0),
                         "from_top": as_float / top.where(top != 0)})


def effective_clause(standard: LeadStandard) -> ColumnElement[bool]:
    """``standard`` as a WHERE clause on ``leads``: the SQL twin of ``LeadStandard.mask`` (tests compare them)."""
    clauses = [leads.c.title_level.in_(standard.title_levels)]
    if standard.min_company_size > 0:
        clauses.append(leads.c.company_size >= standard.min_company_size)  # NULL (unknown size) is not >=
    if standard.industries:
        clauses.append(leads.c.industry.in_(standard.industries))
    if standard.budget_confirmed:
        clauses.append(leads.c.budget_confirmed == true())
    return and_(*clauses)


def _size_band(employees) -> ColumnElement[str]:
    return case(*((employees >= floor, band) for band, floor in SIZE_FLOORS), (employees >= 0, "micro"), else_=null())


def _stage(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
    """The furthest step a row reached: conditions are the steps after the first, furthest first."""
    n = len(conditions) + 1
    return case(*((cond, n - i) for i, cond in enumerate(conditions)), else_=1)


def _reached(stage, steps: int) -> list[ColumnElement[int]]:
    """Per step k (1..steps): how many units reached step k or further."""
    return [func.coalesce(func.sum(case((stage >= k, 1), else_=0)), 0) for k in range(1, steps + 1)]


def account_funnel(conn: Connection, first: dt.date, last: dt.date, filters: Filters | None = None,
                   standard: LeadStandard | None = None, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """The B side for the leads created in [first, last], counted in accounts (companies).

    The unit is the account because the top of the funnel is a market of companies and its bottom
    is customers; a company sends many leads (the demo: ~3,300 leads from ~250 companies), so
    counting leads in the middle would make the funnel widen again. An account is a company name
    (trimmed, case-folded), the name a lead or referral gives. Steps:

    - target_accounts: companies named in the range by a lead (``created_at``) or by a customer's
      referral (``referred_on``): a referred company is a target before anyone there becomes a lead;
    - leads: accounts with at least one lead created in the range;
    - effective_leads: accounts with such a lead meeting the effective-lead standard (``standard``,
      default the one in force in settings);
    - opportunities: accounts with such a lead that became an opportunity (``opportunity_at``);
    - paying: accounts with such a lead that was won (``won_at``);
    - renewed_expanded: accounts whose won lead's customer signed a renewal or an expansion
      contract after the day it was won.

    An account counts in every step up to the furthest it reached (the lifecycle-stage rule of CRM
    funnels), so counts never rise, shares stay in 0..1 and ``paying`` is every won account. An
    opportunity from a lead below the standard therefore still counts as an effective-lead account;
    ``attrs["skipped_effective"]`` says how many accounts got there that way (many of them: the
    standard is stricter than sales' judgement). ``attrs`` also give the lead records behind the
    counts. Outcomes (opportunity, win, contract signed) after ``as_of`` (default: everything
    stored) have not happened yet; leads and referrals dated after it are not counted.

    Filters: a lead linked to a customer takes that customer's industry, region, size band and CSM;
    other leads their own industry and the size band of their company size, and no region or CSM,
    so a region or CSM filter keeps only leads (and referrals) linked to a matching customer.
    Customers signed without a lead record are not in this funnel: it has no top for them.
    """
    _check_range(first, last)
    standard = standard or events.lead_standard(conn)
    stop = min(last, as_of) if as_of is not None else last
    start_ts, end_ts = _midnight(first), _midnight(stop + dt.timedelta(days=1))
    outcome_end = _midnight(as_of + dt.timedelta(days=1)) if as_of is not None else None

    def happened(stamp) -> ColumnElement[bool]:
        return stamp.is_not(None) if outcome_end is None else stamp < outcome_end

    later_contract = [contracts.c.customer_id == leads.c.customer_id, contracts.c.kind.in_(RENEWING_KINDS),
                      contracts.c.signed_on > date_of(leads.c.won_at)]
    if as_of is not None:
        later_contract.append(contracts.c.signed_on <= as_of)
    won = happened(leads.c.won_at)
    effective = effective_clause(standard)
    lead_rows = (
        select(func.lower(func.trim(leads.c.company)).label("account"),
               _stage(and_(won, exists().where(*later_contract)), won, happened(leads.c.opportunity_at),
                      effective, true()).label("stage"),
               case((effective, 1), else_=0).label("effective"),
               func.coalesce(customers.c.industry, leads.c.industry).label("industry"),
               customers.c.region.label("region"),
               func.coalesce(customers.c.size_band, _size_band(leads.c.company_size)).label("size_band"),
               customers.c.csm_id.label("csm_id"))
        .select_from(leads.outerjoin(customers, customers.c.id == leads.c.customer_id))
        .where(leads.c.created_at >= start_ts, leads.c.created_at < end_ts)
    )
    referral_rows = (
        select(func.lower(func.trim(referrals.c.referred_name)), literal(1), literal(0),
               customers.c.industry, customers.c.region, customers.c.size_band, customers.c.csm_id)
        .select_from(referrals.outerjoin(customers, customers.c.id == referrals.c.referred_customer_id))
        .where(referrals.c.referred_on >= first, referrals.c.referred_on <= stop)
    )
    rows = union_all(lead_rows, referral_rows).subquery("named")
    chosen = filters.customer_clause(rows) if filters is not None else true()  # type: ignore[arg-type]
    accounts = (select(func.max(rows.c.stage).label("stage"), func.max(rows.c.effective).label("effective"),
                       func.sum(case((rows.c.stage >= 2, 1), else_=0)).label("n_leads"),
                       func.sum(rows.c.effective).label("n_effective"))
                .where(chosen).group_by(rows.c.account).subquery("accounts"))
    a = accounts.c
    totals = conn.execute(select(
        *_reached(a.stage, len(ACCOUNT_STEPS)),
        func.coalesce(func.sum(case((and_(a.stage >= 4, a.effective == 0), 1), else_=0)), 0),
        func.coalesce(func.sum(a.n_leads), 0), func.coalesce(func.sum(a.n_effective), 0),
    )).one()
    n = len(ACCOUNT_STEPS)
    out = steps_frame(ACCOUNT_STEPS, [int(v) for v in totals[:n]])
    out.attrs = {"unit": "accounts", "standard": standard.describe(), "skipped_effective": int(totals[n]),
                 "lead_records": int(totals[n + 1]), "effective_lead_records": int(totals[n + 2])}
    return out


def user_funnel(conn: Connection, first: dt.date, last: dt.date, filters: Filters | None = None,
                retained_weeks: int = 4, *, as_of: dt.date | None = None) -> pd.DataFrame:
    """The user side: account users registered in [first, last], counted in users. Steps:

    - registered: users of the (filtered) customers with ``registered_on`` in the range;
    - activated: users with ``activated_on`` set (on or before ``as_of``);
    - active: users with an active week (``account_user_weeks``) in their activation week or later
      (activity is recorded by week, so the week of activation counts; a user never marked
      activated counts from the registration week; activity before activation is ignored);
    - retained: users active in a week at least ``retained_weeks`` weeks after their registration
      week (week 0 is the ISO week of ``registered_on``).

    As in ``account_funnel``, a user counts in every step up to the furthest reached (activity
    without an activation record still means the user activated). Activity after ``as_of``
    (default: everything stored) has not happened yet; a user registered fewer than
    ``retained_weeks`` weeks before it cannot be retained yet, so read the last step of a recent
    range as provisional.
    """
    _check_range(first, last)
    if isinstance(retained_weeks, bool) or not isinstance(retained_weeks, int) or retained_weeks < 0:
        raise UsageError(f"retained_weeks must be a whole number of weeks >= 0, not {retained_weeks!r}")
    u, w = account_users.c, account_user_weeks.c
    stop = min(last, as_of) if as_of is not None else last
    activated = u.activated_on.is_not(None) if as_of is None else u.activated_on <= as_of
    from_day = case((activated, u.activated_on), else_=u.registered_on)
    in_week = [w.account_user_id == u.id, w.week >= week_start(from_day)]
    if as_of is not None:
        in_week.append(w.week <= as_of)
    retained = and_(w.week.is_not(None), days_between(week_start(u.registered_on), w.week) >= 7 * retained_weeks)
    chosen = filters.customer_clause(customers) if filters is not None else true()
    users = (select(func.max(_stage(retained, w.week.is_not(None), activated)).label("stage"))
             .select_from(account_users.join(customers, customers.c.id == u.customer_id)
                          .outerjoin(account_user_weeks, and_(*in_week)))
             .where(chosen, u.registered_on >= first, u.registered_on <= stop)
             .group_by(u.id).subquery("users"))
    row = conn.execute(select(*_reached(users.c.stage, len(USER_STEPS)))).one()
    out = steps_frame(USER_STEPS, [int(v) for v in row])
    out.attrs = {"unit": "users", "retained_weeks": retained_weeks}
    return out
