"""Chart colours: every mark stands out from the white background (3:1, WCAG 2.1 1.4.11), and the
theme's text (4.5:1) too; the workflow reads darker as it goes on."""

import tomllib

import pytest

from cx import PROJECT_ROOT, charts

MARKS = {**{f"status {k}": v for k, v in charts.STATUS_COLOURS.items()},
         **{f"kind {k}": v for k, v in charts.KIND_COLOURS.items()},
         **{f"scenario {i}": v for i, v in enumerate(charts.SCENARIO_COLOURS)},
         "lagging": charts.LAGGING, "in between": charts.IN_BETWEEN, "on track": charts.ON_TRACK}


def test_the_contrast_ratio_is_wcag_s():
    assert charts.contrast("#000000") == pytest.approx(21)
    assert charts.contrast("#ffffff") == pytest.approx(1)
    assert charts.contrast("#767676") == pytest.approx(4.54, abs=0.01)  # the known AA grey
    assert charts.contrast("#ffffff", "#767676") == charts.contrast("#767676", "#ffffff")


@pytest.mark.parametrize("name", MARKS)
def test_every_mark_stands_out_from_the_background(name):
    assert charts.contrast(MARKS[name]) >= 3, f"{name} ({MARKS[name]}) is under 3:1 on white"


def test_the_workflow_gets_darker_as_it_goes_on():
    going_ahead = [charts.STATUS_COLOURS[s] for s in ("requested", "approved", "ongoing", "completed", "reported")]
    ratios = [charts.contrast(colour) for colour in going_ahead]
    assert ratios == sorted(ratios)


def test_the_theme_s_text_and_primary_colour_meet_aa():
    theme = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())["theme"]
    assert charts.contrast(theme["primaryColor"]) >= 4.5
    assert charts.contrast(theme["linkColor"]) >= 4.5
    # Streamlit draws captions in the text colour at 60% opacity over the background.
    text = [int(theme["textColor"][i:i + 2], 16) for i in (1, 3, 5)]
    caption = "#" + "".join(f"{round(0.6 * c + 0.4 * 255):02x}" for c in text)
    assert charts.contrast(caption) >= 4.5


def test_the_map_shades_countries_on_the_charts_colour_blind_safe_scale_light_to_dark():
    """Not plotly's "Blues": the same cividis as the heatmaps, its few exchanges pale and its many dark."""
    import pandas as pd
    from cx.geo import country_shapes

    countries = pd.DataFrame({"country": ["PT", "IT", "MT"], "sent": [1, 0, 0], "hosted": [0, 1, 3]})
    places = pd.DataFrame({"city": ["Milan"], "country": ["IT"], "lat": [45.46], "lon": [9.19], "sent": [0], "hosted": [1]})
    flows = pd.DataFrame(columns=["visitor_city", "visitor_country", "visitor_lat", "visitor_lon", "host_city",
                                  "host_country", "host_lat", "host_lon", "exchanges"])
    shaded = charts.exchange_map(flows, places, countries, country_shapes()).data[1]
    heatmap = charts.country_heatmap(pd.DataFrame({"visitor_country": ["PT"], "host_country": ["IT"], "exchanges": [1]}))
    assert shaded.colorscale == heatmap.data[0].colorscale
    ratios = [charts.contrast(colour) for _, colour in shaded.colorscale]
    assert ratios == sorted(ratios) and ratios[-1] >= 7  # the busiest countries are dark against white


def _opaque(colour: str) -> bool:
    return colour.startswith("#")  # rgba() marks are see-through: on white they are paler than their colour


def test_the_money_and_mission_charts_marks_stand_out_from_white():
    """Each bar's outline (a pale fill's border) and each of the mission map's lines and markers: 3:1, opaque."""
    import pandas as pd
    from cx.geo import country_shapes

    money = charts.partnership_money(pd.DataFrame({
        "partnership_id": ["P01"], "partnership": ["Agri-food"], "allocated_eur": [100_000], "committed_eur": [60_000],
        "paid_eur": [40_000], "remaining_eur": [40_000]}))
    bars = [trace for trace in money.data if trace.type == "bar"]
    assert [bar.name for bar in bars] == ["paid", "committed, not yet paid", "remaining"]
    for bar in bars:
        assert _opaque(bar.marker.line.color) and charts.contrast(bar.marker.line.color) >= 3, bar.name
    missions = pd.DataFrame({"name": ["Porto textiles"], "visitors": [3], "hosts": [3], "start_date": ["2027-03-01"],
                             "end_date": ["2027-03-03"], "statuses": ["3 requested"], "visitor_lat": [48.1],
                             "visitor_lon": [11.6], "host_lat": [41.15], "host_lon": [-8.61]})
    lines, markers = charts.mission_map(missions, country_shapes()).data[-2:]
    for colour in (lines.line.color, markers.marker.color):
        assert _opaque(colour) and charts.contrast(colour) >= 3, colour
    assert markers.marker.opacity in (None, 1)


def _as_drawn_on_white(colour: str, opacity: float | None = None) -> str:
    """An `rgba(...)` colour, or a colour with a trace opacity, as it looks over white."""
    if colour.startswith("rgba"):
        *channels, alpha = (float(part) for part in colour[5:-1].split(","))
    else:
        channels, alpha = [int(colour[i:i + 2], 16) for i in (1, 3, 5)], 1.0
    alpha *= 1 if opacity is None else opacity
    return "#" + "".join(f"{round(alpha * c + (1 - alpha) * 255):02x}" for c in channels)


def test_the_flow_charts_lines_links_and_markers_stand_out_from_white():
    """The exchange map's arcs and cities, the suggested hosts' map and the country Sankey's links:
    what they carry is in their marks, so each mark as drawn on white is 3:1 (WCAG 2.1 1.4.11)."""
    import pandas as pd
    from cx.geo import country_shapes

    flows = pd.DataFrame({"visitor_city": ["Porto"], "visitor_country": ["PT"], "visitor_lat": [41.15],
                          "visitor_lon": [-8.61], "host_city": ["Milan"], "host_country": ["IT"], "host_lat": [45.46],
                          "host_lon": [9.19], "exchanges": [3]})
    places = pd.DataFrame({"city": ["Porto", "Milan"], "country": ["PT", "IT"], "lat": [41.15, 45.46],
                           "lon": [-8.61, 9.19], "sent": [3, 0], "hosted": [0, 3]})
    countries = pd.DataFrame({"country": ["PT", "IT"], "sent": [3, 0], "hosted": [0, 3]})
    suggestions = pd.DataFrame({"name": ["Host"], "city": ["Milan"], "country": ["IT"], "lat": [45.46], "lon": [9.19],
                                "score": [0.4]})
    marks = {}
    for chart, figure in (("exchange map", charts.exchange_map(flows, places, countries, country_shapes())),
                          ("hosts map", charts.host_suggestions_map(suggestions, (41.15, -8.61)))):
        for trace in figure.data:
            if trace.type == "scattermap" and trace.mode == "lines":
                marks[f"{chart}: {trace.name}"] = _as_drawn_on_white(trace.line.color)
            elif trace.type == "scattermap":
                marks[f"{chart}: {trace.name}"] = _as_drawn_on_white(trace.marker.color, trace.marker.opacity)
    sankey = charts.country_sankey(flows[["visitor_country", "host_country", "exchanges"]])
    marks["sankey links"] = _as_drawn_on_white(sankey.data[0].link.color)
    assert len(marks) == 7, marks  # one arc class, two kinds of city; the line, visitor and hosts; the links
    faint = {name: colour for name, colour in marks.items() if charts.contrast(colour) < 3}
    assert not faint, f"under 3:1 on white: {faint}"


def test_overlaid_scenarios_keep_a_solid_outline():
    """Two scenarios' histograms overlap, so their fills are see-through; each bar's outline is what
    stands out from white (and from the other scenario's fill)."""
    import pandas as pd

    totals = pd.DataFrame({"scenario": ["A"] * 3 + ["B"] * 3, "total_eur": [1, 2, 3, 2, 3, 4]})
    for trace in charts.budget_distribution(totals, envelope_eur=5).data:
        assert trace.opacity in (None, 1), trace.name
        assert _opaque(trace.marker.line.color) and charts.contrast(trace.marker.line.color) >= 3, trace.name


def test_charts_are_drawn_on_white_which_their_colours_are_chosen_for():
    import pandas as pd

    by_status = charts.exchanges_by_status(pd.DataFrame({"status": ["approved"], "exchanges": [3]}))
    money = charts.money_over_time(pd.DataFrame({"month": ["2026-01"], "committed_eur": [1], "paid_eur": [0]}))
    for figure in (by_status, money):  # one built by plotly express, one by hand
        assert figure.layout.template.layout.plot_bgcolor == "white"
        assert figure.layout.template.layout.paper_bgcolor == "white"


def test_the_template_keeps_plotly_white_s_settings_for_every_kind_of_trace_cx_draws():
    """cx's template is plotly_white cut to what cx draws (every figure carries it to the browser): each
    kind of trace named in cx/charts.py keeps plotly_white's settings, colour scale aside."""
    import re

    import plotly.io as pio

    white, ours = pio.templates["plotly_white"].to_plotly_json(), pio.templates[charts.TEMPLATE].to_plotly_json()
    source = (PROJECT_ROOT / "cx" / "charts.py").read_text()
    drawn = {name.lower() for name in re.findall(r"go\.([A-Z]\w*)\(", source)} - {"figure", "layout"}
    drawn |= set(re.findall(r"px\.(\w+)\(", source))
    assert drawn >= {"bar", "scatter", "heatmap", "scattermap", "funnel", "sankey", "choroplethmap"}
    for kind in drawn & set(white["data"]):
        assert ours["data"].get(kind) == [{k: v for k, v in each.items() if k != "colorscale"}
                                          for each in white["data"][kind]], kind
    assert ours["layout"]["plot_bgcolor"] == ours["layout"]["paper_bgcolor"] == "white"
    assert all(ours["layout"][axis] == white["layout"][axis] for axis in ("xaxis", "yaxis", "font", "hoverlabel"))
