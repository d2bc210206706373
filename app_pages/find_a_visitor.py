"""Find a visitor: a host sees the visitors whose "looking for" notes fit its profile (as each
visitor chose to share them), with the reasons, and invites one for a stay."""

import datetime as dt

import streamlit as st

from cx import invitations
from cx.errors import CxError
from cx.formats import plural
from cx.rules import load_rulebook
from cx.store import TEXT_LIMITS
from cx.ui import cached, current_store, plain, stop_without_data
from cx.ui.login import current_viewer

INVITED = "find_a_visitor.invited"  # the sentence to show after the page reloads

store = current_store()
viewer = current_viewer(store)
rulebook = load_rulebook()
st.title("Find a visitor")
st.caption("The visitors whose notes on what they look for fit your profile best, outside your country, among "
           "those who shared their note with you and may still visit. Invite one: the invitation waits for the "
           "visitor's answer, and accepting it requests the exchange.")
if INVITED in st.session_state:
    st.success(plain(st.session_state.pop(INVITED)))

if viewer.organisation:
    host_id = viewer.organisation
else:  # an officer or a partnership manager acts for a host of their scope
    organisations = cached(type(store).organisations, store, viewer)
    hosts = organisations[organisations["can_host"]].set_index("id")
    if hosts.empty:
        stop_without_data("There are no registered hosts yet.")
    host_id = st.selectbox("Host", list(hosts.index), key="host",
                           format_func=lambda h: plain(f"{hosts.at[h, 'name']} ({hosts.at[h, 'city'] or '?'}, "
                                                       f"{hosts.at[h, 'country']})"))

try:
    found = cached(invitations.visitors_for_host, store, viewer, host_id=host_id)
except invitations.NoVisitorFound as nothing:
    st.info(plain(f"{str(nothing)[0].upper()}{str(nothing)[1:]}."))
    st.stop()

table = found.assign(reasons=found["reasons"].map("; ".join), score=(found["score"] * 100).round())
# A line between the host and the table: the table's toolbar rises above it and would cover the host's picker.
st.caption(f"{plural(len(table), 'visitor')} whose notes fit best, the best first")
st.dataframe(table[["name", "kind", "country", "city", "score", "reasons", "looking_for", "distance_km"]],
             hide_index=True, width="stretch", key="visitors_found",
             column_config={"score": st.column_config.ProgressColumn("fit", min_value=0, max_value=100, format="%d"),
                            "looking_for": st.column_config.TextColumn("looking for"),
                            "distance_km": st.column_config.NumberColumn("km", format="%d")})

first_monday = rulebook.quiet_week(dt.date.today() + dt.timedelta(days=28))
with st.form("invite_form"):
    visitor = st.selectbox("Invite", list(found["id"]), key="invite_visitor",
                           format_func=lambda v: plain(found.set_index("id").at[v, "name"]))
    left, right = st.columns(2)
    start = left.date_input("First day at the host", first_monday, key="invite_start")
    end = right.date_input("Last day at the host", first_monday + dt.timedelta(days=4), key="invite_end")
    message = st.text_area("Message to the visitor", key="invite_message", max_chars=TEXT_LIMITS["message"],
                           placeholder="what you propose: the agenda, whom they would meet")
    if st.form_submit_button("Send the invitation", type="primary", key="invite_send"):
        try:
            invitation = invitations.invite(store, viewer, host_id=host_id, visitor_id=visitor, start=start, end=end,
                                            message=message)
        except CxError as error:
            st.error(plain(f"Not sent: {error}."))
        else:
            st.session_state[INVITED] = (f"Invitation {invitation} sent to "
                                         f"{found.set_index('id').at[visitor, 'name']}; it awaits their answer.")
            st.rerun()
