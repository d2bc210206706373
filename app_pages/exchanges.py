"""Exchanges: a partnership manager's exchanges by status, moved on through the workflow; a
transition the workflow does not allow is refused with the reason."""

import pandas as pd
import streamlit as st

from cx import charts, summaries
from cx import exchanges as workflow
from cx.errors import CxError
from cx.rules import load_rulebook
from cx.store import TEXT_LIMITS, Store
from cx.ui import cached, current_store, euros, plain, stop_without_data
from cx.ui.login import current_viewer
from cx.ui.widgets import figure

DONE = "exchanges_done"  # the last change's sentence, shown after the page reloads its data

store = current_store()
rulebook = load_rulebook()
viewer = current_viewer(store)
st.title("Exchanges")
partnerships = cached(Store.partnerships, store, None).set_index("id")
if not viewer.is_officer:
    partnerships = partnerships[partnerships.index.isin(viewer.partnerships)]
if partnerships.empty:
    stop_without_data("There are no partnerships yet.")

partnership = st.selectbox("Partnership", partnerships.index, key="manager_partnership",
                           format_func=lambda p: f"{p} · {partnerships.at[p, 'name']}")
table = cached(workflow.partnership_exchanges, store, viewer, partnership_id=partnership)
if DONE in st.session_state:
    st.success(plain(st.session_state.pop(DONE)))
if table.empty:
    st.info("No exchange has a visitor or host registered through this partnership yet.")
    st.stop()

figure(workflow.by_status(table), charts.exchanges_by_status, "", "manager_status_chart",
       describe=summaries.exchanges_by_status)
statuses = [s for s in workflow.ORDER if s in set(table["status"])]
status = st.segmented_control("Status", statuses, default=statuses[0], key="manager_status") or statuses[0]
shown = table[table["status"] == status]
# A line between the statuses and the table: the table's toolbar rises above it and would cover a status.
st.caption(f"{len(shown):,} {status}, the latest stay first")
st.dataframe(shown.drop(columns=["status"]), hide_index=True, key="manager_table",
             column_config={"lump_sum_eur": st.column_config.NumberColumn("lump sum (EUR)", format="%d"),
                            "start_date": st.column_config.DateColumn("first day"),
                            "end_date": st.column_config.DateColumn("last day"),
                            "updated_at": st.column_config.DatetimeColumn("last change", format="YYYY-MM-DD HH:mm")})

st.subheader("Move an exchange on")
rows = shown.set_index("id")
exchange = st.selectbox("Exchange", rows.index, key="manager_exchange",
                        format_func=lambda i: f"{i} · {rows.at[i, 'visitor']} → {rows.at[i, 'host']}, "
                                              f"{rows.at[i, 'start_date']:%d %b %Y}")
allowed = workflow.allowed_next(status)
lump_sum, host_country = rows.at[exchange, "lump_sum_eur"], rows.at[exchange, "host_country"]
if pd.isna(lump_sum):
    money = "Lump sum not worked out: a city could not be placed, so the distance that decides halving is unknown."
else:
    money = (f"Lump sum {euros(lump_sum)}" + (" (frozen at approval)" if status not in ("requested", "rejected") else "")
             + (f"; indicative: {rulebook.country_name(host_country)}'s ceiling is not published."
                if host_country in rulebook.countries.index and rulebook.countries.at[host_country, "indicative"] else "."))
st.caption(f"{plain(exchange)} is {status}; allowed next: {', '.join(allowed) or 'none (it is final)'}. {money}")
to_status = st.selectbox("New status", allowed, key="manager_to_status", disabled=not allowed,
                         placeholder="none: the status is final")
if st.button("Change status", type="primary", key="manager_move", disabled=not allowed):
    try:
        workflow.change_status(store, viewer, exchange, to_status)
    except CxError as error:
        st.error(plain(f"Refused: {error}"))
    else:
        st.session_state[DONE] = plain(f"{exchange} is now {to_status} (recorded as changed by {viewer.identity}).")
        st.rerun()

with st.expander(f"History of {plain(exchange)}"):
    st.dataframe(workflow.history(store, viewer, exchange), hide_index=True, key="manager_history")
