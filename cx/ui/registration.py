"""What someone logged in without an account sees: their registration's state, or the form to
register their organisation through a partnership. Never the programme."""

from __future__ import annotations

import streamlit as st

from cx import registrations
from cx.ecosystems import ECOSYSTEMS
from cx.errors import BrokenRules, CxError
from cx.rules import load_rulebook
from cx.store import ORGANISATION_KINDS, TEXT_LIMITS, Store
from cx.ui import cached, plain

ROLES = {"visit": "Visit a host abroad", "host": "Host visitors", "both": "Both"}
SUBMITTED = "registration_submitted"


def show(store: Store, login: str, officers: list[str]) -> None:
    """The applicant's page: the state of their latest registration, and the form unless one waits."""
    mine = registrations.registration_of(store, login)
    if mine is not None and mine["state"] == registrations.PENDING:
        st.title("Your registration is waiting")
        if SUBMITTED in st.session_state:
            st.success(st.session_state.pop(SUBMITTED))
        st.text(f"{mine['name']} registered on {mine['submitted_at']:%Y-%m-%d} through partnership "
                f"{mine['partnership_id']}. Its managers accept or refuse it; you will see the programme "
                "once it is accepted.")
        return
    if mine is not None and mine["state"] == registrations.ACCEPTED:  # accepted, but the account is gone
        st.title("No account yet")
        st.text(f"The registration of {mine['name']} was accepted, but cx has no account for {login} now.")
        _whom_to_ask(officers)
        return
    st.title("Register your organisation")
    st.text(f"You are logged in as {login}, but cx has no account for you. Register your organisation "
            "through a partnership; its managers will accept or refuse it.")
    if mine is not None:
        st.warning(plain(f"Your registration of {mine['name']} on {mine['submitted_at']:%Y-%m-%d} was refused by "
                         f"{mine['decided_by']}: {mine['reason']}"))
    _whom_to_ask(officers)
    _form(store, login, mine)


def _whom_to_ask(officers: list[str]) -> None:
    st.text("Questions? Ask a programme officer" + (f": {', '.join(officers)}." if officers else "."))


def _form(store: Store, login: str, before: dict | None) -> None:
    """The registration form, filled with a refused registration's answers to correct them."""
    before = before or {}
    rulebook = load_rulebook()
    partnerships = cached(Store.partnerships, store, None).set_index("id")["name"]
    countries = registrations.country_choices(rulebook)

    def index(options, value):
        options = list(options)
        return options.index(value) if value in options else None

    with st.form("registration_form"):
        partnership = st.selectbox("Partnership you register through", partnerships.index,
                                   index=index(partnerships.index, before.get("partnership_id")),
                                   format_func=lambda p: f"{p} · {partnerships[p]}", key="registration_partnership")
        name = st.text_input("Organisation name", before.get("name") or "", max_chars=TEXT_LIMITS["name"], key="registration_name")
        left, right = st.columns(2)
        kind = left.selectbox("Kind", ORGANISATION_KINDS, index=index(ORGANISATION_KINDS, before.get("kind")),
                              key="registration_kind")
        member_of = right.text_input("Member of the cluster organisation", before.get("member_of") or "",
                                     help="SMEs and support organisations take part as members of a cluster.",
                                     max_chars=TEXT_LIMITS["member_of"], key="registration_member_of")
        country = left.selectbox("Country where it is registered", countries,
                                 index=index(countries, before.get("country")),
                                 format_func=lambda c: f"{countries[c]} ({c})", key="registration_country")
        city = right.text_input("City", before.get("city") or "", max_chars=TEXT_LIMITS["city"], key="registration_city")
        role = st.radio("We would", ROLES, format_func=ROLES.get, horizontal=True, key="registration_role",
                        index=list(ROLES).index({(True, False): "visit", (False, True): "host"}.get(
                            (before.get("can_visit"), before.get("can_host")), "both")))
        ecosystems = st.multiselect("Ecosystems", list(ECOSYSTEMS), before.get("ecosystems") or [],
                                    key="registration_ecosystems")
        sectors = st.text_input("Sectors and technologies", before.get("sectors") or "", max_chars=TEXT_LIMITS["sectors"], key="registration_sectors")
        description = st.text_area("What the organisation does", before.get("description") or "",
                                   max_chars=TEXT_LIMITS["description"], key="registration_description")
        motivation = st.text_area("Why it wants to take part", before.get("motivation") or "",
                                  max_chars=TEXT_LIMITS["motivation"], key="registration_motivation")
        preferences = st.text_area("Exchange preferences (countries, dates, kinds of partner)",
                                   before.get("preferences") or "", max_chars=TEXT_LIMITS["preferences"], key="registration_preferences")
        left, right = st.columns(2)
        contact_name = left.text_input("Contact person", before.get("contact_name") or "", max_chars=TEXT_LIMITS["contact_name"], key="registration_contact_name")
        contact_email = right.text_input("Contact e-mail", before.get("contact_email") or (login if "@" in login else ""),
                                         max_chars=TEXT_LIMITS["contact_email"], key="registration_contact_email")
        if not st.form_submit_button("Register", type="primary", key="registration_submit"):
            return
    if partnership is None or kind is None or country is None:
        st.error("Choose the partnership, the kind and the country.")
        return
    registration = registrations.Registration(
        partnership_id=partnership, name=name, kind=kind, country=country, city=city, member_of=member_of,
        can_visit=role in ("visit", "both"), can_host=role in ("host", "both"), ecosystems=tuple(ecosystems),
        sectors=sectors, description=description, motivation=motivation, preferences=preferences,
        contact_name=contact_name, contact_email=contact_email)
    try:
        registrations.submit(store, login, registration, rulebook=rulebook)
    except BrokenRules as refusal:
        st.error("The registration was not sent:\n\n" + "\n".join(f"- {plain(b.message)}" for b in refusal.breaches))
    except CxError as error:
        st.error(plain(f"The registration was not sent: {error}."))
    else:
        st.session_state[SUBMITTED] = f"Registration sent to partnership {partnership}."
        st.rerun()
