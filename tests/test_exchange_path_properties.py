"""Property tests of the path from request to payment: whatever sequence of steps, taken by
whichever people, no exchange is approved with a signature missing, no unvalidated report is paid,
and nobody takes a step that is another party's. Each example runs on its own copy of a real
DuckDB file of the template programme (X2: O4 of P1 visiting O3 of P2, requested)."""

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from steps import PDF
from test_access import O1, O3, O4, P1, P2, X2
from viewers import OFFICER, PLANNER, manager, organisation

from cx import agreement, closing
from cx import exchanges as workflow
from cx import io as cio
from cx.errors import CxError
from cx.parties import DOCUMENTS, missing_signatures
from cx.store import open_store

STAY_OVER = dt.date(2030, 6, 14)  # the last day of the stay, as the dates may be moved to
TODAY = dt.date(2030, 2, 18)  # before the stay, so dates can still be proposed and changed
VISITOR, HOST, VISITOR_PARTNERSHIP, HOST_PARTNERSHIP = organisation(O4), organisation(O3), manager(P1), manager(P2)
PEOPLE = [OFFICER, VISITOR, HOST, VISITOR_PARTNERSHIP, HOST_PARTNERSHIP, organisation(O1), PLANNER]

# Each step, the people whose step it is (written from the scheme's rules, not from cx's code), and
# how it is taken. Officers may take any step.
STEPS = {
    "accept": ({HOST}, lambda s, v: agreement.accept_request(s, v, X2)),
    "decline": ({HOST}, lambda s, v: agreement.decline_request(s, v, X2, "No room that week")),
    "propose": ({HOST}, lambda s, v: agreement.propose_dates(s, v, X2, "2030-06-03", "2030-06-07", today=TODAY)),
    "take dates": ({VISITOR}, lambda s, v: agreement.answer_proposal(s, v, X2, True, today=TODAY)),
    "keep dates": ({VISITOR}, lambda s, v: agreement.answer_proposal(s, v, X2, False)),
    "agenda": ({VISITOR, HOST}, lambda s, v: agreement.set_agenda(s, v, X2, {"2030-06-03": "Welcome"})),
    "other agenda": ({VISITOR, HOST}, lambda s, v: agreement.set_agenda(s, v, X2, {"2030-06-04": "Workshop"})),
    "move dates": ({VISITOR, HOST}, lambda s, v: agreement.change_dates(s, v, X2, "2030-06-03", "2030-06-14",
                                                                          today=TODAY)),
    **{f"sign {document} as {party}": ({{"visitor": VISITOR, "host": HOST, "visitor_partnership": VISITOR_PARTNERSHIP,
                                         "host_partnership": HOST_PARTNERSHIP}[party]},
                                       lambda s, v, d=document, p=party: agreement.sign(s, v, X2, d, p))
       for document, parties in DOCUMENTS.items() for party in parties},
    "approve": ({VISITOR_PARTNERSHIP}, lambda s, v: workflow.change_status(s, v, X2, "approved")),
    "start": ({VISITOR_PARTNERSHIP, HOST_PARTNERSHIP}, lambda s, v: workflow.change_status(s, v, X2, "ongoing",
                                                                                                  today=STAY_OVER)),
    "end": ({VISITOR_PARTNERSHIP, HOST_PARTNERSHIP}, lambda s, v: workflow.change_status(s, v, X2, "completed",
                                                                                                today=STAY_OVER)),
    "evidence": ({VISITOR}, lambda s, v: closing.add_evidence(s, v, X2, PDF, "boarding-pass.pdf")),
    "report": ({VISITOR}, lambda s, v: closing.file_report(s, v, X2, done="d", results="r", follow_ups="f",
                                                            host_rating=4)),
    "send back": ({VISITOR_PARTNERSHIP}, lambda s, v: closing.send_back(s, v, X2, "Invoice missing")),
    "validate": ({VISITOR_PARTNERSHIP}, lambda s, v: closing.validate_report(s, v, X2)),
    "force paid": ({VISITOR_PARTNERSHIP}, lambda s, v: workflow.change_status(s, v, X2, "paid")),
    "pay": ({VISITOR_PARTNERSHIP}, lambda s, v: closing.record_payment(s, v, X2, paid_on="2030-07-16", amount_eur=100,
                                                                         reason="partial", today=dt.date(2030, 7, 16))),
}
# The path the steps follow when the right person takes each: the generator leans on it so that
# sequences reach approval and payment, not only refusals at the first step.
PATH = ["accept", "agenda", *[f"sign {d} as {p}" for d, parties in DOCUMENTS.items() for p in parties], "approve",
        "start", "end", "evidence", "report", "validate", "pay"]


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("path") / "template.duckdb"
    store = open_store(path)
    for kind in cio.KINDS:
        assert cio.import_path(store, OFFICER, kind, cio.template_path(kind)).written
    return path


def state(store) -> tuple:
    """Everything the steps write, to see that a refused step changed nothing."""
    with store.reading():
        return tuple(tuple(map(tuple, store.table(t).astype(str).values.tolist()))
                     for t in ("exchanges", "exchange_events", "host_answers", "agenda_days", "signatures",
                               "closing_reports", "evidence", "payments"))


def whose(step: str) -> set:
    return STEPS[step][0] | {OFFICER}


step_on_path = st.sampled_from(PATH)
any_step = st.sampled_from(sorted(STEPS))
a_move = st.tuples(st.one_of(step_on_path, any_step), st.sampled_from(PEOPLE))
# Half of the moves are the right person's step on the path, so sequences get far.
a_right_move = step_on_path.flatmap(lambda step: st.tuples(st.just(step), st.sampled_from(sorted(whose(step),
                                                                                                  key=str))))


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(moves=st.lists(st.one_of(a_move, a_right_move), min_size=1, max_size=20))
def test_no_sequence_approves_unsigned_pays_unvalidated_or_lets_a_role_take_another_s_step(template_db, moves):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cx.duckdb"
        shutil.copy(template_db, path)
        store = open_store(path)
        for step, person in moves:
            before = state(store)
            try:
                STEPS[step][1](store, person)
            except CxError as refused:
                assert state(store) == before, f"{step} by {person.identity} was refused ({refused}) but wrote"
            else:
                assert person in whose(step), f"{person.identity} took {step!r}, another party's step"
            status = store.query("SELECT status FROM exchanges WHERE id = ?", [X2]).iloc[0, 0]
            if status in ("approved", "ongoing", "completed", "reported", "paid"):
                with store.connect() as con:
                    assert missing_signatures(con, X2) == [], f"{status} with signatures missing"
            if status == "paid":
                report = closing.report(store, OFFICER, X2)
                assert report is not None and report["state"] == "validated"
                assert len(store.table("payments")) == 1


def test_the_whole_path_taken_by_the_right_people_ends_paid(template_db, tmp_path):
    path = tmp_path / "cx.duckdb"
    shutil.copy(template_db, path)
    store = open_store(path)
    for step in PATH:
        person = next(iter(STEPS[step][0]))
        STEPS[step][1](store, person)
    assert store.query("SELECT status FROM exchanges WHERE id = ?", [X2]).iloc[0, 0] == "paid"
