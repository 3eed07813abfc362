"""Every table of the product, as SQLAlchemy 2 models.

Conventions: money is integer cents (``*_cents``, BigInteger), never float; closed vocabularies are
strings whose allowed values sit in ``info["choices"]`` (checked by the write path); records a
person edits carry ``version`` for optimistic concurrency; every column a page filters or joins on
is indexed. Alembic migrations (``ops_core/db/migrations``) are generated from these models and a
test fails when the two drift.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import column as bare_column
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ops_core import vocab
from ops_core.db.queries import contract_mrr
from ops_core.vocab import values

# A contract's MRR (db.queries.contract_mrr) over the row's own columns, as a generated column reads them.
CONTRACT_MRR = contract_mrr(bare_column("start_date"), bare_column("end_date"), bare_column("amount_cents"))

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def choice(enum: type, length: int = 32, **kw: Any) -> Any:
    """A string column restricted to one vocabulary (checked in the write path and on import)."""
    kw.setdefault("nullable", False)
    return mapped_column(String(length), info={"choices": values(enum)}, **kw)


# The company's own lists: columns holding a code of one (``company_lists.list_name``). Their allowed
# values are the stored list (checked in the write path); the enum's values are the seeded ones.
COMPANY_LIST_NAMES = ("industry", "region", "product_line")


def company_choice(enum: type, list_name: str, **kw: Any) -> Any:
    """A string column holding a code of the company's list ``list_name`` (seeded with ``enum``'s values)."""
    kw.setdefault("nullable", False)
    return mapped_column(String(32), info={"choices": values(enum), "company_list": list_name}, **kw)


def money(**kw: Any) -> Any:
    kw.setdefault("nullable", False)
    kw.setdefault("default", 0)
    return mapped_column(BigInteger, info={"money": True}, **kw)


class Versioned:
    """Records edited by people: ``version`` grows by one on every change (optimistic concurrency)."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


# --- people and configuration ------------------------------------------------------------------


class User(Versioned, Base):
    """A person who signs in to the app. Local single-user mode acts as the built-in admin."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = choice(vocab.Role, 16)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sign-in bookkeeping (ops_core.users): kept in the store so every app instance sees a lock-out.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class UserSession(Base):
    """A signed-in browser: the SHA-256 of its token (the token itself lives only in the browser's
    cookie), whose it is, when it started and was last seen, and when it ended (sign-out, idle time,
    the account disabled). In the store, so every app instance over it knows every session."""

    __tablename__ = "user_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Setting(Versioned, Base):
    """A setting overridden in the app; absent keys take the default declared in ops_core.config."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class CompanyListEntry(Versioned, Base):
    """One value of the company's own lists (industries, regions, product lines): the code customers,
    contracts and leads store, its English and Chinese labels, and its place in pickers. Seeded by
    migration 0005 with the built-in values plus "other"; an admin adds and renames (ops_core.company_lists)."""

    __tablename__ = "company_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    list_name: Mapped[str] = mapped_column(String(32), info={"choices": COMPANY_LIST_NAMES})
    code: Mapped[str] = mapped_column(String(32))
    label_en: Mapped[str] = mapped_column(String(128))
    label_zh: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("list_name", "code"),)


class AuditLog(Base):
    """Who changed what, when, with the old and new values; written in the same transaction as the change."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    old_values: Mapped[Any | None] = mapped_column(JSON)
    new_values: Mapped[Any | None] = mapped_column(JSON)
    __table_args__ = (Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),)


class TableVersion(Base):
    """How often each table has been written: bumped in the same transaction as every write (by
    ops_core.db.versions), so a cached read is kept exactly until a table it read changes."""

    __tablename__ = "table_versions"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


# --- customers ---------------------------------------------------------------------------------


class Csm(Versioned, Base):
    """A customer-success manager; level decides which tiers they may own."""

    __tablename__ = "csms"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(256))
    level: Mapped[str] = choice(vocab.CsmLevel)
    team: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Customer(Versioned, Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(256), index=True)
    industry: Mapped[str] = company_choice(vocab.Industry, "industry", index=True)
    region: Mapped[str] = company_choice(vocab.Region, "region", index=True)
    size_band: Mapped[str] = choice(vocab.SizeBand, index=True)
    employees: Mapped[int] = mapped_column(Integer)
    fortune500: Mapped[bool] = mapped_column(Boolean, default=False)
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    high_valuation: Mapped[bool] = mapped_column(Boolean, default=False)
    partnership_level: Mapped[str] = choice(vocab.PartnershipLevel)
    reference_case: Mapped[bool] = mapped_column(Boolean, default=False)
    demand_type: Mapped[str] = choice(vocab.DemandType)
    csm_id: Mapped[int | None] = mapped_column(ForeignKey("csms.id"), index=True)
    competitor_price_cut: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[dt.date] = mapped_column(Date, index=True)


class Contact(Versioned, Base):
    """A person at a customer; start/end make a key-contact change visible."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str] = choice(vocab.ContactRole, index=True)
    is_key: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(256))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date, index=True)


class Contract(Versioned, Base):
    """An order: a new logo, a renewal (``renewal_of``) or an expansion; amount covers start..end."""

    __tablename__ = "contracts"
    # A customer's contracts ending on a day: whether one was renewed or followed by a later one
    # (renewal risk, the renewal rate) looks them up by both; by the end date alone it scans every
    # contract ending that day (seconds at 140,000 contracts).
    __table_args__ = (Index("ix_contracts_customer_id_end_date", "customer_id", "end_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = choice(vocab.ContractKind)
    product_line: Mapped[str] = company_choice(vocab.ProductLine, "product_line", index=True)
    signed_on: Mapped[dt.date] = mapped_column(Date)
    start_date: Mapped[dt.date] = mapped_column(Date, index=True)
    end_date: Mapped[dt.date] = mapped_column(Date, index=True)
    amount_cents: Mapped[int] = money()
    delivery_cost_cents: Mapped[int] = money()
    service_cost_cents: Mapped[int] = money()
    renewal_of_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    # The contract's MRR in cents (float; sums are rounded at the end), kept by the database itself.
    unrounded_mrr: Mapped[float] = mapped_column(Float, Computed(CONTRACT_MRR, persisted=True))


class Invoice(Versioned, Base):
    __tablename__ = "invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    amount_cents: Mapped[int] = money()


class Payment(Base):
    """Money received against an invoice; ``reference`` (the receipt or bank transaction number) is the
    payment's business key, so a payments file imported twice pays nothing twice."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    paid_on: Mapped[dt.date] = mapped_column(Date, index=True)
    amount_cents: Mapped[int] = money()


class Referral(Base):
    """A customer recommending a prospect; ``referred_customer_id`` is set once it signs."""

    __tablename__ = "referrals"
    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    referred_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    referred_name: Mapped[str] = mapped_column(String(256))
    referred_on: Mapped[dt.date] = mapped_column(Date)


# --- usage -------------------------------------------------------------------------------------


class UsageDaily(Base):
    """One account's activity on one day (days without activity have no row)."""

    __tablename__ = "usage_daily"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)
    active_users: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(Integer)
    page_views: Mapped[int] = mapped_column(Integer)
    unique_visitors: Mapped[int] = mapped_column(Integer)
    feature_events: Mapped[int] = mapped_column(Integer)


class UsageMonthly(Base):
    """Roll-up of usage_daily by account and month, rebuilt after every load: pages read this."""

    __tablename__ = "usage_monthly"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)
    active_days: Mapped[int] = mapped_column(Integer)
    active_user_days: Mapped[int] = mapped_column(BigInteger)
    peak_active_users: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(BigInteger)
    page_views: Mapped[int] = mapped_column(BigInteger)
    unique_visitors: Mapped[int] = mapped_column(BigInteger)
    feature_events: Mapped[int] = mapped_column(BigInteger)


class MrrChange(Base):
    """Roll-up: each day a unit's MRR changes, with its MRR and ARR the day before and that day.

    A unit is a customer (``product_line`` "") or one of its product lines. Rows exist only where
    the value moves (a flat renewal leaves none), so a period's bridge sums the few changes inside it
    and the levels at its ends are running sums, instead of joining every contract to every period.
    Kept current by ``ops_core.db.rollups`` in the transaction that writes the contracts."""

    __tablename__ = "mrr_changes"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    product_line: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)
    mrr_before: Mapped[int] = mapped_column(BigInteger)   # cents, rounded half up as every bridge rounds
    mrr_after: Mapped[int] = mapped_column(BigInteger)
    arr_before: Mapped[float] = mapped_column(Float)      # cents, unrounded (ARR is rounded once, at the end)
    arr_after: Mapped[float] = mapped_column(Float)
    # The unit's previous and next change (NULL: none): a change that is a period's only one for its unit is
    # classified from its own row, without looking for the unit's other changes.
    prev_day: Mapped[dt.date | None] = mapped_column(Date)
    next_day: Mapped[dt.date | None] = mapped_column(Date)
    # The customer's own fields when the row was written: the segment totals are adjusted by the fields a row was
    # added under, so a customer moved to another industry or CSM is taken out of the old one.
    industry: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))
    size_band: Mapped[str] = mapped_column(String(32))
    csm_id: Mapped[int | None] = mapped_column(Integer)


class UsagePeriod(Base):
    """Roll-up of usage by account and week, month or quarter, with whether the account paid at the
    period's end: the activity rate and the usage indicators read one row per account and period."""

    __tablename__ = "usage_periods"
    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True, index=True)
    period_end: Mapped[dt.date] = mapped_column(Date)
    user_days: Mapped[int] = mapped_column(BigInteger)
    peak_users: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(BigInteger)
    page_views: Mapped[int] = mapped_column(BigInteger)
    unique_visitors: Mapped[int] = mapped_column(BigInteger)
    feature_events: Mapped[int] = mapped_column(BigInteger)
    paying: Mapped[bool] = mapped_column(Boolean)  # the customer's MRR on period_end is above 0


class MrrTotal(Base):
    """Roll-up: the change of every customer's MRR, paying count and ARR on each day (the sums of
    ``mrr_changes`` of whole customers), so the company's MRR on any day is a running sum of a few
    thousand rows. Adjusted by the difference whenever a customer's changes are refreshed."""

    __tablename__ = "mrr_totals"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    mrr: Mapped[int] = mapped_column(BigInteger)        # cents
    paying: Mapped[int] = mapped_column(Integer)        # customers starting (+) or stopping (-) to pay
    arr: Mapped[float] = mapped_column(Float)           # cents, unrounded


class MrrSegmentTotal(Base):
    """Roll-up: ``mrr_totals`` per value of each of a customer's own segments (industry, region, size
    band, CSM by id, "" for none), for the breakdowns and the alerts per segment."""

    __tablename__ = "mrr_segment_totals"
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    mrr: Mapped[int] = mapped_column(BigInteger)
    paying: Mapped[int] = mapped_column(Integer)
    arr: Mapped[float] = mapped_column(Float)


class UsageTotal(Base):
    """Roll-up: ``usage_periods`` summed over every account per period (stickiness as the sum of each
    account's user-days over its peak, divided by the period's days when read), kept by difference."""

    __tablename__ = "usage_totals"
    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    accounts: Mapped[int] = mapped_column(Integer)
    user_days: Mapped[int] = mapped_column(BigInteger)
    peak_users: Mapped[int] = mapped_column(BigInteger)
    peaked: Mapped[int] = mapped_column(Integer)           # accounts with a peak above 0 (stickiness is theirs)
    days_per_peak: Mapped[float] = mapped_column(Float)
    sessions: Mapped[int] = mapped_column(BigInteger)
    page_views: Mapped[int] = mapped_column(BigInteger)
    unique_visitors: Mapped[int] = mapped_column(BigInteger)
    adopting: Mapped[int] = mapped_column(Integer)
    paying: Mapped[int] = mapped_column(Integer)


class RollupPending(Base):
    """Customers whose contracts changed in the open transaction: a trigger on ``contracts`` notes
    them, and the commit refreshes their roll-ups before it ends (``ops_core.db.rollups.settle``)."""

    __tablename__ = "rollup_pending"
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class AccountUser(Base):
    """A registered user inside a customer account (the C side of the double funnel)."""

    __tablename__ = "account_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    registered_on: Mapped[dt.date] = mapped_column(Date, index=True)
    activated_on: Mapped[dt.date | None] = mapped_column(Date)


class AccountUserWeek(Base):
    """A week (Monday) in which an account user was active: the base of user-level retention."""

    __tablename__ = "account_user_weeks"
    account_user_id: Mapped[int] = mapped_column(ForeignKey("account_users.id"), primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)


# --- indicators and scoring --------------------------------------------------------------------


class MetricDefinition(Versioned, Base):
    """The editable part of a metric (owner, description); the formula stays in code."""

    __tablename__ = "metric_definitions"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class MetricTarget(Versioned, Base):
    """Minimum / target / stretch for one metric, grain and period (targets may change month to month)."""

    __tablename__ = "metric_targets"
    id: Mapped[int] = mapped_column(primary_key=True)
    metric_key: Mapped[str] = mapped_column(String(64), index=True)
    grain: Mapped[str] = choice(vocab.Grain, 16)
    period_start: Mapped[dt.date] = mapped_column(Date)
    minimum: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    stretch: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (UniqueConstraint("metric_key", "grain", "period_start", name="uq_metric_targets_period"),)


class MetricSnapshot(Base):
    """A metric value as reported, frozen so later data corrections do not rewrite history."""

    __tablename__ = "metric_snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    metric_key: Mapped[str] = mapped_column(String(64))
    grain: Mapped[str] = choice(vocab.Grain, 16)
    period_start: Mapped[dt.date] = mapped_column(Date)
    segment_kind: Mapped[str] = mapped_column(String(32), default="all")
    segment_value: Mapped[str] = mapped_column(String(128), default="all")
    value: Mapped[float | None] = mapped_column(Float)
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_metric_snapshots_lookup", "metric_key", "grain", "period_start"),)


class WeightPreset(Versioned, Base):
    """Named scoring set-up: weights, normalisation methods, category mappings and tier rules."""

    __tablename__ = "weight_presets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    weights: Mapped[Any] = mapped_column(JSON)
    methods: Mapped[Any] = mapped_column(JSON)
    # Category value tables (e.g. demand type -> 0..1); null in presets saved before they were kept: the defaults.
    mappings: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    tier_rules: Mapped[Any] = mapped_column(JSON)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ScoreSnapshot(Base):
    """A customer's published score and tier in one month."""

    __tablename__ = "score_snapshots"
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True, index=True)
    preset_id: Mapped[int | None] = mapped_column(ForeignKey("weight_presets.id"))
    score: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(32))


# --- product: releases, demands, feedback, FAQ -------------------------------------------------


class Release(Versioned, Base):
    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_label: Mapped[str] = mapped_column(String(32), unique=True)
    release_date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = choice(vocab.ReleaseStatus, 16)
    notes: Mapped[str | None] = mapped_column(Text)


class Demand(Versioned, Base):
    __tablename__ = "demands"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = choice(vocab.DemandSource, index=True)
    status: Mapped[str] = choice(vocab.DemandStatus, index=True)
    owner: Mapped[str | None] = mapped_column(String(128), index=True)
    effort_days: Mapped[float | None] = mapped_column(Float)
    urgency: Mapped[int] = mapped_column(Integer, default=2)
    product_area: Mapped[str | None] = mapped_column(String(32), info={"choices": values(vocab.ProductArea)})
    target_release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), index=True)
    competitor_ref: Mapped[str | None] = mapped_column(String(256))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class DemandCustomer(Base):
    """A customer asking for a demand: counted once per demand however many of its people ask."""

    __tablename__ = "demand_customers"
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True, index=True)
    informed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class DemandHistory(Base):
    """Every status change of a demand: who, when, from, to."""

    __tablename__ = "demand_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class FaqEntry(Versioned, Base):
    __tablename__ = "faq_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    product_area: Mapped[str | None] = mapped_column(String(32), info={"choices": values(vocab.ProductArea)})
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Feedback(Versioned, Base):
    """One voice of a customer, triaged by the product manager before anything reaches engineers."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    channel: Mapped[str] = choice(vocab.FeedbackChannel, index=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    product_area: Mapped[str] = choice(vocab.ProductArea, index=True)
    text: Mapped[str] = mapped_column(Text)
    suggested_type: Mapped[str | None] = mapped_column(String(32), info={"choices": values(vocab.FeedbackType)})
    type: Mapped[str | None] = mapped_column(String(32), index=True, info={"choices": values(vocab.FeedbackType)})
    severity: Mapped[str] = choice(vocab.Severity, 16)
    importance: Mapped[str] = choice(vocab.Importance, 16)
    status: Mapped[str] = choice(vocab.FeedbackStatus, 16, index=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    faq_id: Mapped[int | None] = mapped_column(ForeignKey("faq_entries.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id"))
    first_response_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    informed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class FeedbackHistory(Base):
    """Every status change of a feedback item: who, when, from, to (the service timers' evidence)."""

    __tablename__ = "feedback_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


# --- marketing events --------------------------------------------------------------------------


class Event(Versioned, Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    format: Mapped[str] = choice(vocab.EventFormat, 16, index=True)
    kind: Mapped[str] = choice(vocab.EventKind, index=True)
    organisation: Mapped[str] = choice(vocab.EventOrganisation, index=True)
    start_date: Mapped[dt.date] = mapped_column(Date, index=True)
    end_date: Mapped[dt.date] = mapped_column(Date)
    location: Mapped[str | None] = mapped_column(String(128))
    purposes: Mapped[str] = mapped_column(String(64))  # comma-separated: acquisition,promotion,conversion
    budget_cents: Mapped[int] = money()
    goal_leads: Mapped[int | None] = mapped_column(Integer)
    goal_effective_leads: Mapped[int | None] = mapped_column(Integer)
    goal_opportunities: Mapped[int | None] = mapped_column(Integer)
    goal_conversions: Mapped[int | None] = mapped_column(Integer)
    goal_revenue_cents: Mapped[int | None] = mapped_column(BigInteger)


class EventCost(Base):
    __tablename__ = "event_costs"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    category: Mapped[str] = choice(vocab.CostCategory)
    amount_cents: Mapped[int] = money()
    note: Mapped[str | None] = mapped_column(String(256))


class EventReview(Versioned, Base):
    """The four-step review of one event (seed 002)."""

    __tablename__ = "event_reviews"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    goals_vs_results: Mapped[str | None] = mapped_column(Text)
    evaluation: Mapped[str | None] = mapped_column(Text)
    causes: Mapped[str | None] = mapped_column(Text)
    patterns: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Lead(Versioned, Base):
    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(String(256))
    contact_name: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(256))
    title_level: Mapped[str] = choice(vocab.TitleLevel, 16)
    company_size: Mapped[int | None] = mapped_column(Integer)
    industry: Mapped[str] = company_choice(vocab.Industry, "industry", index=True)
    budget_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    opportunity_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    opportunity_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    won_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    won_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    lost_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # lost or closed without a win: out of the pipeline


class LeadTouch(Base):
    """A lead meeting an event; a lead may be touched by several events (attribution)."""

    __tablename__ = "lead_touches"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    touched_at: Mapped[dt.datetime] = mapped_column(DateTime)


TABLES = Base.metadata.tables


def entered_columns(table: Any) -> list[Any]:
    """The columns a writer fills: all of ``table``'s but those the database generates itself
    (contracts.unrounded_mrr), which no insert, update, copy or audit row carries."""
    return [c for c in table.c if c.computed is None]
