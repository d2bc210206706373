"""The uptake and map figures are pure functions of their tables: checked without Streamlit."""

import pandas as pd

from cx import charts
from cx.geo import country_shapes

FLOWS = pd.DataFrame({
    "visitor_city": ["Porto", "Lyon", "Berlin"], "visitor_country": ["PT", "FR", "DE"],
    "visitor_lat": [41.15, 45.76, 52.52], "visitor_lon": [-8.61, 4.84, 13.40],
    "host_city": ["Milan", "Valletta", "Pristina"], "host_country": ["IT", "MT", "XK"],
    "host_lat": [45.46, 35.90, 42.67], "host_lon": [9.19, 14.51, 21.17], "exchanges": [1, 3, 7]})
PLACES = pd.DataFrame({"city": ["Porto", "Milan", "Valletta"], "country": ["PT", "IT", "MT"],
                       "lat": [41.15, 45.46, 35.90], "lon": [-8.61, 9.19, 14.51],
                       "sent": [1, 0, 0], "hosted": [0, 1, 3]})
COUNTRIES = pd.DataFrame({"country": ["PT", "IT", "MT", "FR"], "sent": [1, 0, 0, 3], "hosted": [0, 1, 3, 0]})


def test_the_map_draws_arcs_by_weight_on_a_blank_offline_style():
    figure = charts.exchange_map(FLOWS, PLACES, COUNTRIES, country_shapes(), shade="hosted", arc_points=10)
    assert figure.layout.map.style == "white-bg"
    arcs = [trace for trace in figure.data if trace.type == "scattermap" and trace.mode == "lines"]
    assert [trace.name for trace in arcs] == [label for _, _, label in charts.ARC_CLASSES]
    assert [trace.line.width for trace in arcs] == sorted(trace.line.width for trace in arcs)
    assert all(len(trace.lat) == 10 + 2 + 1 for trace in arcs)  # ends, points between, a gap
    assert all("text" not in (trace.mode or "") for trace in figure.data if trace.type == "scattermap")
    shaded = figure.data[1]
    assert dict(zip(shaded.locations, shaded.z)) == {"IT": 1, "MT": 3}  # countries hosting none are left grey
    base = figure.data[0]
    assert {"MT", "XK", "FR"} <= set(base.locations)


def test_an_arc_follows_the_geodesic_not_a_straight_line_on_screen():
    figure = charts.exchange_map(FLOWS.iloc[[2]], PLACES, COUNTRIES, country_shapes(), arc_points=20)
    (arc,) = [trace for trace in figure.data if trace.type == "scattermap" and trace.mode == "lines"]
    lats = [lat for lat in arc.lat if lat is not None]
    straight_middle = (lats[0] + lats[-1]) / 2
    assert max(lats[1:-1]) > straight_middle  # the great circle bends poleward


def test_partnerships_lagging_most_are_on_top():
    table = pd.DataFrame({"partnership_id": ["A", "B", "C"], "partnership": ["A", "B", "C"],
                          "target_exchanges": [10, 10, 10], "completed": [12, 2, 6],
                          "share_of_target": [1.2, 0.2, 0.6]})
    bars = charts.partnership_progress(table).data[0]
    assert list(bars.y) == ["A", "C", "B"]  # plotly draws the first bar at the bottom
    assert bars.marker.color[0] == charts.ON_TRACK and bars.marker.color[-1] == charts.LAGGING


def test_histograms_mark_the_halving_threshold():
    table = pd.DataFrame({"working_days": [3, 4, 5, 10], "exchanges": [2, 5, 9, 1]})
    figure = charts.threshold_histogram(table, "working_days", 5, "Working days", "working days")
    assert figure.layout.shapes[0].x0 == 4.5
    assert list(figure.data[0].marker.color) == [charts.LAGGING, charts.LAGGING, charts.BLUE, charts.BLUE]


def test_the_sankey_keeps_every_exchange():
    flows = FLOWS[["visitor_country", "host_country", "exchanges"]]
    sankey = charts.country_sankey(flows).data[0]
    assert len(sankey.node.label) == 6 and sum(sankey.link.value) == flows["exchanges"].sum()
