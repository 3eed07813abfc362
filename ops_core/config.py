"""Where the store lives and the tunable settings, declared once as data.

The database URL comes from (first wins): an explicit argument (``--database-url``), the
``OPS_DATABASE_URL`` environment variable, Streamlit secrets (read by the UI layer and passed in),
then the embedded SQLite default under ``data/``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ops_core.errors import StoreUnavailable, UsageError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "ops_cockpit.db"
DATABASE_URL_ENV = "OPS_DATABASE_URL"


def database_url(explicit: str | None = None) -> str:
    """The URL to use, by the precedence in the module docstring."""
    if explicit:
        return explicit
    from_env = os.environ.get(DATABASE_URL_ENV, "").strip()
    if from_env:
        return from_env
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def parse_url(url: str) -> URL:
    """Parse and normalise a URL; plain ``postgresql://`` is taken to mean psycopg 3."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StoreUnavailable(f"The database URL '{redact_url(url)}' is malformed: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StoreUnavailable(
            f"The database URL '{redact_url(url)}' names '{parsed.drivername}'; "
            "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
        )
    return parsed


def redact_url(url: str | URL) -> str:
    """The URL as it may be shown on a page or in a log: the password replaced by ***."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (ArgumentError, ValueError):
        text = str(url)
        # Hide anything between "://user:" and "@" even when the URL does not parse.
        if "://" in text and "@" in text:
            scheme, rest = text.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}" if ":" in creds else text
        return text
    return parsed.render_as_string(hide_password=True)


@dataclass(frozen=True)
class Setting:
    """One tunable: its stored key, default value and what it means (shown on the settings page)."""

    key: str
    default: Any
    help: str


@dataclass(frozen=True)
class EnvSetting:
    """A server's switch read from the environment at start: its variable, default, allowed values and meaning."""

    name: str
    default: str
    help: str
    choices: tuple[str, ...] = ()


START_ENV = "OPS_START"
START_CHOICES = ("ask", "demo", "empty")
SIGN_IN_ENV = "OPS_SIGN_IN"
SIGN_IN_CHOICES = ("required", "off")
ENVIRONMENT: tuple[EnvSetting, ...] = (
    EnvSetting(DATABASE_URL_ENV, "", "The store's URL (sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB); "
               "empty: the embedded SQLite file data/ops_cockpit.db."),
    EnvSetting(START_ENV, "ask", "What the first start of an empty store does: 'ask' offers the demo company or an "
               "empty start, 'demo' builds the demo company at once, 'empty' opens the empty store.", START_CHOICES),
    EnvSetting(SIGN_IN_ENV, "", "'required': team mode, nobody sees anything before signing in with an account "
               "(python -m ops_core.users); 'off': single-user mode, no sign-in, everyone acts as the built-in admin. "
               "Empty: required for a PostgreSQL store, off for the embedded SQLite file.", SIGN_IN_CHOICES),
    EnvSetting("OPS_DEMO_CUSTOMERS", "2000", "Customers of the demo company a first start builds."),
    EnvSetting("OPS_DEMO_YEARS", "3", "Years of history of the demo company a first start builds."),
)
ENVIRONMENT_BY_NAME = {e.name: e for e in ENVIRONMENT}


def from_environment(name: str) -> str:
    """The value of a declared environment switch, or its default; a value outside its choices is refused."""
    declared = ENVIRONMENT_BY_NAME[name]
    value = os.environ.get(name, "").strip() or declared.default
    if declared.choices and value not in declared.choices:
        raise UsageError(f"{name}={value} is not understood; use one of {', '.join(declared.choices)}")
    return value


def sign_in_required(url: str) -> bool:
    """``OPS_SIGN_IN`` (see ENVIRONMENT); when it is not set, sign-in is required for a PostgreSQL store
    (a team's) and off for the embedded SQLite file (one person's)."""
    value = os.environ.get(SIGN_IN_ENV, "").strip()
    if value:
        return from_environment(SIGN_IN_ENV) == "required"
    return not url.strip().startswith("sqlite")


def start_mode() -> str:
    """``OPS_START``: ask, demo or empty (see ENVIRONMENT)."""
    return from_environment(START_ENV)


SETTINGS: tuple[Setting, ...] = (
    Setting("demo.customers", 2000, "Customers the demo company has when an empty store is first opened."),
    Setting("demo.years", 3, "Years of history the first-start demo company covers."),
    Setting("demo.seed", 7, "Random seed of the first-start demo company (same seed, same company)."),
    Setting("store.start", "", "How this store was started: 'demo' (the demo company was built) or 'empty' (the "
            "team imports its own data); empty until the first start's choice is made."),
    Setting("demo.company", {}, "Written by the demo builder: which rows are the demo company's (id ranges per table, "
            "seed, size, when built), so that an admin can remove it; empty when the store holds no demo company."),
    Setting("import.mappings", {}, "Saved column mappings of imports, by name: the entity and which field each of the "
            "file's headers fills (for example 'CRM customers'), offered on the data page and taken by the command "
            "line's --mapping NAME."),
    Setting("signin.idle_minutes", 480, "Team mode: a signed-in session ends after this many minutes without a visit; "
            "the person signs in again."),
    Setting("signin.lock_after", 5, "Team mode: failed sign-ins in a row that lock an account (from the third, each "
            "further try must wait a little longer first)."),
    Setting("signin.lock_minutes", 15, "Team mode: how long a locked account stays locked, unless an admin unlocks it sooner."),
    Setting("tiers.names", ["KA", "standard", "small", "micro"], "Tier names, highest value first."),
    Setting("status.amber_ratio", 0.95, "A metric at or above this share of its target is amber, below it red."),
    Setting("risk.level_floors", {"high": 40.0, "medium": 20.0},
            "Renewal-risk levels: a risk score (0-100) at or above 'high' is high (red), at or above 'medium' is medium "
            "(amber), below it low (green)."),
    Setting("events.attribution_window_days", 180, "Revenue counts for an event only when won within this many days of the touch."),
    Setting("alerts.rules", [
        {"metric": "nrr", "kind": "off_target", "threshold": 0.0, "against": "previous", "segment": None},
        {"metric": "logo_churn", "kind": "change", "threshold": 0.01, "against": "previous", "segment": None},
        {"metric": "arr", "kind": "change", "threshold": 0.05, "against": "previous", "segment": None},
        {"metric": "activity_rate", "kind": "change", "threshold": 0.05, "against": "previous", "segment": None},
        {"metric": "nrr", "kind": "change", "threshold": 0.05, "against": "year_before", "segment": "region"},
    ], "The watch list: each rule alerts when a metric is off target (red) or moves more than its threshold "
       "(pp of a rate, % of an amount) against the previous period or a year before, overall or per segment."),
    Setting("events.decay_half_life_days", 7.0, "Time-decay attribution: a touch this many days before the win weighs half "
            "as much as one on the day."),
    Setting("ui.page_size", 200, "Rows a grid shows per page; more rows stay in the database until asked for."),
    Setting("tiers.mode", "cutoff", "How customers are tiered: 'quota' (top shares of customers) or 'cutoff' (score floors)."),
    Setting("tiers.quotas", [0.05, 0.20, 0.35], "Quota mode: share of customers in each tier but the last, highest tier first (sum below 1)."),
    Setting("tiers.cutoffs", [65.0, 50.0, 35.0], "Cutoff mode: lowest score (inclusive) of each tier but the last, highest first."),
    Setting("tiers.by_industry", False, "Quota mode: apply the quotas within each industry instead of over all customers."),
    Setting("tiers.service_models", [
        {"tier": "KA", "csm_level": "senior", "accounts_per_csm": 10,
         "cadence_en": "Weekly contact, monthly on-site visit", "cadence_zh": "每周联系，每月上门拜访"},
        {"tier": "standard", "csm_level": "experienced", "accounts_per_csm": 40,
         "cadence_en": "Contact every two weeks, quarterly visit", "cadence_zh": "每两周联系，每季度拜访"},
        {"tier": "small", "csm_level": "ordinary", "accounts_per_csm": 120,
         "cadence_en": "Monthly contact", "cadence_zh": "每月联系"},
        {"tier": "micro", "csm_level": "ordinary", "accounts_per_csm": 1000,
         "cadence_en": "Batch maintenance through the back end", "cadence_zh": "后台批量维护"},
    ], "Service model of each tier: CSM level, contact cadence (English, Chinese) and accounts one CSM looks after."),
    Setting("tiers.csm_headcount", {}, "CSMs per level (senior, experienced, ordinary) the workload plans with; a "
            "level not set here counts the active CSMs of the team list."),
    Setting("company.stage", "growing", "The business stage: 'starting', 'growing' or 'mature'; choosing it proposes "
            "defaults for the other settings."),
    Setting("company.product_weight", "light", "The product's weight: 'light' (tool-type: small customers, short "
            "sales cycle, online customer success) or 'heavy' (management-type: large customers, long sales cycle, "
            "offline customer success); choosing it proposes defaults for the other settings."),
    Setting("import.max_upload_mb", 200, "Largest file the data page accepts, in MB; the server's OPS_IMPORT_MAX_MB, "
            "when set, is a cap this setting cannot exceed."),
    Setting("events.effective_lead_standard",
            {"title_levels": ["manager", "director", "executive"], "min_company_size": 100, "industries": [],
             "budget_confirmed": False},
            "Effective-lead standard: title levels, minimum company size, target industries (empty: any) and "
            "whether a confirmed budget is required; every event count and export follows it."),
    Setting("feedback.sla_first_response_hours", {
        "KA": {"critical": 2, "high": 4, "medium": 8, "low": 24},
        "standard": {"critical": 4, "high": 8, "medium": 24, "low": 48},
        "small": {"critical": 8, "high": 24, "medium": 48, "low": 72},
        "micro": {"critical": 12, "high": 24, "medium": 48, "low": 72},
    }, "Feedback first-response target in hours, by customer tier and severity. Hours count only working time: "
       "the working hours of each working day of the working calendar (settings feedback.sla_work_hours, "
       "feedback.sla_china_holidays, feedback.sla_holidays, feedback.sla_workdays)."),
    Setting("feedback.sla_resolution_hours", {
        "KA": {"critical": 24, "high": 72, "medium": 168, "low": 336},
        "standard": {"critical": 48, "high": 120, "medium": 240, "low": 480},
        "small": {"critical": 72, "high": 168, "medium": 336, "low": 600},
        "micro": {"critical": 120, "high": 240, "medium": 480, "low": 720},
    }, "Feedback resolution target in hours, by customer tier and severity, on the same clock as the first response."),
    Setting("feedback.sla_work_hours", {"start": "00:00", "end": "24:00"},
            "Working hours of a working day (HH:MM to HH:MM) during which the feedback service clocks run; "
            "00:00 to 24:00 counts the whole day."),
    Setting("feedback.sla_china_holidays", True,
            "Follow China's public holiday schedule: its days off stop the service clocks and the weekend days "
            "worked in their place (make-up workdays) count, as recorded by the holidays package."),
    Setting("feedback.sla_holidays", [], "The company's extra days off (YYYY-MM-DD): the feedback service clocks "
            "stop, as on a weekend."),
    Setting("feedback.sla_workdays", [], "The company's extra days worked (YYYY-MM-DD), for example a Saturday: the "
            "feedback service clocks run, as on a weekday."),
    Setting("feedback.group_threshold", 0.25,
            "Similarity (cosine, 0-1) at or above which a feedback text joins a group of FAQ candidates or is "
            "offered as a possible duplicate."),
    Setting("feedback.suggest_min_labelled", 30,
            "Confirmed feedback items needed before a classifier learned from them refines the keyword type suggestion."),
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


def setting_default(key: str) -> Any:
    try:
        return SETTINGS_BY_KEY[key].default
    except KeyError:
        raise KeyError(f"unknown setting '{key}'") from None
