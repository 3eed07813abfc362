"""Event ROI: events, leads and conversions, ROI and cost ratios, attribution models, timeline and the review."""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

import streamlit as st

from cockpit import edits, event_tabs, ui
from ops_core import events, settings
from ops_core.i18n import label, vocabulary_values
from ops_core.vocab import EventFormat, EventKind, EventOrganisation, Industry, TitleLevel, values

store, filters = ui.page_context()
lang = ui.language()
as_of = min(filters.date_to, ui.today())
st.title(ui.tr("nav.events"))
ui.show_flash()

data = ui.shared(events.load, store, filters.date_from, filters.date_to)
standard = ui.cached(events.lead_standard, store)
window = int(ui.cached(settings.get, store, events.WINDOW_KEY))
half_life = float(ui.cached(settings.get, store, events.HALF_LIFE_KEY))

# --- the effective-lead standard and the attribution model -------------------------------------
if ui.is_admin():  # the standard is a setting, an admin's; others read it in the line below
    with st.expander(ui.tr("events.standard"), expanded=False):
        record = f"settings:{events.STANDARD_KEY}"  # the form holds the version this reader saw
        seen = edits.seen(record, {"version": ui.cached(events.lead_standard_version, store), "standard": standard})
        edits.notice(record)
        with st.form("e_standard_form"):
            shown = seen["standard"]
            titles = ui.choice(st.multiselect, ui.tr("events.standard.titles"), list(values(TitleLevel)), default=list(shown.title_levels),
                                    format_func=lambda v: label(TitleLevel, v, lang), key=edits.key(record, "e_std_titles"))
            size = st.number_input(ui.tr("events.standard.size"), 0, 1_000_000, int(shown.min_company_size), 10, key=edits.key(record, "e_std_size"))
            industries = ui.choice(st.multiselect, ui.tr("events.standard.industries"), list(vocabulary_values(Industry)), default=list(shown.industries),
                                        format_func=lambda v: label(Industry, v, lang), placeholder=ui.tr("filters.choose"),
                                        key=edits.key(record, "e_std_industries"))
            budget = st.checkbox(ui.tr("events.standard.budget"), value=shown.budget_confirmed, key=edits.key(record, "e_std_budget"))
            if st.form_submit_button(ui.tr("events.standard.save"), key="e_std_save"):
                wanted = events.LeadStandard(tuple(titles), int(size), tuple(industries), bool(budget))
                edits.save(store, record, lambda s: events.save_lead_standard(s, ui.acting_user(), wanted, seen["version"]),
                           "events.standard.saved", event_tabs.standard_fields, widgets=("e_std_",), changed=wanted != shown)
st.caption(ui.tr("events.standard.in_force", standard=standard.describe(ui.language()), window=window))

left, middle, right, far = st.columns(4)
model = ui.choice(left.radio, ui.tr("events.model"), list(events.Model), format_func=lambda m: ui.tr(f"events.model.{m}"),
                   horizontal=True, key="e_model")
formats = ui.choice(middle.multiselect, ui.tr("col.format"), list(values(EventFormat)), format_func=lambda v: label(EventFormat, v, lang),
                             key="e_formats", placeholder=ui.tr("filters.choose"))
kinds = ui.choice(right.multiselect, ui.tr("col.kind"), list(values(EventKind)), format_func=lambda v: label(EventKind, v, lang),
                          key="e_kinds", placeholder=ui.tr("filters.choose"))
organisations = ui.choice(far.multiselect, ui.tr("col.organisation"), list(values(EventOrganisation)),
                                format_func=lambda v: label(EventOrganisation, v, lang), key="e_orgs",
                                placeholder=ui.tr("filters.choose"))
purposes = ui.choice(st.multiselect, ui.tr("col.purposes"), list(events.PURPOSES), format_func=lambda v: ui.tr(f"events.purpose.{v}"),
                          key="e_purposes", placeholder=ui.tr("filters.choose"))

metrics = events.event_metrics(data, standard, model, window, as_of, half_life)
chosen = events.select_events(metrics, data.events, formats, kinds, organisations, purposes)
totals = events.group_metrics(chosen.assign(all="all"), "all").iloc[0] if len(chosen) else None

tiles = st.columns(6)
tiles[0].metric(ui.tr("events.count"), f"{len(chosen):,}")
tiles[1].metric(ui.tr("col.cost"), ui.money(totals["cost_cents"]) if totals is not None else "—")
tiles[2].metric(ui.tr("col.leads"), f"{int(totals['leads']):,}" if totals is not None else "—")
tiles[3].metric(ui.tr("col.effective_leads"), f"{int(totals['effective_leads']):,}" if totals is not None else "—")
tiles[4].metric(ui.tr("col.cost_per_effective_lead"), ui.money_or_na(totals["cost_per_effective_lead"]) if totals is not None else "—")
tiles[5].metric(ui.tr("col.roi"), ui.percent_or_na(totals["roi"]) if totals is not None else "—")
if totals is not None and int(totals["too_early"]):
    st.caption(ui.tr("events.too_early", count=int(totals["too_early"]), window=window))

event_tabs.draw(event_tabs.Events(store=store, filters=filters, as_of=as_of, data=data, standard=standard, model=model,
                                  window=window, half_life=half_life, chosen=chosen))
