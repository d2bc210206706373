"""What waits on the person at each role's home: their steps with days waited, and for officers
every partnership's stalled steps."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cx import closing, registrations, todo, uptake
from cx.access import MANAGER, Viewer
from cx.formats import plural
from cx.store import Store

STEPS_PAGE = "app_pages/exchange.py"
REGISTRATIONS_PAGE = "app_pages/registrations.py"
CHOSEN = "steps_exchange"  # the exchange the Exchange steps page opens on


def waiting_list(store: Store, viewer: Viewer) -> None:
    """The viewer's to-do list with the payments due (an officer's: the stalled steps of every
    partnership, overdue payments among them)."""
    if not viewer.reads_rows:
        return
    st.subheader("What waits on me")
    if viewer.is_officer or viewer.role == MANAGER:
        registrations_waiting(store, viewer)
    if viewer.is_officer:
        stalled = uptake.stalled_exchanges(store, viewer)
        st.text(f"{len(stalled):,} exchanges stalled past a deadline across every partnership; the longest first."
                if len(stalled) else "No exchange is stalled past a deadline.")
        if len(stalled):
            st.dataframe(stalled[["exchange_id", "why", "days_overdue", "visitor", "host", "status"]], hide_index=True,
                         key="home_stalled")
        return
    payments_due(store, viewer)
    waiting = todo.waiting_on(store, viewer)
    if waiting.empty:
        st.text("Nothing waits on you.")
        return
    st.text(f"{len(waiting):,} {'step waits' if len(waiting) == 1 else 'steps wait'} on you; the longest waiting first.")
    st.dataframe(waiting.rename(columns={"party": "as", "waited_days": "waited (days)"}), hide_index=True,
                 key="home_waiting")
    chosen = st.selectbox("Open an exchange", waiting["exchange_id"].unique(), key="home_open_choice")
    if st.button("Open its steps", key="home_open"):
        st.session_state[CHOSEN] = chosen
        st.switch_page(STEPS_PAGE)


OVERDUE = "color: #b00020; font-weight: bold"  # red, on a line that also says OVERDUE in words


def payments_due(store: Store, viewer: Viewer) -> None:
    """Validated reports not paid yet, the soonest due first: what a manager's partnerships pay,
    what an organisation is owed. Nothing is shown while none is due."""
    due = closing.payments_due(store, viewer)
    if due.empty:
        return
    st.text(f"{plural(len(due), 'payment')} due, the soonest first"
            + (f"; {int(due['overdue'].sum()):,} overdue." if due["overdue"].any() else "."))
    shown = due[["exchange_id", "when", "due_on", "lump_sum_eur", "visitor", "host", "validated_on"]]
    # A styled table is drawn from the styler's text: the dates are formatted there.
    styled = (shown.style.map(lambda when: OVERDUE if when.startswith("OVERDUE") else "", subset=["when"])
              .format("{:%Y-%m-%d}", subset=["due_on", "validated_on"]))
    st.dataframe(styled, hide_index=True, key="home_payments_due",
                 column_config={"due_on": "due on", "validated_on": "report validated",
                                "lump_sum_eur": st.column_config.NumberColumn("lump sum (EUR)", format="%d")})


def registrations_waiting(store: Store, viewer: Viewer) -> None:
    """Registrations the viewer decides on, with how long the oldest has waited, and the way to them."""
    waiting = registrations.registrations(store, viewer, states=[registrations.PENDING])
    if waiting.empty:
        return
    oldest = (pd.Timestamp.now() - pd.Timestamp(waiting["submitted_at"].min())).days
    st.text(f"{len(waiting):,} registration{'s wait' if len(waiting) != 1 else ' waits'} for your decision; "
            f"the oldest for {oldest:,} day{'s' * (oldest != 1)}.")
    st.page_link(REGISTRATIONS_PAGE, label="Decide on registrations", icon=":material/how_to_reg:")
