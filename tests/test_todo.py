"""What waits on each person, and what an officer sees stalled, as the template exchange X2 (O4 of
P1 visiting O3 of P2) moves along its steps on a real DuckDB file."""

import datetime as dt

import pytest
from steps import agreed, reported
from test_access import O1, O3, O4, P1, P2, X2
from viewers import OFFICER, PLANNER, manager, organisation

from cx import agreement, closing, todo, uptake
from cx import exchanges as workflow
from cx import io as cio
from cx.access import NotAllowed

VISITOR, HOST = organisation(O4), organisation(O3)
BACKENDS = ("duckdb", "postgres")
LATER = dt.date.today() + dt.timedelta(days=5)
AFTER_THE_STAY = dt.date(2030, 6, 7)  # the template's X2 ends then


@pytest.fixture
def programme(store):
    for kind in cio.KINDS:
        assert cio.import_path(store, OFFICER, kind, cio.template_path(kind)).written
    return store


def steps(store, viewer):
    table = todo.waiting_on(store, viewer, today=LATER)
    return sorted(table.loc[table["exchange_id"] == X2, ["step", "party"]].itertuples(index=False, name=None))


def test_each_person_sees_the_steps_that_are_theirs_with_how_long_they_waited(programme):
    assert steps(programme, HOST) == [("answer the request", "the host")]
    assert todo.waiting_on(programme, HOST, today=LATER)["waited_days"].tolist() == [5]
    assert steps(programme, VISITOR) == steps(programme, manager(P1)) == steps(programme, manager(P2)) == []
    assert steps(programme, OFFICER) == [("answer the request", "the host")]
    agreement.accept_request(programme, HOST, X2)
    assert steps(programme, VISITOR) == [("write the agenda by day", "the visitor")]
    assert steps(programme, HOST) == [("write the agenda by day", "the host")]
    agreement.set_agenda(programme, HOST, X2, {"2030-05-27": "Welcome"})
    assert steps(programme, VISITOR) == [("sign the Commitment to Quality", "the visitor"),
                                         ("sign the financial agreement", "the visitor")]
    assert steps(programme, manager(P2)) == [("sign the Commitment to Quality", "the host's partnership")]
    assert len(steps(programme, manager(P1))) == 2 and len(steps(programme, OFFICER)) == 6
    agreement.sign(programme, HOST, X2, "quality", "host")
    assert steps(programme, HOST) == []


def test_after_the_signatures_the_visitor_s_partnership_approves_and_later_pays(programme):
    agreed(programme, X2)
    assert steps(programme, manager(P1)) == [("approve the exchange", "the visitor's partnership")]
    assert steps(programme, manager(P2)) == []
    workflow.change_status(programme, manager(P1), X2, "approved")
    for status in ("ongoing", "completed"):  # as on the stay's last day
        workflow.change_status(programme, OFFICER, X2, status, today=AFTER_THE_STAY)
    assert steps(programme, VISITOR) == [("file the closing report with evidence", "the visitor")]
    reported(programme, X2, VISITOR)
    assert steps(programme, manager(P1)) == [("validate the closing report", "the visitor's partnership")]
    closing.send_back(programme, manager(P1), X2, "Invoice missing")
    assert steps(programme, VISITOR) == [("file the closing report again", "the visitor")]
    closing.file_report(programme, VISITOR, X2, done="d", results="r", follow_ups="f", host_rating=5)
    closing.validate_report(programme, manager(P1), X2)
    assert steps(programme, manager(P1)) == [("record the payment", "the visitor's partnership")]
    assert steps(programme, VISITOR) == steps(programme, HOST) == []


def test_nobody_outside_sees_the_steps(programme):
    assert todo.waiting_on(programme, organisation(O1), today=LATER).query("exchange_id == @X2").empty
    with pytest.raises(NotAllowed):
        todo.waiting_on(programme, PLANNER)


def test_officers_see_unanswered_requests_and_missing_signatures_stalled(programme, rulebook):
    def stalled(days):
        found = uptake.stalled_exchanges(programme, OFFICER, today=dt.date.today() + dt.timedelta(days=days))
        return found.set_index("exchange_id")["why"].get(X2)

    assert stalled(rulebook.answer_days - 1) is None
    assert stalled(rulebook.answer_days + 1) == f"the host has not answered the request within {rulebook.answer_days} days"
    agreement.accept_request(programme, HOST, X2)
    assert stalled(rulebook.signature_days + 1) == (f"signatures still missing {rulebook.signature_days} days after "
                                                    "the host accepted")
    agreed_steps = uptake.stalled_exchanges(programme, manager(P2), today=dt.date.today() + dt.timedelta(days=60))
    assert X2 in set(agreed_steps["exchange_id"])  # the host's partnership sees its exchange stalled too
