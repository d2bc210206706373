"""Our organisation (an organisation's home): what waits on us, the profile visitors and hosts read, and
the organisation's own exchanges."""

import streamlit as st

from cx import exchanges as workflow
from cx import invitations, profiles
from cx.ecosystems import ECOSYSTEMS
from cx.errors import CxError
from cx.store import TEXT_LIMITS, Store
from cx.ui import cached, current_store, plain
from cx.ui.login import current_viewer
from cx.ui.steps import waiting_list

SAVED = "profile_saved"  # the sentence to show after the page reloads its data

store = current_store()
viewer = current_viewer(store)
organisation = profiles.profile(store, viewer, viewer.organisation)
st.title(plain(organisation["name"]))
st.text(f"{organisation['kind']} · {organisation['city'] or '?'}, {organisation['country']} · "
        f"partnership {organisation['partnership_id'] or 'none'}")
if SAVED in st.session_state:
    st.success(plain(st.session_state.pop(SAVED)))
waiting_list(store, viewer)

with st.form("profile_form"):
    st.subheader("Profile")
    description = st.text_area("What we do", organisation["description"] or "", key="profile_description",
                               max_chars=TEXT_LIMITS["description"])
    sectors = st.text_input("Sectors", organisation["sectors"] or "", key="profile_sectors",
                            max_chars=TEXT_LIMITS["sectors"])
    ecosystems = st.multiselect("Ecosystems", list(ECOSYSTEMS), [e for e in organisation["ecosystems"] if e in ECOSYSTEMS],
                                key="profile_ecosystems")
    can_host = st.toggle("We host visitors", bool(organisation["can_host"]), key="profile_can_host")
    looking_for, shown_to = organisation["looking_for"], organisation["looking_for_shown_to"] or "nobody"
    if organisation["can_visit"]:
        looking_for = st.text_area("What we are looking for in a host", organisation["looking_for"] or "",
                                   key="profile_looking_for", max_chars=TEXT_LIMITS["looking_for"],
                                   placeholder="e.g. a host working on digital twins for moulding, to adopt them "
                                               "in our members' plants")
        shown_to = st.radio("Who may read it", list(profiles.SHOWN_TO), format_func=profiles.SHOWN_TO.get,
                            index=list(profiles.SHOWN_TO).index(shown_to), key="profile_looking_for_shown_to",
                            horizontal=True, help="Hosts who may read it find us on Find a visitor and may invite us.")
    left, right = st.columns(2)
    contact_name = left.text_input("Contact name", organisation["contact_name"] or "", key="profile_contact_name",
                                    max_chars=TEXT_LIMITS["contact_name"])
    contact_email = right.text_input("Contact e-mail", organisation["contact_email"] or "", key="profile_contact_email",
                                      max_chars=TEXT_LIMITS["contact_email"])
    if st.form_submit_button("Save the profile", type="primary", key="profile_save"):
        try:
            profiles.update_profile(store, viewer, viewer.organisation, description=description, sectors=sectors,
                                    ecosystems=ecosystems, can_host=can_host, contact_name=contact_name,
                                    contact_email=contact_email, looking_for=looking_for or None,
                                    looking_for_shown_to=shown_to)
        except CxError as error:
            st.error(plain(f"The profile was not saved: {error}."))
        else:
            st.session_state[SAVED] = "The profile is saved."
            st.rerun()

st.subheader("Invitations")
received = cached(invitations.invitations, store, viewer)
if received.empty:
    st.info("No invitation yet. Hosts who may read what we are looking for can invite us; "
            "hosts invite visitors on Find a visitor.")
else:
    shown = received.assign(we_are=received["visitor_id"].eq(viewer.organisation).map({True: "visitor", False: "host"}))
    st.dataframe(shown[["id", "we_are", "host_name", "host_country", "visitor_name", "start_date", "end_date",
                        "message", "answer", "exchange_id"]].rename(columns={"we_are": "we are"}),
                 hide_index=True, key="profile_invitations")
    waiting = shown[(shown["we_are"] == "visitor") & shown["answer"].isna()]
    if len(waiting):
        chosen = st.selectbox("Answer an invitation", waiting["id"], key="profile_invitation_choice",
                              format_func=lambda i: plain(f"{i} from {waiting.set_index('id').at[i, 'host_name']}"))
        accept, decline = st.columns(2)
        for column, accepted, label in ((accept, True, "Accept: request this exchange"), (decline, False, "Decline")):
            if column.button(label, key=f"profile_invitation_{'accept' if accepted else 'decline'}"):
                try:
                    exchange_id = invitations.answer(store, viewer, chosen, accepted)
                except CxError as error:
                    st.error(plain(f"Refused: {error}"))
                else:
                    st.session_state[SAVED] = (f"The invitation {chosen} is accepted: exchange {exchange_id} is "
                                               "requested, for our partnership to approve." if accepted
                                               else f"The invitation {chosen} is declined.")
                    st.rerun()

st.subheader("Our exchanges")
exchanges = cached(Store.exchanges, store, viewer)
if exchanges.empty:
    st.info("No exchange yet. Find a host to request one.")
    st.stop()
mine = exchanges.assign(as_=exchanges["visitor_id"].eq(viewer.organisation).map({True: "visitor", False: "host"}))
st.dataframe(mine[["id", "status", "as_", "visitor_name", "host_name", "host_country", "start_date", "end_date",
                   "working_days", "lump_sum_eur"]].rename(columns={"as_": "we are"}),
             hide_index=True, key="profile_exchanges",
             column_config={"visitor_name": "visitor", "host_name": "host", "host_country": "host country",
                            "start_date": st.column_config.DateColumn("first day"),
                            "end_date": st.column_config.DateColumn("last day"), "working_days": "working days",
                            "lump_sum_eur": st.column_config.NumberColumn("lump sum (EUR)", format="%d")})
open_ones = mine[mine["status"].isin([s for s in workflow.ORDER if "cancelled" in workflow.allowed_next(s)])]
if len(open_ones):
    chosen = st.selectbox("Cancel an exchange", open_ones["id"], index=None, key="profile_cancel_choice",
                          placeholder="Choose an exchange to cancel")
    if st.button("Cancel it", key="profile_cancel", disabled=chosen is None):
        try:
            workflow.change_status(store, viewer, chosen, "cancelled")
        except CxError as error:
            st.error(plain(f"Refused: {error}"))
        else:
            st.session_state[SAVED] = f"{chosen} is cancelled."
            st.rerun()
