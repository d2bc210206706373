"""Find a host: a visitor describes the objectives and gets the eligible hosts worth writing to,
with the reasons, the distance and the lump sum, and requests the exchange."""

import datetime as dt

import pandas as pd
import streamlit as st

from cx import charts, summaries, taxonomy
from cx.ecosystems import ACTIVITIES, ECOSYSTEMS
from cx.errors import BrokenRules, CxError, VisitedAlready
from cx.exchanges import date_breaches, request_exchange, visitor_exchanges
from cx.rules import load_rulebook
from cx.store import TEXT_LIMITS
from cx.ui import cached, current_store, euros, plain, stop_without_data
from cx.ui.login import current_viewer
from cx.ui.matcher import host_matcher
from cx.ui.widgets import country_outlines, figure
from cx.visitors import hosts_registered, matching_visitors, visitor_choices, visitor_details

QUERY = "find_a_host.query"  # the last submitted search, kept while the visitor requests exchanges
PICKER_SIZE = 50  # visitors offered per search

store = current_store()
viewer = current_viewer(store)
rulebook = load_rulebook()
st.title("Find a host")
st.caption("Describe what you want to learn or do in your own words; cx lists the eligible hosts whose "
           "profiles match it best, with the lump sum the stay would earn.")

visitors = cached(visitor_choices, store, viewer)  # an organisation's own, a manager's partnership's, or all
if visitors.empty and viewer.organisation:
    st.info("Your organisation is registered as a host only, so it does not request exchanges; "
            "visitors find it here by its profile.")
    st.stop()
if visitors.empty or not cached(hosts_registered, store, None):
    stop_without_data("There are no registered visitors and hosts yet.")


@st.fragment
def visitor_picker() -> None:
    """Search, then pick among the first matches: typing reruns only this part, and a rerun sends
    PICKER_SIZE options instead of every visitor of the programme."""
    search = st.text_input("Search the visiting organisations", key="visitor_search",
                           placeholder="part of a name, a city, a country code or an id")
    shown = matching_visitors(visitors, search, PICKER_SIZE)
    st.selectbox("Visiting organisation", list(shown.index), format_func=visitors["label"].get, key="visitor",
                 placeholder="No organisation matches the search")
    if len(shown) < len(visitors):
        st.caption(f"{len(shown):,} of {len(visitors):,} visiting organisations shown (those who may still visit "
                   "first); search to find the others.")


visitor_picker()
# Four weeks ahead, in a week no eligible country's public holidays shorten.
first_monday = rulebook.quiet_week(dt.date.today() + dt.timedelta(days=28))
with st.form("find_a_host_form"):
    objectives = st.text_area("Objectives", key="objectives", max_chars=TEXT_LIMITS["objectives"],
                              placeholder="e.g. adopt digital twins in our "
                              "injection-moulding plant; find partners for hydrogen valleys")
    sectors = st.multiselect("Sectors (optional)", taxonomy.label_names(), key="sectors",
                             placeholder="Type to search the cluster platform's sectors",
                             help="Labels of the European Cluster Collaboration Platform (sectoral and emerging "
                                  "industries, technology fields, S3 priority areas, ecosystems), matched together "
                                  "with the objectives, in any language the profiles are written in.")
    left, right = st.columns(2)
    ecosystems = left.multiselect("Ecosystems (optional)", list(ECOSYSTEMS), key="ecosystems")
    activities = right.multiselect("Activities", list(ACTIVITIES), key="activities")
    countries = left.multiselect("Preferred host countries (optional)", rulebook.eligible_countries,
                                 format_func=lambda code: f"{rulebook.country_name(code)} ({code})", key="countries")
    start = right.date_input("First day at the host", first_monday, key="start")
    end = right.date_input("Last day at the host", first_monday + dt.timedelta(days=4), key="end")
    if st.form_submit_button("Find hosts", type="primary", key="find"):
        st.session_state[QUERY] = dict(visitor_id=st.session_state["visitor"], objectives=objectives,
                                       sectors=sectors, ecosystems=ecosystems, activities=activities,
                                       countries=countries, start=start, end=end)

query = st.session_state.get(QUERY)
if query is None:
    st.info("Pick the visiting organisation, describe the objectives and press **Find hosts**.")
    st.stop()

wrong_dates = date_breaches(query["start"], query["end"], rulebook=rulebook)
if wrong_dates:
    st.error("Change the dates: " + "; ".join(b.message for b in wrong_dates) + ".")
    st.stop()

who = visitors["label"].get(query["visitor_id"])
try:
    if query["visitor_id"] is None:
        raise CxError("pick the visiting organisation first: no organisation matches the search")
    visitor = cached(visitor_details, store, viewer, visitor_id=query["visitor_id"])
    own = visitor["visitor_country"]
    if own in query["countries"]:  # the form cannot drop it from the list before the visitor is submitted
        st.caption(f"{rulebook.country_name(own)} is left out of the preferred countries: a host is in "
                   "another country than the visitor.")
        query["countries"] = [code for code in query["countries"] if code != own]
    suggestions = host_matcher(store).suggest(query["objectives"], **visitor, sectors=query["sectors"],
                                              ecosystems=query["ecosystems"],
                                              countries=query["countries"], start=query["start"], end=query["end"])
except VisitedAlready as error:
    st.info(plain(f"{who}: {error}."))
    st.stop()
except CxError as error:
    st.warning(plain(f"{str(error)[0].upper()}{str(error)[1:]}."))
    st.stop()

st.subheader(f"{len(suggestions)} host{'s' * (len(suggestions) != 1)} for {plain(who)}")
figure(suggestions, charts.host_suggestions_map, "No eligible host matches.", "suggestions_map",
       arguments=(visitor["visitor_location"], country_outlines()), describe=summaries.host_suggestions,
       numbers={})  # every suggested host is listed below the map, with its facts

for rank, host in enumerate(suggestions.itertuples(), start=1):
    # One bordered card per host, its button under its facts: columns would add three blocks per host to
    # every search (a tenth of its server time under load).
    with st.container(border=True, key=f"host_{host.id}"):
        st.markdown(f"**{rank}. {plain(host.name)}** · {plain(host.city or '')} "
                    f"({rulebook.country_name(host.country)})")
        reasons = ", ".join(host.reasons) or "similar wording"
        st.progress(float(host.score), text=f"match {host.score:.2f}: {plain(reasons)}")
        facts = []
        if pd.notna(host.distance_km):
            facts.append(f"{host.distance_km:,.0f} km away")
        if pd.notna(host.working_days):
            facts.append(f"{host.working_days} working days")
        if pd.notna(host.lump_sum_eur):
            halved = f", halved because {host.halving_reason}" if pd.notna(host.halved) and host.halved else ""
            indicative = (f" (indicative: {rulebook.country_name(host.country)}'s ceiling is not published)"
                          if rulebook.countries.at[host.country, "indicative"] else "")
            facts.append(f"lump sum {euros(host.lump_sum_eur)}{halved}{indicative}")
        elif pd.isna(host.distance_km):
            unplaced = "the host's city" if visitor["visitor_location"] is not None else "the visitor's city"
            facts.append(f"distance and lump sum unknown: {unplaced} could not be placed, and the lump sum is "
                         f"halved under {rulebook.halve_under_km:g} km")
        st.caption(" · ".join(facts))
        if st.button("Request this exchange", key=f"request_{host.id}"):
            try:
                asked = "; ".join(filter(None, [query["objectives"], *query["sectors"]]))
                exchange_id = request_exchange(store, viewer, visitor_id=query["visitor_id"], host_id=host.id,
                                               start=query["start"], end=query["end"],
                                               objectives=asked, activities=query["activities"])
            except BrokenRules as broken:
                st.error(plain("The exchange was not requested: " + "; ".join(b.message for b in broken.breaches) + "."))
            except CxError as error:
                st.error(plain(f"The exchange was not requested: {error}."))
            else:
                st.success(plain(f"Exchange {exchange_id} requested with {host.name}; the host answers next, then both sides sign on Exchange steps."))

mine = cached(visitor_exchanges, store, viewer, visitor_id=query["visitor_id"])
st.subheader("Your requests and exchanges")
if mine.empty:
    st.caption("None yet: the exchanges requested above will show here with their status.")
else:
    st.dataframe(mine, hide_index=True, key="visitor_exchanges",
                 column_config={"lump_sum_eur": st.column_config.NumberColumn("lump sum (EUR)", format="%d"),
                                "start_date": st.column_config.DateColumn("first day"),
                                "end_date": st.column_config.DateColumn("last day")})
