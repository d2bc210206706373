"""Who is using the app: the logged-in person's account, or the local officer.

With an `[auth]` section in `.streamlit/secrets.toml`, people log in through its OpenID Connect
provider (`st.login`) and cx looks their e-mail (or subject id) up in the `accounts` table.
Without one, the app is a single-machine tool: it serves 127.0.0.1 only and whoever opens it is
the local officer. `st.user.is_logged_in` raises without `[auth]`, so local mode never reads it.
"""

from __future__ import annotations

import ipaddress

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from cx.access import Viewer, work_as
from cx.accounts import officers, viewer_for
from cx.errors import CxError
from cx.store import Store
from cx.ui import registration

LOCAL_NOTE = ("Local mode: no identity provider is configured, so this machine's user acts as the "
              "officer and the app serves this machine only.")


class PublicWithoutLogin(CxError):
    """The app served beyond this machine with no identity provider to say who is asking."""

    def __init__(self, address):
        super().__init__(
            f"cx will not serve {address} without logins: anyone reaching that address would act as the officer. "
            "Configure an identity provider in .streamlit/secrets.toml [auth] (see the README, "
            "'Accounts and roles'), or serve 127.0.0.1 only")


def auth_configured() -> bool:
    """Whether `.streamlit/secrets.toml` (or the user's) has an `[auth]` section."""
    try:
        return "auth" in st.secrets
    except StreamlitSecretNotFoundError:
        return False


def is_local(address: str | None) -> bool:
    """Whether a server address only this machine can reach (loopback or `localhost`)."""
    if address in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # empty (every interface) or a host name


def check_served_address(address: str | None) -> None:
    """Raise PublicWithoutLogin when `address` is reachable from elsewhere and logins are off."""
    if not auth_configured() and not is_local(address):
        raise PublicWithoutLogin(address or "every network interface")


def current_viewer(store: Store) -> Viewer:
    """The viewer of this session. With logins on, someone logged out sees the login button and
    someone without an account their registration (or the form to register); either way the page
    stops there."""
    if not auth_configured():
        work_as(Viewer.local())
        return Viewer.local()
    if not st.user.is_logged_in:
        st.title("ClusterXchange")
        st.write("Log in to see the exchanges, organisations and figures your role allows.")
        st.button("Log in", type="primary", key="login", on_click=st.login)
        st.stop()
    viewer = viewer_for(store, st.user.get("email"), st.user.get("sub"))
    if viewer is None:
        registration.show(store, st.user.get("email") or st.user.get("sub"), officers(store))
        st.button("Log out", key="logout", on_click=st.logout)
        st.stop()
    work_as(viewer)  # the rest of the run reads and writes as this viewer
    return viewer


def who_line(viewer: Viewer) -> None:
    """The one line every page starts with: local mode, or who is logged in and a way out."""
    if not auth_configured():
        st.caption(LOCAL_NOTE)
        return
    text, out = st.columns([6, 1], vertical_alignment="center")
    text.text(f"Logged in as {viewer.identity} · {viewer.describe()}")  # as text: never Markdown
    out.button("Log out", key="logout", on_click=st.logout)
