"""The host matcher, shared by every session of the app.

One `Keeper` per database holds the current matcher: it follows the hosts' profiles (a status
change, an exchange import or a scenario leaves it alone), updates only changed profiles, and
loads the matcher saved beside the database after a restart instead of refitting."""

from __future__ import annotations

import streamlit as st

from cx.matcher_cache import Keeper
from cx.matching import HostMatcher
from cx.store import Store


@st.cache_resource(show_spinner=False)
def keeper(location: str) -> Keeper:
    return Keeper(Store(location))


def host_matcher(store: Store) -> HostMatcher:
    """The matcher of the store's current host profiles."""
    with st.spinner("Reading the hosts' profiles…"):
        return keeper(store.location).matcher()
