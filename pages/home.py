"""Home: the headline numbers and the monthly trend of the filtered customers."""
from __future__ import annotations

from cockpit import frame

frame.run_through_app()  # first, before this page's slow imports (see frame.run_through_app)

import datetime as dt

import altair as alt
import streamlit as st

from cockpit import start, ui
from ops_core import alerts, overview
from ops_core.periods import period_of, previous

store, filters = ui.page_context()
as_of = min(filters.date_to, ui.today())

st.title(ui.tr("home.title"))
st.caption(ui.tr("home.caption", company=ui.tr("app.title"), as_of=as_of.isoformat(), filters=ui.describe(filters, store)))
start.empty_store_hint(store)  # an empty start: where the data comes in

numbers = ui.cached(overview.headline, store, filters, as_of)
row1 = st.columns(4)
row1[0].metric(ui.tr("home.customers"), f"{numbers['customers']:,}")
row1[1].metric(ui.tr("home.active_customers"), f"{numbers['active_customers']:,}")
row1[2].metric(ui.tr("home.arr"), ui.money(numbers["arr_cents"]))
row1[3].metric(ui.tr("home.overdue"), ui.money(numbers["overdue_cents"]))
row2 = st.columns(4)
row2[0].metric(ui.tr("home.open_feedback"), f"{numbers['open_feedback']:,}")
row2[1].metric(ui.tr("home.open_demands"), f"{numbers['open_demands']:,}")
row2[2].metric(ui.tr("home.events"), f"{numbers['events']:,}")

# The watch list (alerts.rules, edited on the indicator page) against the last complete month.
month = previous(period_of("month", as_of + dt.timedelta(days=1)))
st.subheader(ui.tr("alerts.title"))
found = ui.cached(alerts.evaluate, store, "month", month, None, filters)
for alert in found:
    st.warning(alert.sentence(ui.language()), icon="⚠️")
if not found:
    st.caption(ui.tr("alerts.home_none", period=month.label))

st.subheader(ui.tr("home.chart.title"))
trend = ui.cached(overview.monthly_trend, store, filters)
if trend.empty or (trend["active_accounts"].sum() == 0 and trend["arr"].sum() == 0):
    st.info(ui.tr("home.empty"))
else:
    base = alt.Chart(trend).encode(x=alt.X("yearmonth(month):T", title=ui.tr("home.chart.month")))
    bars = base.mark_bar(opacity=0.55, color="#4c78a8").encode(
        y=alt.Y("active_accounts:Q", title=ui.tr("home.chart.active_accounts")),
        tooltip=[alt.Tooltip("yearmonth(month):T", title=ui.tr("home.chart.month")),
                 alt.Tooltip("active_accounts:Q", title=ui.tr("home.chart.active_accounts"), format=","),
                 alt.Tooltip("arr:Q", title=ui.tr("home.chart.arr"), format=",.0f")])
    line = base.mark_line(point=True, color="#e45756").encode(  # each point over the middle of its month's bar
        x=alt.X("yearmonth(month):T", title=ui.tr("home.chart.month"), bandPosition=0.5),
        y=alt.Y("arr:Q", title=ui.tr("home.chart.arr"), axis=ui.yuan_axis(ui.tr("home.chart.arr"))))
    st.altair_chart(ui.localised(alt.layer(bars, line).resolve_scale(y="independent")), width="stretch")

st.subheader(ui.tr("home.by_industry"))
ui.table(ui.cached(overview.by_industry, store, filters, as_of))
