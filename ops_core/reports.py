"""Weekly and monthly reports: one for executives, one for product and R&D, as Markdown and HTML.

Executive: every level-1 metric against its target with its status and change, then the three
biggest movers (largest change against the previous period: percentage points for rates,
relative growth for amounts) and, for each, the segment that contributed most to the move
(``metrics.breakdown`` over industry, region, product line and tier). Product and R&D: usage and
adoption, feedback by type (bugs first), and the demands shipped in the period.

Reports carry no personal data: no customer, contact or user appears in them, only metrics and
segments. The HTML is one self-contained file; its charts are inline SVG (no script, no network).

    python -m ops_core.reports --kind executive|product --grain week|month --period 2026-10 --format md|html --output FILE [--lang en|zh]
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, func, select

from ops_core import charts, indicators, metrics, present
from ops_core.db.models import TABLES
from ops_core.db.queries import frame_of
from ops_core.errors import UsageError
from ops_core.filters import Filters
from ops_core.i18n import LANGUAGES, clauses, label, t
from ops_core.periods import Period, parse_period, previous
from ops_core.present import segment_label
from ops_core.vocab import DemandSource, FeedbackType, Grain

MOVER_SEGMENTS = ("industry", "region", "product_line", "tier")
KINDS = ("executive", "product")
USAGE_KEYS = ("active_accounts", "activity_rate", "stickiness", "dau", "period_active_users", "feature_adoption",
              "new_users", "page_views", "unique_visitors")

feedback = TABLES["feedback"]
demands = TABLES["demands"]
releases = TABLES["releases"]


def target_basis(metric: metrics.Metric, basis: str, monthly: float | None, grain: Grain | str, lang: str = "en") -> str:
    """Where a period's target comes from, in words: set for the period, the metric's default, or the
    monthly target restated for a week or quarter by the metric's rule (shown beside the target)."""
    grain = Grain(grain)
    if basis == "monthly" and monthly is not None and not pd.isna(monthly):
        n = "3" if grain is Grain.quarter else "12/52"
        rule = t(f"ind.compounding.{metric.compounding.value}", lang, n=n)
        return t("ind.basis.monthly", lang, monthly=format_value(metric, float(monthly), lang), rule=rule)
    return t(f"ind.basis.{basis}", lang)


def format_value(metric: metrics.Metric, value: float | None, lang: str = "en") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return t("report.na", lang)
    if metric.unit is metrics.Unit.ratio:
        return f"{value:.1%}"
    if metric.unit is metrics.Unit.cents:
        return f"¥{value / 100:,.0f}"
    if metric.unit is metrics.Unit.number:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def tile_value(metric: metrics.Metric, value: float | None, lang: str = "en") -> str:
    """A value as a metric tile shows it: money compact (¥10.69B, ¥106.85亿: a tile is too narrow for
    ¥10,685,230,123, which it cut to "¥10,685,23…"), everything else as ``format_value``; the tile's help
    gives the exact figure."""
    if metric.unit is metrics.Unit.cents and not present.missing(value):
        return present.money(value, lang)
    return format_value(metric, value, lang)


def format_change(metric: metrics.Metric, change: float | None, lang: str = "en") -> str:
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return t("report.na", lang)
    if metric.unit is metrics.Unit.ratio:
        return t("report.points", lang, value=_signed(change * 100, ".1f"))
    return _signed(change * 100, ".1f") + "%"


def _signed(value: float, spec: str) -> str:
    """A change with its sign, and none when it rounds to nothing (0.0, never -0.0 or +0.0)."""
    shown = format(value, spec)
    return shown.lstrip("-") if float(shown) == 0 else format(value, "+" + spec)


def format_difference(metric: metrics.Metric, amount: float | None, lang: str = "en") -> str:
    """A difference between two values of ``metric``, signed: points for a rate, the metric's own unit otherwise."""
    if metric.unit is metrics.Unit.ratio:
        return format_change(metric, amount, lang)
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return t("report.na", lang)
    return ("-" if amount < 0 else "+") + format_value(metric, abs(amount), lang)


def formatted(keys: Iterable[str], values: Iterable[float | None], how: Callable[..., str] = format_value,
              lang: str = "en") -> list[str]:
    """Each value written by ``how`` for its own metric (``keys`` names the metric of each value)."""
    return [how(metrics.BY_KEY[k], v, lang) for k, v in zip(keys, values, strict=True)]


def status_label(status: str, lang: str = "en") -> str:
    """A scorecard status (green / amber / red / n/a / no target) in the reader's language."""
    return t(f"status.{status}", lang)


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...] = ()
    table: pd.DataFrame | None = None
    charts: tuple[tuple[str, tuple[float, ...], bool], ...] = ()  # (caption, values, is a rate) drawn as bars in HTML


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str
    sections: tuple[Section, ...] = field(default=())
    lang: str = "en"

    def to_markdown(self) -> str:
        out = [f"# {self.title}", "", self.subtitle, ""]
        for section in self.sections:
            out += [f"## {section.title}", ""]
            out += [*section.lines, ""] if section.lines else []
            if section.table is not None and len(section.table):
                out += [_markdown_table(section.table), ""]
        return "\n".join(out)

    def to_html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>", f"<p>{inline_html(self.subtitle)}</p>"]
        for section in self.sections:
            body.append(f"<h2>{html.escape(section.title)}</h2>")
            body += lines_html(section.lines)
            if section.table is not None and len(section.table):
                body.append(section.table.to_html(index=False, escape=True, border=0, classes="report"))
            for caption, values, rate in section.charts:
                body.append(f"<figure>{bar_chart_svg(values, from_data=rate)}<figcaption>{html.escape(caption)}</figcaption></figure>")
        style = ("body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;color:#222}"
                 "table.report{border-collapse:collapse}table.report td,table.report th{padding:4px 10px;"
                 "border-bottom:1px solid #ddd;text-align:left}figure{display:inline-block;margin:0 1.5em 1em 0}"
                 "figcaption{font-size:12px;color:#555}")
        return (f"<!DOCTYPE html><html lang=\"{'zh-CN' if self.lang == 'zh' else 'en'}\"><head><meta charset=\"utf-8\"><title>{html.escape(self.title)}</title>"
                f"<style>{style}</style></head><body>{''.join(body)}</body></html>")


_STRONG = re.compile(r"\*\*(.+?)\*\*")


def inline_html(text: str) -> str:
    """One line of the report's Markdown as HTML: escaped, with its **bold** spans rendered."""
    return _STRONG.sub(r"<strong>\1</strong>", html.escape(text))


def lines_html(lines: Sequence[str]) -> list[str]:
    """A section's lines as HTML: runs of "- " items become one list, other lines paragraphs."""
    out: list[str] = []
    items: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("- "):
            items.append(f"<li>{inline_html(line[2:])}</li>")
            continue
        if items:
            out.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if line:
            out.append(f"<p>{inline_html(line)}</p>")
    return out


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def bar_chart_svg(values: Sequence[float], width: int = 240, height: int = 60, *, from_data: bool = False) -> str:
    """A small bar chart of a metric's trend, as inline SVG (n/a periods leave a gap). ``from_data``
    (rates): the bars rise from just below the lowest value (charts.value_domain), not from zero, so a
    rate moving between 97 % and 100 % does not look flat."""
    known = [v for v in values if v is not None and not math.isnan(v)]
    if not known:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>'
    domain = charts.value_domain(known) if from_data else None
    low, high = (domain[0], max(known)) if domain else (min(0.0, min(known)), max(known))
    span = (high - low) or 1.0
    step = width / max(len(values), 1)
    bars = []
    for i, v in enumerate(values):
        if v is None or math.isnan(v):
            continue
        top = height - (v - low) / span * (height - 2)
        zero = height - (min(max(0.0, low), high) - low) / span * (height - 2)  # the base: zero, or the axis floor
        y, h = min(top, zero), max(abs(zero - top), 1.0)
        colour = "#4c78a8" if i < len(values) - 1 else "#f58518"
        bars.append(f'<rect x="{i * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{colour}"/>')
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">{"".join(bars)}</svg>'


# --- executive -------------------------------------------------------------------------------------


def biggest_movers(card: pd.DataFrame, count: int = 3) -> pd.DataFrame:
    """The level-1 rows of a scorecard with the largest |change| against the previous period."""
    level1 = card[(card["level"] == 1) & card["change"].notna()]
    return level1.reindex(level1["change"].abs().sort_values(ascending=False).index).head(count)


def mover_lines(conn: Connection, movers: pd.DataFrame, grain: Grain, period: Period, filters: Filters | None,
                as_of: dt.date | None, lang: str = "en") -> list[str]:
    """One sentence per mover: how far it moved and the segment that contributed most to the move.

    The segment named is the one with the largest contribution in the direction of the change (a
    segment that moved against it explains nothing of it), over every segment kind; each kind is
    aggregated once for both periods and serves every mover; a kind with a single value (every
    customer "unscored", say) explains nothing and is skipped. Segments are named by their labels
    in the reader's language."""
    before = previous(period)
    span = [before, period]
    direction = dict(zip(movers["metric"], movers["change"], strict=True))
    best: dict[str, tuple[float, str, str, float]] = {}  # metric -> contribution, kind, segment, share
    for kind in MOVER_SEGMENTS:
        parts = metrics.wide_values(conn, span, filters, kind, as_of)
        if parts["segment"].nunique() < 2:
            continue
        for key in movers["metric"]:
            split = metrics.contributions(metrics.BY_KEY[key], parts, before.start, period.start)
            top = metrics.leading_segment(split, direction.get(key))
            if top is None:
                continue
            if key not in best or abs(top["contribution"]) > abs(best[key][0]):
                best[key] = (float(top["contribution"]), kind, str(top["segment"]), float(top["share_of_change"]))
    lines = []
    for row in movers.itertuples():
        metric = metrics.BY_KEY[row.metric]
        found = best.get(row.metric)
        if found is None:
            behind = t("report.no_segment", lang)
        else:
            amount, kind, segment, share = found
            offset = t("report.offset", lang) if not math.isnan(share) and share > 1 else ""
            behind = t("report.largest", lang, kind=t(f"ind.segment.{kind}", lang), segment=segment_label(kind, segment, lang),
                       size=format_difference(metric, amount, lang), offset=offset)
        lines.append("- " + t("report.mover", lang, metric=metric.name(lang), value=format_value(metric, row.value, lang),
                              change=format_change(metric, row.change, lang), previous=before.label, behind=behind))
    return lines


def _card_table(card: pd.DataFrame, period: Period, lang: str) -> pd.DataFrame:
    """The scorecard as a report's table; a value still to come says on which day (as the page's tile)."""
    keys = card["metric"]
    pending = [indicators.pending_until(k, v, period.end) for k, v in zip(keys, card["value"], strict=True)]
    return pd.DataFrame({
        t("ind.metric", lang): [metrics.BY_KEY[k].name(lang) for k in keys],
        t("ind.value", lang): formatted(keys, card["value"], lang=lang),
        t("ind.target", lang): formatted(keys, card["target"], lang=lang),
        t("ind.status", lang): [t("ind.judged_on", lang, day=day.isoformat()) if day else status_label(s, lang)
                                for s, day in zip(card["status"], pending, strict=True)],
        t("ind.change", lang): formatted(keys, card["change"], format_change, lang),
        t("ind.yoy", lang): formatted(keys, card["yoy_change"], format_change, lang)})


def _trends(card: pd.DataFrame, lang: str) -> tuple[tuple[str, tuple[float, ...], bool], ...]:
    """Each metric's trend for the report's small charts: its name, its values, whether it is a rate."""
    return tuple((metrics.BY_KEY[r.metric].name(lang), tuple(r.trend), metrics.BY_KEY[r.metric].unit is metrics.Unit.ratio)
                 for r in card.itertuples())


def _subtitle(period: Period, filters: Filters | None, lang: str) -> str:
    """The report's period and whose customers it covers; the view's date range is left out, as the
    period sets the report's days."""
    span = t("report.span", lang, start=f"{period.start:%Y-%m-%d}", end=f"{period.end:%Y-%m-%d}")
    whose = filters.describe(lang, dates=False) if filters is not None else t("filters.all", lang)
    return clauses([span, t("report.whose", lang, customers=whose)], lang)


def executive_report(conn: Connection, grain: Grain | str, period: Period | str, filters: Filters | None = None,
                     as_of: dt.date | None = None, lang: str = "en") -> Report:
    grain = Grain(grain)
    chosen = parse_period(period, grain) if isinstance(period, str) else period
    card = metrics.scorecard(conn, grain, chosen, filters, as_of, keys=[m.key for m in metrics.LEVEL1])
    movers = biggest_movers(card)
    return Report(
        t(f"report.title.executive.{grain.value}", lang, period=chosen.label), _subtitle(chosen, filters, lang),
        (Section(t("report.core", lang), table=_card_table(card, chosen, lang),
                 charts=_trends(card, lang)),
         Section(t("report.movers", lang), tuple(mover_lines(conn, movers, grain, chosen, filters, as_of, lang))
                 or ("- " + t("report.no_movers", lang),))),
        lang)


# --- product and R&D ---------------------------------------------------------------------------------


def feedback_by_type(conn: Connection, period: Period, filters: Filters | None = None) -> pd.DataFrame:
    """Feedback received in the period by confirmed type (untriaged as 'untriaged'), bugs first."""
    customers = TABLES["customers"]
    kind = func.coalesce(feedback.c.type, "untriaged").label("type")
    query = (select(kind, func.count().label("items"))
             .select_from(feedback.join(customers, customers.c.id == feedback.c.customer_id))
             .where(feedback.c.received_at >= dt.datetime.combine(period.start, dt.time()),
                    feedback.c.received_at < dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time()))
             .group_by(kind))
    if filters is not None:
        query = query.where(filters.customer_clause(customers))
    frame = frame_of(conn.execute(query).all(), columns=["type", "items"])
    frame["order"] = (frame["type"] != "bug").astype(int)
    return frame.sort_values(["order", "items"], ascending=[True, False]).drop(columns="order").reset_index(drop=True)


def demands_shipped(conn: Connection, period: Period) -> pd.DataFrame:
    """Demands released in a release dated inside the period: release, title, source."""
    rows = conn.execute(
        select(releases.c.version_label, releases.c.release_date, demands.c.title, demands.c.source)
        .select_from(demands.join(releases, releases.c.id == demands.c.target_release_id))
        .where(demands.c.status == "released", releases.c.release_date >= period.start,
               releases.c.release_date <= period.end)
        .order_by(releases.c.release_date, demands.c.id)).all()
    return frame_of(rows, columns=["release", "date", "title", "source"])


def product_report(conn: Connection, grain: Grain | str, period: Period | str, filters: Filters | None = None,
                   as_of: dt.date | None = None, lang: str = "en") -> Report:
    grain = Grain(grain)
    chosen = parse_period(period, grain) if isinstance(period, str) else period
    card = metrics.scorecard(conn, grain, chosen, filters, as_of, keys=USAGE_KEYS)
    by_type = feedback_by_type(conn, chosen, filters)
    shipped = demands_shipped(conn, chosen)
    bugs = int(by_type.loc[by_type["type"] == "bug", "items"].sum())
    types = pd.DataFrame({
        t("f.col.type", lang): [t("col.untriaged", lang) if v == "untriaged" else label(FeedbackType, v, lang)
                                for v in by_type["type"]],
        t("f.items", lang): by_type["items"].to_numpy()})
    released = pd.DataFrame({
        t("d.col.target_release", lang): shipped["release"].to_numpy(), t("d.release_date", lang): shipped["date"].astype(str).to_numpy(),
        t("d.col.title", lang): shipped["title"].to_numpy(),
        t("d.col.source", lang): [label(DemandSource, v, lang) for v in shipped["source"]]})
    return Report(
        t(f"report.title.product.{grain.value}", lang, period=chosen.label), _subtitle(chosen, filters, lang),
        (Section(t("report.usage", lang), table=_card_table(card, chosen, lang),
                 charts=_trends(card, lang)),
         Section(t("report.feedback", lang), ("- " + t("report.feedback_count", lang, items=int(by_type["items"].sum()), bugs=bugs),),
                 types),
         Section(t("report.shipped", lang), ("- " + t("report.shipped_count", lang, demands=len(shipped),
                                                       releases=int(shipped["release"].nunique())),), released)),
        lang)


def build(conn: Connection, kind: str, grain: Grain | str, period: Period | str, filters: Filters | None = None,
          as_of: dt.date | None = None, lang: str = "en") -> Report:
    if kind == "executive":
        return executive_report(conn, grain, period, filters, as_of, lang)
    if kind == "product":
        return product_report(conn, grain, period, filters, as_of, lang)
    raise UsageError(f"unknown report '{kind}'; choose one of {', '.join(KINDS)}")


def main(argv: list[str] | None = None) -> int:
    from ops_core import cli

    parser = argparse.ArgumentParser(prog="python -m ops_core.reports", description="Write the weekly or monthly report.")
    parser.add_argument("--kind", choices=KINDS, default="executive")
    parser.add_argument("--grain", choices=[g.value for g in Grain], default="month")
    parser.add_argument("--period", required=True, help="e.g. 2026-10 (month) or 2026-W42 (week)")
    parser.add_argument("--format", choices=["md", "html"], default="md")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--lang", choices=list(LANGUAGES), default="en", help="the report's language: en or zh (简体中文)")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)

    def body() -> int:
        from ops_core.config import redact_url

        period = parse_period(args.period, args.grain)
        if not args.output.parent.is_dir():
            raise UsageError(f"cannot write '{args.output}': the folder {args.output.parent} does not exist")
        with cli.open_store(args.database_url) as engine, engine.connect() as conn:
            report = build(conn, args.kind, args.grain, period, lang=args.lang)
            text = report.to_html() if args.format == "html" else report.to_markdown()
            args.output.write_text(text, encoding="utf-8")
            print(f"wrote {report.title} to {args.output} from {redact_url(engine.url)}")
        return 0

    return cli.run(body, args.output)


if __name__ == "__main__":
    from ops_core.cli import run_module

    run_module("ops_core.reports")
