"""Accounts: who may log in, in which role and scope (officers only). The identity provider says
who someone is; these accounts say what they may see and do. Below them, the outbox: the messages
cx's steps wrote, and whether they went out."""

import streamlit as st

from cx import accounts, outbox
from cx.access import MANAGER, ORGANISATION, ROLES
from cx.errors import CxError
from cx.store import Store
from cx.ui import cached, current_store, plain
from cx.ui.login import current_viewer
from cx.ui.notifications import sending_line

DONE = "accounts_done"

store = current_store()
viewer = current_viewer(store)
st.title("Accounts")
st.caption("Add an account for each person's e-mail address (or the identity provider's subject id). "
           "Officers see and do everything; partnership managers, their partnerships' organisations and "
           "exchanges; organisations, their own profile and exchanges; planners, figures and budget scenarios.")
if DONE in st.session_state:
    st.success(plain(st.session_state.pop(DONE)))

table = accounts.list_accounts(store, viewer)
st.dataframe(table, hide_index=True, key="accounts_table")

st.subheader("Add or change an account")
login = st.text_input("E-mail address or subject id", key="account_login")
role = st.selectbox("Role", ROLES, format_func=lambda r: r.replace("_", " "), key="account_role")
partnerships, organisation = [], None
if role == MANAGER:
    known = cached(Store.partnerships, store, None)
    partnerships = st.multiselect("Partnerships", known["id"], key="account_partnerships",
                                  format_func=lambda p: f"{p} · {known.set_index('id').at[p, 'name']}")
elif role == ORGANISATION:
    organisation = st.text_input("Organisation id", key="account_organisation")
if st.button("Save the account", type="primary", key="account_add"):
    try:
        account = accounts.add_account(store, viewer, login, role, partnerships=partnerships,
                                       organisation_id=organisation)
    except CxError as error:
        st.error(plain(f"The account was not saved: {error}."))
    else:
        st.session_state[DONE] = f"{account.identity} may now log in as {account.describe()}."
        st.rerun()

if len(table):
    st.subheader("Remove an account")
    gone = st.selectbox("Account", table["login"], index=None, key="account_remove_choice")
    if st.button("Remove", key="account_remove", disabled=gone is None):
        try:
            accounts.remove_account(store, viewer, gone)
        except CxError as error:
            st.error(plain(f"Not removed: {error}."))
        else:
            st.session_state[DONE] = f"{gone} can no longer log in."
            st.rerun()

st.subheader("Outbox")
unsent = outbox.messages(store, viewer, [outbox.PENDING, outbox.FAILED])
sent = len(outbox.messages(store, viewer, [outbox.SENT]))
st.caption(f"{sent:,} sent, {len(unsent):,} waiting or given up. " + sending_line())
if len(unsent):
    st.dataframe(unsent[["id", "recipient", "subject", "state", "attempts", "created_at", "next_attempt_at",
                         "last_error"]], hide_index=True, key="outbox_unsent")
    if (unsent["state"] == outbox.FAILED).any() and st.button("Retry the messages given up", key="outbox_retry"):
        st.session_state[DONE] = f"{outbox.retry_failed(store, viewer)} messages are back in line."
        st.rerun()
