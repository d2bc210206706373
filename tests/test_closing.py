"""After the stay, on real DuckDB files and a real evidence folder: evidence checked by content and
size and shown only to the visitor's side, the closing report, its validation or return, and the
payment with its due date.

The template programme: X1 is O1 (Porto, partnership P1) at O2 (Stuttgart, P2), approved, in March 2026."""

import datetime as dt
import io
import zipfile

import pandas as pd
import pytest
from steps import PDF, reported
from test_access import O1, O2, O3, P1, P2, X1
from viewers import OFFICER, PLANNER, manager, organisation

from cx import closing
from cx import evidence as files
from cx import exchanges as workflow
from cx import io as cio
from cx.access import NotAllowed
from cx.errors import CxError, InvalidTransition
from cx.exchanges import UnknownExchange
from cx.cli import main
from cx.store import open_store

VISITOR, HOST = organisation(O1), organisation(O2)
BACKENDS = ("duckdb", "postgres")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)


@pytest.fixture
def programme(store):
    for kind in cio.KINDS:
        assert cio.import_path(store, OFFICER, kind, cio.template_path(kind)).written
    return store


@pytest.fixture
def completed(programme):
    for status in ("ongoing", "completed"):
        workflow.change_status(programme, OFFICER, X1, status)
    return programme


def status_of(store, exchange_id=X1):
    return store.query("SELECT status FROM exchanges WHERE id = ?", [exchange_id]).iloc[0, 0]


@pytest.mark.parametrize(("data", "name", "words"), [
    (b"Hotel Lyon, 2 nights, EUR 240", "invoice.pdf", "invoice.pdf is not a file type cx recognises by its content; "
                                                     "evidence must be PDF or PNG or JPEG"),
    (b"MZ\x90\x00" + bytes(64), "scan.pdf", "scan.pdf is application/x-msdownload by its content"),
    (b"GIF89a" + bytes(30), "photo.gif", "photo.gif is a GIF file by its content; evidence must be PDF or PNG or JPEG"),
    (b"", "empty.pdf", "empty.pdf is empty; upload the PDF or PNG or JPEG file itself"),
], ids=["text named .pdf", "program named .pdf", "gif", "empty"])
def test_evidence_of_the_wrong_type_is_refused_with_a_sentence(completed, data, name, words):
    with pytest.raises(files.EvidenceRefused, match=words.replace("(", r"\(")):
        closing.add_evidence(completed, VISITOR, X1, data, name)
    assert completed.table("evidence").empty and not files.folder(completed).exists()


def test_evidence_over_the_size_limit_is_refused(completed, rulebook):
    small = rulebook.replace(evidence_max_bytes=2_000_000)
    with pytest.raises(files.EvidenceRefused, match=r"scan.pdf is 2\.5 MB; an evidence file may be at most 2\.0 MB"):
        closing.add_evidence(completed, VISITOR, X1, PDF + bytes(2_500_000 - len(PDF)), "scan.pdf", rulebook=small)
    assert completed.table("evidence").empty
    closing.add_evidence(completed, VISITOR, X1, PDF, "scan.pdf", rulebook=small)


def test_evidence_is_kept_beside_the_database_under_its_hash_and_read_back_checked(completed, backend):
    sha = closing.add_evidence(completed, VISITOR, X1, PNG, "boarding-pass.png")
    kept = files.folder(completed) / sha
    assert kept.read_bytes() == PNG
    if backend == "duckdb":  # a PostgreSQL database's folder is on this machine, under data/cache
        assert kept.parent.parent == completed.path.parent
    assert closing.evidence_file(completed, VISITOR, X1, sha) == ("boarding-pass.png", "image/png", PNG)
    assert closing.evidence(completed, manager(P1), X1)[["file_name", "media_type", "size_bytes"]].values.tolist() == [
        ["boarding-pass.png", "image/png", len(PNG)]]
    with pytest.raises(CxError, match="already among the evidence"):
        closing.add_evidence(completed, VISITOR, X1, PNG, "again.png")
    kept.write_bytes(PNG + b"changed")
    with pytest.raises(CxError, match="was altered after upload"):
        closing.evidence_file(completed, OFFICER, X1, sha)


@pytest.mark.parametrize("viewer", [HOST, manager(P2)], ids=["host", "host's partnership"])
def test_the_host_side_never_gets_the_visitor_s_evidence(completed, viewer):
    sha = closing.add_evidence(completed, VISITOR, X1, PDF, "invoice.pdf")
    with pytest.raises(NotAllowed, match=f"may not see the evidence of exchange {X1}"):
        closing.evidence_file(completed, viewer, X1, sha)
    with pytest.raises(NotAllowed):
        closing.evidence(completed, viewer, X1)
    for outsider in (organisation(O3), PLANNER):
        with pytest.raises(UnknownExchange):
            closing.evidence_file(completed, outsider, X1, sha)
    with pytest.raises(NotAllowed, match="that is the visitor's step"):
        closing.add_evidence(completed, viewer, X1, PNG, "mine.png")


def test_the_report_comes_after_the_stay_with_evidence_and_a_rating(programme):
    with pytest.raises(InvalidTransition, match=f"exchange {X1} is approved; the visitor may add evidence only when"):
        closing.add_evidence(programme, VISITOR, X1, PDF, "early.pdf")
    for status in ("ongoing", "completed"):
        workflow.change_status(programme, OFFICER, X1, status)
    report = dict(done="Visited the lab", results="A joint proposal", follow_ups="Meet in Porto")
    with pytest.raises(CxError, match="needs evidence of the stay"):
        closing.file_report(programme, VISITOR, X1, **report, host_rating=4)
    closing.add_evidence(programme, VISITOR, X1, PDF, "boarding-pass.pdf")
    with pytest.raises(CxError, match="the host's rating is 6; rate from 1"):
        closing.file_report(programme, VISITOR, X1, **report, host_rating=6)
    with pytest.raises(CxError, match="the closing report's follow-ups is empty"):
        closing.file_report(programme, VISITOR, X1, **{**report, "follow_ups": " "}, host_rating=4)
    with pytest.raises(NotAllowed, match="that is the visitor's step"):
        closing.file_report(programme, manager(P1), X1, **report, host_rating=4)
    closing.file_report(programme, VISITOR, X1, **report, host_rating=4)
    assert status_of(programme) == "reported"
    assert closing.report(programme, HOST, X1)["host_rating"] == 4  # the host sees how it was rated


def test_the_visitor_s_partnership_validates_or_sends_back_and_pays_only_a_validated_report(completed):
    reported(completed, X1, VISITOR)
    with pytest.raises(InvalidTransition, match=f"exchange {X1} cannot be paid: its closing report is filed, not validated"):
        closing.record_payment(completed, manager(P1), X1, paid_on="2026-11-20", amount_eur=1)
    with pytest.raises(NotAllowed, match="that is the visitor's partnership's step"):
        closing.validate_report(completed, manager(P2), X1)
    with pytest.raises(CxError, match="the reason for sending the report back is empty"):
        closing.send_back(completed, manager(P1), X1, "")
    closing.send_back(completed, manager(P1), X1, "The hotel invoice is missing")
    with pytest.raises(InvalidTransition, match="has no closing report waiting for its partnership \\(sent back\\)"):
        closing.validate_report(completed, manager(P1), X1)
    closing.add_evidence(completed, VISITOR, X1, PNG, "hotel-invoice.png")
    closing.file_report(completed, VISITOR, X1, done="d", results="r", follow_ups="f", host_rating=3)
    closing.validate_report(completed, manager(P1), X1)
    with pytest.raises(InvalidTransition, match="is with its partnership \\(validated\\)"):
        closing.add_evidence(completed, VISITOR, X1, PDF + b" ", "late.pdf")
    lump_sum = int(completed.query("SELECT lump_sum_eur FROM exchanges WHERE id = ?", [X1]).iloc[0, 0])
    with pytest.raises(CxError, match=f"differs from the lump sum EUR {lump_sum:,} of exchange {X1}; give the reason"):
        closing.record_payment(completed, manager(P1), X1, paid_on="2026-11-20", amount_eur=lump_sum - 100)
    with pytest.raises(NotAllowed):
        closing.record_payment(completed, manager(P2), X1, paid_on="2026-11-20", amount_eur=lump_sum)
    closing.record_payment(completed, manager(P1), X1, paid_on="2026-11-20", amount_eur=lump_sum - 100,
                           reason="bank charges deducted", today=dt.date(2026, 11, 25))
    assert status_of(completed) == "paid"
    trail = workflow.history(completed, OFFICER, X1)
    assert trail[["to_status", "action", "note"]].values.tolist()[-1] == [
        "paid", "payment recorded", f"EUR {lump_sum - 100:,} on 2026-11-20 (bank charges deducted)"]
    assert [a for a in trail["action"] if isinstance(a, str)] == [
        "evidence added", "closing report filed", "closing report sent back", "evidence added",
        "closing report filed again", "closing report validated", "payment recorded"]


def test_payments_are_due_ten_days_after_validation_and_overdue_is_written(completed, rulebook):
    reported(completed, X1, VISITOR)
    closing.validate_report(completed, manager(P1), X1)
    validated = dt.date.today()
    due = closing.payments_due(completed, manager(P1), today=validated)
    assert due[["exchange_id", "days_left", "when"]].values.tolist() == [
        [X1, rulebook.payment_days, f"due in {rulebook.payment_days} days"]]
    assert due["due_on"].iloc[0].date() == validated + dt.timedelta(days=rulebook.payment_days)
    late = closing.payments_due(completed, OFFICER, today=validated + dt.timedelta(days=rulebook.payment_days + 3))
    assert late[["overdue", "when"]].values.tolist() == [[True, "OVERDUE by 3 days"]]
    assert closing.payments_due(completed, manager(P2)).empty  # the host's partnership pays nothing
    assert closing.payments_due(completed, VISITOR)["exchange_id"].tolist() == [X1]  # what it is owed
    assert closing.payments_due(completed, HOST).empty
    with pytest.raises(NotAllowed):
        closing.payments_due(completed, PLANNER)


def test_a_payment_above_the_host_country_s_ceiling_is_an_officer_s_with_a_reason(completed, rulebook):
    """Issue 11's finding: a paid lump sum of EUR 2,147,483,647 was kept. A partnership pays at
    most the ceiling (or the lump sum an officer kept above it); an officer may pay more, saying why."""
    reported(completed, X1, VISITOR)
    closing.validate_report(completed, manager(P1), X1)
    host_country = completed.query("SELECT country FROM organisations WHERE id = ?", [O2]).iloc[0, 0]
    ceiling = int(rulebook.ceilings([host_country])[0])
    absurd = 2_147_483_647
    with pytest.raises(NotAllowed, match=rf"may not pay EUR {absurd:,} for exchange {X1}: that is above the ceiling "
                                         rf"for {host_country} \(EUR {ceiling:,}\); an officer pays more"):
        closing.record_payment(completed, manager(P1), X1, paid_on="2026-11-20", amount_eur=absurd, reason="typo?")
    with pytest.raises(CxError, match=rf"the amount EUR {ceiling + 1:,} is above the ceiling for {host_country}"):
        closing.record_payment(completed, OFFICER, X1, paid_on="2026-11-20", amount_eur=ceiling + 1)
    assert status_of(completed) == "reported" and completed.table("payments").empty
    closing.record_payment(completed, OFFICER, X1, paid_on="2026-11-20", amount_eur=ceiling + 1,
                           reason="second site visit agreed with the unit", today=dt.date(2026, 11, 25))
    assert status_of(completed) == "paid"
    assert completed.table("payments")["amount_eur"].tolist() == [ceiling + 1]


# --- evidence in the whole archive ------------------------------------------------------------

def archive_members(store, viewer) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(cio.export_view(store, viewer, file_format="csv")["data"])) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def with_evidence(completed):
    """EX-X1 after the stay with two evidence files: O1 (P1) visited O2 (P2)."""
    return completed, [closing.add_evidence(completed, VISITOR, X1, PDF, "boarding-pass.pdf"),
                       closing.add_evidence(completed, VISITOR, X1, PNG, "hotel-invoice.png")]


@pytest.mark.parametrize("viewer", [OFFICER, manager(P1), VISITOR], ids=["officer", "visitor's partnership", "visitor"])
def test_the_whole_archive_carries_the_evidence_its_reader_may_see(with_evidence, viewer):
    store, hashes = with_evidence
    members = archive_members(store, viewer)
    assert {members[f"evidence/{sha}"] for sha in hashes} == {PDF, PNG}
    rows = pd.read_csv(io.BytesIO(members["evidence.csv"]), encoding="utf-8-sig")
    assert sorted(rows["file_name"]) == ["boarding-pass.pdf", "hotel-invoice.png"] and set(rows["sha256"]) == set(hashes)


@pytest.mark.parametrize("viewer", [HOST, manager(P2)], ids=["host", "host's partnership"])
def test_the_host_side_s_archive_carries_no_evidence(with_evidence, viewer):
    members = archive_members(with_evidence[0], viewer)
    assert "exchanges.csv" in members
    assert not [name for name in members if name.startswith("evidence")]


def test_a_planner_exports_no_rows_and_no_evidence(with_evidence):
    with pytest.raises(NotAllowed):
        cio.export_view(with_evidence[0], PLANNER, file_format="csv")
    with pytest.raises(NotAllowed):
        closing.exported_evidence(with_evidence[0], PLANNER)


def test_an_archive_restores_its_evidence_checked_by_hash(with_evidence, tmp_path):
    store, hashes = with_evidence
    data = cio.export_view(store, OFFICER, file_format="csv", with_contacts=True)["data"]
    restored = open_store(tmp_path / "restored.duckdb")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for kind in cio.KINDS:
            assert cio.import_file(restored, OFFICER, kind, archive.read(f"{kind}.csv"), f"{kind}.csv").written
    with pytest.raises(NotAllowed):
        cio.import_evidence(restored, manager(P1), data, "cx-csv.zip")
    altered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as archive, zipfile.ZipFile(altered, "w") as copy:
        for name in archive.namelist():
            copy.writestr(name, archive.read(name) + (b"x" if name == f"evidence/{hashes[1]}" else b""))
    with pytest.raises(CxError, match=f"cx-csv.zip, evidence.csv row [23]: the file evidence/{hashes[1]} does not "
                                      "match its hash"):
        cio.import_evidence(restored, OFFICER, altered.getvalue(), "cx-csv.zip")
    assert restored.table("evidence").empty
    assert cio.import_evidence(restored, OFFICER, data, "cx-csv.zip") == {"restored": 2, "present": 0}
    assert closing.evidence_file(restored, manager(P1), X1, hashes[1]) == ("hotel-invoice.png", "image/png", PNG)
    assert cio.import_evidence(restored, OFFICER, data, "cx-csv.zip") == {"restored": 0, "present": 2}


def test_the_command_line_exports_and_restores_the_evidence(with_evidence, tmp_path, capsys, backend):
    if backend != "duckdb":
        pytest.skip("the command line is the same on both back ends; one run is enough")
    store, hashes = with_evidence
    archive = tmp_path / "cx-csv.zip"
    assert main(["export", "--db", str(store.path), "--output", str(archive)]) == 0
    assert "2 evidence" in capsys.readouterr().out
    restored = tmp_path / "restored.duckdb"
    with zipfile.ZipFile(archive) as members:
        for kind in cio.KINDS:
            (tmp_path / f"{kind}.csv").write_bytes(members.read(f"{kind}.csv"))
            assert main(["import", kind, str(tmp_path / f"{kind}.csv"), "--db", str(restored)]) == 0
    assert main(["import", "evidence", str(archive), "--db", str(restored)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"{archive}: 2 evidence files restored, 0 already in cx")
    assert sorted(files.read(open_store(restored), sha) for sha in hashes) == sorted([PDF, PNG])
