"""Small shared widgets: headline figures with their change, downloads, figures with their facts in text."""

from __future__ import annotations

import hashlib
import pickle
import re
import threading
from collections import OrderedDict
from urllib.parse import urljoin

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cx.export import to_csv_bytes, to_excel_bytes
from cx.formats import euros, euros_short
from cx.geo import COUNTRY_SHAPES, country_shapes

UPTAKE_TAB = "uptake_tab"  # the Uptake page's tab shown, which is the one it computes

# How each kind of headline figure is written, and how its change against the previous period is.
FORMATS = {
    "count": (lambda v: f"{v:,.0f}", lambda d: f"{d:+,.0f}"),
    "euros": (euros_short, lambda d: f"{'+' if d >= 0 else '-'}{euros_short(abs(d))}"),
    "share": (lambda v: f"{v:.0%}", lambda d: f"{d * 100:+.1f} pp"),
    "days": (lambda v: f"{v:.1f} days", lambda d: f"{d:+.1f} days"),
    "km": (lambda v: f"{v:,.0f} km", lambda d: f"{d:+,.0f} km"),
}


def headline_figure(column, label: str, figures: dict, key: str, kind: str = "count", *,
                    help: str | None = None, up_is_good: bool | None = True, value: str | None = None) -> None:
    """One headline figure with its change against the previous period of the same length.

    `figures` is `cx.uptake.headline(...)`; `value` overrides the written value (e.g. "254 / 600")."""
    current = figures["current"][key]
    previous = figures["previous"][key] if figures["previous"] else None
    write, write_change = FORMATS[kind]
    delta = None
    if current is not None and previous is not None:
        delta = write_change(current - previous)
    colour = "off" if up_is_good is None else "normal" if up_is_good else "inverse"
    if kind == "euros" and help is None and current is not None:
        help = euros(current)
    column.metric(label, value or ("–" if current is None else write(current)), delta, delta_color=colour,
                  help=help)


def downloads(table: pd.DataFrame, name: str, key: str) -> None:
    """CSV and Excel buttons for a table, each file written only when its button is clicked (on
    a thread of its own, without rerunning the page); formulas in cells are neutralised (cx.export).
    The two sit in one horizontal container: columns would send three blocks to the browser, on
    every run of every page with a chart."""
    stem = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    row = st.container(horizontal=True)
    row.download_button("CSV", lambda: to_csv_bytes(table), f"{stem}.csv", "text/csv", key=f"{key}_csv",
                        icon=":material/download:", on_click="ignore")
    row.download_button("Excel", lambda: to_excel_bytes(table, sheet=name), f"{stem}.xlsx",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        key=f"{key}_xlsx", icon=":material/download:", on_click="ignore")


class _Charts:
    """Charts built once and shared by every session, the last used within `budget` bytes (an
    exchange map with its arcs pickles to 0.6 MB, a bar chart to 10 KB): plotly checks every property
    as a figure is built, which took nearly half of an Uptake run (sampled with py-spy), and sessions
    draw the same tables again (a rerun, another person on the same filters). A chart is found by its
    builder, its table (`_content`) and its arguments. Sharing is safe because Streamlit draws a copy
    of the figure (`plotly_chart` serialises `figure.to_dict()`)."""

    def __init__(self, budget: int):
        self.budget, self.size, self.charts, self.lock = budget, 0, OrderedDict(), threading.Lock()

    def built(self, build, table: pd.DataFrame, arguments: tuple) -> go.Figure:
        key = (build.__module__, build.__qualname__, _content(table), _known_by(arguments))
        with self.lock:
            if key in self.charts:
                self.charts.move_to_end(key)
                return self.charts[key][0]
        chart = build(table, *arguments)
        size = len(pickle.dumps(chart, protocol=5))
        with self.lock:
            if key not in self.charts:
                self.charts[key] = (chart, arguments, size)
                self.size += size
            while self.size > self.budget:
                self.size -= self.charts.popitem(last=False)[1][2]
        return chart


def _known_by(argument):
    """A chart argument as a key: a plain value (or a tuple of them) as itself, anything else (the
    country outlines, a frame of places) by its identity. `_Charts` holds the arguments with the
    chart, so that no other object takes that identity while it is kept."""
    if isinstance(argument, (str, int, float, bool, type(None))):
        return argument
    if isinstance(argument, tuple):
        return tuple(_known_by(a) for a in argument)
    return ("id", id(argument))


def _content(table: pd.DataFrame) -> str:
    """A digest of a table's pickle: equal pickles are equal tables, and a table made the same way
    pickles the same. (An equal table laid out otherwise is only built again.) Hashing each column's
    values took 2 ms for a page of ten suggested hosts; the pickle, 0.14 ms."""
    return hashlib.blake2b(pickle.dumps(table, protocol=5)).hexdigest()


@st.cache_resource(show_spinner=False)
def _charts() -> _Charts:
    return _Charts(budget=64_000_000)


def figure(table: pd.DataFrame, build, empty: str, key: str, place=st, *, describe,
           numbers: dict[str, pd.DataFrame] | None = None, arguments: tuple = ()) -> None:
    """Draw `build(table, *arguments)` with its facts in text for readers who do not see it:
    `describe(table)` (a cx.summaries sentence) under the chart, and the numbers behind it to open
    and download (`numbers` by name, by default the table itself; `{}` when the page shows them
    already). An empty table is said, not drawn as empty axes. The chart is built once for the same
    table and arguments, and shared (`_Charts`)."""
    if table.empty:
        place.info(empty)
        return
    chart = _charts().built(build, table, arguments)
    place.plotly_chart(chart, width="stretch", key=key)
    place.text(describe(table))  # plain text: names people typed are never read as Markdown
    title = chart.layout.title.text or "the chart"
    numbers = {title: table} if numbers is None else numbers
    if numbers:
        with place.expander(f"The numbers behind {title}"):
            for index, (name, frame) in enumerate(numbers.items()):
                if len(numbers) > 1:
                    st.text(name)
                euro_columns = {column: st.column_config.NumberColumn(f"{column.removesuffix('_eur')} (EUR)",
                                                                      format="localized")
                                for column in frame.columns if column.endswith("_eur")}
                st.dataframe(frame, hide_index=True, width="stretch", key=f"{key}_numbers_{index}",
                             column_config=euro_columns)
                downloads(frame, name, f"{key}_numbers_{index}")


def finding(title: str, table: pd.DataFrame, key: str) -> None:
    """A data-quality finding: its count in the heading, the rows to drill into, downloads."""
    with st.expander(f"{title}: {len(table):,}", expanded=False):
        if table.empty:
            st.success("None found.")
            return
        dates = {column: st.column_config.DateColumn(format="YYYY-MM-DD") for column in table.columns
                 if pd.api.types.is_datetime64_any_dtype(table[column])}
        st.dataframe(table, hide_index=True, width="stretch", key=f"{key}_table", column_config=dates)
        downloads(table, title, key)


def country_outlines() -> dict | str:
    """The maps' country outlines. In a browser, the URL at which the app serves their file
    (`static/`, see `.streamlit/config.toml`): the browser fetches it once and keeps it, and a map
    carries a URL instead of the outlines, which plotly checked as the map was built and Streamlit
    copied and serialised, on every run (a quarter of a Find a host search, sampled with py-spy).
    Without a browser (AppTest), the GeoJSON itself."""
    url = st.context.url
    return urljoin(url, f"app/static/{COUNTRY_SHAPES.name}") if url else country_shapes()
