"""At a glance: the programme's organisations, exchanges and money, from the database."""

import streamlit as st

from cx import charts, uptake
from cx.rules import load_rulebook
from cx.ui import cached, current_store, euros, euros_short, stop_without_data

store = current_store()
rulebook = load_rulebook()
st.title("ClusterXchange at a glance")
st.caption(f"{rulebook.call_name} · database `{store.path}`")

figures = cached(uptake.overview, store)
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

left, right = st.columns(2)
left.plotly_chart(charts.exchanges_by_status(cached(uptake.exchanges_by_status, store)), width="stretch")
right.plotly_chart(charts.money_over_time(cached(uptake.money_by_month, store), rulebook.budget_envelope_eur),
                   width="stretch")
st.plotly_chart(charts.organisations_by_country(cached(uptake.organisations_by_kind_and_country, store)),
                width="stretch")
