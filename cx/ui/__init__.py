"""Shared Streamlit pieces: the only part of `cx` that imports streamlit.

Caching is decided here once. A read is kept per query and arguments, shared by every session
(the same object, never a copy: pages only read what `cached` returns) and checked against the
store's data version at each use (DuckDB: the file's time and size; PostgreSQL: a counter every
write transaction bumps), so a new import or a workflow change shows at the next rerun and
replaces the stale result instead of piling up beside it.
Results are keyed on the viewer (role, scope and identity) too, so one person's rows never
reach another.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from dataclasses import dataclass
from typing import Any

import plotly.io as pio
import streamlit as st

from cx import charts
from cx.access import Viewer
from cx.formats import euros, euros_short  # noqa: F401  (the pages' formatters, from one place)
from cx.store import Store, default_location, open_store


# `import streamlit` makes Streamlit's plotly template the default, and it may come after cx.charts
# set white (as in a test run): the pages draw cx's charts on white, whatever came first.
pio.templates.default = charts.TEMPLATE


@st.cache_resource(show_spinner=False)
def _migrated(path: str) -> Store:
    return open_store(path)


def current_store() -> Store:
    """The app's database (`$CX_DB`: a file or a postgresql:// URL; else data/cx.duckdb), migrated
    once per process."""
    return _migrated(default_location())


@dataclass(frozen=True)
class _Reading:
    """A query's result and the data version it was read from."""
    location: str
    version: Any
    value: Any


def _current(reading: _Reading) -> bool:
    return Store(reading.location).data_version() == reading.version


def resolve(function: str):
    """The function named "module:qualname": a module's function, or a Store method such as
    "cx.store:Store.organisations"."""
    module, name = function.split(":")
    target = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


@st.cache_resource(show_spinner=False, max_entries=64, ttl="1h", validate=_current)
def _shared_call(function: str, location: str, viewer: str, arguments: str) -> _Reading:
    store = Store(location)
    version = store.data_version()  # before reading: a write meanwhile makes the entry stale, never wrong
    viewer = json.loads(viewer)
    before = () if viewer is None else (Viewer(**viewer),)
    return _Reading(location, version, resolve(function)(store, *before, **json.loads(arguments)))


def cached(function, store: Store, viewer: Viewer | None, **arguments):
    """`function(store, viewer, **arguments)` for a `cx` query (or a `Store` method), kept until
    the database changes and shared by the sessions of the same viewer: treat the result as
    read-only. `viewer` is None for a query of programme figures, which takes none.

    Arguments must be JSON-serialisable (filters are), which is also what makes them a key."""
    key = json.dumps(arguments, sort_keys=True, default=str)
    who = json.dumps(None if viewer is None else dataclasses.asdict(viewer), sort_keys=True)
    return _shared_call(f"{function.__module__}:{function.__qualname__}", store.location, who, key).value


def stop_without_data(missing: str) -> None:
    """The guard of a page that needs data it does not have: say what is missing and how to get
    it, link the Data page, and stop the page there."""
    st.info(f"{missing} Load the demo programme with `python -m cx demo`, "
            "or import registrations and exchanges on the Data page.")
    st.page_link("app_pages/data.py", label="Go to Data", icon=":material/database:")
    st.stop()


# The characters that make Markdown (with GitHub's tables and strikethrough and Streamlit's `$`
# maths and `:colour[...]` directives) do something: a link or image needs `[`, emphasis `*` or
# `_`, code a backtick, a quote or heading `>` or `#` (line breaks are joined, so nothing else
# starts a line). A backslash makes each literal; other punctuation reads as itself.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#~$|])")


def plain(text) -> str:
    """Text people typed (a name, a city, an objective), made safe to put in anything Streamlit
    renders as Markdown: it shows as typed, and `![x](http://…)` is never an image to fetch."""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", " ")

