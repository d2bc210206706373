"""Find a visitor and the invitations on Our organisation, per role, run by Streamlit's AppTest on
real DuckDB files: a host finds and invites a visitor, the visitor accepts, and the exchange is
requested."""

import pytest
from test_roles import logged_in
from viewers import OFFICER

from cx import accounts, invitations
from cx.store import Store


@pytest.fixture
def people(app_db):
    """A host and the visitor whose note fits it best, each with an account, and a manager of the host's
    partnership."""
    store = Store(app_db)
    orgs = store.table("organisations")
    for _, host in orgs[orgs["can_host"] & orgs["sectors"].notna()].iterrows():
        found = invitations.visitors_for_host(store, OFFICER, host["id"])
        if len(found):
            break
    visitor = found.iloc[0]
    accounts.add_account(store, OFFICER, "host@example.org", "organisation", organisation_id=host["id"])
    accounts.add_account(store, OFFICER, "visitor@example.org", "organisation", organisation_id=visitor["id"])
    accounts.add_account(store, OFFICER, "mario@example.org", "partnership_manager",
                         partnerships=[host["partnership_id"]])
    return {"store": store, "host": host, "visitor": visitor, "found": found}


def table_with(app, column: str):
    """The one table on the page with this column (AppTest does not keep a dataframe's key)."""
    tables = [frame.value for frame in app.dataframe if column in frame.value.columns]
    assert len(tables) == 1
    return tables[0]


def open_as(email: str, page: str):
    app = logged_in(email)
    app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_a_host_finds_and_invites_and_the_visitor_accepts(people):
    store = people["store"]
    app = open_as("host@example.org", "app_pages/find_a_visitor.py")
    shown = table_with(app, "looking_for")
    assert shown["name"].tolist() == people["found"]["name"].tolist()
    assert "contact_email" not in shown and shown["reasons"].str.len().gt(0).all()
    app.selectbox(key="invite_visitor").set_value(people["visitor"]["id"])
    app.text_area(key="invite_message").input("Two days in our labs, one with our members.")
    app.button(key="invite_send").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.success[0].value.startswith("Invitation I-")
    invitation = store.table("invitations").iloc[0]
    assert (invitation["host_id"], invitation["visitor_id"]) == (people["host"]["id"], people["visitor"]["id"])

    visitor = open_as("visitor@example.org", "app_pages/profile.py")
    assert table_with(visitor, "we are")["id"].tolist() == [invitation["id"]]
    visitor.button(key="profile_invitation_accept").click().run()
    assert not visitor.exception and not visitor.error, [e.value for e in visitor.error]
    exchange_id = store.table("invitations").iloc[0]["exchange_id"]
    assert visitor.success[0].value.startswith(f"The invitation {invitation['id']} is accepted: exchange {exchange_id}")
    exchange = store.table("exchanges").set_index("id").loc[exchange_id]
    assert (exchange["status"], exchange["objectives"]) == ("requested", "Two days in our labs, one with our members.")


def test_a_visitor_chooses_who_reads_what_it_looks_for(people):
    store = people["store"]
    app = open_as("visitor@example.org", "app_pages/profile.py")
    app.text_area(key="profile_looking_for").input("A host working on hydrogen storage")
    app.radio(key="profile_looking_for_shown_to").set_value("nobody")
    app.button(key="profile_save").click().run()
    assert not app.exception and not app.error
    stored = store.table("organisations").set_index("id").loc[people["visitor"]["id"]]
    assert (stored["looking_for"], stored["looking_for_shown_to"]) == ("A host working on hydrogen storage", "nobody")
    host = open_as("host@example.org", "app_pages/find_a_visitor.py")
    assert people["visitor"]["name"] not in table_with(host, "looking_for")["name"].tolist()


def test_a_manager_acts_for_the_hosts_of_their_partnership(people):
    app = open_as("mario@example.org", "app_pages/find_a_visitor.py")
    orgs = people["store"].table("organisations")
    theirs = orgs[orgs["can_host"] & (orgs["partnership_id"] == people["host"]["partnership_id"])]
    picker = app.selectbox(key="host")
    assert picker.options == [f"{o.name} ({o.city}, {o.country})" for o in theirs.itertuples()]
    assert len(picker.options) < int(orgs["can_host"].sum())
