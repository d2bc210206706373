"""Registrations: organisations asking to take part through the viewer's partnerships (all of
them for an officer), oldest waiting first; accept one, or refuse it with a reason."""

import streamlit as st

from cx import registrations
from cx.errors import CxError
from cx.store import TEXT_LIMITS
from cx.ui import current_store, plain
from cx.ui.login import current_viewer

DONE = "registrations_done"
SHOWN = ["id", "submitted_at", "partnership_id", "name", "kind", "country", "city", "contact_name", "contact_email"]

store = current_store()
viewer = current_viewer(store)
st.title("Registrations")
if DONE in st.session_state:
    st.success(plain(st.session_state.pop(DONE)))

waiting = registrations.registrations(store, viewer, [registrations.PENDING])
if waiting.empty:
    st.info("No registration is waiting for your decision.")
else:
    st.caption(f"{len(waiting):,} waiting, oldest first.")
    st.dataframe(waiting[SHOWN], hide_index=True, key="registrations_waiting")
    chosen = st.selectbox("Registration", waiting["id"], key="registration_choice",
                          format_func=lambda i: f"{i} · {waiting.set_index('id').at[i, 'name']}")
    record = waiting.set_index("id").loc[chosen]
    as_visitor_host = " and ".join(w for w, yes in (("visit", record["can_visit"]), ("host", record["can_host"])) if yes)
    # What people typed is shown as text, never as Markdown.
    st.text(f"{record['name']} · {record['kind']} · {record['city']}, {record['country']} · would {as_visitor_host}")
    for label, column in (("Member of", "member_of"), ("Ecosystems", "ecosystems"), ("Sectors", "sectors"),
                          ("What it does", "description"), ("Motivation", "motivation"),
                          ("Exchange preferences", "preferences"), ("Contact", "contact_name")):
        value = record[column]
        value = ", ".join(value) if column == "ecosystems" else value
        if value is not None and len(value):
            st.text(f"{label}: {value}" + (f" <{record['contact_email']}>" if column == "contact_name" else ""))
    accept, refuse = st.columns(2)
    if accept.button("Accept", type="primary", key="registration_accept"):
        try:
            organisation_id = registrations.decide(store, viewer, chosen, accept=True)
        except CxError as error:
            st.error(plain(f"Not accepted: {error}."))
        else:
            st.session_state[DONE] = f"{record['name']} is registered as {organisation_id}; {record['login']} may log in."
            st.rerun()
    reason = refuse.text_input("Reason for refusing", max_chars=TEXT_LIMITS["reason"], key="registration_reason")
    if refuse.button("Refuse", key="registration_refuse"):
        try:
            registrations.decide(store, viewer, chosen, accept=False, reason=reason)
        except CxError as error:
            st.error(plain(f"Not refused: {error}."))
        else:
            st.session_state[DONE] = f"The registration of {record['name']} is refused."
            st.rerun()

decided = registrations.registrations(store, viewer, [registrations.ACCEPTED, registrations.REFUSED])
if len(decided):
    st.subheader("Decided")
    st.dataframe(decided[["id", "name", "partnership_id", "state", "decided_at", "decided_by", "reason",
                          "organisation_id"]], hide_index=True, key="registrations_decided")
