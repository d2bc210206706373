"""Nothing destroyed, no rule broken, no traceback: a busy, read-only or damaged database, outputs
that would overwrite files, values a format cannot hold, and formula cells after whitespace."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cx import PROJECT_ROOT
from cx import io as cio
from cx.errors import DamagedDatabase, DatabaseBusy, ReadOnlyDatabase
from cx.export import ExportRefused, neutralise, to_csv_bytes, to_excel_bytes, write_file
from cx.store import Store, open_store
from racers import double_visits, exchanges_file, race_programme
from viewers import OFFICER


def cx_command(*arguments, prefix=()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "cx", *map(str, arguments)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)


# --- a busy database ----------------------------------------------------------------------------

def test_a_command_that_meets_a_busy_database_waits_then_says_so_and_exits_3(demo_store):
    """The finding: a traceback and exit 1 (the code of 'rows rejected') when another process held
    DuckDB's lock. Now one sentence and exit code 3, for reads and for writes."""
    holder = duckdb.connect(str(demo_store.path))  # another process's read-write connection, in effect
    try:
        for command in (("export", "organisations", "--output", demo_store.path.parent / "o.csv"),
                        ("import", "organisations", cio.template_path("organisations"))):
            done = cx_command(*command, "--db", demo_store.path, "--wait", "0.5")
            assert done.returncode == 3, done.stderr
            assert done.stderr.startswith("error: the database is in use by another cx process; try again")
            assert "Traceback" not in done.stderr
    finally:
        holder.close()
    assert cx_command("export", "organisations", "--output", demo_store.path.parent / "o.csv", "--db",
                      demo_store.path).returncode == 0


def test_a_writer_waits_for_the_write_lock_of_another_process_then_gives_up(demo_store):
    with demo_store.write_lock.hold(5, demo_store.path):
        done = cx_command("import", "organisations", cio.template_path("organisations"), "--db", demo_store.path,
                          "--wait", "0.5")
    assert done.returncode == 3 and "in use by another cx process" in done.stderr


def test_the_wait_is_configurable_and_a_free_database_opens(demo_store, monkeypatch):
    monkeypatch.setenv("CX_BUSY_SECONDS", "0.3")
    store = Store(demo_store.path)
    assert store.wait == 0.3
    holder = duckdb.connect(str(demo_store.path), read_only=True)  # this process, the other mode: busy
    try:
        with pytest.raises(DatabaseBusy, match=r"^the database is in use by another cx process; try again"):
            with store.transaction():
                pass
    finally:
        holder.close()
    with store.transaction() as con:
        assert con.execute("SELECT count(*) FROM organisations").fetchone()[0] > 0


def test_exit_codes_are_documented_in_the_help_and_the_readme():
    help_text = cx_command("--help").stdout
    readme = (PROJECT_ROOT / "README.md").read_text()
    for code, words in (("0", "done"), ("1", "rows rejected"), ("2", "bad input"), ("3", "busy")):
        assert f"{code}  {words}" in help_text
        assert f"| {code} |" in readme


# --- read-only and damaged files ----------------------------------------------------------------

def _without_root_override() -> tuple:
    """Root ignores file permissions: drop that capability so a 0444 file is read-only to it too."""
    if os.geteuid() != 0:
        return ()
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot make a file read-only to the test")
    return ("setpriv", "--bounding-set", "-dac_override,-dac_read_search")


def test_a_read_only_database_serves_every_read_and_refuses_writes_in_a_sentence(demo_db, tmp_path):
    """The finding: every command failed on a readable but unwritable file, because every
    connection opened read-write."""
    path = tmp_path / "readonly.duckdb"
    shutil.copy(demo_db, path)
    path.chmod(0o444)
    tmp_path.chmod(0o755)
    prefix = _without_root_override()
    exported = cx_command("export", "exchanges", "--db", path, "--output", tmp_path / "x.csv", prefix=prefix)
    assert exported.returncode == 0, exported.stderr
    assert len(pd.read_csv(tmp_path / "x.csv")) == 300
    matched = cx_command("match", "medical devices and health", "--db", path, "--top", "3", prefix=prefix)
    assert matched.returncode == 0, matched.stderr
    assert cx_command("budget", "--db", path, "--runs", "200", prefix=prefix).returncode == 0
    refused = cx_command("import", "organisations", cio.template_path("organisations"), "--db", path, prefix=prefix)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: the database readonly.duckdb is read-only: cx can show and export it")
    assert path.read_bytes() == demo_db.read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "a CSV file"])
def test_a_damaged_database_is_named_with_how_to_recover(demo_db, tmp_path, damage):
    path = tmp_path / "damaged.duckdb"
    path.write_bytes(demo_db.read_bytes()[:5000] if damage == "truncated" else b"id,name\nO1,Oulu\n")
    with pytest.raises(DamagedDatabase, match=r"damaged or not a cx database .*; restore it from a backup"):
        open_store(path)
    done = cx_command("export", "organisations", "--db", path, "--output", tmp_path / "o.csv")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"the database file {path} is damaged or not a cx database" in done.stderr
    assert "python -m cx init" in done.stderr


# --- outputs ------------------------------------------------------------------------------------

def test_export_refuses_to_write_over_the_database(demo_store):
    """The finding: `export organisations --db X --output X` exited 0 having overwritten the
    database with CSV."""
    before = demo_store.path.read_bytes()
    for force in ((), ("--force",)):
        done = cx_command("export", "organisations", "--db", demo_store.path, "--output", demo_store.path, *force)
        assert done.returncode == 2
        assert done.stderr == f"error: {demo_store.path} is the database; choose another --output\n"
    assert demo_store.path.read_bytes() == before


def test_export_refuses_an_existing_file_unless_forced(demo_store, tmp_path):
    output = tmp_path / "mine.csv"
    output.write_text("my own notes\n")
    done = cx_command("export", "partnerships", "--db", demo_store.path, "--output", output)
    assert done.returncode == 2 and "already exists" in done.stderr and "--force" in done.stderr
    assert output.read_text() == "my own notes\n"
    assert cx_command("export", "partnerships", "--db", demo_store.path, "--output", output, "--force").returncode == 0
    assert pd.read_csv(output, encoding="utf-8-sig").columns[0] == "id"


def test_an_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    output = tmp_path / "out.csv"
    output.write_bytes(b"the previous export\n")

    def interrupted(descriptor):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_file(output, b"id\n" * 1000, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert output.read_bytes() == b"the previous export\n"
    monkeypatch.undo()
    assert write_file(output, b"id\n", force=True).read_bytes() == b"id\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# --- values a format cannot hold ----------------------------------------------------------------

def test_excel_export_refuses_a_cell_longer_than_excel_holds_instead_of_cutting_it():
    """The finding: objectives of 830,397 characters were cut to 32,767 in the Excel export with
    only a warning, and importing that workbook wrote the cut text back."""
    table = pd.DataFrame({"id": ["X1", "X2"], "objectives": ["short", "o" * 40_000]})
    with pytest.raises(ExportRefused, match=r"^exchanges, row 3 \(column objectives\): 40,000 characters, more "
                                            r"than the 32,767 an Excel cell holds; export as CSV or Parquet"):
        to_excel_bytes({"exchanges": table})
    with pytest.raises(ExportRefused, match="control characters"):
        to_excel_bytes({"exchanges": pd.DataFrame({"id": ["X1"], "objectives": ["bell \x07 rings"]})})


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "parquet"])
def test_text_at_the_limit_round_trips_exactly_in_every_format(store, file_format):
    from cx.store import TEXT_LIMITS

    description = ("=Digital twins,\n \"moulding\"; " * 1_000)[:TEXT_LIMITS["description"] - 1] + "é"
    row = pd.DataFrame({"id": ["O1"], "name": ["Oulu cluster"], "kind": ["SME"], "country": ["FI"], "city": ["Oulu"],
                        "description": [description]})
    assert cio.import_file(store, OFFICER, "organisations", to_csv_bytes(row), "o.csv").written
    name, data = cio.export_bytes({"organisations": cio.export_frame(store, OFFICER, "organisations")}, file_format)
    report = cio.import_file(store, OFFICER, "organisations", data, name, dry_run=True)
    assert (report.rejected, report.unchanged) == (0, 1)
    assert store.query("SELECT description FROM organisations").iloc[0, 0] == description


def test_an_overlong_stored_text_exported_as_csv_is_named_on_import_not_a_broken_file(store):
    """The finding: the CSV export of a table with a long text could not be imported again ("field
    larger than field limit"), so the whole file was refused for one value."""
    row = pd.DataFrame({"id": ["O1"], "name": ["Oulu cluster"], "kind": ["SME"], "country": ["FI"], "city": ["Oulu"],
                        "description": ["d" * 830_397]})
    with store.transaction() as con:  # stored before cx had limits
        con.register("old", row)
        con.execute("INSERT INTO organisations (id, name, kind, country, city, description) SELECT * FROM old")
    exported = to_csv_bytes(cio.export_frame(store, OFFICER, "organisations"))
    report = cio.import_file(store, OFFICER, "organisations", exported, "organisations.csv", dry_run=True)
    assert report.findings[["row", "column", "rule"]].values.tolist() == [[2, "description", "too_long"]]


# --- formulas and bidi controls -----------------------------------------------------------------

@pytest.mark.parametrize("text", ["\n=HYPERLINK(\"http://203.0.113.5\",\"x\")", " =1+1", "\t\t+1", "\x00@SUM(A1)",
                                  "\u200b=1", "\r\n-2+3"])
def test_a_formula_after_leading_whitespace_or_control_characters_is_neutralised(text):
    cell = neutralise(pd.DataFrame({"name": [text]}))["name"][0]
    assert cell == "'" + text
    assert cio._unneutralise(pd.Series([cell]))[0] == text


@pytest.mark.parametrize("text", ["Oulu", "a=b", " Lyon", "Lyon ="])
def test_text_that_cannot_run_as_a_formula_is_left_alone(text):
    assert neutralise(pd.DataFrame({"name": [text]}))["name"][0] == text


RLO = "\u202e"  # right-to-left override: "\u202eLyon" shows as "noyL"


def test_a_mission_s_formula_agenda_and_reversed_name_round_trip_safely(tmp_path):
    """Issue 11 on issue 14's missions: the name loses its bidi controls on import and when typed;
    a formula agenda is exported neutralised (CSV and Excel) and imported back exactly."""
    from cx.export import to_excel_bytes
    from cx.missions import create_mission

    store = race_programme(tmp_path / "race.duckdb", 3)
    agenda = "\n=HYPERLINK(\"http://203.0.113.5\",\"agenda\")"
    rows = pd.DataFrame({"id": ["M1"], "name": [f"{RLO}Lyon{RLO} mission"], "partnership_id": ["P1"],
                         "start_date": ["2027-03-01"], "end_date": ["2027-03-05"], "agenda": [agenda]})
    assert cio.import_file(store, OFFICER, "missions", to_csv_bytes(rows), "m.csv").written
    assert store.query("SELECT name, agenda FROM missions").values.tolist() == [["Lyon mission", agenda]]
    exported = cio.export_frame(store, OFFICER, "missions")
    assert neutralise(exported)["agenda"][0] == "'" + agenda
    csv = to_csv_bytes(exported)
    assert b"'\n=HYPERLINK" in csv or b"\"'\n=HYPERLINK" in csv or b"\"'\r\n=HYPERLINK" in csv
    for data, name in ((csv, "m.csv"), (to_excel_bytes(exported), "m.xlsx")):
        again = cio.import_file(store, OFFICER, "missions", data, name)
        assert again.unchanged == 1 and again.rejected == 0, again.findings
    typed = create_mission(store, OFFICER, name=f"{RLO}Porto{RLO} week", partnership_id="P1", start="2027-03-08",
                           end="2027-03-12", members=[("V001", "H2"), ("V002", "H2"), ("V003", "H2")],
                           today=dt.date(2027, 1, 4))
    assert store.query("SELECT name FROM missions WHERE id = ?", [typed]).iloc[0, 0] == "Porto week"


def test_names_typed_in_the_app_lose_their_bidi_controls(demo_store, tmp_path):
    """Registration names and cities, a profile's contact and an evidence file's name are stored
    as they read: "invoice<RLO>fdp.exe" would show as "invoiceexe.pdf"."""
    from cx import accounts, closing, registrations
    from cx.exchanges import change_status
    from cx.profiles import update_profile
    from cx.registrations import Registration
    from steps import PDF, agreed

    porto = Registration(partnership_id="P01", name=f"{RLO}Porto{RLO} Digital", kind="cluster organisation",
                         country="PT", city=f"Por{RLO}to", contact_name=f"Ana {RLO}Silva",
                         contact_email="ana@example.org", ecosystems=("Digital",), member_of=f"{RLO}Cluster")
    number = registrations.submit(demo_store, "ana@example.org", porto)
    organisation_id = registrations.decide(demo_store, OFFICER, number, accept=True)
    made = demo_store.table("organisations").set_index("id").loc[organisation_id]
    assert (made["name"], made["city"], made["contact_name"]) == ("Porto Digital", "Porto", "Ana Silva")
    update_profile(demo_store, accounts.viewer_for(demo_store, "ana@example.org"), organisation_id,
                   contact_name=f"Rui {RLO}Costa")
    assert demo_store.table("organisations").set_index("id").at[organisation_id, "contact_name"] == "Rui Costa"
    completed = demo_store.query("SELECT id FROM exchanges WHERE status = 'completed' LIMIT 1").iloc[0, 0]
    closing.add_evidence(demo_store, OFFICER, completed, PDF, f"invoice{RLO}fdp.exe")
    assert demo_store.query("SELECT file_name FROM evidence").iloc[0, 0] == "invoicefdp.exe"


# --- the import's visit count (found by the two-process property test) ---------------------------

def test_an_import_counts_the_visit_an_exchange_keeps_when_its_row_is_refused(tmp_path):
    """A file that moves A back (refused) and B to reported must not give the visitor two visits:
    A keeps its stored, visit-taking status."""
    store = race_programme(tmp_path / "race.duckdb", 1)
    assert cio.import_path(store, OFFICER, "exchanges", exchanges_file(tmp_path, "one", {"A-V001": "completed"})).written
    report = cio.import_path(store, OFFICER, "exchanges", exchanges_file(tmp_path, "two", {"A-V001": "requested",
                                                                                  "B-V001": "reported"}),
                             mode="valid")
    assert set(report.findings["rule"]) == {"status_backwards", "visited_already"}
    assert double_visits(store) == 0


# --- limits, with sentences ---------------------------------------------------------------------

def _workbook_bytes(rows: list[list]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _shared_strings_workbook(strings: list[str]) -> bytes:
    """A workbook as Excel writes it: a sheet of two columns whose cells point into sharedStrings.xml
    (openpyxl itself writes inline strings and cuts them at 32,767 characters)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relations = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rows = "".join(f'<row r="{r + 1}"><c r="A{r + 1}" t="s"><v>{2 * r}</v></c><c r="B{r + 1}" t="s"><v>{2 * r + 1}</v></c></row>'
                   for r in range(len(strings) // 2))
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '</Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{relations}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{relations}"><sheets>'
        '<sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{relations}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{relations}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>{rows}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'<?xml version="1.0"?><sst xmlns="{main}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{text}</t></si>" for text in strings) + "</sst>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_hand_made_workbook_reads_as_a_spreadsheet_would_have_it():
    table = cio.read_table(_shared_strings_workbook(["id", "name", "P1", "Porto Digital"]), "p.xlsx")
    assert table.frame.to_dict(orient="records") == [{"id": "P1", "name": "Porto Digital"}]


def test_a_workbook_that_unpacks_above_the_limit_is_refused_from_its_zip_directory():
    """The finding: a 1.5 MB workbook holding one 1.5 GB shared string took the command line to
    3.3 GB and a MemoryError. The unpacked size is known from the zip's directory, before reading."""
    data = _shared_strings_workbook(["id", "name", "P1", "x" * 2_000_000])
    assert len(data) < 100_000
    with pytest.raises(cio.FileTooLarge, match=r"^p\.xlsx unpacks to 2 MB; the limit is 1 MB"):
        cio.read_table(data, "p.xlsx", limits=cio.Limits(max_unpacked_bytes=1_000_000))
    with pytest.raises(cio.FileTooLarge, match=r"unpacks to 2 MB"):
        cio.sheet_names(data, "p.xlsx", limits=cio.Limits(max_unpacked_bytes=1_000_000))


def test_a_workbook_cell_longer_than_a_spreadsheet_holds_is_refused_before_the_workbook_is_read():
    data = _shared_strings_workbook(["id", "name", "P1", "short", "P2", "y" * 40_000])
    with pytest.raises(cio.FileTooLarge, match="holds a cell of more than 32,767 characters"):
        cio.read_table(data, "p.xlsx")
    assert len(cio.read_table(_shared_strings_workbook(["id", "name", "P1", "y" * 32_767]), "p.xlsx").frame) == 1


def test_a_long_workbook_is_refused_from_its_stated_size_before_a_row_is_read(monkeypatch):
    """The finding: a 1,000,000-row workbook was refused only after 37 s of reading."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    data = _workbook_bytes([["id", "name"]] + [[f"P{n}", "x"] for n in range(300)])

    def unread(*args, **kwargs):
        raise AssertionError("the rows were read")

    monkeypatch.setattr(ReadOnlyWorksheet, "iter_rows", unread)
    with pytest.raises(cio.FileTooLarge, match="has more than 100 rows, the limit"):
        cio.read_table(data, "p.xlsx", limits=cio.Limits(max_rows=100))


def test_text_longer_than_its_column_holds_is_refused_with_the_row_and_the_limit(store):
    """The finding: 830,397 characters of objectives were accepted and stored."""
    from cx.store import TEXT_LIMITS

    rows = pd.DataFrame({"id": ["P1", "P2"], "name": ["Digital", "n" * (TEXT_LIMITS["name"] + 1)],
                         "target_exchanges": [10, 10]})
    report = cio.import_file(store, OFFICER, "partnerships", to_csv_bytes(rows), "p.csv", mode="valid")
    finding = report.findings.iloc[0]
    assert (finding["row"], finding["column"], finding["rule"]) == (3, "name", "too_long")
    assert finding["message"] == f"name has {TEXT_LIMITS['name'] + 1:,} characters; the limit is {TEXT_LIMITS['name']:,} (shorten it)"
    assert store.query("SELECT id FROM partnerships")["id"].tolist() == ["P1"]


def test_the_domain_refuses_objectives_longer_than_the_limit(tmp_path):
    from cx.errors import CxError
    from cx.exchanges import request_exchange

    store = race_programme(tmp_path / "race.duckdb", 1)
    with pytest.raises(CxError, match=r"^objectives has 830,397 characters; the limit is 10,000"):
        request_exchange(store, OFFICER, visitor_id="V001", host_id="H1", start="2027-03-01", end="2027-03-05",
                         objectives="o" * 830_397)
    assert store.query("SELECT count(*) FROM exchanges").iloc[0, 0] == 2


def test_bidi_controls_are_stripped_from_names_and_cities_on_import(store):
    rows = pd.DataFrame({"id": ["P1"], "name": ["\u202eLyon\u202c Digital"], "target_exchanges": [5]})
    assert cio.import_file(store, OFFICER, "partnerships", to_csv_bytes(rows), "p.csv").written
    assert store.query("SELECT name FROM partnerships").iloc[0, 0] == "Lyon Digital"


def test_a_lump_sum_above_the_host_country_s_ceiling_is_refused(tmp_path):
    """The finding: an import set a paid lump sum of EUR 2,147,483,647 (flagged, kept), and
    "Lump sums paid" jumped from EUR 1.19M to EUR 2.15 billion."""
    store = race_programme(tmp_path / "race.duckdb", 1)
    path = tmp_path / "x.csv"
    path.write_text("id,visitor_id,host_id,start_date,end_date,status,lump_sum_eur\n"
                    "A-V001,V001,H1,2027-03-01,2027-03-05,approved,2147483647\n")
    report = cio.import_path(store, OFFICER, "exchanges", path)
    assert report.findings[["row", "column", "rule"]].values.tolist() == [[2, "lump_sum_eur", "above_ceiling"]]
    assert report.findings["message"][0].startswith("the file says EUR 2,147,483,647, above the ceiling for FR (EUR ")
    assert store.query("SELECT status, lump_sum_eur FROM exchanges WHERE id = 'A-V001'").values.tolist()[0][0] == "requested"


def test_budget_runs_times_exchanges_are_capped_with_a_sentence(rulebook):
    """The finding: `cx budget --runs 10000000 --exchanges 100000` ran unbounded."""
    from cx import budget
    from cx.errors import BadScenario

    scenario = budget.uniform_scenario(rulebook=rulebook)
    with pytest.raises(BadScenario, match=r"the number of runs is 10,000,000; cx runs at most 100,000"):
        budget.simulate(scenario.replace(runs=10_000_000, exchanges=100_000), rulebook)
    with pytest.raises(BadScenario, match=r"^50,000 runs of 100,000 exchanges would draw 5,000,000,000 stays; cx draws "
                                          r"at most 100,000,000 in one simulation, so use at most 1,000 runs"):
        budget.simulate(scenario.replace(runs=50_000, exchanges=100_000), rulebook)
    with pytest.raises(BadScenario, match=r"^100,000 runs of about [\d,]+ exchanges \(as many as the envelope allows\)"):
        budget.simulate(scenario.replace(runs=100_000, exchanges=None, envelope_eur=10_000_000), rulebook)
    assert budget.simulate(scenario.replace(runs=1_000, exchanges=100_000), rulebook).exchanges == 100_000


def test_the_budget_command_refuses_too_many_runs_in_a_sentence(store):
    done = cx_command("budget", "--db", store.path, "--runs", "10000000", "--exchanges", "100000")
    assert done.returncode == 2
    assert done.stderr.startswith("error: the number of runs is 10,000,000; cx runs at most 100,000")
