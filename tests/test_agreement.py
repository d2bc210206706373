"""The host's answer and the Commitment to Quality on real DuckDB files: only the party whose step
it is acts, each answer and signature is in the audit trail, a change after signing voids the
signatures, and approval needs them all.

The template programme: X2 is O4 (Lyon, partnership P1) visiting O3 (Raaba-Grambach, P2), requested."""

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader
from steps import agreed
from test_access import O1, O2, O3, O4, P1, P2, X2
from viewers import OFFICER, PLANNER, manager, organisation

from cx import agreement
from cx import exchanges as workflow
from cx import io as cio
from cx.access import NotAllowed
from cx.errors import BrokenRules, CxError, InvalidTransition
from cx.exchanges import UnknownExchange
from cx.parties import DOCUMENTS

BACKENDS = ("duckdb", "postgres")
TODAY = dt.date(2030, 2, 18)
VISITOR, HOST = organisation(O4), organisation(O3)


@pytest.fixture
def programme(store):
    for kind in cio.KINDS:
        assert cio.import_path(store, OFFICER, kind, cio.template_path(kind)).written
    return store


def trail(store, exchange_id=X2):
    return workflow.history(store, OFFICER, exchange_id)[["from_status", "to_status", "action", "note",
                                                           "changed_by"]].values.tolist()[1:]


def stay(store, exchange_id=X2):
    row = store.query("SELECT status, start_date, end_date FROM exchanges WHERE id = ?", [exchange_id]).iloc[0]
    return [row["status"], row["start_date"].date(), row["end_date"].date()]


def test_the_host_accepts_and_only_the_host_or_an_officer_may(programme):
    for viewer in (VISITOR, manager(P2), manager(P1)):
        with pytest.raises(NotAllowed, match=f"may not accept the request for exchange {X2}: that is the host's step"):
            agreement.accept_request(programme, viewer, X2)
    for outsider in (organisation(O2), PLANNER):
        with pytest.raises(UnknownExchange):
            agreement.accept_request(programme, outsider, X2)
    assert trail(programme) == []
    agreement.accept_request(programme, HOST, X2)
    assert trail(programme) == [["requested", "requested", "host accepted", None, HOST.identity]]
    with pytest.raises(InvalidTransition, match=f"the host has answered exchange {X2} already"):
        agreement.accept_request(programme, OFFICER, X2)


def test_the_host_declines_with_a_reason(programme):
    with pytest.raises(CxError, match="the reason for declining is empty"):
        agreement.decline_request(programme, HOST, X2, "  ")
    agreement.decline_request(programme, HOST, X2, "We are closed in May")
    assert stay(programme)[0] == "rejected"
    assert trail(programme) == [["requested", "rejected", "host declined", "We are closed in May", HOST.identity]]


def test_other_dates_proposed_by_the_host_become_the_stay_when_the_visitor_accepts(programme):
    with pytest.raises(BrokenRules, match="the stay has 1 working days in AT; the minimum is 3"):
        agreement.propose_dates(programme, HOST, X2, "2030-06-22", "2030-06-24", today=TODAY)
    agreement.propose_dates(programme, HOST, X2, "2030-06-17", "2030-06-21", today=TODAY)
    with pytest.raises(NotAllowed, match="that is the visitor's step"):
        agreement.answer_proposal(programme, HOST, X2, accept=True)
    agreement.answer_proposal(programme, VISITOR, X2, accept=False)  # keeps its dates: the host answers again
    assert stay(programme) == ["requested", dt.date(2030, 5, 27), dt.date(2030, 6, 7)]
    agreement.propose_dates(programme, HOST, X2, "2030-06-17", "2030-06-21", today=TODAY)
    agreement.answer_proposal(programme, VISITOR, X2, accept=True, today=TODAY)
    assert stay(programme) == ["requested", dt.date(2030, 6, 17), dt.date(2030, 6, 21)]
    assert [row[2] for row in trail(programme)] == ["host proposed other dates", "visitor kept its dates",
                                                    "host proposed other dates", "visitor accepted the proposed dates"]
    assert programme.query("SELECT answer FROM host_answers").iloc[0, 0] == "accepted"


def test_approval_needs_every_signature_and_says_which_are_missing(programme):
    agreement.accept_request(programme, HOST, X2)
    agreement.set_agenda(programme, VISITOR, X2, {"2030-05-27": "Welcome; tour of the test lab"})
    agreement.sign(programme, VISITOR, X2, "quality", "visitor")
    agreement.sign(programme, HOST, X2, "quality", "host")
    with pytest.raises(InvalidTransition, match=re.escape(
            f"exchange {X2} cannot be approved: it lacks 4 signatures (the visitor's partnership on the Commitment "
            "to Quality; the host's partnership on the Commitment to Quality; the visitor on the financial "
            "agreement; the visitor's partnership on the financial agreement)")):
        workflow.change_status(programme, manager(P1), X2, "approved")
    agreement.sign(programme, manager(P1), X2, "quality", "visitor_partnership")
    agreement.sign(programme, manager(P2), X2, "quality", "host_partnership")
    agreement.sign(programme, VISITOR, X2, "financial", "visitor")
    assert stay(programme)[0] == "requested"
    agreement.sign(programme, manager(P1), X2, "financial", "visitor_partnership")
    workflow.change_status(programme, manager(P1), X2, "approved")
    assert stay(programme)[0] == "approved"
    with pytest.raises(InvalidTransition, match=f"exchange {X2} is approved; the agreement is open"):
        agreement.set_agenda(programme, VISITOR, X2, {"2030-05-28": "Changed after approval"})


def test_a_request_the_host_has_not_accepted_cannot_be_approved(programme):
    with pytest.raises(InvalidTransition, match=f"exchange {X2} cannot be approved: the host has not accepted"):
        workflow.change_status(programme, OFFICER, X2, "approved")


@pytest.mark.parametrize(("viewer", "document", "party"), [
    (VISITOR, "quality", "host"), (HOST, "quality", "visitor"), (VISITOR, "quality", "visitor_partnership"),
    (manager(P2), "quality", "visitor_partnership"), (manager(P1), "quality", "host_partnership"),
    (manager(P2), "financial", "visitor_partnership"), (HOST, "financial", "visitor"),
])
def test_each_party_signs_for_itself_only(programme, viewer, document, party):
    agreement.accept_request(programme, HOST, X2)
    agreement.set_agenda(programme, HOST, X2, {"2030-05-27": "Welcome"})
    with pytest.raises(NotAllowed, match=f"may not sign the .* for exchange {X2}: that is the"):
        agreement.sign(programme, viewer, X2, document, party)
    assert programme.table("signatures").empty


def test_the_host_does_not_sign_the_financial_agreement(programme):
    with pytest.raises(CxError, match="the host does not sign the financial agreement"):
        agreement.sign(programme, OFFICER, X2, "financial", "host")


def test_nobody_signs_before_the_host_accepts_or_without_an_agenda(programme):
    with pytest.raises(InvalidTransition, match="has no agreement yet: the host has not accepted"):
        agreement.sign(programme, VISITOR, X2, "quality", "visitor")
    agreement.accept_request(programme, HOST, X2)
    with pytest.raises(InvalidTransition, match="has no agenda yet"):
        agreement.sign(programme, VISITOR, X2, "quality", "visitor")


def test_a_change_of_agenda_or_dates_after_a_signature_voids_them_all_and_says_so(programme):
    agreement.accept_request(programme, HOST, X2)
    assert agreement.set_agenda(programme, HOST, X2, {"2030-05-27": "Welcome"}) is None
    agreement.sign(programme, VISITOR, X2, "quality", "visitor")
    agreement.sign(programme, HOST, X2, "quality", "host")
    assert agreement.set_agenda(programme, HOST, X2, {"2030-05-27": "Welcome"}) is None  # the same agenda
    said = agreement.set_agenda(programme, HOST, X2, {"2030-05-27": "Welcome", "2030-05-28": "Workshop"})
    assert said == f"2 signatures of exchange {X2} voided: the agenda changed after signing, so every party signs again"
    assert programme.table("signatures").empty and trail(programme)[-1][2:4] == ["signatures voided", said]
    agreement.sign(programme, VISITOR, X2, "quality", "visitor")
    said = agreement.change_dates(programme, VISITOR, X2, "2030-05-28", "2030-06-07", today=TODAY)
    assert said.startswith(f"1 signature of exchange {X2} voided: the dates changed")
    assert stay(programme)[1] == dt.date(2030, 5, 28)
    assert agreement.agreement(programme, OFFICER, X2)["agenda"]["day"].dt.date.tolist() == [dt.date(2030, 5, 28)]


def test_the_partnerships_do_not_write_the_agenda(programme):
    agreement.accept_request(programme, HOST, X2)
    with pytest.raises(NotAllowed, match="may not write the agenda"):
        agreement.set_agenda(programme, manager(P1), X2, {"2030-05-27": "Welcome"})
    with pytest.raises(CxError, match="the agenda has 2030-06-17, outside the stay"):
        agreement.set_agenda(programme, VISITOR, X2, {"2030-06-17": "After the stay"})


def test_the_agreement_prints_as_a_page_without_outside_files_and_as_a_pdf(programme):
    agreed(programme, X2)
    agreement.set_agenda(programme, VISITOR, X2, {"2030-05-27": "<script>alert(1)</script> & tour"})
    found = agreement.agreement(programme, VISITOR, X2)
    assert found["signatures"]["signed_by"].isna().all()  # voided by the new agenda
    page = agreement.printable(found)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; tour" in page and "<script" not in page
    assert not re.search(r"(src|href)\s*=|https?://|@import", page)
    assert "ACstyria Mobility Cluster" in page and "not signed yet" in page and "Lump sum" in page
    pdf = agreement.as_pdf(found)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000
    with pytest.raises(UnknownExchange):
        agreement.agreement(programme, organisation(O1), X2)


def test_the_pdf_prints_names_in_every_european_script_as_written(programme):
    """Names outside Latin-1 (Polish, Greek, Czech) print as typed, not as question marks."""
    with programme.transaction() as con:
        con.execute("UPDATE organisations SET name = 'Klaster Łódź Tekstylia', city = 'Łódź' WHERE id = ?", [O4])
    agreed(programme, X2)
    agreement.set_agenda(programme, VISITOR, X2, {"2030-05-27": "Ελλάδα: a visit to the Škoda plant"})
    pdf = agreement.as_pdf(agreement.agreement(programme, VISITOR, X2))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for name in ("Klaster Łódź Tekstylia, Łódź (FR)", "Ελλάδα: a visit to the Škoda plant",
                 f"Commitment to Quality and financial agreement · exchange {X2}"):
        assert name in " ".join(text.split())
    assert "?" not in text


def test_the_lump_sum_reason_names_the_ceiling_and_any_halving(programme, rulebook):
    agreed(programme, X2)
    found = agreement.agreement(programme, OFFICER, X2)
    ceiling = rulebook.countries.at["AT", "ceiling_eur"]
    assert found["lump_sum_reason"].startswith(f"the ceiling for stays in Austria is EUR {ceiling:,}")
    assert found["lump_sum_eur"] in (ceiling, ceiling // 2)
    assert len(found["signatures"]) == sum(map(len, DOCUMENTS.values()))


def test_an_import_does_not_approve_an_exchange_being_agreed_in_cx_without_its_signatures(programme):
    agreement.accept_request(programme, HOST, X2)
    data = ("id,visitor_id,host_id,start_date,end_date,status\n"
            f"{X2},{O4},{O3},2030-05-27,2030-06-07,approved\n").encode()
    report = cio.import_file(programme, OFFICER, "exchanges", data, "x.csv", mode="valid")
    assert report.findings[["rule", "message"]].values.tolist() == [[
        "steps_in_cx", f"exchange {X2} is being agreed in cx and lacks 6 of its 6 signatures; it is approved once "
                       "every party has signed (not by an import)"]]
    assert stay(programme)[0] == "requested"
    agreed(programme, X2)
    assert not cio.import_file(programme, OFFICER, "exchanges", data, "x.csv", mode="valid").rejected
    assert stay(programme)[0] == "approved"
    paid = data.replace(b"approved", b"paid")
    report = cio.import_file(programme, OFFICER, "exchanges", paid, "x.csv", mode="valid")
    assert report.findings["message"].tolist() == [f"exchange {X2} becomes paid when its partnership records the "
                                                   "payment (date and amount) (not by an import)"]
    assert stay(programme)[0] == "approved"
