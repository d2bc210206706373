"""Plotly figures as pure functions of DataFrames: no Streamlit, no store, testable alone.

Maps use plotly's MapLibre traces on a blank style with the project's own country shapes,
because plotly's geo traces fetch their base map from a CDN and draw nothing offline.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

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
