"""Exchange map: where exchanges go, drawn with no internet (the project's own country shapes on a
blank MapLibre style, no tiles, no CDN)."""

import streamlit as st

from cx import charts, missions, summaries, uptake
from cx.ui import cached, current_store, stop_without_data
from cx.ui.filters import sidebar_filters
from cx.ui.login import current_viewer
from cx.ui.widgets import country_outlines, figure

store = current_store()
viewer = current_viewer(store)
st.title("Exchange map")
options = cached(uptake.filter_options, store, None)
if options["first_day"] is None:
    stop_without_data("There are no exchanges yet.")

filters = sidebar_filters(options, viewer, page="map")
shade = st.radio("Shade countries by exchanges", ["hosted", "sent"], horizontal=True, key="shade",
                 bind="query-params")
layers = cached(uptake.map_layers, store, viewer, filters=filters.as_dict())
flows, places, countries = layers["place_flows"], layers["places"], layers["country_activity"]
if places.empty:
    st.info("No exchange matches these filters in this period. Widen the period or clear a filter in the sidebar.")
    st.stop()

figure(flows, charts.exchange_map, "No exchange between placed cities matches these filters.", "exchange_map",
       arguments=(places, countries, country_outlines(), shade),
       describe=lambda t: summaries.exchange_map(t, countries),
       numbers={"Exchanges between cities": flows.drop(columns=["visitor_lat", "visitor_lon", "host_lat", "host_lon"]),
                "Exchanges by country": countries})
drawn = min(len(flows), charts.MOST_ARCS)
st.caption(f"{filters.start:%d %b %Y} to {filters.end:%d %b %Y}: {int(flows['exchanges'].sum()):,} exchanges "
           f"going ahead between {len(flows):,} pairs of cities ({drawn:,} busiest drawn), "
           f"{len(places):,} cities. Exchanges with an organisation whose city could not be placed are "
           "left out: see Uptake › Data quality.")

group = cached(missions.missions, store, viewer, partnerships=list(filters.partnerships), start=filters.start,
               end=filters.end)
placed = group.dropna(subset=missions.PLACE_COLUMNS)
figure(placed, charts.mission_map, "No group mission with placed members in this period.", "mission_map",
       arguments=(country_outlines(),), describe=summaries.mission_map,
       numbers={"Group missions": placed.drop(columns=list(missions.PLACE_COLUMNS))})
