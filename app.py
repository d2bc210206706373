"""cx: the ClusterXchange dashboard. `streamlit run app.py` (or `make run`) starts it.

A page that meets a problem cx can name (the database busy, read-only or damaged, a rules file
missing) shows that one sentence; anything else shows Streamlit's short error message, its details
only in the server's log (`client.showErrorDetails = "none"` in .streamlit/config.toml)."""

import logging
from pathlib import Path

import streamlit as st

from cx.errors import CxError

st.set_page_config(page_title="cx · ClusterXchange", page_icon=str(Path(__file__).parent / "data" / "favicon.png"), layout="wide")

# One flat list: Streamlit's grouped navigation puts <li> outside any <ul> and section headers inside
# one, which screen readers announce wrongly (axe: list, listitem). The order keeps the groups together:
# the programme, visitors, planning, administration.
PAGES = [
    st.Page("app_pages/home.py", title="At a glance", icon=":material/home:", default=True),
    st.Page("app_pages/uptake.py", title="Uptake", icon=":material/monitoring:"),
    st.Page("app_pages/map.py", title="Exchange map", icon=":material/map:"),
    st.Page("app_pages/find_a_host.py", title="Find a host", icon=":material/travel_explore:"),
    st.Page("app_pages/budget.py", title="Budget scenarios", icon=":material/euro:"),
    st.Page("app_pages/data.py", title="Data", icon=":material/database:"),
    st.Page("app_pages/exchanges.py", title="Exchanges", icon=":material/swap_horiz:"),
]

try:
    st.navigation(PAGES).run()
except CxError as error:  # a busy, read-only or damaged database, or a broken rules file: say which
    logging.getLogger("cx").warning("page stopped: %s", error, exc_info=error)
    st.error(f"{str(error)[0].upper()}{str(error)[1:]}.")
