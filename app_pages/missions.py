"""Group missions: a partnership manager takes several of the partnership's visitors to one region
together, each to a host of its own, with a shared agenda; every member's exchange is requested at
once and goes through approval on its own."""

import datetime as dt

import streamlit as st

from cx import missions
from cx.errors import CxError
from cx.rules import load_rulebook
from cx.store import TEXT_LIMITS, Store
from cx.ui import cached, current_store, plain, stop_without_data
from cx.ui.login import current_viewer

CREATED = "missions.created"  # the sentence to show after the page reloads

store = current_store()
viewer = current_viewer(store)
rulebook = load_rulebook()
st.title("Group missions")
if CREATED in st.session_state:
    st.success(plain(st.session_state.pop(CREATED)))

listed = cached(missions.missions, store, viewer)
if listed.empty:
    st.info("No group mission yet.")
else:
    st.dataframe(listed.drop(columns=list(missions.PLACE_COLUMNS)), hide_index=True, width="stretch",
                 key="missions_list", column_config={
                     "committed_eur": st.column_config.NumberColumn("committed (EUR)", format="localized")})

st.subheader("Plan a mission")
partnerships = cached(Store.partnerships, store, None)
if not viewer.is_officer:
    partnerships = partnerships[partnerships["id"].isin(viewer.partnerships)]
if partnerships.empty:
    stop_without_data("There are no partnerships yet.")
names = partnerships.set_index("id")["name"]
partnership = st.selectbox("Partnership", list(names.index), key="mission_partnership",
                           format_func=lambda p: plain(f"{p} · {names[p]}"))
name = st.text_input("Name", key="mission_name", max_chars=TEXT_LIMITS["name"],
                     placeholder="e.g. Business mission to the Porto textile region")
first_monday = rulebook.quiet_week(dt.date.today() + dt.timedelta(days=28))
left, right = st.columns(2)
start = left.date_input("First day at the hosts", first_monday, key="mission_start")
end = right.date_input("Last day at the hosts", first_monday + dt.timedelta(days=2), key="mission_end")
agenda = st.text_area("Shared agenda", key="mission_agenda", max_chars=TEXT_LIMITS["agenda"],
                      placeholder="Day 1: welcome by the host cluster. Day 2: company visits. Day 3: B2B meetings.")
country = st.selectbox("Host country", rulebook.eligible_countries, key="mission_country",
                       format_func=lambda c: f"{c} · {rulebook.country_name(c)}")
organisations = cached(Store.organisations, store, viewer)
visitors = organisations[organisations["can_visit"] & (organisations["partnership_id"] == partnership)
                         & (organisations["country"] != country)].set_index("id")
hosts = cached(missions.hosts_in, store, None, country=country).set_index("id")
chosen = st.multiselect("Visitors", list(visitors.index), key="mission_visitors",
                        format_func=lambda v: plain(f"{visitors.at[v, 'name']} ({visitors.at[v, 'country']})"))
if hosts.empty:
    st.info(f"No organisation hosts in {rulebook.country_name(country)} yet; choose another country.")
    st.stop()
members = [(visitor, st.selectbox(f"Host of {plain(visitors.at[visitor, 'name'])}", list(hosts.index),
                                  key=f"mission_host_{visitor}",
                                  format_func=lambda h: plain(f"{hosts.at[h, 'name']} ({hosts.at[h, 'city']})")))
           for visitor in chosen]
if st.button("Create the mission and request its exchanges", type="primary", key="mission_create"):
    try:
        mission = missions.create_mission(store, viewer, name=name, partnership_id=partnership, start=start, end=end,
                                          members=members, agenda=agenda)
    except CxError as error:
        st.error(plain(f"Not created: {error}."))
    else:
        st.session_state[CREATED] = (f"Mission {mission} created: {len(members)} exchanges requested, each for "
                                     "its partnership's approval.")
        st.rerun()
