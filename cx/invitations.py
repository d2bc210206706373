"""Hosts find visitors, and invite them.

The matcher of Find a host, the other way round: `HostMatcher` fitted on what visitors say they
are looking for (their "looking for" note as the profile's description, and the sector labels it
evokes; not their own sectors, which say what they are, not what they seek) and queried with the
host's own profile. A visitor's note is read only by the hosts
it chose (`profiles.SHOWN_TO`: no host, the hosts of its partnership, or every host), and only
visitors who may still visit, in another eligible country, are suggested.

An invitation is the host's proposal of dates; it waits for the visitor's answer. Accepting it is
the visitor's request for that exchange (`exchanges.request_exchange`, with every rule checked in
the same transaction), which then goes to the visitor's partnership for approval as any request
does; declining it closes it. Who acts for a host: the organisation itself, a manager of its
partnership, an officer; for a visitor likewise.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd

from cx.access import MANAGER, Viewer, scoped
from cx.errors import CxError, EmptyObjectives, NoEligibleHost, TooGeneralObjectives, UnclearObjectives
from cx.exchanges import request_exchange
from cx.matching import HostMatcher
from cx.outbox import notify, people_of
from cx.rules import Rulebook, load_rulebook
from cx.store import Store, text_too_long

SUGGESTED = 10
NOTE_WEIGHTS = {"description": 1.0, "taxonomy": 0.5}  # the note, and the sector labels its words evoke
RESULT_COLUMNS = ["id", "name", "kind", "country", "city", "score", "reasons", "looking_for", "distance_km"]


class NoVisitorFound(CxError):
    """No visitor's note, among those this host may read, fits its profile."""


def _acts_for(viewer: Viewer, organisation_id: str, partnership_id: str | None) -> bool:
    return (viewer.is_officer or viewer.organisation == organisation_id
            or (viewer.role == MANAGER and partnership_id in viewer.partnerships))


def _organisation(store: Store, viewer: Viewer, organisation_id: str, side: str) -> dict:
    """The organisation the viewer acts for as `side` (host or visitor); an organisation outside
    the viewer's scope is refused as if it did not exist, so ids cannot be probed."""
    rows = store.query("SELECT id, name, kind, country, city, lat, lon, partnership_id, sectors, description, "
                       "ecosystems, can_host, can_visit FROM organisations WHERE id = ?", [organisation_id])
    if rows.empty or not _acts_for(viewer, organisation_id, rows.iloc[0]["partnership_id"]):
        viewer.require_rows(f"act for the {side} {organisation_id}")
        raise CxError(f"there is no {side} {organisation_id!r} that {viewer.identity} acts for")
    return rows.iloc[0].to_dict()


def visible_visitors(store: Store, host: dict, rulebook: Rulebook | None = None) -> pd.DataFrame:
    """The visitors whose "looking for" note this host may read and who may still visit: not the
    host itself, with a note, shown to every host or to the hosts of the host's partnership, and
    no visit taken (approved to paid)."""
    rulebook = rulebook or load_rulebook()
    return store.query("""
        SELECT o.id, o.name, o.kind, o.country, o.city, o.lat, o.lon, o.sectors, o.ecosystems,
               o.looking_for AS description, o.looking_for
        FROM organisations o
        WHERE o.can_visit AND o.id <> $host AND coalesce(o.looking_for, '') <> ''
          AND (o.looking_for_shown_to = 'all'
               OR (o.looking_for_shown_to = 'partnership' AND o.partnership_id = $host_partnership))
          AND o.id NOT IN (SELECT visitor_id FROM exchanges WHERE status = ANY($taken))
        ORDER BY o.id""", {"host": host["id"], "host_partnership": host["partnership_id"],
                           "taken": list(rulebook.taken_statuses)})


def host_profile_text(host: dict) -> str:
    """What the host says about itself, as the query: its sectors, ecosystems and description."""
    ecosystems = host["ecosystems"] if host["ecosystems"] is not None else []
    return ". ".join(part for part in (host["sectors"], "; ".join(ecosystems), host["description"]) if part)


@scoped
def visitors_for_host(store: Store, viewer: Viewer, host_id: str, k: int = SUGGESTED,
                      rulebook: Rulebook | None = None) -> pd.DataFrame:
    """The k visitors whose notes best fit the host's profile, best first, with the reasons (the
    profile's words and phrases found in the note) and the distance to the host.

    Raises NotAllowed or CxError when the viewer does not act for the host, and NoVisitorFound
    with a sentence when the host's profile has nothing to match on or no note fits it."""
    rulebook = rulebook or load_rulebook()
    host = _organisation(store, viewer, host_id, "host")
    if not host["can_host"]:
        raise NoVisitorFound(f"{host['name']} does not host visitors; say so on its profile first")
    visitors = visible_visitors(store, host, rulebook)
    if visitors.empty:
        raise NoVisitorFound("no visitor who may still visit has shared what it is looking for with "
                             f"{host['name']} yet")
    matcher = HostMatcher(field_weights=NOTE_WEIGHTS, rulebook=rulebook).fit(visitors.assign(can_host=True))
    location = (host["lat"], host["lon"]) if pd.notna(host["lat"]) and pd.notna(host["lon"]) else None
    try:
        found = matcher.suggest(host_profile_text(host), visitor_country=host["country"], visitor_id=host_id,
                                visitor_location=location, k=k)
    except (EmptyObjectives, TooGeneralObjectives):
        raise NoVisitorFound(f"the profile of {host['name']} has no words to match on; describe what it does "
                             "and its sectors on its profile") from None
    except (UnclearObjectives, NoEligibleHost):
        raise NoVisitorFound(f"none of the {len(visitors):,} visitors' notes shared with {host['name']} fits its "
                             "profile, outside its own country") from None
    notes = visitors.set_index("id")["looking_for"]
    return found.assign(looking_for=found["id"].map(notes))[RESULT_COLUMNS]


@scoped
def invite(store: Store, viewer: Viewer, *, host_id: str, visitor_id: str, start, end, message: str = "",
           rulebook: Rulebook | None = None) -> str:
    """Invite a visitor to a stay at the host from `start` to `end`; returns the invitation's id.

    The viewer acts for the host; the visitor must be one the host may find (its note shared with
    this host, a visit still to take). CxError names what is wrong; nothing is stored then."""
    rulebook = rulebook or load_rulebook()
    if text_too_long("message", message):
        raise CxError(text_too_long("message", message))
    start, end = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    if end < start:
        raise CxError(f"the stay ends on {end}, before it starts on {start}")
    invitation_id = f"I-{uuid.uuid4().hex[:10]}"
    with store.transaction() as con:
        store.lock_visitors([visitor_id])  # one waiting invitation per host and visitor, across processes too
        host = _organisation(store, viewer, host_id, "host")
        if visitor_id not in set(visible_visitors(store, host, rulebook)["id"]):
            raise CxError(f"{host['name']} cannot invite {visitor_id!r}: only visitors who shared what they look "
                          "for with this host, and may still visit, can be invited")
        pending = con.execute("SELECT id FROM invitations WHERE host_id = ? AND visitor_id = ? AND answer IS NULL",
                              [host_id, visitor_id]).fetchone()
        if pending:
            raise CxError(f"{host['name']} already invited {visitor_id} (invitation {pending[0]}); "
                          "it awaits the visitor's answer")
        con.execute("INSERT INTO invitations (id, host_id, visitor_id, start_date, end_date, message, invited_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", [invitation_id, host_id, visitor_id, start, end, message or None,
                                                     viewer.identity])
        visitor = con.execute("SELECT name FROM organisations WHERE id = ?", [visitor_id]).fetchone()[0]
        notify(con, people_of(con, visitor_id), f"{host['name']} invites {visitor} to visit",
               f"{host['name']} ({host['city']}, {host['country']}) invites {visitor} to stay from {start} to {end} "
               f"(invitation {invitation_id})" + (f", saying: {message}" if message else ".")
               + "\n\nAccept or decline it on cx's Our organisation page.", by=viewer.identity)
    return invitation_id


@scoped
def invitations(store: Store, viewer: Viewer) -> pd.DataFrame:
    """The invitations the viewer may see (those of hosts or visitors in its scope), newest first,
    with both organisations' names and the host's country."""
    viewer.require_rows("see invitations")
    scope, parameters = viewer.exchange_scope("v", "h")
    return store.query(f"""
        SELECT i.id, i.host_id, h.name AS host_name, h.country AS host_country, i.visitor_id,
               v.name AS visitor_name, i.start_date, i.end_date, i.message, i.invited_by, i.invited_at,
               i.answer, i.answered_by, i.answered_at, i.exchange_id
        FROM invitations i JOIN organisations v ON v.id = i.visitor_id JOIN organisations h ON h.id = i.host_id
        WHERE {scope} ORDER BY i.invited_at DESC, i.id""", parameters)


@scoped
def answer(store: Store, viewer: Viewer, invitation_id: str, accept: bool, *, objectives: str = "",
           rulebook: Rulebook | None = None, today: dt.date | None = None) -> str | None:
    """The visitor's answer. Accepting requests the exchange (every rule checked, as any request;
    BrokenRules leaves the invitation open) and returns its id; declining closes the invitation.
    Only who acts for the visitor answers, and only once."""
    with store.transaction() as con:
        # The visitor held first: two answers to one invitation run one after the other.
        store.lock_visitors([r[0] for r in con.execute("SELECT visitor_id FROM invitations WHERE id = ?",
                                                       [invitation_id]).fetchall()])
        row = con.execute("SELECT i.visitor_id, i.host_id, i.start_date, i.end_date, i.answer, v.partnership_id, "
                          "i.message FROM invitations i JOIN organisations v ON v.id = i.visitor_id WHERE i.id = ?",
                          [invitation_id]).fetchone()
        if row is None or not _acts_for(viewer, row[0], row[5]):
            raise CxError(f"there is no invitation {invitation_id!r} that {viewer.identity} may answer")
        visitor_id, host_id, start, end, answered, _, message = row
        if answered:
            raise CxError(f"the invitation {invitation_id} is {answered} already")
        exchange_id = None
        if accept:
            exchange_id = request_exchange(store, viewer, visitor_id=visitor_id, host_id=host_id, start=start,
                                           end=end, objectives=objectives or message or "", rulebook=rulebook,
                                           today=today)
        con.execute("UPDATE invitations SET answer = ?, answered_by = ?, answered_at = current_timestamp, "
                    "exchange_id = ? WHERE id = ?",
                    ["accepted" if accept else "declined", viewer.identity, exchange_id, invitation_id])
        if not accept:  # accepting is a request, which tells the host itself
            visitor = con.execute("SELECT name FROM organisations WHERE id = ?", [visitor_id]).fetchone()[0]
            notify(con, people_of(con, host_id), f"{visitor} declined your invitation",
                   f"{visitor} declined the invitation {invitation_id} to stay from {start} to {end}.",
                   by=viewer.identity)
    return exchange_id
