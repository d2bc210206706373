"""At a glance: what waits on me, and the programme's organisations, exchanges and money, from the database."""

import streamlit as st

from cx import charts, summaries, uptake
from cx.rules import load_rulebook
from cx.ui import cached, current_store, euros, euros_short, stop_without_data
from cx.ui.login import current_viewer
from cx.ui.steps import waiting_list
from cx.ui.widgets import figure

store = current_store()
viewer = current_viewer(store)
uptake.require_figures(viewer)
rulebook = load_rulebook()
st.title("ClusterXchange at a glance")
st.caption(rulebook.call_name)
waiting_list(store, viewer)

figures = cached(uptake.overview, store, None)
if figures["organisations"] == 0:
    stop_without_data("The database is empty.")

columns = st.columns(5)
columns[0].metric("Organisations", f"{figures['organisations']:,}",
                  help=f"{figures['visitors']:,} may visit, {figures['hosts']:,} may host")
columns[1].metric("Countries", figures["countries"])
columns[2].metric("Exchanges", f"{figures['exchanges']:,}", help=f"{figures['paid_exchanges']:,} paid")
columns[3].metric("Lump sums committed", euros_short(figures["committed_eur"]),
                  help=f"{euros(figures['committed_eur'])}: approved, ongoing, completed, reported or paid")
columns[4].metric("Lump sums paid", euros_short(figures["paid_eur"]), help=euros(figures["paid_eur"]))

envelope = rulebook.budget_envelope_eur
left, right = st.columns(2)
figure(cached(uptake.exchanges_by_status, store, None), charts.exchanges_by_status, "No exchange yet.", "status", left,
       describe=summaries.exchanges_by_status)
figure(cached(uptake.money_by_month, store, None), charts.money_over_time, "No exchange yet.", "money",
       right, arguments=(envelope,), describe=lambda t: summaries.money_over_time(t, envelope))
figure(cached(uptake.organisations_by_kind_and_country, store, None), charts.organisations_by_country,
       "No organisation yet.", "organisations", describe=summaries.organisations_by_country)
