"""What waits on the person at each role's home: their steps with days waited, and for officers
every partnership's stalled steps."""

from __future__ import annotations

import streamlit as st

from cx import todo, uptake
from cx.access import Viewer
from cx.store import Store

STEPS_PAGE = "app_pages/exchange.py"
CHOSEN = "steps_exchange"  # the exchange the Exchange steps page opens on


def waiting_list(store: Store, viewer: Viewer) -> None:
    """The viewer's to-do list (an officer's: the stalled steps of every partnership)."""
    if not viewer.reads_rows:
        return
    st.subheader("What waits on me")
    if viewer.is_officer:
        stalled = uptake.stalled_exchanges(store, viewer)
        st.text(f"{len(stalled):,} exchanges stalled past a deadline across every partnership; the longest first."
                if len(stalled) else "No exchange is stalled past a deadline.")
        if len(stalled):
            st.dataframe(stalled[["exchange_id", "why", "days_overdue", "visitor", "host", "status"]], hide_index=True,
                         key="home_stalled")
        return
    waiting = todo.waiting_on(store, viewer)
    if waiting.empty:
        st.text("Nothing waits on you.")
        return
    st.text(f"{len(waiting):,} step{'s' * (len(waiting) != 1)} wait on you; the longest waiting first.")
    st.dataframe(waiting.rename(columns={"party": "as", "waited_days": "waited (days)"}), hide_index=True,
                 key="home_waiting")
    chosen = st.selectbox("Open an exchange", waiting["exchange_id"].unique(), key="home_open_choice")
    if st.button("Open its steps", key="home_open"):
        st.session_state[CHOSEN] = chosen
        st.switch_page(STEPS_PAGE)
