"""Shared Streamlit pieces: the only part of `cx` that imports streamlit.

Caching is decided here once. Reads are cached on the database file and its modification time,
so a new import or a workflow change shows at the next rerun without a manual refresh.
"""

from __future__ import annotations

import importlib
import json
import re

import streamlit as st

from cx.store import Store, default_path, open_store


@st.cache_resource(show_spinner=False)
def _migrated(path: str) -> Store:
    return open_store(path)


def current_store() -> Store:
    """The app's database (`$CX_DB`, else data/cx.duckdb), migrated once per process."""
    return _migrated(str(default_path()))


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_call(function: str, path: str, modified: int, arguments: str):
    module, name = function.split(":")
    target = importlib.import_module(module)
    for part in name.split("."):  # a module's function, or a Store method such as Store.organisations
        target = getattr(target, part)
    return target(Store(path), **json.loads(arguments))


def cached(function, store: Store, **arguments):
    """`function(store, **arguments)` for a `cx` query (or a `Store` method), cached until the
    database changes.

    Arguments must be JSON-serialisable (filters are), which is also what makes them a key."""
    key = json.dumps(arguments, sort_keys=True, default=str)
    return _cached_call(f"{function.__module__}:{function.__qualname__}", str(store.path), store.modified(), key)


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


def euros(amount) -> str:
    """Whole euros as people write them: EUR 1,100."""
    return f"EUR {int(amount):,}"


def euros_short(amount) -> str:
    """A compact amount for a headline figure (EUR 1.32M, EUR 269k); give the exact one as help."""
    amount = int(amount)
    if abs(amount) >= 1_000_000:
        return f"EUR {amount / 1_000_000:.2f}M"
    if abs(amount) >= 10_000:
        return f"EUR {amount / 1_000:.0f}k"
    return euros(amount)
