"""The presentation layer: what a person reads instead of what the store holds.

One declared catalogue says, for every stored column name a table, chart or file may carry, what kind
of value it holds (money in cents, a rate, a vocabulary code, a date, a count, text) and which
translation key names it. ``frame`` turns a stored frame into the one a person reads, in the chosen
language: yuan instead of cents, percentages as ratios with a percent format, labels instead of
codes, translated headers, empty cells instead of "None", internal ids dropped. It also returns each
shown column's ``Format``, from which the UI builds its column configuration and the Excel writer
its number formats (``Format.excel``). Tables, charts, metrics and exported files all go through
here; nothing else divides by 100 or looks up a vocabulary label.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from ops_core import vocab
from ops_core.i18n import TEXT, label, t


class Kind(StrEnum):
    """What a stored value is, which decides how a person reads it."""

    money = "money"            # cents in the store, yuan on screen and in files
    yuan = "yuan"              # already yuan (a computed amount)
    percent = "percent"        # a ratio (0.25), shown as 25 %
    vocabulary = "vocabulary"  # a code, shown by its label
    date = "date"
    datetime = "datetime"
    count = "count"            # a whole number
    number_of = "number_of"    # a record's number (#1021): whole, never thousands-separated
    number = "number"          # a measured number (scores, hours, days)
    text = "text"              # data as entered


# The accounts the tool acts as itself (writes.LOCAL_ADMIN, writes.SYSTEM), named in words; a person's
# user name is shown as it is.
ACTOR = "actor."

# A vocabulary: a closed enum (labels ``<enum>.<value>``) or a translation-key prefix (``risk.`` + value).
Vocabulary = type[StrEnum] | str


@dataclass(frozen=True)
class Column:
    """One stored column: its header's translation key, its kind, and for codes their vocabulary."""

    header: str
    kind: Kind = Kind.text
    vocabulary: Vocabulary | None = None
    decimals: int | None = None   # shown digits after the point (None: the kind's default)
    many: bool = False            # a comma-separated list of codes (``missing_roles``)
    words: tuple[str, str] | None = None  # the header in English and Chinese, for names the table holds
    #                                      (a value dimension's), instead of the translation key ``header``


@dataclass(frozen=True)
class Format:
    """How a shown column's numbers are written: the UI's column format and Excel's number format."""

    kind: Kind
    decimals: int

    @property
    def excel(self) -> str | None:
        """The Excel number format of the column's cells (None: Excel's general format)."""
        if self.kind in (Kind.money, Kind.yuan):
            return "#,##0" + ("." + "0" * self.decimals if self.decimals else "")
        if self.kind == Kind.percent:
            return "0" + ("." + "0" * self.decimals if self.decimals else "") + "%"
        if self.kind == Kind.count:
            return "#,##0"
        if self.kind == Kind.number_of:
            return "0"
        if self.kind == Kind.number:
            return "#,##0" + ("." + "0" * self.decimals if self.decimals else "")
        if self.kind == Kind.date:
            return "yyyy-mm-dd"
        if self.kind == Kind.datetime:
            return "yyyy-mm-dd hh:mm"
        return None

    @property
    def printf(self) -> str | None:
        """A printf-style format for on-screen number columns, thousands separated and every row with
        the same decimals (yuan to the fen, counts whole); None: the UI's own choice for the kind."""
        if self.kind in (Kind.money, Kind.yuan, Kind.number):
            return f"%,.{self.decimals}f"
        if self.kind == Kind.count:
            return "%,d"
        if self.kind == Kind.number_of:
            return "%d"
        return None


DEFAULT_DECIMALS = {Kind.money: 2, Kind.yuan: 2, Kind.percent: 1, Kind.number: 1, Kind.count: 0, Kind.number_of: 0}

M, Y, P, V, D, DT, C, N, T = (Kind.money, Kind.yuan, Kind.percent, Kind.vocabulary, Kind.date, Kind.datetime,
                              Kind.count, Kind.number, Kind.text)

# Tier names are a setting: the default names (KA / standard / small / micro) have labels ``tier.<name>``,
# a name the user typed has none and is shown as entered.
TIER = "tier."

# Internal ids never reach a person: dropped from every shown frame.
HIDDEN: frozenset[str] = frozenset({
    "customer_id", "contract_id", "csm_id", "contact_id", "event_id", "release_id", "feedback_id", "target_id",
    "target_version", "version", "usage_recent", "usage_baseline", "has_user", "has_boss", "has_veto_head",
    "tier_rank", "importance_rank", "kept", "csm_email", "entity_id",
})

# The catalogue: every stored column name a person may see, declared once.
CATALOGUE: dict[str, Column] = {
    # money (cents in the store)
    "arr_cents": Column("col.arr", M),
    "start_mrr": Column("col.start_mrr", M),
    "end_mrr": Column("col.end_mrr", M),
    "change": Column("col.change", M),
    "mrr_cents": Column("col.mrr", M),
    "amount_cents": Column("col.amount_cents", M),
    "revenue_at_risk_cents": Column("col.revenue_at_risk_cents", M),
    "overdue_cents": Column("col.overdue_cents", M),
    "monetary_cents": Column("col.monetary_cents", M),
    "cost_cents": Column("col.cost_cents", M),
    "budget_cents": Column("col.budget_cents", M),
    "variance_cents": Column("col.variance_cents", M),
    "attributed_revenue_cents": Column("col.attributed_revenue_cents", M),
    "pipeline_cents": Column("col.pipeline_cents", M),
    "revenue_cents": Column("col.revenue_cents", M),
    "cost_per_lead": Column("col.cost_per_lead", M),
    "cost_per_effective_lead": Column("col.cost_per_effective_lead", M),
    "cost_per_opportunity": Column("col.cost_per_opportunity", M),
    "cost_per_conversion": Column("col.cost_per_conversion", M),
    "cost_per_lead_cents": Column("col.cost_per_lead", M),
    "cost_per_effective_lead_cents": Column("col.cost_per_effective_lead", M),
    "cost_per_opportunity_cents": Column("col.cost_per_opportunity", M),
    "cost_per_conversion_cents": Column("col.cost_per_conversion", M),
    "contract_value_cents": Column("col.contract_value_cents", M),
    "gross_profit_cents": Column("col.gross_profit_cents", M),
    # rates and shares (ratios)
    "share": Column("col.share", P),
    "rate_from_previous": Column("col.rate_from_previous", P),
    "rate_from_top": Column("col.rate_from_top", P),
    "effective_rate": Column("col.effective_rate", P),
    "usage_decline": Column("col.usage_decline", P),
    "first_response_met_share": Column("col.first_response_met_share", P),
    "resolution_met_share": Column("col.resolution_met_share", P),
    "roi": Column("col.roi", P),
    "pipeline_roi": Column("col.pipeline_roi", P),
    "roi_first": Column("col.roi_first", P),
    "roi_last": Column("col.roi_last", P),
    "roi_linear": Column("col.roi_linear", P),
    "roi_u": Column("col.roi_u", P),
    "roi_w": Column("col.roi_w", P),
    "roi_decay": Column("col.roi_decay", P),
    "weight_share": Column("col.weight", P),
    "confidence": Column("col.confidence", P),
    # vocabularies
    "industry": Column("col.industry", V, vocab.Industry),
    "region": Column("col.region", V, vocab.Region),
    "size_band": Column("col.size_band", V, vocab.SizeBand),
    "company_size": Column("col.size_band", V, vocab.SizeBand),
    "demand_type": Column("col.demand_type", V, vocab.DemandType),
    "partnership_level": Column("col.partnership_level", V, vocab.PartnershipLevel),
    "format": Column("col.format", V, vocab.EventFormat),
    "kind": Column("col.kind", V, vocab.EventKind),
    "organisation": Column("col.organisation", V, vocab.EventOrganisation),
    "category": Column("col.category", V, vocab.CostCategory),
    "channel": Column("col.channel", V, vocab.FeedbackChannel),
    "type": Column("col.type", V, vocab.FeedbackType),
    "suggested_type": Column("col.suggested_type", V, vocab.FeedbackType),
    "keyword_type": Column("col.suggested_type", V, vocab.FeedbackType),
    "severity": Column("col.severity", V, vocab.Severity),
    "importance": Column("col.importance", V, vocab.Importance),
    "product_area": Column("col.product_area", V, vocab.ProductArea),
    "source": Column("col.source", V, vocab.DemandSource),
    "status": Column("col.status", V, vocab.FeedbackStatus),  # a page names DemandStatus where it means it
    "from_status": Column("col.from_status", V, vocab.FeedbackStatus),
    "to_status": Column("col.to_status", V, vocab.FeedbackStatus),
    "product_line": Column("col.product_line", V, vocab.ProductLine),
    "csm_level": Column("col.csm_level", V, vocab.CsmLevel),
    "role": Column("col.role", V, vocab.ContactRole),
    "key_contact_role": Column("col.key_contact_role", V, vocab.ContactRole),
    "missing_roles": Column("col.missing_roles", V, vocab.ContactRole, many=True),
    "title_level": Column("col.title_level", V, vocab.TitleLevel),
    "risk_level": Column("col.risk_level", V, "risk."),
    "reason": Column("col.reason", V, "action."),
    "state": Column("col.state", V, "catalogue."),
    "goal": Column("col.goal", V, "goal."),
    "segment": Column("col.segment", V, "rfm."),
    "section": Column("col.section", V, "section."),
    "by": Column("col.by", V, "by."),
    "model": Column("col.model", V, "model."),
    "step": Column("col.step", V, "step."),
    # dates
    "start_date": Column("col.start_date", D),
    "end_date": Column("col.end_date", D),
    "release_date": Column("col.release_date", D),
    "signed_on": Column("col.signed_on", D),
    "last_order_on": Column("col.last_order_on", D),
    "period_start": Column("col.period_start", D),
    "month": Column("col.month", D),
    "day": Column("col.day", D),
    "at": Column("col.at", DT),
    "received_at": Column("col.received_at", DT),
    "created_at": Column("col.created_at", DT),
    "informed_at": Column("col.informed_at", DT),
    "released_at": Column("col.released_at", DT),
    "updated_at": Column("col.updated_at", DT),
    # counts
    "customers": Column("col.customers", C),
    "accounts": Column("col.accounts", C),
    "items": Column("col.items", C),
    "count": Column("col.count", C),
    "leads": Column("col.leads", C),
    "effective_leads": Column("col.effective_leads", C),
    "opportunities": Column("col.opportunities", C),
    "conversions": Column("col.conversions", C),
    "too_early": Column("col.too_early", C),
    "feedback_items": Column("col.feedback_items", C),
    "feedback_count": Column("col.feedback_count", C),
    "demands": Column("col.demands", C),
    "frequency": Column("col.frequency", C),
    "overdue_invoices": Column("col.overdue_invoices", C),
    "overdue_max_days": Column("col.overdue_max_days", C),
    "days_to_end": Column("col.days_to_end", C),
    "recency_days": Column("col.recency_days", C),
    "priority": Column("col.priority", C),
    "rank": Column("col.rank", C),
    "rank_first": Column("col.rank_first", C),
    "rank_last": Column("col.rank_last", C),
    "rank_linear": Column("col.rank_linear", C),
    "rank_u": Column("col.rank_u", C),
    "rank_w": Column("col.rank_w", C),
    "rank_decay": Column("col.rank_decay", C),
    "level": Column("col.level", C),
    "spread": Column("col.spread", C),
    "n_user": Column("col.n_user", C),
    "n_boss": Column("col.n_boss", C),
    "n_veto_head": Column("col.n_veto_head", C),
    "n_missing": Column("col.n_missing", C),
    "accounts_per_csm": Column("col.accounts_per_csm", C),
    "csms_needed": Column("col.csms_needed", C),
    "level_headcount": Column("col.level_headcount", C),
    "allocated": Column("col.allocated", C),
    "shortfall": Column("col.shortfall", C),
    "active_accounts": Column("col.active_accounts", C),
    "page_views": Column("col.page_views", C),
    "rows": Column("col.rows", C),
    "r_score": Column("col.r_score", C),
    "f_score": Column("col.f_score", C),
    "m_score": Column("col.m_score", C),
    "target": Column("col.target", N, decimals=0),
    "actual": Column("col.actual", N, decimals=0),
    # measured numbers
    "score": Column("col.score", N),
    "risk_score": Column("col.risk_score", N),
    "normalised": Column("col.normalised", N, decimals=3),
    "points": Column("col.points", N, decimals=2),
    "age_days": Column("col.age_days", N),
    "median_days_to_conversion": Column("col.median_days_to_conversion", N),
    "first_response_median_h": Column("col.first_response_median_h", N),
    "first_response_p90_h": Column("col.first_response_p90_h", N),
    "resolution_median_h": Column("col.resolution_median_h", N),
    "resolution_p90_h": Column("col.resolution_p90_h", N),
    "effort_days": Column("col.effort_days", N),
    # text (data as entered)
    "code": Column("col.code", T),
    "customer_code": Column("col.customer_code", T),
    "name": Column("col.name", T),
    "customer_name": Column("col.customer_name", T),
    "customer": Column("col.customer_name", T),
    "customer_names": Column("col.customer_names", T),
    "representative": Column("col.representative", T),
    "csm_name": Column("col.csm", T),
    "csm": Column("col.csm", T),
    "tier": Column("col.tier", V, TIER),
    "from": Column("col.from", V, TIER),
    "to": Column("col.to", V, TIER),
    "product_lines": Column("col.product_lines", V, vocab.ProductLine, many=True),
    "owner": Column("col.owner", T),
    "team": Column("col.team", T),
    "actor": Column("col.actor", Kind.vocabulary, ACTOR),
    "note": Column("col.note", T),
    "detail": Column("col.detail", T),
    "title": Column("col.title", T),
    "text": Column("col.text", T),
    "question": Column("col.question", T),
    "answer": Column("col.answer", T),
    "event": Column("col.event", T),
    "contract_code": Column("col.contract_code", T),
    "renewal_code": Column("col.renewal_code", T),
    "renewal_arr_cents": Column("col.renewal_arr", M),
    "arr_change_cents": Column("col.arr_change", M),
    "outcome": Column("col.renewal_outcome", V, "drill.outcome."),  # drill.renewals: how a contract renewed
    "last_active": Column("col.last_active", D),
    "version_label": Column("col.version_label", T),
    "key_contact": Column("col.key_contact", T),
    "key_contact_title": Column("col.key_contact_title", T),
    "key_contact_phone": Column("col.key_contact_phone", T),
    "key_contact_email": Column("col.key_contact_email", T),
    "location": Column("col.location", T),
    "purposes": Column("col.purposes", T),
    "group": Column("col.group", T),
    "dimension": Column("col.dimension", T),
    "raw": Column("col.raw", T),
    "table": Column("col.table", T),
    "action": Column("col.action", V, "audit.action."),  # the audit log's kinds of change (writes.audit)
    "entity": Column("col.entity", V, "table."),          # the audit log's tables, by their names
    "metric": Column("ind.metric", T),
    "key": Column("col.metric_key", T),
    "parent": Column("col.parent", T),
    "definition": Column("col.definition", T),
    "formula": Column("col.formula", T),
    "unit": Column("col.unit", V, "unit_name."),
    "direction": Column("col.direction", V, "direction."),
    "default_target": Column("col.default_target", T),
    "updated_by": Column("col.updated_by", Kind.vocabulary, ACTOR),
    "answered": Column("col.answered", T),
    "faq_id": Column("col.faq_id", T),
    "demand_id": Column("d.col.demand_id", T),
    "cadence": Column("col.cadence", T),
    "key_contact_change": Column("col.key_contact_change", T),
    "competitor_price_cut": Column("col.competitor_price_cut", T),
    "usage_drop": Column("col.usage_drop", T),
}


def column(name: str) -> Column | None:
    """The catalogue's entry for a stored column name (``None`` for a name it does not know)."""
    return CATALOGUE.get(name)


# --- single values -------------------------------------------------------------------------------


def missing(value: Any) -> bool:
    """None, NaN, NA and NaT: shown as an empty cell."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or bool(pd.isna(value) is True)
    except (TypeError, ValueError):
        return False


def label_of(value: Any, vocabulary: Vocabulary, lang: str) -> str:
    """A code as a person reads it: its label in ``lang``; an unknown code is shown as stored."""
    if missing(value):
        return ""
    if isinstance(vocabulary, str):
        key = f"{vocabulary}{value}"
        return t(key, lang) if key in TEXT else str(value)
    return label(vocabulary, str(value), lang)


# --- notes the tool writes into a history --------------------------------------------------------
# A triage, a routing, a release or a merge leaves a note in the feedback or demand history. It is
# stored as "@kind:argument" (``history_note_code``) and read in the reader's language here; a note a
# person typed is text as entered. Stores written before keep English sentences, read the same way.
_NOTE_PATTERNS = (("created", re.compile(r"^created$")), ("triaged", re.compile(r"^triaged as (\S+)$")), ("merged", re.compile(r"^merged into demand (\d+)$")),
                  ("released", re.compile(r"^released in (.+)$")), ("duplicate", re.compile(r"^duplicate of demand (\d+)$")))


def history_note_code(kind: str, *arguments: object) -> str:
    """The stored form of a note the tool writes (``kind`` is one of the ``note.<kind>`` texts)."""
    assert f"note.{kind}" in TEXT, kind
    return f"@{kind}:" + ",".join(str(a) for a in arguments)


def history_note(note: Any, lang: str) -> str:
    """A history note as a person reads it: the tool's own notes in ``lang`` (types, severities and areas
    by their labels), a typed note as entered."""
    if missing(note):
        return ""
    text = str(note)
    kind, arguments = None, []
    if text.startswith("@") and ":" in text:
        kind, rest = text[1:].split(":", 1)
        arguments = rest.split(",") if kind in ("triaged", "retriaged") else [rest]
    else:
        for name, pattern in _NOTE_PATTERNS:
            found = pattern.match(text)
            if found:
                kind, arguments = name, list(found.groups())
                break
    if kind is None or f"note.{kind}" not in TEXT:
        return text
    if kind in ("triaged", "retriaged"):
        vocabularies = (vocab.FeedbackType, vocab.Severity, vocab.ProductArea)
        shown = " · ".join(label_of(a, v, lang) for a, v in zip(arguments, vocabularies, strict=False) if a)
        return t(f"note.{kind}", lang, what=shown)
    return t(f"note.{kind}", lang, what=arguments[0] if arguments else "")


def actor_name(username: Any, lang: str) -> str:
    """Who did something: a person by their user name, the built-in admin and the tool itself in words."""
    return label_of(username, ACTOR, lang)


def tier_label(name: Any, lang: str) -> str:
    """A tier name in the reader's language: a default name translated, a typed name as entered."""
    return label_of(name, TIER, lang)


SEGMENT_VOCABULARIES: dict[str, Vocabulary] = {
    "industry": vocab.Industry, "region": vocab.Region, "size_band": vocab.SizeBand, "product_line": vocab.ProductLine,
    "tier": TIER}


def segment_label(kind: str, value: Any, lang: str) -> str:
    """A segment of a breakdown (industry, region, size band, tier, product line, CSM) as a person
    reads it: vocabularies and default tier names translated, the no-tier and no-CSM groups named,
    data as entered."""
    if kind == "tier" and value == vocab.UNSCORED:  # no snapshot by then
        return t("ind.unscored", lang)
    if kind == "csm" and value == vocab.NO_CSM:
        return t("ind.no_csm", lang)
    vocabulary = SEGMENT_VOCABULARIES.get(kind)
    return str(value) if vocabulary is None else label_of(value, vocabulary, lang)


def labels_of(value: Any, vocabulary: Vocabulary, lang: str) -> str:
    """A comma-separated list of codes as their labels, joined the reader's way."""
    if missing(value):
        return ""
    parts = [p.strip() for p in str(value).split(",") if p.strip()]
    return ("、" if lang == "zh" else ", ").join(label_of(p, vocabulary, lang) for p in parts)


def yuan(cents: Any) -> float | None:
    """Cents as yuan (a float with the cents as decimals); None for a missing value."""
    return None if missing(cents) else float(cents) / 100


def money(cents: Any, lang: str) -> str:
    """Yuan compact enough for a metric tile: ¥49.67M in English, ¥4,967.2万 (or 亿) in Chinese; '—' if missing."""
    if missing(cents):
        return "—"
    amount = float(cents) / 100
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if lang == "zh":
        if amount >= 1e8:
            return f"{sign}¥{amount / 1e8:,.2f}亿"
        return f"{sign}¥{amount / 1e4:,.1f}万" if amount >= 1e5 else f"{sign}¥{amount:,.0f}"
    for above, size, suffix in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "K")):  # under ¥10,000 in full
        if amount >= above:
            return f"{sign}¥{amount / size:,.2f}{suffix}"
    return f"{sign}¥{amount:,.0f}"


def money_full(cents: Any) -> str:
    """Yuan with thousands separators and two decimals (``¥1,716,032.85``); '' if missing."""
    if missing(cents):
        return ""
    amount = float(cents) / 100
    return f"{'-' if amount < 0 else ''}¥{abs(amount):,.2f}"


def percent(ratio: Any, decimals: int = 1) -> str:
    """A ratio as a percentage (0.2537 -> '25.4%'); '' if missing or not finite."""
    if missing(ratio) or not math.isfinite(float(ratio)):
        return ""
    return f"{float(ratio):.{decimals}%}"


def dimension_value(unit: str, value: Any, lang: str) -> str:
    """A value dimension's raw value as a person reads it: yuan rather than cents, a growth as a
    percentage, a category by its label. ``unit`` is the dimension's (``scoring.Dimension.unit``)."""
    if missing(value):
        return t("unit.no_baseline", lang) if unit == "ratio" else "—"
    if unit == "category":
        return label(vocab.DemandType, str(value), lang)
    number = float(value)
    if unit == "cents":
        return f"{'-' if number < 0 else ''}¥{abs(number) / 100:,.0f}"
    if unit == "ratio":
        return f"{number:+.0%}"
    if unit == "share":
        return f"{number:.2f}"
    shown = f"{number:,.0f}" if unit in ("employees", "yuan_days") else f"{number:,.4g}"
    return t(f"unit.{unit}", lang, value=shown) if f"unit.{unit}" in TEXT else shown


def header(name: str, lang: str) -> str:
    """A stored column name's header in ``lang``: the catalogue's key, else ``col.<name>``, else the name."""
    spec = CATALOGUE.get(name)
    key = spec.header if spec else f"col.{name}"
    return t(key, lang) if key in TEXT else name


# --- frames ---------------------------------------------------------------------------------------


def _as_dates(series: pd.Series, with_time: bool) -> pd.Series:
    converted = pd.to_datetime(series, errors="coerce")
    if getattr(converted.dt, "tz", None) is not None:
        converted = converted.dt.tz_localize(None)
    if with_time:
        return converted.astype(object).where(converted.notna(), None)
    return pd.Series([d.date() if not pd.isna(d) else None for d in converted], index=series.index, dtype=object)


def _shown_column(series: pd.Series, spec: Column, lang: str) -> pd.Series:
    kind = spec.kind
    if kind == Kind.money:
        return pd.to_numeric(series, errors="coerce").astype("float64") / 100
    if kind in (Kind.yuan, Kind.percent, Kind.number):
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if kind in (Kind.count, Kind.number_of):
        numbers = pd.to_numeric(series, errors="coerce")
        whole = bool(numbers.dropna().mod(1).eq(0).all())
        return numbers.round().astype("Int64") if whole else numbers  # a count with a fraction stays a number
    if kind == Kind.vocabulary and spec.vocabulary is not None:
        one = labels_of if spec.many else label_of
        return series.astype(object).map(lambda v: one(v, spec.vocabulary, lang)).astype(object)
    if kind in (Kind.date, Kind.datetime):
        return _as_dates(series, kind == Kind.datetime)
    return series.astype(object).map(lambda v: _text_cell(v, lang)).astype(object)


def _text_cell(value: Any, lang: str) -> Any:
    """A text column's cell: empty when missing, yes/no for a flag, otherwise as entered."""
    if missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return t("yes" if value else "no", lang)
    return value


def frame(df: pd.DataFrame, lang: str, *, columns: Mapping[str, Column] | None = None,
          keep: Sequence[str] = ()) -> tuple[pd.DataFrame, dict[str, Format]]:
    """``df`` as a person reads it in ``lang``, and each shown column's ``Format`` by its header.

    Internal ids (``HIDDEN``) are dropped unless named in ``keep``; an index named after a stored
    column (not an id) becomes a column; every known column is converted by its kind (money in
    cents to yuan, codes to labels, dates to dates, missing text to empty) and renamed to its header
    in ``lang``. ``columns`` overrides or adds catalogue entries for this one frame (a demand's
    ``status`` is a ``DemandStatus``). Unknown columns pass through under their own name.
    """
    catalogue = CATALOGUE | dict(columns or {})
    named = df.index.name is not None and df.index.name not in HIDDEN and df.index.name not in df.columns
    out = df.reset_index(drop=not named)
    out = out[[c for c in out.columns if c not in HIDDEN or c in keep]]
    shown: dict[str, pd.Series] = {}
    formats: dict[str, Format] = {}
    for name in out.columns:
        spec = catalogue.get(str(name))
        if spec is None:
            title = header(str(name), lang)
            series = out[name]
            if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
                series = series.astype(object).map(lambda v: "" if missing(v) else v).astype(object)
            shown[title] = series
            continue
        title = (spec.words[lang == "zh"] if spec.words else t(spec.header, lang) if spec.header in TEXT
                 else str(name))
        if title in shown:  # two stored names for one header (customer / customer_name): keep the first
            continue
        shown[title] = _shown_column(out[name], spec, lang)
        decimals = spec.decimals if spec.decimals is not None else DEFAULT_DECIMALS.get(spec.kind, 0)
        if spec.kind not in (Kind.text, Kind.vocabulary):
            formats[title] = Format(spec.kind, decimals)
    return pd.DataFrame(shown, index=out.index), formats


def money_rows(df: pd.DataFrame, key: str, money_keys: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """A long table whose rows mix units (goals: counts and a revenue in cents): the ``columns`` of the
    rows whose ``key`` is one of ``money_keys`` turned from cents to yuan, the other rows as they are."""
    rows = df[key].isin(list(money_keys))
    return df.assign(**{c: pd.to_numeric(df[c], errors="coerce").astype("float64").where(~rows, df[c] / 100)
                        for c in columns if c in df.columns})


def with_vocabulary(name: str, vocabulary: Vocabulary) -> dict[str, Column]:
    """An override for ``frame``: the catalogue's column ``name`` read with another vocabulary."""
    return {name: replace(CATALOGUE[name], vocabulary=vocabulary)}


def value_labels(series: pd.Series, name: str, lang: str) -> pd.Series:
    """A column's values as shown (labels for codes, yuan for cents): for chart data and tooltips."""
    spec = CATALOGUE.get(name)
    return series if spec is None else _shown_column(series, spec, lang)


def date_text(value: Any) -> str:
    """A date as ISO text ('' if missing)."""
    if missing(value):
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
