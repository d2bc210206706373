"""Registration: an organisation asks to take part through a partnership, which accepts or refuses.

Someone the identity provider knows but cx does not (no account) registers their organisation:
its kind, place, ecosystems, profile, motivation and exchange preferences, whether it would visit,
host or both, and its contact person. The rulebook's checks apply as on import (an eligible
country, a kind that may take part as it says, membership of a cluster organisation), each broken
rule a sentence. The partnership's managers (or an officer) accept or refuse it with a reason; on
acceptance the organisation is made and the person's login becomes the organisation's account.

The person registering is known only by their login (the provider's e-mail or subject), so their
own registration is read by that login; the people who assess registrations are viewers, scoped to
their partnerships in SQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pycountry

from cx.access import MANAGER, ORGANISATION, Viewer, as_system, scoped
from cx.accounts import insert_account, login_key
from cx.ecosystems import ECOSYSTEMS
from cx.errors import BrokenRules, CxError, UnknownCity
from cx.geo import Gazetteer, gazetteer
from cx.outbox import managers_of, notify
from cx.profiles import EMAIL
from cx.rules import Breach, Rulebook, load_rulebook
from cx.store import ORGANISATION_KINDS, Store, text_too_long, without_bidi_controls

PENDING, ACCEPTED, REFUSED = "pending", "accepted", "refused"
STATES = (PENDING, ACCEPTED, REFUSED)
REQUIRED = {"name": "the organisation's name", "city": "the city", "contact_name": "the contact person's name",
            "contact_email": "the contact person's e-mail address"}


@dataclass(frozen=True)
class Registration:
    """What a person tells cx about the organisation they register."""

    partnership_id: str
    name: str
    kind: str
    country: str
    city: str
    contact_name: str
    contact_email: str
    can_visit: bool = True
    can_host: bool = True
    member_of: str = ""  # the cluster organisation it is a member of
    ecosystems: tuple[str, ...] = field(default_factory=tuple)
    sectors: str = ""
    description: str = ""
    motivation: str = ""
    preferences: str = ""

    def cleaned(self) -> Registration:
        """The same registration with text stripped, names without bidi controls and the country
        code in capitals."""
        text = {name: " ".join(without_bidi_controls(str(value or "")).split())
                if name in ("name", "city", "contact_name", "member_of")
                else str(value or "").strip()
                for name, value in asdict(self).items() if name not in ("can_visit", "can_host", "ecosystems")}
        text["country"] = text["country"].upper()
        return Registration(**text, can_visit=bool(self.can_visit), can_host=bool(self.can_host),
                            ecosystems=tuple(self.ecosystems))


class UnknownRegistration(CxError):
    def __init__(self, registration_id):
        super().__init__(f"there is no registration {registration_id} that you may assess")


def breaches(registration: Registration, rulebook: Rulebook, places: Gazetteer) -> list[Breach]:
    """Every rule the registration breaks, in the order of the form (empty when it may be submitted)."""
    found = [Breach("required", f"{what[0].upper()}{what[1:]} is missing") for name, what in REQUIRED.items()
             if not getattr(registration, name)]
    for name, value in asdict(registration).items():
        if isinstance(value, str) and text_too_long(name, value):
            found.append(Breach("too_long", text_too_long(name, value)))
    if registration.kind not in ORGANISATION_KINDS:
        found.append(Breach("kind", f"{registration.kind!r} is not an organisation kind; "
                                    f"use one of: {', '.join(ORGANISATION_KINDS)}"))
    found += rulebook.check_participant(registration.kind, registration.country, registration.member_of,
                                        registration.can_visit, registration.can_host)
    unknown = [e for e in registration.ecosystems if e not in ECOSYSTEMS]
    if unknown:
        found.append(Breach("ecosystem", f"{', '.join(unknown)} is not one of the 14 industrial ecosystems"))
    if registration.contact_email and not EMAIL.fullmatch(registration.contact_email):
        found.append(Breach("email", f"{registration.contact_email!r} is not an e-mail address"))
    if registration.city and not any(b.rule.endswith("country") for b in found):
        try:
            places.locate(registration.city, registration.country)
        except UnknownCity as error:
            found.append(Breach("unknown_city", str(error)))
    return found


@as_system()
def submit(store: Store, login: str, registration: Registration, *, rulebook: Rulebook | None = None,
           places: Gazetteer | None = None) -> int:
    """Store the registration of the person with this login for their partnership to assess;
    returns its number.

    Raises BrokenRules with every broken rule, and refuses a login that already has an account
    or a registration waiting; either way it stores nothing. The checks that depend on other
    rows (the partnership exists, nothing waiting) run inside the write."""
    login = login_key(login)
    registration = registration.cleaned()
    places = places or gazetteer()
    found = breaches(registration, rulebook or load_rulebook(), places)
    with store.transaction() as con:
        store.hold("login", [login])  # one registration waits per login, across processes too
        if not con.execute("SELECT count(*) FROM partnerships WHERE id = ?", [registration.partnership_id]).fetchone()[0]:
            found.append(Breach("missing_partnership", f"there is no partnership {registration.partnership_id!r} "
                                                       "to register through"))
        if con.execute("SELECT count(*) FROM accounts WHERE login = ?", [login]).fetchone()[0]:
            found.append(Breach("has_account", f"{login} already has an account in cx"))
        if con.execute("SELECT count(*) FROM registrations WHERE login = ? AND state = ?", [login, PENDING]).fetchone()[0]:
            found.append(Breach("waiting", f"{login} already has a registration waiting for its partnership"))
        if found:
            raise BrokenRules(found)
        try:
            lat, lon = places.locate(registration.city, registration.country)
        except UnknownCity:
            lat = lon = None
        values = {**asdict(registration), "ecosystems": list(registration.ecosystems), "login": login,
                  "lat": lat, "lon": lon}
        columns = ", ".join(values)
        number = con.execute(f"INSERT INTO registrations ({columns}) VALUES ({', '.join('?' * len(values))}) "
                             "RETURNING id", list(values.values())).fetchone()[0]
        notify(con, managers_of(con, registration.partnership_id),
               f"Registration to assess: {registration.name} ({registration.partnership_id})",
               f"{registration.name}, a {registration.kind} in {registration.city} ({registration.country}), asks to "
               f"take part in ClusterXchange through partnership {registration.partnership_id} "
               f"(registration {number}, by {login}).\n\nAccept or refuse it on cx's Registrations page.",
               by=login)
        return number


@as_system()
def registration_of(store: Store, login: str) -> dict | None:
    """The person's latest registration (what they see until they have an account), or None."""
    rows = store.query("SELECT * FROM registrations WHERE login = ? ORDER BY id DESC LIMIT 1", [login_key(login)])
    return None if rows.empty else _record(rows.iloc[0])


def _scope(viewer: Viewer) -> tuple[str, list]:
    """The registrations the viewer assesses: an officer all, a manager their partnerships'."""
    viewer.require(viewer.is_officer or viewer.role == MANAGER, "assess registrations")
    if viewer.is_officer:
        return "TRUE", []
    return "partnership_id = ANY(?)", [list(viewer.partnerships)]


@scoped
def registrations(store: Store, viewer: Viewer, states=STATES) -> pd.DataFrame:
    """The registrations the viewer assesses in these states, oldest waiting first."""
    scope, parameters = _scope(viewer)
    return store.query(f"SELECT * FROM registrations WHERE {scope} AND state = ANY(?) "
                       "ORDER BY submitted_at, id", [*parameters, list(states)])


@scoped
def decide(store: Store, viewer: Viewer, registration_id: int, *, accept: bool, reason: str = "",
           today: dt.date | None = None) -> str | None:
    """Accept or refuse a waiting registration; returns the new organisation's id on acceptance.

    A manager decides on their partnerships' registrations (any other is refused as if it did not
    exist), an officer on all; a refusal needs a reason. Accepting makes the organisation and the
    person's organisation account in the same transaction."""
    reason = str(reason or "").strip()
    if not accept and not reason:
        raise CxError("a refusal needs a reason: the person registering reads it")
    if text_too_long("reason", reason):
        raise CxError(text_too_long("reason", reason))
    scope, parameters = _scope(viewer)
    with store.transaction() as con:
        row = con.execute(f"SELECT * FROM registrations WHERE id = ? AND {scope}",
                          [int(registration_id), *parameters]).df()
        if row.empty:
            raise UnknownRegistration(registration_id)
        registration = _record(row.iloc[0])
        if registration["state"] != PENDING:
            raise CxError(f"registration {registration_id} was already {registration['state']} by "
                          f"{registration['decided_by']} on {registration['decided_at']:%Y-%m-%d}")
        organisation_id = None
        if accept:
            if con.execute("SELECT count(*) FROM accounts WHERE login = ?", [registration["login"]]).fetchone()[0]:
                raise CxError(f"{registration['login']} has an account already; refuse this registration "
                              "or remove that account first")
            organisation_id = f"O-{uuid.uuid4().hex[:10]}"
            con.execute("""INSERT INTO organisations (id, name, kind, country, city, lat, lon, partnership_id,
                               member_of, ecosystems, sectors, description, can_host, can_visit, contact_name,
                               contact_email, registered_on)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        [organisation_id, *(registration[c] for c in (
                            "name", "kind", "country", "city", "lat", "lon", "partnership_id", "member_of",
                            "ecosystems", "sectors", "description", "can_host", "can_visit", "contact_name",
                            "contact_email")),
                         today or dt.date.today()])
            insert_account(con, registration["login"], ORGANISATION, (), organisation_id, viewer.identity)
        con.execute("UPDATE registrations SET state = ?, decided_at = current_timestamp, decided_by = ?, reason = ?, "
                    "organisation_id = ? WHERE id = ?",
                    [ACCEPTED if accept else REFUSED, viewer.identity, reason or None, organisation_id,
                     int(registration_id)])
        name, partnership = registration["name"], registration["partnership_id"]
        if accept:
            subject = f"{name} takes part in ClusterXchange"
            body = (f"Partnership {partnership} accepted the registration of {name}. Log in to cx as "
                    f"{registration['login']} to complete your profile and find a host or visitors.")
        else:
            subject = f"The registration of {name} was refused"
            body = (f"Partnership {partnership} refused the registration of {name}: {reason}\n\n"
                    "Log in to cx to correct it and register again.")
        notify(con, [registration["login"], registration["contact_email"]], subject, body, by=viewer.identity)
    return organisation_id


def _record(row: pd.Series) -> dict:
    """A registration row as plain Python values (lists, None for missing)."""
    record = row.to_dict()
    record["ecosystems"] = list(record["ecosystems"]) if isinstance(record["ecosystems"], (list, np.ndarray)) else []
    return {k: (None if not isinstance(v, list) and pd.isna(v) else v) for k, v in record.items()}


def country_choices(rulebook: Rulebook) -> dict[str, str]:
    """Every country a person might be registered in, code → name, the call's first: one outside
    the call is refused with the rule's sentence rather than missing from the list."""
    eligible = {code: rulebook.country_name(code) for code in rulebook.eligible_countries}
    others = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries
              if c.alpha_2 not in eligible}
    return dict(sorted(eligible.items(), key=lambda item: item[1]) + sorted(others.items(), key=lambda item: item[1]))
