"""Hosts find visitors by their "looking for" notes, as each visitor chose to share them, and invite
them; the visitor's answer requests the exchange or closes the invitation. Real DuckDB files."""

import datetime as dt

import pandas as pd
import pytest
from viewers import OFFICER, PLANNER, manager, organisation

from cx import invitations, profiles
from cx.access import NotAllowed
from cx.errors import BrokenRules, CxError


def oracle_visible(store, rulebook, host: pd.Series) -> set[str]:
    """The visitors a host may be shown, computed with pandas from the whole tables."""
    orgs = store.table("organisations")
    exchanges = store.table("exchanges")
    visited = set(exchanges.loc[exchanges["status"].isin(rulebook.taken_statuses), "visitor_id"])
    shared = (orgs["looking_for_shown_to"] == "all") | (
        (orgs["looking_for_shown_to"] == "partnership") & (orgs["partnership_id"] == host["partnership_id"]))
    chosen = (orgs["can_visit"] & orgs["looking_for"].fillna("").ne("") & shared & ~orgs["id"].isin(visited)
              & (orgs["id"] != host["id"]) & (orgs["country"] != host["country"]))
    return set(orgs.loc[chosen, "id"])


@pytest.fixture
def hosts(demo_store):
    orgs = demo_store.table("organisations")
    return orgs[orgs["can_host"] & orgs["sectors"].notna()].reset_index(drop=True)


def test_a_host_is_shown_only_visitors_who_shared_their_note_with_it(demo_store, hosts, rulebook):
    for _, host in hosts.head(6).iterrows():
        found = invitations.visitors_for_host(demo_store, OFFICER, host["id"], k=50)
        allowed = oracle_visible(demo_store, rulebook, host)
        assert set(found["id"]) <= allowed and len(found)
        assert found["score"].is_monotonic_decreasing and found["reasons"].map(len).gt(0).all()
        notes = demo_store.table("organisations").set_index("id")["looking_for"]
        assert found["looking_for"].tolist() == notes.loc[found["id"]].tolist()
        assert "contact_email" not in found and "contact_name" not in found


def test_the_visitors_choice_decides_which_hosts_read_its_note(demo_store, hosts):
    host = hosts.iloc[0]
    orgs = demo_store.table("organisations")
    visitor = orgs[orgs["can_visit"] & (orgs["country"] != host["country"])
                   & (orgs["partnership_id"] != host["partnership_id"])
                   & ~orgs["id"].isin(demo_store.table("exchanges")["visitor_id"])].iloc[0]
    member = organisation(visitor["id"])
    note = f"We look for a host working on {host['sectors']}."
    for shown_to, seen in (("nobody", False), ("partnership", False), ("all", True)):
        profiles.update_profile(demo_store, member, visitor["id"], looking_for=note, looking_for_shown_to=shown_to)
        found = invitations.visitors_for_host(demo_store, organisation(host["id"]), host["id"])
        assert (visitor["id"] in set(found["id"])) is seen, shown_to
    # The note written in the host's own words ranks first, and says why.
    assert found["id"].iloc[0] == visitor["id"] and found["reasons"].iloc[0]
    # Shared with its partnership only: the hosts of that partnership read it.
    profiles.update_profile(demo_store, member, visitor["id"], looking_for_shown_to="partnership")
    same = hosts[(hosts["partnership_id"] == visitor["partnership_id"]) & (hosts["country"] != visitor["country"])]
    same_host = same.iloc[0]
    allowed = invitations.visible_visitors(demo_store, demo_store.table("organisations").set_index("id")
                                           .loc[same_host["id"]].to_dict() | {"id": same_host["id"]})
    assert visitor["id"] in set(allowed["id"])
    with pytest.raises(CxError, match="is not a choice of who reads what we look for"):
        profiles.update_profile(demo_store, member, visitor["id"], looking_for_shown_to="friends")


def test_only_who_acts_for_the_host_searches_for_it(demo_store, hosts):
    host, other = hosts.iloc[0], hosts[hosts["partnership_id"] != hosts.iloc[0]["partnership_id"]].iloc[0]
    assert len(invitations.visitors_for_host(demo_store, manager(host["partnership_id"]), host["id"]))
    with pytest.raises(CxError, match=f"there is no host '{host['id']}' that"):
        invitations.visitors_for_host(demo_store, organisation(other["id"]), host["id"])
    with pytest.raises(CxError, match=f"there is no host '{host['id']}' that"):
        invitations.visitors_for_host(demo_store, manager(other["partnership_id"]), host["id"])
    with pytest.raises(NotAllowed):
        invitations.visitors_for_host(demo_store, PLANNER, host["id"])


def test_a_host_without_words_or_without_shared_notes_is_told_why(demo_store, hosts):
    host = hosts.iloc[0]
    profiles.update_profile(demo_store, OFFICER, host["id"], description="", sectors="", ecosystems=[])
    with pytest.raises(invitations.NoVisitorFound, match="has no words to match on"):
        invitations.visitors_for_host(demo_store, OFFICER, host["id"])
    with demo_store.transaction() as con:
        con.execute("UPDATE organisations SET looking_for_shown_to = 'nobody'")
    with pytest.raises(invitations.NoVisitorFound, match="no visitor who may still visit has shared"):
        invitations.visitors_for_host(demo_store, OFFICER, hosts.iloc[1]["id"])


@pytest.fixture
def invited(demo_store, hosts, rulebook):
    """A host's invitation to the best-fitting visitor, for a stay four weeks ahead."""
    host = hosts.iloc[0]
    visitor = invitations.visitors_for_host(demo_store, organisation(host["id"]), host["id"]).iloc[0]
    start = rulebook.quiet_week(dt.date.today() + dt.timedelta(days=28))
    invitation = invitations.invite(demo_store, organisation(host["id"]), host_id=host["id"],
                                    visitor_id=visitor["id"], start=start, end=start + dt.timedelta(days=4),
                                    message="Come and see our labs.")
    return {"id": invitation, "host": host["id"], "visitor": visitor["id"], "start": start}


def test_an_accepted_invitation_is_the_visitors_request(demo_store, invited):
    visitor = organisation(invited["visitor"])
    mine = invitations.invitations(demo_store, visitor)
    assert mine["id"].tolist() == [invited["id"]] and mine["answer"].isna().all()
    assert invitations.invitations(demo_store, organisation(invited["host"]))["id"].tolist() == [invited["id"]]
    with pytest.raises(CxError, match="may answer"):
        invitations.answer(demo_store, organisation(invited["host"]), invited["id"], accept=True)
    exchange_id = invitations.answer(demo_store, visitor, invited["id"], accept=True)
    exchange = demo_store.table("exchanges").set_index("id").loc[exchange_id]
    assert (exchange["visitor_id"], exchange["host_id"], exchange["status"]) == (invited["visitor"], invited["host"],
                                                                                 "requested")
    assert exchange["objectives"] == "Come and see our labs."
    events = demo_store.table("exchange_events")
    assert events.loc[events["exchange_id"] == exchange_id, "changed_by"].tolist() == [visitor.identity]
    row = demo_store.table("invitations").set_index("id").loc[invited["id"]]
    assert (row["answer"], row["answered_by"], row["exchange_id"]) == ("accepted", visitor.identity, exchange_id)
    with pytest.raises(CxError, match="is accepted already"):
        invitations.answer(demo_store, visitor, invited["id"], accept=False)


def test_a_declined_invitation_requests_nothing_and_a_broken_rule_keeps_it_open(demo_store, invited):
    visitor = organisation(invited["visitor"])
    before = len(demo_store.table("exchanges"))
    with demo_store.transaction() as con:  # the stay has started by the time the visitor answers
        con.execute("UPDATE invitations SET start_date = DATE '2020-01-06', end_date = DATE '2020-01-10'")
    with pytest.raises(BrokenRules):
        invitations.answer(demo_store, visitor, invited["id"], accept=True)
    assert len(demo_store.table("exchanges")) == before
    assert demo_store.table("invitations")["answer"].isna().all()
    assert invitations.answer(demo_store, visitor, invited["id"], accept=False) is None
    assert len(demo_store.table("exchanges")) == before
    assert demo_store.table("invitations")["answer"].tolist() == ["declined"]


def test_a_host_invites_only_visitors_it_may_find_and_once(demo_store, invited, hosts):
    host = organisation(invited["host"])
    again = dict(host_id=invited["host"], start=invited["start"], end=invited["start"] + dt.timedelta(days=4))
    with pytest.raises(CxError, match="awaits the visitor's answer"):
        invitations.invite(demo_store, host, visitor_id=invited["visitor"], **again)
    hidden = demo_store.table("organisations").query("looking_for_shown_to == 'nobody' and can_visit")["id"].iloc[0]
    with pytest.raises(CxError, match=f"cannot invite '{hidden}'"):
        invitations.invite(demo_store, host, visitor_id=hidden, **again)
    other = hosts[hosts["partnership_id"] != hosts.iloc[0]["partnership_id"]].iloc[0]
    with pytest.raises(CxError, match="that .* acts for"):
        invitations.invite(demo_store, organisation(other["id"]), visitor_id=invited["visitor"], **again)
    assert len(demo_store.table("invitations")) == 1


def test_the_invited_visitor_is_told_and_its_decline_tells_the_host(demo_store, invited):
    names = demo_store.table("organisations").set_index("id")
    visitor, host = names.loc[invited["visitor"]], names.loc[invited["host"]]

    def last_message():
        return tuple(demo_store.query("SELECT recipient, subject, body FROM outbox ORDER BY id DESC LIMIT 1").iloc[0])

    recipient, subject, body = last_message()
    assert (recipient, subject) == (visitor["contact_email"].lower(), f"{host['name']} invites {visitor['name']} to visit")
    assert f"(invitation {invited['id']}), saying: Come and see our labs." in body
    invitations.answer(demo_store, organisation(invited["visitor"]), invited["id"], accept=False)
    recipient, subject, body = last_message()
    assert (recipient, subject) == (host["contact_email"].lower(), f"{visitor['name']} declined your invitation")
    assert body.startswith(f"{visitor['name']} declined the invitation {invited['id']} to stay from {invited['start']}")
