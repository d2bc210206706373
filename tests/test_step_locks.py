"""Every step that writes an exchange holds its visitor on PostgreSQL, where writers run at once
(issue 11 on issue 14's steps): while another transaction holds the visitor, the step waits for
it instead of checking rows that are about to change. Without the hold, an approval could pass on
signatures a date change was voiding, and both commit.

DuckDB needs no test here: its write lock holds every write transaction whole."""

import datetime as dt
import threading
import time

import pytest
from steps import PDF

from cx import agreement, closing, invitations
from cx import exchanges as workflow
from cx.parties import DOCUMENTS
from racers import FIRST_DAY, race_programme
from viewers import OFFICER

BACKENDS = ["postgres"]
X, AFTER_THE_STAY = "A-V001", dt.date(2027, 3, 10)


def advisory_waiters(store) -> int:
    return int(store.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").iloc[0, 0])


def waits_for_the_visitor(store, step, visitor="V001", kind="visitor") -> None:
    """Run `step` while another transaction holds the visitor (or another `kind` of key); it must
    wait on that lock (seen in pg_locks) and finish once the holder commits."""
    held, release, outcome = threading.Event(), threading.Event(), {}

    def holder():
        with store.transaction():
            store.hold(kind, [visitor])
            held.set()
            release.wait(60)

    def run():
        try:
            step()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error
        outcome["done"] = True

    holding = threading.Thread(target=holder)
    holding.start()
    assert held.wait(60)
    stepping = threading.Thread(target=run)
    stepping.start()
    deadline = time.monotonic() + 60
    try:
        while not advisory_waiters(store):
            assert not outcome.get("done"), f"the step ran while its visitor was held: {outcome.get('error')}"
            assert time.monotonic() < deadline, "the step neither waited nor finished"
            time.sleep(0.05)
    finally:
        release.set()
        holding.join(60)
        stepping.join(60)
    assert outcome.get("done") and "error" not in outcome, outcome.get("error")


def test_every_step_of_an_exchange_waits_for_its_visitor(store):
    race_programme(store, 1)
    waits_for_the_visitor(store, lambda: agreement.accept_request(store, OFFICER, X))
    second_day = FIRST_DAY + dt.timedelta(days=1)
    waits_for_the_visitor(store, lambda: agreement.change_dates(store, OFFICER, X, second_day,
                                                                FIRST_DAY + dt.timedelta(days=4)))
    waits_for_the_visitor(store, lambda: agreement.set_agenda(store, OFFICER, X, {second_day: "Welcome"}))
    signatures = [(document, party) for document, parties in DOCUMENTS.items() for party in parties]
    waits_for_the_visitor(store, lambda: agreement.sign(store, OFFICER, X, *signatures[0]))
    for document, party in signatures[1:]:
        agreement.sign(store, OFFICER, X, document, party)
    waits_for_the_visitor(store, lambda: workflow.change_status(store, OFFICER, X, "approved"))
    for status in ("ongoing", "completed"):
        workflow.change_status(store, OFFICER, X, status, today=AFTER_THE_STAY)
    waits_for_the_visitor(store, lambda: closing.add_evidence(store, OFFICER, X, PDF, "boarding-pass.pdf"))
    report = dict(done="Visited the lab", results="A proposal", follow_ups="Meet again", host_rating=4)
    waits_for_the_visitor(store, lambda: closing.file_report(store, OFFICER, X, **report))
    waits_for_the_visitor(store, lambda: closing.send_back(store, OFFICER, X, "The invoice is missing"))
    closing.file_report(store, OFFICER, X, **report)
    waits_for_the_visitor(store, lambda: closing.validate_report(store, OFFICER, X))
    lump_sum = int(store.query("SELECT lump_sum_eur FROM exchanges WHERE id = ?", [X]).iloc[0, 0])
    waits_for_the_visitor(store, lambda: closing.record_payment(store, OFFICER, X, paid_on=AFTER_THE_STAY,
                                                                amount_eur=lump_sum, today=AFTER_THE_STAY))
    assert store.query("SELECT status FROM exchanges WHERE id = ?", [X]).iloc[0, 0] == "paid"


@pytest.mark.parametrize("answer", ["propose", "decline"])
def test_the_host_s_other_answers_wait_for_the_visitor(store, answer):
    race_programme(store, 1)
    if answer == "decline":
        waits_for_the_visitor(store, lambda: agreement.decline_request(store, OFFICER, X, "We are closed that week"))
        return
    waits_for_the_visitor(store, lambda: agreement.propose_dates(store, OFFICER, X, FIRST_DAY + dt.timedelta(days=7),
                                                                 FIRST_DAY + dt.timedelta(days=11)))
    waits_for_the_visitor(store, lambda: agreement.answer_proposal(store, OFFICER, X, True))


def test_an_invitation_and_its_answer_wait_for_the_visitor(demo_store, rulebook):
    """One waiting invitation per host and visitor, and one answer to it, across processes too."""
    orgs = demo_store.table("organisations")
    host = orgs[orgs["can_host"] & orgs["sectors"].notna()].iloc[0]
    visitor = invitations.visitors_for_host(demo_store, OFFICER, host["id"]).iloc[0]["id"]
    start = rulebook.quiet_week(dt.date.today() + dt.timedelta(days=28))
    made = {}
    waits_for_the_visitor(demo_store, lambda: made.update(id=invitations.invite(
        demo_store, OFFICER, host_id=host["id"], visitor_id=visitor, start=start, end=start + dt.timedelta(days=4))),
        visitor)
    waits_for_the_visitor(demo_store, lambda: invitations.answer(demo_store, OFFICER, made["id"], accept=False), visitor)
    assert demo_store.table("invitations").set_index("id").at[made["id"], "answer"] == "declined"


def test_a_registration_waits_for_its_login(demo_store):
    """One registration waits per login: two submitted at once by one person must not both pass
    the check, so the write holds the login."""
    from test_registrations import PORTO

    from cx import registrations

    waits_for_the_visitor(demo_store, lambda: registrations.submit(demo_store, "ana@example.org", PORTO),
                          visitor="ana@example.org", kind="login")
    assert registrations.registration_of(demo_store, "ana@example.org")["state"] == "pending"
