"""Roles and scopes, enforced in `cx` itself: each role × query or action, called as a page or a
script would call it, on real DuckDB files.

The template programme, its ids read from data/templates: partnership P1 has O1 (Porto, visits and
hosts) and O4 (Lyon, visits only); P2 has O2 (Stuttgart) and O3 (Raaba-Grambach). X1 is O1 → O2,
approved; X2 is O4 → O3, requested (visitor of P1, host of P2)."""

import datetime as dt
import inspect
import io
import zipfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from steps import agreed
from viewers import OFFICER, PLANNER, manager, organisation

from cx import accounts, invitations, matcher_cache, missions, money, profiles, uptake
from cx import exchanges as workflow
from cx import io as cio
from cx.access import NotAllowed, Viewer
from cx.errors import CxError
from cx.exchanges import UnknownExchange
from cx.store import Store
from cx.ui import cached

BACKENDS = ("duckdb", "postgres")  # on PostgreSQL, as the application's role under row-level security


def template_ids(kind: str) -> list[str]:
    return pd.read_csv(cio.template_path(kind), dtype=str)["id"].tolist()


P1, P2 = template_ids("partnerships")
O1, O2, O3, O4 = template_ids("organisations")
X1, X2 = template_ids("exchanges")
REQUEST_DAY = dt.date(2026, 2, 2)  # "today" when the tests' stays of 2026 are requested

EVERY_ROW_READER_AND_ACTION = [
    Store.organisations, Store.exchanges, workflow.request_exchange, workflow.change_status, workflow.history,
    workflow.partnership_exchanges, workflow.visitor_exchanges, cio.import_table, cio.import_file, cio.import_path, cio.exchange_ids,
    cio.export_frame, cio.export_all, cio.export_view, uptake.dashboard, uptake.map_layers,
    *(query for _, query in uptake.FINDINGS.values()), profiles.profile, profiles.update_profile,
    accounts.add_account, accounts.list_accounts, accounts.remove_account,
    money.partnerships_with_allocations, money.set_allocation, money.partnership_money, money.money_per_partnership,
    invitations.visitors_for_host, invitations.invite, invitations.invitations, invitations.answer,
    missions.create_mission, missions.missions, missions.mission_exchanges,
]


@pytest.fixture
def programme(store):
    for kind in cio.KINDS:
        assert cio.import_path(store, OFFICER, kind, cio.template_path(kind)).written
    return store


def status_and_events(store, exchange_id):
    return store.query("SELECT status, (SELECT count(*) FROM exchange_events WHERE exchange_id = $id) AS events "
                       "FROM exchanges WHERE id = $id", {"id": exchange_id}).iloc[0].tolist()


@pytest.mark.parametrize("function", EVERY_ROW_READER_AND_ACTION, ids=lambda f: f.__qualname__)
def test_no_reader_or_action_runs_without_a_viewer(function):
    parameter = inspect.signature(function).parameters["viewer"]
    assert parameter.default is inspect.Parameter.empty


@pytest.mark.parametrize("viewer, expected", [
    (OFFICER, [O1, O2, O3, O4]),
    (manager(P1), [O1, O4]),
    (manager(P2), [O2, O3]),
    (manager(P1, P2), [O1, O2, O3, O4]),
    (organisation(O4), [O4]),
], ids=lambda v: v.describe() if isinstance(v, Viewer) else None)
def test_each_role_reads_the_organisations_and_exchanges_of_its_scope(programme, viewer, expected):
    rows = programme.organisations(viewer)
    assert rows["id"].tolist() == expected
    assert {"contact_name", "contact_email"} <= set(rows.columns)
    exchanges = programme.exchanges(viewer)
    assert all(set(pair) & set(expected) for pair in zip(exchanges["visitor_id"], exchanges["host_id"]))
    every = programme.table("exchanges")
    assert len(exchanges) == (every["visitor_id"].isin(expected) | every["host_id"].isin(expected)).sum()


def test_the_planner_reads_no_rows_and_no_contacts(programme):
    for reader in (programme.organisations, programme.exchanges):
        with pytest.raises(NotAllowed, match=r"pia.planner@example.org \(planner\) may not see"):
            reader(PLANNER)
    for kind in ("organisations", "exchanges"):
        with pytest.raises(NotAllowed):
            cio.export_view(programme, PLANNER, what=kind)
    with pytest.raises(NotAllowed, match="may not export contact names or e-mails"):
        cio.export_frame(programme, PLANNER, "partnerships", with_contacts=True)


def test_the_host_catalogue_has_no_contacts(programme):
    suggestions = matcher_cache.current(programme).suggest("mobility clusters", visitor_country="PT")
    assert len(suggestions) and not {"contact_name", "contact_email"} & set(suggestions.columns)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.sets(st.integers(min_value=0, max_value=19), min_size=1, max_size=4))
def test_a_manager_sees_exactly_the_rows_of_their_partnerships(demo_store, chosen):
    partnerships = sorted(demo_store.table("partnerships")["id"])
    scope = tuple(partnerships[i % len(partnerships)] for i in sorted(chosen))
    viewer = manager(*dict.fromkeys(scope))
    every = demo_store.table("organisations")
    theirs = set(every.loc[every["partnership_id"].isin(scope), "id"])
    assert set(demo_store.organisations(viewer)["id"]) == theirs
    exchanges = demo_store.table("exchanges")
    expected = set(exchanges.loc[exchanges["visitor_id"].isin(theirs) | exchanges["host_id"].isin(theirs), "id"])
    assert set(demo_store.exchanges(viewer)["id"]) == expected
    assert set(cio.exchange_ids(demo_store, viewer)) == expected


# --- the workflow -----------------------------------------------------------------------------

def test_a_manager_of_the_host_cannot_approve_even_by_calling_the_function(programme):
    before = status_and_events(programme, X2)
    with pytest.raises(NotAllowed, match=f"manager.{P2.lower()}@example.org \\(partnership manager of {P2}\\) may "
                                         f"not make exchange {X2} approved \\(approval is for the visitor's "
                                         "partnership"):
        workflow.change_status(programme, manager(P2), X2, "approved")
    assert status_and_events(programme, X2) == before
    agreed(programme, X2)
    signed = status_and_events(programme, X2)
    workflow.change_status(programme, manager(P1), X2, "approved")
    assert status_and_events(programme, X2) == ["approved", signed[1] + 1]
    assert workflow.history(programme, OFFICER, X2)["changed_by"].iloc[-1] == f"manager.{P1.lower()}@example.org"


def test_a_manager_moves_the_exchanges_of_either_side_but_no_others(programme):
    workflow.change_status(programme, manager(P2), X2, "rejected")  # the host's partnership may refuse
    inside = workflow.request_exchange(programme, OFFICER, visitor_id=O4, host_id=O1,
                                       start="2026-06-01", end="2026-06-05", today=REQUEST_DAY)
    before = status_and_events(programme, inside)
    with pytest.raises(UnknownExchange, match=f"there is no exchange '{inside}'"):
        workflow.change_status(programme, manager(P2), inside, "cancelled")
    assert status_and_events(programme, inside) == before
    assert workflow.history(programme, manager(P2), inside).empty
    assert len(workflow.history(programme, manager(P1), inside)) == 1
    with pytest.raises(NotAllowed, match=f"may not see the exchanges of partnership {P1}"):
        workflow.partnership_exchanges(programme, manager(P2), P1)


def test_an_organisation_cancels_its_own_exchanges_and_nothing_else(programme):
    with pytest.raises(NotAllowed, match=f"{O4.lower()}@example.org \\(organisation {O4}\\) may not make exchange "
                                         f"{X2} approved"):
        workflow.change_status(programme, organisation(O4), X2, "approved")
    with pytest.raises(UnknownExchange):
        workflow.change_status(programme, organisation(O2), X2, "cancelled")
    workflow.change_status(programme, organisation(O3), X2, "cancelled")  # the host may withdraw
    assert status_and_events(programme, X2)[0] == "cancelled"


def test_the_planner_moves_no_exchange(programme):
    with pytest.raises(UnknownExchange):
        workflow.change_status(programme, PLANNER, X2, "rejected")
    with pytest.raises(NotAllowed):
        workflow.history(programme, PLANNER, X2)


@pytest.mark.parametrize("viewer, visitor, allowed", [
    (organisation(O4), O4, True), (organisation(O4), O1, False),
    (manager(P1), O4, True), (manager(P2), O1, False), (PLANNER, O1, False),
    (OFFICER, O4, True),
], ids=lambda v: v.describe() if isinstance(v, Viewer) else str(v))
def test_who_may_request_an_exchange_for_a_visitor(programme, viewer, visitor, allowed):
    count = len(programme.table("exchanges"))
    request = lambda: workflow.request_exchange(programme, viewer, visitor_id=visitor, host_id=O2,  # noqa: E731
                                                start="2026-09-07", end="2026-09-11", today=REQUEST_DAY)
    if allowed:
        exchange_id = request()
        assert workflow.history(programme, OFFICER, exchange_id)["changed_by"].tolist() == [viewer.identity]
    else:
        with pytest.raises(NotAllowed, match=f"may not request an exchange for the visitor {visitor}"):
            request()
    assert len(programme.table("exchanges")) == count + allowed


# --- imports and exports ----------------------------------------------------------------------

def test_a_manager_imports_for_their_partnership_only_with_the_row_numbers_of_the_others(programme):
    rows = pd.read_csv(cio.template_path("organisations"), dtype=str, keep_default_na=False)
    rows.loc[rows["id"] == O1, "description"] = f"Changed by {P1}"
    rows.loc[rows["id"] == O2, "description"] = f"Changed by {P1}, of {P2}"
    report = cio.import_file(programme, manager(P1), "organisations", rows.to_csv(index=False).encode(),
                             "orgs.csv", mode="valid")
    refused = report.findings[report.findings["rule"] == "not_your_partnership"]
    assert refused["row"].tolist() == [3, 4]  # O00002 and O00003, the file's rows 3 and 4
    assert refused["message"].iloc[0].startswith(f"manager.{P1.lower()}@example.org imports for {P1} only")
    stored = programme.table("organisations").set_index("id")["description"]
    assert stored[O1] == f"Changed by {P1}" and stored[O2] != f"Changed by {P1}, of {P2}"


def test_a_manager_imports_exchanges_of_their_visitors_recorded_as_them(programme):
    rows = pd.read_csv(cio.template_path("exchanges"), dtype=str, keep_default_na=False)
    rows.loc[:, "id"] = ["X10", "X11"]
    rows.loc[0, "visitor_id"], rows.loc[0, "host_id"] = O2, O1  # a visitor of P02
    rows.loc[1, ["start_date", "end_date"]] = ["2030-06-10", "2030-06-14"]  # EX-X2's stay again would repeat it
    report = cio.import_file(programme, manager(P1), "exchanges", rows.to_csv(index=False).encode(),
                             "x.csv", mode="valid")
    assert report.findings.loc[report.findings["rule"] == "not_your_partnership", "row"].tolist() == [2]
    assert set(programme.table("exchanges")["id"]) >= {"X11"} and "X10" not in set(programme.table("exchanges")["id"])
    trail = workflow.history(programme, OFFICER, "X11")
    assert trail["changed_by"].tolist() == [f"manager.{P1.lower()}@example.org (import of x.csv)"]


@pytest.mark.parametrize("viewer, kind", [(manager(P1), "partnerships"), (organisation(O1), "organisations"),
                                          (PLANNER, "exchanges")], ids=str)
def test_who_may_not_import(programme, viewer, kind, snapshot):
    before = snapshot(programme)
    with pytest.raises(NotAllowed, match=f"may not import {kind}"):
        cio.import_path(programme, viewer, kind, cio.template_path(kind))
    assert snapshot(programme) == before


def exported_text(result) -> str:
    data = result["data"]
    if result["name"].endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(archive.read(name).decode("utf-8-sig") for name in archive.namelist())
    return data.decode("utf-8-sig")


@pytest.mark.parametrize("viewer, e_mails", [
    (OFFICER, {"ana.silva@example.org", "claire.martin@example.org", "j.weber@example.org"}),
    (manager(P1), {"ana.silva@example.org", "claire.martin@example.org"}), (manager(P2), {"j.weber@example.org"}),
    (organisation(O2), {"j.weber@example.org"}), (organisation(O3), set()),
], ids=lambda v: v.describe() if isinstance(v, Viewer) else None)
def test_an_export_holds_the_contacts_of_the_scope_only(programme, viewer, e_mails):
    every = set(programme.table("organisations")["contact_email"].dropna()) - {""}
    assert e_mails <= every
    text = exported_text(cio.export_view(programme, viewer, with_contacts=True))
    assert {e for e in every if e in text} == e_mails
    assert not any(e in exported_text(cio.export_view(programme, viewer)) for e in every)


# --- uptake -----------------------------------------------------------------------------------

def test_findings_list_the_rows_of_the_scope_and_the_planner_gets_figures_only(demo_store):
    everyone = uptake.stalled_exchanges(demo_store, OFFICER)
    first = demo_store.exchanges(OFFICER).set_index("id").at[everyone["exchange_id"].iloc[0], "partnership_id"]
    theirs = manager(first)  # the visitor's partnership of a stalled exchange
    assert set(uptake.repeated_visitors(demo_store, theirs)["visitor_id"]) <= set(demo_store.organisations(theirs)["id"])
    scoped = uptake.stalled_exchanges(demo_store, theirs)
    assert set(scoped["exchange_id"]) == set(everyone["exchange_id"]) & set(demo_store.exchanges(theirs)["id"])
    assert 0 < len(scoped) < len(everyone)
    board = uptake.dashboard(demo_store, PLANNER)
    assert not set(uptake.FINDINGS) & set(board) and board["headline"]["current"]["exchanges"] > 0
    for finding in uptake.FINDINGS.values():
        with pytest.raises(NotAllowed):
            finding[1](demo_store, PLANNER)
    with pytest.raises(NotAllowed, match="may not see the programme's figures"):
        uptake.dashboard(demo_store, organisation("O00001"))


# --- profiles and accounts --------------------------------------------------------------------

def test_an_organisation_edits_its_own_profile_only(programme, snapshot):
    profiles.update_profile(programme, organisation(O4), O4, description="Smart textiles for sport",
                            contact_email="new@example.org")
    assert profiles.profile(programme, organisation(O4), O4)["description"] == "Smart textiles for sport"
    before = snapshot(programme)
    with pytest.raises(NotAllowed, match=f"may not edit the profile of {O1}"):
        profiles.update_profile(programme, organisation(O4), O1, description="Taken over")
    with pytest.raises(NotAllowed):
        profiles.update_profile(programme, manager(P2), O1, description="Taken over")
    with pytest.raises(CxError, match="country cannot be changed on the profile"):
        profiles.update_profile(programme, OFFICER, O1, country="ES")
    with pytest.raises(CxError, match="description has 10,001 characters; the limit is 10,000"):
        profiles.update_profile(programme, organisation(O1), O1, description="x" * 10_001)
    with pytest.raises(CxError, match=f"there is no organisation '{O1}' that {O4.lower()}@example.org may see"):
        profiles.profile(programme, organisation(O4), O1)
    assert snapshot(programme) == before


def test_only_officers_manage_accounts_and_an_account_becomes_a_viewer(programme):
    added = accounts.add_account(programme, OFFICER, "Anna@Example.org", "partnership_manager", partnerships=[P1])
    assert added == Viewer("partnership_manager", "anna@example.org", (P1,))
    assert accounts.viewer_for(programme, "ANNA@example.org", "sub-1") == added
    assert accounts.viewer_for(programme, None, "sub-unknown") is None
    for viewer in (manager(P1), organisation(O1), PLANNER):
        with pytest.raises(NotAllowed, match="may not manage accounts"):
            accounts.add_account(programme, viewer, "eve@example.org", "officer")
        with pytest.raises(NotAllowed):
            accounts.remove_account(programme, viewer, "anna@example.org")
    with pytest.raises(CxError, match="names the partnership P09, which cx does not hold"):
        accounts.add_account(programme, OFFICER, "bob@example.org", "partnership_manager", partnerships=["P09"])
    with pytest.raises(CxError, match="cannot remove their own account"):
        accounts.remove_account(programme, OFFICER, OFFICER.identity)
    accounts.remove_account(programme, OFFICER, "anna@example.org")
    assert accounts.viewer_for(programme, "anna@example.org") is None
    assert accounts.list_accounts(programme, OFFICER).empty


def test_cached_rows_are_keyed_on_the_viewer(programme):
    p01 = cached(Store.organisations, programme, manager(P1))
    p02 = cached(Store.organisations, programme, manager(P2))
    assert p01["id"].tolist() == [O1, O4] and p02["id"].tolist() == [O2, O3]
