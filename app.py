"""cx: the ClusterXchange dashboard. `streamlit run app.py` (or `make run`) starts it."""

from pathlib import Path

import streamlit as st

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

st.navigation(PAGES).run()
