"""Row-level security on PostgreSQL, the safety net under cx's own scoping: the application's role
(`cx_app`: no owner, no superuser) sees in each transaction only the rows of the scope the work
runs as, set per transaction; with no scope it sees nothing, and hand-written SQL cannot turn the
net off or reach past it. The demo programme; cx's own scoped readers are the reference."""

import psycopg
import pytest
from viewers import OFFICER, PLANNER, manager, organisation

from cx.access import NotAllowed, acting_as, as_system
from cx.invitations import invitations
from cx.missions import mission_rows
from cx.postgres import PostgresStore, close_pool
from cx.registrations import registrations
from cx.store import TABLES

BACKENDS = ("postgres",)


def seen(store, scope, sql: str, parameters=None) -> set:
    """The first column of a hand-written query's rows, run as `scope`'s work."""
    with acting_as(scope):
        return set(store.query(sql, parameters).iloc[:, 0])


def app_rows(read, viewer) -> set:
    """The ids cx's own scoped reader gives the viewer (none when its role may not read them)."""
    try:
        return set(read(viewer)["id"])
    except NotAllowed:
        return set()


@pytest.fixture
def viewers(demo_store):
    """One viewer per role and scope, on partnerships and an organisation that have exchanges."""
    exchanges = demo_store.exchanges(OFFICER)
    busiest = exchanges["partnership_id"].value_counts().index
    member = exchanges["visitor_id"].value_counts().index[0]
    return [OFFICER, PLANNER, manager(busiest[0]), manager(busiest[1], busiest[2]), organisation(member)]


def test_each_role_s_transaction_sees_exactly_its_rows(demo_store, viewers):
    everything = demo_store.table("organisations")
    events = demo_store.table("exchange_events")
    for viewer in viewers:
        theirs = app_rows(demo_store.exchanges, viewer)
        assert seen(demo_store, viewer, "SELECT id FROM exchanges") == theirs, viewer.describe()
        assert seen(demo_store, viewer, "SELECT DISTINCT exchange_id FROM exchange_events") == (
            set(events["exchange_id"]) & theirs)
        assert seen(demo_store, viewer, "SELECT id FROM invitations") == app_rows(
            lambda v: invitations(demo_store, v), viewer)
        assert seen(demo_store, viewer, "SELECT id FROM missions") == app_rows(
            lambda v: mission_rows(demo_store, v), viewer)
        assert seen(demo_store, viewer, "SELECT id FROM registrations") == app_rows(
            lambda v: registrations(demo_store, v), viewer)
        # The directory (no contacts) to every role that reads rows; none to the planner.
        directory = seen(demo_store, viewer, "SELECT id FROM organisations")
        assert directory == (set() if viewer == PLANNER else set(everything["id"]))
        # Contacts: the organisations the scope holds, and the other side of its exchanges.
        held = app_rows(demo_store.organisations, viewer)
        sides = demo_store.table("exchanges").query("id in @theirs")
        others = set(sides["visitor_id"]) | set(sides["host_id"]) if viewer.role in ("partnership_manager",
                                                                                       "organisation") else set()
        contacts = seen(demo_store, viewer, "SELECT id FROM organisation_contacts")
        assert contacts == held | (others & set(everything["id"])), viewer.describe()
    assert len(seen(demo_store, viewers[2], "SELECT id FROM exchanges")) > 0  # the comparisons compared rows


def test_with_no_scope_a_query_sees_nothing_and_writes_nothing(demo_store):
    held = {table: len(demo_store.table(table)) for table in TABLES}
    assert held["organisations"] and held["exchanges"] and held["exchange_events"] and held["partnerships"]
    for table in (*TABLES, "organisation_contacts"):
        with acting_as(None):
            assert demo_store.query(f"SELECT count(*) AS n FROM {table}")["n"].iloc[0] == 0, table
    with acting_as(None), pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        with demo_store.transaction() as con:
            con.execute("INSERT INTO partnerships (id, name, target_exchanges) VALUES ('PX', 'Nobody''s', 1)")
    assert "PX" not in set(demo_store.table("partnerships")["id"])


def test_a_connection_back_in_the_pool_keeps_no_identity(demo_store):
    """A pool of one connection: the manager's transaction and the next one, with no scope, run on
    the same server process, and the next one holds no identity and sees nothing."""
    one = PostgresStore(demo_store.url + "&application_name=cx_one", owner=demo_store.owner, pool_size=1)
    who = "SELECT pg_backend_pid() AS pid, current_setting('cx.role', true) AS role, (SELECT count(*) FROM exchanges) AS n"
    try:
        with acting_as(manager("P01")):
            as_manager = one.query(who).iloc[0]
            with one.transaction() as con:  # a write transaction, then one that fails: neither leaves a scope
                con.execute("UPDATE exchanges SET objectives = objectives WHERE false")
            with pytest.raises(psycopg.errors.DivisionByZero), one.reading():
                one.query("SELECT 1 / 0")
        with acting_as(None):
            after = one.query(who).iloc[0]
    finally:
        close_pool(one.url)
    assert as_manager["role"] == "partnership_manager" and as_manager["n"] > 0
    assert after["pid"] == as_manager["pid"]  # the same pooled connection
    assert after["role"] in (None, "") and after["n"] == 0


def test_the_app_role_cannot_turn_the_net_off_or_reach_past_it(demo_store):
    mine = manager("P01")
    organisations = demo_store.table("organisations")
    exchanges = demo_store.table("exchanges")
    partner_of = organisations.set_index("id")["partnership_id"]
    linked = {side for visitor, host in zip(exchanges["visitor_id"], exchanges["host_id"])
              if "P01" in (partner_of.get(visitor), partner_of.get(host)) for side in (visitor, host)}
    stranger = organisations[(organisations["partnership_id"] != "P01") & ~organisations["id"].isin(linked)]["id"].iloc[0]
    refused = {
        "ALTER TABLE organisations DISABLE ROW LEVEL SECURITY": "must be owner",
        "ALTER TABLE exchanges NO FORCE ROW LEVEL SECURITY": "must be owner",
        "DROP POLICY cx_read ON exchanges": "must be owner",
        "CREATE POLICY mine ON exchanges FOR SELECT USING (true)": "must be owner",
        "SET ROLE cx_owner": "permission denied",
        "SET SESSION AUTHORIZATION postgres": "permission denied",
        "TRUNCATE exchanges": "permission denied",
        "SELECT contact_email FROM organisations": "permission denied",
        "SELECT * FROM organisations": "permission denied",
        # No object of its own in the schema: the policies' view and functions stay the owner's.
        "CREATE OR REPLACE VIEW organisation_contacts AS SELECT id, contact_name, contact_email FROM organisations":
            "permission denied for schema public",
        "CREATE OR REPLACE FUNCTION cx_holds(organisation TEXT, partnership TEXT) RETURNS BOOLEAN "
        "LANGUAGE sql AS $$ SELECT true $$": "permission denied for schema public",
    }
    for statement, error in refused.items():
        with acting_as(mine), pytest.raises(psycopg.Error, match=error), demo_store.transaction() as con:
            con.execute(statement)
    with acting_as(mine), pytest.raises(psycopg.Error, match="row-level security"), demo_store.transaction() as con:
        con.execute("SET LOCAL row_security = off")
        con.execute("SELECT count(*) FROM exchanges")
    assert seen(demo_store, mine, "SELECT contact_email FROM organisation_contacts WHERE id = ?", [stranger]) == set()
    # Writing past the scope: an exchange between two organisations of other partnerships.
    others = organisations[organisations["partnership_id"] != "P01"]["id"].iloc[:2].tolist()
    with acting_as(mine), pytest.raises(psycopg.Error, match="row-level security"), demo_store.transaction() as con:
        con.execute("INSERT INTO exchanges (id, visitor_id, host_id, start_date, end_date, status) "
                    "VALUES ('X-forged', ?, ?, DATE '2027-01-04', DATE '2027-01-08', 'approved')", others)
    roles = demo_store.query("SELECT rolsuper, rolbypassrls, (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) "
                             "AS owned FROM pg_roles r WHERE rolname = 'cx_app'").iloc[0]
    assert not roles["rolsuper"] and not roles["rolbypassrls"] and roles["owned"] == 0


def test_the_system_scope_is_the_owner_s_alone(demo_store):
    """System work runs on the owner's connection; the application's role claiming it sees nothing."""
    app_only = PostgresStore(demo_store.url)  # no owner: system work would be the app role's own
    try:
        with as_system():
            assert app_only.query("SELECT count(*) AS n FROM exchanges")["n"].iloc[0] == 0
            assert demo_store.query("SELECT count(*) AS n FROM exchanges")["n"].iloc[0] == len(demo_store.table("exchanges"))
            assert demo_store.query("SELECT current_user AS u")["u"].iloc[0] == "cx_owner"
        with acting_as(OFFICER):
            assert app_only.query("SELECT current_user AS u")["u"].iloc[0] == "cx_app"
    finally:
        close_pool(app_only.url)


def test_programme_figures_are_whole_for_every_role_that_sees_them(demo_store, viewers):
    """Figures over exchanges a role may not read row by row (a planner's money per partnership,
    a mission's members) are system work: the same sums as the officer's, not the rows RLS leaves."""
    import pandas as pd

    from cx import money
    from cx.missions import missions
    from cx.uptake import exchanges_by_status

    everything = money.partnership_money(demo_store, OFFICER)
    assert everything["committed_eur"].sum() > 0
    pd.testing.assert_frame_equal(money.partnership_money(demo_store, PLANNER), everything)
    pd.testing.assert_frame_equal(missions(demo_store, PLANNER), missions(demo_store, OFFICER))
    assert missions(demo_store, PLANNER)["exchanges"].sum() > 0
    with acting_as(PLANNER):
        assert exchanges_by_status(demo_store)["exchanges"].sum() == len(demo_store.table("exchanges"))


def test_every_table_has_its_policies():
    """A table added by a migration is granted to the application's role (`grants` covers TABLES):
    without a policy of its own it would be readable whole."""
    from cx.postgres import POLICIES

    assert set(POLICIES) == set(TABLES)
