"""Plotly figures as pure functions of DataFrames: no Streamlit, no store, testable alone.

Maps use plotly's MapLibre traces on a blank style with the project's own country shapes,
because plotly's geo traces fetch their base map from a CDN and draw nothing offline.
"""

from __future__ import annotations

import html
import math
import textwrap

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

from cx.formats import euros
from cx.geo import country_shapes, geodesic_path

# Colours a colour-blind reader tells apart (Okabe and Ito's palette; viridis for the workflow; cividis
# for quantities), each at least 3:1 against the white background (WCAG 2.1, 1.4.11). No meaning rests on
# red against green, and every chart has its numbers in text beside it (cx.summaries).
BLUE, VERMILLION, GREEN, PURPLE, GREY = "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#767676"
SEQUENTIAL = "cividis_r"  # light for few, dark blue for many


def contrast(colour: str, background: str = "#ffffff") -> float:
    """WCAG 2.1 contrast ratio of two #rrggbb colours (1 to 21)."""
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    darker, lighter = sorted((luminance(colour), luminance(background)))
    return (lighter + 0.05) / (darker + 0.05)

# One colour per status, in the order of the workflow (viridis, darker as it goes on), so every chart
# reads the same way; the two ways out stand apart.
STATUS_COLOURS = {
    "requested": "#1f9e89", "approved": "#26828e", "ongoing": "#31688e", "completed": "#3e4989",
    "reported": "#482878", "paid": "#440154", "rejected": VERMILLION, "cancelled": GREY,
}
# What remains of an allocation: pale, as room left, inside a blue outline that stands out from white.
REMAINING, REMAINING_OUTLINE = "#c6dbef", BLUE
KIND_COLOURS = {"cluster organisation": BLUE, "SME": VERMILLION, "scaling-up support organisation": GREEN,
                "other": PURPLE}


# The kinds of trace cx draws that plotly_white has settings for (Funnel, Sankey and Choroplethmap have none).
TRACES = ("bar", "scatter", "heatmap", "scattermap")


def _white() -> go.layout.Template:
    """plotly_white's settings for the traces cx draws and for flat axes: the same look, in a fifth of
    the size. Every figure carries its template, which Streamlit copies and serialises on every run:
    plotly_white's settings for 24 kinds of trace and for geo, polar, 3D and ternary axes are 6.6 KB
    a chart (Uptake's first tab: 26 KB sent and 3.3 ms, against 10 KB and 1.7 ms, measured). Colour
    scales are left out: every chart sets its own."""
    white = pio.templates["plotly_white"].to_plotly_json()
    data = {kind: [{k: v for k, v in each.items() if k != "colorscale"} for each in white["data"][kind]]
            for kind in TRACES}
    layout = {k: v for k, v in white["layout"].items() if k not in ("geo", "polar", "scene", "ternary", "colorscale")}
    return go.layout.Template(data=data, layout=layout)


# Every chart is drawn on white: the colours above are chosen for it. Set as the default, each figure
# takes the template once as it is built; set in `_layout`, it was validated and copied twice (a third of
# a small bar chart's time, measured).
TEMPLATE = "cx_white"
pio.templates[TEMPLATE] = _white()
pio.templates.default = TEMPLATE  # and again in cx.ui: importing streamlit makes its own the default

# The project's country outlines (`cx.geo.country_shapes`) as a map takes them: the GeoJSON itself, or
# the URL at which the app serves the same file (`cx.ui.widgets.country_outlines`).
Shapes = dict | str

# Plotly's toolbar (the modebar) shows over the top-right corner of a chart while the pointer is on it
# (or after a tap on a phone): the title sits under that strip rather than in it.
MODEBAR_PX = 36


# The frame every chart shares, checked by plotly once. Set as properties, each is copied into the
# figure; `update_layout` with the same dicts checked them key by key through its batch-update
# machinery on every chart (5.5 ms of a 6.5 ms bar chart, a quarter of an Uptake run, measured).
_MARGIN = go.layout.Margin(l=10, r=10, t=MODEBAR_PX + 34, b=10)
_LEGEND = go.layout.Legend(title_text="", orientation="h", x=0, xanchor="left", y=0, yref="container",
                           yanchor="bottom")
_MODEBAR = go.layout.Modebar(remove=["select", "lasso", "autoScale"])


def _layout(figure: go.Figure, title: str, height: int = 380) -> go.Figure:
    """Title and legend placed so that a phone's 390 pixels hold them: the title starts at the left,
    under the modebar's strip; the legend runs along the bottom instead of taking a column."""
    layout = figure.layout
    layout.title = go.layout.Title(text=title, x=0, xref="container", xanchor="left", y=1, yref="container",
                                   yanchor="top", pad=dict(t=MODEBAR_PX, l=10))
    layout.height = height
    layout.margin, layout.legend, layout.modebar = _MARGIN, _LEGEND, _MODEBAR
    return figure


def _colour_bar(title: str) -> dict:
    """A colour scale's bar, lying along the bottom: standing beside a map or matrix it takes a quarter
    of a phone's width."""
    return dict(title=dict(text=title, side="top"), orientation="h", x=0, xanchor="left", y=0, yref="container",
                yanchor="bottom", len=0.5, thickness=12)


def organisations_by_country(table: pd.DataFrame) -> go.Figure:
    """Stacked bars of organisations per country, by kind, largest countries first."""
    order = table.groupby("country")["organisations"].sum().sort_values(ascending=False).index.tolist()
    figure = px.bar(table, x="country", y="organisations", color="kind", color_discrete_map=KIND_COLOURS,
                    category_orders={"country": order, "kind": list(KIND_COLOURS)})
    return _layout(figure, "Organisations by country and kind")


def exchanges_by_status(table: pd.DataFrame) -> go.Figure:
    """Exchanges per status, in the order of the workflow."""
    table = table.set_index("status").reindex(list(STATUS_COLOURS)).fillna(0).reset_index()
    figure = px.bar(table, x="status", y="exchanges", color="status", color_discrete_map=STATUS_COLOURS,
                    text="exchanges")
    figure.update_layout(showlegend=False)
    return _layout(figure, "Exchanges by status")


def money_over_time(table: pd.DataFrame, envelope_eur: int | None = None) -> go.Figure:
    """Cumulative lump sums committed and paid, against the budget envelope."""
    figure = go.Figure()
    figure.add_scatter(x=table["month"], y=table["committed_eur"], name="committed", mode="lines",
                       line=dict(color=BLUE, width=3))
    figure.add_scatter(x=table["month"], y=table["paid_eur"], name="paid", mode="lines",
                       line=dict(color=GREEN, width=3, dash="dot"))
    if envelope_eur:
        figure.add_hline(y=envelope_eur, line_dash="dash", line_color=VERMILLION,
                         annotation_text=f"envelope {euros(envelope_eur)}")
    figure.update_yaxes(title="EUR, cumulative", tickformat=",")
    return _layout(figure, "Lump sums committed and paid")


# --- budget scenarios --------------------------------------------------------------------------

SCENARIO_COLOURS = (BLUE, VERMILLION, GREEN, PURPLE)


def _typed(text) -> str:
    """Text people typed (a name, a city), for a plotly label: plotly reads `<b>`, `<a href>` and
    `&amp;` in text as markup, so they are escaped to show as typed."""
    return html.escape(str(text), quote=False)


def budget_distribution(totals: pd.DataFrame, envelope_eur: int) -> go.Figure:
    """The simulated total cost of one or more scenarios (overlaid histograms) against the envelope;
    `totals` has a row per run: scenario, total_eur."""
    figure = go.Figure()
    totals = {name: runs.to_numpy() for name, runs in totals.groupby("scenario", sort=False)["total_eur"]}
    for (name, values), colour in zip(totals.items(), SCENARIO_COLOURS * 2):
        # Overlaid fills are see-through so that overlaps show; each outline stays solid (3:1 on white).
        fill = colour if len(totals) == 1 else "rgba({},{},{},0.45)".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))
        figure.add_histogram(x=values, name=_typed(name), nbinsx=60, histnorm="probability",
                             marker=dict(color=fill, line=dict(color=colour, width=1)))
    figure.add_vline(x=envelope_eur, line_dash="dash", line_color="#444",
                     annotation_text=f"envelope {euros(envelope_eur)}", annotation_position="top")
    figure.update_layout(barmode="overlay", showlegend=len(totals) > 1)
    figure.update_xaxes(title="total lump sums, EUR", tickformat=",")
    figure.update_yaxes(title="share of runs", tickformat=".0%")
    return _layout(figure, "Total cost over the simulated runs")


def cost_by_host_country(by_country: pd.DataFrame) -> go.Figure:
    """Expected lump sums per host country, largest first."""
    table = by_country.sort_values("cost_eur")
    figure = px.bar(table, x="cost_eur", y="name", orientation="h", hover_data=["country", "exchanges"],
                    labels={"cost_eur": "expected lump sums, EUR", "name": "", "exchanges": "expected exchanges"})
    figure.update_traces(marker_color=BLUE)
    figure.update_xaxes(tickformat=",")
    return _layout(figure, "Expected cost by host country", height=max(380, 18 * len(table) + 80))


def cost_by_host_country_map(by_country: pd.DataFrame, shapes: Shapes) -> go.Figure:
    """Expected lump sums per host country on an offline map (MapLibre, blank style, own shapes)."""
    figure = go.Figure(go.Choroplethmap(
        geojson=shapes, locations=by_country["country"], z=by_country["cost_eur"], featureidkey="id",
        colorscale=SEQUENTIAL, marker_line_width=0.5, marker_line_color="#666",
        customdata=by_country[["name", "exchanges"]],
        hovertemplate="%{customdata[0]}<br>EUR %{z:,}<br>%{customdata[1]} exchanges<extra></extra>",
        colorbar=_colour_bar("expected lump sums, EUR"),
    ))
    figure.update_layout(map_style="white-bg", map_center={"lat": 52, "lon": 14}, map_zoom=2.1)
    return _layout(figure, "Expected cost by host country (map)", height=560)


def host_suggestions_map(suggestions: pd.DataFrame, visitor_location: tuple[float, float] | None = None,
                         shapes: Shapes | None = None) -> go.Figure:
    """The suggested hosts as circles sized by score, with geodesic arcs from the visitor when the
    visitor's place is known. MapLibre traces on the blank "white-bg" style, circle markers and
    hover text only (labels and icons would fetch glyphs from the network)."""
    placed = suggestions.dropna(subset=["lat", "lon"])
    figure = go.Figure()
    if visitor_location is not None:
        lats, lons = [], []
        for lat, lon in zip(placed["lat"], placed["lon"]):
            arc_lats, arc_lons = geodesic_path(visitor_location[0], visitor_location[1], lat, lon, points=16)
            lats += [*arc_lats, None]
            lons += [*arc_lons, None]
        figure.add_trace(go.Scattermap(lat=lats, lon=lons, mode="lines", line=dict(width=1.5, color=BLUE),
                                       hoverinfo="skip", name="to the host"))
        figure.add_trace(go.Scattermap(lat=[visitor_location[0]], lon=[visitor_location[1]], mode="markers",
                                       marker=dict(size=14, color=VERMILLION), name="visitor",
                                       hovertemplate="the visitor<extra></extra>"))
    hover = [f"{rank}. {_typed(name)}<br>{_typed(city or '')} {country} · score {score:.2f}"
             for rank, name, city, country, score in zip(range(1, len(placed) + 1), placed["name"], placed["city"],
                                                         placed["country"], placed["score"])]
    figure.add_trace(go.Scattermap(lat=placed["lat"], lon=placed["lon"], mode="markers", name="hosts",
                                   marker=dict(size=8 + 22 * placed["score"].to_numpy(), color=BLUE),
                                   text=hover, hovertemplate="%{text}<extra></extra>"))
    lats = [*placed["lat"], *([visitor_location[0]] if visitor_location else [])] or [50.0]
    lons = [*placed["lon"], *([visitor_location[1]] if visitor_location else [])] or [10.0]
    # The zoom at which every place fits about 800 x 350 pixels: the world is 512 pixels wide at
    # zoom 0, and Mercator stretches a degree of latitude about 1.5 times at European latitudes.
    zoom = min(math.log2(800 * 360 / (512 * max(max(lons) - min(lons), 0.5))),
               math.log2(350 * 360 / (512 * 1.5 * max(max(lats) - min(lats), 0.5)))) - 0.2
    layers = [dict(sourcetype="geojson", source=shapes, type="line", color="#bdbdbd")] if shapes else []
    figure.update_layout(map=dict(style="white-bg", layers=layers, zoom=min(max(zoom, 0.0), 9.0),
                                  center=dict(lat=(max(lats) + min(lats)) / 2, lon=(max(lons) + min(lons)) / 2)))
    return _layout(figure, "Suggested hosts", height=460)


# --- uptake -----------------------------------------------------------------------------------

LAGGING, IN_BETWEEN, ON_TRACK = VERMILLION, GREY, BLUE


def pipeline_funnel(table: pd.DataFrame) -> go.Figure:
    """The exchanges that reached each stage of the workflow, as a funnel."""
    figure = go.Figure(go.Funnel(y=table["stage"], x=table["reached"], textinfo="value+percent initial",
                                 marker=dict(color=[STATUS_COLOURS[s] for s in table["stage"]]),
                                 customdata=table["now"], hovertemplate="%{y}: %{x:,} reached, %{customdata:,} there now"
                                                                         "<extra></extra>"))
    return _layout(figure, "Pipeline: exchanges that reached each stage")


def monthly_progress(table: pd.DataFrame, target: int) -> go.Figure:
    """Exchanges per month (bars) and completed exchanges to date against the target trajectory."""
    traces = [go.Bar(x=table["month"], y=table["exchanges"], name="exchanges starting", marker_color=GREY),
              go.Scatter(x=table["month"], y=table["cumulative_completed"], name="completed to date", mode="lines",
                         line=dict(color=ON_TRACK, width=3), yaxis="y2")]
    if table["target_trajectory"].notna().any():
        traces.append(go.Scatter(x=table["month"], y=table["target_trajectory"], name=f"target trajectory ({target:,})",
                                 mode="lines", line=dict(color=LAGGING, dash="dash", width=2), yaxis="y2"))
    figure = go.Figure(traces, layout=go.Layout(
        yaxis=dict(title="exchanges per month"),
        yaxis2=dict(title="completed, cumulative", overlaying="y", side="right", rangemode="tozero", tickmode="auto",
                    showgrid=False)))
    return _layout(figure, "Exchanges per month; completed against target")


def partnership_progress(table: pd.DataFrame) -> go.Figure:
    """Each partnership's completed exchanges as a share of its target, the laggards on top."""
    table = table.sort_values("share_of_target", ascending=False, na_position="first")
    share = table["share_of_target"].fillna(0)
    median = share.median()
    # The target's line and label are laid out as they are built: `add_vline` and `update_xaxes` went
    # through plotly's batch updates, a sixth of an Uptake run's charts (sampled with py-spy).
    figure = go.Figure(go.Bar(
        x=share * 100, y=table["partnership"].map(_typed), orientation="h",
        marker_color=[ON_TRACK if s >= 1 else LAGGING if s < median else IN_BETWEEN for s in share],
        customdata=table[["completed", "target_exchanges"]],
        text=[f"{c:,} / {t:,}" for c, t in zip(table["completed"], table["target_exchanges"])], textposition="auto",
        hovertemplate="%{y}: %{customdata[0]:,} of %{customdata[1]:,} completed (%{x:.0f}%)<extra></extra>"),
        layout=go.Layout(
            shapes=[dict(type="line", x0=100, x1=100, xref="x", y0=0, y1=1, yref="y domain",
                         line=dict(color="#636363", dash="dash"))],
            annotations=[dict(text="target", x=100, xref="x", xanchor="left", y=1, yref="y domain", yanchor="top",
                              showarrow=False)],
            xaxis=dict(title="completed exchanges, % of the partnership's target")))
    return _layout(figure, "Partnerships against their targets", height=max(300, 28 * len(table) + 120))


def partnership_money(table: pd.DataFrame) -> go.Figure:
    """Each partnership's money as one bar: paid, committed but not yet paid, and what remains of
    its allocation; a tick marks the allocation, so committing beyond it shows as a bar past the
    tick. `table` is cx.money's."""
    table = table.sort_values("partnership_id", ascending=False)
    names = table["partnership_id"] + " · " + table["partnership"].map(_typed)
    figure = go.Figure()
    for name, values, colour, outline in (
            ("paid", table["paid_eur"], STATUS_COLOURS["paid"], STATUS_COLOURS["paid"]),
            ("committed, not yet paid", table["committed_eur"] - table["paid_eur"], BLUE, BLUE),
            ("remaining", table["remaining_eur"].astype("Float64").clip(lower=0).fillna(0), REMAINING,
             REMAINING_OUTLINE)):
        figure.add_bar(x=values.astype("float64"), y=names, orientation="h", name=name, marker_color=colour,
                       marker_line=dict(color=outline, width=1.5),
                       hovertemplate="%{y}: " + name + " EUR %{x:,.0f}<extra></extra>")
    allocated = table["allocated_eur"].astype("Float64")
    figure.add_scatter(x=allocated.astype("float64"), y=names, mode="markers", name="allocation",
                       marker=dict(symbol="line-ns-open", size=22, color=VERMILLION, line=dict(width=3)),
                       hovertemplate="%{y}: allocated EUR %{x:,.0f}<extra></extra>")
    figure.update_layout(barmode="stack")
    figure.update_xaxes(title="EUR", tickformat=",")
    return _layout(figure, "Money per partnership",  # its legend names the parts (a phone holds no longer title)
                   height=max(300, 28 * len(table) + 140))


def country_sankey(flows: pd.DataFrame) -> go.Figure:
    """Exchanges flowing from visitor countries (left) to host countries (right)."""
    visitors = sorted(flows["visitor_country"].unique())
    hosts = sorted(flows["host_country"].unique())
    labels = [f"{c} (visitors)" for c in visitors] + [f"{c} (hosts)" for c in hosts]
    figure = go.Figure(go.Sankey(
        node=dict(label=labels, pad=6, thickness=14, color=[BLUE] * len(visitors) + [PURPLE] * len(hosts)),
        link=dict(source=flows["visitor_country"].map({c: i for i, c in enumerate(visitors)}),
                  target=flows["host_country"].map({c: len(visitors) + i for i, c in enumerate(hosts)}),
                  value=flows["exchanges"], color="rgba(118,118,118,0.8)")))
    return _layout(figure, "From visitor country to host country", height=max(450, 14 * max(len(visitors), len(hosts))))


def _matrix(pairs: pd.DataFrame, rows: str, columns: str, hover: str) -> go.Heatmap:
    """Exchanges per pair of `rows` and `columns`, each cell's count written in it (blank for none)
    instead of a colour bar beside the matrix, which on a phone takes a quarter of its width."""
    matrix = pairs.pivot_table(index=rows, columns=columns, values="exchanges", aggfunc="sum", fill_value=0)
    counts = matrix.to_numpy()
    return go.Heatmap(z=counts, x=matrix.columns, y=matrix.index, colorscale=SEQUENTIAL, showscale=False,
                      text=[[f"{n:,}" if n else "" for n in row] for row in counts], texttemplate="%{text}",
                      hovertemplate=hover)


def country_heatmap(flows: pd.DataFrame) -> go.Figure:
    """Exchanges per visitor country (rows) and host country (columns)."""
    figure = go.Figure(_matrix(flows, "visitor_country", "host_country", "%{y} → %{x}: %{z:,} exchanges<extra></extra>"))
    figure.update_xaxes(title="host country", tickangle=0)
    figure.update_yaxes(title="visitor country", autorange="reversed")
    return _layout(figure, "Exchanges by visitor and host country", height=max(450, 16 * len(figure.data[0].y) + 150))


def ecosystem_heatmap(pairs: pd.DataFrame) -> go.Figure:
    """Exchanges by visitor ecosystem and host ecosystem; off the diagonal they cross ecosystems."""
    figure = go.Figure(_matrix(pairs, "visitor_ecosystem", "host_ecosystem",
                               "visitor in %{y}, host in %{x}: %{z:,}<extra></extra>"))
    # The rows' long names on two lines (in one they left the cells a fifth of a phone's width), the
    # columns' upright (slanted, they ran past its edge).
    rows = list(figure.data[0].y)
    figure.update_yaxes(title="visitor's ecosystem", autorange="reversed", tickvals=rows,
                        ticktext=["<br>".join(textwrap.wrap(_typed(name), 26)) for name in rows])
    figure.update_xaxes(title="host's ecosystem", tickangle=-90)
    return _layout(figure, "Visitor ecosystem against host ecosystem", height=720)


def threshold_histogram(table: pd.DataFrame, column: str, threshold: float, title: str, unit: str,
                        bar_width: float = 1) -> go.Figure:
    """Exchanges per value of `column`, with the halving threshold marked (below it, halved)."""
    below = table[column] < threshold
    figure = go.Figure(go.Bar(x=table[column] + (bar_width / 2 if bar_width > 1 else 0), y=table["exchanges"],
                              width=bar_width * 0.95, marker_color=[LAGGING if b else BLUE for b in below],
                              hovertemplate=f"%{{x}} {unit}: %{{y:,}} exchanges<extra></extra>"))
    figure.add_vline(x=threshold - (0.5 if bar_width == 1 else 0), line_dash="dash", line_color="#636363",
                     annotation_text=f"{threshold:g} {unit}: halved below")
    figure.update_xaxes(title=unit)
    figure.update_yaxes(title="exchanges")
    return _layout(figure, title)


# --- the exchange map --------------------------------------------------------------------------

ARC_CLASSES = ((1, 1, "1 exchange"), (2, 2.5, "2–4 exchanges"), (5, 4, "5 or more exchanges"))


def _blank_countries(shapes: Shapes) -> go.Figure:
    """A map of every country in the project's shapes, drawn light grey: the base that each map's
    own traces go on (nothing fetched from outside the app, so it draws offline)."""
    every = [feature["id"] for feature in country_shapes()["features"]]
    return go.Figure(go.Choroplethmap(
        geojson=shapes, featureidkey="id", locations=every, z=[0] * len(every), showscale=False,
        colorscale=[[0, "#f0f0f0"], [1, "#f0f0f0"]], marker_line_color="#bdbdbd", marker_line_width=0.5,
        hoverinfo="skip", name="countries", showlegend=False))


MOST_ARCS = 1500  # beyond this the arcs hide each other and the page slows; the busiest are drawn


def exchange_map(flows: pd.DataFrame, places: pd.DataFrame, countries: pd.DataFrame, shapes: Shapes,
                 shade: str = "hosted", arc_points: int = 16, most_arcs: int = MOST_ARCS) -> go.Figure:
    """Arcs from visitors' to hosts' cities (wider for more exchanges), cities sized by activity,
    countries shaded by exchanges `shade` ("hosted" or "sent"). Only the `most_arcs` first flows
    (the busiest: cx.uptake lists them so) are drawn.

    MapLibre traces on a blank style with the project's own shapes: nothing is fetched, so it
    draws offline. No text labels or symbols (those need glyphs from the network): hover instead."""
    flows = flows.head(most_arcs)
    figure = _blank_countries(shapes)
    active = countries[countries[shade] > 0]
    figure.add_trace(go.Choroplethmap(
        geojson=shapes, featureidkey="id", locations=active["country"], z=active[shade], colorscale=SEQUENTIAL,
        marker_line_color="white", marker_line_width=0.6, marker_opacity=0.75, name=f"exchanges {shade}",
        customdata=active[["sent", "hosted"]],
        hovertemplate="%{location}: %{customdata[1]:,} hosted, %{customdata[0]:,} sent<extra></extra>",
        colorbar=_colour_bar(f"exchanges {shade}")))
    bounds = [c[0] for c in ARC_CLASSES[1:]] + [float("inf")]
    for (low, width, label), high in zip(ARC_CLASSES, bounds):
        group = flows[(flows["exchanges"] >= low) & (flows["exchanges"] < high)]
        lats, lons, texts = [], [], []
        for row in group.itertuples(index=False):
            path_lats, path_lons = geodesic_path(row.visitor_lat, row.visitor_lon, row.host_lat, row.host_lon, arc_points)
            text = (f"{_typed(row.visitor_city)} ({row.visitor_country}) → {_typed(row.host_city)} "
                    f"({row.host_country}): {row.exchanges:,}")
            lats += [*path_lats, None]
            lons += [*path_lons, None]
            texts += [text] * len(path_lats) + [None]
        if lats:
            figure.add_trace(go.Scattermap(lat=lats, lon=lons, mode="lines", name=label, text=texts,
                                           hoverinfo="text", line=dict(width=width, color="rgba(213,94,0,0.9)")))
    for column, colour, name in (("hosted", PURPLE, "hosts"), ("sent", BLUE, "visitors")):
        side = places[places[column] > 0]
        figure.add_trace(go.Scattermap(
            lat=side["lat"], lon=side["lon"], mode="markers", name=name,
            marker=dict(size=4 + 3 * side[column].pow(0.5), color=colour),
            text=side["city"].map(_typed) + " (" + side["country"] + "): " + side["hosted"].astype(str) + " hosted, "
            + side["sent"].astype(str) + " sent", hoverinfo="text"))
    figure = _layout(figure, "Exchanges between cities", height=720)
    # The colour bar has the bottom; the legend goes over the map's top edge, above the arcs.
    figure.update_layout(map=dict(style="white-bg", center=dict(lat=51, lon=16), zoom=2.55),
                         legend=dict(y=1, yref="paper", yanchor="top", bgcolor="rgba(255,255,255,0.8)"))
    return figure


def mission_map(missions: pd.DataFrame, shapes: Shapes, arc_points: int = 16) -> go.Figure:
    """Each group mission as one: a marker at its hosts' region (sized by its visitors) and one arc
    from where its visitors come from on average. `missions` is cx.missions.missions' table, placed."""
    figure = _blank_countries(shapes)
    text = (missions["name"].map(_typed) + ": " + missions["visitors"].astype(str) + " visitors, "
            + missions["hosts"].astype(str) + " hosts, " + missions["start_date"].astype(str) + " to "
            + missions["end_date"].astype(str) + " (" + missions["statuses"] + ")")
    lats, lons, texts = [], [], []
    for row, label in zip(missions.itertuples(index=False), text):
        path_lats, path_lons = geodesic_path(row.visitor_lat, row.visitor_lon, row.host_lat, row.host_lon, arc_points)
        lats += [*path_lats, None]
        lons += [*path_lons, None]
        texts += [label] * len(path_lats) + [None]
    figure.add_trace(go.Scattermap(lat=lats, lon=lons, mode="lines", name="from the visitors' places",
                                   text=texts, hoverinfo="text", line=dict(width=1.5, color=BLUE)))
    figure.add_trace(go.Scattermap(lat=missions["host_lat"], lon=missions["host_lon"], mode="markers",
                                   name="missions (hosts' region)", text=text, hoverinfo="text",
                                   marker=dict(size=6 + 3 * missions["visitors"].pow(0.5), color=VERMILLION)))
    figure = _layout(figure, "Group missions, each drawn once", height=600)
    figure.update_layout(map=dict(style="white-bg", center=dict(lat=51, lon=16), zoom=2.55),
                         legend=dict(y=1, yref="paper", yanchor="top", bgcolor="rgba(255,255,255,0.8)"))
    return figure


def findings_by_rule(findings: pd.DataFrame) -> go.Figure:
    """Rows of an import report per broken rule, rejected and flagged, most frequent first."""
    table = findings.groupby(["rule", "outcome"])["row"].nunique(dropna=False).rename("rows").reset_index()
    order = table.groupby("rule")["rows"].sum().sort_values().index.tolist()
    figure = px.bar(table, x="rows", y="rule", color="outcome", orientation="h", text="rows",
                    category_orders={"rule": order},
                    color_discrete_map={"rejected": STATUS_COLOURS["rejected"], "flagged": GREY})
    figure.update_xaxes(tick0=0, dtick=max(1, int(table["rows"].max()) // 5))  # whole rows only
    return _layout(figure, "Rows by broken rule", height=max(220, 60 + 28 * len(order)))
