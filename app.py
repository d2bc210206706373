"""cx: the ClusterXchange dashboard. `streamlit run app.py` (or `make run`) starts it.

Who is asking decides which pages exist: the navigation lists only the pages of the viewer's
role, and every page asks `cx` with the same viewer, which refuses what the role may not do.

A page that meets a problem cx can name (the database busy, read-only or damaged, a rules file
missing) shows that one sentence; anything else shows Streamlit's short error message, its details
only in the server's log (`client.showErrorDetails = "none"` in .streamlit/config.toml).

After every run, messages the steps wrote to the outbox go out in the background when `[smtp]`
is configured (`cx.ui.notifications`)."""

import logging
from pathlib import Path

import streamlit as st

from cx.access import MANAGER, OFFICER, ORGANISATION, PLANNER
from cx.errors import CxError
from cx.ui import current_store
from cx.ui.login import check_served_address, current_viewer, who_line
from cx.ui.notifications import send_soon

st.set_page_config(page_title="cx · ClusterXchange", page_icon=str(Path(__file__).parent / "data" / "favicon.png"), layout="wide")

try:
    check_served_address(st.get_option("server.address"))
except CxError as refusal:
    st.error(f"{refusal}.")
    st.stop()


def explain(error: CxError) -> None:
    """A busy, read-only or damaged database, or a broken rules file: say which, in one sentence."""
    logging.getLogger("cx").warning("page stopped: %s", error, exc_info=error)
    st.error(f"{str(error)[0].upper()}{str(error)[1:]}.")


HOME = st.Page("app_pages/home.py", title="At a glance", icon=":material/home:", default=True)
UPTAKE = st.Page("app_pages/uptake.py", title="Uptake", icon=":material/monitoring:")
MAP = st.Page("app_pages/map.py", title="Exchange map", icon=":material/map:")
FIND = st.Page("app_pages/find_a_host.py", title="Find a host", icon=":material/travel_explore:")
MISSIONS = st.Page("app_pages/missions.py", title="Group missions", icon=":material/groups:")
FIND_VISITOR = st.Page("app_pages/find_a_visitor.py", title="Find a visitor", icon=":material/person_search:")
BUDGET = st.Page("app_pages/budget.py", title="Budget scenarios", icon=":material/euro:")
DATA = st.Page("app_pages/data.py", title="Data", icon=":material/database:")
EXCHANGES = st.Page("app_pages/exchanges.py", title="Exchanges", icon=":material/swap_horiz:")
REGISTRATIONS = st.Page("app_pages/registrations.py", title="Registrations", icon=":material/how_to_reg:")
STEPS = st.Page("app_pages/exchange.py", title="Exchange steps", icon=":material/task_alt:")
ACCOUNTS = st.Page("app_pages/accounts.py", title="Accounts", icon=":material/group:")
PROFILE = st.Page("app_pages/profile.py", title="Our organisation", icon=":material/apartment:", default=True)

# One flat list per role: Streamlit's grouped navigation puts <li> outside any <ul> and section
# headers inside one, which screen readers announce wrongly (axe: list, listitem). The order keeps
# the groups together: the programme, visitors, planning, administration.
PAGES = {
    OFFICER: [HOME, UPTAKE, MAP, FIND, FIND_VISITOR, MISSIONS, BUDGET, DATA, EXCHANGES, STEPS, REGISTRATIONS, ACCOUNTS],
    MANAGER: [HOME, UPTAKE, MAP, FIND, FIND_VISITOR, MISSIONS, DATA, EXCHANGES, STEPS, REGISTRATIONS],
    ORGANISATION: [PROFILE, FIND, FIND_VISITOR, STEPS],
    PLANNER: [HOME, UPTAKE, MAP, BUDGET],
}

try:  # the store is opened inside: a damaged database is named before the viewer is known
    viewer = current_viewer(current_store())  # someone without an account sees their registration here, and stops
    who_line(viewer)
    st.navigation(PAGES[viewer.role]).run()
except CxError as error:
    explain(error)
finally:  # a step just taken (a registration too) may have handed work to someone: send its messages
    send_soon()
