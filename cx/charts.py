"""Plotly figures as pure functions of DataFrames: no Streamlit, no store, testable alone.

Maps use plotly's MapLibre traces on a blank style with the project's own country shapes,
because plotly's geo traces fetch their base map from a CDN and draw nothing offline.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from cx.geo import geodesic_path

# One colour per status, in the order of the workflow, so every chart reads the same way.
STATUS_COLOURS = {
    "requested": "#9ecae1", "approved": "#4292c6", "ongoing": "#2171b5", "completed": "#41ab5d",
    "reported": "#238b45", "paid": "#00441b", "rejected": "#d94801", "cancelled": "#969696",
}
KIND_COLOURS = {
    "cluster organisation": "#1b9e77", "SME": "#d95f02", "scaling-up support organisation": "#7570b3", "other": "#e7298a",
}


def _layout(figure: go.Figure, title: str, height: int = 380) -> go.Figure:
    figure.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10),
                         legend_title_text="", template="plotly_white")
    return figure


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
                       line=dict(color="#4292c6", width=3))
    figure.add_scatter(x=table["month"], y=table["paid_eur"], name="paid", mode="lines",
                       line=dict(color="#00441b", width=3))
    if envelope_eur:
        figure.add_hline(y=envelope_eur, line_dash="dash", line_color="#d94801",
                         annotation_text=f"envelope EUR {envelope_eur:,}")
    figure.update_yaxes(title="EUR, cumulative", tickformat=",")
    return _layout(figure, "Lump sums committed and paid")


# --- budget scenarios --------------------------------------------------------------------------

SCENARIO_COLOURS = ("#2171b5", "#d94801", "#238b45", "#6a51a3")


def budget_distribution(totals: dict[str, np.ndarray], envelope_eur: int) -> go.Figure:
    """The simulated total cost of one or more scenarios (overlaid histograms) against the envelope."""
    figure = go.Figure()
    for (name, values), colour in zip(totals.items(), SCENARIO_COLOURS * 2):
        figure.add_histogram(x=values, name=name, opacity=0.6 if len(totals) > 1 else 0.85, nbinsx=60,
                             histnorm="probability", marker_color=colour)
    figure.add_vline(x=envelope_eur, line_dash="dash", line_color="#444",
                     annotation_text=f"envelope EUR {envelope_eur:,}", annotation_position="top")
    figure.update_layout(barmode="overlay", showlegend=len(totals) > 1)
    figure.update_xaxes(title="total lump sums, EUR", tickformat=",")
    figure.update_yaxes(title="share of runs", tickformat=".0%")
    return _layout(figure, "Total cost over the simulated runs")


def cost_by_host_country(by_country: pd.DataFrame) -> go.Figure:
    """Expected lump sums per host country, largest first."""
    table = by_country.sort_values("cost_eur")
    figure = px.bar(table, x="cost_eur", y="name", orientation="h", hover_data=["country", "exchanges"],
                    labels={"cost_eur": "expected lump sums, EUR", "name": "", "exchanges": "expected exchanges"})
    figure.update_traces(marker_color="#2171b5")
    figure.update_xaxes(tickformat=",")
    return _layout(figure, "Expected cost by host country", height=max(380, 18 * len(table) + 80))


def cost_by_host_country_map(by_country: pd.DataFrame, shapes: dict) -> go.Figure:
    """Expected lump sums per host country on an offline map (MapLibre, blank style, own shapes)."""
    figure = go.Figure(go.Choroplethmap(
        geojson=shapes, locations=by_country["country"], z=by_country["cost_eur"], featureidkey="id",
        colorscale="Blues", marker_line_width=0.5, marker_line_color="#666",
        customdata=by_country[["name", "exchanges"]],
        hovertemplate="%{customdata[0]}<br>EUR %{z:,}<br>%{customdata[1]} exchanges<extra></extra>",
        colorbar_title="EUR",
    ))
    figure.update_layout(map_style="white-bg", map_center={"lat": 52, "lon": 14}, map_zoom=2.1)
    return _layout(figure, "Expected cost by host country (map)", height=520)


def host_suggestions_map(suggestions: pd.DataFrame, visitor_location: tuple[float, float] | None = None,
                         country_shapes: dict | None = None) -> go.Figure:
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
        figure.add_trace(go.Scattermap(lat=lats, lon=lons, mode="lines", line=dict(width=1.5, color="#9ecae1"),
                                       hoverinfo="skip", name="to the host"))
        figure.add_trace(go.Scattermap(lat=[visitor_location[0]], lon=[visitor_location[1]], mode="markers",
                                       marker=dict(size=14, color="#d94801"), name="visitor",
                                       hovertemplate="the visitor<extra></extra>"))
    hover = [f"{rank}. {name}<br>{city or ''} {country} · score {score:.2f}"
             for rank, name, city, country, score in zip(range(1, len(placed) + 1), placed["name"], placed["city"],
                                                         placed["country"], placed["score"])]
    figure.add_trace(go.Scattermap(lat=placed["lat"], lon=placed["lon"], mode="markers", name="hosts",
                                   marker=dict(size=8 + 22 * placed["score"].to_numpy(), color="#2171b5", opacity=0.85),
                                   text=hover, hovertemplate="%{text}<extra></extra>"))
    lats = [*placed["lat"], *([visitor_location[0]] if visitor_location else [])] or [50.0]
    lons = [*placed["lon"], *([visitor_location[1]] if visitor_location else [])] or [10.0]
    # The zoom at which every place fits about 800 x 350 pixels: the world is 512 pixels wide at
    # zoom 0, and Mercator stretches a degree of latitude about 1.5 times at European latitudes.
    zoom = min(math.log2(800 * 360 / (512 * max(max(lons) - min(lons), 0.5))),
               math.log2(350 * 360 / (512 * 1.5 * max(max(lats) - min(lats), 0.5)))) - 0.2
    layers = [dict(sourcetype="geojson", source=country_shapes, type="line", color="#bdbdbd")] if country_shapes else []
    figure.update_layout(
        map=dict(style="white-bg", layers=layers, zoom=min(max(zoom, 0.0), 9.0),
                 center=dict(lat=(max(lats) + min(lats)) / 2, lon=(max(lons) + min(lons)) / 2)),
        height=420, margin=dict(l=0, r=0, t=30, b=0), legend=dict(orientation="h", y=1.02, x=0),
        title="Suggested hosts",
    )
    return figure
