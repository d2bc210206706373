"""The exchange workflow on real DuckDB files and PostgreSQL databases: only the allowed transitions, the visit-once rule at
approval (also under concurrent approvals), the lump sum frozen at approval, and the audit trail."""

import datetime as dt
import threading
from itertools import product

import pytest

from cx import closing
from cx import exchanges as workflow
from cx import io as cio
from cx.access import Viewer
from cx.errors import BrokenRules, CxError, InvalidTransition
from cx.store import STATUSES
from steps import agreed, reported
from viewers import OFFICER

BACKENDS = ("duckdb", "postgres")

# The workflow as the scheme runs it (domain.md): the specification the table in code must match.
EXPECTED = {
    ("requested", "approved"), ("requested", "rejected"), ("requested", "cancelled"),
    ("approved", "ongoing"), ("approved", "cancelled"),
    ("ongoing", "completed"), ("ongoing", "cancelled"),
    ("completed", "reported"), ("reported", "paid"),
}


@pytest.fixture
def programme(store):
    for kind in ("partnerships", "organisations"):
        assert cio.import_path(store, OFFICER, kind, cio.template_path(kind)).written
    return store


REQUEST_DAY = dt.date(2026, 2, 2)  # "today" when the tests' stays of 2026 are requested


def request(store, visitor="EX-O1", host="EX-O2", start="2026-03-02", end="2026-03-06", today=REQUEST_DAY):
    return workflow.request_exchange(store, OFFICER, visitor_id=visitor, host_id=host, start=start, end=end, today=today,
                                     objectives="Explore new markets", activities=["market research"])


def status_of(store, exchange_id):
    return store.query("SELECT status FROM exchanges WHERE id = ?", [exchange_id]).iloc[0, 0]


def test_the_table_in_code_is_the_scheme_s_workflow():
    assert set(workflow.TRANSITIONS) == set(STATUSES)
    assert {(a, b) for a, targets in workflow.TRANSITIONS.items() for b in targets} == EXPECTED


def test_reachable_statuses_follow_the_table():
    assert workflow.reachable("requested") == set(STATUSES) - {"requested"}
    assert workflow.reachable("approved") == {"ongoing", "completed", "reported", "paid", "cancelled"}
    assert workflow.reachable("completed") == {"reported", "paid"}
    assert [workflow.reachable(s) for s in ("paid", "rejected", "cancelled")] == [set(), set(), set()]


def test_every_pair_of_statuses_is_allowed_or_refused_with_the_reason(programme):
    exchange_id = request(programme)
    agreed(programme, exchange_id)
    state = """SELECT (SELECT status FROM exchanges WHERE id = $id),
                      (SELECT count(*) FROM exchange_events WHERE exchange_id = $id),
                      (SELECT ARRAY[from_status, to_status, changed_by] FROM exchange_events
                       WHERE exchange_id = $id ORDER BY id DESC LIMIT 1)"""
    current, events_before = "requested", workflow.history(programme, OFFICER, exchange_id).shape[0]
    for from_status, to_status in product(STATUSES, STATUSES):
        if current != from_status:
            with programme.transaction() as con:
                con.execute("UPDATE exchanges SET status = ? WHERE id = ?", [from_status, exchange_id])
        current = from_status
        if (from_status, to_status) in EXPECTED and to_status not in workflow.STEPS_OF_THEIR_OWN:
            workflow.change_status(programme, OFFICER, exchange_id, to_status)
            expected = (to_status, events_before + 1, [from_status, to_status, OFFICER.identity])
        else:
            with pytest.raises(InvalidTransition) as refused:
                workflow.change_status(programme, OFFICER, exchange_id, to_status)
            if (from_status, to_status) in EXPECTED:  # reported and paid: their own steps (cx.closing)
                assert str(refused.value) == workflow.STEPS_OF_THEIR_OWN[to_status].format(id=exchange_id)
            else:
                assert str(refused.value) == workflow.refusal(exchange_id, from_status, to_status)
                assert f"is {from_status}" in str(refused.value) or "already" in str(refused.value)
            expected = (from_status, events_before, None)
        with programme.connect() as con:
            current, events, last = con.execute(state, {"id": exchange_id}).fetchone()
        assert (current, events, last if expected[2] else None) == expected, (from_status, to_status)
        events_before = events


@pytest.mark.parametrize("status, to_status, words", [
    ("paid", "requested", "exchange {id} is paid; it cannot become requested (allowed next: none (it is final))"),
    ("requested", "paid", "exchange {id} is requested; it cannot become paid (allowed next: approved, rejected, "
                          "cancelled)"),
    ("approved", "approved", "exchange {id} is already approved"),
    ("approved", "booked", "'booked' is not a status; the statuses are requested, approved, ongoing, completed, "
                           "reported, paid, rejected, cancelled"),
])
def test_refusals_say_why(programme, status, to_status, words):
    exchange_id = request(programme)
    with programme.transaction() as con:
        con.execute("UPDATE exchanges SET status = ? WHERE id = ?", [status, exchange_id])
    with pytest.raises(InvalidTransition, match="^" + words.format(id=exchange_id).replace("(", r"\(")
                       .replace(")", r"\)") + "$"):
        workflow.change_status(programme, OFFICER, exchange_id, to_status)


def test_a_visitor_visits_once_second_approval_refused(programme):
    first = request(programme)
    second = request(programme, host="EX-O3", start="2026-06-01", end="2026-06-05")
    agreed(programme, first)
    agreed(programme, second)
    workflow.change_status(programme, OFFICER, first, "approved")
    with pytest.raises(BrokenRules) as broken:
        workflow.change_status(programme, OFFICER, second, "approved")
    assert [b.rule for b in broken.value.breaches] == ["visited_already"]
    assert status_of(programme, second) == "requested"
    # Once the first is cancelled, the visit is free again.
    workflow.change_status(programme, OFFICER, first, "cancelled")
    workflow.change_status(programme, OFFICER, second, "approved")


def test_the_lump_sum_is_frozen_at_approval(programme, rulebook):
    exchange_id = request(programme)
    agreed(programme, exchange_id)
    generous = rulebook.with_ceilings({"DE": 1000})
    workflow.change_status(programme, OFFICER, exchange_id, "approved", rulebook=generous)
    for status in ("ongoing", "completed"):
        workflow.change_status(programme, OFFICER, exchange_id, status, rulebook=rulebook)
    reported(programme, exchange_id)
    closing.validate_report(programme, OFFICER, exchange_id)
    closing.record_payment(programme, OFFICER, exchange_id, paid_on="2026-04-01", amount_eur=1000)
    assert programme.query("SELECT lump_sum_eur FROM exchanges WHERE id = ?", [exchange_id]).iloc[0, 0] == 1000
    trail = workflow.history(programme, OFFICER, exchange_id)
    changes = trail[trail["from_status"].ne(trail["to_status"])]
    assert changes["to_status"].tolist() == ["requested", "approved", "ongoing", "completed", "reported", "paid"]
    assert changes["from_status"].tolist()[1:] == ["requested", "approved", "ongoing", "completed", "reported"]
    assert trail["changed_at"].is_monotonic_increasing


def test_a_request_that_breaks_the_rules_stores_nothing(programme, snapshot):
    before = snapshot(programme)
    with pytest.raises(BrokenRules) as broken:
        request(programme, start="2026-03-06", end="2026-03-02")
    assert [b.rule for b in broken.value.breaches] == ["end_before_start"]
    assert snapshot(programme) == before


def test_a_status_change_needs_someone_to_make_it():
    with pytest.raises(CxError, match="a viewer needs an identity: the audit trail records who did what"):
        Viewer("officer", " ")


def test_concurrent_approvals_for_one_visitor_exactly_one_succeeds(programme):
    """Several sessions (threads, as Streamlit runs them) approve exchanges of the same visitor at
    the same moment, each on its own connection to the same DuckDB file."""
    weeks = [("2026-04-13", "2026-04-17"), ("2026-04-20", "2026-04-24"), ("2026-06-08", "2026-06-12"),
             ("2026-06-15", "2026-06-19"), ("2026-09-07", "2026-09-11"), ("2026-09-14", "2026-09-18")]
    ids = [request(programme, host=host, start=start, end=end)
           for (start, end), host in zip(weeks, ["EX-O2", "EX-O3"] * 3)]
    for exchange_id in ids:
        agreed(programme, exchange_id)
    barrier = threading.Barrier(len(ids))
    outcomes = {}

    def approve(exchange_id):
        barrier.wait()
        try:
            workflow.change_status(programme, OFFICER, exchange_id, "approved")
            outcomes[exchange_id] = "approved"
        except BrokenRules as error:
            outcomes[exchange_id] = [b.rule for b in error.breaches]
        except Exception as error:  # anything else is a failure of the workflow
            outcomes[exchange_id] = repr(error)

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(map(str, outcomes.values())) == ["['visited_already']"] * 5 + ["approved"]
    stored = programme.query("SELECT status, count(*) AS n FROM exchanges GROUP BY status ORDER BY status")
    assert stored.values.tolist() == [["approved", 1], ["requested", 5]]
    events = programme.table("exchange_events")
    assert (events["to_status"] == "approved").sum() == 1


def test_partnership_exchanges_lists_both_sides_in_workflow_order(programme):
    first = request(programme)                                    # EX-P1 visitor -> EX-P2 host
    second = request(programme, visitor="EX-O2", host="EX-O3")  # EX-P2 -> EX-P2
    agreed(programme, first)
    workflow.change_status(programme, OFFICER, first, "approved")
    p01 = workflow.partnership_exchanges(programme, OFFICER, "EX-P1")
    assert p01[["id", "status", "side"]].values.tolist() == [[first, "approved", "visitor"]]
    p02 = workflow.partnership_exchanges(programme, OFFICER, "EX-P2")
    assert p02[["id", "status", "side"]].values.tolist() == [[second, "requested", "visitor"],
                                                             [first, "approved", "host"]]
    assert workflow.allowed_next("approved") == ["ongoing", "cancelled"]


def test_an_import_keeps_the_lump_sum_frozen_at_approval(programme, rulebook):
    exchange_id = request(programme)
    agreed(programme, exchange_id)
    workflow.change_status(programme, OFFICER, exchange_id, "approved",
                           rulebook=rulebook.with_ceilings({"DE": 1000}))
    data = (f"id,visitor_id,host_id,start_date,end_date,status\n"
            f"{exchange_id},EX-O1,EX-O2,2026-03-02,2026-03-06,ongoing\n").encode()
    report = cio.import_file(programme, OFFICER, "exchanges", data, "x.csv")
    assert (report.updated, report.rejected, report.flagged) == (1, 0, 0), report.findings
    row = programme.query("SELECT status, lump_sum_eur FROM exchanges WHERE id = ?", [exchange_id]).iloc[0]
    assert (row["status"], row["lump_sum_eur"]) == ("ongoing", 1000)


def test_a_stay_that_has_started_cannot_be_requested(programme, snapshot):
    before = snapshot(programme)
    with pytest.raises(BrokenRules) as broken:
        request(programme, today=dt.date(2026, 3, 3))
    assert [(b.rule, b.message) for b in broken.value.breaches] == [
        ("started_already", "the stay would start on 2026-03-02, before today (2026-03-03); "
                            "request a stay that has not started")]
    assert snapshot(programme) == before
    request(programme, today=dt.date(2026, 3, 2))  # starting today is fine


def test_the_same_host_is_not_asked_twice_for_overlapping_dates(programme):
    first = request(programme)
    with pytest.raises(BrokenRules) as broken:
        request(programme, start="2026-03-04", end="2026-03-10")
    assert [b.rule for b in broken.value.breaches] == ["requested_already"]
    assert f"exchange {first} (2026-03-02 to 2026-03-06) is requested" in str(broken.value)
    request(programme, host="EX-O3", start="2026-03-04", end="2026-03-10")  # another host
    request(programme, start="2026-04-13", end="2026-04-17")  # other dates
    workflow.change_status(programme, OFFICER, first, "cancelled")
    request(programme, start="2026-03-04", end="2026-03-10")  # the first request is no longer under way


@pytest.mark.parametrize("to_status, early, words", [
    ("ongoing", dt.date(2026, 3, 1), "starts on 2026-03-02; it can be ongoing from that day (today is 2026-03-01)"),
    ("completed", dt.date(2026, 3, 5), "ends on 2026-03-06; it can be completed from that day (today is 2026-03-05)"),
])
def test_the_workflow_follows_the_calendar(programme, to_status, early, words):
    exchange_id = request(programme)
    agreed(programme, exchange_id)
    workflow.change_status(programme, OFFICER, exchange_id, "approved", today=REQUEST_DAY)
    if to_status == "completed":
        workflow.change_status(programme, OFFICER, exchange_id, "ongoing", today=dt.date(2026, 3, 2))
    with pytest.raises(InvalidTransition, match=words.replace("(", r"\(").replace(")", r"\)")):
        workflow.change_status(programme, OFFICER, exchange_id, to_status, today=early)
    workflow.change_status(programme, OFFICER, exchange_id, to_status, today=early + dt.timedelta(days=1))
    assert status_of(programme, exchange_id) == to_status


def test_no_lump_sum_is_frozen_without_the_distance(programme):
    with programme.transaction() as con:
        con.execute("UPDATE organisations SET lat = NULL, lon = NULL WHERE id = 'EX-O2'")
    exchange_id = request(programme)
    stored = programme.query("SELECT distance_km, lump_sum_eur, halved FROM exchanges WHERE id = ?", [exchange_id])
    assert stored.isna().all(axis=None)  # not EUR 1,100 for a stay that may be halved
    agreed(programme, exchange_id)
    with pytest.raises(BrokenRules) as broken:
        workflow.change_status(programme, OFFICER, exchange_id, "approved")
    assert [b.rule for b in broken.value.breaches] == ["unplaced"]
    assert "Stuttgart Mobility Lab (Stuttgart) could not be placed" in str(broken.value)
    assert status_of(programme, exchange_id) == "requested"
