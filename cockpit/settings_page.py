"""The settings page (admins only): every setting an admin runs the product with, each with its meaning,
default, value in force, who changed it when, a form that saves from the version it shows and a
"restore default" button; and the business stage and product weight, whose proposal is reviewed as
value in force -> proposed before it is saved.

Every save goes through ``ops_core.settings_admin`` (checked, admin only, versioned, audited); a save
from a stale view is refused with who changed the setting and the newer value (``cockpit.edits``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from cockpit import edits, ui
from ops_core import (
    alerts,
    events,
    feedback,
    importer,
    metrics,
    present,
    readers,
    setting_text,
    settings,
    settings_admin,
    tiers,
    workcal,
)
from ops_core.config import SETTINGS_BY_KEY
from ops_core.errors import UsageError
from ops_core.i18n import label
from ops_core.vocab import CsmLevel, Industry, Role, Severity, TitleLevel, values

SEVERITIES = settings_admin.SEVERITIES
HALF_HOURS = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)] + ["24:00"]
PROPOSAL_KEY = "ops_settings_proposal"


@dataclass(frozen=True)
class Page:
    store: Engine
    rows: pd.DataFrame  # settings.all_settings, indexed by key


def draw(store: Engine) -> None:
    st.title(ui.tr("nav.settings"))
    if ui.acting_user().role != Role.admin:
        st.info(ui.tr("settings.admins_only"))
        return
    st.caption(ui.tr("settings.intro"))
    ui.show_flash()
    rows = ui.cached(settings.all_settings, store).set_index("key")
    ui.lazy_tabs({"settings.tab.profile": show_profile, "settings.tab.tiers": show_tiers,
                  "settings.tab.service": show_service, "settings.tab.thresholds": show_thresholds},
                 "s_tab", Page(store, rows))


# --- how a value reads ----------------------------------------------------------------------------


def value_text(key: str, value: Any) -> str:
    """A setting's value as a person reads it, in the reader's language (ops_core.setting_text)."""
    return setting_text.value_text(key, value, ui.language())


# --- one setting ----------------------------------------------------------------------------------


def _record(key: str) -> str:
    return f"settings:{key}"


def _prefix(key: str) -> str:
    return "s_" + key.replace(".", "_") + "_"


def _fields(key: str) -> edits.Fields:
    return lambda stored: [(ui.tr(f"setting.{key}"), value_text(key, stored.get("value")))]


def block(page: Page, key: str, editor: Callable[[str, Any, Callable[[str], str]], Any]) -> None:
    """One setting: what it means, default, value in force, who changed it when; its form and "restore default".

    ``editor(key, shown value, widget key)`` draws the form's widgets and returns the value they hold
    (None: the entry is not valid; the editor has said why)."""
    row = page.rows.loc[key]
    record = _record(key)
    seen = edits.seen(record, {"value": row["value"], "version": int(row["version"])})
    default = SETTINGS_BY_KEY[key].default
    prefix = _prefix(key)
    with st.container(border=True):
        about, restore = st.columns([5, 1], vertical_alignment="top")
        about.markdown(f"**{ui.tr(f'setting.{key}')}**")
        about.caption(ui.tr(f"setting.{key}.help"))
        if restore.button(ui.tr("settings.restore"), key=f"{prefix}restore", disabled=row["value"] == default,
                          width="stretch"):
            edits.save(page.store, record, lambda s: settings_admin.restore_default(s, ui.acting_user(), key, seen["version"]),
                       "settings.restored", _fields(key), widgets=(prefix,), setting=ui.tr(f"setting.{key}"))
        about.caption(ui.tr("settings.default", value=value_text(key, default)) + "  \n"
                   + ui.tr("settings.current", value=value_text(key, row["value"])) + "  \n"
                   + (ui.tr("settings.changed", who=present.actor_name(row["updated_by"], ui.language()), when=f"{row['updated_at']:%Y-%m-%d %H:%M}")
                      if row["updated_by"] and not pd.isna(row["updated_at"]) else ui.tr("settings.never_changed")))
        edits.notice(record)
        with st.form(f"{prefix}form", border=False):
            wanted = editor(key, seen["value"], lambda name: edits.key(record, prefix + name))
            pressed = st.form_submit_button(ui.tr("settings.save"), key=f"{prefix}save")
        if pressed and wanted is not None:
            edits.save(page.store, record, lambda s: settings_admin.change(s, ui.acting_user(), key, wanted, seen["version"]),
                       "settings.saved", _fields(key), widgets=(prefix,), changed=wanted != seen["value"],
                       setting=ui.tr(f"setting.{key}"))


# --- editors: draw the widgets of one setting's form, return the value they hold -------------------


Key = Callable[[str], str]


def number(minimum: float, maximum: float, step: float, *, percent: bool = False,
           shown_as: str | None = None) -> Callable[[str, Any, Key], Any]:
    def edit(key: str, value: Any, k: Key) -> Any:
        whole = isinstance(SETTINGS_BY_KEY[key].default, int)
        shown = float(value) * 100 if percent else value
        got = st.number_input(ui.tr(f"setting.{key}") + (" (%)" if percent else ""), minimum, maximum,
                              int(shown) if whole else float(shown), int(step) if whole else step, key=k("value"),
                              format=shown_as)
        return got / 100 if percent else (int(got) if whole else float(got))
    return edit


def checkbox(key: str, value: Any, k: Key) -> Any:
    return st.checkbox(ui.tr(f"setting.{key}"), value=bool(value), key=k("value"))


def dates(key: str, value: Any, k: Key) -> Any:
    text = st.text_area(ui.tr("settings.dates"), "\n".join(map(str, value)), key=k("value"),
                        help=ui.tr("settings.dates.help"))
    days = []
    for line in text.replace(",", "\n").splitlines():
        if line.strip():
            try:
                days.append(dt.date.fromisoformat(line.strip()).isoformat())
            except ValueError:
                st.error(ui.tr("settings.bad_date", value=line.strip()))
                return None
    return sorted(set(days))


def work_hours(key: str, value: Any, k: Key) -> Any:
    left, right = st.columns(2)
    start = ui.choice(left.selectbox, ui.tr("settings.day_start"), HALF_HOURS[:-1], key=k("start"),
                      default=value.get("start", "00:00"))
    end = ui.choice(right.selectbox, ui.tr("settings.day_end"), HALF_HOURS[1:], key=k("end"), default=value.get("end", "24:00"))
    if end <= start:
        st.error(ui.tr("settings.bad_hours"))
        return None
    return {"start": start, "end": end}


def alert_rules(key: str, value: Any, k: Key) -> Any:
    """The watch list as a table a person fills in: metric, rule, threshold (pp of a rate, % of an amount),
    compared with, per segment; a row left without a metric is dropped. None (said why) when a row is wrong."""
    lang = ui.language()
    names = {m.key: m.name(lang) for m in metrics.REGISTRY}
    kinds = {k_: ui.tr(f"alerts.kind.{k_}") for k_ in alerts.KINDS}
    against = {a: ui.tr(f"alerts.against.{a}") for a in alerts.AGAINST}
    segments = {None: ui.tr("alerts.col.all")} | {s: ui.tr(f"ind.segment.{s}") for s in metrics.SEGMENTS}
    columns = ["metric", "kind", "threshold", "against", "segment"]
    head = {c: ui.tr(f"alerts.col.{c}") for c in columns}  # the table's headers in the reader's language
    shown = pd.DataFrame([{
        "metric": names[r["metric"]], "kind": kinds[r["kind"]], "threshold": float(r["threshold"]) * 100,
        "against": against[r["against"]], "segment": segments[r.get("segment")]} for r in value],
        columns=columns).rename(columns=head)
    edited = st.data_editor(shown, num_rows="dynamic", hide_index=True, width="stretch", key=k("table"), column_config={
        head["metric"]: st.column_config.SelectboxColumn(options=list(names.values()), required=True),
        head["kind"]: st.column_config.SelectboxColumn(options=list(kinds.values()), required=True),
        head["threshold"]: st.column_config.NumberColumn(min_value=0.0, max_value=1000.0, step=0.1, format="%.1f"),
        head["against"]: st.column_config.SelectboxColumn(options=list(against.values())),
        head["segment"]: st.column_config.SelectboxColumn(options=list(segments.values()))})
    edited = edited.rename(columns={v: c for c, v in head.items()})
    code_of = {column: {text: code for code, text in shown_as.items()}  # each picker's label back to its code
               for column, shown_as in (("metric", names), ("kind", kinds), ("against", against), ("segment", segments))}
    out = []
    for n, row in enumerate(edited.itertuples(index=False), 1):
        if not isinstance(row.metric, str) or row.metric not in code_of["metric"]:
            continue
        entry = {"metric": code_of["metric"][row.metric], "kind": code_of["kind"].get(row.kind, "change"),
                 "threshold": 0.0 if pd.isna(row.threshold) else round(float(row.threshold) / 100, 6),
                 "against": code_of["against"].get(row.against, "previous"), "segment": code_of["segment"].get(row.segment)}
        try:
            alerts.Rule(**entry)
        except UsageError:
            st.error(ui.tr("alerts.bad_row", row=n, metric=row.metric))
            return None
        out.append(entry)
    return out


def sla_table(key: str, value: Any, k: Key) -> Any:
    lang = ui.language()
    heads = st.columns(len(SEVERITIES) + 1)
    heads[0].markdown(f"**{ui.tr('col.tier')}**")
    for column, severity in zip(heads[1:], SEVERITIES, strict=True):
        column.markdown(f"**{label(Severity, severity, lang)}** ({ui.tr('settings.hours_unit')})")
    out: dict[str, dict[str, float]] = {}
    for tier, by_severity in value.items():
        cells = st.columns(len(SEVERITIES) + 1)
        cells[0].markdown(ui.tier_label(tier))
        out[tier] = {}
        for column, severity in zip(cells[1:], SEVERITIES, strict=True):
            hours = column.number_input(f"{ui.tier_label(tier)} {label(Severity, severity, lang)}", 0.5, 10_000.0,
                                        float(by_severity.get(severity, 24)), 0.5, key=k(f"{tier}_{severity}"),
                                        label_visibility="collapsed", format="%.1f")
            out[tier][severity] = int(hours) if float(hours).is_integer() else float(hours)
    return out


def tier_names(key: str, value: Any, k: Key) -> Any:
    text = st.text_area(ui.tr("settings.tier_names"), "\n".join(map(str, value)), key=k("value"),
                        height=140, help=ui.tr("settings.tier_names.help"))
    names = [line.strip() for line in text.splitlines() if line.strip()]
    st.caption(ui.tr("settings.tier_count", count=len(names)))
    if len(names) < 2 or len(set(names)) != len(names):
        st.error(ui.tr("settings.bad_names"))
        return None
    return names


def service_models(key: str, value: Any, k: Key) -> Any:
    lang = ui.language()
    out = []
    levels = list(values(CsmLevel))
    for model in value:
        tier = model["tier"]
        st.markdown(f"*{ui.tier_label(tier)}*")
        level, per, cadence_en, cadence_zh = st.columns([1, 1, 2, 2])
        out.append({"tier": tier,
                    "csm_level": ui.choice(level.selectbox, ui.tr("col.csm_level"), levels, key=k(f"{tier}_level"),
                                           default=model["csm_level"], format_func=lambda v: label(CsmLevel, v, lang)),
                    "accounts_per_csm": int(per.number_input(ui.tr("settings.accounts_per_csm"), 1, 100_000,
                                                             int(model["accounts_per_csm"]), 1, key=k(f"{tier}_per"))),
                    "cadence_en": cadence_en.text_input(ui.tr("settings.cadence_en"), model.get("cadence_en", ""),
                                                        key=k(f"{tier}_en")),
                    "cadence_zh": cadence_zh.text_input(ui.tr("settings.cadence_zh"), model.get("cadence_zh", ""),
                                                        key=k(f"{tier}_zh"))})
    return out


def headcount(page: Page) -> Callable[[str, Any, Key], Any]:
    team = ui.cached(tiers.active_csms, page.store)

    def edit(key: str, value: Any, k: Key) -> Any:
        lang = ui.language()
        columns = st.columns(len(CsmLevel))
        out = {}
        for column, level in zip(columns, CsmLevel, strict=True):
            got = column.number_input(label(CsmLevel, level, lang), 0, 10_000, int(value.get(level, team[level])), 1,
                                      key=k(str(level)), help=ui.tr("settings.team_list_count", count=team[level]))
            if level in value or got != team[level]:
                out[str(level)] = int(got)
        return out
    return edit


def quotas(key: str, value: Any, k: Key) -> Any:
    names = st.session_state.get("ops_settings_names", [])
    columns = st.columns(max(len(value), 1))
    out = []
    for i, (column, share) in enumerate(zip(columns, value, strict=False)):
        tier = ui.tier_label(names[i]) if i < len(names) else str(i + 1)
        if key == "tiers.quotas":
            out.append(round(column.number_input(f"{tier} (%)", 0.0, 100.0, float(share) * 100, 0.5, key=k(str(i)),
                                                  format="%.1f") / 100, 6))
        else:
            out.append(float(column.number_input(tier, 0.0, 100.0, float(share), 0.5, key=k(str(i)), format="%.1f")))
    return out


def mode(key: str, value: Any, k: Key) -> Any:
    return ui.choice(st.radio, ui.tr(f"setting.{key}"), ["quota", "cutoff"], key=k("value"), default=value,
                     format_func=lambda v: ui.tr(f"customers.mode.{v}"), horizontal=True)


def risk_floors(key: str, value: Any, k: Key) -> Any:
    high_column, medium_column = st.columns(2)
    high = high_column.number_input(ui.tr("settings.risk.high"), 0.5, 100.0, float(value["high"]), 0.5, key=k("high"),
                                    format="%.1f")
    medium = medium_column.number_input(ui.tr("settings.risk.medium"), 0.5, 100.0, float(value["medium"]), 0.5,
                                        key=k("medium"), format="%.1f")
    if not medium < high:
        st.error(ui.tr("settings.risk.bad"))
        return None
    return {"high": float(high), "medium": float(medium)}


def lead_standard(key: str, value: Any, k: Key) -> Any:
    lang = ui.language()
    shown = events.LeadStandard.from_dict(value)
    titles = ui.choice(st.multiselect, ui.tr("events.standard.titles"), list(values(TitleLevel)),
                       default=list(shown.title_levels), format_func=lambda v: label(TitleLevel, v, lang), key=k("titles"),
                       placeholder=ui.tr("filters.choose"))
    size = st.number_input(ui.tr("events.standard.size"), 0, 1_000_000, int(shown.min_company_size), 10, key=k("size"))
    industries = ui.choice(st.multiselect, ui.tr("events.standard.industries"), list(values(Industry)),
                           default=list(shown.industries), format_func=lambda v: label(Industry, v, lang), key=k("industries"),
                           placeholder=ui.tr("filters.choose"))
    budget = st.checkbox(ui.tr("events.standard.budget"), value=shown.budget_confirmed, key=k("budget"))
    return events.LeadStandard(tuple(titles), int(size), tuple(industries), bool(budget)).to_dict()


# --- the tabs -------------------------------------------------------------------------------------


def show_profile(page: Page) -> None:
    st.caption(ui.tr("settings.profile.intro"))
    rows = page.rows
    stage_now, weight_now = rows.loc["company.stage", "value"], rows.loc["company.product_weight", "value"]
    st.markdown(ui.tr("settings.profile.now", stage=value_text("company.stage", stage_now),
                      weight=value_text("company.product_weight", weight_now)))
    left, right = st.columns(2)
    stage = ui.choice(left.selectbox, ui.tr("setting.company.stage"), list(settings_admin.STAGES), key="s_stage",
                      default=stage_now, format_func=lambda v: ui.tr(f"settings.stage.{v}"))
    weight = ui.choice(right.selectbox, ui.tr("setting.company.product_weight"), list(settings_admin.WEIGHTS),
                       key="s_weight", default=weight_now, format_func=lambda v: ui.tr(f"settings.weight.{v}"))
    left.caption(ui.tr("setting.company.stage.help"))
    right.caption(ui.tr("setting.company.product_weight.help"))
    if st.button(ui.tr("settings.propose"), key="s_propose"):
        with page.store.connect() as conn:
            changes = settings_admin.proposed_changes(conn, stage, weight)
        st.session_state[PROPOSAL_KEY] = {"changes": changes,
                                          "seen": {key: int(rows.loc[key, "version"]) for key, _, _ in changes}}
    proposal = st.session_state.get(PROPOSAL_KEY)
    if proposal is None:
        return
    if not proposal["changes"]:
        st.info(ui.tr("settings.proposal.none"))
        return
    st.markdown(f"**{ui.tr('settings.proposal')}**")
    st.caption(ui.tr("settings.proposal.help"))
    st.table(pd.DataFrame([{ui.tr("settings.col.setting"): ui.tr(f"setting.{key}"),
                            ui.tr("settings.col.current"): value_text(key, now),
                            ui.tr("settings.col.proposed"): value_text(key, new)} for key, now, new in proposal["changes"]]),
             hide_index=True)
    confirm, discard = st.columns(2)
    if discard.button(ui.tr("settings.proposal.discard"), key="s_discard"):
        st.session_state.pop(PROPOSAL_KEY, None)
        st.rerun()
    if confirm.button(ui.tr("settings.proposal.confirm"), key="s_confirm", type="primary"):
        wanted = {key: new for key, _, new in proposal["changes"]}

        def refused(exc: Any) -> None:
            st.session_state.pop(PROPOSAL_KEY, None)
            now = exc.current or {}
            key = now.get("key", "")
            st.error(ui.tr("settings.proposal.stale", who=present.actor_name(now.get("updated_by") or "?", ui.language()),
                           setting=ui.tr(f"setting.{key}") if key in settings_admin.SHOWN else key,
                           value=value_text(key, now.get("value")) if key else ""))

        ui.act(page.store, lambda s: settings_admin.apply(s, ui.acting_user(), wanted, proposal["seen"]),
               "settings.proposal.saved", refused=refused, saved=lambda: _forget_all(st.session_state.pop(PROPOSAL_KEY, None)))


def _forget_all(_: object = None) -> None:
    for key in settings_admin.SHOWN:
        edits.forget(_record(key))


def show_tiers(page: Page) -> None:
    st.session_state["ops_settings_names"] = list(page.rows.loc["tiers.names", "value"])
    block(page, "tiers.names", tier_names)
    st.caption(ui.tr("settings.names.note"))
    block(page, "tiers.service_models", service_models)
    block(page, "tiers.csm_headcount", headcount(page))
    block(page, "tiers.mode", mode)
    block(page, "tiers.quotas", quotas)
    block(page, "tiers.cutoffs", quotas)
    block(page, "tiers.by_industry", checkbox)


def show_service(page: Page) -> None:
    block(page, "feedback.sla_first_response_hours", sla_table)
    block(page, "feedback.sla_resolution_hours", sla_table)
    block(page, "feedback.sla_work_hours", work_hours)
    block(page, "feedback.sla_china_holidays", checkbox)
    year = ui.today().year
    with st.expander(ui.tr("settings.calendar.list", first=year, last=year + 1)):
        calendar = ui.cached(feedback.sla_targets, page.store).calendar
        odd = calendar.days_in(dt.date(year, 1, 1), dt.date(year + 1, 12, 31), ui.language())
        st.dataframe(pd.DataFrame({
            ui.tr("settings.col.date"): [present.date_text(d) for d in odd["date"]],
            ui.tr("settings.col.weekday"): [ui.tr(f"settings.weekday.{d.weekday()}") for d in odd["date"]],
            ui.tr("settings.col.day"): [ui.tr("settings.day.worked" if w else "settings.day.off") for w in odd["working"]],
            ui.tr("settings.col.holiday"): odd["holiday"].tolist(),
            ui.tr("settings.col.source"): [ui.tr(f"settings.source.{s}") for s in odd["source"]]}),
            hide_index=True, width="stretch", placeholder="")
        st.caption(ui.tr("settings.calendar.note", years=", ".join(str(y) for y in range(year, year + 2)
                                                                     if not workcal.china_year(y)[1])
                         or ui.tr("edit.empty")))
    block(page, "feedback.sla_holidays", dates)
    block(page, "feedback.sla_workdays", dates)


def show_thresholds(page: Page) -> None:
    block(page, "status.amber_ratio", number(1.0, 100.0, 1.0, percent=True, shown_as="%.0f"))
    block(page, "risk.level_floors", risk_floors)
    block(page, "events.effective_lead_standard", lead_standard)
    block(page, "events.attribution_window_days", number(1, 3650, 1))
    block(page, "events.decay_half_life_days", number(1.0, 365.0, 0.5))
    block(page, "alerts.rules", alert_rules)
    cap = readers.server_size_cap()
    block(page, "import.max_upload_mb", number(1, 100_000, 1))
    limit = ui.cached(importer.upload_limit, page.store)
    st.caption(ui.tr("settings.upload.in_force", megabytes=f"{limit / readers.MIB:g}")
               + (" " + ui.tr("settings.upload.cap", megabytes=f"{cap / readers.MIB:g}") if cap is not None else ""))
    block(page, "feedback.group_threshold", number(0.01, 1.0, 0.01, shown_as="%.2f"))
    block(page, "feedback.suggest_min_labelled", number(1, 100_000, 1))
    block(page, "ui.page_size", number(10, 5_000, 10))


