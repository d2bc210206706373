"""The fitted host matcher, shared by every session of the app.

Fitting costs about a second per few thousand hosts, so it is cached as a resource and keyed on
the database file and its modification time: a new import or registration refits it at the next
rerun, and nothing else does."""

from __future__ import annotations

import streamlit as st

from cx.matching import HostMatcher
from cx.store import Store


@st.cache_resource(show_spinner="Reading the hosts' profiles…", max_entries=2)
def _fitted(path: str, modified: int) -> HostMatcher:
    return HostMatcher().fit(Store(path).organisations())


def host_matcher(store: Store) -> HostMatcher:
    """The matcher fitted on the store's organisations, refitted when the database changes."""
    return _fitted(str(store.path), store.modified())
